/**
 * Shared by the sequence-export differential tests: the events (emulated estate + corpus), the engine's
 * rule-level alerts (`scan --rules dcom` without the cross-rule merge) and the exported query's rows, both
 * reduced to comparable incidents.
 */
import { writeFileSync } from "node:fs";
import { type Alert, runSequenceRules, type SequenceRule } from "../../src/correlate/index.js";
import type { ClickHouseEngine } from "../../src/engines/clickhouse.js";
import { COMMON_FIELDS, loadRow, SCHEMA_VERSION } from "../../src/engines/schema.js";
import { defaultFieldViewOptions, type SplunkEvent, toSplunkEvent } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import { compileSearch, compileSearchExpression, formatTimeIso } from "../../src/spl/index.js";

const view = { ...defaultFieldViewOptions, tz: "UTC" };

/** What the differential compares: the incident, not its rendering. */
export interface Incident {
  rule_id: string;
  variant: string;
  severity: string;
  confidence: string;
  target_host: string;
  source_ip: string;
  source_host: string;
  account: string;
  loopback: string;
  /** The incident model (src/correlate/incident.ts); variant = object. */
  object: string;
  outcome: string;
  observed_on: string;
  evidence: string[];
}

export function incidentKey(i: Incident): string {
  return JSON.stringify([
    i.rule_id,
    i.variant,
    i.severity,
    i.confidence,
    i.target_host,
    i.source_ip,
    i.source_host,
    i.account,
    i.loopback,
    i.object,
    i.outcome,
    i.observed_on,
    [...i.evidence].sort(),
  ]);
}

export function sortedEvents(events: WinEvent[]): SplunkEvent[] {
  const list = events.map((ev, i) => ({ se: toSplunkEvent(ev, view), i }));
  list.sort((a, b) => (a.se.time ?? 0) - (b.se.time ?? 0) || a.i - b.i);
  return list.map((x) => x.se);
}

export function asSequenceRule(rule: LoadedRule): SequenceRule {
  return {
    id: rule.id,
    name: rule.name,
    severity: rule.severity,
    sequence: rule.sequence as unknown as SequenceRule["sequence"],
  };
}

/** The engine's alerts of one rule (what `scan --rules dcom` reports before merging across rules). */
export async function engineIncidents(rule: LoadedRule, events: WinEvent[]): Promise<Incident[]> {
  const run = await runSequenceRules(
    [asSequenceRule(rule)],
    sortedEvents(events),
    {
      tz: "UTC",
      compilePredicate: (text) => compileSearchExpression(text, { fieldView: view, now: 0 }),
    },
    { mergeAcrossRules: false },
  );
  return run.alerts.map((a: Alert) => ({
    rule_id: a.ruleId,
    variant: a.variant,
    severity: a.severity,
    confidence: a.confidence,
    target_host: a.target_host,
    source_ip: a.source_ip,
    source_host: a.source_host,
    account: a.account,
    loopback: a.loopback ? "true" : "false",
    object: a.object ?? a.variant,
    outcome: a.outcome ?? "",
    observed_on: a.observed_on ?? "",
    evidence: a.evidence.map((e) => `${e._computer}/${e._channel}#${e._record_id}`),
  }));
}

/** Rows of an exported query (SPL engine or SQL engine) as incidents. */
export function rowIncident(row: Record<string, unknown>): Incident {
  const s = (k: string) => (row[k] === null || row[k] === undefined ? "" : String(row[k]));
  const ev = row.evidence;
  return {
    rule_id: s("rule_id"),
    variant: s("variant"),
    severity: s("severity"),
    confidence: s("confidence"),
    target_host: s("target_host"),
    source_ip: s("source_ip"),
    source_host: s("source_host"),
    account: s("account"),
    loopback: s("loopback"),
    object: s("object"),
    outcome: s("outcome"),
    observed_on: s("observed_on"),
    evidence: Array.isArray(ev) ? ev.map(String) : ev === undefined || ev === null ? [] : [String(ev)],
  };
}

/** The exported SPL run by dcomhunt's SPL engine (what `dcomhunt search --spl-file` runs). */
export async function splIncidents(spl: string, events: WinEvent[]): Promise<Incident[]> {
  const search = compileSearch(spl, { fieldView: view, now: Date.parse("2030-01-01T00:00:00Z") / 1000 });
  async function* source() {
    yield* sortedEvents(events);
  }
  const out: Incident[] = [];
  for await (const r of search.run(source())) out.push(rowIncident(Object.fromEntries(r.fields)));
  return out;
}

