/**
 * SPL parser: text -> Pipeline AST with positions. Macros in backticks are expanded first
 * (macros.ts); positions refer to the expanded text.
 */
import type {
  Aggregation,
  Command,
  ConvertCommand,
  EvalBinaryOp,
  EvalExpr,
  FieldRename,
  Pipeline,
  SearchExpr,
  SearchOp,
  SearchValue,
  SortKey,
  TransactionBound,
} from "./ast.js";
import { SourceText, SplError } from "./errors.js";
import { type ArgToken, lexArgs, Scanner, unescapeEvalString, unescapeSearchString } from "./lexer.js";
import { checkExpressionDepth, MAX_COMMANDS, MAX_SPL_LENGTH, NestingGuard } from "./limits.js";
import { expandMacros, type MacroTable } from "./macros.js";

export interface ParseOptions {
  file?: string;
  macros?: MacroTable;
}

export function parseSpl(text: string, opts: ParseOptions = {}): Pipeline {
  const file = opts.file ?? "spl";
  if (text.length > MAX_SPL_LENGTH)
    throw new SourceText(text.slice(0, 1), file).error(
      0,
      `search too long (${text.length} characters, at most ${MAX_SPL_LENGTH})`,
    );
  const expanded = expandMacros(text, opts.macros, file);
  const src = new SourceText(expanded, file);
  if (expanded.length > MAX_SPL_LENGTH)
    throw src.error(
      0,
      `search too long after macro expansion (${expanded.length} characters, at most ${MAX_SPL_LENGTH})`,
    );
  return parsePipelineRange(src, 0, expanded.length, "search");
}

/**
 * Parses `[start, end)` of the expanded text as a pipeline: "search" = a search (implied `search`
 * first, or a leading `|` and a generating command); "commands" = commands without a leading pipe
 * (the inside of `appendpipe [...]`).
 */
function parsePipelineRange(
  src: SourceText,
  start: number,
  end: number,
  mode: "search" | "commands",
): Pipeline {
  const expanded = src.text;
  const file = src.file;
  const segments = splitPipes(src, start, end);
  if (mode === "commands" && !segments[0].leadingPipe) segments[0] = { ...segments[0], leadingPipe: true };
  if (segments.length > MAX_COMMANDS)
    throw src.error(
      segments[MAX_COMMANDS].start,
      `too many commands (${segments.length}, at most ${MAX_COMMANDS})`,
    );
  const commands: Command[] = [];
  segments.forEach((seg, i) => {
    const s = new Scanner(src, seg.start, seg.end);
    s.skipWs();
    if (i === 0) {
      if (seg.leadingPipe) {
        const cmd = parseCommand(s);
        if (
          mode === "search" &&
          !["inputlookup", "search", "tstats", "datamodel", "from"].includes(cmd.name)
        ) {
          throw s.error(
            `a search that starts with '|' must start with a generating command (inputlookup, tstats, datamodel, from), not '${cmd.name}'`,
            cmd.pos,
          );
        }
        commands.push(cmd);
      } else {
        // The implied first command is `search` (an explicit leading `search` is the same).
        const save = s.pos;
        const word = readName(s);
        if (word !== "search") s.pos = save;
        commands.push({ name: "search", pos: seg.start, expr: parseSearchExpression(s) });
      }
    } else {
      if (s.pos >= s.end) throw s.error("expected a command after '|'", seg.start - 1);
      commands.push(parseCommand(s));
    }
  });
  for (const cmd of commands) checkExpressionDepth(cmd, src);
  return { kind: "pipeline", commands, text: expanded, file };
}

/** A search pipeline (a subsearch's or map's text, already macro-expanded). */
export function parseSearchText(text: string, file: string): Pipeline {
  return parsePipelineRange(new SourceText(text, file), 0, text.length, "search");
}

/** Commands without a leading pipe (a foreach template after substitution). */
export function parseCommandsText(text: string, file: string): Pipeline {
  return parsePipelineRange(new SourceText(text, file), 0, text.length, "commands");
}

/** Parses a search expression alone (the part before any pipe), e.g. for correlation rules. */
export function parseSearchOnly(text: string, opts: ParseOptions = {}): SearchExpr | undefined {
  const p = parseSpl(text, opts);
  const first = p.commands[0];
  if (p.commands.length !== 1 || first.name !== "search") {
    throw new SourceText(p.text, p.file).error(0, "expected a search expression without pipes");
  }
  return first.expr;
}

interface Segment {
  start: number;
  end: number;
  leadingPipe: boolean;
}

/**
 * The offset of the `]` that closes the `[` at `open` (double quotes and nested brackets skipped), or
 * an error.
 */
