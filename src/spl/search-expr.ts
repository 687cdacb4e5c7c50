/**
 * Evaluation of search expressions (spl-semantics §1) over rows.
 *
 * - `field=value`: the whole value against an anchored, case-insensitive pattern where `*` is the only
 *   wildcard; a multivalue field matches if any value does (§1.7, decision D-mv-search); a missing
 *   field never matches (§1.5).
 * - `field!=value`: the field exists and `field=value` is false (decision D-neq-mv); `NOT field=value`
 *   also keeps events without the field.
 * - `< <= > >=`: numeric when both sides are numbers, else lexicographic (§1.6).
 * - bare terms and phrases: matched in `_raw` as whole terms (decision D-terms).
 */
import { RE2JS } from "re2js";
import type { SearchExpr, SearchSubsearch, SearchValue } from "./ast.js";
import type { SourceText } from "./errors.js";
import { getField, type Row, rowTime } from "./row.js";
import { resolveTimeSpec } from "./time.js";
import { asNumber, type SplScalar, type SplValue, scalarToString } from "./values.js";
import { compileWildcard } from "./wildcard.js";

export interface SearchContext {
  src: SourceText;
  now: number;
  tz: string;
  /** What each `[subsearch]` of the expression stands for, once it has run. */
  subsearches?: Map<SearchSubsearch, RowPredicate>;
}

export type RowPredicate = (row: Row) => boolean;

function anyValue(v: SplValue, test: (s: string) => boolean): boolean {
  if (Array.isArray(v)) {
    for (const x of v) if (test(scalarToString(x))) return true;
    return false;
  }
  return test(typeof v === "string" ? v : scalarToString(v));
}

/** A matcher for one search value against a field's string value (`=` semantics). */
export function valueMatcher(v: SearchValue): (s: string) => boolean {
  return compileWildcard(v.value, v.caseSensitive);
}

function compareOrdered(a: SplScalar, b: string): number {
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  const sa = scalarToString(a);
  return sa < b ? -1 : sa > b ? 1 : 0;
}

/**
 * Bare terms (decision D-terms; TERM() uses the same bounds, decision D-term-directive): Splunk looks terms up in its index of segmented tokens, so `error` does not match
 * `errors`. We match the value in `_raw` where it is bounded by a non-alphanumeric character (a
 * breaker) or the text's edge; a `*` at an edge lifts that bound. Linear time (re2js).
 */
function termMatcher(v: SearchValue): (raw: string) => boolean {
  const parts = v.value.split("*").map((p) => RE2JS.quote(p));
  const body = parts.join("(?s:.*)");
  const left = v.value.startsWith("*") ? "" : "(?:^|[^\\p{L}\\p{N}])";
  const right = v.value.endsWith("*") ? "" : "(?:$|[^\\p{L}\\p{N}])";
  const re = RE2JS.compile(`${v.caseSensitive ? "" : "(?i)"}${left}${body}${right}`);
  return (raw) => re.test(raw);
}

export function compileSearchExpr(expr: SearchExpr | undefined, ctx: SearchContext): RowPredicate {
  if (expr === undefined) return () => true;
  switch (expr.kind) {
    case "subsearch": {
      const p = ctx.subsearches?.get(expr);
      if (!p) throw ctx.src.error(expr.pos, "a subsearch is only allowed in the search command");
      return p;
    }
    case "group":
      return compileSearchExpr(expr.expr, ctx);
    case "and": {
      const items = expr.items.map((e) => compileSearchExpr(e, ctx));
      return (row) => {
        for (const p of items) if (!p(row)) return false;
        return true;
      };
    }
    case "or": {
      const items = expr.items.map((e) => compileSearchExpr(e, ctx));
      return (row) => {
        for (const p of items) if (p(row)) return true;
        return false;
      };
    }
    case "not": {
      const inner = compileSearchExpr(expr.expr, ctx);
      return (row) => !inner(row);
    }
    case "compare": {
      const field = expr.field;
      if (expr.op === "=" || expr.op === "!=") {
        const m = valueMatcher(expr);
        if (expr.op === "=") {
          return (row) => {
            const v = getField(row, field);
            return v !== undefined && anyValue(v, m);
          };
        }
        return (row) => {
          const v = getField(row, field);
          return v !== undefined && !anyValue(v, m);
        };
      }
      const op = expr.op;
      const rhs = expr.value;
      return (row) => {
        const v = getField(row, field);
        if (v === undefined) return false;
        const list = Array.isArray(v) ? v : [v];
        return list.some((x) => {
          const c = compareOrdered(x, rhs);
          return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
        });
      };
    }
    case "in": {
      const field = expr.field;
      const ms = expr.values.map(valueMatcher);
      return (row) => {
        const v = getField(row, field);
        return v !== undefined && anyValue(v, (s) => ms.some((m) => m(s)));
      };
    }
    case "term": {
      // `search *` keeps every result, also rows without _raw (after stats); decision D-search-star.
      if (!expr.quoted && /^\*+$/.test(expr.value)) return () => true;
      const m = termMatcher(expr);
      return (row) => {
        const raw = getField(row, "_raw");
        return raw !== undefined && anyValue(raw, m);
      };
    }
    case "time": {
      const t = resolveTimeSpec(expr.value, ctx.now, ctx.tz);
      if (t === undefined)
        throw ctx.src.error(
          expr.pos,
          `bad time specifier '${expr.value}' (e.g. -24h@h, @d, now, 10/08/2020:11:00:00)`,
        );
      if (expr.modifier === "earliest") {
        return (row) => {
          const rt = rowTime(row);
          return rt !== undefined && rt >= t;
        };
      }
      return (row) => {
        const rt = rowTime(row);
        return rt !== undefined && rt < t;
      };
    }
  }
}
