/**
 * Search macros as Splunk's macros.conf defines them:
 *
 *   [dcom_parents]
 *   definition = (ParentImage="*\\mmc.exe" OR ParentImage="*\\excel.exe")
 *
 *   [proc_named(1)]
 *   args = name
 *   definition = Image="*\\$name$"
 *
 * A macro is called in backticks: `dcom_parents`, `proc_named(cmd.exe)`. A stanza name carries the
 * argument count; `$arg$` in the definition is replaced by the argument text as written. Lines ending
 * in a backslash continue on the next line. `iseval = 1` macros are not supported (clear error).
 * Positions in errors refer to the expanded text (decision D-macro-positions).
 */
import { readFileSync } from "node:fs";
import { SourceText, SplError } from "./errors.js";

export interface Macro {
  name: string;
  args: string[];
  definition: string;
  /** Where it was defined, for messages. */
  file: string;
  line: number;
}

/** Macros by "name" (no arguments) or "name(N)". */
export type MacroTable = Map<string, Macro>;

export function parseMacros(text: string, file = "macros.conf"): MacroTable {
  const table: MacroTable = new Map();
  const src = new SourceText(text, file);
  const lines = text.split(/\r?\n/);
  let current: { stanza: string; line: number; keys: Map<string, string> } | undefined;
  const finish = () => {
    if (!current) return;
    const m = /^([^()\s]+)(?:\((\d+)\))?$/.exec(current.stanza);
    if (!m)
      throw new SplError(
        file,
        current.line,
        1,
        `bad macro stanza name '[${current.stanza}]'`,
        src.lineText(current.line),
      );
    const count = m[2] === undefined ? 0 : Number(m[2]);
    const args = (current.keys.get("args") ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter((a) => a !== "");
    if (args.length !== count) {
      throw new SplError(
        file,
        current.line,
        1,
        `macro '${current.stanza}' declares ${count} argument(s) but args lists ${args.length}`,
        src.lineText(current.line),
      );
    }
    const definition = current.keys.get("definition");
    if (definition === undefined)
      throw new SplError(
        file,
        current.line,
        1,
        `macro '${current.stanza}' has no definition`,
        src.lineText(current.line),
      );
    const iseval = (current.keys.get("iseval") ?? "0").trim();
    if (iseval !== "0" && iseval.toLowerCase() !== "false") {
      throw new SplError(
        file,
        current.line,
        1,
        `macro '${current.stanza}': iseval macros are not supported`,
        src.lineText(current.line),
      );
    }
    table.set(count === 0 ? m[1] : `${m[1]}(${count})`, {
      name: m[1],
      args,
      definition,
      file,
      line: current.line,
    });
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    const lineNo = i + 1;
    if (/^\s*[#;]/.test(line) || line.trim() === "") continue;
    const stanza = /^\s*\[(.*)\]\s*$/.exec(line);
    if (stanza) {
      finish();
      current = { stanza: stanza[1].trim(), line: lineNo, keys: new Map() };
      continue;
    }
    // Continuation lines: a trailing backslash joins the next line (the newline is kept).
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = `${line.slice(0, -1)}\n${lines[++i]}`;
    }
    const kv = /^\s*([A-Za-z_.]+)\s*=\s?(.*)$/s.exec(line);
    if (!kv)
      throw new SplError(file, lineNo, 1, "expected 'key = value' or '[stanza]'", src.lineText(lineNo));
    if (!current) throw new SplError(file, lineNo, 1, "setting outside a [stanza]", src.lineText(lineNo));
    current.keys.set(kv[1], kv[2].trim());
  }
  finish();
  return table;
}

export function loadMacros(path: string): MacroTable {
  return parseMacros(readFileSync(path, "utf8"), path);
}

/** Splits macro call arguments at top-level commas (quotes and parentheses respected). */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inQuote = false;
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      cur += c;
      if (c === "\\" && i + 1 < text.length) cur += text[++i];
      else if (c === '"') inQuote = false;
      continue;
    }
    if (c === '"') inQuote = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += c;
  }
  out.push(cur.trim());
  return out;
}

/**
 * Expands every `macro` call (recursively, up to 50 levels); inside double-quoted strings only calls of
 * macros the table has (decision D-macro-quotes).
 */
export function expandMacros(text: string, macros: MacroTable | undefined, file = "spl", depth = 0): string {
  if (!text.includes("`")) return text;
  const src = new SourceText(text, file);
  let out = "";
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      if (c === "`" && !text.startsWith("```", i)) {
        // A call of a known macro inside a quoted string is expanded too (security_content writes
        // `map search="search `wineventlog_security` ..."` and relative_time(now(), "`window`")); any
        // other backtick stays literal (PowerShell escapes in values). Decision D-macro-quotes.
        const close = text.indexOf("`", i + 1);
        const quoteEnd = text.indexOf('"', i + 1);
        const call = close > i && (quoteEnd < 0 || close < quoteEnd) ? text.slice(i + 1, close).trim() : "";
        const m = /^([A-Za-z0-9_.:-]+)\s*(?:\((.*)\))?$/s.exec(call);
        if (m) {
          const args = m[2] === undefined ? [] : splitArgs(m[2]);
          const macro = macros?.get(args.length === 0 ? m[1] : `${m[1]}(${args.length})`);
          if (macro) {
            if (depth > 50) throw src.error(i, `macro '${m[1]}' expands too deeply (recursive?)`);
            let body = macro.definition;
            macro.args.forEach((name, k) => {
              body = body.split(`$${name}$`).join(args[k]);
            });
            out += expandMacros(body, macros, file, depth + 1);
            i = close;
            continue;
          }
        }
      }
      out += c;
      if (c === "\\" && i + 1 < text.length) out += text[++i];
      else if (c === '"') inQuote = false;
      continue;
    }
    if (c === "\\" && i + 1 < text.length) {
      // An escaped character outside quotes (`\"` in a bare value) neither opens a string nor a call.
      out += c + text[++i];
      continue;
    }
    if (c === '"') {
      inQuote = true;
      out += c;
      continue;
    }
    if (c !== "`") {
      out += c;
      continue;
    }
    if (text.startsWith("```", i)) {
      // A comment (Search Manual, "Add comments to searches"): three backticks to three backticks,
      // anywhere outside quotes. Its newlines are kept so that line numbers still match.
      const end = text.indexOf("```", i + 3);
      if (end < 0) throw src.error(i, "expected '```' to close the comment");
      out += text.slice(i, end + 3).replace(/[^\n]/g, " ");
      i = end + 2;
      continue;
    }
    const close = text.indexOf("`", i + 1);
    if (close < 0) throw src.error(i, "expected '`' to close the macro call");
    const call = text.slice(i + 1, close).trim();
    const m = /^([^()\s]+)\s*(?:\((.*)\))?$/s.exec(call);
    if (!m) throw src.error(i, `bad macro call '${call}'`);
    const args = m[2] === undefined ? [] : splitArgs(m[2]);
    const key = args.length === 0 ? m[1] : `${m[1]}(${args.length})`;
    const macro = macros?.get(key);
    if (!macro) throw src.error(i, `unknown macro '${key}'${macros ? "" : " (no macros file given)"}`);
    if (depth > 50) throw src.error(i, `macro '${key}' expands too deeply (recursive?)`);
    let body = macro.definition;
    macro.args.forEach((name, k) => {
      body = body.split(`$${name}$`).join(args[k]);
    });
    out += expandMacros(body, macros, file, depth + 1);
    i = close;
  }
  return out;
}
