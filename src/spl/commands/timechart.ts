/**
 * `timechart` (Search Reference, timechart): the aggregations per `_time` bucket, one column per value
 * of the BY field (`<agg>: <value>` when there are several aggregations). Series beyond `limit`
 * (default 10, ranked by the sum of the first aggregation) are merged into OTHER (useother=true),
 * results without the BY field into NULL (usenull=true); empty buckets between the first and last are
 * filled (cont=true) with 0 for count and dc. Without `span`, the smallest of 1s..1mon that gives at
 * most 100 buckets over the results' time range (decision D-timechart-span).
 */
import type { Aggregation, StatsCommand, TimechartCommand } from "../ast.js";
import { getField, type Row, rowTime } from "../row.js";
import type { SplValue } from "../values.js";
import { valueToStrings } from "../values.js";
import { binOperator } from "./bin.js";
import type { CommandContext, Operator } from "./operator.js";
import { aggregateName, statsOperator } from "./stats.js";

const AUTO_SPANS: [string, number][] = [
  ["1s", 1],
  ["5s", 5],
  ["10s", 10],
  ["30s", 30],
  ["1m", 60],
  ["5m", 300],
  ["10m", 600],
  ["30m", 1800],
  ["1h", 3600],
  ["1d", 86400],
  ["1w", 604800],
  ["1mon", 2592000],
];

const BY_FIELD = "\u0000series";

function flag(v: string | undefined, d: boolean): boolean {
  return v === undefined ? d : !["f", "false", "0", "no"].includes(v.toLowerCase());
}

