/**
 * Sequence (correlation) rules inside an engine: each rule's sequence query (src/export/sequence-query.ts,
 * `compileSequenceRule`) runs over the loaded table and returns one row per incident (attribution,
 * classification, the incident model's fields, the evidence as `Computer/Channel#EventRecordID`). The
 * evidence events are then fetched from the engine by record id and each row becomes the correlation
 * engine's Alert: evidence items built by correlate's `toEvidence` with the step summaries of the rule,
 * the incident fields by correlate's `describeIncident`, and the alerts of all rules merged by
 * correlate's `createAlertMerger` (one incident, one alert, across rules), as a file scan does.
 *
 * What the query decides otherwise than the streaming engine (joins over the whole window, ...) is
 * listed in docs/export.md and docs/engines.md; the differential test pins each difference.
 */

import { toEvidence } from "../correlate/alert.js";
import { describeIncident } from "../correlate/incident.js";
import { type Alert, createAlertMerger, type EvidenceItem, type SequenceSpec } from "../correlate/index.js";
import { eventHost, fieldOf } from "../correlate/keys.js";
import { connectionOf, LocalAddressBook, peerOf } from "../correlate/network.js";
import { parseDuration } from "../correlate/schema.js";
import { type DerivedValues, defaultSummary, renderTemplate } from "../correlate/summary.js";
import type { FieldValue, FieldViewOptions, SplunkEvent } from "../events/fields.js";
import { compileSequenceRule } from "../export/index.js";
import { parseStepSearch } from "../export/query.js";
import { SQL_DIALECTS, searchToSql } from "../export/sql.js";
import { ExportError } from "../export/types.js";
import type { LoadedRule } from "../rules/loader.js";
import { compileSearchExpression } from "../spl/index.js";
import {
  fieldExpr,
  rangeFilter,
  storedFields,
  type TimeRange,
  toResultRow,
  wholeEventsQuery,
} from "./sql.js";
import type { Engine } from "./types.js";

const PLACEHOLDER = "__dcomhunt_sequence_source";

export interface SequenceInEngineOptions {
  fieldView: FieldViewOptions;
  range: TimeRange;
  /** `_raw` was loaded (evidence events carry it). */
  raw: boolean;
  /** `_fields` of a row (DuckDB MAP): the engine's decoder. */
  mapEntries: (v: unknown) => [string, string][];
  onSkip?: (rule: LoadedRule, reason: string) => void;
  /** Evidence records the query named but the table no longer holds (should not happen). */
  onMissing?: (rule: LoadedRule, evidenceId: string) => void;
}

/** One sequence query's row (SEQUENCE_COLUMNS). */
type IncidentRow = Record<string, unknown>;

/** The SQL of one sequence rule over the loaded table (the flat view of the columns it reads). */
export function sequenceEngineSql(rule: LoadedRule, engine: Engine, range: TimeRange): string {
  const dialect = engine.dialect;
  const d = SQL_DIALECTS[dialect];
  const q = compileSequenceRule(rule, { target: dialect, table: PLACEHOLDER });
  const projection = q.columns.map((c) => `${fieldExpr(dialect, c)} AS ${d.id(c)}`);
  // The correlation engine sets aside events without a time (counted as untimed): so does the query.
  const filter = rangeFilter(dialect, range).replace(/^\s*WHERE /, "");
  const t = d.id("_time");
  const where = `${t} IS NOT NULL${filter ? ` AND (${filter})` : ""}`;
  // Only the events some step matches (the query's first stage keeps no other): the engine skips the
  // other events' field lookups.
  const target = `sql (${dialect})`;
  const spec = rule.sequence as unknown as SequenceSpec;
  const steps = spec.steps.map((s) => {
    const expr = parseStepSearch(rule, target, s.search, `step '${s.name}'`);
    return expr ? `(${searchToSql(rule, expr, dialect, s.search, new Set())})` : "TRUE";
  });
  const source = `(\n  SELECT * FROM (\n  SELECT ${projection.join(", ")}\n  FROM ${d.id(engine.table)}\n  WHERE ${where}\n  ) AS ${d.id("dh_rows")}\n  WHERE ${steps.join(" OR ")}\n) AS ${d.id("events")}`;
  const from = `FROM ${d.id(PLACEHOLDER)}`;
  if (!q.text.includes(from)) throw new Error(`internal: sequence SQL without '${from}'`);
  return q.text.replaceAll(from, () => `FROM ${source}`).replace(/;\s*$/, "");
}

