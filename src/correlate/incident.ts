/**
 * The incident model: what an alert says about one DCOM lateral movement attempt, computed from the
 * alert row alone (its fields and evidence), so that every engine (in-process, and any that yields the
 * same alert rows) can apply it after correlation:
 *
 * - `object`: the DCOM object or technique (objects.ts), `objects`: every object the attempt named at the
 *   same level of certainty (a burst trying several objects against one target is ONE incident listing
 *   them; `object` is the first in time), `clsid`: the CLSIDs/AppIDs DCOM itself logged (10016/10028);
 * - `outcome`: executed | activated | denied | blocked | unreachable | requested;
 * - `observed_on`: target | source | both (which hosts' logs hold the evidence);
 * - `variant` = `object` (kept for compatibility); severity/confidence from `severityFor` when the rule
 *   asks for it (`severity_by: outcome`).
 *
 * `sameAttempt` tells whether two alert rows are the two ends of one attempt (the merger in run.ts joins
 * them). Both functions are pure and idempotent: describing a described alert changes nothing.
 */
import type { Alert, EvidenceItem, ObservedOn, Outcome } from "./alert.js";
import {
  canonicalGuid,
  GENERIC_VARIANTS,
  type ObjectClue,
  objectOfGuid,
  objectOfImage,
  objectsInText,
  refine,
  Strength,
} from "./objects.js";

export const OUTCOMES: readonly Outcome[] = [
  "requested",
  "unreachable",
  "blocked",
  "denied",
  "activated",
  "executed",
];

/** The further an attempt got, the higher: two records of one attempt keep the furthest outcome. */
export function outcomeRank(o: string | undefined): number {
  return OUTCOMES.indexOf(o as Outcome);
}

const SEVERITY = ["low", "medium", "high", "critical"] as const;

/**
 * Severity and confidence of an incident from its outcome and where it was observed (the README table).
 * Loopback incidents (the caller is the target itself: how the public tests run) are two levels lower,
 * confidence at most medium.
 */
export function severityFor(
  outcome: Outcome,
  observedOn: ObservedOn,
  loopback: boolean,
): { severity: string; confidence: string } {
  const both = observedOn === "both";
  let severity: number;
  let confidence: string;
  switch (outcome) {
    case "executed":
      [severity, confidence] = [3, "high"];
      break;
    case "activated":
      [severity, confidence] = [2, "high"];
      break;
    case "denied":
      [severity, confidence] = [1, "high"];
      break;
    case "blocked":
      // A dropped connection to TCP 135 alone could be any RPC client; the caller's request names the object.
      [severity, confidence] = both ? [1, "medium"] : [0, "low"];
      break;
    case "unreachable":
      [severity, confidence] = [1, both ? "high" : "medium"];
      break;
    default:
      // requested: the caller's side only, the outcome on the target unknown.
      [severity, confidence] = [2, "medium"];
  }
  if (loopback) {
    severity = Math.max(0, severity - 2);
    if (confidence === "high") confidence = "medium";
  }
  return { severity: SEVERITY[severity], confidence };
}