export function closingBracket(src: SourceText, open: number, end: number): number {
  const t = src.text;
  let depth = 0;
  let inQuote = false;
  for (let i = open; i < end; i++) {
    const c = t[i];
    if (inQuote) {
      if (c === "\\") i++;
      else if (c === '"') inQuote = false;
    } else if (c === "\\") i++;
    else if (c === '"') inQuote = true;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  throw src.error(open, "expected ']' to close the subsearch '['");
}

/**
 * The first `[` outside double quotes in `[start, end)`, or -1. With `singleQuotes`, single-quoted field
 * names (eval, where) are skipped too.
 */
function firstBracket(src: SourceText, start: number, end: number, singleQuotes = false): number {
  const t = src.text;
  let inQuote = false;
  let inSingle = false;
  for (let i = start; i < end; i++) {
    const c = t[i];
    if (inQuote) {
      if (c === "\\") i++;
      else if (c === '"') inQuote = false;
    } else if (inSingle) {
      if (c === "\\") i++;
      else if (c === "'") inSingle = false;
    } else if (c === "\\") i++;
    else if (c === '"') inQuote = true;
    else if (c === "'" && singleQuotes) inSingle = true;
    else if (c === "[") return i;
  }
  return -1;
}

/**
 * Splits `[from, to)` at `|` outside double quotes and subsearch brackets. A leading `|` makes the
 * first segment a command.
 */
function splitPipes(src: SourceText, from = 0, to = src.text.length): Segment[] {
  const t = src.text.slice(0, to);
  const segs: Segment[] = [];
  let start = from;
  let inQuote = false;
  let leadingPipe = false;
  let i = from;
  while (i < t.length && /\s/.test(t[i])) i++;
  if (t[i] === "|") {
    leadingPipe = true;
    start = i + 1;
    i++;
  }
  // In eval-expression commands, single quotes delimit field names ('a|b') and are tracked too.
  const quotesFields = (from: number) => /^\s*(eval|where|head|transaction)\b/.test(t.slice(from, from + 40));
  let singleAware = segs.length === 0 && leadingPipe && quotesFields(start);
  let inSingle = false;
  for (; i < t.length; i++) {
    const c = t[i];
    if (inQuote) {
      if (c === "\\") i++;
      else if (c === '"') inQuote = false;
    } else if (inSingle) {
      if (c === "\\") i++;
      else if (c === "'") inSingle = false;
    } else if (c === "\\") i++;
    else if (c === '"') inQuote = true;
    else if (c === "'" && singleAware) inSingle = true;
    else if (c === "[") i = closingBracket(src, i, t.length);
    else if (c === "]") throw src.error(i, "unexpected ']' (no subsearch '[' to close)");
    else if (c === "|") {
      segs.push({ start, end: i, leadingPipe: segs.length === 0 && leadingPipe });
      start = i + 1;
      singleAware = quotesFields(start);
    }
  }
  if (inQuote) throw src.error(t.length, `unterminated string: expected '"' to close '"'`);
  segs.push({ start, end: t.length, leadingPipe: segs.length === 0 && leadingPipe });
  return segs;
}

function readName(s: Scanner): string {
  s.skipWs();
  let i = s.pos;
  while (i < s.end && /[A-Za-z0-9_]/.test(s.text[i])) i++;
  const w = s.text.slice(s.pos, i);
  s.pos = i;
  return w;
}

// ------------------------------------------------------------------------------------------------
// search expressions (spl-semantics §1): precedence ( ) > NOT > OR > AND

type SearchToken =
  | { kind: "("; pos: number }
  | { kind: ")"; pos: number }
  | { kind: "word"; pos: number; value: SearchValue }
  | { kind: "compare"; pos: number; field: string; op: SearchOp; value: SearchValue }
  | { kind: "subsearch"; pos: number; raw: string; pipeline: Pipeline };

const KEYWORDS = new Set(["AND", "OR", "NOT"]);

function lexSearch(s: Scanner): SearchToken[] {
  const out: SearchToken[] = [];
  for (;;) {
    s.skipWs();
    if (s.pos >= s.end) return out;
    const pos = s.pos;
    const c = s.peek();
    if (c === "(" || c === ")") {
      s.pos++;
      out.push({ kind: c, pos });
      continue;
    }
    if (c === '"') {
      out.push({ kind: "word", pos, value: readSearchValue(s) });
      continue;
    }
    if (c === "[") {
      // A subsearch (Search Manual, "About subsearches"): run first, its results become search terms.
      const close = closingBracket(s.src, pos, s.end);
      const pipeline = parsePipelineRange(s.src, pos + 1, close, "search");
      s.pos = close + 1;
      out.push({ kind: "subsearch", pos, raw: s.text.slice(pos + 1, close), pipeline });
      continue;
    }
    // A bare run: a field name followed by an operator, or a term. A backslash escapes the next
    // character (`\"` stays in the run).
    let i = s.pos;
    let op: SearchOp | undefined;
    while (i < s.end) {
      const ch = s.text[i];
      if (ch === "\\" && i + 1 < s.end) {
        i += 2;
        continue;
      }
      if (/[\s()"[]/.test(ch)) break;
      if (i > s.pos && (ch === "=" || ch === "<" || ch === ">" || (ch === "!" && s.text[i + 1] === "="))) {
        const two = s.text.slice(i, i + 2);
        op =
          two === "!=" || two === "<=" || two === ">="
            ? (two as SearchOp)
            : two === "=="
              ? "="
              : (ch as SearchOp);
        break;
      }
      i++;
    }
    const word = s.text.slice(s.pos, i);
    if (op === undefined && word !== "" && !KEYWORDS.has(word) && word !== "IN" && !word.includes("\\")) {
      // `field = value`, `field >= 10`: spaces around the operator still make a comparison (Search
      // Reference, search command, "comparison-expression": <field><comparison-operator><value>;
      // Splunk ignores the spaces). Decision D-search-spaced-op.
      let j = i;
      while (j < s.end && /\s/.test(s.text[j])) j++;
      const spacedOp = /^(?:==|!=|<=|>=|=|<|>)/.exec(s.text.slice(j, Math.min(j + 2, s.end)));
      if (j > i && spacedOp) {
        i = j;
        op = (spacedOp[0] === "==" ? "=" : spacedOp[0]) as SearchOp;
      }
    }
    if (op !== undefined) {
      s.pos = i + (s.text.slice(i, i + 2) === "==" || op.length === 2 ? 2 : 1);
      // `field= value`: the value may follow after spaces, as in Splunk.
      s.skipWs();
      if (s.pos >= s.end || s.peek() === ")") throw s.error(`expected a value after '${op}'`);
      out.push({ kind: "compare", pos, field: word, op, value: readSearchValue(s) });
      continue;
    }
    if ((word === "CASE" || word === "TERM") && s.text[i] === "(") {
      out.push({ kind: "word", pos, value: readSearchValue(s) });
      continue;
    }
    s.pos = i;
    out.push({ kind: "word", pos, value: bareValue(word) });
  }
}

/**
 * An unquoted value or term. Backslash escapes apply outside quotes too (Search Manual, "Search
 * command primer", File paths: `D:\\Digital\\RTFM` finds `D:\Digital\RTFM`); decision D-bare-escapes.
 */
function bareValue(raw: string): SearchValue {
  return { raw, value: unescapeSearchString(raw), quoted: false, caseSensitive: false, term: false };
}

/** A value after an operator or a term: "quoted", CASE(...), TERM(...), or a bare run. */
function readSearchValue(s: Scanner): SearchValue {
  const start = s.pos;
  if (s.peek() === '"') {
    const q = s.readQuotedBody();
    return {
      raw: q.raw,
      value: unescapeSearchString(q.body),
      quoted: true,
      caseSensitive: false,
      term: false,
    };
  }
  for (const directive of ["CASE(", "TERM("] as const) {
    if (s.startsWith(directive)) {
      s.pos += 5;
      let inner: SearchValue;
      if (s.peek() === '"') inner = readSearchValue(s);
      else {
        let i = s.pos;
        while (i < s.end && s.text[i] !== ")" && !/\s/.test(s.text[i])) i++;
        const w = s.text.slice(s.pos, i);
        s.pos = i;
        inner = { raw: w, value: w, quoted: false, caseSensitive: false, term: false };
      }
      if (s.peek() !== ")") throw s.error(`expected ')' to close '${directive}' at ${s.src.where(start)}`);
      s.pos++;
      return {
        raw: s.text.slice(start, s.pos),
        value: inner.value,
        quoted: inner.quoted,
        caseSensitive: inner.caseSensitive || directive === "CASE(",
        term: inner.term || directive === "TERM(",
      };
    }
  }
  let i = s.pos;
  while (i < s.end && !/[\s()[]/.test(s.text[i])) i += s.text[i] === "\\" && i + 1 < s.end ? 2 : 1;
  const w = s.text.slice(s.pos, i);
  s.pos = i;
  return bareValue(w);
}

class SearchParser {
  i = 0;
  readonly guard: NestingGuard;
  constructor(
    readonly s: Scanner,
    readonly toks: SearchToken[],
  ) {
    this.guard = new NestingGuard(s.src);
  }

  peek(): SearchToken | undefined {
    return this.toks[this.i];
  }

  isKeyword(t: SearchToken | undefined, k: string): boolean {
    return t?.kind === "word" && !t.value.quoted && t.value.raw === k;
  }

  /** andExpr := orExpr+ (explicit AND or adjacency) */
  parseAnd(stopAtParen: boolean): SearchExpr | undefined {
    const items: SearchExpr[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.kind === ")") {
        if (stopAtParen) break;
        throw this.s.error("unexpected ')'", t.pos);
      }
      if (this.isKeyword(t, "AND")) {
        if (items.length === 0) throw this.s.error("expected a search term before 'AND'", t.pos);
        this.i++;
        const n = this.peek();
        if (n === undefined || n.kind === ")")
          throw this.s.error("expected a search term after 'AND'", n?.pos ?? this.s.end);
        continue;
      }
      items.push(this.parseOr());
    }
    if (items.length === 0) return undefined;
    return items.length === 1 ? items[0] : { kind: "and", pos: items[0].pos, items };
  }

  /** orExpr := notExpr ("OR" notExpr)* */
  parseOr(): SearchExpr {
    const first = this.parseNot();
    const items = [first];
    while (this.isKeyword(this.peek(), "OR")) {
      const orTok = this.toks[this.i++];
      const n = this.peek();
      if (n === undefined || n.kind === ")" || this.isKeyword(n, "OR") || this.isKeyword(n, "AND")) {
        throw this.s.error("expected a search term after 'OR'", n?.pos ?? orTok.pos + 2);
      }
      items.push(this.parseNot());
    }
    return items.length === 1 ? first : { kind: "or", pos: first.pos, items };
  }

  parseNot(): SearchExpr {
    const t = this.peek();
    if (this.isKeyword(t, "NOT") && t) {
      this.i++;
      const n = this.peek();
      if (n === undefined || n.kind === ")")
        throw this.s.error("expected a search term after 'NOT'", n?.pos ?? this.s.end);
      this.guard.enter(t.pos);
      try {
        return { kind: "not", pos: t.pos, expr: this.parseNot() };
      } finally {
        this.guard.leave();
      }
    }
    return this.parsePrimary();
  }

  parsePrimary(): SearchExpr {
    const t = this.toks[this.i++];
    if (t === undefined) throw this.s.error("expected a search term", this.s.end);
    if (t.kind === "(") {
      this.guard.enter(t.pos);
      const inner = this.parseAnd(true);
      this.guard.leave();
      const close = this.peek();
      if (close?.kind !== ")")
        throw this.s.error(
          `expected ')' to close '(' at ${this.s.src.where(t.pos)}`,
          close?.pos ?? this.s.end,
        );
      this.i++;
      if (inner === undefined) throw this.s.error("empty parentheses", t.pos);
      return { kind: "group", pos: t.pos, expr: inner };
    }
    if (t.kind === ")") throw this.s.error("unexpected ')'", t.pos);
    if (t.kind === "subsearch") return { kind: "subsearch", pos: t.pos, raw: t.raw, pipeline: t.pipeline };
    if (t.kind === "compare") {
      if ((t.field === "earliest" || t.field === "latest") && t.op === "=") {
        return { kind: "time", pos: t.pos, modifier: t.field, raw: t.value.raw, value: t.value.value };
      }
      return { kind: "compare", pos: t.pos, field: t.field, op: t.op, ...t.value };
    }
    // `field IN (a, b*)`
    const next = this.peek();
    const after = this.toks[this.i + 1];
    if (!t.value.quoted && this.isKeyword(next, "IN") && after?.kind === "(") {
      this.i += 2;
      const values: SearchValue[] = [];
      for (;;) {
        const v = this.toks[this.i++];
        if (v === undefined)
          throw this.s.error(`expected ')' to close '(' at ${this.s.src.where(after.pos)}`, this.s.end);
        if (v.kind === ")") break;
        if (v.kind !== "word") throw this.s.error("expected a value in IN (...)", v.pos);
        // Values may be separated by commas (which stick to bare words, or stand alone after a
        // quoted value) or spaces.
        for (const part of splitInValue(v.value)) values.push(part);
      }
      return { kind: "in", pos: t.pos, field: t.value.value, values };
    }
    if (KEYWORDS.has(t.value.raw) && !t.value.quoted)
      throw this.s.error(`unexpected '${t.value.raw}'`, t.pos);
    return { kind: "term", pos: t.pos, ...t.value };
  }
}

function splitInValue(v: SearchValue): SearchValue[] {
  if (v.quoted || v.caseSensitive || v.term) return [v];
  return v.raw
    .split(",")
    .filter((p) => p !== "")
    .map(bareValue);
}

export function parseSearchExpression(s: Scanner): SearchExpr | undefined {
  const p = new SearchParser(s, lexSearch(s));
  const expr = p.parseAnd(false);
  return expr;
}

// ------------------------------------------------------------------------------------------------
// eval expressions: precedence (low -> high) XOR, OR, AND, NOT, comparison/LIKE/IN, + - ., * / %, unary -
// (decision D-eval-precedence); word operators in any case (decision D-eval-keywords).

type EvalToken =
  | { kind: "num"; pos: number; raw: string }
  | { kind: "str"; pos: number; value: string }
  | { kind: "ident"; pos: number; value: string; quoted: boolean }
  | { kind: "op"; pos: number; value: string }
  | { kind: "eof"; pos: number };

function lexEval(s: Scanner): EvalToken[] {
  const out: EvalToken[] = [];
  for (;;) {
    s.skipWs();
    const pos = s.pos;
    if (s.pos >= s.end) {
      out.push({ kind: "eof", pos });
      return out;
    }
    const c = s.peek();
    if (c === '"') {
      const q = s.readQuotedBody();
      out.push({ kind: "str", pos, value: unescapeEvalString(q.body) });
    } else if (c === "'") {
      const q = s.readSingleQuoted();
      out.push({ kind: "ident", pos, value: q.value, quoted: true });
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(s.peek(1)))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(s.text.slice(s.pos, s.end));
      const raw = m ? m[0] : c;
      // A number immediately followed by letters is a field name like 1st_field.
      const rest = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.text.slice(s.pos + raw.length, s.end));
      if (rest && !/[eE]/.test(raw)) {
        const w = raw + rest[0];
        s.pos += w.length;
        out.push({ kind: "ident", pos, value: w, quoted: false });
      } else {
        s.pos += raw.length;
        out.push({ kind: "num", pos, raw });
      }
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.text.slice(s.pos, s.end));
      const w = m ? m[0] : c;
      s.pos += w.length;
      out.push({ kind: "ident", pos, value: w, quoted: false });
    } else {
      const two = s.text.slice(s.pos, s.pos + 2);
      if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
        s.pos += 2;
        out.push({ kind: "op", pos, value: two });
      } else if ("=<>+-*/%.(),".includes(c)) {
        s.pos++;
        out.push({ kind: "op", pos, value: c });
      } else throw s.error(`unexpected character '${c}' in expression`);
    }
  }
}

