/**
 * Sequence (correlation) rules as one query that runs where the data lives: Splunk SPL (stats,
 * eventstats, streamstats) and SQL (DuckDB window functions). One compiler, generic over the
 * `sequence:` spec (src/correlate/schema.ts): a rule's YAML change flows through; nothing here names a
 * rule, a step or a field of the `dcom` pack.
 *
 * The query computes incidents in five stages, the same in every target:
 * 1. step rows: events matching any step, one flag per step (the step's search expression), the
 *    event's host (Computer/Hostname/host, case folded, short name), the derived values `$peer_ip`,
 *    `$peer_host`, `$local_ip`, `$conn` (src/correlate/network.ts without its learned address book)
 *    and every join key, normalized like the engine (trimmed, case folded, hex and decimal numbers
 *    as decimal text, null-like values dropped).
 * 2. windows: per host (rule scope `host`) or over all hosts (`global`), time ordered, a new window
 *    starts when the gap to the previous step row exceeds `maxspan`.
 * 3. incidents: inside a window, rows are joined through equal join-key values (keys bound to `$host`
 *    partition, they do not join), by label propagation: every row starts with its own number (rows
 *    without a join key: the window's first), then, key after key and twice over, takes the smallest
 *    number of the rows sharing its value of that key.
 * 4. gates: a row of a step with `after` counts only when its incident holds one of those steps; a
 *    `start: false` step only when its incident holds a step that may start one.
 * 5. alerts: one per incident holding every step of a `complete` alternative, with the engine's
 *    attribution (first candidate with a value, events in time order), loopback judgement,
 *    `classify` (first entry setting each attribute), severity lowered one level for loopback.
 *
 * Where this differs from the streaming engine (src/correlate/engine.ts) is listed in `leftOut` and in
 * docs/export.md ("Sequence rules as one query"), with the differential tests that measure it.
 */
import { readFileSync } from "node:fs";
import { OUTCOMES, severityFor } from "../correlate/incident.js";
import { DCOM_OBJECTS, GENERIC_VARIANTS } from "../correlate/objects.js";
import type { AttributionCandidate, ClassifyCondition, SequenceSpec } from "../correlate/schema.js";
import { parseDuration } from "../correlate/schema.js";
import type { LoadedRule } from "../rules/loader.js";
import { quoteEvalString } from "../spl/lexer.js";
import { formatNumber } from "../spl/values.js";
import { parseStepSearch } from "./query.js";
import { searchToSql } from "./sql.js";
import { ExportError, type SqlDialect } from "./types.js";

/** The output columns of a compiled sequence rule (the alert fields of `scan`'s json, evidence as lists). */
export const SEQUENCE_COLUMNS = [
  "rule_id",
  "rule",
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
  "object",
  "outcome",
  "observed_on",
  "evidence",
] as const;

export interface SequenceQuery {
  /** The query text (SPL or SQL), with a header comment naming what it leaves out. */
  text: string;
  /** What the engine does that this query does not (also in the header, and for the CLI's stderr). */
  leftOut: string[];
  /** Flat-table columns the query reads (SQL). */
  columns: string[];
}

const DERIVED = ["peer_ip", "peer_host", "local_ip", "conn", "host"] as const;
type Derived = (typeof DERIVED)[number];

// ------------------------------------------------------------------------------------------------
// Expression building blocks, one implementation per language

interface Lang {
  lit(s: string): string;
  num(n: number): string;
  field(name: string): string;
  nul: string;
  isNull(x: string): string;
  notNull(x: string): string;
  coalesce(xs: string[]): string;
  concat(xs: string[]): string;
  lower(x: string): string;
  trim(x: string): string;
  eq(a: string, b: string): string;
  and(xs: string[]): string;
  or(xs: string[]): string;
  not(x: string): string;
  iff(c: string, a: string, b: string): string;
  /** Regex test (RE2), null when x is null. */
  re(x: string, re: string): string;
  /** Capture group 1 of the first match of `re` (case-insensitive), null when none. */
  extract1(x: string, re: string): string;
  replaceRe(x: string, re: string, by: string): string;
  /** Decimal text of a hex number text (`0x` stripped by the caller). */
  hexToDec(x: string): string;
  decToDec(x: string): string;
  /** First dot-separated label. */
  firstLabel(x: string): string;
  /** Does the row match step i (a 0/1 flag column)? */
  flag(name: string): string;
  /** A condition that is false (not null) where `c` is null. */
  truthy(c: string): string;
  /** Numeric value of a text of digits. */
  toNum(x: string): string;
  /** Is x one of these texts (false for null)? Default: an OR of equalities. */
  oneOf?(x: string, values: string[]): string;
  f: string;
  t: string;
}

const splLang: Lang = {
  lit: (s) => quoteEvalString(s),
  num: (n) => formatNumber(n),
  field: (n) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? n : `'${n.replace(/'/g, "\\'")}'`),
  nul: "null()",
  isNull: (x) => `isnull(${x})`,
  notNull: (x) => `isnotnull(${x})`,
  coalesce: (xs) => (xs.length === 1 ? xs[0] : `coalesce(${xs.join(", ")})`),
  concat: (xs) => xs.join("."),
  lower: (x) => `lower(${x})`,
  trim: (x) => `trim(${x})`,
  eq: (a, b) => `${a}==${b}`,
  and: (xs) => (xs.length === 1 ? xs[0] : `(${xs.join(" AND ")})`),
  or: (xs) => (xs.length === 1 ? xs[0] : `(${xs.join(" OR ")})`),
  not: (x) => `NOT (${x})`,
  iff: (c, a, b) => `if(${c}, ${a}, ${b})`,
  re: (x, re) => `match(${x}, ${quoteEvalString(re)})`,
  extract1: (x, re) =>
    `if(match(${x}, ${quoteEvalString(`(?i)${re}`)}), replace(${x}, ${quoteEvalString(`(?i)^(?s:.*?)(?:${re})(?s:.*)$`)}, "\\1"), null())`,
  replaceRe: (x, re, by) => `replace(${x}, ${quoteEvalString(re)}, ${quoteEvalString(by)})`,
  hexToDec: (x) => `tostring(tonumber(${x}, 16))`,
  decToDec: (x) => `tostring(tonumber(${x}))`,
  firstLabel: (x) => `mvindex(split(${x}, "."), 0)`,
  flag: (n) => `${n}==1`,
  truthy: (c) => `if(${c}, true(), false())`,
  toNum: (x) => `tonumber(${x})`,
  f: "false()",
  t: "true()",
};

function sqlLang(dialect: SqlDialect): Lang {
  return dialect === "duckdb" ? duckLang : clickLang;
}

const duckStr = (s: string) => `'${s.replace(/'/g, "''")}'`;
const duckLang: Lang = {
  lit: duckStr,
  num: (n) => formatNumber(n),
  field: (n) => `"${n.replace(/"/g, '""')}"`,
  nul: "NULL",
  isNull: (x) => `(${x} IS NULL)`,
  notNull: (x) => `(${x} IS NOT NULL)`,
  coalesce: (xs) => (xs.length === 1 ? xs[0] : `COALESCE(${xs.join(", ")})`),
  concat: (xs) => `(${xs.join(" || ")})`,
  lower: (x) => `lower(${x})`,
  trim: (x) => `trim(${x})`,
  eq: (a, b) => `(${a} = ${b})`,
  and: (xs) => (xs.length === 1 ? xs[0] : `(${xs.join(" AND ")})`),
  or: (xs) => (xs.length === 1 ? xs[0] : `(${xs.join(" OR ")})`),
  not: (x) => `(NOT ${x})`,
  iff: (c, a, b) => `(CASE WHEN ${c} THEN ${a} ELSE ${b} END)`,
  re: (x, re) => `regexp_matches(${x}, ${duckStr(re)})`,
  extract1: (x, re) => `NULLIF(regexp_extract(${x}, ${duckStr(`(?i)${re}`)}, 1), '')`,
  replaceRe: (x, re, by) => `regexp_replace(${x}, ${duckStr(re)}, ${duckStr(by)}, 'g')`,
  hexToDec: (x) => `CAST(CAST(${duckStr("0x")} || ${x} AS UBIGINT) AS VARCHAR)`,
  decToDec: (x) => `CAST(CAST(${x} AS HUGEINT) AS VARCHAR)`,
  firstLabel: (x) => `split_part(${x}, '.', 1)`,
  flag: (n) => `(${n} = 1)`,
  truthy: (c) => `COALESCE(${c}, FALSE)`,
  toNum: (x) => `TRY_CAST(${x} AS BIGINT)`,
  f: "FALSE",
  t: "TRUE",
};

