/**
 * A rule's exported SQL (src/export/sql.ts, unchanged) run over the loaded table: the query reads
 * `events` the flat table; the engine hands it a projection of the stored table with exactly the
 * columns the rule reads (`_fields` turned back into columns, NULL when absent), restricted to
 * --since/--until, plus the provenance columns a file scan prints. Rows come back as the SPL engine's
 * ResultRow, so report/ and tuning/ treat them like a file scan's.
 */
import type { FieldValue } from "../events/fields.js";
import type { WinEvent } from "../events/model.js";
import { analyzeSearchRule, outputColumns, referencedFields, type SearchQuery } from "../export/query.js";
import { SQL_DIALECTS, toSql } from "../export/sql.js";
import type { SqlDialect } from "../export/types.js";
import type { LoadedRule } from "../rules/loader.js";
import type { ResultRow } from "../spl/index.js";
import { COMMON_FIELDS, COMMON_SET, timeText } from "./schema.js";

const PLACEHOLDER = "__dcomhunt_source";
/** Provenance columns added to every query's output (stripped from the result fields). */
const P = {
  file: "__p_file",
  offset: "__p_offset",
  recordId: "__p_record_id",
  channel: "__p_channel",
  computer: "__p_computer",
  fields: "__p_fields",
  names: "__p_names",
  values: "__p_values",
  epoch: "__p_epoch",
} as const;
const P_SET: ReadonlySet<string> = new Set(Object.values(P));

export interface TimeRange {
  /** Epoch seconds, inclusive. */
  since?: number;
  /** Epoch seconds, exclusive. */
  until?: number;
}

export interface EngineQuery {
  rule?: LoadedRule;
  sql: string;
  /** The rule keeps every field (no `table`): rows rebuild the whole field view. */
  star: boolean;
  columns: string[] | undefined;
}

/** The stored column or `_fields` entry of a field, as an expression. */
export function fieldExpr(dialect: SqlDialect, name: string): string {
  const d = SQL_DIALECTS[dialect];
  if (COMMON_SET.has(name) || name === "_raw" || name === "_time") return d.id(name);
  if (dialect === "duckdb") return `"_fields"[${d.str(name)}]`;
  return `if(has(\`_names\`, ${d.str(name)}), \`_values\`[indexOf(\`_names\`, ${d.str(name)})], NULL)`;
}

function timeLiteral(dialect: SqlDialect, epoch: number): string {
  const text = timeText(epoch);
  return dialect === "duckdb" ? `TIMESTAMPTZ '${text}'` : `'${text}'`;
}

/** `WHERE` for --since/--until ("" when neither). */
export function rangeFilter(dialect: SqlDialect, range: TimeRange): string {
  const t = SQL_DIALECTS[dialect].id("_time");
  const where: string[] = [];
  if (range.since !== undefined) where.push(`${t} >= ${timeLiteral(dialect, range.since)}`);
  if (range.until !== undefined) where.push(`${t} < ${timeLiteral(dialect, range.until)}`);
  // Like a file scan: an event without a usable time is not cut by --since/--until.
  return where.length ? `\n  WHERE ${t} IS NULL OR (${where.join(" AND ")})` : "";
}

/** Events of the table inside the time range. */
export function countSql(dialect: SqlDialect, table: string, range: TimeRange): string {
  return `SELECT count(*) AS n FROM ${SQL_DIALECTS[dialect].id(table)}${rangeFilter(dialect, range)}`;
}

