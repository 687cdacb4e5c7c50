/**
 * Value matchers of allowlist entries: a wildcard (the whole value, case-insensitive, `*` = any run of
 * characters, `?` = exactly one) or a `/regex/flags` (re2js: linear time on attacker-controlled event
 * text; unanchored like Splunk's match(), so anchor with ^ and $ yourself).
 *
 * Decision: a backslash is a literal character in wildcards (Windows paths are full of them), so there is
 * no escape for `*` and `?`; a value that must contain a literal `*` or `?` is written as a regex.
 */
import { RE2JS } from "re2js";
import { compileRegex, RegexError } from "../spl/regex.js";

export type ValueTest = (value: string) => boolean;

/** `/body/flags` with flags from i, m, s: the regex form of a pattern. */
const REGEX_FORM = /^\/(.*)\/([ims]*)$/s;

export function isRegexPattern(pattern: string): boolean {
  return pattern.length >= 2 && REGEX_FORM.test(pattern);
}

/** Wildcard to an anchored RE2 pattern (literal parts quoted), so matching stays linear. */
export function wildcardToRegex(pattern: string): string {
  let out = "";
  let literal = "";
  const flush = () => {
    if (literal) out += RE2JS.quote(literal);
    literal = "";
  };
  for (const c of pattern) {
    if (c === "*" || c === "?") {
      flush();
      out += c === "*" ? ".*" : ".";
    } else literal += c;
  }
  flush();
  return `(?is)^${out}$`;
}

/** Compile one pattern; throws Error with a message fit for a file:line:col diagnostic. */
export function compilePattern(pattern: string): ValueTest {
  const m = REGEX_FORM.exec(pattern);
  if (m && pattern.length >= 2) {
    const [, body, flags] = m;
    if (body === "") throw new Error("empty regular expression '//'");
    const prefix = flags ? `(?${[...new Set(flags)].join("")})` : "";
    try {
      const rx = compileRegex(prefix + body);
      return (v) => rx.test(v);
    } catch (err) {
      if (err instanceof RegexError) throw new Error(err.message);
      throw err;
    }
  }
  // Plain text without wildcards: a case-insensitive equality test (no regex needed).
  if (!pattern.includes("*") && !pattern.includes("?")) {
    const lower = pattern.toLowerCase();
    return (v) => v.toLowerCase() === lower;
  }
  const rx = RE2JS.compile(wildcardToRegex(pattern));
  return (v) => rx.test(v);
}
