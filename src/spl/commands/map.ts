/**
 * `map` (Search Reference, map): runs its search once per input result (at most `maxsearches`,
 * default 10), with `$field$` replaced by the result's value. dcomhunt reads its input once, so the
 * mapped search must generate its own rows (`| inputlookup ...`); a mapped search over events is a
 * clear error (decision D-map).
 */
import type { MapCommand } from "../ast.js";
import { parseSearchText } from "../parser.js";
import { getField, type Row } from "../row.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

export function mapOperator(cmd: MapCommand, ctx: CommandContext, next: Operator): Operator {
  const open = ctx.openRowPipeline;
  if (!open) throw ctx.src.error(cmd.pos, "map is not available here");
  const probe = parseSearchText(cmd.search.replace(/\$[^$\s]+\$/g, "x"), ctx.src.file);
  if (probe.commands[0]?.name !== "inputlookup")
    throw ctx.src.error(
      cmd.searchPos,
      "map over events needs a second pass over the input, and dcomhunt reads its input once; only mapped searches that start with '| inputlookup' run",
    );
  const inputs: Row[] = [];
  return {
    push: (row) => {
      if (inputs.length < cmd.maxsearches) inputs.push(row);
      return true;
    },
    end: () => {
      let more = true;
      for (const row of inputs) {
        if (!more) break;
        const text = cmd.search.replace(/\$([^$\s]+)\$/g, (_m, f: string) => {
          const v = getField(row, f);
          return v === undefined ? "" : (valueToStrings(v)[0] ?? "");
        });
        const p = parseSearchText(text, `${ctx.src.file} (map search)`);
        const op = open(p, {
          push: (r) => {
            more = next.push({ ...r, seq: ctx.nextSeq() });
            return more;
          },
          end: () => {},
        });
        op.end();
      }
      next.end();
    },
  };
}