/**
 * Word operators, matched in any case (decision D-eval-keywords: Splunk's own detections write
 * `and`/`or`/`not`/`like` in lower case and Splunk runs them).
 */
const EVAL_WORD_OPS = new Set(["AND", "OR", "XOR", "NOT", "LIKE", "IN"]);
const EVAL_BOOL_OPS = new Set(["AND", "OR", "XOR", "NOT"]);

class EvalParser {
  i = 0;
  readonly guard: NestingGuard;
  constructor(
    readonly s: Scanner,
    readonly toks: EvalToken[],
  ) {
    this.guard = new NestingGuard(s.src);
  }

  peek(): EvalToken {
    return this.toks[this.i];
  }
  isOp(v: string, t = this.peek()): boolean {
    return (
      (t.kind === "op" && t.value === v) ||
      (t.kind === "ident" && !t.quoted && EVAL_WORD_OPS.has(v) && t.value.toUpperCase() === v)
    );
  }
  expectOp(v: string, context?: { open: string; pos: number }): EvalToken {
    const t = this.peek();
    if (!this.isOp(v)) {
      const what = context
        ? `expected '${v}' to close '${context.open}' at ${this.s.src.where(context.pos)}`
        : `expected '${v}'`;
      throw this.s.error(what, t.pos);
    }
    this.i++;
    return t;
  }

  parseExpr(): EvalExpr {
    this.guard.enter(this.peek()?.pos ?? this.s.end);
    try {
      return this.parseBinary(0);
    } finally {
      this.guard.leave();
    }
  }

  static LEVELS: string[][] = [["XOR"], ["OR"], ["AND"]];

  parseBinary(level: number): EvalExpr {
    if (level >= EvalParser.LEVELS.length) return this.parseNot();
    let left = this.parseBinary(level + 1);
    for (;;) {
      const t = this.peek();
      const op = EvalParser.LEVELS[level].find((o) => this.isOp(o, t));
      if (!op) return left;
      this.i++;
      const right = this.parseBinary(level + 1);
      left = { kind: "binary", pos: left.pos, op: op as EvalBinaryOp, left, right };
    }
  }

  parseNot(): EvalExpr {
    const t = this.peek();
    if (this.isOp("NOT", t)) {
      this.i++;
      this.guard.enter(t.pos);
      try {
        return { kind: "unary", pos: t.pos, op: "NOT", expr: this.parseNot() };
      } finally {
        this.guard.leave();
      }
    }
    return this.parseComparison();
  }

  parseComparison(): EvalExpr {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      const op = ["=", "==", "!=", "<", "<=", ">", ">=", "LIKE"].find((o) => this.isOp(o, t));
      if (op) {
        this.i++;
        const right = this.parseAdditive();
        left = { kind: "binary", pos: left.pos, op: op as EvalBinaryOp, left, right };
        continue;
      }
      if (this.isOp("IN", t)) {
        this.i++;
        const open = this.expectOp("(");
        const list: EvalExpr[] = [];
        if (!this.isOp(")")) {
          list.push(this.parseExpr());
          while (this.isOp(",")) {
            this.i++;
            list.push(this.parseExpr());
          }
        }
        this.expectOp(")", { open: "(", pos: open.pos });
        left = { kind: "in", pos: left.pos, expr: left, list };
        continue;
      }
      return left;
    }
  }

  parseAdditive(): EvalExpr {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      const op = ["+", "-", "."].find((o) => this.isOp(o, t));
      if (!op) return left;
      this.i++;
      const right = this.parseMultiplicative();
      left = { kind: "binary", pos: left.pos, op: op as EvalBinaryOp, left, right };
    }
  }

  parseMultiplicative(): EvalExpr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      const op = ["*", "/", "%"].find((o) => this.isOp(o, t));
      if (!op) return left;
      this.i++;
      const right = this.parseUnary();
      left = { kind: "binary", pos: left.pos, op: op as EvalBinaryOp, left, right };
    }
  }

  parseUnary(): EvalExpr {
    const t = this.peek();
    if (this.isOp("-", t) || this.isOp("+", t)) {
      this.i++;
      this.guard.enter(t.pos);
      try {
        return {
          kind: "unary",
          pos: t.pos,
          op: (t as { value: string }).value as "-" | "+",
          expr: this.parseUnary(),
        };
      } finally {
        this.guard.leave();
      }
    }
    return this.parsePrimary();
  }

  parsePrimary(): EvalExpr {
    const t = this.toks[this.i++];
    switch (t.kind) {
      case "num":
        return { kind: "number", pos: t.pos, value: Number(t.raw), raw: t.raw };
      case "str":
        return { kind: "string", pos: t.pos, value: t.value };
      case "ident": {
        // In operand position `like(`/`LIKE(`, `in(`, `IF(` are function calls; names are matched
        // case-insensitively (decision D-eval-case). NOT/AND/OR/XOR never name a function.
        if (!t.quoted && this.isOp("(") && !EVAL_BOOL_OPS.has(t.value.toUpperCase())) {
          const open = this.toks[this.i++];
          const args: EvalExpr[] = [];
          if (!this.isOp(")")) {
            args.push(this.parseExpr());
            while (this.isOp(",")) {
              this.i++;
              args.push(this.parseExpr());
            }
          }
          this.expectOp(")", { open: "(", pos: open.pos });
          return { kind: "call", pos: t.pos, name: t.value.toLowerCase(), args };
        }
        if (!t.quoted && EVAL_WORD_OPS.has(t.value.toUpperCase()))
          throw this.s.error(`unexpected '${t.value}'`, t.pos);
        return { kind: "field", pos: t.pos, name: t.value, quoted: t.quoted };
      }
      case "op":
        if (t.value === "(") {
          const inner = this.parseExpr();
          this.expectOp(")", { open: "(", pos: t.pos });
          return { kind: "group", pos: t.pos, expr: inner };
        }
        throw this.s.error(`unexpected '${t.value}'`, t.pos);
      case "eof":
        this.i--;
        throw this.s.error("expected an expression", t.pos);
    }
  }
}

/** Parses one eval expression from the scanner's current position; stops before a top-level ','. */
function parseEvalAt(s: Scanner, toks: EvalToken[], start: number): { expr: EvalExpr; next: number } {
  const p = new EvalParser(s, toks);
  p.i = start;
  const expr = p.parseExpr();
  return { expr, next: p.i };
}

