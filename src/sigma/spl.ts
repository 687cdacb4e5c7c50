/**
 * Sigma conditions -> SPL AST. A detection that the `search` command can express exactly (wildcard
 * values with `*` only, exists, null, keywords) becomes one `search` whose logsource conjuncts the
 * planner pushes down into the readers. Anything else (regex, cidr, numeric comparison, fieldref, `?`
 * wildcards, a literal `*`) becomes `search <logsource> | where <eval>`, where the search-expressible
 * leaves are `searchmatch()` calls and the rest are eval functions (match, cidrmatch, tonumber).
 * Eval's three-valued logic is kept out of the way: every leaf is false, never null, on a missing field,
 * so `not` behaves as Sigma's.
 */
import type { Command, EvalExpr, Pipeline, SearchExpr, SearchValue } from "../spl/ast.js";
import { printSearchExpr, printSpl } from "../spl/printer.js";
import type { Cond, Match } from "./detection.js";
import type { MappedSource } from "./logsource.js";
import { type Pattern, patternHasWildcard, patternToRegex } from "./values.js";

const P = 0;

function sval(value: string, caseSensitive = false): SearchValue {
  return { raw: value, value, quoted: true, caseSensitive, term: false };
}
function compare(field: string, value: string, caseSensitive = false): SearchExpr {
  return { kind: "compare", pos: P, field, op: "=", ...sval(value, caseSensitive) };
}
function sAnd(items: SearchExpr[]): SearchExpr {
  return items.length === 1 ? items[0] : { kind: "and", pos: P, items };
}
function sOr(items: SearchExpr[]): SearchExpr {
  return items.length === 1 ? items[0] : { kind: "or", pos: P, items };
}
function sNot(expr: SearchExpr): SearchExpr {
  return { kind: "not", pos: P, expr };
}

/** A pattern as a search value: only when `*` is its only wildcard and no literal `*` is in its text. */
function searchPattern(p: Pattern): string | undefined {
  if (patternHasWildcard(p, "?")) return undefined;
  let out = "";
  for (const part of p) {
    if ("wild" in part) out += "*";
    else if (part.text.includes("*")) return undefined;
    else out += part.text;
  }
  return out;
}

function mapField(field: string, source: MappedSource): string {
  return source.fieldMap?.[field] ?? field;
}

/** A leaf as a search expression, or undefined when `search` cannot express it exactly. */
function searchLeaf(field: string | undefined, m: Match, source: MappedSource): SearchExpr | undefined {
  const f = field === undefined ? undefined : mapField(field, source);
  switch (m.t) {
    case "pattern": {
      const v = searchPattern(m.pattern);
      if (v === undefined) return undefined;
      if (f === undefined) return { kind: "term", pos: P, ...sval(v, m.cased) };
      return compare(f, v, m.cased);
    }
    case "exists":
      if (f === undefined) return undefined;
      return m.exists ? compare(f, "*") : sNot(compare(f, "*"));
    case "null":
      if (f === undefined) return undefined;
      return sOr([sNot(compare(f, "*")), compare(f, "")]);
    default:
      return undefined;
  }
}

/** The whole condition as a search expression, or undefined. */
export function toSearchExpr(c: Cond, source: MappedSource): SearchExpr | undefined {
  switch (c.k) {
    case "match":
      return searchLeaf(c.field, c.match, source);
    case "not": {
      const inner = toSearchExpr(c.item, source);
      return inner === undefined ? undefined : sNot(inner);
    }
    case "and":
    case "or": {
      const items = c.items.map((i) => toSearchExpr(i, source));
      if (items.some((i) => i === undefined)) return undefined;
      return c.k === "and" ? sAnd(items as SearchExpr[]) : sOr(items as SearchExpr[]);
    }
  }
}

const str = (value: string): EvalExpr => ({ kind: "string", pos: P, value });
const fld = (name: string): EvalExpr => ({ kind: "field", pos: P, name, quoted: false });
const call = (name: string, ...args: EvalExpr[]): EvalExpr => ({ kind: "call", pos: P, name, args });
const num = (n: number): EvalExpr => ({ kind: "number", pos: P, value: n, raw: String(n) });
function eAnd(items: EvalExpr[]): EvalExpr {
  return items.reduce((l, r) => ({ kind: "binary", pos: P, op: "AND", left: l, right: r }));
}
function eOr(items: EvalExpr[]): EvalExpr {
  return items.reduce((l, r) => ({ kind: "binary", pos: P, op: "OR", left: l, right: r }));
}
function eNot(expr: EvalExpr): EvalExpr {
  return { kind: "unary", pos: P, op: "NOT", expr };
}
/** searchmatch("<search>") for an expression `search` can say. */
export function searchmatch(e: SearchExpr): EvalExpr {
  return call("searchmatch", str(printSearchExpr(e)));
}

