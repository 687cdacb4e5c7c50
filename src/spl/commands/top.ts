/**
 * top and rare (spl-semantics §3): the most (least) common combinations of the fields' values, per
 * by-group, with `count` and `percent` (of the results that have every field). Default limit 10
 * (`limit=0` = all); ties keep the order in which values were first seen (search order).
 */
import type { TopCommand } from "../ast.js";
import type { Row } from "../row.js";
import { getField } from "../row.js";
import { type SplScalar, type SplValue, scalarToString } from "../values.js";
import { type CommandContext, type Operator, pushAll } from "./operator.js";

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return ["t", "true", "1", "yes"].includes(v.toLowerCase());
}

export function topOperator(cmd: TopCommand, ctx: CommandContext, next: Operator): Operator {
  const limit = cmd.options.limit === undefined ? 10 : Number(cmd.options.limit);
  if (!Number.isInteger(limit) || limit < 0)
    throw ctx.src.error(cmd.pos, `bad ${cmd.name} limit '${cmd.options.limit}'`);
  const countfield = cmd.options.countfield ?? "count";
  const percentfield = cmd.options.percentfield ?? "percent";
  const showcount = bool(cmd.options.showcount, true);
  const showperc = bool(cmd.options.showperc, true);
  const useother = bool(cmd.options.useother, false);
  const otherstr = cmd.options.otherstr ?? "OTHER";
  const groups = new Map<
    string,
    { by: SplScalar[]; total: number; counts: Map<string, { values: SplScalar[]; n: number; first: number }> }
  >();
  let order = 0;
  const combos = (row: Row, fields: string[]): SplScalar[][] | undefined => {
    let out: SplScalar[][] = [[]];
    for (const f of fields) {
      const v = getField(row, f);
      if (v === undefined) return undefined;
      const vals = Array.isArray(v) ? v : [v];
      out = out.flatMap((c) => vals.map((x) => [...c, x]));
    }
    return out;
  };
  return {
    push: (row) => {
      const byCombos = cmd.by.length === 0 ? [[]] : combos(row, cmd.by);
      const valueCombos = combos(row, cmd.fields);
      if (!byCombos || !valueCombos) return true;
      for (const by of byCombos) {
        const bk = by.map(scalarToString).join("\u0000");
        let g = groups.get(bk);
        if (!g) groups.set(bk, (g = { by, total: 0, counts: new Map() }));
        for (const values of valueCombos) {
          g.total++;
          const k = values.map(scalarToString).join("\u0000");
          const c = g.counts.get(k);
          if (c) c.n++;
          else g.counts.set(k, { values, n: 1, first: order++ });
        }
      }
      return true;
    },
    end: () => {
      const rows: Row[] = [];
      for (const g of groups.values()) {
        const entries = [...g.counts.values()].sort(
          (a, b) => (cmd.name === "top" ? b.n - a.n : a.n - b.n) || a.first - b.first,
        );
        const kept = limit === 0 ? entries : entries.slice(0, limit);
        const make = (values: SplValue[], n: number) => {
          const fields = new Map<string, SplValue>();
          cmd.by.forEach((f, i) => {
            fields.set(f, g.by[i]);
          });
          cmd.fields.forEach((f, i) => {
            fields.set(f, values[i]);
          });
          if (showcount) fields.set(countfield, n);
          if (showperc) fields.set(percentfield, Math.round((n / g.total) * 100 * 1e6) / 1e6);
          rows.push({ fields, seq: ctx.nextSeq() });
        };
        for (const e of kept) make(e.values, e.n);
        if (useother && kept.length < entries.length) {
          const rest = entries.slice(kept.length).reduce((n, e) => n + e.n, 0);
          make(
            cmd.fields.map(() => otherstr),
            rest,
          );
        }
      }
      pushAll(next, rows);
      next.end();
    },
  };
}