function fieldValue(e: EvidenceItem, name: string): string | undefined {
  const v = e.fields?.[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

const TEXT_FIELDS = ["CommandLine", "ScriptBlockText", "Payload"];
const LAUNCHERS = /\\(svchost|services)\.exe$/i;

interface Clue extends ObjectClue {
  time: string;
}

/** What one evidence event says about the object. */
function cluesOf(e: EvidenceItem): Clue[] {
  const clues: ObjectClue[] = [];
  const code = e.EventCode;
  if (code === "10016" || code === "10028") {
    for (const p of ["param4", "param5"]) {
      const g = fieldValue(e, p) ?? (p === "param4" ? /CLSID (\{[^}]+\})/.exec(e.summary)?.[1] : undefined);
      if (!g || !/[0-9A-F]{8}-/i.test(g)) continue;
      const o = objectOfGuid(g);
      clues.push(
        o
          ? { object: o.name, strength: Strength.Explicit }
          : { object: "unknown", strength: Strength.Explicit, guid: canonicalGuid(g) },
      );
      if (o) break;
    }
  }
  if (e.fields) {
    for (const f of TEXT_FIELDS) {
      const text = fieldValue(e, f);
      if (text) clues.push(...objectsInText(text));
    }
  } else if (e.side === "source") {
    clues.push(...objectsInText(e.summary));
  }
  if (e.side !== "source") {
    // The server process: started by DcomLaunch/services, accepting the call, loading a DLL, or the parent
    // of what it started.
    const image = fieldValue(e, "Image") ?? fieldValue(e, "NewProcessName");
    const parent = fieldValue(e, "ParentImage") ?? fieldValue(e, "ParentProcessName");
    let server: string | undefined;
    if (code === "1" || code === "4688") server = parent && LAUNCHERS.test(parent) ? image : parent;
    else if (code === "3" || code === "7") server = image;
    else if (code === "5156") server = fieldValue(e, "Application");
    else if (code === "4674") server = fieldValue(e, "ProcessName");
    const o = server ? objectOfImage(server) : undefined;
    if (o) clues.push({ object: o.name, strength: Strength.Explicit });
  }
  return clues.map((c) => ({ ...c, time: e._time }));
}

/** Objects at the highest certainty any evidence reached, in time order, generic ones dropped for specific. */
function topObjects(evidence: EvidenceItem[]): { objects: string[]; unknownIds: string[] } {
  const clues = evidence.flatMap(cluesOf);
  const best = Math.max(0, ...clues.map((c) => c.strength));
  const top = clues
    .filter((c) => c.strength === best)
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  let objects = [...new Set(top.map((c) => c.object))];
  // Excel named by one record and Excel-DDE by another: the method is the more precise name.
  if (objects.some((o) => o.startsWith("Excel-"))) objects = objects.filter((o) => o !== "Excel");
  if (objects.includes("InternetExplorer-iertutil"))
    objects = objects.filter((o) => o !== "InternetExplorer");
  const unknownIds = [...new Set(top.filter((c) => c.guid).map((c) => c.guid!))];
  if (objects.length > 1) objects = objects.filter((o) => o !== "unknown");
  return { objects, unknownIds };
}

/** The CLSIDs and AppIDs DCOM logged (10016 param4/param5, 10028 param4), as logged. */
function loggedGuids(evidence: EvidenceItem[]): string[] {
  const out: string[] = [];
  for (const e of evidence) {
    if (e.EventCode !== "10016" && e.EventCode !== "10028") continue;
    for (const p of ["param4", "param5"]) {
      const g = fieldValue(e, p);
      if (g && /[0-9A-F]{8}-/i.test(g)) out.push(canonicalGuid(g));
    }
  }
  return [...new Set(out)];
}

/** The outcome the evidence alone shows, for rules that do not state one. */
function inferredOutcome(evidence: EvidenceItem[]): Outcome {
  const codes = new Set(evidence.map((e) => e.EventCode));
  if (evidence.some((e) => e.side !== "source")) {
    if (codes.has("10016")) return "denied";
    if (codes.has("5157")) return "blocked";
    return "activated";
  }
  return codes.has("10028") ? "unreachable" : "requested";
}

function observedOn(evidence: EvidenceItem[]): ObservedOn {
  const target = evidence.some((e) => e.side !== "source");
  const source = evidence.some((e) => e.side === "source");
  return target && source ? "both" : source ? "source" : "target";
}

/** Explorer serves both: the caller's own words decide between them. */
const EXPLORER_OBJECTS = new Set(["ShellWindows", "ShellBrowserWindow"]);

/**
 * The alert with its incident fields (object, objects, clsid, outcome, observed_on) set from its evidence,
 * `variant` = `object`, and (severity_by outcome) severity/confidence from `severityFor`. Idempotent.
 */
export function describeIncident(alert: Alert): Alert {
  const evidence = alert.evidence;
  const { objects: found, unknownIds } = topObjects(evidence);
  const text = evidence
    .filter((e) => e.side === "source" || e.EventCode === "4104" || e.EventCode === "4103")
    .map((e) => TEXT_FIELDS.map((f) => fieldValue(e, f) ?? "").join(" ") + (e.fields ? "" : e.summary))
    .join("\n");
  let object: string;
  const ruleSaid = alert.variant ?? "";
  if (!GENERIC_VARIANTS.has(ruleSaid)) {
    object = refine(ruleSaid, text);
    // "Excel" with the method only in another record of the attempt (the caller's request).
    if (object === "Excel") object = found.find((o) => o.startsWith("Excel-")) ?? object;
    if (
      EXPLORER_OBJECTS.has(object) &&
      found.length > 0 &&
      found.every((o) => EXPLORER_OBJECTS.has(o)) &&
      !found.includes(object)
    )
      object = found[0];
  } else {
    object = found[0] ?? "unknown";
  }
  const objects = [
    ...new Set([object, ...found.filter((o) => o !== "unknown" || object === "unknown")]),
  ].filter(
    (o) =>
      !(o === "Excel" && object.startsWith("Excel-")) &&
      !(o === "InternetExplorer" && object === "InternetExplorer-iertutil"),
  );
  const outcome: Outcome =
    alert.outcome && outcomeRank(alert.outcome) >= 0 ? alert.outcome : inferredOutcome(evidence);
  const observed = observedOn(evidence);
  const clsid = [...new Set([...loggedGuids(evidence), ...unknownIds])];
  const out: Alert = {
    ...alert,
    variant: object,
    object,
    objects,
    clsid,
    outcome,
    observed_on: observed,
  };
  if (alert.severity_by === "outcome") Object.assign(out, severityFor(outcome, observed, alert.loopback));
  return out;
}

function shortHost(name: string): string {
  return name.trim().toLowerCase().split(".")[0] ?? "";
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Addresses of one side found in the evidence: the source's own SourceIp, the target's own (inbound) DestinationIp. */
function addressesOf(a: Alert, side: "source" | "target"): Set<string> {
  const out = new Set<string>();
  for (const e of a.evidence) {
    if ((e.side ?? "target") !== side) continue;
    const inbound = (fieldValue(e, "Initiated") ?? "").toLowerCase() === "false";
    if (e.EventCode === "3") {
      const own = side === "source" || !inbound ? fieldValue(e, "SourceIp") : fieldValue(e, "DestinationIp");
      if (own) out.add(own.toLowerCase());
    }
  }
  return out;
}

/**
 * Two records of the caller's side of one attempt (its request, its 10028): the same calling host naming
 * the same target within the window. Source-side records carry no address of their own when the caller
 * has no Sysmon, so joining them first lets the pair meet the target's records through either one.
 */
function sameCaller(a: Alert, b: Alert, windowSeconds: number): boolean {
  if (a.loopback || b.loopback) return false;
  const gap = Math.max(a.first_time, b.first_time) - Math.min(a.last_time, b.last_time);
  if (gap > windowSeconds) return false;
  const [ha, hb] = [shortHost(a.source_host), shortHost(b.source_host)];
  const [ta, tb] = [a.target_host.trim().toLowerCase(), b.target_host.trim().toLowerCase()];
  if (ha === "" || ha !== hb || ta === "" || tb === "") return false;
  return IPV4.test(ta) || IPV4.test(tb) ? ta === tb : shortHost(ta) === shortHost(tb);
}

function userOf(account: string): string | undefined {
  const user = account
    .slice(account.lastIndexOf("\\") + 1)
    .trim()
    .toLowerCase();
  return user === "" || /^s-1-/.test(user) ? undefined : user;
}

/**
 * Are these two alerts records of one attempt? Two caller-side alerts: see sameCaller. Otherwise one
 * holds only the caller's records (observed on
 * the source), the other only the target's; neither is loopback; they are within `windowSeconds` of each
 * other; the caller's named target is the target (host name, or an address the target's records show as
 * its own); the target's attributed source is the caller (address, or workstation name; a record that
 * logged no source address, such as some 10016s, lets the account decide); and where both name an
 * account, it is the same user.
 */
export function sameAttempt(a: Alert, b: Alert, windowSeconds: number): boolean {
  const oa = a.observed_on ?? observedOn(a.evidence);
  const ob = b.observed_on ?? observedOn(b.evidence);
  let src: Alert;
  let tgt: Alert;
  if (oa === "source" && ob === "target") [src, tgt] = [a, b];
  else if (ob === "source" && oa === "target") [src, tgt] = [b, a];
  else if (oa === "source" && ob === "source") return sameCaller(a, b, windowSeconds);
  else return false;
  if (src.loopback || tgt.loopback) return false;
  const gap = Math.max(src.first_time, tgt.first_time) - Math.min(src.last_time, tgt.last_time);
  if (gap > windowSeconds) return false;
  const named = src.target_host.trim().toLowerCase();
  if (named === "") return false;
  const targetMatch = IPV4.test(named)
    ? addressesOf(tgt, "target").has(named)
    : shortHost(named) === shortHost(tgt.target_host);
  if (!targetMatch) return false;
  const su = userOf(src.account);
  const tu = userOf(tgt.account);
  if (su && tu && su !== tu) return false;
  const callerIps = addressesOf(src, "source");
  if (src.source_ip) callerIps.add(src.source_ip.toLowerCase());
  if (tgt.source_ip) return callerIps.has(tgt.source_ip.toLowerCase());
  if (tgt.source_host && src.source_host) return shortHost(tgt.source_host) === shortHost(src.source_host);
  return su !== undefined && su === tu;
}
