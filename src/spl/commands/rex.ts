/**
 * rex (spl-semantics §3): named groups of a PCRE-syntax regex become fields (`field=_raw` by default;
 * `max_match=N` collects up to N matches as multivalues, 0 = all). A result the regex does not match
 * keeps its fields (decision D-rex-nomatch). `mode=sed` edits the field with `s/regex/replacement/[g|N]` or `y/abc/xyz/`.
 */
import type { RexCommand } from "../ast.js";
import { compileRegex, findAll, RegexError, replaceRegex } from "../regex.js";
import { getField } from "../row.js";
import type { SplScalar } from "../values.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

/** Splits a sed expression at unescaped delimiters. */
function sedParts(expr: string, delim: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "\\" && expr[i + 1] === delim) {
      cur += delim;
      i++;
    } else if (c === delim) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

export function rexOperator(cmd: RexCommand, ctx: CommandContext, next: Operator): Operator {
  const fail = (message: string) => ctx.src.error(cmd.pos, message);
  if (cmd.mode === "sed") {
    const kind = cmd.pattern[0];
    const delim = cmd.pattern[1];
    if ((kind !== "s" && kind !== "y") || delim === undefined)
      throw fail(`bad sed expression '${cmd.pattern}' (s/regex/replacement/flags or y/abc/xyz/)`);
    const parts = sedParts(cmd.pattern.slice(2), delim);
    if (parts.length !== 3) throw fail(`bad sed expression '${cmd.pattern}'`);
    let edit: (s: string) => string;
    if (kind === "y") {
      const from = Array.from(parts[0]);
      const to = Array.from(parts[1]);
      if (from.length !== to.length) throw fail("y/// needs two lists of the same length");
      const map = new Map(from.map((c, i) => [c, to[i]]));
      edit = (s) => Array.from(s, (c) => map.get(c) ?? c).join("");
    } else {
      let rx: ReturnType<typeof compileRegex>;
      try {
        rx = compileRegex(parts[0]);
      } catch (e) {
        if (e instanceof RegexError) throw fail(e.message);
        throw e;
      }
      const flags = parts[2];
      if (!/^(g|\d+)?$/.test(flags)) throw fail(`bad sed flags '${flags}' (g or a number)`);
      const nth = /^\d+$/.test(flags) ? Number(flags) : 0;
      if (nth > 0) {
        edit = (s) => {
          const ms = findAll(rx, s, nth);
          if (ms.length < nth) return s;
          const m = ms[nth - 1];
          return (
            s.slice(0, m.start) + replaceRegex(rx, s.slice(m.start, m.end), parts[1], 1) + s.slice(m.end)
          );
        };
      } else edit = (s) => replaceRegex(rx, s, parts[1], flags === "g" ? 0 : 1);
    }
    return {
      push: (row) => {
        const v = getField(row, cmd.field);
        if (v !== undefined) {
          const out = valueToStrings(v).map(edit);
          if (cmd.field === "_raw") row.raw = undefined;
          row.fields.set(cmd.field, out.length === 1 ? out[0] : out);
        }
        return next.push(row);
      },
      end: () => next.end(),
    };
  }
  let rx: ReturnType<typeof compileRegex>;
  try {
    rx = compileRegex(cmd.pattern);
  } catch (e) {
    if (e instanceof RegexError) throw fail(e.message);
    throw e;
  }
  if (rx.groupNames.size === 0) throw fail("rex needs at least one named group, e.g. (?<user>\\w+)");
  const groups = [...rx.groupNames.entries()];
  return {
    push: (row) => {
      const v = getField(row, cmd.field);
      if (v === undefined) return next.push(row);
      const found = new Map<string, SplScalar[]>();
      let remaining = cmd.maxMatch;
      for (const s of valueToStrings(v)) {
        const ms = findAll(rx, s, remaining);
        for (const m of ms) {
          for (const [index, name] of groups) {
            const g = m.groups[index];
            if (g === undefined) continue;
            let list = found.get(name);
            if (!list) found.set(name, (list = []));
            list.push(g);
          }
        }
        if (cmd.maxMatch > 0) {
          remaining -= ms.length;
          if (remaining <= 0) break;
        }
      }
      for (const [name, list] of found) row.fields.set(name, list.length === 1 ? list[0] : list);
      return next.push(row);
    },
    end: () => next.end(),
  };
}
