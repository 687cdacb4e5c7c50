/**
 * makemv (Search Reference, makemv): splits a field's value into a multivalue field, on `delim` (a
 * string, default a single space) or by `tokenizer` (a regex: each match is a value, its first capture
 * group when it has one). Empty values are dropped unless `allowempty=t`; `setsv=t` is accepted and keeps
 * the multivalue result (there is no separate single-value view here).
 */
import type { MakemvCommand } from "../ast.js";
import { compileRegex, findAll, RegexError } from "../regex.js";
import { getField } from "../row.js";
import { type SplScalar, scalarToString } from "../values.js";
import { type CommandContext, mapOperator, type Operator } from "./operator.js";

export function makemvOperator(cmd: MakemvCommand, ctx: CommandContext, next: Operator): Operator {
  let split: (s: string) => string[];
  if (cmd.tokenizer !== undefined) {
    let rx: ReturnType<typeof compileRegex>;
    try {
      rx = compileRegex(cmd.tokenizer);
    } catch (e) {
      if (e instanceof RegexError) throw ctx.src.error(cmd.pos, `makemv tokenizer: ${e.message}`);
      throw e;
    }
    split = (s) => findAll(rx, s).map((m) => (rx.groupCount > 0 ? (m.groups[1] ?? "") : (m.groups[0] ?? "")));
  } else {
    const delim = cmd.delim ?? " ";
    split = (s) => (delim === "" ? [s] : s.split(delim));
  }
  return mapOperator(next, (row) => {
    const v = getField(row, cmd.field);
    if (v === undefined) return row;
    const out: SplScalar[] = [];
    for (const x of Array.isArray(v) ? v : [v]) {
      for (const part of split(scalarToString(x))) if (cmd.allowempty || part !== "") out.push(part);
    }
    if (out.length === 0) row.fields.delete(cmd.field);
    else row.fields.set(cmd.field, out.length === 1 ? out[0] : out);
    return row;
  });
}
