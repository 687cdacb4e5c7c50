/**
 * Alerts of sequence rules: one per incident, with attribution and the evidence events, and their
 * json/ndjson (flat string fields + `evidence` array) and table renderings.
 */
import type { SplunkEvent } from "../events/fields.js";
import { fieldOf } from "./keys.js";

export interface EvidenceItem {
  _file: string;
  _record_id: string;
  _channel: string;
  _computer: string;
  /** ISO 8601 UTC. */
  _time: string;
  EventCode: string;
  summary: string;
  /** Whose logs the event comes from: the host moved to (target) or the caller (source). */
  side?: "target" | "source";
  /** A known helper process of the DCOM server (Office AppV surrogate, splwow64, WerFault ...): not a payload. */
  helper?: boolean;
  /** Byte offset (EVTX, XML) or line (JSON, CSV) of the event in its file; in `details` output only. */
  _offset?: string;
  /** The sequence steps this event matched (the --explain step mapping). */
  steps?: string[];
  /**
   * All fields of the event behind this item (for allowlists keyed on Image, CommandLine ...).
   * Not part of the alert's json output.
   */
  fields?: Record<string, string | string[]>;
}

/** How far the attempt got (see incident.ts). */
export type Outcome = "executed" | "activated" | "denied" | "blocked" | "unreachable" | "requested";
/** Whose logs hold the evidence. */
export type ObservedOn = "target" | "source" | "both";

export interface Alert {
  ruleId: string;
  rule: string;
  /** = object (kept for compatibility). */
  variant: string;
  /** The DCOM object or technique (objects.ts), `unknown` when the logs do not tell. */
  object?: string;
  /** Every object this attempt named (a burst of several objects against one target is one incident). */
  objects?: string[];
  /** CLSIDs/AppIDs DCOM logged for the attempt (10016, 10028), and unknown ones named elsewhere. */
  clsid?: string[];
  outcome?: Outcome;
  observed_on?: ObservedOn;
  /** Severity and confidence follow the outcome table (incident.ts severityFor), not the rule's classify. */
  severity_by?: "outcome";
  severity: string;
  confidence: string;
  target_host: string;
  source_ip: string;
  source_host: string;
  account: string;
  loopback: boolean;
  /** Epoch seconds of the first and last evidence event. */
  first_time: number;
  last_time: number;
  evidence: EvidenceItem[];
  /** Why it fired: which steps matched which events, joins, attribution, classification. */
  explain: string[];
}

function iso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

export function toEvidence(ev: SplunkEvent, time: number, summary: string, steps?: string[]): EvidenceItem {
  return {
    _file: ev.event?.provenance.file ?? fieldOf(ev, "source") ?? "",
    _record_id: fieldOf(ev, "EventRecordID") ?? fieldOf(ev, "RecordNumber") ?? "",
    _offset: String(ev.event?.provenance.offset ?? ev.event?.provenance.line ?? ""),
    _channel: fieldOf(ev, "Channel") ?? "",
    _computer: fieldOf(ev, "Computer") ?? fieldOf(ev, "host") ?? "",
    _time: iso(time),
    EventCode: fieldOf(ev, "EventCode") ?? "",
    summary,
    steps,
    fields: Object.fromEntries(ev.fields),
  };
}

/**
 * Evidence as written in json: without the event's fields; `side`, `helper` only when known. With
 * `details` (the HTML report), also `_offset`, the `steps` it matched and all its event's `fields`.
 */
function evidenceToJson(
  { fields, side, helper, steps, _offset, ...e }: EvidenceItem,
  details: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e };
  if (side) out.side = side;
  if (helper) out.helper = "true";
  if (details) Object.assign(out, { _offset: _offset ?? "", steps: steps ?? [], fields: fields ?? {} });
  return out;
}

export interface AlertJsonOptions {
  /** Add `explain` (why it fired). */
  explain?: boolean;
  /**
   * Give each evidence item its `steps` and all its event's `fields` (what the HTML report shows:
   * process trees, the step mapping, every field of every event). Implies `explain`.
   */
  details?: boolean;
}

/**
 * The json/ndjson object of an alert: fixed flat string fields, then `evidence` (and `explain` when asked).
 * With `details`, each evidence item also carries `steps` and `fields`.
 */
export function alertToJson(a: Alert, opts: AlertJsonOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    variant: a.variant,
    severity: a.severity,
    confidence: a.confidence,
    target_host: a.target_host,
    source_ip: a.source_ip,
    source_host: a.source_host,
    account: a.account,
    loopback: a.loopback ? "true" : "false",
    first_time: iso(a.first_time),
    last_time: iso(a.last_time),
    // The incident model's fields (incident.ts), after the fields older consumers read by position.
    object: a.object ?? a.variant,
    objects: (a.objects ?? [a.object ?? a.variant]).join(","),
    clsid: (a.clsid ?? []).join(","),
    outcome: a.outcome ?? "",
    observed_on: a.observed_on ?? "",
    _rule_id: a.ruleId,
    _rule: a.rule,
    evidence: a.evidence.map((e) => evidenceToJson(e, opts.details === true)),
  };
  if (opts.explain || opts.details) out.explain = [...a.explain];
  return out;
}

export interface AlertTableOptions {
  /** Print the explanation lines under each alert. */
  explain?: boolean;
  /** Longest summary shown (characters), default 200. */
  width?: number;
}

/**
 * One line per alert (time, severity/confidence, variant, target <- source, account, rule), then its
 * evidence indented, one line per event (time, file#record, EventCode, summary).
 */
export function formatAlertsTable(alerts: Alert[], opts: AlertTableOptions = {}): string {
  const width = opts.width ?? 200;
  const lines: string[] = [];
  for (const a of alerts) {
    const source =
      a.source_ip || a.source_host
        ? `${a.source_ip || "?"}${a.source_host ? ` (${a.source_host})` : ""}`
        : "-";
    lines.push(
      [
        iso(a.first_time),
        `severity=${a.severity} confidence=${a.confidence}`,
        (a.objects && a.objects.length > 1 ? a.objects.join("+") : a.variant) +
          (a.loopback ? " [loopback]" : ""),
        a.outcome ? `${a.outcome} (seen on ${a.observed_on ?? "?"})` : "",
        `${a.target_host} <- ${source}`,
        a.account || "-",
        a.rule,
      ]
        .filter((x) => x !== "")
        .join("  "),
    );
    for (const e of a.evidence) {
      const base = e._file.replace(/^.*[\\/]/, "");
      const summary = e.summary.length > width ? `${e.summary.slice(0, width - 3)}...` : e.summary;
      const mark = e.helper ? "helper " : "";
      lines.push(`    ${e._time}  ${base}#${e._record_id}  ${e.EventCode}  ${mark}${summary}`);
    }
    if (opts.explain) for (const x of a.explain) lines.push(`      why: ${x}`);
  }
  // The count is in the section header the caller writes (src/report/results.ts).
  return `${lines.join("\n")}\n`;
}
