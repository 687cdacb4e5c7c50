/**
 * The process tree around an incident: parent -> child from the process-creation events among its
 * evidence (Sysmon EventCode 1, Security 4688), linked by ProcessGuid, else by process id on the same
 * host. A parent known only from a child's Parent* fields is a node too (its image and command line).
 */
import { basename, type Evidence, first } from "./data.js";

export interface ProcessNode {
  key: string;
  host: string;
  image: string;
  commandLine: string;
  pid: string;
  guid: string;
  user: string;
  time: string;
  /** The evidence event that created this process, when there is one. */
  evidence?: Evidence;
  parent?: ProcessNode;
  children: ProcessNode[];
}

/** A pid as a decimal string (4688 writes hex "0x1a2c"). */
export function normalizePid(pid: string): string {
  const t = pid.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return String(Number.parseInt(t, 16));
  return /^\d+$/.test(t) ? String(Number(t)) : t;
}

function normalizeGuid(guid: string): string {
  return guid
    .trim()
    .replace(/^\{|\}$/g, "")
    .toLowerCase();
}

export function isProcessCreation(e: Evidence): boolean {
  const code = String(e.EventCode ?? first(e.fields, "EventCode"));
  const channel = String(e._channel ?? "").toLowerCase();
  if (code === "4688") return true;
  return code === "1" && (channel.includes("sysmon") || first(e.fields, "ProcessGuid") !== "");
}

export function buildProcessTree(evidence: Evidence[]): ProcessNode[] {
  const byGuid = new Map<string, ProcessNode>();
  const byPid = new Map<string, ProcessNode>();
  const nodes: ProcessNode[] = [];

  const find = (host: string, guid: string, pid: string): ProcessNode | undefined =>
    (guid ? byGuid.get(guid) : undefined) ?? (pid ? byPid.get(`${host}|${pid}`) : undefined);

  const upsert = (p: Omit<ProcessNode, "children" | "key">): ProcessNode => {
    let node = find(p.host, p.guid, p.pid);
    if (!node) {
      node = { ...p, key: p.guid || `${p.host}|${p.pid}|${nodes.length}`, children: [] };
      nodes.push(node);
    } else {
      node.image ||= p.image;
      node.commandLine ||= p.commandLine;
      node.user ||= p.user;
      node.time ||= p.time;
      node.guid ||= p.guid;
      node.pid ||= p.pid;
      node.evidence ??= p.evidence;
    }
    if (node.guid) byGuid.set(node.guid, node);
    if (node.pid) byPid.set(`${node.host}|${node.pid}`, node);
    return node;
  };

  const creations = evidence
    .filter(isProcessCreation)
    .sort((a, b) => String(a._time ?? "").localeCompare(String(b._time ?? "")));
  for (const e of creations) {
    const f = e.fields ?? {};
    const host = (e._computer || first(f, "Computer", "host")).toLowerCase();
    const is4688 = String(e.EventCode) === "4688";
    const child = upsert({
      host,
      image: first(f, is4688 ? "NewProcessName" : "Image", "process_path", "process"),
      commandLine: first(f, "CommandLine", "process"),
      pid: normalizePid(first(f, is4688 ? "NewProcessId" : "ProcessId", "process_id")),
      guid: normalizeGuid(first(f, "ProcessGuid")),
      user: is4688
        ? [first(f, "TargetDomainName", "SubjectDomainName"), first(f, "TargetUserName", "SubjectUserName")]
            .filter(Boolean)
            .join("\\")
        : first(f, "User", "user"),
      time: String(e._time ?? ""),
      evidence: e,
    });
    const parentImage = first(f, "ParentImage", "ParentProcessName", "parent_process_path");
    const parentPid = normalizePid(first(f, is4688 ? "ProcessId" : "ParentProcessId", "parent_process_id"));
    const parentGuid = normalizeGuid(first(f, "ParentProcessGuid"));
    if (!parentImage && !parentPid && !parentGuid) continue;
    const parent = upsert({
      host,
      image: parentImage,
      commandLine: first(f, "ParentCommandLine"),
      pid: parentPid,
      guid: parentGuid,
      user: "",
      time: "",
    });
    if (parent !== child && child.parent === undefined) {
      // no cycles: the parent must not already descend from the child
      let p: ProcessNode | undefined = parent;
      while (p && p !== child) p = p.parent;
      if (!p) {
        child.parent = parent;
        parent.children.push(child);
      }
    }
  }
  return nodes.filter((n) => n.parent === undefined);
}

/** "parent -> child" names of every link in a tree (image base names). */
export function processLinks(roots: ProcessNode[]): string[] {
  const out: string[] = [];
  const walk = (n: ProcessNode) => {
    for (const c of n.children) {
      out.push(`${basename(n.image) || "?"} -> ${basename(c.image) || "?"}`);
      walk(c);
    }
  };
  roots.forEach(walk);
  return out;
}