/** The query of one search rule over table `table` (the flat view of the stored events). */
export function engineQuery(
  rule: LoadedRule,
  dialect: SqlDialect,
  table: string,
  range: TimeRange,
  raw: boolean,
): EngineQuery {
  const d = SQL_DIALECTS[dialect];
  const q: SearchQuery = analyzeSearchRule(rule, `sql (${dialect}) engine`);
  const content = toSql(q, dialect, PLACEHOLDER).content.replace(/;\s*$/, "");
  const out = outputColumns(q);
  const star = out === undefined;
  const needed = new Set<string>(["_time", ...referencedFields(q)]);
  if (star) {
    for (const c of COMMON_FIELDS) needed.add(c);
    if (raw) needed.add("_raw");
  }
  const projection: string[] = [];
  for (const name of needed) {
    if (name === "_raw" && !raw)
      projection.push(
        `CAST(NULL AS ${dialect === "duckdb" ? "VARCHAR" : "Nullable(String)"}) AS ${d.id(name)}`,
      );
    else projection.push(`${fieldExpr(dialect, name)} AS ${d.id(name)}`);
  }
  projection.push(
    `${d.id("_file")} AS ${d.id(P.file)}`,
    `${d.id("_offset")} AS ${d.id(P.offset)}`,
    `${d.id("_record_id")} AS ${d.id(P.recordId)}`,
    `${d.id("_channel")} AS ${d.id(P.channel)}`,
    `${d.id("_computer")} AS ${d.id(P.computer)}`,
  );
  if (star) {
    if (dialect === "duckdb") projection.push(`${d.id("_fields")} AS ${d.id(P.fields)}`);
    else projection.push(`${d.id("_names")} AS ${d.id(P.names)}`, `${d.id("_values")} AS ${d.id(P.values)}`);
  }
  const filter = rangeFilter(dialect, range);
  const source = `FROM (\n  SELECT ${projection.join(",\n    ")}\n  FROM ${d.id(table)}${filter}\n) AS ${d.id("events")}`;
  const from = `FROM ${d.id(PLACEHOLDER)}`;
  const at = content.indexOf(from);
  if (at < 0) throw new Error(`internal: exported SQL without '${from}'`);
  // Provenance travels with every row; a `table` rule's explicit list gets it appended.
  const extra = star
    ? ""
    : `,\n  ${[P.file, P.offset, P.recordId, P.channel, P.computer].map((c) => d.id(c)).join(", ")}`;
  const sql = `${content.slice(0, at).replace(/\n$/, "")}${extra}\n${source}${content.slice(at + from.length)}`;
  return { rule, sql, star, columns: out };
}

/** A value as the engine returned it -> Splunk text (or the JSON text of a multivalue). */
function textOf(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === "string" ? v : String(v);
}

/** `_time` from the engine (Date from DuckDB, ISO text from ClickHouse) -> epoch seconds. */
function epochOf(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.getTime() / 1000;
  if (typeof v === "string") {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(v);
    if (!m) return undefined;
    const whole = Date.parse(`${m[1]}Z`) / 1000;
    return whole + (m[2] ? Number(`0.${m[2]}`) : 0);
  }
  if (typeof v === "number") return v;
  return undefined;
}

function parseMulti(text: string): FieldValue {
  if (text.startsWith('["')) {
    try {
      const parsed = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed;
    } catch {
      // a value that only looks like JSON
    }
  }
  return text;
}

