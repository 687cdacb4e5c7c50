/**
 * sort, and the planner's newest-first buffer.
 *
 * sort (spl-semantics §3): keys with `-`/`+`, auto/num/str/ip comparison, missing values last, the
 * default limit of 10,000 rows (`sort 0` = all). Ties keep search order (decision D-sort-ties) (newest first): when rows did
 * not arrive newest first, ties are broken by `_time` descending, then arrival, which is what a stable
 * sort over Splunk's newest-first stream gives. `sort N` keeps at most ~2N rows in memory.
 */
import type { SortCommand, SortKey } from "../ast.js";
import { getField, type Row, rowTime } from "../row.js";
import { type SpillContext, spillingSortOperator } from "../spill.js";
import { asNumber, compareAuto, firstScalar, type SplScalar, scalarToString } from "../values.js";
import { type Operator, pushAll } from "./operator.js";

export const DEFAULT_SORT_LIMIT = 10000;

export type RowComparator = (a: Row, b: Row) => number;

function ipKey(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m ? ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]) : undefined;
}

function compareTyped(a: SplScalar, b: SplScalar, type: SortKey["type"]): number {
  switch (type) {
    case "num": {
      const na = asNumber(a);
      const nb = asNumber(b);
      if (na !== undefined && nb !== undefined) return na - nb;
      // Non-numbers after numbers under num() (decision D-sort-num).
      if (na !== undefined) return -1;
      if (nb !== undefined) return 1;
      return compareAuto(a, b);
    }
    case "str": {
      const sa = scalarToString(a);
      const sb = scalarToString(b);
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    }
    case "ip": {
      const ia = ipKey(scalarToString(a));
      const ib = ipKey(scalarToString(b));
      if (ia !== undefined && ib !== undefined) return ia - ib;
      return compareAuto(a, b);
    }
    default:
      return compareAuto(a, b);
  }
}

/** Search order: newest first by the time the event arrived with, then arrival. */
export function newestFirst(a: Row, b: Row): number {
  const ta = a.searchTime ?? rowTime(a);
  const tb = b.searchTime ?? rowTime(b);
  if (ta !== tb) {
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    return tb - ta;
  }
  return a.seq - b.seq;
}

export function arrivalOrder(a: Row, b: Row): number {
  return a.seq - b.seq;
}

export function keyComparator(keys: SortKey[], reverse: boolean, tieBreak: RowComparator): RowComparator {
  return (a, b) => {
    for (const k of keys) {
      const va = firstScalar(getField(a, k.field));
      const vb = firstScalar(getField(b, k.field));
      let c: number;
      // Missing values sort last both ways (smallest when descending, largest when ascending).
      if (va === undefined || vb === undefined) {
        if (va === vb) continue;
        c = va === undefined ? 1 : -1;
        if (reverse) c = -c;
        return c;
      }
      c = compareTyped(va, vb, k.type);
      if (c !== 0) {
        if (k.desc) c = -c;
        if (reverse) c = -c;
        return c;
      }
    }
    // A trailing `desc` reverses the whole result, ties included (decision D-sort-desc).
    return reverse ? -tieBreak(a, b) : tieBreak(a, b);
  };
}

/** Keeps the best `limit` rows under `cmp` (all when limit is 0), then emits them in order. */
export function topRowsOperator(cmp: RowComparator, limit: number, next: Operator): Operator {
  let rows: Row[] = [];
  const trim = () => {
    rows.sort(cmp);
    if (limit > 0 && rows.length > limit) rows = rows.slice(0, limit);
  };
  return {
    push: (row) => {
      rows.push(row);
      if (limit > 0 && rows.length >= 2 * limit + 1024) trim();
      return true;
    },
    end: () => {
      trim();
      const out = rows;
      rows = [];
      pushAll(next, out);
      next.end();
    },
  };
}

/** `sort`; `sort 0` (every row) spills to disk past a bounded number of rows when `spill` is given. */
export function sortOperator(
  cmd: SortCommand,
  unorderedInput: boolean,
  next: Operator,
  spill?: SpillContext,
): Operator {
  const limit = cmd.limit ?? DEFAULT_SORT_LIMIT;
  const cmp = keyComparator(cmd.keys, cmd.reverse, unorderedInput ? newestFirst : arrivalOrder);
  if (limit === 0 && spill) return spillingSortOperator(cmp, next, spill);
  return topRowsOperator(cmp, limit, next);
}

/**
 * The planner's buffer that turns file order into Splunk's search order (newest first, stable). With
 * no limit it holds every row: given `spill`, past a bounded number it sorts on disk (spl/spill.ts).
 */
export function newestFirstOperator(limit: number, next: Operator, spill?: SpillContext): Operator {
  if (limit === 0 && spill) return spillingSortOperator(newestFirst, next, spill);
  return topRowsOperator(newestFirst, limit, next);
}
