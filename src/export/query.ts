/**
 * The exporters' view of a search rule: the SPL pipeline parsed once (the same parser as `scan`),
 * reduced to the subset every backend compiles from: a search filter, then post-search stages
 * (where, eval, table, sort, head) in order. Anything else is an ExportError naming the command.
 *
 * Like pySigma's rule AST: backends never re-parse text, they walk this tree.
 */
import type { LoadedRule } from "../rules/loader.js";
import type { EvalExpr, Pipeline, SearchExpr, SortKey } from "../spl/ast.js";
import { parseSearchOnly, parseSpl } from "../spl/parser.js";
import { ExportError, ruleLocation } from "./types.js";

export type PostStage =
  | { kind: "search"; pos: number; expr: SearchExpr }
  | { kind: "where"; pos: number; expr: EvalExpr }
  | { kind: "eval"; pos: number; assignments: { field: string; expr: EvalExpr }[] }
  | { kind: "table"; pos: number; fields: string[] }
  | { kind: "sort"; pos: number; keys: SortKey[]; limit: number; reverse: boolean }
  | { kind: "head"; pos: number; count: number };

export interface SearchQuery {
  rule: LoadedRule;
  pipeline: Pipeline;
  /** The search before the first pipe (and any `search` commands right after it), ANDed. */
  filter: SearchExpr | undefined;
  stages: PostStage[];
}

/** Splunk's default `sort` limit. */
export const SORT_DEFAULT_LIMIT = 10000;

/** Raises an ExportError at an SPL offset of the rule's search. */
export function failer(rule: LoadedRule, target: string, text: string) {
  return (pos: number | undefined, construct: string, reason: string): never => {
    throw new ExportError(rule.name, target, construct, reason, ruleLocation(rule, text, pos));
  };
}

/**
 * The keys of a `sort` a target exports with plain text order (KQL, ES|QL): those the table kept, and
 * each either `_time` or `str()` (Splunk's automatic numeric-or-text order per pair is not reproduced).
 */
export function textOrderSortKeys(
  keys: SortKey[],
  pos: number,
  visible: readonly string[] | undefined,
  fail: ReturnType<typeof failer>,
): SortKey[] {
  return keys
    .filter((k) => !visible || visible.includes(k.field))
    .map((k) => {
      if (k.field !== "_time" && k.type !== "str")
        fail(
          pos,
          `sort by '${k.field}'`,
          "Splunk's automatic numeric/text order is exported for _time only (use str())",
        );
      return k;
    });
}

function andOf(a: SearchExpr | undefined, b: SearchExpr | undefined): SearchExpr | undefined {
  if (!a) return b;
  if (!b) return a;
  return { kind: "and", pos: a.pos, items: [a, b] };
}

/** Parses a search rule into the exportable subset, or throws ExportError naming what is not. */
export function analyzeSearchRule(rule: LoadedRule, target: string): SearchQuery {
  if (rule.search === undefined) throw new ExportError(rule.name, target, "rule", "not a search rule");
  const pipeline = parseSpl(rule.search, { file: rule.file });
  const fail = failer(rule, target, pipeline.text);
  let filter: SearchExpr | undefined;
  const stages: PostStage[] = [];
  pipeline.commands.forEach((cmd, i) => {
    switch (cmd.name) {
      case "search":
        if (stages.length === 0) filter = andOf(filter, cmd.expr);
        else if (cmd.expr) stages.push({ kind: "search", pos: cmd.pos, expr: cmd.expr });
        return;
      case "where":
        stages.push({ kind: "where", pos: cmd.pos, expr: cmd.expr });
        return;
      case "eval":
        stages.push({ kind: "eval", pos: cmd.pos, assignments: cmd.assignments });
        return;
      case "table":
        for (const f of cmd.fields)
          if (f.includes("*")) fail(cmd.pos, `table field '${f}'`, "wildcard columns are not exported");
        stages.push({ kind: "table", pos: cmd.pos, fields: cmd.fields });
        return;
      case "sort":
        stages.push({
          kind: "sort",
          pos: cmd.pos,
          keys: cmd.keys,
          limit: cmd.limit ?? SORT_DEFAULT_LIMIT,
          reverse: cmd.reverse,
        });
        return;
      case "head":
        if (cmd.expr) fail(cmd.pos, "command 'head (expr)'", "only `head N` is exported");
        stages.push({ kind: "head", pos: cmd.pos, count: cmd.count });
        return;
      default:
        fail(
          cmd.pos,
          `command '${cmd.name}'`,
          `not in the exportable subset (search, where, eval, table, sort, head)${i === 0 ? "" : ""}`,
        );
    }
  });
  return { rule, pipeline, filter, stages };
}

/** A search expression of a sequence step (no pipes). */
export function parseStepSearch(
  rule: LoadedRule,
  target: string,
  text: string,
  where: string,
): SearchExpr | undefined {
  try {
    return parseSearchOnly(text, { file: `${rule.file} (${where})` });
  } catch (e) {
    throw new ExportError(rule.name, target, where, (e as Error).message.split("\n")[0]);
  }
}

/** Removes redundant groups so printers decide parentheses themselves. */
export function ungroup(e: SearchExpr): SearchExpr {
  return e.kind === "group" ? ungroup(e.expr) : e;
}

/** The top-level AND conjuncts of a search expression (groups removed). */
export function conjuncts(e: SearchExpr | undefined): SearchExpr[] {
  if (!e) return [];
  const u = ungroup(e);
  if (u.kind === "and") return u.items.flatMap(conjuncts);
  return [u];
}

