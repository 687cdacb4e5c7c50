/**
 * addtotals (Search Reference, addtotals): `row=t` (default) adds to each result the sum of its numeric
 * fields (or of the listed fields, wildcards allowed) as `fieldname` (default Total); `col=t` appends a
 * result with the column sums, labelled in `labelfield` with `label` when labelfield is given. Internal
 * fields (`_time`, ...) are not summed; a result without numeric values gets no total.
 */
import type { AddtotalsCommand } from "../ast.js";
import { fieldNames, getField, type Row } from "../row.js";
import { asNumber, type SplValue } from "../values.js";
import { type CommandContext, fieldPattern, type Operator } from "./operator.js";

export function addtotalsOperator(cmd: AddtotalsCommand, ctx: CommandContext, next: Operator): Operator {
  const patterns = cmd.fields.map(fieldPattern);
  const summed = (n: string) =>
    !n.startsWith("_") && n !== cmd.fieldname && (patterns.length === 0 || patterns.some((p) => p(n)));
  const colSums = new Map<string, number>();
  return {
    push: (row: Row) => {
      let total: number | undefined;
      for (const n of fieldNames(row)) {
        if (!summed(n)) continue;
        const v = getField(row, n);
        const x = v === undefined || Array.isArray(v) ? undefined : asNumber(v);
        if (x === undefined) continue;
        total = (total ?? 0) + x;
        if (cmd.col) colSums.set(n, (colSums.get(n) ?? 0) + x);
      }
      if (cmd.row && total !== undefined) row.fields.set(cmd.fieldname, total);
      if (cmd.col && cmd.row && total !== undefined)
        colSums.set(cmd.fieldname, (colSums.get(cmd.fieldname) ?? 0) + total);
      return next.push(row);
    },
    end: () => {
      if (cmd.col) {
        const fields = new Map<string, SplValue>(colSums);
        if (cmd.labelfield !== undefined) fields.set(cmd.labelfield, cmd.label);
        next.push({ fields, seq: ctx.nextSeq() });
      }
      next.end();
    },
  };
}
