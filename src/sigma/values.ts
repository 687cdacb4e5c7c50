/**
 * Sigma values: the wildcard string model (`*` any run, `?` one character, `\` escapes `*`, `?` and `\`;
 * a backslash before any other character is itself), and the value-transforming modifiers (base64,
 * base64offset, wide/utf16le/utf16be/utf16, windash, expand). Everything here is a pure function of
 * the rule text: the result is a list of alternative patterns for one value.
 */

/** One piece of a Sigma pattern: literal text or a wildcard. */
export type PatternPart = { text: string } | { wild: "*" | "?" };

/** A value as a sequence of literal text and wildcards. */
export type Pattern = PatternPart[];

/** Parse a Sigma string value into literal text and wildcards. */
export function parseSigmaString(s: string): Pattern {
  const out: Pattern = [];
  let text = "";
  const flush = () => {
    if (text) out.push({ text });
    text = "";
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      const n = s[i + 1];
      if (n === "*" || n === "?" || n === "\\") {
        text += n;
        i++;
      } else text += c;
    } else if (c === "*" || c === "?") {
      flush();
      out.push({ wild: c });
    } else text += c;
  }
  flush();
  return out;
}

/** A literal value (no wildcards) as a pattern. */
export function literal(s: string): Pattern {
  return s === "" ? [] : [{ text: s }];
}

export function patternHasWildcard(p: Pattern, which?: "*" | "?"): boolean {
  return p.some((x) => "wild" in x && (which === undefined || x.wild === which));
}

/** Literal text of a pattern without wildcards (undefined when it has one). */
export function patternLiteral(p: Pattern): string | undefined {
  if (patternHasWildcard(p)) return undefined;
  return p.map((x) => ("text" in x ? x.text : "")).join("");
}

/** The pattern as an anchored regular expression body (RE2 syntax). */
export function patternToRegex(p: Pattern): string {
  return p
    .map((x) =>
      "wild" in x ? (x.wild === "*" ? "(?s:.*)" : "(?s:.)") : x.text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&"),
    )
    .join("");
}

function encodeUtf16(s: string, endian: "le" | "be"): Buffer {
  const le = Buffer.from(s, "utf16le");
  if (endian === "le") return le;
  const be = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    be[i] = le[i + 1];
    be[i + 1] = le[i];
  }
  return be;
}

/** Bytes of a value under the encoding modifiers seen so far. */
export type Encoding = "utf8" | "utf16le" | "utf16be";

export function encodeBytes(s: string, enc: Encoding): Buffer {
  return enc === "utf8" ? Buffer.from(s, "utf8") : encodeUtf16(s, enc === "utf16le" ? "le" : "be");
}

/** base64 of the bytes. */
export function base64(bytes: Buffer): string {
  return bytes.toString("base64");
}

/**
 * The three base64 forms of `bytes` as it may sit at any offset inside a longer base64 text: encode it
 * after 0, 1 and 2 bytes of padding, then cut the characters that depend on the unknown neighbours.
 */
export function base64Offsets(bytes: Buffer): string[] {
  const out: string[] = [];
  const startCut = [0, 2, 3];
  const endCut = [0, 3, 2];
  for (let i = 0; i < 3; i++) {
    const padded = Buffer.concat([Buffer.alloc(i), bytes]);
    const enc = padded.toString("base64").replace(/=+$/, "");
    const cutEnd = endCut[(bytes.length + i) % 3];
    const v = enc.slice(startCut[i], cutEnd ? enc.length - cutEnd : enc.length);
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** Dash characters `windash` substitutes for each other: hyphen, slash, en dash, em dash, horizontal bar. */
export const WINDASH = ["-", "/", "\u2013", "\u2014", "\u2015"];

/**
 * `windash`: every `-` or `/` that starts a word (at the start of the value or after white space) may
 * be written with any of the five dash characters. All combinations, capped at 256 variants.
 */
export function windashVariants(s: string): string[] {
  const positions: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if ((s[i] === "-" || s[i] === "/") && (i === 0 || /\s/.test(s[i - 1]))) positions.push(i);
  }
  let variants = [s];
  for (const pos of positions) {
    const next: string[] = [];
    for (const v of variants) for (const d of WINDASH) next.push(v.slice(0, pos) + d + v.slice(pos + 1));
    variants = next;
    if (variants.length > 256) throw new Error(`windash: too many variants (over 256) for '${s}'`);
  }
  return variants;
}

/** `expand`: replace `%name%` placeholders with each of their values; unknown placeholders are an error. */
export function expandPlaceholders(s: string, placeholders: Record<string, string[]>): string[] {
  let variants = [s];
  const names = [...s.matchAll(/%([A-Za-z0-9_.-]+)%/g)].map((m) => m[1]);
  for (const name of new Set(names)) {
    const values = placeholders[name];
    if (values === undefined || values.length === 0)
      throw new Error(`expand: placeholder %${name}% has no value (give it with --sigma-placeholders FILE)`);
    const next: string[] = [];
    for (const v of variants) for (const value of values) next.push(v.split(`%${name}%`).join(value));
    variants = next;
  }
  return variants;
}
