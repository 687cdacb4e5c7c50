/**
 * stats, eventstats, streamstats (spl-semantics §3).
 *
 * - stats: one row per combination of by-field values (rows with a null by-field are dropped; a
 *   multivalue by-field counts the row under each value), sorted by the by-values; columns are the
 *   by-fields then the aggregates.
 * - eventstats: the same aggregates appended to every row (rows kept, order kept).
 * - streamstats: running aggregates in search order (`window=N`, `current=f`).
 * first/last/list follow search order; earliest/latest follow `_time`.
 */
import type { Aggregation, StatsCommand } from "../ast.js";
import { compileEval, type EvalContext } from "../eval.js";
import { PERCENTILE } from "../parser.js";
import { getField, type Row, rowTime } from "../row.js";
import { asNumber, compareAuto, type SplScalar, type SplValue, scalarToString } from "../values.js";
import { type CommandContext, type Operator, pushAll } from "./operator.js";

/** Name of an aggregate's output field: `as` name, else `fn(field)`, else `count`. */
export function aggregateName(a: Aggregation): string {
  return a.as ?? (a.field === undefined ? a.fn : `${a.fn}(${a.field})`);
}

/** Whether the aggregates depend on the order rows arrive in. */
export function aggregationsOrderDependent(aggs: Aggregation[]): boolean {
  return aggs.some((a) => a.fn === "first" || a.fn === "last" || a.fn === "list");
}

interface Accumulator {
  add(values: SplScalar[], row: Row): void;
  result(): SplValue | undefined;
}

const LIST_LIMIT = 100;

/** A one-element multivalue is a single value. */
function single(v: SplScalar[] | undefined): SplValue | undefined {
  return v === undefined ? undefined : v.length === 1 ? v[0] : v;
}

function makeAccumulator(a: Aggregation): Accumulator {
  switch (a.fn) {
    case "count": {
      let n = 0;
      return {
        add: (vals) => {
          n += a.field === undefined ? 1 : vals.length;
        },
        result: () => n,
      };
    }
    case "dc": {
      const set = new Set<string>();
      return {
        add: (vals) => {
          for (const v of vals) set.add(scalarToString(v));
        },
        result: () => set.size,
      };
    }
    case "values": {
      const set = new Set<string>();
      return {
        add: (vals) => {
          for (const v of vals) set.add(scalarToString(v));
        },
        // values(): distinct, sorted lexicographically by code units (decision D-values-order).
        result: () => single(set.size === 0 ? undefined : [...set].sort()),
      };
    }
    case "list": {
      const list: SplScalar[] = [];
      return {
        add: (vals) => {
          for (const v of vals) if (list.length < LIST_LIMIT) list.push(v);
        },
        result: () => single(list.length === 0 ? undefined : [...list]),
      };
    }
    case "min":
    case "max": {
      // Numeric when every value is numeric, else lexicographic over all values (decision D-stats-minmax).
      let bestNum: number | undefined;
      let bestStr: string | undefined;
      let allNumeric = true;
      const dir = a.fn === "max" ? 1 : -1;
      return {
        add: (vals) => {
          for (const v of vals) {
            const n = asNumber(v);
            const s = scalarToString(v);
            if (n === undefined) allNumeric = false;
            else if (bestNum === undefined || (n - bestNum) * dir > 0) bestNum = n;
            if (bestStr === undefined || (s > bestStr ? 1 : s < bestStr ? -1 : 0) * dir > 0) bestStr = s;
          }
        },
        result: () => (allNumeric ? bestNum : bestStr),
      };
    }
    case "avg":
    case "mean":
    case "sum":
    case "range": {
      let sum = 0;
      let n = 0;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      return {
        add: (vals) => {
          for (const v of vals) {
            const x = asNumber(v);
            if (x === undefined) continue;
            sum += x;
            n++;
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
          }
        },
        result: () => (n === 0 ? undefined : a.fn === "sum" ? sum : a.fn === "range" ? hi - lo : sum / n),
      };
    }
    case "first":
    case "last": {
      let v: SplScalar[] | undefined;
      return {
        add: (vals) => {
          if (vals.length === 0) return;
          if (a.fn === "last" || v === undefined) v = vals;
        },
        result: () => (v === undefined ? undefined : v.length === 1 ? v[0] : v),
      };
    }
    case "earliest":
    case "latest": {
      let best: { t: number; v: SplScalar[] } | undefined;
      return {
        add: (vals, row) => {
          const t = rowTime(row);
          if (vals.length === 0 || t === undefined) return;
          if (best === undefined || (a.fn === "earliest" ? t < best.t : t > best.t)) best = { t, v: vals };
        },
        result: () => (best === undefined ? undefined : best.v.length === 1 ? best.v[0] : best.v),
      };
    }
    case "stdev":
    case "stdevp":
    case "var":
    case "varp":
    case "sumsq": {
      // Welford's running mean and sum of squared deviations (numerically stable).
      let n = 0;
      let mean = 0;
      let m2 = 0;
      let sq = 0;
      return {
        add: (vals) => {
          for (const v of vals) {
            const x = asNumber(v);
            if (x === undefined) continue;
            n++;
            const d = x - mean;
            mean += d / n;
            m2 += d * (x - mean);
            sq += x * x;
          }
        },
        result: () => {
          if (n === 0) return undefined;
          if (a.fn === "sumsq") return sq;
          // Sample variance (n-1) for stdev/var, population (n) for stdevp/varp; one value gives 0.
          const v = a.fn === "var" || a.fn === "stdev" ? (n > 1 ? m2 / (n - 1) : 0) : m2 / n;
          return a.fn.startsWith("stdev") ? Math.sqrt(v) : v;
        },
      };
    }
    case "median":
      return percentileAccumulator(50);
    case "mode": {
      // The most frequent value; ties go to the value seen first (decision D-stats-mode).
      const counts = new Map<string, { n: number; v: SplScalar }>();
      let best: { n: number; v: SplScalar } | undefined;
      return {
        add: (vals) => {
          for (const v of vals) {
            const k = scalarToString(v);
            let c = counts.get(k);
            if (!c) counts.set(k, (c = { n: 0, v }));
            c.n++;
            if (best === undefined || c.n > best.n) best = c;
          }
        },
        result: () => best?.v,
      };
    }
  }
  const perc = PERCENTILE.exec(a.fn);
  if (perc) return percentileAccumulator(Number(perc[1]));
  throw new Error(`unsupported aggregation ${a.fn}`);
}