export function parseEvalExpression(s: Scanner): EvalExpr {
  const toks = lexEval(s);
  const { expr, next } = parseEvalAt(s, toks, 0);
  const t = toks[next];
  if (t.kind !== "eof")
    throw s.error(`unexpected '${"value" in t ? t.value : "raw" in t ? t.raw : ""}' after expression`, t.pos);
  return expr;
}

// ------------------------------------------------------------------------------------------------
// commands

const SUPPORTED = [
  "search",
  "where",
  "regex",
  "eval",
  "table",
  "fields",
  "rename",
  "sort",
  "head",
  "tail",
  "dedup",
  "stats",
  "eventstats",
  "streamstats",
  "top",
  "rare",
  "rex",
  "lookup",
  "inputlookup",
  "fillnull",
  "mvexpand",
  "bin",
  "bucket",
  "transaction",
  "convert",
  "tstats",
  "datamodel",
  "from",
  "makemv",
  "replace",
  "addtotals",
  "join",
  "append",
  "appendpipe",
  "foreach",
  "spath",
  "xmlkv",
  "fromjson",
  "format",
  "return",
  "map",
  "timechart",
  "outputlookup",
];

/** Commands that take a subsearch (or a template) in brackets. */
const BRACKET_COMMANDS = new Set(["join", "append", "appendpipe", "foreach", "map"]);

/**
 * Commands Splunk has that cannot run offline: one clear reason each (decisions D-iplocation, D-mstats).
 */
const OFFLINE_UNAVAILABLE: Record<string, string> = {
  iplocation:
    "iplocation needs a GeoLite2/GeoIP2 City database (.mmdb); none is installed with dcomhunt (Debian's geoip-database package holds only the legacy 2019 country file)",
  mstats:
    "mstats reads a Splunk metrics index; dcomhunt reads event logs only and has no metrics store offline",
};

function parseCommand(s: Scanner): Command {
  s.skipWs();
  const pos = s.pos;
  const name = readName(s);
  if (name === "") throw s.error("expected a command name");
  if (OFFLINE_UNAVAILABLE[name] !== undefined) throw s.error(OFFLINE_UNAVAILABLE[name], pos);
  if (!SUPPORTED.includes(name)) {
    throw s.error(`unsupported command '${name}' (supported: ${SUPPORTED.join(", ")})`, pos);
  }
  if (name !== "search") {
    const open = firstBracket(s.src, s.pos, s.end, ["eval", "where", "head", "transaction"].includes(name));
    if (open >= 0 && !BRACKET_COMMANDS.has(name))
      throw s.error(`a subsearch '[...]' is not supported in '${name}'`, open);
    if (open >= 0 || BRACKET_COMMANDS.has(name)) {
      let close = -1;
      if (open >= 0) {
        close = closingBracket(s.src, open, s.end);
        const rest = new Scanner(s.src, close + 1, s.end);
        if (!rest.atEnd()) throw rest.error(`unexpected '${rest.peek()}' after the subsearch of ${name}`);
      }
      const args = new Scanner(s.src, s.pos, open >= 0 ? open : s.end);
      return parseBracketCommand(name, new ArgReader(args, lexArgs(args)), pos, open, close);
    }
  }
  switch (name) {
    case "search":
      return { name, pos, expr: parseSearchExpression(s) };
    case "where":
      return { name, pos, expr: parseEvalExpression(s) };
    case "eval":
      return parseEval(s, pos);
    case "regex":
      return parseRegex(s, pos);
    case "rex":
      return parseRex(s, pos);
    default:
      return parseArgCommand(name, new ArgReader(s, lexArgs(s)), pos);
  }
}

function parseEval(s: Scanner, pos: number): Command {
  const toks = lexEval(s);
  const assignments: { field: string; expr: EvalExpr }[] = [];
  let i = 0;
  for (;;) {
    const target = toks[i];
    if (target.kind !== "ident") throw s.error("expected a field name to assign", target.pos);
    const eq = toks[i + 1];
    if (!(eq.kind === "op" && eq.value === "="))
      throw s.error(`expected '=' after '${target.value}'`, eq.pos);
    const r = parseEvalAt(s, toks, i + 2);
    assignments.push({ field: target.value, expr: r.expr });
    i = r.next;
    const t = toks[i];
    if (t.kind === "eof") break;
    if (t.kind === "op" && t.value === ",") {
      i++;
      continue;
    }
    throw s.error("expected ',' or the end of the eval command", t.pos);
  }
  return { name: "eval", pos, assignments };
}

function parseRegex(s: Scanner, pos: number): Command {
  s.skipWs();
  let field = "_raw";
  let negate = false;
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|=)\s*/.exec(s.text.slice(s.pos, s.end));
  if (m && s.text[s.pos + m[0].length] === '"') {
    field = m[1];
    negate = m[2] === "!=";
    s.pos += m[0].length;
  }
  if (s.peek() !== '"')
    throw s.error('expected a quoted regular expression, e.g. regex Image="\\\\cmd\\.exe$"');
  const q = s.readQuotedBody();
  if (!s.atEnd()) throw s.error("unexpected text after the regular expression");
  return { name: "regex", pos, field, negate, pattern: unescapeSearchString(q.body) };
}

function parseRex(s: Scanner, pos: number): Command {
  const r = new ArgReader(s, lexArgs(s));
  let field = "_raw";
  let maxMatch = 1;
  let mode: "extract" | "sed" = "extract";
  let pattern: string | undefined;
  while (!r.done()) {
    const t = r.next();
    if (t.kind === "quoted") {
      if (pattern !== undefined) throw s.error("rex takes one regular expression", t.pos);
      pattern = t.value;
      continue;
    }
    if (t.kind === "word" && r.peekKind("=")) {
      r.next();
      const v = r.value();
      if (t.value === "field") field = v.value;
      else if (t.value === "max_match") maxMatch = r.int(v);
      else if (t.value === "mode") {
        if (v.value !== "sed") throw s.error(`unsupported rex mode '${v.value}' (only mode=sed)`, v.pos);
        mode = "sed";
      } else if (t.value === "offset_field") throw s.error("unsupported rex option 'offset_field'", t.pos);
      else throw s.error(`unknown rex option '${t.value}'`, t.pos);
      continue;
    }
    throw s.error(`unexpected '${t.raw}' in rex`, t.pos);
  }
  if (pattern === undefined) throw s.error("rex needs a quoted regular expression", pos);
  return { name: "rex", pos, field, pattern, maxMatch, mode };
}

/** Cursor over command-argument tokens. */
class ArgReader {
  i = 0;
  constructor(
    readonly s: Scanner,
    readonly toks: ArgToken[],
  ) {}
  done(): boolean {
    return this.i >= this.toks.length;
  }
  peek(): ArgToken | undefined {
    return this.toks[this.i];
  }
  peekKind(kind: ArgToken["kind"], offset = 0): boolean {
    return this.toks[this.i + offset]?.kind === kind;
  }
  peekWord(value: string, caseInsensitive = true): boolean {
    const t = this.peek();
    return (
      t?.kind === "word" &&
      (caseInsensitive ? t.value.toLowerCase() === value.toLowerCase() : t.value === value)
    );
  }
  next(): ArgToken {
    const t = this.toks[this.i++];
    if (t === undefined) throw this.s.error("unexpected end of command", this.s.end);
    return t;
  }
  /** A word or quoted value; `values(x)` written without spaces is one name (a stats output field). */
  value(what = "a value"): ArgToken {
    const t = this.toks[this.i];
    if (t === undefined || (t.kind !== "word" && t.kind !== "quoted"))
      throw this.s.error(`expected ${what}`, t?.pos ?? this.s.end);
    this.i++;
    return t.kind === "word" ? this.gluedCall(t) : t;
  }
  /**
   * `count(x)`, `dc(user)` as a field name: a word followed at once by `(` ... `)` with nothing
   * outside the parentheses; the tokens are merged into one word.
   */
  gluedCall(t: ArgToken): ArgToken {
    const open = this.toks[this.i];
    if (open?.kind !== "(" || open.pos !== t.pos + t.raw.length) return t;
    let depth = 0;
    for (let j = this.i; j < this.toks.length; j++) {
      const k = this.toks[j].kind;
      if (k === "(") depth++;
      else if (k === ")" && --depth === 0) {
        const end = this.toks[j].pos + 1;
        const raw = this.s.text.slice(t.pos, end);
        this.i = j + 1;
        return { kind: "word", value: raw, raw, pos: t.pos };
      }
    }
    return t;
  }
  int(t: ArgToken): number {
    if (!/^\d+$/.test(t.value)) throw this.s.error(`expected a whole number, got '${t.value}'`, t.pos);
    return Number(t.value);
  }
  skipComma(): void {
    if (this.peekKind(",")) this.i++;
  }
  /** A field list: words/quoted separated by spaces or commas, until a stop word. */
  fieldList(stop: string[] = []): string[] {
    const out: string[] = [];
    while (!this.done()) {
      if (this.peekKind(",")) {
        this.i++;
        continue;
      }
      const t = this.peek();
      if (t === undefined || (t.kind !== "word" && t.kind !== "quoted")) break;
      if (t.kind === "word" && stop.some((w) => w.toLowerCase() === t.value.toLowerCase())) break;
      if (this.peekKind("=", 1)) break;
      this.i++;
      out.push(t.kind === "word" ? this.gluedCall(t).value : t.value);
    }
    return out;
  }
  /** `name=value` options at the current position. */
  options(allowed: string[], into: Record<string, string>): void {
    while (this.peek()?.kind === "word" && this.peekKind("=", 1)) {
      const t = this.peek() as ArgToken;
      if (!allowed.includes(t.value)) break;
      this.i += 2;
      into[t.value] = this.value().value;
    }
  }
  end(command: string): void {
    const t = this.peek();
    if (t) throw this.s.error(`unexpected '${t.raw}' in ${command}`, t.pos);
  }
}

