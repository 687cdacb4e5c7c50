/**
 * The dcomhunt HTML report: reads the result embedded in the page and draws the overview with the
 * lateral movement graph, the alert and search-row tables, the inputs, the suppressed results and one
 * incident at a time. Views are chosen by the URL fragment (#overview, #alerts, #rows, #inputs,
 * #suppressed, #incident-N), so the browser's back button and bookmarks work; nothing leaves the page.
 */
import type cytoscape from "cytoscape";
import {
  type Alert,
  alertSource,
  alertTarget,
  basename,
  KNOWN_ALERT_FIELDS,
  ms,
  parseReportData,
  type ReportData,
  type Row,
  type RunRule,
  severityRank,
  str,
} from "./data.js";
import { append, clear, el, fieldTable, text } from "./dom.js";
import { drawGraph, type GraphEdge, graphModel } from "./graph.js";
import { renderIncident } from "./incident.js";
import { type Column, DataTable, haystackCache } from "./table.js";

declare global {
  interface Window {
    dcomhuntReport?: {
      alerts: number;
      rows: number;
      cy?: cytoscape.Core;
      ready: boolean;
      /** performance.now() when the first view was drawn. */
      readyMs?: number;
      show(view: string): void;
    };
  }
}

const VIEWS = ["overview", "alerts", "rows", "inputs", "suppressed"] as const;
type View = (typeof VIEWS)[number];

