/**
 * Regular expressions for match(), replace(), rex and regex. Splunk uses PCRE; event data is
 * attacker-controlled, so we run them on re2js (linear time, no catastrophic backtracking) and reject
 * the PCRE features RE2 cannot run in linear time with an error that names the feature.
 */
import { RE2JS } from "re2js";

export class RegexError extends Error {}

/** PCRE features RE2 lacks, found before compiling so the message can name them. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\\[1-9]/, "backreferences (\\1)"],
  [/\\k[<{']/, "named backreferences (\\k<name>)"],
  [/\(\?=/, "lookahead (?=...)"],
  [/\(\?!/, "negative lookahead (?!...)"],
  [/\(\?<=/, "lookbehind (?<=...)"],
  [/\(\?<!/, "negative lookbehind (?<!...)"],
  [/\(\?>/, "atomic groups (?>...)"],
  [/\(\?\(/, "conditionals (?(...)...)"],
  [/\(\?(?:R|[0-9]|&|P>)/, "recursion (?R)"],
  [/[*+?}]\+/, "possessive quantifiers (*+, ++)"],
  [/\\G/, "\\G anchors"],
  [/\\[XRK]/, "\\X, \\R and \\K escapes"],
];

/** Strips escaped characters and character classes so feature detection does not see `[(?=]`. */
function scrub(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      const n = pattern[i + 1];
      // Keep escapes that are features themselves (\1, \k, \G, \X, \R, \K) outside classes.
      out += inClass ? "__" : /[1-9kGXRK]/.test(n) ? c + n : "__";
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      out += "_";
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (pattern[i + 1] === "]") {
        out += "__";
        i++;
        continue;
      }
      if (pattern[i + 1] === "^" && pattern[i + 2] === "]") {
        out += "___";
        i += 2;
        continue;
      }
      out += "_";
      continue;
    }
    out += c;
  }
  return out;
}

export interface CompiledRegex {
  source: string;
  re: RE2JS;
  /** Group names by index (1-based). */
  groupNames: Map<number, string>;
  groupCount: number;
  /** Unanchored test. */
  test(s: string): boolean;
}

const cache = new Map<string, CompiledRegex>();

/** Compiles a PCRE-syntax pattern (inline `(?i)`, `(?<n>...)`, `(?P<n>...)`) or throws RegexError. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const scrubbed = scrub(pattern);
  for (const [rx, name] of UNSUPPORTED) {
    if (rx.test(scrubbed))
      throw new RegexError(
        `regular expression uses ${name}, which the linear-time engine does not support: ${pattern}`,
      );
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    throw new RegexError(`bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  const groupNames = new Map<number, string>();
  for (const [name, index] of Object.entries(re.namedGroups())) groupNames.set(index, name);
  const compiled: CompiledRegex = {
    source: pattern,
    re,
    groupNames,
    groupCount: re.groupCount(),
    test: (s) => re.test(s),
  };
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

export interface RegexMatch {
  start: number;
  end: number;
  /** groups[0] = whole match; undefined for a group that did not take part. */
  groups: (string | undefined)[];
}

/** All non-overlapping matches, left to right (at most `limit`, 0 = all). */
export function findAll(rx: CompiledRegex, s: string, limit = 0): RegexMatch[] {
  const out: RegexMatch[] = [];
  const m = rx.re.matcher(s);
  while (m.find()) {
    const groups: (string | undefined)[] = [];
    for (let g = 0; g <= rx.groupCount; g++) {
      const v = m.group(g);
      groups.push(v === null || v === undefined ? undefined : v);
    }
    out.push({ start: m.start(), end: m.end(), groups });
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

/**
 * Replaces matches (all, or the first `count` when count > 0) with `replacement`, in which `\N`
 * inserts group N (PCRE/Splunk style) and `\\` a backslash.
 */
export function replaceRegex(rx: CompiledRegex, s: string, replacement: string, count = 0): string {
  const matches = findAll(rx, s, count);
  if (matches.length === 0) return s;
  let out = "";
  let at = 0;
  for (const m of matches) {
    out += s.slice(at, m.start);
    for (let i = 0; i < replacement.length; i++) {
      const c = replacement[i];
      if (c === "\\" && i + 1 < replacement.length) {
        const n = replacement[i + 1];
        if (/[0-9]/.test(n)) {
          out += m.groups[Number(n)] ?? "";
          i++;
          continue;
        }
        if (n === "\\") {
          out += "\\";
          i++;
          continue;
        }
      }
      out += c;
    }
    at = m.end;
  }
  return out + s.slice(at);
}
