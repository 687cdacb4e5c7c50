/**
 * bin / bucket span=<span>: puts a numeric field's value at the start of its bucket. For `_time`, spans
 * in s/m/h are epoch-aligned; d/w/mon/y spans align on local calendar boundaries in the view's zone
 * (decision D-bin-calendar).
 */
import type { BinCommand } from "../ast.js";
import { getField } from "../row.js";
import { resolveTimeSpec } from "../time.js";
import { asNumber, firstScalar } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

export function binOperator(cmd: BinCommand, ctx: CommandContext, next: Operator): Operator {
  const m =
    /^(\d+(?:\.\d+)?)(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks|mon|month|months|y|yr|yrs)?$/.exec(
      cmd.span,
    );
  if (!m) throw ctx.src.error(cmd.pos, `bad span '${cmd.span}' (e.g. span=1h, span=5m, span=1d, span=10)`);
  const n = Number(m[1]);
  const unit = m[2];
  if (n <= 0) throw ctx.src.error(cmd.pos, "span must be positive");
  let bucket: (v: number) => number;
  if (unit === undefined) bucket = (v) => Math.floor(v / n) * n;
  else if (/^(s|sec|secs|m|min|mins|h|hr|hrs)$/.test(unit)) {
    const secs = n * (unit.startsWith("h") ? 3600 : unit.startsWith("m") ? 60 : 1);
    bucket = (v) => Math.floor(v / secs) * secs;
  } else {
    const snap = unit.startsWith("mon") ? "mon" : unit[0] === "d" ? "d" : unit[0] === "w" ? "w" : "y";
    if (n !== 1)
      throw ctx.src.error(cmd.pos, `span=${cmd.span}: calendar spans other than 1${snap} are not supported`);
    bucket = (v) => resolveTimeSpec(`@${snap}`, v, ctx.tz) ?? v;
  }
  const target = cmd.as ?? cmd.field;
  return {
    push: (row) => {
      const s = firstScalar(getField(row, cmd.field));
      const v = s === undefined ? undefined : asNumber(s);
      if (v !== undefined) row.fields.set(target, bucket(v));
      return next.push(row);
    },
    end: () => next.end(),
  };
}