export interface Difference {
  side: "engine only" | "export only";
  incident: Incident;
}

export function differences(engine: Incident[], exported: Incident[]): Difference[] {
  const count = (list: Incident[]) => {
    const m = new Map<string, number>();
    for (const i of list) m.set(incidentKey(i), (m.get(incidentKey(i)) ?? 0) + 1);
    return m;
  };
  const a = count(engine);
  const b = count(exported);
  const out: Difference[] = [];
  for (const i of engine) {
    const k = incidentKey(i);
    if ((b.get(k) ?? 0) > 0) b.set(k, (b.get(k) ?? 0) - 1);
    else out.push({ side: "engine only", incident: i });
  }
  for (const i of exported) {
    const k = incidentKey(i);
    if ((a.get(k) ?? 0) > 0) a.set(k, (a.get(k) ?? 0) - 1);
    else out.push({ side: "export only", incident: i });
  }
  return out;
}

/**
 * The flat events table for the sequence queries: `dcomhunt convert --format ndjson`'s rows reduced to
 * `columns`; a column name that differs only in case (ProcessID/ProcessId: DuckDB folds identifier
 * case) takes the first spelling the event has.
 */
export function writeFlatTable(events: WinEvent[], columns: string[], file: string): number {
  const lines: string[] = [];
  for (const se of sortedEvents(events)) {
    const row: Record<string, unknown> = {};
    if (se.time !== undefined) row._time = formatTimeIso(se.time, "UTC");
    const byLower = new Map<string, string>();
    for (const k of se.fields.keys()) if (!byLower.has(k.toLowerCase())) byLower.set(k.toLowerCase(), k);
    for (const c of columns) {
      if (c === "_time") continue;
      const exact = se.fields.get(c);
      const v = exact !== undefined ? exact : se.fields.get(byLower.get(c.toLowerCase()) ?? c);
      if (v !== undefined) row[c] = Array.isArray(v) ? v[v.length - 1] : v;
    }
    lines.push(JSON.stringify(row));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  return lines.length;
}

/**
 * The events stored as `dcomhunt load --into clickhouse://` stores them (src/engines: loadRow and the
 * ClickHouse engine's table, EventData packed into `_names`/`_values`), in batches of 2,000 rows.
 */
export async function loadIntoClickHouse(
  engine: ClickHouseEngine,
  events: WinEvent[],
  /** Keep only these EventData/extra fields in `_names`/`_values` (the test's queries read no other). */
  fields?: ReadonlySet<string>,
): Promise<number> {
  const { tz: _tz, ...fieldView } = view;
  await engine.prepareLoad({ schema: SCHEMA_VERSION, fieldView, raw: false });
  let batch: Buffer[] = [];
  let seq = 0;
  // Like `load`: a batch whose connection broke is sent again; duplicates are removed at the end.
  const send = async (rows: Buffer[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await engine.insert(rows);
      } catch (err) {
        if (attempt === 3) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };
  for (const ev of events) {
    const row = loadRow(ev, toSplunkEvent(ev, view), false, seq++);
    if (fields) row.fields = row.fields.filter(([name]) => fields.has(name));
    batch.push(Buffer.from(`${engine.encode(row)}\n`));
    if (batch.length === 2000) {
      await send(batch);
      batch = [];
    }
  }
  if (batch.length) await send(batch);
  await engine.deduplicate();
  return seq;
}

/**
 * The flat events table over the loaded one, as `scan --engine` sees it: a view with one column per
 * field (a stored System column, else the `_fields` entry of that name, else NULL).
 */
export function flatViewSql(name: string, columns: string[]): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const id = (s: string) => `\`${s.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
  const common = new Set<string>([...COMMON_FIELDS, "_time", "_raw"]);
  const cols = columns.map((c) =>
    common.has(c)
      ? `${id(c)} AS ${id(c)}`
      : `if(has(_names, ${q(c)}), _values[indexOf(_names, ${q(c)})], NULL) AS ${id(c)}`,
  );
  return `CREATE VIEW ${id(name)} AS SELECT ${cols.join(", ")} FROM events`;
}
