/**
 * `foreach` (Search Reference, foreach): runs a template of streaming commands once per matching field
 * (mode=multifield, the default), per value of a multivalue field (multivalue) or per item of a JSON
 * array (json_array), with `<<FIELD>>`, `<<MATCHSTR>>`, `<<MATCHSEGn>>` and `<<ITEM>>` replaced
 * as text first (`<<ITER>>`: the item's 0-based index; itemstr=/iterstr=/fieldstr=/matchstr= rename the
 * tokens).
 */
import type { ForeachCommand } from "../ast.js";
import { parseCommandsText } from "../parser.js";
import { getField, type Row } from "../row.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

/** Commands a template may use: each gives at most one row per row, at once. */
const STREAMING = new Set([
  "eval",
  "where",
  "search",
  "rex",
  "fillnull",
  "rename",
  "replace",
  "convert",
  "makemv",
  "fields",
  "spath",
  "fromjson",
  "xmlkv",
]);

/** Compiled templates kept per substituted text (bounded). */
const TEMPLATE_CACHE_SIZE = 1000;

function wildcardRegex(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join("(.*)");
  return new RegExp(`^${body}$`, "s");
}

export function foreachOperator(cmd: ForeachCommand, ctx: CommandContext, next: Operator): Operator {
  const open = ctx.openRowPipeline;
  if (!open) throw ctx.src.error(cmd.pos, "foreach is not available here");
  const patterns = cmd.fields.map(wildcardRegex);
  const out: Row[] = [];
  const sink: Operator = {
    push: (r) => {
      out.push(r);
      return true;
    },
    end: () => {},
  };
  const cache = new Map<string, Operator>();
  const compiled = (text: string): Operator => {
    let op = cache.get(text);
    if (op) return op;
    const pipeline = parseCommandsText(text, `${ctx.src.file} (foreach template)`);
    for (const c of pipeline.commands)
      if (!STREAMING.has(c.name))
        throw ctx.src.error(
          cmd.templatePos,
          `foreach templates take streaming commands only, not '${c.name}'`,
        );
    if (cache.size >= TEMPLATE_CACHE_SIZE) cache.clear();
    op = open(pipeline, sink);
    cache.set(text, op);
    return op;
  };
  const run = (row: Row, subst: Record<string, string>): Row | undefined => {
    let text = cmd.template;
    for (const [token, value] of Object.entries(subst)) text = text.split(token).join(value);
    out.length = 0;
    compiled(text).push(row);
    return out.pop();
  };
  return {
    push: (row) => {
      let cur: Row | undefined = row;
      if (cmd.mode === "multifield" || cmd.mode === "auto") {
        const names = [...row.fields.keys()];
        for (const name of names) {
          if (cur === undefined) break;
          for (const re of patterns) {
            const m = re.exec(name);
            if (!m) continue;
            const subst: Record<string, string> = {
              [cmd.fieldstr]: name,
              [cmd.matchstr]: m.slice(1).join(""),
            };
            m.slice(1).forEach((seg, i) => {
              subst[`<<MATCHSEG${i + 1}>>`] = seg;
            });
            cur = run(cur, subst);
            break;
          }
        }
      } else {
        const v = getField(row, cmd.fields[0]);
        let items: string[] = [];
        if (v !== undefined) {
          if (cmd.mode === "multivalue") items = valueToStrings(v);
          else {
            try {
              const arr = JSON.parse(valueToStrings(v)[0] ?? "");
              if (Array.isArray(arr))
                items = arr.map((x) => (x !== null && typeof x === "object" ? JSON.stringify(x) : String(x)));
            } catch {
              items = [];
            }
          }
        }
        items.forEach((item, i) => {
          if (cur !== undefined)
            cur = run(cur, { [cmd.itemstr]: item, [cmd.iterstr]: String(i), [cmd.fieldstr]: cmd.fields[0] });
        });
      }
      return cur === undefined ? true : next.push(cur);
    },
    end: () => next.end(),
  };
}