/**
 * percN/pN/exactpercN/upperpercN and median: the exact percentile of the numeric values, linear
 * interpolation between the two nearest ranks (decision D-stats-percentile; Splunk's perc is an
 * approximation whose bounds contain this value).
 */
function percentileAccumulator(p: number): Accumulator {
  const xs: number[] = [];
  return {
    add: (vals) => {
      for (const v of vals) {
        const x = asNumber(v);
        if (x !== undefined) xs.push(x);
      }
    },
    result: () => {
      if (xs.length === 0) return undefined;
      const sorted = [...xs].sort((x, y) => x - y);
      const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
      const lo = Math.floor(rank);
      const hi = Math.ceil(rank);
      return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    },
  };
}

/** Per aggregation: how a row gives its values (a field, or `eval(...)` compiled once). */
type ValueSource = (row: Row) => SplScalar[];

function valueSources(aggs: Aggregation[], ctx: EvalContext): ValueSource[] {
  return aggs.map((a) => {
    if (a.eval === undefined) return (row: Row) => valuesOf(row, a.field);
    const f = compileEval(a.eval, ctx);
    // A boolean counts when true (`count(eval(x>1))` counts the rows where x>1); null and false add nothing.
    return (row: Row) => {
      const v = f(row);
      if (v === undefined || v === false) return [];
      if (v === true) return [1];
      return Array.isArray(v) ? v : [v];
    };
  });
}

