/**
 * transaction: groups results that share the values of the listed fields into one result, with
 * `duration` (last - first `_time`), `eventcount`, every field's values merged (distinct, in time
 * order; a single value stays single) and `_raw` the events' raws joined by newlines, oldest first.
 *
 * Events are taken oldest first (decision D-transaction): a transaction is closed when the next
 * event would exceed `maxspan` (from the first event) or `maxpause` (from the previous one) or
 * `maxevents`, when an event matches `endswith` (it is the last), or when an event matching
 * `startswith` arrives (it opens a new one). With startswith/endswith, transactions lacking their
 * start/end are evicted (dropped), as with Splunk's default keepevicted=false. Results without any
 * of the fields are dropped; output is newest transaction first.
 */
import type { TransactionBound, TransactionCommand } from "../ast.js";
import { compileEval, isTrue } from "../eval.js";
import { getField, type Row, rowTime } from "../row.js";
import { compileSearchExpr } from "../search-expr.js";
import { type SplScalar, type SplValue, scalarToString, valueToStrings } from "../values.js";
import { type CommandContext, type Operator, pushAll } from "./operator.js";

interface Open {
  rows: Row[];
  started: boolean;
  ended: boolean;
}

export function transactionOperator(cmd: TransactionCommand, ctx: CommandContext, next: Operator): Operator {
  const bound = (b: TransactionBound | undefined) => {
    if (b === undefined) return undefined;
    if (b.kind === "search") return compileSearchExpr(b.expr, ctx);
    const f = compileEval(b.expr, ctx);
    return (row: Row) => isTrue(f(row));
  };
  const starts = bound(cmd.startswith);
  const ends = bound(cmd.endswith);
  const keepevicted = ["t", "true", "1"].includes((cmd.options.keepevicted ?? "f").toLowerCase());
  const mvlist = ["t", "true", "1"].includes((cmd.options.mvlist ?? "f").toLowerCase());
  const rows: Row[] = [];
  return {
    push: (row) => {
      rows.push(row);
      return true;
    },
    end: () => {
      // Oldest first; ties in arrival order reversed, i.e. the reverse of search order.
      rows.sort((a, b) => (rowTime(a) ?? 0) - (rowTime(b) ?? 0) || b.seq - a.seq);
      const open = new Map<string, Open>();
      const done: Open[] = [];
      const close = (key: string) => {
        const t = open.get(key);
        if (t) done.push(t);
        open.delete(key);
      };
      for (const row of rows) {
        const parts: string[] = [];
        let missing = false;
        for (const f of cmd.fields) {
          const v = getField(row, f);
          if (v === undefined) missing = true;
          else parts.push(valueToStrings(v).join("\u0001"));
        }
        if (missing && cmd.fields.length > 0) continue;
        const key = parts.join("\u0000");
        const t = rowTime(row) ?? 0;
        let cur = open.get(key);
        const isStart = starts ? starts(row) : false;
        if (cur) {
          const first = rowTime(cur.rows[0]) ?? 0;
          const last = rowTime(cur.rows[cur.rows.length - 1]) ?? 0;
          if (
            isStart ||
            (cmd.maxspan !== undefined && t - first > cmd.maxspan) ||
            (cmd.maxpause !== undefined && t - last > cmd.maxpause) ||
            (cmd.maxevents !== undefined && cur.rows.length >= cmd.maxevents)
          ) {
            close(key);
            cur = undefined;
          }
        }
        if (!cur) {
          if (starts && !isStart) {
            if (keepevicted) done.push({ rows: [row], started: false, ended: false });
            continue;
          }
          cur = { rows: [], started: isStart, ended: false };
          open.set(key, cur);
        }
        cur.rows.push(row);
        if (ends?.(row)) {
          cur.ended = true;
          close(key);
        }
      }
      for (const key of [...open.keys()]) close(key);
      const complete = done.filter((t) => keepevicted || ((!starts || t.started) && (!ends || t.ended)));
      const out = complete.map((t) => merge(t.rows, cmd, mvlist, ctx.nextSeq()));
      out.sort((a, b) => (rowTime(b) ?? 0) - (rowTime(a) ?? 0) || a.seq - b.seq);
      pushAll(next, out);
      next.end();
    },
  };
}

function merge(rows: Row[], cmd: TransactionCommand, mvlist: boolean, seq: number): Row {
  const fields = new Map<string, SplValue>();
  const collected = new Map<string, SplScalar[]>();
  for (const r of rows) {
    for (const [name, v] of r.fields) {
      if (name === "_time" || name === "_raw") continue;
      let list = collected.get(name);
      if (!list) collected.set(name, (list = []));
      for (const x of Array.isArray(v) ? v : [v]) {
        if (mvlist || !list.some((y) => scalarToString(y) === scalarToString(x))) list.push(x);
      }
    }
  }
  const first = rowTime(rows[0]);
  const last = rowTime(rows[rows.length - 1]);
  if (first !== undefined) fields.set("_time", first);
  for (const [name, list] of collected) fields.set(name, list.length === 1 ? list[0] : list);
  for (const f of cmd.fields) {
    const v = collected.get(f);
    if (v) fields.set(f, v.length === 1 ? v[0] : v);
  }
  fields.set(
    "duration",
    first !== undefined && last !== undefined ? Math.round((last - first) * 1e6) / 1e6 : 0,
  );
  fields.set("eventcount", rows.length);
  let raw: string | undefined;
  return {
    fields,
    raw: () => {
      if (raw === undefined)
        raw = rows.map((r) => scalarToString(valueToStrings(getField(r, "_raw") ?? "")[0] ?? "")).join("\n");
      return raw;
    },
    seq,
  };
}
