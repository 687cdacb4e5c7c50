/** eval: assignments left to right; later ones see earlier results; null removes the field. */
import type { EvalCommand } from "../ast.js";
import { compileEval, toFieldValue } from "../eval.js";
import { deleteField } from "../row.js";
import type { CommandContext, Operator } from "./operator.js";

export function evalOperator(cmd: EvalCommand, ctx: CommandContext, next: Operator): Operator {
  const steps = cmd.assignments.map((a) => ({
    field: a.field,
    pos: a.expr.pos,
    f: compileEval(a.expr, ctx),
  }));
  return {
    push: (row) => {
      for (const s of steps) {
        const v = toFieldValue(s.f(row), ctx, s.pos);
        if (v === undefined) deleteField(row, s.field);
        else {
          if (s.field === "_raw") row.raw = undefined;
          row.fields.set(s.field, v);
        }
      }
      return next.push(row);
    },
    end: () => next.end(),
  };
}
