/**
 * `map` (Search Reference, map): runs its search once per input result (at most `maxsearches`,
 * default 10), with `$field$` replaced by the result's value.
 *
 * dcomhunt reads its input once (decision D-map). A mapped search that starts with `| inputlookup`
 * runs as it is. A mapped search over events is split: the top-level AND terms of its first `search`
 * that hold no `$token$` pick the candidate events during the one pass (at most 50,000, like a join's
 * subsearch); when the input ends, each substituted search runs over those candidates.
 */
import type { MapCommand, Pipeline, SearchExpr } from "../ast.js";
import { parseSearchText } from "../parser.js";
import { printSearchExpr } from "../printer.js";
import { cloneRow, getField, type Row } from "../row.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

/** Candidate events a mapped search over events keeps (limits.conf [join] subsearch_maxout). */
export const MAP_CANDIDATES_MAX = 50_000;

const TOKEN = /\$([^$\s"]+)\$/g;
const MARK = "dcomhuntmaptoken";

export function mapOperator(cmd: MapCommand, ctx: CommandContext, next: Operator): Operator {
  const open = ctx.openRowPipeline;
  if (!open) throw ctx.src.error(cmd.pos, "map is not available here");
  const probe = parseSearchText(cmd.search.replace(TOKEN, MARK), `${ctx.src.file} (map search)`);
  const first = probe.commands[0];
  let candidates: { rows: Row[] } | undefined;
  if (first?.name !== "inputlookup") {
    if (first?.name !== "search")
      throw ctx.src.error(
        cmd.searchPos,
        `map over events needs a second pass over the input; dcomhunt reads its input once and runs mapped searches that start with 'search' or '| inputlookup', not '${first?.name}'`,
      );
    if (!ctx.openSubsearch) throw ctx.src.error(cmd.pos, "map is not available here");
    const top: SearchExpr[] =
      first.expr === undefined ? [] : first.expr.kind === "and" ? first.expr.items : [first.expr];
    const fixed = top.filter((e) => !printSearchExpr(e).includes(MARK));
    const tap: Pipeline = {
      kind: "pipeline",
      commands: [
        {
          name: "search",
          pos: first.pos,
          expr: fixed.length === 0 ? undefined : { kind: "and", pos: first.pos, items: fixed },
        },
      ],
      text: probe.text,
      file: probe.file,
    };
    candidates = ctx.openSubsearch(tap, MAP_CANDIDATES_MAX);
  }
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
        const text = cmd.search.replace(TOKEN, (_m, f: string) => {
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
        if (candidates) for (const c of candidates.rows) if (!op.push(cloneRow(c))) break;
        op.end();
      }
      next.end();
    },
  };
}
