/**
 * mvexpand: one result per value of a multivalue field (at most `limit`). A result without the field
 * passes unchanged (decision D-mvexpand-missing).
 */
import type { MvexpandCommand } from "../ast.js";
import { getField } from "../row.js";
import type { CommandContext, Operator } from "./operator.js";

export function mvexpandOperator(cmd: MvexpandCommand, _ctx: CommandContext, next: Operator): Operator {
  return {
    push: (row) => {
      const v = getField(row, cmd.field);
      if (!Array.isArray(v)) return next.push(row);
      const values = cmd.limit === undefined ? v : v.slice(0, cmd.limit);
      for (const x of values) {
        const fields = new Map(row.fields);
        fields.set(cmd.field, x);
        if (!next.push({ fields, raw: row.raw, event: row.event, seq: row.seq, searchTime: row.searchTime }))
          return false;
      }
      return true;
    },
    end: () => next.end(),
  };
}
