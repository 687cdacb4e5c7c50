/**
 * The report's data: the elements `dcomhunt scan --format json` writes (search rows, sequence-rule
 * alerts), and the run record that closes it when present (`{"_dcomhunt_run": ...}`), read from the
 * page's JSON script element. Unknown fields are kept and shown as they are.
 */

export type FieldValue = string | string[];

export interface Evidence {
  _file?: string;
  _record_id?: string;
  _offset?: string;
  _channel?: string;
  _computer?: string;
  _time?: string;
  EventCode?: string;
  summary?: string;
  steps?: string[];
  fields?: Record<string, FieldValue>;
  [key: string]: unknown;
}

export interface Alert {
  variant: string;
  severity?: string;
  confidence?: string;
  target_host?: string;
  source_ip?: string;
  source_host?: string;
  account?: string;
  first_time?: string;
  last_time?: string;
  _rule_id?: string;
  _rule?: string;
  evidence: Evidence[];
  explain?: string[];
  [key: string]: unknown;
}

export type Row = Record<string, unknown>;

export interface RunRule {
  id: string;
  name: string;
  pack?: string;
  type?: string;
  severity?: string;
  sequence?: boolean;
}

export interface RunInput {
  path: string;
  size?: number;
  sha256?: string;
  records?: number;
  error?: string;
  note?: string;
}

export interface RunProblem {
  file: string;
  location: string;
  reason: string;
  lost: string;
  skippedRecords?: number;
}

export interface Suppressed {
  rule_id: string;
  rule: string;
  entry: string;
  reason: string;
  where: string;
  result: Record<string, unknown>;
}

export interface RunRecord {
  tool?: { name?: string; version?: string };
  started?: string;
  finished?: string;
  command?: string[];
  tz?: string;
  rules?: RunRule[];
  inputs?: RunInput[];
  allowlist?: string;
  counts?: {
    files?: number;
    bytes?: number;
    records?: number;
    skipped?: number;
    duplicates?: number;
    events_evaluated?: number;
    results_per_rule?: Record<string, number>;
    suppressed_per_rule?: Record<string, number>;
    input_problems?: Record<string, number>;
  };
  input_problems?: RunProblem[];
  suppressed?: Suppressed[];
}

export interface ReportData {
  alerts: Alert[];
  rows: Row[];
  run?: RunRecord;
  /** Elements that were neither (shown as a count). */
  unknown: number;
}

export const RUN_RECORD_KEY = "_dcomhunt_run";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isAlert(v: Record<string, unknown>): boolean {
  return Array.isArray(v.evidence) && typeof v.variant === "string";
}

export function parseReportData(json: string): ReportData {
  const parsed: unknown = JSON.parse(json);
  const data: ReportData = { alerts: [], rows: [], unknown: 0 };
  if (!Array.isArray(parsed)) return data;
  for (const item of parsed) {
    if (!isObject(item)) {
      data.unknown++;
      continue;
    }
    if (isObject(item[RUN_RECORD_KEY])) data.run = item[RUN_RECORD_KEY] as RunRecord;
    else if (isAlert(item)) {
      const a = item as Alert;
      a.evidence = a.evidence.filter(isObject) as Evidence[];
      data.alerts.push(a);
    } else data.rows.push(item);
  }
  return data;
}

/** Epoch milliseconds of an ISO time, or NaN. */
export function ms(iso: unknown): number {
  return typeof iso === "string" ? Date.parse(iso) : Number.NaN;
}

export function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(str).join(" | ");
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The first value of a field (multivalue: the first one). */
export function first(fields: Record<string, FieldValue> | undefined, ...names: string[]): string {
  if (!fields) return "";
  for (const n of names) {
    const v = fields[n];
    if (typeof v === "string" && v !== "") return v;
    if (Array.isArray(v) && v.length > 0 && v[0] !== "") return v[0];
  }
  return "";
}

export function basename(p: string): string {
  return p.replace(/^.*[\\/]/, "");
}

/** Where an alert came from, for the graph and tables: source host, else source IP. */
export function alertSource(a: Alert): string {
  return str(a.source_host) || str(a.source_ip) || "(unknown source)";
}

export function alertTarget(a: Alert): string {
  return str(a.target_host) || "(unknown target)";
}

export const SEVERITY_ORDER = ["informational", "low", "medium", "high", "critical"];

export function severityRank(s: unknown): number {
  const i = SEVERITY_ORDER.indexOf(str(s).toLowerCase());
  return i < 0 ? -1 : i;
}

/** Alert fields with a fixed place in the views; every other field is shown as it comes. */
export const KNOWN_ALERT_FIELDS = new Set([
  "variant",
  "severity",
  "confidence",
  "target_host",
  "source_ip",
  "source_host",
  "account",
  "loopback",
  "first_time",
  "last_time",
  "_rule_id",
  "_rule",
  "evidence",
  "explain",
]);