function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : String(v);
}

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(text);
  if (v && typeof v === "object" && Array.isArray((v as { items?: unknown[] }).items))
    return ((v as { items: unknown[] }).items ?? []).map(text);
  if (typeof v === "string" && v.startsWith("[")) return (JSON.parse(v) as unknown[]).map(text);
  return [];
}

/** `Computer/Channel#EventRecordID` of an event, as the sequence query writes evidence. */
function evidenceIdOf(ev: SplunkEvent): string {
  const f = (n: string) => fieldOf(ev, n);
  return `${f("Computer") ?? f("host") ?? ""}/${f("Channel") ?? ""}#${f("EventRecordID") ?? f("RecordNumber") ?? ""}`;
}

/** Fetch the events behind evidence ids from the engine, by record id (in chunks). */
async function fetchEvidence(
  engine: Engine,
  ids: Set<string>,
  opts: SequenceInEngineOptions,
): Promise<Map<string, SplunkEvent[]>> {
  const byId = new Map<string, SplunkEvent[]>();
  const recordIds = [...new Set([...ids].map((id) => id.slice(id.lastIndexOf("#") + 1)))].filter(Boolean);
  const d = SQL_DIALECTS[engine.dialect];
  for (let i = 0; i < recordIds.length; i += 500) {
    const chunk = recordIds.slice(i, i + 500);
    const q = wholeEventsQuery(
      engine.dialect,
      engine.table,
      `${d.id("_record_id")} IN (${chunk.map((x) => d.str(x)).join(", ")})`,
      opts.raw,
    );
    const res = await engine.query(q.sql);
    for (const r of res.rows) {
      const row = toResultRow(q, res.columns, r, storedFields(res.columns, r, opts.mapEntries));
      const fields = new Map<string, FieldValue>();
      let raw = "";
      let time: number | undefined;
      for (const [k, v] of row.fields) {
        if (k === "_raw") raw = String(v);
        else if (k === "_time") time = typeof v === "number" ? v : undefined;
        else fields.set(k, v as FieldValue);
      }
      const ev: SplunkEvent = { time, fields, raw: () => raw, event: row.event };
      const id = evidenceIdOf(ev);
      if (!ids.has(id)) continue;
      const at = byId.get(id);
      if (at) at.push(ev);
      else byId.set(id, [ev]);
    }
  }
  return byId;
}

interface RuleParts {
  rule: LoadedRule;
  spec: SequenceSpec;
  steps: {
    name: string;
    match: (ev: SplunkEvent) => boolean;
    summary?: string;
    side: "target" | "source";
    helper: boolean;
    after?: string[];
    start: boolean;
  }[];
}

function ruleParts(rule: LoadedRule, fieldView: FieldViewOptions): RuleParts {
  const spec = rule.sequence as unknown as SequenceSpec;
  const ctx = { fieldView, macros: rule.macros, lookupsDir: rule.lookupsDir, file: rule.file };
  return {
    rule,
    spec,
    steps: spec.steps.map((s) => ({
      name: s.name,
      match: compileSearchExpression(s.search, ctx),
      summary: s.summary,
      side: s.side ?? (spec.perspective === "source" ? "source" : "target"),
      helper: s.helper === true,
      after: s.after,
      start: s.start ?? true,
    })),
  };
}