function evalLeaf(field: string | undefined, m: Match, source: MappedSource): EvalExpr {
  const s = searchLeaf(field, m, source);
  if (s !== undefined) return searchmatch(s);
  const f = field === undefined ? "_raw" : mapField(field, source);
  const present = call("isnotnull", fld(f));
  switch (m.t) {
    case "pattern": {
      const body = patternToRegex(m.pattern);
      const anchored = field === undefined ? body : `^${body}$`;
      return eAnd([present, call("match", fld(f), str(`${m.cased ? "" : "(?i)"}${anchored}`))]);
    }
    case "re":
      return eAnd([present, call("match", fld(f), str(m.flags ? `(?${m.flags})${m.re}` : m.re))]);
    case "cidr":
      return eAnd([present, call("cidrmatch", str(m.cidr), fld(f))]);
    case "cmp": {
      const n = call("tonumber", fld(f));
      return eAnd([call("isnotnull", n), { kind: "binary", pos: P, op: m.op, left: n, right: num(m.value) }]);
    }
    case "fieldref": {
      const g = mapField(m.other, source);
      const l = m.cased ? fld(f) : call("lower", fld(f));
      const r = m.cased ? fld(g) : call("lower", fld(g));
      return eAnd([
        present,
        call("isnotnull", fld(g)),
        { kind: "binary", pos: P, op: "==", left: l, right: r },
      ]);
    }
    case "exists":
      return m.exists ? present : call("isnull", fld(f));
    case "null":
      return eOr([
        call("isnull", fld(f)),
        { kind: "binary", pos: P, op: "==", left: fld(f), right: str("") },
      ]);
  }
}

export function toEvalExpr(c: Cond, source: MappedSource): EvalExpr {
  switch (c.k) {
    case "match":
      return evalLeaf(c.field, c.match, source);
    case "not":
      return eNot({ kind: "group", pos: P, expr: toEvalExpr(c.item, source) });
    case "and":
    case "or": {
      const items = c.items.map((i): EvalExpr => ({ kind: "group", pos: P, expr: toEvalExpr(i, source) }));
      return c.k === "and" ? eAnd(items) : eOr(items);
    }
  }
}

/** The logsource's own conditions for one source (channel and event ids). */
export function sourceExpr(source: MappedSource): SearchExpr | undefined {
  const items: SearchExpr[] = [];
  if (source.channel !== undefined) items.push(compare("Channel", source.channel));
  if (source.eventIDs?.length) items.push(sOr(source.eventIDs.map((id) => compare("EventCode", id))));
  return items.length ? sAnd(items) : undefined;
}

/** A source's conditions and a detection, together. */
function withSource(source: MappedSource, det: SearchExpr): SearchExpr {
  const s = sourceExpr(source);
  return s === undefined ? det : sAnd([s, det]);
}

/** Search for every event of the sources (`*` when one of them is any event). */
export function sourcesSearch(sources: MappedSource[]): SearchExpr {
  const exprs = sources.map(sourceExpr);
  if (exprs.some((e) => e === undefined)) return { kind: "term", pos: P, ...sval("*"), quoted: false };
  return sOr(exprs.map((e) => group(e as SearchExpr, sources.length > 1)));
}

/** A rule's detection over its sources as the leading commands of a pipeline. */
export function detectionCommands(cond: Cond, sources: MappedSource[]): Command[] {
  const searchable = sources.map((s) => toSearchExpr(cond, s));
  if (searchable.every((e) => e !== undefined)) {
    const perSource = sources.map((s, i) => withSource(s, searchable[i] as SearchExpr));
    return [{ name: "search", pos: P, expr: sOr(perSource.map((e) => group(e, sources.length > 1))) }];
  }
  return [
    { name: "search", pos: P, expr: sourcesSearch(sources) },
    { name: "where", pos: P, expr: ruleCondition(cond, sources) },
  ];
}

/** The rule's full condition (logsource included) as an eval expression. */
export function ruleCondition(cond: Cond, sources: MappedSource[]): EvalExpr {
  const perSource = sources.map((s) => {
    const src = sourceExpr(s);
    const det: EvalExpr = { kind: "group", pos: P, expr: toEvalExpr(cond, s) };
    return src === undefined ? det : eAnd([searchmatch(src), det]);
  });
  return eOr(perSource.map((expr): EvalExpr => ({ kind: "group", pos: P, expr })));
}

function group(e: SearchExpr, yes: boolean): SearchExpr {
  return yes ? { kind: "group", pos: P, expr: e } : e;
}

/** Print a pipeline made of commands (positions are given by re-parsing the text). */
export function printPipeline(commands: Command[], file: string): string {
  const p: Pipeline = { kind: "pipeline", commands, text: "", file };
  return printSpl(p);
}
