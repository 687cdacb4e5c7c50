/**
 * Search-command value matching (spl-semantics §1.2-1.3): the whole value against a pattern in which
 * `*` (zero or more characters) is the only wildcard; case-insensitive unless CASE() was used. No
 * regex is built: the pattern's literal parts are found in order with indexOf, so matching is linear
 * in the value's length whatever the pattern.
 */

export type WildcardMatcher = (value: string) => boolean;

// A search like the seed tests the same value against several patterns in a row
// (ParentImage="*\\mmc.exe" OR ParentImage="*\\excel.exe" ...), and a few fields per event:
// remember the last few lowered values (a reader that hands out the same string object for a
// repeated value makes a hit one pointer comparison).
const LOWER_SLOTS = 4;
const lastValues: string[] = ["", "", "", ""];
const lastLowers: string[] = ["", "", "", ""];
let nextSlot = 0;
function lower(s: string): string {
  for (let i = 0; i < LOWER_SLOTS; i++) if (lastValues[i] === s) return lastLowers[i];
  const l = s.toLowerCase();
  lastValues[nextSlot] = s;
  lastLowers[nextSlot] = l;
  nextSlot = (nextSlot + 1) % LOWER_SLOTS;
  return l;
}

/** Anchored match of `value` against `pattern` (`*` = any run of characters). */
export function compileWildcard(pattern: string, caseSensitive = false): WildcardMatcher {
  const norm = caseSensitive ? (s: string) => s : lower;
  const parts = norm(pattern).split("*");
  if (parts.length === 1) {
    const lit = parts[0];
    return (v) => v.length === lit.length && norm(v) === lit;
  }
  const head = parts[0];
  const tail = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== "");
  if (middle.length === 0) {
    if (head === "" && tail === "") return () => true;
    if (head === "") return (v) => norm(v).endsWith(tail);
    if (tail === "") return (v) => norm(v).startsWith(head);
  }
  return (raw) => {
    const v = norm(raw);
    if (v.length < head.length + tail.length || !v.startsWith(head) || !v.endsWith(tail)) return false;
    let at = head.length;
    const limit = v.length - tail.length;
    for (const p of middle) {
      const i = v.indexOf(p, at);
      if (i < 0 || i + p.length > limit) return false;
      at = i + p.length;
    }
    return true;
  };
}

/** Unanchored (contains) match, used for bare terms against `_raw`. */
export function compileContains(pattern: string, caseSensitive = false): WildcardMatcher {
  return compileWildcard(`*${pattern}*`, caseSensitive);
}

/**
 * SQL LIKE (`%` any run, `_` exactly one character), anchored, case-sensitive (decision D-like-case).
 * Segments between `%` are found leftmost-first, which is exact for this pattern class and linear-ish.
 */
export function compileLike(pattern: string): WildcardMatcher {
  const segments = pattern.split("%").map((s) => Array.from(s));
  const matchAt = (v: string[], seg: string[], at: number) => {
    if (at + seg.length > v.length) return false;
    for (let k = 0; k < seg.length; k++) if (seg[k] !== "_" && seg[k] !== v[at + k]) return false;
    return true;
  };
  return (raw) => {
    const v = Array.from(raw);
    if (segments.length === 1) return v.length === segments[0].length && matchAt(v, segments[0], 0);
    const head = segments[0];
    const tail = segments[segments.length - 1];
    if (
      v.length < head.length + tail.length ||
      !matchAt(v, head, 0) ||
      !matchAt(v, tail, v.length - tail.length)
    )
      return false;
    let at = head.length;
    const limit = v.length - tail.length;
    for (const seg of segments.slice(1, -1)) {
      let found = -1;
      for (let i = at; i + seg.length <= limit; i++) {
        if (matchAt(v, seg, i)) {
          found = i;
          break;
        }
      }
      if (found < 0) return false;
      at = found + seg.length;
    }
    return true;
  };
}