function parseBool(r: ArgReader, t: ArgToken): boolean {
  const v = t.value.toLowerCase();
  if (["t", "true", "1", "yes"].includes(v)) return true;
  if (["f", "false", "0", "no"].includes(v)) return false;
  throw r.s.error(`expected true or false, got '${t.value}'`, t.pos);
}

/** Seconds of a span like 30s, 5m, 1h, 2d, 1w (transaction maxspan/maxpause). */
export function parseDurationSeconds(text: string): number | undefined {
  const m =
    /^(\d+(?:\.\d+)?)(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)?$/i.exec(
      text,
    );
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = (m[2] ?? "s").toLowerCase();
  const mult = u.startsWith("w")
    ? 604800
    : u.startsWith("d")
      ? 86400
      : u.startsWith("h")
        ? 3600
        : u.startsWith("m")
          ? 60
          : 1;
  return n * mult;
}

function sortKeys(r: ArgReader, stopAtDesc: boolean): SortKey[] {
  const keys: SortKey[] = [];
  while (!r.done()) {
    if (r.peekKind(",")) {
      r.next();
      continue;
    }
    const t = r.peek() as ArgToken;
    if (
      stopAtDesc &&
      t.kind === "word" &&
      (t.value === "desc" || t.value === "d") &&
      r.i === r.toks.length - 1
    )
      break;
    let desc = false;
    let word = r.next();
    if (word.kind === "word" && (word.value === "-" || word.value === "+")) {
      desc = word.value === "-";
      word = r.value("a field name after '" + word.value + "'");
    } else if (
      word.kind === "word" &&
      (word.value.startsWith("-") || word.value.startsWith("+")) &&
      word.value.length > 1
    ) {
      desc = word.value[0] === "-";
      word = { ...word, value: word.value.slice(1) };
    }
    if (word.kind !== "word" && word.kind !== "quoted") throw r.s.error("expected a field name", word.pos);
    let type: SortKey["type"] = "auto";
    let field = word.value;
    if (["auto", "num", "str", "ip"].includes(word.value) && r.peekKind("(")) {
      type = word.value as SortKey["type"];
      const open = r.next();
      field = r.value("a field name").value;
      if (!r.peekKind(")"))
        throw r.s.error(`expected ')' to close '(' at ${r.s.src.where(open.pos)}`, r.peek()?.pos ?? r.s.end);
      r.next();
    }
    keys.push({ field, desc, type });
  }
  return keys;
}

function parseAggregations(r: ArgReader, command: string, stop: string[] = []): Aggregation[] {
  const out: Aggregation[] = [];
  while (!r.done()) {
    if (r.peekKind(",")) {
      r.next();
      continue;
    }
    if (r.peekWord("by") || r.peekKind("=", 1) || stop.some((w) => r.peekWord(w))) break;
    const t = r.next();
    if (t.kind !== "word") throw r.s.error(`expected an aggregation function in ${command}`, t.pos);
    let fn = t.value;
    let field: string | undefined;
    let evalExpr: EvalExpr | undefined;
    if (r.peekKind("(")) {
      const open = r.next();
      if (r.peekWord("eval", false) && r.peekKind("(", 1)) {
        // func(eval(expression)): the aggregate of the expression's value per row (Search
        // Reference, stats, "Usage: eval expressions with statistical functions").
        const ev = r.next();
        const evOpen = r.next();
        let depth = 1;
        let j = r.i;
        for (; j < r.toks.length; j++) {
          const k = r.toks[j].kind;
          if (k === "(") depth++;
          else if (k === ")" && --depth === 0) break;
        }
        if (j >= r.toks.length)
          throw r.s.error(`expected ')' to close '(' at ${r.s.src.where(evOpen.pos)}`, r.s.end);
        evalExpr = parseEvalExpression(new Scanner(r.s.src, evOpen.pos + 1, r.toks[j].pos));
        field = r.s.text.slice(ev.pos, r.toks[j].pos + 1);
        r.i = j + 1;
      } else if (!r.peekKind(")")) field = r.value("a field name").value;
      if (!r.peekKind(")"))
        throw r.s.error(`expected ')' to close '(' at ${r.s.src.where(open.pos)}`, r.peek()?.pos ?? r.s.end);
      r.next();
    }
    fn = fn.toLowerCase();
    if (fn === "c") fn = "count";
    if (fn === "distinct_count" || fn === "estdc") fn = "dc";
    if (!AGGREGATIONS.has(fn) && !PERCENTILE.test(fn))
      throw r.s.error(`unsupported ${command} function '${t.value}'`, t.pos);
    if (fn !== "count" && field === undefined)
      throw r.s.error(`${fn} needs a field, e.g. ${fn}(Image)`, t.pos);
    let as: string | undefined;
    if (r.peekWord("as")) {
      r.next();
      as = r.value("a name after 'as'").value;
    }
    out.push(evalExpr ? { fn, field, as, eval: evalExpr } : { fn, field, as });
  }
  if (out.length === 0)
    throw r.s.error(`${command} needs at least one aggregation, e.g. count`, r.peek()?.pos ?? r.s.end);
  return out;
}

export const AGGREGATIONS = new Set([
  "count",
  "dc",
  "values",
  "list",
  "min",
  "max",
  "avg",
  "mean",
  "sum",
  "first",
  "last",
  "earliest",
  "latest",
  "range",
  "stdev",
  "stdevp",
  "var",
  "varp",
  "median",
  "mode",
  "sumsq",
]);

/** perc95, p95, exactperc99, upperperc90: the Nth percentile. */
export const PERCENTILE = /^(?:perc|p|exactperc|upperperc)(\d+(?:\.\d+)?)$/;

function renameList(r: ArgReader, command: string): FieldRename[] {
  const out: FieldRename[] = [];
  while (!r.done()) {
    if (r.peekKind(",")) {
      r.next();
      continue;
    }
    const from = r.value("a field name").value;
    if (!r.peekWord("as"))
      throw r.s.error(`expected 'AS' after '${from}' in ${command}`, r.peek()?.pos ?? r.s.end);
    r.next();
    out.push({ from, to: r.value("a new field name").value });
  }
  return out;
}