function countBy<T>(items: T[], key: (x: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const x of items) {
    const k = key(x);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function countTable(caption: string, head: string, counts: [string, number][], id: string): HTMLElement {
  const table = el("table", { class: "data compact", id });
  append(
    table,
    el("caption", {}, caption),
    el(
      "thead",
      {},
      el("tr", {}, el("th", { scope: "col" }, head), el("th", { scope: "col", class: "num" }, "count")),
    ),
    el(
      "tbody",
      {},
      ...counts.map(([k, n]) =>
        el("tr", {}, el("td", {}, k || "(none)"), el("td", { class: "num" }, n.toLocaleString("en"))),
      ),
    ),
  );
  return table;
}

function timeRange(data: ReportData): [string, string] | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const see = (t: number) => {
    if (Number.isNaN(t)) return;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  };
  for (const a of data.alerts) {
    see(ms(a.first_time));
    see(ms(a.last_time));
  }
  for (const r of data.rows) see(ms(r._time));
  if (!Number.isFinite(lo)) return undefined;
  return [new Date(lo).toISOString(), new Date(hi).toISOString()];
}

function fmtBytes(n: number | undefined): string {
  if (n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

class Report {
  private readonly main: HTMLElement;
  private readonly nav: HTMLElement;
  private readonly views = new Map<string, HTMLElement>();
  private cy: cytoscape.Core | undefined;
  private readonly seedRuleIds: Set<string>;
  private readonly rules: RunRule[];

  constructor(private readonly data: ReportData) {
    this.rules = data.run?.rules ?? [];
    const seed = this.rules.filter((r) => r.pack === "seed").map((r) => r.id);
    this.seedRuleIds = new Set(seed);
    this.nav = el("nav", { class: "tabs", "aria-label": "Report views" });
    this.main = el("main", { id: "main", tabindex: -1 });
    const run = data.run;
    const subtitle = [
      run?.tool?.version ? `dcomhunt ${run.tool.version}` : "dcomhunt",
      run?.finished ? `run finished ${run.finished}` : "",
      run?.command ? `command: dcomhunt ${run.command.join(" ")}` : "",
    ]
      .filter(Boolean)
      .join(" · ");
    append(
      document.body,
      el("a", { class: "skip", id: "skip", tabindex: 0, role: "link" }, "Skip to content"),
      el(
        "header",
        { class: "top" },
        el("h1", {}, "dcomhunt report"),
        el("p", { class: "muted" }, subtitle),
        this.nav,
      ),
      this.main,
    );
    document.getElementById("skip")?.addEventListener("click", () => this.main.focus());
    for (const v of VIEWS) {
      if (v === "suppressed" && !run?.suppressed) continue;
      const label =
        v === "overview"
          ? "Overview"
          : v === "alerts"
            ? `Alerts (${data.alerts.length.toLocaleString("en")})`
            : v === "rows"
              ? `Search rows (${data.rows.length.toLocaleString("en")})`
              : v === "inputs"
                ? "Inputs"
                : `Suppressed (${run?.suppressed?.length ?? 0})`;
      const b = el("button", { type: "button", class: "tab", "data-view": v, id: `tab-${v}` }, label);
      b.addEventListener("click", () => {
        location.hash = v;
      });
      append(this.nav, b);
    }
    window.addEventListener("hashchange", () => this.route());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && location.hash.startsWith("#incident-")) history.back();
    });
    window.dcomhuntReport = {
      alerts: data.alerts.length,
      rows: data.rows.length,
      ready: false,
      show: (view) => {
        location.hash = view;
      },
    };
    this.route();
    window.dcomhuntReport.ready = true;
    window.dcomhuntReport.readyMs = performance.now();
    document.body.setAttribute("data-ready", "true");
  }

  private route(): void {
    const hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "overview";
    const incident = /^incident-(\d+)$/.exec(hash);
    let view: string = VIEWS.includes(hash as View) ? hash : "overview";
    if (incident) view = "incident";
    for (const b of this.nav.querySelectorAll("button")) {
      if (b.getAttribute("data-view") === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    for (const [name, node] of this.views) node.hidden = name !== view;
    if (incident) {
      const i = Number(incident[1]);
      this.views.get("incident")?.remove();
      const a = this.data.alerts[i];
      const back = el("button", { type: "button", class: "back", id: "incident-back" }, "← Back");
      back.addEventListener("click", () => history.back());
      const node = el(
        "div",
        { class: "view", id: "view-incident" },
        back,
        a ? renderIncident(a, i, this.seedRows()) : el("p", {}, `No alert number ${i} in this report.`),
      );
      this.views.set("incident", node);
      append(this.main, node);
      document.getElementById("incident-title")?.focus();
      window.scrollTo(0, 0);
      return;
    }
    let node = this.views.get(view);
    if (!node) {
      node = el("div", { class: "view", id: `view-${view}` });
      this.views.set(view, node);
      append(this.main, node);
      this.build(view as View, node);
    }
    node.hidden = false;
    if (view === "overview") this.cy?.resize();
  }

  private build(view: View, node: HTMLElement): void {
    if (view === "overview") this.overview(node);
    else if (view === "alerts") this.alertsView(node);
    else if (view === "rows") this.rowsView(node);
    else if (view === "inputs") this.inputsView(node);
    else this.suppressedView(node);
  }

  private openAlert(a: Alert): void {
    const i = this.data.alerts.indexOf(a);
    if (i >= 0) location.hash = `incident-${i}`;
  }

  private seedRows(): Row[] {
    if (this.seedRuleIds.size === 0) return this.data.rows.filter((r) => /\(seed\)/i.test(str(r._rule)));
    return this.data.rows.filter((r) => this.seedRuleIds.has(str(r._rule_id)));
  }

  private overview(node: HTMLElement): void {
    const d = this.data;
    const range = timeRange(d);
    const model = graphModel(d.alerts);
    const counts = d.run?.counts;
    const problems = d.run?.input_problems ?? [];
    const cards = el(
      "div",
      { class: "cards", id: "overview-cards" },
      this.card("DCOM alerts", d.alerts.length.toLocaleString("en"), "alerts"),
      this.card("search rows", d.rows.length.toLocaleString("en"), "rows"),
      this.card("hosts in the graph", model.nodes.length.toLocaleString("en"), "hosts"),
      this.card("time range", range ? `${range[0]} → ${range[1]}` : "—", "range"),
      counts
        ? this.card(
            "inputs",
            `${(counts.files ?? 0).toLocaleString("en")} files · ${(counts.records ?? 0).toLocaleString("en")} events`,
            "inputs",
          )
        : null,
      counts ? this.card("skipped records", (counts.skipped ?? 0).toLocaleString("en"), "skipped") : null,
      d.run?.suppressed
        ? this.card("suppressed", d.run.suppressed.length.toLocaleString("en"), "suppressed")
        : null,
    );
    if (!d.run)
      append(
        cards,
        el(
          "p",
          { class: "note" },
          "This result has no run record: scan with --format html, or --format json --report-data, to see inputs, hashes and skipped records.",
        ),
      );

    // graph
    const container = el("div", {
      id: "graph",
      class: "graph",
      role: "img",
      "aria-label": "Lateral movement graph",
    });
    const edgeList = el("ul", { class: "edge-list", id: "edge-list" });
    const shown = model.edges.slice(0, 200);
    for (const e of shown) {
      const b = el(
        "button",
        {
          type: "button",
          class: "edge",
          "data-edge": e.id,
          "data-source": e.source,
          "data-target": e.target,
        },
        `${model.nodes.find((n) => n.id === e.source)?.label ?? "?"} → ${model.nodes.find((n) => n.id === e.target)?.label ?? "?"}: ${e.label.replace(/\n/g, ", ")}`,
      );
      b.addEventListener("click", () => this.openEdge(e));
      append(edgeList, el("li", {}, b));
    }
    const graphSection = el(
      "section",
      { class: "panel", id: "graph-panel", "aria-labelledby": "graph-title" },
      el("h2", { id: "graph-title" }, "Lateral movement graph"),
      el(
        "p",
        { class: "note" },
        d.alerts.length === 0
          ? "No DCOM alert in this result."
          : (model.grouped
              ? `${d.alerts.length.toLocaleString("en")} alerts: alerts between the same two hosts with the same variant share one edge (click it for the list).`
              : "Each alert is an edge from its source to its target; click an edge to open the incident.") +
              " Diamonds are sources, circles targets." +
              (model.hiddenEdges > 0
                ? ` Drawn: the ${model.edges.length} busiest edges; ${model.hiddenEdges.toLocaleString("en")} more edges (${model.hiddenAlerts.toLocaleString("en")} alerts) are in the Alerts table.`
                : ""),
      ),
      container,
      el(
        "details",
        { class: "edge-details" },
        el(
          "summary",
          {},
          `Edges as a list (${model.edges.length}${model.edges.length > shown.length ? `, first ${shown.length}` : ""})`,
        ),
        edgeList,
      ),
    );

    const sequenceRules = this.rules.filter((r) => r.sequence);
    const perRule = countBy(d.alerts, (a) => str(a._rule)).concat(countBy(d.rows, (r) => str(r._rule)));
    const ruleTable = el("table", { class: "data compact", id: "rule-counts" });
    const suppressedPerRule = d.run?.counts?.suppressed_per_rule ?? {};
    const resultsPerRule = d.run?.counts?.results_per_rule;
    const ruleRows: [string, string, number, number][] = this.rules.length
      ? this.rules.map((r) => [
          r.name,
          r.sequence ? "alerts" : "rows",
          resultsPerRule?.[r.id] ?? 0,
          suppressedPerRule[r.id] ?? 0,
        ])
      : perRule.map(([name, n]) => [name, "", n, 0]);
    append(
      ruleTable,
      el("caption", {}, "Results per rule"),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, "rule"),
          el("th", { scope: "col" }, "kind"),
          el("th", { scope: "col", class: "num" }, "results"),
          el("th", { scope: "col", class: "num" }, "suppressed"),
        ),
      ),
      el(
        "tbody",
        {},
        ...ruleRows.map(([name, kind, n, s]) =>
          el(
            "tr",
            {},
            el("td", {}, name),
            el("td", { class: "nowrap" }, kind),
            el("td", { class: "num" }, n.toLocaleString("en")),
            el("td", { class: "num" }, s ? s.toLocaleString("en") : ""),
          ),
        ),
      ),
    );
    const countsSection = el(
      "section",
      { class: "panel", "aria-labelledby": "counts-title" },
      el("h2", { id: "counts-title" }, "Counts"),
      el(
        "div",
        { class: "grid" },
        ruleTable,
        countTable(
          "Alerts per variant",
          "variant",
          countBy(d.alerts, (a) => str(a.variant)),
          "variant-counts",
        ),
        countTable(
          "Alerts per severity",
          "severity",
          countBy(d.alerts, (a) => str(a.severity)).sort((x, y) => severityRank(y[0]) - severityRank(x[0])),
          "severity-counts",
        ),
      ),
      sequenceRules.length === 0 && this.rules.length > 0
        ? el("p", { class: "note" }, "No sequence (dcom pack) rule ran.")
        : null,
    );

    // seed rows next to the dcom alerts
    const byTime = (x: string, y: string) => x.localeCompare(y);
    const alertsByTime = [...d.alerts]
      .sort((x, y) => byTime(str(x.first_time), str(y.first_time)))
      .slice(0, 25);
    const seed = this.seedRows()
      .slice()
      .sort((x, y) => byTime(str(x._time), str(y._time)))
      .slice(0, 25);
    const alertList = el(
      "ol",
      { class: "mini", id: "overview-alerts" },
      ...alertsByTime.map((a) => {
        const b = el(
          "button",
          { type: "button", class: "linkish" },
          `${str(a.first_time)} ${str(a.variant)} ${alertTarget(a)} ← ${alertSource(a)} (${str(a.severity)})`,
        );
        b.addEventListener("click", () => this.openAlert(a));
        return el("li", {}, b);
      }),
    );
    const seedList = el(
      "ol",
      { class: "mini", id: "overview-seed" },
      ...seed.map((r) =>
        el(
          "li",
          {},
          `${str(r._time)} ${str(r.host) || str(r._computer)}: ${basename(str(r.ParentImage))} → ${basename(str(r.Image))} ${text(r.CommandLine)}`,
        ),
      ),
    );
    const side = el(
      "section",
      { class: "panel", "aria-labelledby": "side-title" },
      el("h2", { id: "side-title" }, "Seed rule rows next to the DCOM alerts"),
      el(
        "div",
        { class: "grid two" },
        el(
          "div",
          {},
          el("h3", {}, `DCOM alerts (${d.alerts.length.toLocaleString("en")}, first 25 by time)`),
          alertList,
        ),
        el(
          "div",
          {},
          el("h3", {}, `Seed rule rows (${this.seedRows().length.toLocaleString("en")}, first 25 by time)`),
          seedList,
        ),
      ),
    );
    append(node, cards, graphSection, countsSection, side);
    if (problems.length > 0)
      append(node, el("p", { class: "note warn" }, `${problems.length} input problem(s): see Inputs.`));
    if (d.alerts.length > 0) {
      this.cy = drawGraph(container, model, (e) => this.openEdge(e));
      if (window.dcomhuntReport) window.dcomhuntReport.cy = this.cy;
    }
    node.setAttribute("data-graph", "drawn");
  }

  private openEdge(e: GraphEdge): void {
    if (e.alerts.length === 1) this.openAlert(e.alerts[0]);
    else {
      this.pendingAlertFilter = {
        host: "",
        source: e.alerts[0] ? alertSource(e.alerts[0]) : "",
        variant: e.variant,
        target: e.alerts[0] ? alertTarget(e.alerts[0]) : "",
      };
      location.hash = "alerts";
      this.applyPending?.();
    }
  }

  private pendingAlertFilter: { host: string; source: string; target: string; variant: string } | undefined;
  private applyPending: (() => void) | undefined;

  private card(label: string, value: string, id: string): HTMLElement {
    return el(
      "div",
      { class: "card", "data-card": id },
      el("div", { class: "card-value" }, value),
      el("div", { class: "card-label" }, label),
    );
  }

  private alertsView(node: HTMLElement): void {
    const alerts = this.data.alerts;
    const extra = new Set<string>();
    for (const a of alerts) for (const k of Object.keys(a)) if (!KNOWN_ALERT_FIELDS.has(k)) extra.add(k);
    const columns: Column<Alert>[] = [
      { key: "first_time", label: "first time", text: (a) => str(a.first_time) },
      {
        key: "severity",
        label: "severity",
        text: (a) => str(a.severity),
        sortKey: (a) => severityRank(a.severity),
      },
      { key: "confidence", label: "confidence", text: (a) => str(a.confidence) },
      { key: "variant", label: "variant", text: (a) => str(a.variant) },
      { key: "target_host", label: "target", text: (a) => str(a.target_host) },
      {
        key: "source",
        label: "source",
        text: (a) => [str(a.source_ip), str(a.source_host)].filter(Boolean).join(" / "),
      },
      { key: "account", label: "account", text: (a) => str(a.account) },
      ...[...extra].map((k) => ({ key: `x:${k}`, label: k, text: (a: Alert) => str(a[k]) })),
      { key: "rule", label: "rule", text: (a) => str(a._rule) },
      {
        key: "evidence",
        label: "events",
        text: (a) => String(a.evidence.length),
        sortKey: (a) => a.evidence.length,
        cls: "num",
      },
    ];
    const table = new DataTable<Alert>({
      id: "alerts-table",
      label: "DCOM alerts",
      columns,
      rows: alerts,
      onOpen: (a) => this.openAlert(a),
      sort: { key: "first_time" },
    });
    const hay = haystackCache<Alert>((a) =>
      [
        ...Object.entries(a)
          .filter(([k]) => k !== "evidence" && k !== "explain")
          .map(([, v]) => str(v)),
        ...a.evidence.map((e) => str(e.summary)),
      ].join("\n"),
    );
    const rule = this.select(
      "filter-alert-rule",
      "rule",
      countBy(alerts, (a) => str(a._rule)).map(([k]) => k),
    );
    const variant = this.select(
      "filter-alert-variant",
      "variant",
      countBy(alerts, (a) => str(a.variant)).map(([k]) => k),
    );
    const severity = this.select(
      "filter-alert-severity",
      "severity",
      countBy(alerts, (a) => str(a.severity))
        .map(([k]) => k)
        .sort((x, y) => severityRank(y) - severityRank(x)),
    );
    const host = this.input("filter-alert-host", "host or IP");
    const textInput = this.input("filter-alert-text", "text in any field");
    const apply = () => {
      const r = rule.select.value;
      const v = variant.select.value;
      const s = severity.select.value;
      const h = host.input.value.trim().toLowerCase();
      const t = textInput.input.value.trim().toLowerCase();
      table.setFilter(
        !r && !v && !s && !h && !t
          ? undefined
          : (a) =>
              (!r || str(a._rule) === r) &&
              (!v || str(a.variant) === v) &&
              (!s || str(a.severity) === s) &&
              (!h ||
                [a.target_host, a.source_host, a.source_ip].some((x) => str(x).toLowerCase().includes(h))) &&
              (!t || hay(a).includes(t)),
      );
    };
    this.applyPending = () => {
      const p = this.pendingAlertFilter;
      if (!p) return;
      this.pendingAlertFilter = undefined;
      variant.select.value = p.variant;
      host.input.value = p.source;
      textInput.input.value = p.target;
      apply();
    };
    this.wire([rule.select, variant.select, severity.select], [host.input, textInput.input], apply);
    append(
      node,
      el(
        "section",
        { class: "panel", "aria-labelledby": "alerts-title" },
        el("h2", { id: "alerts-title" }, "DCOM alerts"),
        el(
          "form",
          { class: "filters", role: "search", "aria-label": "Filter alerts" },
          rule.label,
          variant.label,
          severity.label,
          host.label,
          textInput.label,
        ),
        table.element,
      ),
    );
    this.applyPending();
  }

  private rowsView(node: HTMLElement): void {
    const rows = this.data.rows;
    const hiddenProvenance = new Set(["_rule_id", "_file", "_offset", "_record_id", "_channel", "_computer"]);
    const columnsFor = (subset: Row[]): Column<Row>[] => {
      const keys: string[] = [];
      const seen = new Set<string>();
      for (const r of subset.length > 5000 ? subset.slice(0, 5000) : subset)
        for (const k of Object.keys(r))
          if (!seen.has(k) && !hiddenProvenance.has(k)) {
            seen.add(k);
            keys.push(k);
          }
      return keys.map((k) => ({
        key: k,
        label: k,
        text: (r: Row) => {
          const t = text(r[k]);
          return t.length > 160 ? `${t.slice(0, 159)}…` : t;
        },
        sortKey: k === "_time" ? (r: Row) => ms(r._time) : (r: Row) => text(r[k]),
      }));
    };
    const detail = el("div", { class: "row-detail", id: "row-detail", "aria-live": "polite" });
    const table = new DataTable<Row>({
      id: "rows-table",
      label: "Search rows",
      columns: columnsFor(rows),
      rows,
      onOpen: (r) => {
        clear(detail);
        append(detail, fieldTable(r, "Selected row: every field and its provenance"));
        detail.scrollIntoView({ block: "nearest" });
      },
    });
    const hay = haystackCache<Row>((r) => Object.values(r).map(text).join("\n"));
    const rule = this.select(
      "filter-row-rule",
      "rule",
      countBy(rows, (r) => str(r._rule)).map(([k]) => k),
    );
    const host = this.input("filter-row-host", "host");
    const textInput = this.input("filter-row-text", "text in any field");
    let lastRule = "";
    const apply = () => {
      const r = rule.select.value;
      const h = host.input.value.trim().toLowerCase();
      const t = textInput.input.value.trim().toLowerCase();
      if (r !== lastRule) {
        lastRule = r;
        table.setColumns(columnsFor(r ? rows.filter((x) => str(x._rule) === r) : rows));
      }
      table.setFilter(
        !r && !h && !t
          ? undefined
          : (x) =>
              (!r || str(x._rule) === r) &&
              (!h ||
                [x.host, x._computer, x.Computer, x.dest].some((v) => str(v).toLowerCase().includes(h))) &&
              (!t || hay(x).includes(t)),
      );
    };
    this.wire([rule.select], [host.input, textInput.input], apply);
    append(
      node,
      el(
        "section",
        { class: "panel", "aria-labelledby": "rows-title" },
        el("h2", { id: "rows-title" }, "Search rows"),
        el(
          "form",
          { class: "filters", role: "search", "aria-label": "Filter search rows" },
          rule.label,
          host.label,
          textInput.label,
        ),
        table.element,
        detail,
      ),
    );
  }

  private inputsView(node: HTMLElement): void {
    const run = this.data.run;
    if (!run) {
      append(
        node,
        el(
          "p",
          { class: "note" },
          "This result has no run record (scan with --format html, or --format json --report-data).",
        ),
      );
      return;
    }
    const inputs = run.inputs ?? [];
    const inputTable = new DataTable({
      id: "inputs-table",
      label: "Inputs",
      rows: inputs,
      columns: [
        { key: "path", label: "file", text: (i) => i.path },
        {
          key: "size",
          label: "size",
          text: (i) => fmtBytes(i.size),
          sortKey: (i) => i.size ?? -1,
          cls: "num",
        },
        {
          key: "records",
          label: "events read",
          text: (i) => (i.records ?? "").toLocaleString(),
          sortKey: (i) => i.records ?? -1,
          cls: "num",
        },
        { key: "sha256", label: "SHA-256", text: (i) => i.sha256 ?? i.error ?? i.note ?? "", cls: "hash" },
      ],
    });
    const problems = run.input_problems ?? [];
    const problemTable = new DataTable({
      id: "problems-table",
      label: "Input problems",
      rows: problems,
      columns: [
        { key: "file", label: "file", text: (p) => p.file },
        { key: "location", label: "where", text: (p) => p.location },
        { key: "reason", label: "reason", text: (p) => p.reason },
        { key: "lost", label: "lost", text: (p) => p.lost },
        { key: "skipped", label: "records skipped", text: (p) => String(p.skippedRecords ?? ""), cls: "num" },
      ],
    });
    const c = run.counts ?? {};
    append(
      node,
      el(
        "section",
        { class: "panel", "aria-labelledby": "run-title" },
        el("h2", { id: "run-title" }, "Run"),
        fieldTable({
          command: run.command ? `dcomhunt ${run.command.join(" ")}` : "",
          started: run.started,
          finished: run.finished,
          "time zone of _time": run.tz,
          files: c.files,
          bytes: c.bytes,
          "events read": c.records,
          "records skipped": c.skipped,
          "duplicates dropped": c.duplicates,
          "events evaluated": c.events_evaluated,
          allowlist: run.allowlist ?? "",
        }),
      ),
      el(
        "section",
        { class: "panel", "aria-labelledby": "inputs-title" },
        el("h2", { id: "inputs-title" }, "Input files"),
        inputTable.element,
      ),
      el(
        "section",
        { class: "panel", "aria-labelledby": "problems-title" },
        el("h2", { id: "problems-title" }, "Input problems (skipped with reasons)"),
        countTable("Problems by reason", "reason", Object.entries(c.input_problems ?? {}), "problem-counts"),
        problemTable.element,
      ),
    );
  }

  private suppressedView(node: HTMLElement): void {
    const items = this.data.run?.suppressed ?? [];
    const detail = el("div", { class: "row-detail", id: "suppressed-detail" });
    const table = new DataTable({
      id: "suppressed-table",
      label: "Suppressed results",
      rows: items,
      columns: [
        { key: "entry", label: "allowlist entry", text: (s) => s.entry },
        { key: "reason", label: "reason", text: (s) => s.reason },
        { key: "where", label: "where", text: (s) => s.where },
        { key: "rule", label: "rule", text: (s) => s.rule },
        {
          key: "result",
          label: "result",
          text: (s) => {
            const r = s.result;
            return Array.isArray(r.evidence)
              ? `${str(r.first_time)} ${str(r.variant)} ${str(r.target_host)} ← ${str(r.source_ip) || str(r.source_host)} ${str(r.account)}`
              : `${str(r._time)} ${str(r.host)} ${text(r.Image)} ${text(r.CommandLine)}`;
          },
        },
      ],
      onOpen: (s) => {
        clear(detail);
        const { evidence: _e, explain: _x, ...flat } = s.result as Record<string, unknown>;
        append(detail, fieldTable(flat, "Suppressed result"));
      },
    });
    append(
      node,
      el(
        "section",
        { class: "panel", "aria-labelledby": "suppressed-title" },
        el("h2", { id: "suppressed-title" }, "Suppressed by the allowlist"),
        table.element,
        detail,
      ),
    );
  }

  private select(
    id: string,
    label: string,
    options: string[],
  ): { label: HTMLElement; select: HTMLSelectElement } {
    const select = el(
      "select",
      { id, name: id },
      el("option", { value: "" }, `any ${label}`),
      ...options.map((o) => el("option", { value: o }, o || "(none)")),
    );
    return { label: el("label", { for: id }, `${label} `, select), select };
  }

  private input(id: string, placeholder: string): { label: HTMLElement; input: HTMLInputElement } {
    const input = el("input", { id, name: id, type: "search", placeholder });
    return { label: el("label", { for: id }, `${placeholder} `, input), input };
  }

  private wire(selects: HTMLSelectElement[], inputs: HTMLInputElement[], apply: () => void): void {
    for (const s of selects) s.addEventListener("change", apply);
    let timer: number | undefined;
    for (const i of inputs)
      i.addEventListener("input", () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(apply, 120);
      });
    for (const form of [...selects, ...inputs].map((x) => x.form))
      form?.addEventListener("submit", (e) => e.preventDefault());
  }
}

function start(): void {
  const node = document.getElementById("dcomhunt-data");
  let data: ReportData;
  try {
    data = parseReportData(node?.textContent ?? "[]");
  } catch (err) {
    append(
      document.body,
      el("p", { class: "note warn" }, `The embedded result cannot be read: ${(err as Error).message}`),
    );
    return;
  }
  new Report(data);
}

start();