export function timechartOperator(cmd: TimechartCommand, ctx: CommandContext, next: Operator): Operator {
  const limit =
    cmd.options.limit === undefined ? 10 : Number(cmd.options.limit.replace(/^(top|bottom)/i, ""));
  if (!Number.isInteger(limit) || limit < 0)
    throw ctx.src.error(cmd.pos, `bad timechart limit '${cmd.options.limit}'`);
  const useother = flag(cmd.options.useother, true);
  const usenull = flag(cmd.options.usenull, true);
  const cont = flag(cmd.options.cont, true);
  const otherstr = cmd.options.otherstr ?? "OTHER";
  const nullstr = cmd.options.nullstr ?? "NULL";
  const needed = new Set<string>(["_time"]);
  for (const a of cmd.aggregations) if (a.field !== undefined && !a.eval) needed.add(a.field);
  if (cmd.by) needed.add(cmd.by);
  const rows: Row[] = [];
  // Validate the span up front.
  if (cmd.span !== undefined)
    binOperator({ name: "bin", pos: cmd.pos, field: "_time", as: undefined, span: cmd.span }, ctx, {
      push: () => true,
      end: () => {},
    });

  const aggregate = (span: string, seriesOf: (row: Row) => string | undefined): Row[] => {
    const out: Row[] = [];
    const stats: StatsCommand = {
      name: "stats",
      pos: cmd.pos,
      aggregations: cmd.aggregations,
      by: cmd.by ? ["_time", BY_FIELD] : ["_time"],
      options: {},
    };
    const statsOp = statsOperator(stats, ctx, {
      push: (r) => {
        out.push(r);
        return true;
      },
      end: () => {},
    });
    const binOp = binOperator(
      { name: "bin", pos: cmd.pos, field: "_time", as: undefined, span },
      ctx,
      statsOp,
    );
    for (const r of rows) {
      const copy: Row = { ...r, fields: new Map(r.fields) };
      if (cmd.by) {
        const s = seriesOf(r);
        if (s === undefined) continue;
        copy.fields.set(BY_FIELD, s);
      }
      binOp.push(copy);
    }
    binOp.end();
    return out;
  };

  return {
    push: (row) => {
      const fields = new Map<string, SplValue>();
      for (const f of needed) {
        const v = getField(row, f);
        if (v !== undefined) fields.set(f, v);
      }
      // eval() aggregations read any field: keep the row whole then.
      rows.push(cmd.aggregations.some((a) => a.eval) ? row : { ...row, fields });
      return true;
    },
    end: () => {
      const times = rows.map(rowTime).filter((t): t is number => t !== undefined);
      let span = cmd.span;
      let spanSecs: number | undefined;
      if (span === undefined) {
        const range = times.length === 0 ? 0 : Math.max(...times) - Math.min(...times);
        const pick = AUTO_SPANS.find(([, s]) => range / s <= 100) ?? AUTO_SPANS[AUTO_SPANS.length - 1];
        [span, spanSecs] = pick;
      }
      const aggNames = cmd.aggregations.map((a: Aggregation) => aggregateName(a));
      const baseSeries = (r: Row): string | undefined => {
        const v = cmd.by ? getField(r, cmd.by) : undefined;
        if (v === undefined) return usenull ? nullstr : undefined;
        return valueToStrings(v)[0] ?? "";
      };
      let grouped = aggregate(span, baseSeries);
      let series: string[] = [];
      if (cmd.by) {
        const score = new Map<string, number>();
        for (const g of grouped) {
          const s = String(g.fields.get(BY_FIELD));
          const n = Number(g.fields.get(aggNames[0]));
          score.set(s, (score.get(s) ?? 0) + (Number.isFinite(n) ? n : 0));
        }
        series = [...score.keys()].sort(
          (a, b) => (score.get(b) ?? 0) - (score.get(a) ?? 0) || (a < b ? -1 : 1),
        );
        if (limit > 0 && series.length > limit) {
          const keep = new Set(series.slice(0, limit));
          series = series.slice(0, limit);
          if (useother) {
            series.push(otherstr);
            grouped = aggregate(span, (r) => {
              const s = baseSeries(r);
              return s === undefined ? undefined : keep.has(s) ? s : otherstr;
            });
          } else grouped = grouped.filter((g) => keep.has(String(g.fields.get(BY_FIELD))));
        }
      }
      const columns = cmd.by
        ? series.flatMap((s) => (aggNames.length === 1 ? [s] : aggNames.map((a) => `${a}: ${s}`)))
        : aggNames;
      const zero = new Set(
        cmd.aggregations
          .map((a, i) => (a.fn === "count" || a.fn === "dc" ? i : -1))
          .filter((i) => i >= 0)
          .map((i) => aggNames[i]),
      );
      const buckets = new Map<number, Map<string, SplValue>>();
      for (const g of grouped) {
        const t = Number(g.fields.get("_time"));
        let b = buckets.get(t);
        if (!b) buckets.set(t, (b = new Map()));
        for (const a of aggNames) {
          const v = g.fields.get(a);
          if (v === undefined) continue;
          const col = cmd.by
            ? aggNames.length === 1
              ? String(g.fields.get(BY_FIELD))
              : `${a}: ${g.fields.get(BY_FIELD)}`
            : a;
          b.set(col, v);
        }
      }
      let keys = [...buckets.keys()].sort((a, b) => a - b);
      if (cont && keys.length > 1 && spanSecs === undefined) {
        const m = /^(\d+)(s|m|h)?$/.exec(span.replace(/(sec|secs|min|mins|hr|hrs)$/, (u) => u[0]));
        if (m) spanSecs = Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
      }
      if (cont && keys.length > 1 && spanSecs !== undefined && spanSecs < 86400) {
        const filled: number[] = [];
        for (let t = keys[0]; t <= keys[keys.length - 1]; t += spanSecs) filled.push(t);
        if (filled.length <= 100_000) keys = filled;
      }
      let more = true;
      for (const t of keys) {
        if (!more) break;
        const b = buckets.get(t) ?? new Map<string, SplValue>();
        const fields = new Map<string, SplValue>([["_time", t]]);
        for (const c of columns) {
          const v = b.get(c);
          const agg = cmd.by && aggNames.length > 1 ? c.slice(0, c.indexOf(": ")) : cmd.by ? aggNames[0] : c;
          if (v !== undefined) fields.set(c, v);
          else if (zero.has(agg)) fields.set(c, 0);
        }
        if (spanSecs !== undefined) fields.set("_span", spanSecs);
        more = next.push({ fields, seq: ctx.nextSeq() });
      }
      rows.length = 0;
      next.end();
    },
  };
}