/**
 * ClickHouse 18.16 (../shared/reference/sql-scale-out.md §1.4), each choice measured on Debian's server:
 * - `if(c, NULL, <Nullable>)` yields a type that groupArray(tuple(..)) rejects ("Nullable(String) cannot
 *   be inside Nullable column"): conditionals are `multiIf`;
 * - `and()`/`or()` return NULL when any argument is NULL (`or(NULL, 1)` is NULL): every operand is
 *   made two-valued with ifNull(.., 0), which equals SQL's three-valued logic wherever a result here is
 *   used (a NULL is only ever read as false, and no NOT applies to a NULL of AND/OR);
 * - a regex with a leading `(?i)` is pre-filtered case-sensitively (match('Inbound', '(?i)inbound') is
 *   0): the flag is written as the group `(?i:...)`;
 * - no trim(), no numeric parse of hex text: regexes and unhex/reinterpretAsUInt64;
 * - decimal numbers lose their leading zeros by regex, exact at any length (DuckDB: HUGEINT).
 */
const clickStr = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const clickRe = (re: string) => (re.startsWith("(?i)") ? `(?i:${re.slice(4)})` : re);
const two = (x: string) => (/^[01]$/.test(x) ? x : `ifNull(${x}, 0)`);
const clickLang: Lang = {
  lit: clickStr,
  num: (n) => formatNumber(n),
  field: (n) => `\`${n.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``,
  nul: "NULL",
  isNull: (x) => `isNull(${x})`,
  notNull: (x) => `isNotNull(${x})`,
  coalesce: (xs) => (xs.length === 1 ? xs[0] : `coalesce(${xs.join(", ")})`),
  concat: (xs) => `concat(${xs.join(", ")})`,
  lower: (x) => `lowerUTF8(${x})`,
  trim: (x) => `replaceRegexpAll(${x}, '^\\\\s+|\\\\s+$', '')`,
  eq: (a, b) => `(${a} = ${b})`,
  and: (xs) => (xs.length === 1 ? xs[0] : `(${xs.map(two).join(" AND ")})`),
  or: (xs) => (xs.length === 1 ? xs[0] : `(${xs.map(two).join(" OR ")})`),
  not: (x) => `(NOT ${x})`,
  iff: (c, a, b) => `multiIf(${c}, ${a}, ${b})`,
  re: (x, re) => `match(${x}, ${clickStr(clickRe(re))})`,
  extract1: (x, re) => `nullIf(extract(${x}, ${clickStr(`(?i:${re})`)}), '')`,
  replaceRe: (x, re, by) =>
    `${re.startsWith("^") && !re.includes("|") ? "replaceRegexpOne" : "replaceRegexpAll"}(${x}, ${clickStr(clickRe(re))}, ${clickStr(by)})`,
  hexToDec: (x) => `toString(reinterpretAsUInt64(reverse(unhex(${x}))))`,
  decToDec: (x) => `replaceRegexpOne(${x}, '^0+([0-9])', '\\\\1')`,
  firstLabel: (x) => `extract(${x}, '^[^.]*')`,
  flag: (n) => `(${n} = 1)`,
  truthy: (c) => `ifNull(${c}, 0)`,
  toNum: (x) => `toInt64OrNull(${x})`,
  oneOf: (x, values) => `ifNull(has([${values.map(clickStr).join(", ")}], ${x}), 0)`,
  f: "0",
  t: "1",
};

// ------------------------------------------------------------------------------------------------
// The plan: everything the targets share, computed from the spec

interface PlanStep {
  name: string;
  index: number;
  search: string;
  flag: string;
  ok: string;
  keys: [string, string][];
  after?: string[];
  start: boolean;
  /** Whose logs the step reads (the step's `side`, else the rule's perspective). */
  side: "target" | "source";
}

interface Plan {
  rule: LoadedRule;
  spec: SequenceSpec;
  maxspan: number;
  steps: PlanStep[];
  /** Key names bound to `$host` in some step: partition keys, not join evidence. */
  hostKeys: Set<string>;
  /** Join keys (every other key name), in first-use order. */
  joinKeys: string[];
  complete: string[][];
  leftOut: string[];
}

/** Passes of label propagation over the join keys (forward, backward, forward). */
const ROUNDS = 3;
/** ClickHouse: levels of label propagation over all keys at once, with pointer jumping. */
const HOPS = 3;

const ATTRIBUTION_FIELDS = ["target_host", "source_ip", "source_host", "account"] as const;

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

function plan(rule: LoadedRule, target: string): Plan {
  const spec = rule.sequence as unknown as SequenceSpec;
  const steps: PlanStep[] = spec.steps.map((s, index) => {
    parseStepSearch(rule, target, s.search, `step '${s.name}'`);
    return {
      name: s.name,
      index,
      search: s.search.replace(/\s+/g, " ").trim(),
      flag: `dh_s_${safeName(s.name)}`,
      ok: `dh_ok_${safeName(s.name)}`,
      keys: Object.entries(s.keys ?? {}),
      after: s.after,
      start: s.start ?? true,
      side: s.side ?? (spec.perspective === "source" ? "source" : "target"),
    };
  });
  const hostKeys = new Set(steps.flatMap((s) => s.keys.filter(([, f]) => f === "$host").map(([k]) => k)));
  const joinKeys: string[] = [];
  for (const s of steps)
    for (const [k] of s.keys) if (!hostKeys.has(k) && !joinKeys.includes(k)) joinKeys.push(k);
  const leftOut = [
    "joins decided over the whole window whatever the order of the events (the engine joins an event to the partial matches open when it arrives; docs/export.md lists the effect)",
    "windows split at gaps longer than maxspan (the engine caps an incident's whole span at maxspan)",
    "$peer_ip/$local_ip decided without the engine's learned addresses of each host (its outbound connections)",
    "object ranked from the evidence's command lines, script blocks and server images (the query names the classify variant, else the first CLSID a 10016/10028 logged, else unknown)",
    "one incident per attempt across rules (scan merges the alerts of several rules sharing evidence or joining both ends)",
  ];
  if (spec.ordered) leftOut.push("ordered: true (step order)");
  if (spec.until?.length) leftOut.push("until (incidents closed early)");
  if (spec.steps.some((s) => s.max_events !== undefined)) leftOut.push("max_events");
  if (spec.steps.some((s) => s.summary !== undefined)) leftOut.push("evidence summaries");
  return {
    rule,
    spec,
    maxspan: parseDuration(spec.maxspan),
    steps,
    hostKeys,
    joinKeys,
    complete: spec.complete ?? [spec.steps.map((s) => s.name)],
    leftOut,
  };
}

// ------------------------------------------------------------------------------------------------
// Shared expressions

/** A value usable as an attribute/peer: not null, "" or "-". */
function usable(l: Lang, x: string): string {
  return l.and([l.notNull(x), l.not(l.or([l.eq(x, l.lit("")), l.eq(x, l.lit("-"))]))]);
}

function hostExpr(l: Lang): { raw: string; norm: (x: string) => string } {
  const raw = l.coalesce([l.field("Computer"), l.field("Hostname"), l.field("host"), l.lit("")]);
  const norm = (x: string) => {
    const h = l.lower(l.trim(x));
    return l.iff(
      l.or([l.re(h, "^\\d{1,3}(\\.\\d{1,3}){3}$"), l.re(h, ":"), l.re(h, "^\\.")]),
      h,
      l.firstLabel(h),
    );
  };
  return { raw, norm };
}

function isLoopback(l: Lang, x: string): string {
  const v = l.lower(l.trim(x));
  return l.or([
    l.re(v, "^127\\."),
    l.re(v, "^::ffff:127\\."),
    l.eq(v, l.lit("::1")),
    l.eq(v, l.lit("0:0:0:0:0:0:0:1")),
    l.eq(v, l.lit("localhost")),
    l.re(v, "^localhost "),
  ]);
}

/** The derived values of network.ts, as expressions over the row (dh_host already set). */
function derivedExprs(l: Lang): Record<Exclude<Derived, "host">, string> {
  const f = l.field;
  const code = f("EventCode");
  const sysmon3 = l.and([
    l.eq(code, l.lit("3")),
    l.or([
      l.eq(l.lower(f("Channel")), l.lit("microsoft-windows-sysmon/operational")),
      l.eq(l.lower(f("Name")), l.lit("microsoft-windows-sysmon")),
    ]),
  ]);
  const wfp = l.or(["5156", "5157", "5158"].map((c) => l.eq(code, l.lit(c))));
  const clean = (x: string) => l.iff(usable(l, x), l.replaceRe(x, "^(?i:::ffff:)", ""), l.nul);
  const cleanHost = (x: string) => l.iff(usable(l, x), x, l.nul);
  const host = hostExpr(l);
  const names = (h: string) => l.and([usable(l, h), l.eq(host.norm(h), "dh_host_col")]);
  const listenerSource = (sp: string, dp: string) =>
    l.truthy(
      l.and([l.re(sp, "^\\d+$"), l.re(dp, "^\\d+$"), `${l.toNum(sp)} < 49152`, `${l.toNum(dp)} >= 49152`]),
    );
  const initiated = l.eq(l.lower(l.coalesce([f("Initiated"), l.lit("")])), l.lit("true"));
  // Sysmon 3: the peer is the destination when the record was initiated here, names this host as
  // Source, or (not naming it as Destination) has the listening service port at the Source end.
  const sysPeerIsDst = l.or([
    initiated,
    names(f("SourceHostname")),
    l.and([
      l.not(l.truthy(names(f("DestinationHostname")))),
      listenerSource(f("SourcePort"), f("DestinationPort")),
    ]),
  ]);
  const inbound = l.re(l.coalesce([f("Direction"), l.lit("")]), "(?i)14592|inbound");
  const wfpPeerIsDst = l.or([l.not(inbound), listenerSource(f("SourcePort"), f("DestPort"))]);
  const sysDst = l.truthy(sysPeerIsDst);
  const wfpDst = l.truthy(wfpPeerIsDst);
  const peerIp = l.iff(
    sysmon3,
    l.iff(sysDst, clean(f("DestinationIp")), clean(f("SourceIp"))),
    l.iff(
      wfp,
      l.iff(wfpDst, clean(f("DestAddress")), clean(f("SourceAddress"))),
      clean(l.coalesce([f("IpAddress"), f("ClientAddress")])),
    ),
  );
  const peerHost = l.iff(
    sysmon3,
    l.iff(sysDst, cleanHost(f("DestinationHostname")), cleanHost(f("SourceHostname"))),
    l.iff(wfp, l.nul, cleanHost(f("WorkstationName"))),
  );
  const localIp = l.iff(
    sysmon3,
    l.iff(sysDst, clean(f("SourceIp")), clean(f("DestinationIp"))),
    l.iff(wfp, l.iff(wfpDst, clean(f("SourceAddress")), clean(f("DestAddress"))), l.nul),
  );
  const end = (ip: string, port: string) =>
    l.concat([l.replaceRe(l.lower(ip), "^::ffff:", ""), l.lit(":"), port]);
  const both = (a: string, ap: string, b: string, bp: string) =>
    l.iff(
      l.and([usable(l, a), usable(l, ap), usable(l, b), usable(l, bp)]),
      l.iff(
        `${end(a, ap)} <= ${end(b, bp)}`,
        l.concat([end(a, ap), l.lit("|"), end(b, bp)]),
        l.concat([end(b, bp), l.lit("|"), end(a, ap)]),
      ),
      l.nul,
    );
  const conn = l.iff(
    sysmon3,
    both(f("SourceIp"), f("SourcePort"), f("DestinationIp"), f("DestinationPort")),
    l.iff(wfp, both(f("SourceAddress"), f("SourcePort"), f("DestAddress"), f("DestPort")), l.nul),
  );
  return { peer_ip: peerIp, peer_host: peerHost, local_ip: localIp, conn };
}

/**
 * normalizeKeyValue (keys.ts) in three passes over a key column `c` (each reads the previous): trimmed
 * and case folded; `0x` hex and decimal numbers as decimal text; null-like values dropped.
 */
function normKeyPasses(l: Lang, c: string): [string, string, string] {
  const nulls = ["", "-", "0", "null", "n/a", "{00000000-0000-0000-0000-000000000000}"];
  return [
    l.lower(l.trim(c)),
    l.iff(
      l.re(c, "^0x[0-9a-f]+$"),
      l.hexToDec(l.replaceRe(c, "^0x", "")),
      l.iff(l.re(c, "^[0-9]+$"), l.decToDec(c), c),
    ),
    l.iff(l.oneOf ? l.oneOf(c, nulls) : l.or(nulls.map((z) => l.eq(c, l.lit(z)))), l.nul, c),
  ];
}

/** A key's raw value on a row of a step: a derived value, or the first of the fields present. */
function keyValueExpr(l: Lang, field: string): string {
  if (field.startsWith("$")) return `dh_${field.slice(1)}`;
  return l.coalesce(field.split("|").map((n) => l.field(n)));
}

/** Each join key's column: the raw value of the first matched step that carries the key. */
function keyColumns(l: Lang, p: Plan): [string, string][] {
  return p.joinKeys.map((k) => {
    const per = p.steps
      .filter((s) => s.keys.some(([n]) => n === k))
      .map((s) =>
        l.iff(l.flag(s.flag), keyValueExpr(l, s.keys.find(([n]) => n === k)?.[1] as string), l.nul),
      );
    return [`dh_k_${safeName(k)}`, l.coalesce(per)];
  });
}

/** An attribution candidate's value on one row (template or regex), trimmed like the engine. */
function candidateExpr(l: Lang, c: AttributionCandidate): string {
  let v: string;
  if (c.value !== undefined) {
    const parts: string[] = [];
    const refs: string[] = [];
    const re = /\{([A-Za-z_][A-Za-z0-9_.@-]*)\}|\$(peer_ip|peer_host|local_ip|host)\b/g;
    let last = 0;
    for (let m = re.exec(c.value); m; m = re.exec(c.value)) {
      if (m.index > last) parts.push(l.lit(c.value.slice(last, m.index)));
      const x = m[1] !== undefined ? l.field(m[1]) : `dh_${m[2]}`;
      const u = l.iff(usable(l, x), x, l.nul);
      refs.push(u);
      parts.push(l.coalesce([u, l.lit("")]));
      last = m.index + m[0].length;
    }
    if (last < c.value.length) parts.push(l.lit(c.value.slice(last)));
    const text = parts.length === 0 ? l.lit("") : parts.length === 1 ? parts[0] : l.concat(parts);
    // One reference and no other text: the (usable) value itself.
    if (refs.length === 1 && parts.length === 1) return refs[0];
    v = refs.length === 0 ? text : l.iff(l.or(refs.map((r) => l.notNull(r))), text, l.nul);
  } else {
    v = l.extract1(l.field(c.field as string), c.regex as string);
  }
  return v;
}

/** The engine's clean-up of an attribute value, in two passes over column `c`: trimmed of spaces and backslashes; `-` and empty dropped. */
function cleanPasses(l: Lang, c: string): [string, string] {
  return [
    l.replaceRe(l.trim(c), "^\\\\+|\\\\+$", ""),
    l.iff(l.or([l.eq(c, l.lit("")), l.eq(c, l.lit("-"))]), l.nul, c),
  ];
}

interface Columns {
  /** Per-row columns, in order (each may read the ones before). */
  rowCols: [string, string][];
  /** Aggregates: [name, kind, source column] */
  aggs: [string, "max" | "first" | "min", string][];
  /** Attribution columns, cleaned after rowCols (cleanPasses). */
  clean: string[];
}

/** Per-row attribution/classify columns and their aggregates. */
function alertColumns(l: Lang, p: Plan): Columns {
  const rowCols: [string, string][] = [];
  const aggs: Columns["aggs"] = [];
  const clean: string[] = [];
  const stepOk = new Map(p.steps.map((s) => [s.name, s.ok]));
  for (const field of ATTRIBUTION_FIELDS) {
    (p.spec.attribution?.[field] ?? []).forEach((c, i) => {
      const name = `dh_a_${field}_${i}`;
      const v = candidateExpr(l, c);
      rowCols.push([name, c.step ? l.iff(l.flag(stepOk.get(c.step) as string), v, l.nul) : v]);
      clean.push(name);
      aggs.push([name, "first", name]);
    });
  }
  (p.spec.classify ?? []).forEach((c, i) => {
    if (c.when?.search === undefined) return;
    const name = `dh_c_${i}`;
    const inSteps = c.when.in;
    const where = inSteps ? l.or(inSteps.map((s) => l.flag(stepOk.get(s) as string))) : undefined;
    const m = searchMatchExpr(l, p, c.when.search, `classify[${i}]`);
    rowCols.push([name, l.iff(where ? l.and([where, m]) : m, "1", "0")]);
    aggs.push([name, "max", name]);
  });
  for (const s of p.steps) aggs.push([`dh_has_${safeName(s.name)}`, "max", s.ok]);
  // The incident model's inputs (incident.ts): the side of each evidence row (target when one of the
  // steps it counts for reads the target's logs), the event codes that decide an inferred outcome, and
  // the object named by a CLSID/AppID DCOM logged (10016/10028 param4, else param5).
  const targetSteps = p.steps.filter((s) => s.side === "target");
  rowCols.push([
    "dh_tgt",
    targetSteps.length ? l.iff(l.or(targetSteps.map((s) => l.flag(s.ok))), "1", "0") : "0",
  ]);
  rowCols.push(["dh_src", l.iff(l.eq("dh_tgt", "1"), "0", "1")]);
  aggs.push(["dh_any_tgt", "max", "dh_tgt"], ["dh_any_src", "max", "dh_src"]);
  const code = l.coalesce([l.field("EventCode"), l.lit("")]);
  for (const c of ["10016", "10028", "5157"]) {
    rowCols.push([`dh_e${c}`, l.iff(l.eq(code, l.lit(c)), "1", "0")]);
    aggs.push([`dh_any_${c}`, "max", `dh_e${c}`]);
  }
  const guidObject = (x: string) => {
    const g = l.replaceRe(l.lower(l.trim(l.coalesce([x, l.lit("")]))), "[{}]", "");
    let e = l.nul;
    for (const o of [...DCOM_OBJECTS].reverse())
      for (const id of [...o.clsids, ...o.appIds].reverse())
        e = l.iff(l.eq(g, l.lit(id.replace(/[{}]/g, "").toLowerCase())), l.lit(o.name), e);
    return e;
  };
  rowCols.push([
    "dh_obj",
    l.iff(
      l.or([l.eq(code, l.lit("10016")), l.eq(code, l.lit("10028"))]),
      l.coalesce([guidObject(l.field("param4")), guidObject(l.field("param5"))]),
      l.nul,
    ),
  ]);
  aggs.push(["dh_obj0", "first", "dh_obj"]);
  return { rowCols, aggs, clean };
}

let searchSqlHook: ((p: Plan, text: string, where: string) => string) | undefined;

function searchMatchExpr(l: Lang, p: Plan, text: string, where: string): string {
  if (l === splLang) return `searchmatch(${quoteEvalString(text.replace(/\s+/g, " ").trim())})`;
  return (searchSqlHook as NonNullable<typeof searchSqlHook>)(p, text, where);
}

/** The final alert fields from the incident aggregates. */
function finalExprs(l: Lang, p: Plan): [string, string][] {
  const has = (s: string) => l.eq(`dh_has_${safeName(s)}`, "1");
  const out: [string, string][] = [];
  const attr = (field: (typeof ATTRIBUTION_FIELDS)[number]) =>
    (p.spec.attribution?.[field] ?? []).map((_, i) => `dh_a_${field}_${i}`);
  out.push(["target_host", l.coalesce([...attr("target_host"), "dh_target0"])]);
  for (const f of ["source_ip", "source_host", "account"] as const)
    out.push([f, l.coalesce([...attr(f), l.lit("")])]);
  let loop: string;
  if (p.spec.perspective === "source") {
    const t = l.lower(l.trim("target_host"));
    loop = l.or([
      l.eq(t, l.lit("")),
      l.eq(t, l.lit(".")),
      isLoopback(l, t),
      l.eq(t, "dh_self"),
      l.eq(l.firstLabel(t), "dh_self"),
    ]);
  } else {
    const remote = (p.spec.remote_steps ?? []).map(has);
    loop = l.iff(
      l.eq("source_ip", l.lit("")),
      remote.length ? l.not(l.or(remote)) : l.t,
      isLoopback(l, "source_ip"),
    );
  }
  out.push(["loopback", l.iff(loop, l.lit("true"), l.lit("false"))]);
  const cond = (w: ClassifyCondition | undefined, i: number): string => {
    if (!w) return l.t;
    const parts: string[] = [];
    if (w.steps) parts.push(...w.steps.map(has));
    if (w.any_steps) parts.push(l.or(w.any_steps.map(has)));
    if (w.absent) parts.push(...w.absent.map((s) => l.not(has(s))));
    if (w.remote !== undefined) parts.push(l.eq("loopback", l.lit(w.remote ? "false" : "true")));
    if (w.search !== undefined) parts.push(l.eq(`dh_c_${i}`, "1"));
    return parts.length ? l.and(parts) : l.t;
  };
  const pick = (attrName: "variant" | "severity" | "confidence", fallback: string) => {
    let e = l.lit(fallback);
    const entries = (p.spec.classify ?? [])
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c[attrName] !== undefined);
    for (const { c, i } of entries.reverse()) e = l.iff(cond(c.when, i), l.lit(c[attrName] as string), e);
    return e;
  };
  // The incident model: the object is the rule's variant unless that names no object (Failed-Attempt,
  // DCOM-Server ...), then the object of the first CLSID/AppID DCOM logged; variant = object.
  out.push(["dh_rule_variant", pick("variant", p.spec.variant ?? "DCOM")]);
  out.push([
    "object",
    l.iff(
      l.or([...GENERIC_VARIANTS].map((g) => l.eq("dh_rule_variant", l.lit(g)))),
      l.coalesce(["dh_obj0", l.lit("unknown")]),
      "dh_rule_variant",
    ),
  ]);
  out.push(["variant", "object"]);
  const one = (x: string) => l.eq(x, "1");
  const inferred = l.iff(
    one("dh_any_tgt"),
    l.iff(
      one("dh_any_10016"),
      l.lit("denied"),
      l.iff(one("dh_any_5157"), l.lit("blocked"), l.lit("activated")),
    ),
    l.iff(one("dh_any_10028"), l.lit("unreachable"), l.lit("requested")),
  );
  let outcome = inferred;
  const withOutcome = (p.spec.classify ?? []).map((c, i) => ({ c, i })).filter(({ c }) => c.outcome);
  for (const { c, i } of withOutcome.reverse()) {
    const holds = cond(c.when, i);
    outcome = holds === l.t ? l.lit(c.outcome as string) : l.iff(holds, l.lit(c.outcome as string), outcome);
  }
  out.push(["outcome", outcome]);
  out.push([
    "observed_on",
    l.iff(
      l.and([one("dh_any_tgt"), one("dh_any_src")]),
      l.lit("both"),
      l.iff(one("dh_any_src"), l.lit("source"), l.lit("target")),
    ),
  ]);
  if (p.spec.severity_by === "outcome") {
    // incident.ts severityFor, tabulated: every (outcome, both or one side, loopback) case.
    const table = (attr: "severity" | "confidence") => {
      const byResult = new Map<string, string[]>();
      for (const o of OUTCOMES)
        for (const both of [true, false])
          for (const loop of [true, false]) {
            const v = severityFor(o, both ? "both" : "target", loop)[attr];
            const c = l.and([
              l.eq("outcome", l.lit(o)),
              both ? l.eq("observed_on", l.lit("both")) : l.not(l.eq("observed_on", l.lit("both"))),
              l.eq("loopback", l.lit(loop ? "true" : "false")),
            ]);
            byResult.set(v, [...(byResult.get(v) ?? []), c]);
          }
      let e = l.nul;
      for (const [v, cs] of [...byResult].reverse()) e = l.iff(l.or(cs), l.lit(v), e);
      return e;
    };
    out.push(["severity", table("severity")]);
    out.push(["confidence", table("confidence")]);
    return out;
  }
  const sev = pick("severity", p.rule.severity);
  const lowered = l.iff(
    l.eq(sev, l.lit("critical")),
    l.lit("high"),
    l.iff(l.eq(sev, l.lit("high")), l.lit("medium"), l.iff(l.eq(sev, l.lit("medium")), l.lit("low"), sev)),
  );
  out.push(["severity", l.iff(l.eq("loopback", l.lit("true")), lowered, sev)]);
  out.push(["confidence", pick("confidence", "medium")]);
  return out;
}

/** Does the row match a step with a `$host` key (it joins only rows of its own host)? */
function hostKeyedExpr(l: Lang, p: Plan): string {
  const steps = p.steps.filter((s) => s.keys.some(([, f]) => f === "$host"));
  return steps.length ? l.or(steps.map((s) => l.flag(s.flag))) : l.f;
}

function completeExpr(l: Lang, p: Plan): string {
  return l.or(p.complete.map((alt) => l.and(alt.map((s) => l.eq(`dh_has_${safeName(s)}`, "1")))));
}

function gateExprs(l: Lang, p: Plan): [string, string][] {
  const g = (s: string) => l.eq(`dh_g_${safeName(s)}`, "1");
  const starters = p.steps.filter((s) => s.start).map((s) => s.name);
  return p.steps.map((s) => {
    const parts = [l.flag(s.flag)];
    if (s.after) parts.push(l.or(s.after.map(g)));
    if (!s.start) parts.push(starters.length ? l.or(starters.map(g)) : l.f);
    return [s.ok, l.iff(l.and(parts), "1", "0")];
  });
}

// ------------------------------------------------------------------------------------------------
// SPL

function header(p: Plan, comment: (s: string) => string, what: string): string[] {
  const r = p.rule;
  return [
    comment(`${r.name}`),
    comment(
      `id: ${r.id}  version: ${r.version}  severity: ${r.severity}  ATT&CK: ${[...(r.mitre.sub_technique ?? []), ...r.mitre.technique].join(", ")}`,
    ),
    comment(`Generated by dcomhunt export from the rule's sequence spec (${what}).`),
    comment(
      "Output: one row per alert, the columns of dcomhunt's alerts; evidence = Computer/Channel#EventRecordID.",
    ),
    ...p.leftOut.map((x) => comment(`not kept: ${x}`)),
  ];
}

