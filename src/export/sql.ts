/**
 * SQL over the flat events table (docs/export.md): one row per event, one column per field of the
 * Splunk field view, every column a nullable string except `_time` (DuckDB: TIMESTAMPTZ; ClickHouse
 * 18.16, which has no sub-second DateTime: the ISO text `dcomhunt convert` writes, in UTC, whose
 * text order is time order). A field an event lacks is NULL.
 *
 * Semantics kept exactly (spl-semantics §1-2):
 * - search values: anchored, case-insensitive (`lower()` on both sides), `*` the only wildcard;
 *   a NULL column never matches; every search leaf is made two-valued (`COALESCE(.., FALSE)`) so that
 *   SQL's NOT NULL = NULL cannot turn Splunk's `NOT f=v` (true when f is absent) into false;
 *   `f!=v` = the column is not NULL and does not match.
 * - `< <= > >=`: numeric when the column text is a number (Splunk's looksNumeric), else text order.
 * - eval: Splunk's null logic is SQL's three-valued logic (AND/OR/NOT, case() skipping a NULL
 *   condition); ClickHouse 18.16's and()/or() are not three-valued, so they are spelled out.
 * - match() is case-sensitive RE2 in both engines (regexp_matches / match), like the SPL engine.
 * Multivalue fields are outside the flat table (one value per column): see docs/export.md.
 */

import type { LoadedRule } from "../rules/loader.js";
import type { EvalExpr, SearchCompare, SearchExpr, SearchValue } from "../spl/ast.js";
import { formatNumber } from "../spl/values.js";
import { failer, referencedFields, type SearchQuery } from "./query.js";
import type { SqlDialect } from "./types.js";
import { NUMERIC_RE, NUMERIC_RE2, shapeOf, termRegex, wildcardRegex } from "./wildcard.js";

interface Dialect {
  name: SqlDialect;
  str(s: string): string;
  id(name: string): string;
  lower(x: string): string;
  regex(x: string, re: string): string;
  /** NULL -> false. */
  two(x: string): string;
  isNull(x: string): string;
  notNull(x: string): string;
  t: string;
  f: string;
  nullBool: string;
  and3(a: string, b: string): string;
  or3(a: string, b: string): string;
  not3(a: string): string;
  concat(a: string, b: string): string;
  len(a: string): string;
  upper(a: string): string;
  /** Numeric value of a column known to hold numeric text. */
  toNumber(x: string): string;
  like(x: string, pattern: string): string;
}

const duckdb: Dialect = {
  name: "duckdb",
  str: (s) => `'${s.replace(/'/g, "''")}'`,
  id: (n) => `"${n.replace(/"/g, '""')}"`,
  lower: (x) => `lower(${x})`,
  upper: (x) => `upper(${x})`,
  regex: (x, re) => `regexp_matches(${x}, ${duckdb.str(re)})`,
  two: (x) => `COALESCE(${x}, FALSE)`,
  isNull: (x) => `${x} IS NULL`,
  notNull: (x) => `${x} IS NOT NULL`,
  t: "TRUE",
  f: "FALSE",
  nullBool: "CAST(NULL AS BOOLEAN)",
  and3: (a, b) => `(${a} AND ${b})`,
  or3: (a, b) => `(${a} OR ${b})`,
  not3: (a) => `(NOT ${a})`,
  concat: (a, b) => `(${a} || ${b})`,
  len: (a) => `length(${a})`,
  toNumber: (x) => `TRY_CAST(regexp_replace(${x}, '^\\s+|\\s+$', '', 'g') AS DOUBLE)`,
  like: (x, p) => `(${x} LIKE ${duckdb.str(p)})`,
};