function iso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** One query row -> the correlation engine's Alert (evidence from the fetched events). */
function toAlert(
  parts: RuleParts,
  row: IncidentRow,
  events: Map<string, SplunkEvent[]>,
  engineName: string,
  onMissing: (id: string) => void,
): Alert {
  const first = Number(row.first_time);
  const last = Number(row.last_time);
  const evidenceIds = list(row.evidence);
  const picked: { id: string; ev?: SplunkEvent; time: number; steps: string[] }[] = evidenceIds.map((id) => {
    const cands = events.get(id) ?? [];
    const ev =
      cands.find((e) => e.time !== undefined && e.time >= first - 0.001 && e.time <= last + 0.001) ??
      cands[0];
    if (!ev) onMissing(id);
    const steps = ev ? parts.steps.filter((s) => s.match(ev)).map((s) => s.name) : [];
    return { id, ev, time: ev?.time ?? first, steps };
  });
  // The query's gates, over the incident's evidence: an `after` step counts when the incident holds one
  // of those steps, a `start: false` step when it holds a step that may start one.
  const held = new Set(picked.flatMap((p) => p.steps));
  const byName = new Map(parts.steps.map((s) => [s.name, s]));
  const starts = parts.steps.some((s) => s.start && held.has(s.name));
  for (const p of picked) {
    const gated = p.steps.filter((n) => {
      const s = byName.get(n);
      if (!s) return false;
      if (s.after && !s.after.some((a) => held.has(a))) return false;
      return s.start || starts;
    });
    if (gated.length) p.steps = gated;
  }
  // The addresses each host owns, learned from the evidence (the engine learns them from every event).
  const book = new LocalAddressBook();
  for (const p of picked) if (p.ev) book.learn(eventHost(p.ev), p.ev);
  const evidence: EvidenceItem[] = [];
  const explain: string[] = [];
  for (const p of picked) {
    const ev = p.ev;
    if (!ev) {
      const [where, rid] = [p.id.slice(0, p.id.lastIndexOf("#")), p.id.slice(p.id.lastIndexOf("#") + 1)];
      const slash = where.indexOf("/");
      evidence.push({
        _file: "",
        _record_id: rid,
        _channel: where.slice(slash + 1),
        _computer: where.slice(0, slash),
        _time: iso(p.time),
        EventCode: "",
        summary: "(event not found in the engine)",
      });
      continue;
    }
    const host = eventHost(ev);
    const peer = peerOf(ev, host, book);
    const derived: DerivedValues = {
      peer_ip: peer.ip,
      peer_host: peer.host,
      local_ip: peer.local,
      host,
      conn: connectionOf(ev),
    };
    const steps = p.steps.map((n) => byName.get(n)).filter((s) => s !== undefined);
    const template = steps.map((s) => s.summary).find((s) => s !== undefined);
    const summary = (template && renderTemplate(template, ev, derived)) || defaultSummary(ev, derived);
    const helper = steps.length > 0 && steps.every((s) => s.helper);
    const item = toEvidence(
      ev,
      p.time,
      `[${p.steps.join("+")}] ${summary}${helper ? " (a helper of the server, not a payload)" : ""}`,
      [...p.steps],
    );
    item.side = steps.length === 0 || steps.some((s) => s.side === "target") ? "target" : "source";
    if (helper) item.helper = true;
    evidence.push(item);
    explain.push(
      `step ${p.steps.join("+")}: ${ev.event?.provenance.file ?? "?"}#${item._record_id} EventCode ${item.EventCode || "?"} at ${item._time}`,
    );
  }
  const loopback = text(row.loopback) === "true";
  const attribution = ["target_host", "source_ip", "source_host", "account"] as const;
  explain.push(`incident joined in ${engineName} by the rule's sequence query (docs/engines.md)`);
  for (const f of attribution) if (text(row[f])) explain.push(`${f} = ${text(row[f])}`);
  explain.push(
    loopback
      ? "loopback: no remote caller, or the caller is this host (severity lowered)"
      : `remote: lateral movement ${parts.spec.perspective === "source" ? `to ${text(row.target_host)}` : `from ${text(row.source_ip) || "a remote caller (address not logged)"}`}`,
  );
  const byOutcome = parts.spec.severity_by === "outcome";
  const outcome = text(row.outcome);
  const described = describeIncident({
    ruleId: parts.rule.id,
    rule: parts.rule.name,
    variant: text(row.variant),
    severity: text(row.severity),
    confidence: text(row.confidence),
    target_host: text(row.target_host),
    source_ip: text(row.source_ip),
    source_host: text(row.source_host),
    account: text(row.account),
    loopback,
    first_time: evidence.length && picked[0].ev ? Math.min(...picked.map((p) => p.time)) : first,
    last_time: evidence.length && picked[0].ev ? Math.max(...picked.map((p) => p.time)) : last,
    evidence,
    explain,
    outcome: outcome ? (outcome as Alert["outcome"]) : undefined,
    severity_by: byOutcome ? "outcome" : undefined,
  });
  explain.push(
    `incident: object ${described.object} (${described.objects?.join(", ")}), outcome ${described.outcome}, observed on ${described.observed_on}` +
      (byOutcome ? `, severity ${described.severity}/${described.confidence} by outcome` : ""),
  );
  return described;
}

