/**
 * SPL search values in other languages. A search value is matched whole (anchored), case-insensitively
 * unless CASE() was used, and `*` is its only wildcard (spl/wildcard.ts); consecutive stars and empty
 * middle parts collapse exactly as the engine's matcher does.
 */

export type PatternShape =
  | { kind: "any" }
  | { kind: "exact"; text: string }
  | { kind: "prefix"; text: string }
  | { kind: "suffix"; text: string }
  | { kind: "contains"; text: string }
  /** head*mid1*...*tail (head/tail may be empty): the literal parts in order. */
  | { kind: "general"; head: string; middle: string[]; tail: string };

export function shapeOf(value: string): PatternShape {
  const parts = value.split("*");
  if (parts.length === 1) return { kind: "exact", text: value };
  const head = parts[0];
  const tail = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== "");
  if (head === "" && tail === "" && middle.length === 0) return { kind: "any" };
  if (middle.length === 0) {
    if (head === "") return { kind: "suffix", text: tail };
    if (tail === "") return { kind: "prefix", text: head };
  }
  if (head === "" && tail === "" && middle.length === 1) return { kind: "contains", text: middle[0] };
  return { kind: "general", head, middle, tail };
}

/** RE2 syntax: quote a literal. */
export function re2Quote(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** An RE2 pattern matching the whole value like the SPL wildcard (dot matches newlines). */
export function wildcardRegex(value: string, caseSensitive: boolean): string {
  const body = value
    .split("*")
    .map((p) => re2Quote(p))
    .join(".*");
  return `(?s${caseSensitive ? "" : "i"})^${body}$`;
}

/** Numeric text as Splunk's comparisons see it (spl/values.ts looksNumeric). */
export const NUMERIC_RE = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
export const NUMERIC_RE2 = "^\\s*[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?\\s*$";

/** The term regex of spl/search-expr.ts (bare words in `_raw`, bounded by non-alphanumerics). */
export function termRegex(value: string, caseSensitive: boolean): string {
  const body = value
    .split("*")
    .map((p) => re2Quote(p))
    .join("(?s:.*)");
  const left = value.startsWith("*") ? "" : "(?:^|[^\\p{L}\\p{N}])";
  const right = value.endsWith("*") ? "" : "(?:$|[^\\p{L}\\p{N}])";
  return `${caseSensitive ? "" : "(?i)"}${left}${body}${right}`;
}