function valuesOf(row: Row, field: string | undefined): SplScalar[] {
  if (field === undefined) return [];
  const v = getField(row, field);
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Group keys of a row: one per combination of by-values (none when a by-field is null). */
function groupKeys(row: Row, by: string[]): { key: string; values: SplScalar[] }[] {
  let combos: SplScalar[][] = [[]];
  for (const f of by) {
    const vals = valuesOf(row, f);
    if (vals.length === 0) return [];
    const next: SplScalar[][] = [];
    for (const c of combos) for (const v of vals) next.push([...c, v]);
    combos = next;
  }
  return combos.map((values) => ({ key: values.map(scalarToString).join("\u0000"), values }));
}

interface Group {
  values: SplScalar[];
  accs: Accumulator[];
}

function newGroup(values: SplScalar[], aggs: Aggregation[]): Group {
  return { values, accs: aggs.map(makeAccumulator) };
}

function feed(group: Group, sources: ValueSource[], row: Row): void {
  sources.forEach((source, i) => {
    group.accs[i].add(source(row), row);
  });
}

function compareGroups(a: SplScalar[], b: SplScalar[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareAuto(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** Sets each aggregate's field (null removes it). */
function setAll(row: Row, names: string[], values: (SplValue | undefined)[]): void {
  values.forEach((v, i) => {
    if (v === undefined) row.fields.delete(names[i]);
    else row.fields.set(names[i], v);
  });
}

export function statsOperator(cmd: StatsCommand, ctx: CommandContext, next: Operator): Operator {
  const sources = valueSources(cmd.aggregations, ctx);
  const groups = new Map<string, Group>();
  const names = cmd.aggregations.map(aggregateName);
  return {
    push: (row) => {
      if (cmd.by.length === 0) {
        let g = groups.get("");
        if (!g) groups.set("", (g = newGroup([], cmd.aggregations)));
        feed(g, sources, row);
        return true;
      }
      for (const k of groupKeys(row, cmd.by)) {
        let g = groups.get(k.key);
        if (!g) groups.set(k.key, (g = newGroup(k.values, cmd.aggregations)));
        feed(g, sources, row);
      }
      return true;
    },
    end: () => {
      // With no by clause and no rows, stats still returns one row (count=0, dc=0).
      if (cmd.by.length === 0 && groups.size === 0) groups.set("", newGroup([], cmd.aggregations));
      const sorted = [...groups.values()].sort((a, b) => compareGroups(a.values, b.values));
      const rows: Row[] = sorted.map((g) => {
        const fields = new Map<string, SplValue>();
        cmd.by.forEach((f, i) => {
          fields.set(f, g.values[i]);
        });
        g.accs.forEach((acc, i) => {
          const v = acc.result();
          if (v !== undefined) fields.set(names[i], v);
        });
        return { fields, seq: ctx.nextSeq() };
      });
      pushAll(next, rows);
      next.end();
    },
  };
}

export function eventstatsOperator(cmd: StatsCommand, ctx: CommandContext, next: Operator): Operator {
  const sources = valueSources(cmd.aggregations, ctx);
  const groups = new Map<string, Group>();
  const rows: Row[] = [];
  const names = cmd.aggregations.map(aggregateName);
  return {
    push: (row) => {
      rows.push(row);
      const keys = cmd.by.length === 0 ? [{ key: "", values: [] }] : groupKeys(row, cmd.by);
      for (const k of keys) {
        let g = groups.get(k.key);
        if (!g) groups.set(k.key, (g = newGroup(k.values, cmd.aggregations)));
        feed(g, sources, row);
      }
      return true;
    },
    end: () => {
      const results = new Map<string, (SplValue | undefined)[]>();
      for (const [k, g] of groups)
        results.set(
          k,
          g.accs.map((a) => a.result()),
        );
      for (const row of rows) {
        const keys = cmd.by.length === 0 ? [{ key: "" }] : groupKeys(row, cmd.by);
        const r = keys.length > 0 ? results.get(keys[0].key) : undefined;
        if (r) setAll(row, names, r);
        if (!next.push(row)) break;
      }
      next.end();
    },
  };
}

export function streamstatsOperator(cmd: StatsCommand, ctx: CommandContext, next: Operator): Operator {
  const window = cmd.options.window === undefined ? 0 : Number(cmd.options.window);
  if (!Number.isInteger(window) || window < 0)
    throw ctx.src.error(cmd.pos, `bad streamstats window '${cmd.options.window}'`);
  const current = !["f", "false", "0"].includes((cmd.options.current ?? "t").toLowerCase());
  const names = cmd.aggregations.map(aggregateName);
  const sources = valueSources(cmd.aggregations, ctx);
  const groups = new Map<string, Group>();
  const windows = new Map<string, Row[]>();
  const set = (row: Row, values: (SplValue | undefined)[]) => setAll(row, names, values);
  const resultsFor = (rows: Row[]) => {
    const g = newGroup([], cmd.aggregations);
    for (const r of rows) feed(g, sources, r);
    return g.accs.map((a) => a.result());
  };
  return {
    push: (row) => {
      const keys = cmd.by.length === 0 ? [{ key: "", values: [] as SplScalar[] }] : groupKeys(row, cmd.by);
      if (keys.length === 0) return next.push(row);
      const k = keys[0];
      if (window > 0) {
        let w = windows.get(k.key);
        if (!w) windows.set(k.key, (w = []));
        if (!current) set(row, resultsFor(w));
        // Aggregates are computed on a snapshot of the row before the new fields are added.
        w.push({ fields: new Map(row.fields), raw: row.raw, seq: row.seq });
        if (w.length > window) w.shift();
        if (current) set(row, resultsFor(w));
      } else {
        let g = groups.get(k.key);
        if (!g) groups.set(k.key, (g = newGroup(k.values, cmd.aggregations)));
        if (!current)
          set(
            row,
            g.accs.map((a) => a.result()),
          );
        feed(g, sources, row);
        if (current)
          set(
            row,
            g.accs.map((a) => a.result()),
          );
      }
      return next.push(row);
    },
    end: () => next.end(),
  };
}
