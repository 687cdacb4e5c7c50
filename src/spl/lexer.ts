/**
 * Scanning helpers. SPL's lexical rules depend on the command (a search term, an eval expression and
 * a `rex` pattern read the same characters differently), so the parser drives a Scanner over one
 * command's segment of the text and asks for the token kind it expects.
 */
import type { SourceText, SplError } from "./errors.js";

/** Search-string quoting (spl-semantics §1.4): `\\` -> `\`, `\"` -> `"`, `\|` -> `|`; any other `\x` stays. */
export function unescapeSearchString(body: string): string {
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "\\" && i + 1 < body.length) {
      const n = body[i + 1];
      if (n === "\\" || n === '"' || n === "|") {
        out += n;
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Inverse of unescapeSearchString for a double-quoted search value. */
export function quoteSearchString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Eval string literals (spl-semantics §1.4 note): `\\` -> `\`, `\"` -> `"`, `\t` tab, `\n` newline,
 * `\r` carriage return (decision D-eval-escapes: the docs show `\t`; `\n`/`\r` follow the same rule);
 * any other `\x` stays as written, so regexes like "\d+" keep their backslash.
 */
export function unescapeEvalString(body: string): string {
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "\\" && i + 1 < body.length) {
      const n = body[i + 1];
      const mapped =
        n === "\\"
          ? "\\"
          : n === '"'
            ? '"'
            : n === "t"
              ? "\t"
              : n === "n"
                ? "\n"
                : n === "r"
                  ? "\r"
                  : undefined;
      if (mapped !== undefined) {
        out += mapped;
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Inverse of unescapeEvalString. */
export function quoteEvalString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
}

export class Scanner {
  pos: number;
  constructor(
    readonly src: SourceText,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get text(): string {
    return this.src.text;
  }

  atEnd(): boolean {
    this.skipWs();
    return this.pos >= this.end;
  }

  skipWs(): void {
    while (this.pos < this.end && /\s/.test(this.text[this.pos])) this.pos++;
  }

  peek(offset = 0): string {
    const i = this.pos + offset;
    return i < this.end ? this.text[i] : "";
  }

  startsWith(s: string): boolean {
    return this.pos + s.length <= this.end && this.text.startsWith(s, this.pos);
  }

  error(message: string, at = this.pos): SplError {
    return this.src.error(Math.min(at, this.src.text.length), message);
  }

  /** Reads a double-quoted string starting at `"`; returns the body (escapes not processed) and the raw text. */
  readQuotedBody(): { body: string; raw: string; pos: number } {
    const start = this.pos;
    if (this.text[this.pos] !== '"') throw this.error("expected '\"'");
    let i = this.pos + 1;
    while (i < this.end) {
      const c = this.text[i];
      if (c === "\\" && i + 1 < this.end) {
        i += 2;
        continue;
      }
      if (c === '"') break;
      i++;
    }
    if (i >= this.end)
      throw this.error(
        `unterminated string: expected '"' to close '"' at ${this.src.where(start)}`,
        this.end,
      );
    this.pos = i + 1;
    return { body: this.text.slice(start + 1, i), raw: this.text.slice(start, i + 1), pos: start };
  }

  /** Reads a single-quoted name ('server-1'). */
  readSingleQuoted(): { value: string; pos: number } {
    const start = this.pos;
    let i = this.pos + 1;
    let out = "";
    while (i < this.end && this.text[i] !== "'") {
      if (
        this.text[i] === "\\" &&
        i + 1 < this.end &&
        (this.text[i + 1] === "'" || this.text[i + 1] === "\\")
      ) {
        out += this.text[i + 1];
        i += 2;
        continue;
      }
      out += this.text[i];
      i++;
    }
    if (i >= this.end)
      throw this.error(
        `unterminated field name: expected "'" to close "'" at ${this.src.where(start)}`,
        this.end,
      );
    this.pos = i + 1;
    return { value: out, pos: start };
  }
}

/** A generic command-argument token: word, quoted string, or one of `= , ( )`. */
export interface ArgToken {
  kind: "word" | "quoted" | "=" | "," | "(" | ")";
  /** Word text, or the unescaped quoted value. */
  value: string;
  raw: string;
  pos: number;
}

/** Splits a command's arguments into words, quoted strings and `= , ( )`. */
export function lexArgs(s: Scanner): ArgToken[] {
  const out: ArgToken[] = [];
  for (;;) {
    s.skipWs();
    if (s.pos >= s.end) return out;
    const c = s.peek();
    const pos = s.pos;
    if (c === '"') {
      const q = s.readQuotedBody();
      let value = unescapeSearchString(q.body);
      let raw = q.raw;
      // A quoted part glued to a word is one argument: `"Processes".*` is `Processes.*` (macro
      // arguments are substituted as written, e.g. drop_dm_object_name("Processes")).
      let i = s.pos;
      while (i < s.end && !/[\s=,()"]/.test(s.text[i])) i++;
      if (i > s.pos) {
        value += s.text.slice(s.pos, i);
        raw += s.text.slice(s.pos, i);
        s.pos = i;
      }
      out.push({ kind: "quoted", value, raw, pos });
    } else if (c === "=" || c === "," || c === "(" || c === ")") {
      s.pos++;
      out.push({ kind: c, value: c, raw: c, pos });
    } else {
      let i = s.pos;
      while (i < s.end && !/[\s=,()"]/.test(s.text[i])) i++;
      const w = s.text.slice(s.pos, i);
      s.pos = i;
      out.push({ kind: "word", value: w, raw: w, pos });
    }
  }
}