export interface SequenceInEngineResult {
  /** Final alerts (merged across rules), in first_time order, with their rule. */
  alerts: { rule: LoadedRule; alert: Alert }[];
  skipped: { rule: LoadedRule; reason: string }[];
}

/** Run the sequence rules in the engine; alerts as a file scan gives them (after the cross-rule merge). */
export async function runSequenceRulesInEngine(
  engine: Engine,
  rules: LoadedRule[],
  opts: SequenceInEngineOptions,
): Promise<SequenceInEngineResult> {
  const skipped: SequenceInEngineResult["skipped"] = [];
  const ran: { parts: RuleParts; rows: IncidentRow[] }[] = [];
  for (const rule of rules) {
    let sql: string;
    try {
      sql = sequenceEngineSql(rule, engine, opts.range);
    } catch (err) {
      if (!(err instanceof ExportError)) throw err;
      const reason = err.message;
      skipped.push({ rule, reason });
      opts.onSkip?.(rule, reason);
      continue;
    }
    const res = await engine.query(sql);
    const rows = res.rows.map((r) => Object.fromEntries(res.columns.map((c, i) => [c, r[i]])));
    ran.push({ parts: ruleParts(rule, opts.fieldView), rows });
  }
  const ids = new Set(ran.flatMap((r) => r.rows.flatMap((row) => list(row.evidence))));
  const events = await fetchEvidence(engine, ids, opts);
  const ruleById = new Map(ran.map((r) => [r.parts.rule.id, r.parts.rule]));
  const specs = ran.map((r) => ({
    id: r.parts.rule.id,
    name: r.parts.rule.name,
    severity: r.parts.rule.severity,
    sequence: r.parts.spec,
  }));
  // The cross-rule merge as a file scan drives it: an engine closes an incident at the first event
  // past its first event + maxspan (the evidence events of all alerts stand for the stream here), the
  // alerts closed by one event come rule by rule in selection order, then the merger releases what the
  // stream time has left behind.
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const built = ran.flatMap(({ parts, rows }) =>
    rows.map((row) =>
      toAlert(parts, row, events, engine.description, (id) => opts.onMissing?.(parts.rule, id)),
    ),
  );
  const times = [...new Set(built.flatMap((a) => a.evidence.map((e) => Date.parse(e._time) / 1000)))].sort(
    (x, y) => x - y,
  );
  const nextTime = (t: number): number => {
    let [lo, hi] = [0, times.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    return lo < times.length ? times[lo] : Number.POSITIVE_INFINITY;
  };
  const arriving = built
    .map((a) => ({ a, at: nextTime(a.first_time + parseDuration(ruleSpec(ruleById, a.ruleId).maxspan)) }))
    .sort(
      (x, y) =>
        x.at - y.at ||
        (order.get(x.a.ruleId) ?? 0) - (order.get(y.a.ruleId) ?? 0) ||
        x.a.first_time - y.a.first_time,
    );
  const merger = createAlertMerger(specs);
  const out: Alert[] = [];
  for (let i = 0; i < arriving.length; i++) {
    merger.add([arriving[i].a]);
    const at = arriving[i].at;
    if (i + 1 < arriving.length && arriving[i + 1].at !== at && Number.isFinite(at))
      out.push(...merger.release(at));
  }
  out.push(...merger.flush());
  return {
    alerts: out.map((alert) => ({ rule: ruleById.get(alert.ruleId) as LoadedRule, alert })),
    skipped,
  };
}

function ruleSpec(byId: Map<string, LoadedRule>, id: string): SequenceSpec {
  return byId.get(id)?.sequence as unknown as SequenceSpec;
}
