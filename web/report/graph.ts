/**
 * The lateral movement graph: hosts (and source addresses) as nodes, each alert an edge source -> target
 * labelled with variant, time and account; laid out by dagre (cytoscape-dagre). With many alerts, the
 * alerts between the same two nodes with the same variant share one edge labelled with their count.
 */
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { type Alert, alertSource, alertTarget, str } from "./data.js";

cytoscape.use(dagre);

/** Above this many alerts, parallel alerts share an edge. */
export const EDGE_PER_ALERT_MAX = 300;
/** At most this many edges are drawn (those with the most alerts); the layout stays quick. */
export const EDGES_DRAWN_MAX = 150;

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  variant: string;
  alerts: Alert[];
}

export interface GraphModel {
  nodes: { id: string; label: string; role: "source" | "target" | "both" }[];
  edges: GraphEdge[];
  grouped: boolean;
  /** Edges (and alerts) left out of the drawing. */
  hiddenEdges: number;
  hiddenAlerts: number;
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)$/i;

/** One node per host: "SRV-APP02" and "srv-app02.corp.example" are the same machine. */
function nodeId(name: string): string {
  const n = name.trim().toLowerCase();
  return `n:${IP.test(n) ? n : n.split(".")[0]}`;
}

function shortTime(iso: unknown): string {
  const t = str(iso);
  return t.replace("T", " ").replace(/\.\d+Z$|Z$/, "Z");
}

export function graphModel(alerts: Alert[]): GraphModel {
  const nodes = new Map<string, { id: string; label: string; role: "source" | "target" | "both" }>();
  // A source address seen with its host name joins that host's node (label "host (ip)").
  const hostOfIp = new Map<string, string>();
  const ipsOfHost = new Map<string, Set<string>>();
  for (const a of alerts) {
    const ip = str(a.source_ip);
    const host = str(a.source_host);
    if (ip && host && !/^(127\.|::1$|0\.0\.0\.0$)/.test(ip)) {
      if (!hostOfIp.has(ip)) hostOfIp.set(ip, host);
      const set = ipsOfHost.get(host.toLowerCase()) ?? new Set<string>();
      set.add(ip);
      ipsOfHost.set(host.toLowerCase(), set);
    }
  }
  const addNode = (name: string, role: "source" | "target") => {
    const host = hostOfIp.get(name) ?? name;
    const id = nodeId(host);
    const n = nodes.get(id);
    const ips = ipsOfHost.get(host.toLowerCase());
    const label = ips ? `${host} (${[...ips].join(", ")})` : host;
    if (!n) nodes.set(id, { id, label, role });
    else {
      if (n.role !== role) n.role = "both";
      if (label.length > n.label.length) n.label = label; // the fullest name seen
    }
    return id;
  };
  const grouped = alerts.length > EDGE_PER_ALERT_MAX;
  const edges: GraphEdge[] = [];
  const byKey = new Map<string, GraphEdge>();
  alerts.forEach((a, i) => {
    const source = addNode(str(a.source_host) || str(a.source_ip) || alertSource(a), "source");
    const target = addNode(alertTarget(a), "target");
    const variant = str(a.variant);
    if (!grouped) {
      edges.push({
        id: `e${i}`,
        source,
        target,
        variant,
        label: `${variant}\n${shortTime(a.first_time)}\n${str(a.account) || "-"}`,
        alerts: [a],
      });
      return;
    }
    const key = `${source}\u0000${target}\u0000${variant}`;
    let e = byKey.get(key);
    if (!e) {
      e = { id: `g${byKey.size}`, source, target, variant, label: "", alerts: [] };
      byKey.set(key, e);
      edges.push(e);
    }
    e.alerts.push(a);
  });
  if (grouped) for (const e of edges) e.label = `${e.variant} ×${e.alerts.length}`;
  let drawn = edges;
  if (edges.length > EDGES_DRAWN_MAX)
    drawn = [...edges].sort((a, b) => b.alerts.length - a.alerts.length).slice(0, EDGES_DRAWN_MAX);
  const used = new Set(drawn.flatMap((e) => [e.source, e.target]));
  return {
    nodes: [...nodes.values()].filter((n) => used.has(n.id)),
    edges: drawn,
    grouped,
    hiddenEdges: edges.length - drawn.length,
    hiddenAlerts:
      edges.length === drawn.length ? 0 : alerts.length - drawn.reduce((n, e) => n + e.alerts.length, 0),
  };
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function drawGraph(
  container: HTMLElement,
  model: GraphModel,
  onEdge: (edge: GraphEdge) => void,
): cytoscape.Core {
  const fg = cssVar("--fg", "#1b1f24");
  const bg = cssVar("--bg", "#ffffff");
  const accent = cssVar("--accent", "#b42318");
  const node = cssVar("--node", "#2f6feb");
  const edgeById = new Map(model.edges.map((e) => [e.id, e]));
  const cy = cytoscape({
    container,
    // cytoscape sets text through canvas: labels are drawn, never parsed as markup
    elements: [
      ...model.nodes.map((n) => ({ data: { id: n.id, label: n.label, role: n.role } })),
      ...model.edges.map((e) => ({
        data: { id: e.id, source: e.source, target: e.target, label: e.label, count: e.alerts.length },
      })),
    ],
    style: [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "background-color": node,
          color: fg,
          "font-size": 11,
          "text-valign": "bottom",
          "text-margin-y": 4,
          "text-background-color": bg,
          "text-background-opacity": 0.8,
          width: 22,
          height: 22,
        },
      },
      { selector: 'node[role = "source"]', style: { shape: "diamond", "background-color": accent } },
      {
        selector: "edge",
        style: {
          label: "data(label)",
          "curve-style": "bezier",
          "control-point-step-size": 90,
          "target-arrow-shape": "triangle",
          "line-color": accent,
          "target-arrow-color": accent,
          width: 2,
          "font-size": 8,
          color: fg,
          "text-wrap": "wrap",
          "text-background-color": bg,
          "text-background-opacity": 0.85,
          "text-rotation": "none",
        },
      },
      { selector: "edge:selected", style: { width: 4, "line-color": fg, "target-arrow-color": fg } },
    ],
    layout: {
      name: "dagre",
      rankDir: "LR",
      nodeSep: 60,
      rankSep: 180,
      edgeSep: 20,
    } as cytoscape.LayoutOptions,
    minZoom: 0.1,
    maxZoom: 3,
  });
  cy.on("tap", "edge", (evt) => {
    const e = edgeById.get(evt.target.id());
    if (e) onEdge(e);
  });
  return cy;
}
