/**
 * dedup (spl-semantics §3): keeps the first `count` results (in search order) per combination of the
 * fields' values; by default results where any field is null are removed (keepempty=false);
 * keepempty=true keeps them all; consecutive=true only removes repeats of the previous result;
 * keepevents=true keeps removed results but clears the dedup fields; sortby sorts what is kept.
 */
import type { DedupCommand } from "../ast.js";
import { getField, type Row } from "../row.js";
import { valueToStrings } from "../values.js";
import type { Operator } from "./operator.js";
import { arrivalOrder, keyComparator, topRowsOperator } from "./sort.js";

export function dedupOperator(cmd: DedupCommand, next: Operator): Operator {
  const out =
    cmd.sortby.length > 0 ? topRowsOperator(keyComparator(cmd.sortby, false, arrivalOrder), 0, next) : next;
  const seen = new Map<string, number>();
  let previous: string | undefined;
  return {
    push: (row: Row) => {
      const parts: string[] = [];
      for (const f of cmd.fields) {
        const v = getField(row, f);
        if (v === undefined) {
          if (cmd.keepempty) return out.push(row);
          if (cmd.keepevents) return out.push(row);
          return true;
        }
        parts.push(valueToStrings(v).join("\u0001"));
      }
      const key = parts.join("\u0000");
      let keep: boolean;
      if (cmd.consecutive) {
        keep = key !== previous;
        previous = key;
      } else {
        const n = seen.get(key) ?? 0;
        keep = n < cmd.count;
        seen.set(key, n + 1);
      }
      if (keep) return out.push(row);
      if (cmd.keepevents) {
        for (const f of cmd.fields) row.fields.delete(f);
        return out.push(row);
      }
      return true;
    },
    end: () => out.end(),
  };
}
