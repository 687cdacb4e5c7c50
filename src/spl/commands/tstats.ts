/**
 * tstats, datamodel, from datamodel: (Search Reference, tstats / datamodel / from).
 *
 * Offline there are no summaries: tstats reads the events, keeps those in the data model dataset
 * (datamodels/cim.ts), filters them with the `where` search on data-model field names, buckets `_time`
 * by `span` and aggregates like stats. `summariesonly`/`allow_old_summaries` change nothing (every
 * event counts as summarized). `prestats=t` passes the dataset rows on unaggregated, so the stats,
 * chart or timechart after it computes the same aggregates from them. `fillnull_value` fills missing
 * by-fields instead of dropping the row.
 */
import type { BinCommand, DatamodelCommand, StatsCommand, TstatsCommand } from "../ast.js";
import { type DatasetRef, datasetRow, knownDatasets, resolveDataset } from "../datamodels/cim.js";
import type { Row } from "../row.js";
import { compileSearchExpr } from "../search-expr.js";
import { binOperator } from "./bin.js";
import { type CommandContext, mapOperator, type Operator } from "./operator.js";
import { statsOperator } from "./stats.js";

export function datasetFor(name: string, ctx: CommandContext, pos: number): DatasetRef {
  const ref = resolveDataset(name);
  if (!ref) throw ctx.src.error(pos, `unknown data model '${name}' (known: ${knownDatasets().join(", ")})`);
  return ref;
}

const isTrue = (v: string | undefined) => ["t", "true", "1", "yes"].includes((v ?? "").toLowerCase());

export function tstatsOperator(cmd: TstatsCommand, ctx: CommandContext, next: Operator): Operator {
  const ref = cmd.datamodel === undefined ? undefined : datasetFor(cmd.datamodel, ctx, cmd.pos);
  const where = compileSearchExpr(cmd.where, ctx);
  const prestats = isTrue(cmd.options.prestats);
  const fill = cmd.options.fillnull_value;
  let tail: Operator = next;
  if (!prestats) {
    const stats: StatsCommand = {
      name: "stats",
      pos: cmd.pos,
      aggregations: cmd.aggregations,
      by: cmd.by,
      options: {},
    };
    tail = statsOperator(stats, ctx, next);
  }
  if (cmd.span !== undefined) {
    const bin: BinCommand = { name: "bin", pos: cmd.pos, field: "_time", as: undefined, span: cmd.span };
    tail = binOperator(bin, ctx, tail);
  }
  return mapOperator(tail, (row) => {
    const r: Row | undefined = ref ? datasetRow(ref, row, false) : row;
    if (r === undefined || !where(r)) return undefined;
    if (fill !== undefined) for (const f of cmd.by) if (!r.fields.has(f)) r.fields.set(f, fill);
    return r;
  });
}

export function datamodelOperator(cmd: DatamodelCommand, ctx: CommandContext, next: Operator): Operator {
  const ref = datasetFor(cmd.datamodel, ctx, cmd.pos);
  const prefix = `${ref.dataset.object}.`;
  return mapOperator(next, (row) => {
    const r = datasetRow(ref, row, true);
    if (r === undefined || cmd.mode === "search") return r;
    for (const [k, v] of [...r.fields]) {
      if (k.startsWith(prefix)) {
        r.fields.delete(k);
        r.fields.set(k.slice(prefix.length), v);
      }
    }
    return r;
  });
}