function parseArgCommand(name: string, r: ArgReader, pos: number): Command {
  const s = r.s;
  switch (name) {
    case "table": {
      const fields = r.fieldList();
      r.end(name);
      if (fields.length === 0) throw s.error("table needs at least one field", pos);
      return { name, pos, fields };
    }
    case "fields": {
      let mode: "+" | "-" = "+";
      if (r.peekWord("-") || r.peekWord("+")) mode = r.next().value as "+" | "-";
      const fields = r.fieldList();
      r.end(name);
      if (fields.length === 0) throw s.error("fields needs at least one field", pos);
      return { name, pos, mode, fields };
    }
    case "rename":
      return { name, pos, renames: renameList(r, name) };
    case "sort": {
      let limit: number | undefined;
      if (r.peek()?.kind === "word" && /^\d+$/.test(r.peek()?.value ?? "")) limit = r.int(r.next());
      else if (r.peekWord("limit") && r.peekKind("=", 1)) {
        r.i += 2;
        limit = r.int(r.value());
      }
      const keys = sortKeys(r, true);
      let reverse = false;
      if (r.peekWord("desc") || r.peekWord("d")) {
        r.next();
        reverse = true;
      }
      r.end(name);
      if (keys.length === 0) throw s.error("sort needs at least one field", pos);
      return { name, pos, limit, keys, reverse };
    }
    case "head": {
      let count = 10;
      let expr: EvalExpr | undefined;
      if (r.peekKind("(")) {
        // head (expr): re-read the rest of the segment as an eval expression.
        const sub = new Scanner(s.src, r.peek()?.pos ?? s.end, s.end);
        expr = parseEvalExpression(sub);
        if (expr.kind === "group") expr = expr.expr;
        r.i = r.toks.length;
      } else if (!r.done()) {
        const t = r.next();
        if (t.kind === "word" && t.value === "limit" && r.peekKind("=")) {
          r.next();
          count = r.int(r.value());
        } else count = r.int(t);
      }
      r.end(name);
      return expr ? { name, pos, count, expr } : { name, pos, count };
    }
    case "tail": {
      let count = 10;
      if (!r.done()) count = r.int(r.next());
      r.end(name);
      return { name, pos, count };
    }
    case "dedup": {
      let count = 1;
      let keepempty = false;
      let consecutive = false;
      let keepevents = false;
      if (r.peek()?.kind === "word" && /^\d+$/.test(r.peek()?.value ?? "")) count = r.int(r.next());
      const fields: string[] = [];
      let sortby: SortKey[] = [];
      while (!r.done()) {
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        const t = r.peek() as ArgToken;
        if (
          t.kind === "word" &&
          r.peekKind("=", 1) &&
          ["keepempty", "consecutive", "keepevents"].includes(t.value)
        ) {
          r.i += 2;
          const v = parseBool(r, r.value());
          if (t.value === "keepempty") keepempty = v;
          else if (t.value === "consecutive") consecutive = v;
          else keepevents = v;
          continue;
        }
        if (t.kind === "word" && t.value === "sortby") {
          r.next();
          sortby = sortKeys(r, false);
          continue;
        }
        fields.push(r.value("a field name").value);
      }
      if (fields.length === 0) throw s.error("dedup needs at least one field", pos);
      return { name, pos, count, fields, keepempty, consecutive, keepevents, sortby };
    }
    case "stats":
    case "eventstats":
    case "streamstats": {
      const options: Record<string, string> = {};
      const allowed =
        name === "streamstats"
          ? ["window", "current", "global", "reset_on_change", "allnum", "time_window"]
          : ["allnum", "partitions"];
      r.options(allowed, options);
      const aggregations = parseAggregations(r, name);
      r.options(allowed, options);
      let by: string[] = [];
      if (r.peekWord("by")) {
        r.next();
        by = r.fieldList();
      }
      r.options(allowed, options);
      r.end(name);
      for (const unsupported of ["time_window", "reset_on_change", "global"]) {
        if (options[unsupported] !== undefined)
          throw s.error(`unsupported ${name} option '${unsupported}'`, pos);
      }
      return { name, pos, aggregations, by, options };
    }
    case "top":
    case "rare": {
      const options: Record<string, string> = {};
      const allowed = [
        "limit",
        "countfield",
        "percentfield",
        "showcount",
        "showperc",
        "useother",
        "otherstr",
      ];
      r.options(allowed, options);
      if (r.peek()?.kind === "word" && /^\d+$/.test(r.peek()?.value ?? "")) options.limit = r.next().value;
      r.options(allowed, options);
      const fields = r.fieldList(["by"]);
      r.options(allowed, options);
      let by: string[] = [];
      if (r.peekWord("by")) {
        r.next();
        by = r.fieldList();
      }
      r.options(allowed, options);
      r.end(name);
      if (fields.length === 0) throw s.error(`${name} needs at least one field`, pos);
      return { name, pos, fields, by, options };
    }
    case "lookup": {
      const options: Record<string, string> = {};
      r.options(["local", "update", "event_time_field"], options);
      const table = r.value("a lookup table name").value;
      const match: FieldRename[] = [];
      while (!r.done() && !r.peekWord("OUTPUT", false) && !r.peekWord("OUTPUTNEW", false)) {
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        const f = r.value("a lookup field").value;
        let as = f;
        if (r.peekWord("as")) {
          r.next();
          as = r.value("an event field name").value;
        }
        match.push({ from: f, to: as });
      }
      if (match.length === 0) throw s.error("lookup needs at least one field to match", pos);
      let outputMode: "OUTPUT" | "OUTPUTNEW" | undefined;
      const output: FieldRename[] = [];
      if (!r.done()) {
        outputMode = r.next().value as "OUTPUT" | "OUTPUTNEW";
        while (!r.done()) {
          if (r.peekKind(",")) {
            r.next();
            continue;
          }
          const f = r.value("an output field").value;
          let as = f;
          if (r.peekWord("as")) {
            r.next();
            as = r.value("an event field name").value;
          }
          output.push({ from: f, to: as });
        }
      }
      return { name, pos, table, options, match, outputMode, output };
    }
    case "inputlookup": {
      let append = false;
      while (r.peek()?.kind === "word" && r.peekKind("=", 1)) {
        const t = r.next();
        r.next();
        const v = r.value();
        if (t.value === "append") append = parseBool(r, v);
        else throw s.error(`unsupported inputlookup option '${t.value}'`, t.pos);
      }
      const table = r.value("a lookup table name").value;
      let where: SearchExpr | undefined;
      if (r.peekWord("where")) {
        const wt = r.next();
        const sub = new Scanner(s.src, wt.pos + 5, s.end);
        where = parseSearchExpression(sub);
        r.i = r.toks.length;
      }
      r.end(name);
      return { name, pos, table, append, where };
    }
    case "fillnull": {
      let value = "0";
      if (r.peekWord("value") && r.peekKind("=", 1)) {
        r.i += 2;
        value = r.value().value;
      }
      const fields = r.fieldList();
      r.end(name);
      return { name, pos, value, fields };
    }
    case "mvexpand": {
      const field = r.value("a field name").value;
      let limit: number | undefined;
      if (r.peekWord("limit") && r.peekKind("=", 1)) {
        r.i += 2;
        limit = r.int(r.value());
      }
      r.end(name);
      return { name, pos, field, limit };
    }
    case "bin":
    case "bucket": {
      let span: string | undefined;
      let field: string | undefined;
      let as: string | undefined;
      while (!r.done()) {
        const t = r.next();
        if (t.kind === "word" && r.peekKind("=")) {
          r.next();
          const v = r.value();
          if (t.value === "span") span = v.value;
          else throw s.error(`unsupported ${name} option '${t.value}' (only span=)`, t.pos);
        } else if (t.kind === "word" && t.value.toLowerCase() === "as") as = r.value("a field name").value;
        else if (t.kind === "word" || t.kind === "quoted") {
          if (field !== undefined) throw s.error(`unexpected '${t.raw}' in ${name}`, t.pos);
          field = t.value;
        } else throw s.error(`unexpected '${t.raw}' in ${name}`, t.pos);
      }
      if (field === undefined) throw s.error(`${name} needs a field, e.g. ${name} _time span=1h`, pos);
      if (span === undefined)
        throw s.error(`${name} needs span=, e.g. span=1h (bins= is not supported)`, pos);
      return { name, pos, field, as, span };
    }
    case "transaction": {
      const options: Record<string, string> = {};
      const fields: string[] = [];
      let startswith: TransactionBound | undefined;
      let endswith: TransactionBound | undefined;
      while (!r.done()) {
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        const t = r.next();
        if (t.kind === "word" && r.peekKind("=")) {
          r.next();
          if (t.value === "startswith" || t.value === "endswith") {
            const bound = parseBound(r);
            if (t.value === "startswith") startswith = bound;
            else endswith = bound;
            continue;
          }
          const v = r.value();
          if (!["maxspan", "maxpause", "maxevents", "keepevicted", "mvlist"].includes(t.value)) {
            throw s.error(`unsupported transaction option '${t.value}'`, t.pos);
          }
          options[t.value] = v.value;
          continue;
        }
        if (t.kind !== "word" && t.kind !== "quoted")
          throw s.error(`unexpected '${t.raw}' in transaction`, t.pos);
        fields.push(t.value);
      }
      const dur = (key: string): number | undefined => {
        const v = options[key];
        if (v === undefined || v === "-1") return undefined;
        const d = parseDurationSeconds(v);
        if (d === undefined) throw s.error(`bad ${key} '${v}' (e.g. 30s, 5m, 1h, 1d)`, pos);
        return d;
      };
      const maxevents =
        options.maxevents === undefined || options.maxevents === "-1" ? undefined : Number(options.maxevents);
      return {
        name,
        pos,
        fields,
        maxspan: dur("maxspan"),
        maxpause: dur("maxpause"),
        maxevents,
        startswith,
        endswith,
        options,
      };
    }
    case "convert":
      return parseConvert(r, pos);
    case "tstats":
      return parseTstats(r, pos);
    case "makemv": {
      const o: Record<string, string> = {};
      r.options(["delim", "tokenizer", "allowempty", "setsv"], o);
      const field = r.value("a field name").value;
      r.options(["delim", "tokenizer", "allowempty", "setsv"], o);
      r.end(name);
      const bool = (k: string) =>
        o[k] === undefined ? false : parseBool(r, { kind: "word", value: o[k], raw: o[k], pos });
      return {
        name,
        pos,
        field,
        delim: o.tokenizer === undefined ? (o.delim ?? " ") : undefined,
        tokenizer: o.tokenizer,
        allowempty: bool("allowempty"),
        setsv: bool("setsv"),
      };
    }
    case "replace": {
      const pairs: { from: string; to: string }[] = [];
      let fields: string[] = [];
      while (!r.done()) {
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        if (r.peekWord("in") && pairs.length > 0) {
          r.next();
          fields = r.fieldList();
          break;
        }
        const from = r.value("a value to replace").value;
        if (!r.peekWord("with"))
          throw s.error(`expected WITH after '${from}' in replace`, r.peek()?.pos ?? s.end);
        r.next();
        pairs.push({ from, to: r.value("a replacement after WITH").value });
      }
      r.end(name);
      if (pairs.length === 0)
        throw s.error('replace needs <value> WITH <value>, e.g. replace "a*" WITH "b*" IN f', pos);
      return { name, pos, pairs, fields };
    }
    case "addtotals": {
      const o: Record<string, string> = {};
      const allowed = ["row", "col", "fieldname", "labelfield", "label"];
      r.options(allowed, o);
      const fields = r.fieldList();
      r.options(allowed, o);
      r.end(name);
      const bool = (k: string, d: boolean) =>
        o[k] === undefined ? d : parseBool(r, { kind: "word", value: o[k], raw: o[k], pos });
      return {
        name,
        pos,
        row: bool("row", true),
        col: bool("col", false),
        fieldname: o.fieldname ?? "Total",
        labelfield: o.labelfield,
        label: o.label ?? "Total",
        fields,
      };
    }
    case "spath": {
      // Search Reference, spath: input (default _raw), output, path (also the first bare argument).
      const opts: Record<string, string> = {};
      let path: string | undefined;
      while (!r.done()) {
        if (r.peek()?.kind === "word" && r.peekKind("=", 1)) {
          const k = r.next();
          r.next();
          const key = k.value.toLowerCase();
          if (!["input", "output", "path"].includes(key))
            throw s.error(`unknown spath option '${k.value}'`, k.pos);
          opts[key] = r.value().value;
        } else if (path === undefined) path = r.value("a path").value;
        else throw s.error(`unexpected '${r.peek()?.raw}' in spath`, r.peek()?.pos);
      }
      return { name, pos, input: opts.input ?? "_raw", output: opts.output, path: opts.path ?? path };
    }
    case "xmlkv": {
      const opts: Record<string, string> = {};
      r.options(["maxinputs"], opts);
      const field = r.done() ? "_raw" : r.value("a field name").value;
      r.options(["maxinputs"], opts);
      r.end(name);
      return { name, pos, field };
    }
    case "fromjson": {
      const field = r.value("a field name").value;
      const opts: Record<string, string> = {};
      r.options(["prefix"], opts);
      r.end(name);
      return { name, pos, field, prefix: opts.prefix ?? "" };
    }
    case "format": {
      // Search Reference, format: defaults "(" "(" "AND" ")" "OR" ")", mvsep OR, emptystr "NOT ( )".
      const opts: Record<string, string> = {};
      r.options(["mvsep", "maxresults", "emptystr"], opts);
      const parts: string[] = [];
      while (r.peek()?.kind === "quoted") parts.push(r.next().value);
      r.options(["mvsep", "maxresults", "emptystr"], opts);
      r.end(name);
      if (parts.length !== 0 && parts.length !== 6)
        throw s.error("format takes all six row and column strings or none", pos);
      const maxresults = opts.maxresults === undefined ? 0 : Number(opts.maxresults);
      if (!Number.isInteger(maxresults) || maxresults < 0)
        throw s.error(`format maxresults must be a whole number, not '${opts.maxresults}'`, pos);
      return {
        name,
        pos,
        mvsep: opts.mvsep ?? "OR",
        maxresults,
        parts: (parts.length === 6 ? parts : ["(", "(", "AND", ")", "OR", ")"]) as [
          string,
          string,
          string,
          string,
          string,
          string,
        ],
        emptystr: opts.emptystr ?? "NOT ( )",
      };
    }
    case "return": {
      // Search Reference, return: [<count>] (<field> | <alias>=<field> | $<field>)...; count default 1.
      let count = 1;
      if (r.peek()?.kind === "word" && /^\d+$/.test(r.peek()?.value ?? "")) count = r.int(r.next());
      const items: { kind: "field" | "alias" | "value"; field: string; alias?: string }[] = [];
      while (!r.done()) {
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        const t = r.value("a field name");
        if (r.peekKind("=")) {
          r.next();
          items.push({ kind: "alias", alias: t.value, field: r.value("a field name").value });
        } else if (t.value.startsWith("$") && t.value.length > 1)
          items.push({ kind: "value", field: t.value.slice(1) });
        else items.push({ kind: "field", field: t.value });
      }
      if (items.length === 0) throw s.error("return needs at least one field", pos);
      return { name, pos, count, items };
    }
    case "timechart": {
      const options: Record<string, string> = {};
      const TC = [
        "span",
        "limit",
        "useother",
        "otherstr",
        "usenull",
        "nullstr",
        "cont",
        "bins",
        "partial",
        "fixedrange",
        "minspan",
        "agg",
        "format",
        "sep",
        "aligntime",
      ];
      r.options(TC, options);
      const aggregations = parseAggregations(r, "timechart");
      let by: string | undefined;
      if (r.peekWord("by")) {
        r.next();
        by = r.value("a field name after BY").value;
      }
      r.options(TC, options);
      if (r.peek()?.kind === "word" && r.peek()?.value.toLowerCase() === "where")
        throw s.error("timechart's 'where' series filter is not supported", r.peek()?.pos);
      r.end(name);
      const span = options.span;
      delete options.span;
      return { name, pos, aggregations, by, span, options };
    }
    case "outputlookup": {
      const opts: Record<string, string> = {};
      const OL = [
        "append",
        "create_empty",
        "override_if_empty",
        "max",
        "key_field",
        "createinapp",
        "create_context",
        "output_format",
      ];
      r.options(OL, opts);
      const table = r.value("a lookup file name").value;
      r.options(OL, opts);
      r.end(name);
      const bool = (k: string, d: boolean) =>
        opts[k] === undefined ? d : parseBool(r, { kind: "word", value: opts[k], raw: opts[k], pos });
      const max = opts.max === undefined ? undefined : Number(opts.max);
      if (max !== undefined && (!Number.isInteger(max) || max < 0))
        throw s.error(`outputlookup max must be a whole number, not '${opts.max}'`, pos);
      return {
        name,
        pos,
        table,
        append: bool("append", false),
        createEmpty: bool("create_empty", true),
        overrideIfEmpty: bool("override_if_empty", true),
        max,
      };
    }
    case "datamodel": {
      const model = r.value("a data model name, e.g. Endpoint").value;
      let dataset = model;
      if (!r.done() && !r.peekWord("search") && !r.peekWord("flat")) dataset = `${model}.${r.value().value}`;
      let mode: "search" | "flat" = "search";
      if (r.peekWord("flat")) mode = "flat";
      if (!r.done()) r.next();
      r.end(name);
      return { name, pos, datamodel: dataset, mode };
    }
    case "from": {
      const t = r.value("datamodel:<name>");
      const m = /^datamodel:(.*)$/i.exec(t.value);
      if (!m) throw s.error("only 'from datamodel:<model>.<dataset>' is supported", t.pos);
      let dataset = m[1];
      if (dataset === "" && r.peek()?.kind === "quoted") dataset = r.next().value;
      r.end(name);
      return { name, pos, datamodel: dataset, mode: "search" };
    }
  }
  throw s.error(`unsupported command '${name}'`, pos);
}