/** Every field a search expression compares. */
export function searchFields(e: SearchExpr | undefined, out = new Set<string>()): Set<string> {
  if (!e) return out;
  switch (e.kind) {
    case "and":
    case "or":
      for (const i of e.items) searchFields(i, out);
      break;
    case "not":
    case "group":
      searchFields(e.expr, out);
      break;
    case "compare":
    case "in":
      out.add(e.field);
      break;
    case "term":
      out.add("_raw");
      break;
    case "time":
      out.add("_time");
      break;
  }
  return out;
}

/** Every field an eval expression reads. */
export function evalFields(e: EvalExpr, out = new Set<string>()): Set<string> {
  switch (e.kind) {
    case "field":
      out.add(e.name);
      break;
    case "binary":
      evalFields(e.left, out);
      evalFields(e.right, out);
      break;
    case "unary":
    case "group":
      evalFields(e.expr, out);
      break;
    case "call":
      for (const a of e.args) evalFields(a, out);
      break;
    case "in":
      evalFields(e.expr, out);
      for (const a of e.list) evalFields(a, out);
      break;
  }
  return out;
}

/** Fields of the event table a query reads (filter, stages and output), in first-use order. */
export function referencedFields(q: SearchQuery): string[] {
  const out = new Set<string>();
  searchFields(q.filter, out);
  const derived = new Set<string>();
  const addRead = (f: string) => {
    if (!derived.has(f)) out.add(f);
  };
  for (const st of q.stages) {
    if (st.kind === "search") for (const f of searchFields(st.expr)) addRead(f);
    else if (st.kind === "where") for (const f of evalFields(st.expr)) addRead(f);
    else if (st.kind === "eval") {
      for (const a of st.assignments) {
        for (const f of evalFields(a.expr)) addRead(f);
        derived.add(a.field);
      }
    } else if (st.kind === "table") for (const f of st.fields) addRead(f);
    else if (st.kind === "sort") for (const k of st.keys) addRead(k.field);
  }
  return [...out];
}

/** The output columns (last `table`), or undefined when the query keeps every field. */
export function outputColumns(q: SearchQuery): string[] | undefined {
  let cols: string[] | undefined;
  for (const st of q.stages) if (st.kind === "table") cols = st.fields;
  return cols;
}

/** A readable one-line summary of the post-search pipeline, for comments in targets that drop it. */
export function describeStages(q: SearchQuery): string {
  const text = q.pipeline.text;
  const pipes: string[] = [];
  for (const st of q.stages) {
    // The command's own text, up to the next pipe at top level: positions come from the parser.
    const start = st.pos;
    let end = text.length;
    let inQuote = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === "\\" && inQuote) {
        i++;
        continue;
      }
      if (c === '"') inQuote = !inQuote;
      if (c === "|" && !inQuote) {
        end = i;
        break;
      }
    }
    pipes.push(text.slice(start, end).replace(/\s+/g, " ").trim());
  }
  return pipes.map((p) => `| ${p}`).join(" ");
}

/** Splunk metadata and System fields that say where an event comes from (not what it says). */
export const SOURCE_FIELDS = new Set(["index", "sourcetype", "source", "Channel", "EventCode", "EventID"]);

export interface DataSource {
  /** Channel named by sourcetype/source/Channel conjuncts (e.g. Microsoft-Windows-Sysmon/Operational). */
  channel?: string;
  /** EventCode values allowed by a top-level conjunct (EventCode=1, or an OR/IN of them). */
  eventCodes?: string[];
  /** index value of a top-level conjunct. */
  index?: string;
  /** The top-level conjuncts consumed by the above. */
  consumed: SearchExpr[];
  /** The remaining conjuncts. */
  rest: SearchExpr[];
}

function exactValue(e: SearchExpr, fields: string[]): string | undefined {
  if (
    e.kind !== "compare" ||
    e.op !== "=" ||
    !fields.includes(e.field) ||
    e.value.includes("*") ||
    e.caseSensitive
  )
    return undefined;
  return e.value;
}

function eventCodesOf(e: SearchExpr): string[] | undefined {
  const u = ungroup(e);
  const one = exactValue(u, ["EventCode", "EventID"]);
  if (one !== undefined) return [one];
  if (
    u.kind === "in" &&
    (u.field === "EventCode" || u.field === "EventID") &&
    u.values.every((v) => !v.value.includes("*"))
  )
    return u.values.map((v) => v.value);
  if (u.kind === "or") {
    const all: string[] = [];
    for (const i of u.items) {
      const codes = eventCodesOf(i);
      if (!codes) return undefined;
      all.push(...codes);
    }
    return all;
  }
  return undefined;
}

/** Splits a filter into its data source (channel, event codes, index) and the rest. */
export function dataSourceOf(filter: SearchExpr | undefined): DataSource {
  const ds: DataSource = { consumed: [], rest: [] };
  for (const c of conjuncts(filter)) {
    const st = exactValue(c, ["sourcetype"]);
    const src = exactValue(c, ["source"]);
    const ch = exactValue(c, ["Channel"]);
    const idx = exactValue(c, ["index"]);
    const codes = eventCodesOf(c);
    let channel: string | undefined;
    if (st !== undefined && /^xmlwineventlog:/i.test(st)) channel = st.slice("XmlWinEventLog:".length);
    else if (src !== undefined && /^(xml)?wineventlog:/i.test(src)) channel = src.slice(src.indexOf(":") + 1);
    else if (ch !== undefined) channel = ch;
    if (
      channel !== undefined &&
      (ds.channel === undefined || ds.channel.toLowerCase() === channel.toLowerCase())
    ) {
      ds.channel = channel;
      ds.consumed.push(c);
    } else if (idx !== undefined && ds.index === undefined) {
      ds.index = idx;
      ds.consumed.push(c);
    } else if (codes && ds.eventCodes === undefined) {
      ds.eventCodes = codes;
      ds.consumed.push(c);
    } else ds.rest.push(c);
  }
  return ds;
}

export const SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational";