export function sequenceToSpl(rule: LoadedRule): SequenceQuery {
  const p = plan(rule, "splunk");
  const l = splLang;
  const host = hostExpr(l);
  const stages: string[] = [];
  stages.push(`search ${p.steps.map((s) => `(${s.search})`).join(" OR ")}`);
  stages.push(
    `eval ${p.steps.map((s) => `${s.flag}=if(searchmatch(${quoteEvalString(s.search)}), 1, 0)`).join(", ")}`,
  );
  stages.push(`eval dh_host=${l.lower(l.trim(host.raw))}`);
  stages.push(
    `eval dh_host=if(match(dh_host, "^\\d{1,3}(\\.\\d{1,3}){3}$") OR match(dh_host, ":") OR match(dh_host, "^\\."), dh_host, mvindex(split(dh_host, "."), 0))`,
  );
  const derived = derivedExprs(l);
  stages.push(
    `eval ${(["peer_ip", "peer_host", "local_ip", "conn"] as const)
      .map((d) => `dh_${d}=${derived[d].replaceAll("dh_host_col", "dh_host")}`)
      .join(", ")}`,
  );
  stages.push(
    `eval dh_rid=coalesce(EventRecordID, RecordNumber, ""), dh_ev=coalesce(Computer, host, "")."/".coalesce(Channel, "")."#".dh_rid`,
  );
  const keyCols = keyColumns(l, p);
  if (keyCols.length) {
    stages.push(`eval ${keyCols.map(([n, e]) => `${n}=${e}`).join(", ")}`);
    for (let pass = 0; pass < 3; pass++)
      stages.push(`eval ${keyCols.map(([n]) => `${n}=${normKeyPasses(l, n)[pass]}`).join(", ")}`);
  }
  const part = p.spec.scope === "global" ? `"*"` : "dh_host";
  stages.push(`eval dh_part=${part}`);
  stages.push("sort 0 _time");
  stages.push("streamstats current=f last(_time) as dh_prev by dh_part");
  stages.push(`eval dh_new=if(isnull(dh_prev) OR _time-dh_prev>${formatNumber(p.maxspan)}, 1, 0)`);
  stages.push("streamstats sum(dh_new) as dh_win by dh_part");
  stages.push("streamstats count as dh_seq");
  stages.push(`eval dh_wid=dh_part.":".dh_win`);
  const anyKey = keyCols.length ? l.or(keyCols.map(([n]) => l.notNull(n))) : l.f;
  const hostKeyed = hostKeyedExpr(l, p);
  stages.push(`eval dh_nokey=if(${anyKey}, 0, 1), dh_hub=dh_wid.if(${hostKeyed}, ":".dh_host, "")`);
  stages.push("eventstats max(dh_nokey) as dh_hubbed, min(dh_seq) as dh_hubfirst by dh_hub");
  stages.push(`eval dh_lab=if(dh_hubbed==1, dh_hubfirst, dh_seq)`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [n] of round % 2 ? [...keyCols].reverse() : keyCols) {
      const m = `dh_m_${round}_${n.slice(5)}`;
      stages.push(`eventstats min(dh_lab) as ${m} by dh_wid, ${n}`);
      stages.push(`eval dh_lab=if(isnotnull(${m}) AND ${m}<dh_lab, ${m}, dh_lab)`);
    }
  }
  // Rows without a join key follow their hub (window + host), whatever label its keyed rows reached.
  stages.push("eventstats min(dh_lab) as dh_hubmin by dh_hub");
  stages.push("eval dh_lab=if(dh_hubbed==1, dh_hubmin, dh_lab)");
  stages.push(`eval dh_inc=dh_wid.":".dh_lab`);
  stages.push(
    `eventstats ${p.steps.map((s) => `max(${s.flag}) as dh_g_${safeName(s.name)}`).join(", ")} by dh_inc`,
  );
  stages.push(
    `eval ${gateExprs(l, p)
      .map(([n, e]) => `${n}=${e}`)
      .join(", ")}`,
  );
  stages.push(`where ${p.steps.map((s) => `${s.ok}==1`).join(" OR ")}`);
  const cols = alertColumns(l, p);
  if (cols.rowCols.length) stages.push(`eval ${cols.rowCols.map(([n, e]) => `${n}=${e}`).join(", ")}`);
  for (let pass = 0; pass < 2 && cols.clean.length; pass++)
    stages.push(`eval ${cols.clean.map((n) => `${n}=${cleanPasses(l, n)[pass]}`).join(", ")}`);
  stages.push(`eval dh_target=coalesce(Computer, host)`);
  const aggs = [
    "min(_time) as first_time",
    "max(_time) as last_time",
    "list(dh_ev) as evidence",
    "first(dh_target) as dh_target0",
    "first(dh_host) as dh_self",
    ...cols.aggs.map(([n, k, src]) => `${k}(${src}) as ${n}`),
  ];
  stages.push(`stats ${aggs.join(", ")} by dh_inc`);
  stages.push(`where ${completeExpr(l, p)}`);
  const fin = finalExprs(l, p);
  for (const [n, e] of fin) stages.push(`eval ${n}=${e}`);
  stages.push(`eval rule_id=${quoteEvalString(rule.id)}, rule=${quoteEvalString(rule.name)}`);
  stages.push("sort 0 first_time");
  stages.push(`table ${SEQUENCE_COLUMNS.join(", ")}`);
  const text = `${header(p, (s) => `\`\`\` ${s.replace(/`/g, "'")} \`\`\``, "Splunk SPL").join("\n")}\n${stages.join("\n| ")}\n`;
  return { text, leftOut: p.leftOut, columns: [] };
}

// ------------------------------------------------------------------------------------------------
// SQL (DuckDB)

export function sequenceToSql(rule: LoadedRule, dialect: SqlDialect, table = "events"): SequenceQuery {
  if (dialect === "clickhouse") return sequenceToClickHouse(rule, table);
  const target = `sql (${dialect})`;
  const p = plan(rule, target);
  const l = sqlLang(dialect);
  const used = new Set<string>();
  const stepSql = (text: string, where: string) => {
    const expr = parseStepSearch(rule, target, text, where);
    if (!expr) throw new ExportError(rule.name, target, where, "an empty search");
    return searchToSql(rule, expr, dialect, text, used);
  };
  searchSqlHook = (_p, text, where) => stepSql(text, where);
  const host = hostExpr(l);
  const ctes: [string, string][] = [];
  const flags = p.steps.map((s) => [
    s.flag,
    `CASE WHEN ${stepSql(s.search, `step '${s.name}'`)} THEN 1 ELSE 0 END`,
  ]);
  ctes.push([
    "m",
    `SELECT *, ${flags.map(([n, e]) => `${e} AS ${n}`).join(",\n    ")}\n  FROM ${l.field(table)}`,
  ]);
  ctes.push([
    "h",
    `SELECT *, ${host.norm(host.raw)} AS dh_host FROM m WHERE ${p.steps.map((s) => `${s.flag} = 1`).join(" OR ")}`,
  ]);
  const derived = derivedExprs(l);
  ctes.push([
    "d",
    `SELECT *, ${(["peer_ip", "peer_host", "local_ip", "conn"] as const)
      .map((d) => `${derived[d].replaceAll("dh_host_col", "dh_host")} AS dh_${d}`)
      .join(",\n    ")},\n    COALESCE("EventRecordID", "RecordNumber", '') AS dh_rid FROM h`,
  ]);
  const keyCols = keyColumns(l, p);
  const part = p.spec.scope === "global" ? "'*'" : "dh_host";
  ctes.push([
    "k",
    `SELECT *, ${[...keyCols.map(([n, e]) => `${e} AS ${n}`), `${part} AS dh_part`, `COALESCE("Computer", "host", '') || '/' || COALESCE("Channel", '') || '#' || dh_rid AS dh_ev`, `epoch("_time") AS dh_t`].join(",\n    ")} FROM d`,
  ]);
  for (let pass = 0; pass < 3 && keyCols.length; pass++)
    ctes.push([
      `kn${pass}`,
      `SELECT * REPLACE (${keyCols.map(([n]) => `${normKeyPasses(l, n)[pass]} AS ${n}`).join(", ")}) FROM ${pass ? `kn${pass - 1}` : "k"}`,
    ]);
  ctes.push([
    "w",
    `SELECT *, CASE WHEN lag(dh_t) OVER (PARTITION BY dh_part ORDER BY dh_t, dh_ev) IS NULL OR dh_t - lag(dh_t) OVER (PARTITION BY dh_part ORDER BY dh_t, dh_ev) > ${formatNumber(p.maxspan)} THEN 1 ELSE 0 END AS dh_new FROM ${keyCols.length ? "kn2" : "k"}`,
  ]);
  ctes.push([
    "s",
    `SELECT *, dh_part || ':' || CAST(sum(dh_new) OVER (PARTITION BY dh_part ORDER BY dh_t, dh_ev ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS dh_wid, row_number() OVER (ORDER BY dh_t, dh_ev) AS dh_seq FROM w`,
  ]);
  const anyKey = keyCols.length ? l.or(keyCols.map(([n]) => l.notNull(n))) : l.f;
  ctes.push([
    "hb",
    `SELECT *, dh_wid || CASE WHEN ${hostKeyedExpr(l, p)} THEN ':' || dh_host ELSE '' END AS dh_hub, CASE WHEN ${anyKey} THEN 0 ELSE 1 END AS dh_nokey FROM s`,
  ]);
  ctes.push([
    "l0",
    `SELECT *, CASE WHEN max(dh_nokey) OVER (PARTITION BY dh_hub) = 1 THEN min(dh_seq) OVER (PARTITION BY dh_hub) ELSE dh_seq END AS dh_lab FROM hb`,
  ]);
  let prev = "l0";
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k] of round % 2 ? [...keyCols].reverse() : keyCols) {
      const name = `l${++n}`;
      ctes.push([
        name,
        `SELECT * REPLACE (CASE WHEN ${k} IS NULL THEN dh_lab ELSE least(dh_lab, min(dh_lab) OVER (PARTITION BY dh_wid, ${k})) END AS dh_lab) FROM ${prev}`,
      ]);
      prev = name;
    }
  }
  ctes.push([
    "lh",
    `SELECT * REPLACE (CASE WHEN max(dh_nokey) OVER (PARTITION BY dh_hub) = 1 THEN min(dh_lab) OVER (PARTITION BY dh_hub) ELSE dh_lab END AS dh_lab) FROM ${prev}`,
  ]);
  prev = "lh";
  ctes.push([
    "g",
    `SELECT *, ${p.steps.map((s) => `max(${s.flag}) OVER (PARTITION BY dh_wid, dh_lab) AS dh_g_${safeName(s.name)}`).join(",\n    ")} FROM ${prev}`,
  ]);
  ctes.push([
    "o",
    `SELECT *, ${gateExprs(l, p)
      .map(([nm, e]) => `${e} AS ${nm}`)
      .join(",\n    ")} FROM g`,
  ]);
  const cols = alertColumns(l, p);
  ctes.push([
    "r",
    `SELECT *${cols.rowCols.map(([nm, e]) => `,\n    ${e} AS ${nm}`).join("")},\n    COALESCE("Computer", "host") AS dh_target FROM o WHERE ${p.steps.map((s) => `${s.ok} = 1`).join(" OR ")}`,
  ]);
  let rows = "r";
  for (let pass = 0; pass < 2 && cols.clean.length; pass++) {
    ctes.push([
      `rc${pass}`,
      `SELECT * REPLACE (${cols.clean.map((n) => `${cleanPasses(l, n)[pass]} AS ${n}`).join(", ")}) FROM ${rows}`,
    ]);
    rows = `rc${pass}`;
  }
  const aggs = [
    "min(dh_t) AS first_time",
    "max(dh_t) AS last_time",
    "list(dh_ev ORDER BY dh_seq) AS evidence",
    "arg_min(dh_target, dh_seq) FILTER (WHERE dh_target IS NOT NULL) AS dh_target0",
    "arg_min(dh_host, dh_seq) AS dh_self",
    ...cols.aggs.map(([nm, kind, src]) =>
      kind === "first"
        ? `arg_min(${src}, dh_seq) FILTER (WHERE ${src} IS NOT NULL) AS ${nm}`
        : `${kind}(${src}) AS ${nm}`,
    ),
  ];
  ctes.push(["i", `SELECT ${aggs.join(",\n    ")}\n  FROM ${rows} GROUP BY dh_wid, dh_lab`]);
  ctes.push(["c", `SELECT * FROM i WHERE ${completeExpr(l, p)}`]);
  let last = "c";
  finalExprs(l, p).forEach(([nm, e], i) => {
    const name = `f${i}`;
    ctes.push([name, `SELECT *, ${e} AS ${nm} FROM ${last}`]);
    last = name;
  });
  const select = SEQUENCE_COLUMNS.map((c) =>
    c === "rule_id"
      ? `${l.lit(rule.id)} AS rule_id`
      : c === "rule"
        ? `${l.lit(rule.name)} AS rule`
        : l.field(c),
  );
  // DuckDB identifiers are case-insensitive: ProcessID and ProcessId are one column of the table.
  const seen = new Set<string>();
  const columns = ["_time", ...used, ...requiredColumns(p)].filter((c) => {
    const k = c.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const text = [
    ...header(p, (s) => `-- ${s}`, `${dialect}; table '${table}' is the flat events table of docs/export.md`),
    `-- Reads columns: ${columns.join(", ")}`,
    `WITH ${ctes.map(([nm, body]) => `${nm} AS MATERIALIZED (\n  ${body}\n)`).join(",\n")}`,
    `SELECT ${select.join(", ")}\nFROM ${last}\nORDER BY first_time, evidence;`,
    "",
  ].join("\n");
  return { text, leftOut: p.leftOut, columns };
}

// ------------------------------------------------------------------------------------------------
// SQL (ClickHouse 18.16: no window functions, no WITH subqueries, one JOIN per SELECT)

/**
 * The same stages as the DuckDB form, printed for ClickHouse 18.16, which has no window function: each
 * `agg() OVER (PARTITION BY keys)` becomes a GROUP BY of the keys that packs the rows into
 * `groupArray(tuple(...))` beside the aggregate and unpacks them again with ARRAY JOIN (one reading of
 * the rows below, no self-join: 18.16 has no CTE, so a subquery read twice would run twice); the gap
 * windows are `arraySort` + `arrayDifference` + `arrayCumSum` over each partition's rows. Lambdas read
 * only their own arguments (18.16 cannot capture a column in a lambda: "Unknown identifier").
 * `_time` is the ISO text of the flat table (no DateTime64 in 18.16): parsed to epoch seconds with
 * the fraction kept.
 */
function sequenceToClickHouse(rule: LoadedRule, table: string): SequenceQuery {
  const dialect = "clickhouse";
  const target = `sql (${dialect})`;
  const p = plan(rule, target);
  const l = clickLang;
  const id = l.field;
  const used = new Set<string>();
  const stepSql = (text: string, where: string) => {
    const expr = parseStepSearch(rule, target, text, where);
    if (!expr) throw new ExportError(rule.name, target, where, "an empty search");
    return searchToSql(rule, expr, dialect, text, used);
  };
  searchSqlHook = (_p, text, where) => stepSql(text, where);
  const host = hostExpr(l);
  const flags: [string, string][] = p.steps.map((s) => [
    s.flag,
    `multiIf(${stepSql(s.search, `step '${s.name}'`)}, 1, 0)`,
  ]);
  const alert = alertColumns(l, p);
  const fin = finalExprs(l, p);
  const columns = [...new Set(["_time", ...used, ...requiredColumns(p)])];

  let rel = "";
  let cols: string[] = [];
  // No indentation per level: the query nests ~30 deep, and 18.16 reads at most 256 KiB of text.
  const nest = (sql: string) => sql;
  /** New columns computed per row (each may read the columns before it, not the others). */
  const row = (pairs: [string, string][], where?: string) => {
    rel = `SELECT *,\n  ${pairs.map(([n, e]) => `${e} AS ${n}`).join(",\n  ")}\nFROM (\n${nest(rel)}\n)${where ? `\nWHERE ${where}` : ""}`;
    cols.push(...pairs.map(([n]) => n));
  };
  // 18.16 analyses a query's nested SELECTs once per SELECT above them: the query keeps few levels
  // (14 for the pack's rules). Inside a level an alias is expanded where it is used, so a level only
  // reads a few of its own aliases, never a chain of them.
  // 1. step rows: flags, host, derived values, keys (three levels)
  const filter = p.steps.map((s) => `${s.flag} = 1`).join(" OR ");
  rel = `SELECT ${columns.map(id).join(", ")},\n  ${[...flags, ["dh_host", host.norm(host.raw)]].map(([n, e]) => `${e} AS ${n}`).join(",\n  ")}\nFROM ${id(table)}\nWHERE ${filter}`;
  cols = [...columns, ...flags.map(([n]) => n), "dh_host"];
  const keyCols = keyColumns(l, p);
  const derivedUsed = (["peer_ip", "peer_host", "local_ip", "conn"] as const).filter((d) =>
    [...keyCols.map(([, e]) => e), ...alert.rowCols.map(([, e]) => e)].some((e) =>
      new RegExp(`\\bdh_${d}\\b`).test(e),
    ),
  );
  const derived = derivedExprs(l);
  const time = id("_time");
  row([
    ...derivedUsed.map((d): [string, string] => [`dh_${d}`, derived[d].replaceAll("dh_host_col", "dh_host")]),
    ["dh_part", p.spec.scope === "global" ? "'*'" : "dh_host"],
    [
      "dh_ev",
      `concat(coalesce(${id("Computer")}, ${id("host")}, ''), '/', coalesce(${id("Channel")}, ''), '#', coalesce(${id("EventRecordID")}, ${id("RecordNumber")}, ''))`,
    ],
    [
      "dh_t",
      `ifNull(toFloat64(toUInt32(parseDateTimeBestEffortOrNull(${time}))) + toFloat64OrZero(concat('0.', extract(ifNull(${time}, ''), '\\\\.([0-9]+)'))), 0)`,
    ],
  ]);
  if (keyCols.length) {
    // Two levels: each pass reads its input several times, and an alias is expanded where it is read.
    row(keyCols.map(([n, e]) => [`${n}__0`, normKeyPasses(l, `(${e})`)[0]]));
    row(keyCols.map(([n]) => [n, normKeyPasses(l, `(${normKeyPasses(l, `${n}__0`)[1]})`)[2]]));
  }

  // 2.-4. windows, incidents and gates over each partition's rows as arrays, in time order (then the
  // event's place). Labels are row numbers inside the partition.
  const later = [...alert.rowCols.map(([, e]) => e), id("Computer"), id("host")].join(" ");
  const carry = [
    "dh_t",
    "dh_ev",
    ...cols.filter(
      (c) =>
        c !== "dh_t" &&
        c !== "dh_ev" &&
        (p.steps.some((s) => s.flag === c) ||
          keyCols.some(([n]) => n === c) ||
          c === "dh_host" ||
          later.includes(id(c)) ||
          (c.startsWith("dh_") && new RegExp(`\\b${c}\\b`).test(later))),
    ),
  ];
  const at = (c: string) => carry.indexOf(c) + 1;
  const el = (c: string) => `tupleElement(x, ${at(c)})`;
  const hostKeyed = p.steps.filter((s) => s.keys.some(([, f]) => f === "$host"));
  const windows = `arrayCumSum(arrayMap((d, i) -> multiIf(i = 1 OR d > ${formatNumber(p.maxspan)}, 1, 0), arrayDifference(arrayMap(x -> ${el("dh_t")}, dh_a)), arrayEnumerate(dh_a)))`;
  // The hub of a row: its window and, for a step keyed on $host, its host. Keys join inside a window.
  const hub = `arrayMap((x, w) -> ifNull(concat(toString(w), '|', multiIf(${hostKeyed.length ? hostKeyed.map((s) => `${el(s.flag)} = 1`).join(" OR ") : "0"}, ${el("dh_host")}, '')), ''), dh_a, ${windows})`;
  const noKey = `arrayMap(x -> multiIf(${keyCols.length ? keyCols.map(([n]) => `isNull(${el(n)})`).join(" AND ") : "1"}, 1, 0), dh_a)`;
  const keyArr = (n: string) =>
    `arrayMap((x, w) -> ifNull(concat(toString(w), '|', ${el(n)}), ''), dh_a, ${windows})`;
  rel = `SELECT dh_part, arraySort(groupArray(tuple(${carry.map(id).join(", ")}))) AS dh_a,\n  ${hub} AS dh_H,\n  ${noKey} AS dh_NK${keyCols.map(([n], j) => `,\n  ${keyArr(n)} AS dh_K${j}`).join("")}\nFROM (\n${rel}\n)\nGROUP BY dh_part`;
  const level = (pairs: [string, string][]) => {
    rel = `SELECT *,\n  ${pairs.map(([n, e]) => `${e} AS ${n}`).join(",\n  ")}\nFROM (\n${rel}\n)`;
  };
  // 18.16 drops a subquery column that a level reads only inside a lambda ("Unknown identifier"):
  // each such column is named once outside the lambdas too.
  const reads = (e: string, names: string[]) => `tupleElement(tuple(${e}, ${names.join(", ")}), 1)`;
  // A hub holding a keyless row starts all its rows at the hub's first row (the keyless row joins
  // everything there); every other row at its own number.
  level([
    ["dh_HB", reads("arrayMap(h -> arrayExists((n, h2) -> n = 1 AND h2 = h, dh_NK, dh_H), dh_H)", ["dh_NK"])],
    [
      "dh_L0",
      reads(
        "arrayMap((b, h, i) -> multiIf(b, indexOf(dh_H, h), i), arrayMap(h -> arrayExists((n, h2) -> n = 1 AND h2 = h, dh_NK, dh_H), dh_H), dh_H, arrayEnumerate(dh_H))",
        ["dh_NK"],
      ),
    ],
  ]);
  // Connected rows: each level gives a row the smallest label among the rows sharing one of its key
  // values (a row without the key keeps its own), then the label its label's row has (pointer
  // jumping). HOPS levels reach the components of every incident of the test data (docs/export.md).
  let lab = "dh_L0";
  for (let h = 1; h <= HOPS && keyCols.length; h++) {
    let m = "v";
    keyCols.forEach((_, j) => {
      m = `least(${m}, multiIf(k${j} = '', v, arrayReduce('min', arrayFilter((v2, c) -> c = k${j}, ${lab}, dh_K${j}))))`;
    });
    const step = `arrayMap((v${keyCols.map((_, j) => `, k${j}`).join("")}) -> ${m}, ${lab}${keyCols.map((_, j) => `, dh_K${j}`).join("")})`;
    level([
      [
        `dh_L${h}`,
        reads(`arrayMap(x -> least(x, ${step}[x]), ${step})`, [lab, ...keyCols.map((_, j) => `dh_K${j}`)]),
      ],
    ]);
    lab = `dh_L${h}`;
  }
  // Rows without a join key follow their hub's smallest label.
  level([
    [
      "dh_LF",
      reads(
        `arrayMap((b, v, h) -> multiIf(b, arrayReduce('min', arrayFilter((v2, h2) -> h2 = h, ${lab}, dh_H)), v), dh_HB, ${lab}, dh_H)`,
        [lab, "dh_H"],
      ),
    ],
  ]);
  const gate = (s: PlanStep) =>
    `arrayMap(c -> arrayExists((x, l) -> l = c AND ${el(s.flag)} = 1, dh_a, dh_LF), dh_LF) AS dh_g_${safeName(s.name)}`;
  rel = `SELECT dh_part,\n  ${carry.map((c, i) => `tupleElement(dh_r, ${i + 1}) AS ${id(c)}`).join(",\n  ")},\n  dh_lab, dh_seq, ${p.steps.map((s) => `dh_g_${safeName(s.name)}`).join(", ")}\nFROM (\n${rel}\n)\nARRAY JOIN dh_a AS dh_r, dh_LF AS dh_lab, arrayEnumerate(dh_a) AS dh_seq, ${p.steps.map(gate).join(", ")}`;
  cols = ["dh_part", ...carry, "dh_lab", "dh_seq", ...p.steps.map((s) => `dh_g_${safeName(s.name)}`)];

  // 5. alerts: gates, the per-row values (cleaned), one row per incident, the alert fields
  row(
    [
      ...gateExprs(l, p),
      ...alert.rowCols,
      ...alert.clean.map((c): [string, string] => [
        `${c}__c`,
        cleanPasses(l, `(${cleanPasses(l, c)[0]})`)[1],
      ]),
      ["dh_target", `coalesce(${id("Computer")}, ${id("host")})`],
    ],
    p.steps.map((s) => `${s.ok} = 1`).join(" OR "),
  );
  const aggs = [
    "min(dh_t) AS first_time",
    "max(dh_t) AS last_time",
    "arrayMap(x -> tupleElement(x, 2), arraySort(groupArray(tuple(dh_seq, dh_ev)))) AS evidence",
    // argMin skips the rows where its argument is NULL (the first row that has a value).
    "argMin(dh_target, dh_seq) AS dh_target0",
    "argMin(dh_host, dh_seq) AS dh_self",
    ...alert.aggs.map(([nm, kind, src]) => {
      const c = alert.clean.includes(src) ? `${src}__c` : src;
      return kind === "first" ? `argMin(${c}, dh_seq) AS ${nm}` : `${kind}(${c}) AS ${nm}`;
    }),
  ];
  rel = `SELECT ${aggs.join(",\n  ")}\nFROM (\n${rel}\n)\nGROUP BY dh_part, dh_lab\nHAVING ${completeExpr(l, p)}`;
  // The alert fields: severity and confidence (which read outcome, observed_on, loopback many times)
  // in the outer SELECT, the others one level below it.
  const outer = new Map(fin.filter(([nm]) => nm === "severity" || nm === "confidence"));
  row(fin.filter(([nm]) => !outer.has(nm)));
  const select = SEQUENCE_COLUMNS.map((c) =>
    c === "rule_id"
      ? `${l.lit(rule.id)} AS rule_id`
      : c === "rule"
        ? `${l.lit(rule.name)} AS rule`
        : outer.has(c)
          ? `${outer.get(c)} AS ${c}`
          : id(c),
  );
  const text = [
    ...header(
      p,
      (s) => `-- ${s}`,
      `${dialect} 18.16; table '${table}' is the flat events table of docs/export.md`,
    ),
    `-- Reads columns: ${columns.join(", ")}`,
    `SELECT ${select.join(", ")}\nFROM (\n${nest(rel)}\n)\nORDER BY first_time, evidence;`,
    "",
  ].join("\n");
  return { text, leftOut: p.leftOut, columns };
}

/** file:line:col of the rule's `sequence:` block. */
export function sequenceLocation(rule: LoadedRule): string {
  try {
    const lines = readFileSync(rule.file, "utf8").split("\n");
    const i = lines.findIndex((x) => /^sequence:/.test(x));
    return i >= 0 ? `${rule.file}:${i + 1}:1` : rule.file;
  } catch {
    return rule.file;
  }
}

/** Columns the generic stages read besides the step searches. */
function requiredColumns(p: Plan): string[] {
  const out = new Set([
    "Computer",
    "Hostname",
    "host",
    "Channel",
    "Name",
    "EventCode",
    "EventRecordID",
    "RecordNumber",
    "Initiated",
    "SourceIp",
    "SourcePort",
    "SourceHostname",
    "DestinationIp",
    "DestinationPort",
    "DestinationHostname",
    "SourceAddress",
    "DestAddress",
    "DestPort",
    "Direction",
    "IpAddress",
    "ClientAddress",
    "WorkstationName",
    // The object of a CLSID/AppID DCOM logged (System 10016/10028).
    "param4",
    "param5",
  ]);
  for (const s of p.steps)
    for (const [, f] of s.keys) if (!f.startsWith("$")) for (const x of f.split("|")) out.add(x);
  for (const list of Object.values(p.spec.attribution ?? {}))
    for (const c of list ?? []) {
      if (c.field) out.add(c.field);
      for (const m of (c.value ?? "").matchAll(/\{([A-Za-z_][A-Za-z0-9_.@-]*)\}/g)) out.add(m[1]);
    }
  return [...out];
}