const clickhouse: Dialect = {
  name: "clickhouse",
  str: (s) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`,
  id: (n) => `\`${n.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``,
  lower: (x) => `lowerUTF8(${x})`,
  upper: (x) => `upperUTF8(${x})`,
  regex: (x, re) => `match(${x}, ${clickhouse.str(re)})`,
  two: (x) => `ifNull(${x}, 0)`,
  isNull: (x) => `isNull(${x})`,
  notNull: (x) => `isNotNull(${x})`,
  t: "1",
  f: "0",
  nullBool: "CAST(NULL AS Nullable(UInt8))",
  // 18.16's and()/or() return NULL when any argument is NULL: spell out three-valued logic.
  and3: (a, b) =>
    `multiIf(ifNull(${a}, 1) = 0 OR ifNull(${b}, 1) = 0, 0, isNull(${a}) OR isNull(${b}), CAST(NULL AS Nullable(UInt8)), 1)`,
  or3: (a, b) =>
    `multiIf(ifNull(${a}, 0) = 1 OR ifNull(${b}, 0) = 1, 1, isNull(${a}) OR isNull(${b}), CAST(NULL AS Nullable(UInt8)), 0)`,
  not3: (a) => `not(${a})`,
  concat: (a, b) => `concat(${a}, ${b})`,
  len: (a) => `lengthUTF8(${a})`,
  toNumber: (x) => `toFloat64OrNull(replaceRegexpAll(${x}, '^\\\\s+|\\\\s+$', ''))`,
  like: (x, p) => `(${x} LIKE ${clickhouse.str(p)})`,
};

export const SQL_DIALECTS: Record<SqlDialect, Dialect> = { duckdb, clickhouse };

const ORDERED_SQL: Record<string, string> = {
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
  "=": "=",
  "==": "=",
  "!=": "<>",
};

export interface SqlExport {
  content: string;
  /** Columns of the events table the query reads (create them, NULL, when the data lacks them). */
  columns: string[];
}

type Fail = (pos: number, construct: string, reason: string) => never;

/** Search expressions as SQL conditions (two-valued: a NULL column never matches). */
function searchCompiler(
  d: Dialect,
  col: (name: string, pos: number, where: "search" | "eval") => string,
  fail: Fail,
): (e: SearchExpr) => string {
  const valueMatch = (c: string, v: SearchValue): string => {
    const shape = shapeOf(v.value);
    if (shape.kind === "any") return `(${d.notNull(c)})`;
    const subject = v.caseSensitive ? c : d.lower(c);
    const value = v.caseSensitive ? v.value : v.value.toLowerCase();
    if (shape.kind === "exact") return d.two(`${subject} = ${d.str(value)}`);
    if (d.name === "duckdb") {
      const like = value
        .split("*")
        .map((p) => p.replace(/[\\%_]/g, "\\$&"))
        .join("%");
      return d.two(`${subject} LIKE ${d.str(like)} ESCAPE '\\'`);
    }
    return d.two(d.regex(subject, wildcardRegex(value, true)));
  };
  const ordered = (c: string, e: SearchCompare): string => {
    const op = ORDERED_SQL[e.op];
    if (NUMERIC_RE.test(e.value)) {
      return d.two(
        `CASE WHEN ${d.regex(c, NUMERIC_RE2)} THEN ${d.toNumber(c)} ${op} ${formatNumber(Number(e.value))} ELSE ${c} ${op} ${d.str(e.value)} END`,
      );
    }
    return d.two(`${c} ${op} ${d.str(e.value)}`);
  };
  const search = (e: SearchExpr): string => {
    switch (e.kind) {
      case "group":
        return search(e.expr);
      case "and":
        return `(${e.items.map((i) => search(i)).join(" AND ")})`;
      case "or":
        return `(${e.items.map((i) => search(i)).join(" OR ")})`;
      case "not":
        return `(NOT ${search(e.expr)})`;
      case "compare": {
        if (e.field === "_time") fail(e.pos, "search on field '_time'", "use the scheduler's time range");
        const c = col(e.field, e.pos, "search");
        if (e.op === "=") return valueMatch(c, e);
        if (e.op === "!=") return `(${d.notNull(c)} AND NOT ${valueMatch(c, e)})`;
        return ordered(c, e);
      }
      case "in": {
        const c = col(e.field, e.pos, "search");
        return `(${e.values.map((v) => valueMatch(c, v)).join(" OR ")})`;
      }
      case "subsearch":
        return fail(e.pos, "subsearch", "its results are only known when the search runs");
      case "term": {
        // Lower both sides instead of (?i): see match() below for ClickHouse's case-sensitive pre-filter.
        const raw = col("_raw", e.pos, "search");
        if (e.caseSensitive) return d.two(d.regex(raw, termRegex(e.value, true)));
        return d.two(d.regex(d.lower(raw), termRegex(e.value.toLowerCase(), true)));
      }
      case "time":
        return fail(
          e.pos,
          `time modifier '${e.modifier}'`,
          "a time range belongs to the scheduler, not to the query",
        );
    }
  };
  return search;
}

/**
 * One search expression (e.g. a sequence step) as a SQL condition over the flat table; the columns it
 * reads are added to `used`.
 */
export function searchToSql(
  rule: LoadedRule,
  expr: SearchExpr,
  dialectName: SqlDialect,
  text: string,
  used: Set<string>,
): string {
  const d = SQL_DIALECTS[dialectName];
  const fail = failer(rule, `sql (${dialectName})`, text) as Fail;
  return searchCompiler(
    d,
    (name) => {
      used.add(name);
      return d.id(name);
    },
    fail,
  )(expr);
}

export function toSql(q: SearchQuery, dialectName: SqlDialect, table = "events"): SqlExport {
  const d = SQL_DIALECTS[dialectName];
  const target = `sql (${dialectName})`;
  const fail = failer(q.rule, target, q.pipeline.text);

  /** Derived (eval) fields by name; fields removed by `table` map to NULL. */
  const env = new Map<string, string>();
  let visible: Set<string> | undefined;
  const col = (name: string, pos: number, where: "search" | "eval"): string => {
    if (visible && !visible.has(name)) return "NULL";
    const derived = env.get(name);
    if (derived !== undefined) return derived;
    if (name === "_time" && where === "eval")
      fail(pos, "field '_time' in an eval expression", "epoch arithmetic on _time is not exported to SQL");
    return d.id(name);
  };

  const search = searchCompiler(d, col, fail);

  // ---- eval expressions (three-valued, like Splunk's null)
  const literalText = (e: EvalExpr): string | undefined =>
    e.kind === "string" ? e.value : e.kind === "number" ? formatNumber(e.value) : undefined;
  const compare = (e: Extract<EvalExpr, { kind: "binary" }>): string => {
    const op = ORDERED_SQL[e.op];
    const lit =
      literalText(e.right) !== undefined ? e.right : literalText(e.left) !== undefined ? e.left : undefined;
    const other = lit === e.right ? e.left : e.right;
    if (lit === undefined || literalText(other) !== undefined) {
      return fail(
        e.pos,
        `comparison '${e.op}' between two non-literals`,
        "only a field compared with a literal is exported",
      );
    }
    const text = literalText(lit) as string;
    const x = evalSql(other);
    const flipped = lit === e.left;
    const sqlOp = flipped ? ({ "<": ">", "<=": ">=", ">": "<", ">=": "<=" }[op] ?? op) : op;
    if (NUMERIC_RE.test(text)) {
      const n = lit.kind === "number" ? formatNumber(lit.value) : formatNumber(Number(text));
      return `CASE WHEN ${d.regex(x, NUMERIC_RE2)} THEN ${d.toNumber(x)} ${sqlOp} ${n} ELSE ${x} ${sqlOp} ${d.str(text)} END`;
    }
    return `(${x} ${sqlOp} ${d.str(text)})`;
  };
  const evalSql = (e: EvalExpr): string => {
    switch (e.kind) {
      case "string":
        return d.str(e.value);
      case "number":
        return e.raw;
      case "field":
        return col(e.name, e.pos, "eval");
      case "group":
        return evalSql(e.expr);
      case "unary":
        if (e.op === "NOT") return d.not3(evalSql(e.expr));
        return fail(e.pos, `unary '${e.op}'`, "arithmetic is not exported");
      case "in": {
        if (!e.list.every((x) => x.kind === "string" && !NUMERIC_RE.test(x.value))) {
          return fail(e.pos, "IN with numbers", "only lists of non-numeric strings are exported");
        }
        return `(${evalSql(e.expr)} IN (${e.list.map(evalSql).join(", ")}))`;
      }
      case "binary":
        switch (e.op) {
          case "AND":
            return d.and3(evalSql(e.left), evalSql(e.right));
          case "OR":
            return d.or3(evalSql(e.left), evalSql(e.right));
          case "=":
          case "==":
          case "!=":
          case "<":
          case "<=":
          case ">":
          case ">=":
            return compare(e);
          case "LIKE":
            return like(e.left, e.right, e.pos);
          case ".":
            if (e.left.kind === "number" || e.right.kind === "number")
              fail(e.pos, "'.' with a number", "number formatting differs");
            return d.concat(evalSql(e.left), evalSql(e.right));
          default:
            return fail(e.pos, `operator '${e.op}'`, "not exported to SQL");
        }
      case "call":
        return call(e);
    }
  };
  const like = (subject: EvalExpr, pattern: EvalExpr, pos: number): string => {
    if (pattern.kind !== "string")
      return fail(pos, "LIKE with a computed pattern", "only a string pattern is exported");
    if (d.name === "clickhouse" && pattern.value.includes("\\")) {
      return fail(
        pos,
        "LIKE pattern with a backslash",
        "ClickHouse's LIKE treats backslash as an escape; Splunk does not",
      );
    }
    return d.like(evalSql(subject), pattern.value);
  };
  const call = (e: Extract<EvalExpr, { kind: "call" }>): string => {
    const a = e.args;
    switch (e.name) {
      case "case": {
        const parts: string[] = [];
        for (let i = 0; i + 1 < a.length; i += 2)
          parts.push(`WHEN ${evalSql(a[i])} THEN ${evalSql(a[i + 1])}`);
        return `CASE ${parts.join(" ")} END`;
      }
      case "if":
        return `CASE WHEN ${evalSql(a[0])} THEN ${evalSql(a[1])} ELSE ${evalSql(a[2])} END`;
      case "true":
        return d.t;
      case "false":
        return d.f;
      case "null":
        return "NULL";
      case "isnull":
        return `(${d.isNull(evalSql(a[0]))})`;
      case "isnotnull":
        return `(${d.notNull(evalSql(a[0]))})`;
      case "match":
        if (a[1]?.kind !== "string")
          return fail(e.pos, "match() with a computed regex", "only a string regex is exported");
        if (d.name === "clickhouse" && /\(\?[a-zA-Z]*i/.test(a[1].value)) {
          // Measured: 18.16 pre-filters by the regex's required substring case-sensitively, so
          // match('...Explorer...', '(?i)explorer') is false there.
          return fail(
            e.pos,
            "match() with the (?i) flag",
            "ClickHouse 18.16 pre-filters regexes case-sensitively; use match(lower(x), ...)",
          );
        }
        return d.regex(evalSql(a[0]), a[1].value);
      case "like":
        return like(a[0], a[1], e.pos);
      case "lower":
        return d.lower(evalSql(a[0]));
      case "upper":
        return d.upper(evalSql(a[0]));
      case "len":
        return d.len(evalSql(a[0]));
      case "coalesce":
        return `COALESCE(${a.map(evalSql).join(", ")})`;
      default:
        return fail(e.pos, `eval function '${e.name}()'`, "not exported to SQL");
    }
  };

  // ---- stages
  const where: string[] = [];
  if (q.filter) where.push(search(q.filter));
  let columns: string[] | undefined;
  let order: string[] | undefined;
  let limit: number | undefined;
  for (const st of q.stages) {
    if ((st.kind === "search" || st.kind === "where") && (order !== undefined || limit !== undefined)) {
      fail(st.pos, `'${st.kind}' after sort/head`, "filtering a sorted, limited result is not exported");
    }
    switch (st.kind) {
      case "search":
        where.push(search(st.expr));
        break;
      case "where":
        where.push(d.two(evalSql(st.expr)));
        break;
      case "eval":
        for (const asg of st.assignments) {
          const expr = evalSql(asg.expr);
          env.set(asg.field, expr);
          if (visible) visible.add(asg.field);
          if (columns && !columns.includes(asg.field)) columns.push(asg.field);
        }
        break;
      case "table":
        columns = [...st.fields];
        visible = new Set(st.fields);
        break;
      case "sort": {
        const keys: string[] = [];
        for (const k of st.keys) {
          if (visible && !visible.has(k.field)) continue; // removed by table: missing everywhere, no order
          const desc = k.desc !== st.reverse;
          let expr: string;
          if (k.field === "_time" && !env.has("_time")) expr = d.id("_time");
          else if (k.type === "str") expr = col(k.field, st.pos, "search");
          else if (k.type === "num") {
            const c = col(k.field, st.pos, "search");
            expr = `CASE WHEN ${d.regex(c, NUMERIC_RE2)} THEN ${d.toNumber(c)} END`;
          } else {
            return fail(
              st.pos,
              `sort by '${k.field}'`,
              "Splunk's automatic numeric/text order is exported for _time only (use num() or str())",
            );
          }
          keys.push(`${expr} ${desc ? "DESC" : "ASC"} NULLS LAST`);
        }
        // Ties keep search order: newest first.
        if (!keys.some((k) => k.startsWith(`${d.id("_time")} `)))
          keys.push(`${d.id("_time")} DESC NULLS LAST`);
        order = keys;
        limit = st.limit === 0 ? limit : Math.min(limit ?? st.limit, st.limit);
        break;
      }
      case "head":
        order ??= [`${d.id("_time")} DESC NULLS LAST`];
        limit = Math.min(limit ?? st.count, st.count);
        break;
    }
  }
  // Without sort, Splunk returns results newest first.
  order ??= [`${d.id("_time")} DESC NULLS LAST`];

  const select = columns
    ? columns.map((c) => {
        const derived = env.get(c);
        return derived !== undefined ? `  ${derived} AS ${d.id(c)}` : `  ${d.id(c)}`;
      })
    : ["  *", ...[...env.entries()].map(([name, expr]) => `  ${expr} AS ${d.id(name)}`)];

  const rule = q.rule;
  const lines = [
    `-- ${rule.name}`,
    `-- id: ${rule.id}  version: ${rule.version}  severity: ${rule.severity}  ATT&CK: ${[...(rule.mitre.sub_technique ?? []), ...rule.mitre.technique].join(", ")}`,
    `-- Generated by dcomhunt export from the rule's SPL (${dialectName}); table '${table}' is the flat events table of docs/export.md.`,
    `-- Reads columns: ${referencedFields(q).join(", ")}`,
    "SELECT",
    select.join(",\n"),
    `FROM ${d.id(table)}`,
  ];
  if (where.length) lines.push(`WHERE ${where.join("\n  AND ")}`);
  lines.push(`ORDER BY ${order.join(", ")}`);
  if (limit !== undefined && limit > 0) lines.push(`LIMIT ${limit}`);
  return { content: `${lines.join("\n")};\n`, columns: referencedFields(q) };
}