/**
 * join, append, appendpipe, foreach and map: options and fields, then `[...]` (`open`/`close` are the
 * bracket offsets, -1 when absent).
 */
function parseBracketCommand(name: string, r: ArgReader, pos: number, open: number, close: number): Command {
  const s = r.s;
  const src = s.src;
  const needBrackets = (what: string) => {
    if (open < 0) throw s.error(`${name} needs ${what} in brackets`, s.end);
  };
  switch (name) {
    case "join": {
      // Search Reference, join: type (default inner; outer = left), usetime (false), earlier (true),
      // overwrite (true), max (1; 0 = unlimited).
      const opts: Record<string, string> = {};
      r.options(["type", "usetime", "earlier", "overwrite", "max", "left", "right", "where"], opts);
      if (opts.left !== undefined || opts.right !== undefined || opts.where !== undefined)
        throw s.error("join with left=/right=/where (SPL2 style) is not supported; join on field names", pos);
      const fields = r.fieldList();
      r.options(["type", "usetime", "earlier", "overwrite", "max"], opts);
      r.end("join");
      needBrackets("a subsearch");
      const type = (opts.type ?? "inner").toLowerCase();
      if (type !== "inner" && type !== "left" && type !== "outer")
        throw s.error(`join type must be inner, left or outer, not '${opts.type}'`, pos);
      const bool = (k: string, d: boolean) =>
        opts[k] === undefined ? d : parseBool(r, { kind: "word", value: opts[k], raw: opts[k], pos });
      const max = opts.max === undefined ? 1 : Number(opts.max);
      if (!Number.isInteger(max) || max < 0)
        throw s.error(`join max must be a whole number, not '${opts.max}'`, pos);
      return {
        name: "join",
        pos,
        type,
        usetime: bool("usetime", false),
        earlier: bool("earlier", true),
        overwrite: bool("overwrite", true),
        max,
        fields,
        subsearch: parsePipelineRange(src, open + 1, close, "search"),
      };
    }
    case "append":
    case "appendpipe": {
      const options: Record<string, string> = {};
      r.options(["extendtimerange", "maxtime", "maxout", "timeout", "run_in_preview"], options);
      r.end(name);
      needBrackets(name === "append" ? "a subsearch" : "commands");
      return {
        name,
        pos,
        options,
        subsearch: parsePipelineRange(src, open + 1, close, name === "append" ? "search" : "commands"),
      };
    }
    case "foreach": {
      const opts: Record<string, string> = {};
      const fields: string[] = [];
      while (!r.done()) {
        if (r.peek()?.kind === "word" && r.peekKind("=", 1)) {
          const k = r.next().value.toLowerCase();
          r.next();
          opts[k] = r.value().value;
          continue;
        }
        if (r.peekKind(",")) {
          r.next();
          continue;
        }
        fields.push(r.value("a field name").value);
      }
      needBrackets("a template, e.g. [eval <<FIELD>> = ...]");
      const mode = (opts.mode ?? "multifield").toLowerCase();
      if (!["multifield", "multivalue", "json_array", "auto"].includes(mode))
        throw s.error(
          `foreach mode must be multifield, multivalue, json_array or auto, not '${opts.mode}'`,
          pos,
        );
      if (fields.length === 0) throw s.error("foreach needs a field list", pos);
      const template = src.text.slice(open + 1, close);
      // Parse the template once with each <<TOKEN>> replaced by a name of the same length, so that
      // errors show before the search runs, at their place in the file.
      const probe = template.replace(/<<[A-Z0-9]+>>/g, (m) => "x".repeat(m.length));
      const probeSrc = new SourceText(src.text.slice(0, open + 1) + probe + src.text.slice(close), src.file);
      parsePipelineRange(probeSrc, open + 1, close, "commands");
      return {
        name: "foreach",
        pos,
        mode: mode as "multifield",
        fields,
        fieldstr: opts.fieldstr ?? "<<FIELD>>",
        matchstr: opts.matchstr ?? "<<MATCHSTR>>",
        itemstr: opts.itemstr ?? "<<ITEM>>",
        iterstr: opts.iterstr ?? "<<ITER>>",
        template,
        templatePos: open + 1,
      };
    }
    case "map": {
      const opts: Record<string, string> = {};
      r.options(["search", "maxsearches"], opts);
      r.end("map");
      let search = opts.search;
      let searchPos = pos;
      if (open >= 0) {
        search = src.text.slice(open + 1, close);
        searchPos = open + 1;
      }
      if (search === undefined) throw s.error('map needs search="..." or a [subsearch]', pos);
      const maxsearches = opts.maxsearches === undefined ? 10 : Number(opts.maxsearches);
      if (!Number.isInteger(maxsearches) || maxsearches < 0)
        throw s.error(`map maxsearches must be a whole number, not '${opts.maxsearches}'`, pos);
      return { name: "map", pos, search, searchPos, maxsearches };
    }
  }
  throw s.error(`unsupported command '${name}'`, pos);
}

