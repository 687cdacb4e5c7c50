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
  /**
   * All fields of the event behind this item (for allowlists keyed on Image, CommandLine ...).
   * Not part of the alert's json output.
   */
  fields?: Record<string, string | string[]>;
}

export interface Alert {
  ruleId: string;
  rule: string;
  variant: string;
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

export function toEvidence(ev: SplunkEvent, time: number, summary: string): EvidenceItem {
  return {
    _file: ev.event?.provenance.file ?? fieldOf(ev, "source") ?? "",
    _record_id: fieldOf(ev, "EventRecordID") ?? fieldOf(ev, "RecordNumber") ?? "",
    _channel: fieldOf(ev, "Channel") ?? "",
    _computer: fieldOf(ev, "Computer") ?? fieldOf(ev, "host") ?? "",
    _time: iso(time),
    EventCode: fieldOf(ev, "EventCode") ?? "",
    summary,
    fields: Object.fromEntries(ev.fields),
  };
}

/** The json/ndjson object of an alert: fixed flat string fields, then `evidence` (and `explain` when asked). */
export function alertToJson(a: Alert, opts: { explain?: boolean } = {}): Record<string, unknown> {
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
    _rule_id: a.ruleId,
    _rule: a.rule,
    evidence: a.evidence.map(({ fields: _fields, ...e }) => e),
  };
  if (opts.explain) out.explain = [...a.explain];
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
        a.variant + (a.loopback ? " [loopback]" : ""),
        `${a.target_host} <- ${source}`,
        a.account || "-",
        a.rule,
      ].join("  "),
    );
    for (const e of a.evidence) {
      const base = e._file.replace(/^.*[\\/]/, "");
      const summary = e.summary.length > width ? `${e.summary.slice(0, width - 3)}...` : e.summary;
      lines.push(`    ${e._time}  ${base}#${e._record_id}  ${e.EventCode}  ${summary}`);
    }
    if (opts.explain) for (const x of a.explain) lines.push(`      why: ${x}`);
  }
  // The count is in the section header the caller writes (src/report/results.ts).
  return `${lines.join("\n")}\n`;
}
