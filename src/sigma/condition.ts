/**
 * The Sigma condition grammar: `and`, `or`, `not`, parentheses, and the quantifiers `1 of X*`,
 * `any of X*`, `all of X*`, `1 of them`, `all of them` (identifiers starting with `_` are left out
 * of `them`). Precedence: not > and > or. Keywords are case-insensitive.
 */

export type ConditionNode =
  | { kind: "ref"; name: string; pos: number }
  | { kind: "and" | "or"; items: ConditionNode[] }
  | { kind: "not"; item: ConditionNode }
  | { kind: "of"; quantifier: "one" | "all"; pattern: string; pos: number };

export class ConditionError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

interface Token {
  text: string;
  pos: number;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(\(|\)|[^\s()]+)/gy;
  let at = 0;
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    out.push({ text: m[1], pos: m.index + m[0].indexOf(m[1]) });
    at = re.lastIndex;
    m = re.exec(text);
  }
  if (text.slice(at).trim() !== "") throw new ConditionError("unexpected text in condition", at);
  return out;
}

/** Parse a condition into a tree. Positions are 0-based offsets into `text`. */
export function parseCondition(text: string): ConditionNode {
  const toks = tokenize(text);
  let i = 0;
  const peek = () => toks[i];
  const kw = (t: Token | undefined, w: string) => t !== undefined && t.text.toLowerCase() === w;
  const end = () => text.length;

  const parseOr = (): ConditionNode => {
    const items = [parseAnd()];
    while (kw(peek(), "or")) {
      i++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0] : { kind: "or", items };
  };
  const parseAnd = (): ConditionNode => {
    const items = [parseNot()];
    while (kw(peek(), "and")) {
      i++;
      items.push(parseNot());
    }
    return items.length === 1 ? items[0] : { kind: "and", items };
  };
  const parseNot = (): ConditionNode => {
    if (kw(peek(), "not")) {
      i++;
      return { kind: "not", item: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const t = peek();
    if (t === undefined) throw new ConditionError("condition ends too early", end());
    if (t.text === "(") {
      i++;
      const inner = parseOr();
      if (peek()?.text !== ")") throw new ConditionError("missing ')'", peek()?.pos ?? end());
      i++;
      return inner;
    }
    if (t.text === ")") throw new ConditionError("unexpected ')'", t.pos);
    const lower = t.text.toLowerCase();
    if ((lower === "1" || lower === "any" || lower === "all") && kw(toks[i + 1], "of")) {
      const target = toks[i + 2];
      if (target === undefined || target.text === "(" || target.text === ")")
        throw new ConditionError(`'${t.text} of' needs a name pattern or 'them'`, toks[i + 1].pos);
      i += 3;
      return { kind: "of", quantifier: lower === "all" ? "all" : "one", pattern: target.text, pos: t.pos };
    }
    if (["and", "or", "not", "of"].includes(lower)) throw new ConditionError(`unexpected '${t.text}'`, t.pos);
    if (lower === "|" || t.text.includes("|"))
      throw new ConditionError(
        "aggregation conditions (`| count() ...`) are Sigma v1: use a correlation rule",
        t.pos,
      );
    i++;
    return { kind: "ref", name: t.text, pos: t.pos };
  };

  const tree = parseOr();
  if (i < toks.length) throw new ConditionError(`unexpected '${toks[i].text}'`, toks[i].pos);
  return tree;
}

/** Names of detection identifiers a quantifier pattern selects (`them`, `sel*`, or an exact name). */
export function selectIdentifiers(pattern: string, names: string[]): string[] {
  if (pattern.toLowerCase() === "them") return names.filter((n) => !n.startsWith("_"));
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"))
      .join(".*")}$`,
  );
  return names.filter((n) => re.test(n));
}
