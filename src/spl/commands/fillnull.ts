/**
 * fillnull: replaces null (missing) and empty values of the listed fields with `value` (default 0;
 * empty strings too, decision D-fillnull-empty).
 * Without a field list it fills every field that any result has, so it must see all results first.
 */
import type { FillnullCommand } from "../ast.js";
import { fieldNames, getField, type Row } from "../row.js";
import { type Operator, pushAll } from "./operator.js";

export function fillnullOperator(cmd: FillnullCommand, next: Operator): Operator {
  const fill = (row: Row, names: Iterable<string>) => {
    for (const f of names) {
      const v = getField(row, f);
      if (v === undefined || v === "") row.fields.set(f, cmd.value);
    }
  };
  if (cmd.fields.length > 0) {
    return {
      push: (row) => {
        fill(row, cmd.fields);
        return next.push(row);
      },
      end: () => next.end(),
    };
  }
  const rows: Row[] = [];
  const names = new Set<string>();
  return {
    push: (row) => {
      rows.push(row);
      for (const n of fieldNames(row)) if (!n.startsWith("_")) names.add(n);
      return true;
    },
    end: () => {
      for (const r of rows) fill(r, names);
      pushAll(next, rows);
      next.end();
    },
  };
}
