/** search, where and regex: streaming filters. */
import type { RegexCommand, SearchCommand, WhereCommand } from "../ast.js";
import { compileEval, isTrue } from "../eval.js";
import { compileRegex, RegexError } from "../regex.js";
import { getField } from "../row.js";
import { compileSearchExpr } from "../search-expr.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

export function searchOperator(cmd: SearchCommand, ctx: CommandContext, next: Operator): Operator {
  const pred = compileSearchExpr(cmd.expr, ctx);
  return { push: (row) => (pred(row) ? next.push(row) : true), end: () => next.end() };
}

export function whereOperator(cmd: WhereCommand, ctx: CommandContext, next: Operator): Operator {
  const expr = compileEval(cmd.expr, ctx);
  return { push: (row) => (isTrue(expr(row)) ? next.push(row) : true), end: () => next.end() };
}

/**
 * `regex field="re"` keeps rows where any value of the field matches; `regex field!="re"` keeps rows
 * where none does, including rows without the field (decision D-regex-missing).
 */
export function regexOperator(cmd: RegexCommand, ctx: CommandContext, next: Operator): Operator {
  let rx: ReturnType<typeof compileRegex>;
  try {
    rx = compileRegex(cmd.pattern);
  } catch (e) {
    if (e instanceof RegexError) throw ctx.src.error(cmd.pos, e.message);
    throw e;
  }
  return {
    push: (row) => {
      const v = getField(row, cmd.field);
      const hit = v !== undefined && valueToStrings(v).some((s) => rx.test(s));
      return hit !== cmd.negate ? next.push(row) : true;
    },
    end: () => next.end(),
  };
}