const TSTATS_OPTIONS = [
  "summariesonly",
  "prestats",
  "allow_old_summaries",
  "fillnull_value",
  "local",
  "append",
  "chunk_size",
  "include_reduced_buckets",
];

/**
 * `tstats [options] <aggs> [FROM datamodel=<m>[.<d>]] [WHERE <search>] [BY <fields> [span=<s>]]`
 * (Search Reference, tstats).
 */
function parseTstats(r: ArgReader, pos: number): Command {
  const s = r.s;
  const options: Record<string, string> = {};
  r.options(TSTATS_OPTIONS, options);
  const aggregations = parseAggregations(r, "tstats", ["from", "where"]);
  let datamodel: string | undefined;
  let where: SearchExpr | undefined;
  let by: string[] = [];
  let span: string | undefined;
  r.options(TSTATS_OPTIONS, options);
  if (r.peekWord("from")) {
    r.next();
    const t = r.value("datamodel=<name>");
    if (t.value.toLowerCase() !== "datamodel" || !r.peekKind("="))
      throw s.error("expected 'datamodel=<model>.<dataset>' after FROM", t.pos);
    r.next();
    datamodel = r.value("a data model name").value;
  }
  r.options(TSTATS_OPTIONS, options);
  if (r.peekWord("where")) {
    const wt = r.next();
    // The where clause is a search expression up to a top-level BY.
    let depth = 0;
    let j = r.i;
    for (; j < r.toks.length; j++) {
      const k = r.toks[j];
      if (k.kind === "(") depth++;
      else if (k.kind === ")") depth--;
      else if (depth === 0 && k.kind === "word" && k.value.toLowerCase() === "by") break;
    }
    const end = j < r.toks.length ? r.toks[j].pos : s.end;
    where = parseSearchExpression(new Scanner(s.src, wt.pos + wt.raw.length, end));
    r.i = j;
  }
  if (r.peekWord("by")) {
    r.next();
    for (;;) {
      if (r.peekWord("span") && r.peekKind("=", 1)) {
        r.i += 2;
        span = r.value("a span, e.g. 1h").value;
        continue;
      }
      const more = r.fieldList();
      if (more.length === 0) break;
      by = by.concat(more);
    }
  }
  r.options(TSTATS_OPTIONS, options);
  r.end("tstats");
  return { name: "tstats", pos, aggregations, datamodel, where, by, span, options };
}

export const CONVERT_FUNCTIONS = [
  "auto",
  "ctime",
  "dur2sec",
  "memk",
  "mktime",
  "mstime",
  "none",
  "num",
  "rmcomma",
  "rmunit",
];

/** `convert [timeformat=<string>] (<fn>(<wc-field>) [AS <field>])...` (Search Reference, convert). */
function parseConvert(r: ArgReader, pos: number): Command {
  const s = r.s;
  let timeformat = "%m/%d/%Y %H:%M:%S";
  const conversions: ConvertCommand["conversions"] = [];
  while (!r.done()) {
    if (r.peekKind(",")) {
      r.next();
      continue;
    }
    const t = r.next();
    if (t.kind === "word" && t.value === "timeformat" && r.peekKind("=")) {
      r.next();
      timeformat = r.value("a time format").value;
      continue;
    }
    const fn = t.value.toLowerCase();
    if (t.kind !== "word" || !r.peekKind("("))
      throw s.error(`expected a conversion like ctime(field) in convert, got '${t.raw}'`, t.pos);
    if (!CONVERT_FUNCTIONS.includes(fn))
      throw s.error(`unsupported convert function '${t.value}' (${CONVERT_FUNCTIONS.join(", ")})`, t.pos);
    const open = r.next();
    const field = r.value("a field name").value;
    if (!r.peekKind(")"))
      throw s.error(`expected ')' to close '(' at ${s.src.where(open.pos)}`, r.peek()?.pos ?? s.end);
    r.next();
    let as: string | undefined;
    if (r.peekWord("as")) {
      r.next();
      as = r.value("a field name after 'AS'").value;
      if (field.includes("*")) throw s.error("convert cannot rename a wildcard field with AS", t.pos);
    }
    conversions.push({ fn, field, as });
  }
  if (conversions.length === 0) throw s.error("convert needs a conversion, e.g. ctime(_time)", pos);
  return { name: "convert", pos, timeformat, conversions };
}

/** `startswith="search text"` or `startswith=eval(expr)`. */
function parseBound(r: ArgReader): TransactionBound {
  const t = r.next();
  const s = r.s;
  if (t.kind === "word" && t.value === "eval" && r.peekKind("(")) {
    const open = r.next();
    let depth = 1;
    let j = r.i;
    for (; j < r.toks.length; j++) {
      const k = r.toks[j].kind;
      if (k === "(") depth++;
      else if (k === ")" && --depth === 0) break;
    }
    if (j >= r.toks.length) throw s.error(`expected ')' to close '(' at ${s.src.where(open.pos)}`, s.end);
    const close = r.toks[j];
    const sub = new Scanner(s.src, open.pos + 1, close.pos);
    const expr = parseEvalExpression(sub);
    r.i = j + 1;
    return { kind: "eval", raw: s.text.slice(t.pos, close.pos + 1), expr };
  }
  if (t.kind === "(") {
    // startswith=(EventCode=4624 OR ...): a search expression in parentheses (Search Reference,
    // transaction, startswith "<search-expression>" written without quotes).
    let depth = 1;
    let j = r.i;
    for (; j < r.toks.length; j++) {
      const k = r.toks[j].kind;
      if (k === "(") depth++;
      else if (k === ")" && --depth === 0) break;
    }
    if (j >= r.toks.length) throw s.error(`expected ')' to close '(' at ${s.src.where(t.pos)}`, s.end);
    const close = r.toks[j];
    const expr = parseSearchExpression(new Scanner(s.src, t.pos + 1, close.pos));
    if (expr === undefined) throw s.error("empty startswith/endswith search", t.pos);
    r.i = j + 1;
    return { kind: "search", raw: s.text.slice(t.pos, close.pos + 1), expr };
  }
  if (t.kind === "quoted") {
    // The quoted text is itself a search; parse it from its unescaped value.
    const inner = new SourceText(t.value, s.src.file);
    const expr = parseSearchExpression(new Scanner(inner, 0, t.value.length));
    if (expr === undefined) throw s.error("empty startswith/endswith search", t.pos);
    return { kind: "search", raw: t.raw, expr };
  }
  throw s.error('expected startswith="search terms" or startswith=eval(expression)', t.pos);
}

export { SplError };
