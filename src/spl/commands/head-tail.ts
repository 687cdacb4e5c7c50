/** head and tail (spl-semantics §3): head takes the first N in search order; tail the last N, reversed. */
import type { HeadCommand, TailCommand } from "../ast.js";
import { compileEval } from "../eval.js";
import type { Row } from "../row.js";
import { type CommandContext, type Operator, pushAll } from "./operator.js";

export function headOperator(cmd: HeadCommand, ctx: CommandContext, next: Operator): Operator {
  let taken = 0;
  let stopped = false;
  const expr = cmd.expr ? compileEval(cmd.expr, ctx) : undefined;
  return {
    push: (row) => {
      if (stopped) return false;
      if (expr) {
        // head (expr): results while expr is TRUE; the first other result stops (decision D-head-expr).
        if (expr(row) !== true) {
          stopped = true;
          return false;
        }
      } else if (taken >= cmd.count) {
        stopped = true;
        return false;
      }
      taken++;
      const more = next.push(row);
      if (!expr && taken >= cmd.count) stopped = true;
      return more && !stopped;
    },
    end: () => next.end(),
  };
}

/** tail N keeps only the last N rows (a ring buffer). */
export function tailOperator(cmd: TailCommand, next: Operator): Operator {
  const ring: Row[] = [];
  let at = 0;
  return {
    push: (row) => {
      if (cmd.count === 0) return true;
      if (ring.length < cmd.count) ring.push(row);
      else {
        ring[at] = row;
        at = (at + 1) % cmd.count;
      }
      return true;
    },
    end: () => {
      const inOrder = [...ring.slice(at), ...ring.slice(0, at)];
      pushAll(next, inOrder.reverse());
      next.end();
    },
  };
}