/** One engine row -> a ResultRow with a minimal event carrying the provenance of a file scan. */
export function toResultRow(
  q: EngineQuery,
  columns: string[],
  row: unknown[],
  map?: [string, string][],
): ResultRow {
  const get = (name: string) => row[columns.indexOf(name)];
  const fields = new Map<string, FieldValue | number>();
  const time = columns.includes(P.epoch) ? epochOf(get(P.epoch)) : epochOf(get("_time"));
  if (q.star) {
    for (const c of COMMON_FIELDS) {
      const v = textOf(get(c));
      if (v !== undefined) fields.set(c, parseMulti(v));
    }
    for (const [k, v] of map ?? []) fields.set(k, parseMulti(v));
    if (time !== undefined) fields.set("_time", time);
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      if (fields.has(c) || P_SET.has(c) || c === "_raw" || c === "_time" || COMMON_SET.has(c)) continue;
      // Eval'd fields (stored fields are already in from `_fields`).
      if (map?.some(([k]) => k === c)) continue;
      const v = textOf(row[i]);
      if (v !== undefined) fields.set(c, v);
    }
    const raw = textOf(get("_raw"));
    if (raw !== undefined) fields.set("_raw", raw);
  } else {
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      if (P_SET.has(c)) continue;
      if (c === "_time") {
        if (time !== undefined) fields.set("_time", time);
        continue;
      }
      const v = textOf(row[i]);
      if (v !== undefined) fields.set(c, parseMulti(v));
    }
  }
  const event: WinEvent = {
    system: {
      eventID: textOf(get("EventCode")) ?? "",
      eventRecordID: textOf(get(P.recordId)) || undefined,
      channel: textOf(get(P.channel)) || undefined,
      computer: textOf(get(P.computer)) || undefined,
    },
    eventData: [],
    provenance: { file: textOf(get(P.file)) ?? "", format: "json", offset: undefined },
  };
  // flattenRow prints `offset ?? line`: keep the stored text as is.
  const off = textOf(get(P.offset));
  if (off !== undefined && off !== "") event.provenance.offset = Number(off);
  return q.star
    ? { fields: fields as ResultRow["fields"], event }
    : { fields: fields as ResultRow["fields"], columns: q.columns, event };
}

export const PROVENANCE_ALIASES = P;

/**
 * Whole events of the table chosen by `where` (an SQL condition over the stored columns), as
 * engineQuery gives a `*` rule's rows: every field, `_raw` when loaded, provenance.
 */
export function wholeEventsQuery(
  dialect: SqlDialect,
  table: string,
  where: string,
  raw: boolean,
): EngineQuery {
  const d = SQL_DIALECTS[dialect];
  const cols = ["_time", ...COMMON_FIELDS].map((c) => `${fieldExpr(dialect, c)} AS ${d.id(c)}`);
  // DuckDB hands TIMESTAMPTZ over as a Date (milliseconds): the epoch keeps the microseconds.
  if (dialect === "duckdb") cols.push(`epoch(${d.id("_time")}) AS ${d.id(P.epoch)}`);
  cols.push(
    raw
      ? `${d.id("_raw")} AS ${d.id("_raw")}`
      : `CAST(NULL AS ${dialect === "duckdb" ? "VARCHAR" : "Nullable(String)"}) AS ${d.id("_raw")}`,
    `${d.id("_file")} AS ${d.id(P.file)}`,
    `${d.id("_offset")} AS ${d.id(P.offset)}`,
    `${d.id("_record_id")} AS ${d.id(P.recordId)}`,
    `${d.id("_channel")} AS ${d.id(P.channel)}`,
    `${d.id("_computer")} AS ${d.id(P.computer)}`,
  );
  if (dialect === "duckdb") cols.push(`${d.id("_fields")} AS ${d.id(P.fields)}`);
  else cols.push(`${d.id("_names")} AS ${d.id(P.names)}`, `${d.id("_values")} AS ${d.id(P.values)}`);
  return {
    sql: `SELECT ${cols.join(", ")} FROM ${d.id(table)} WHERE ${where}`,
    star: true,
    columns: undefined,
  };
}

/** The `_fields` entries of an engine row (DuckDB MAP, ClickHouse names/values arrays). */
export function storedFields(
  columns: string[],
  row: unknown[],
  mapEntries: (v: unknown) => [string, string][],
): [string, string][] | undefined {
  const fieldsAt = columns.indexOf(P.fields);
  if (fieldsAt >= 0) return mapEntries(row[fieldsAt]);
  const namesAt = columns.indexOf(P.names);
  const valuesAt = columns.indexOf(P.values);
  if (namesAt < 0 || valuesAt < 0) return undefined;
  const names = row[namesAt] as string[];
  const values = row[valuesAt] as string[];
  return names.map((n, i) => [n, values[i]]);
}
