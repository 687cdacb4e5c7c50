/**
 * SPL values. Extracted field values are strings; eval produces numbers and strings; a multivalue
 * field is an array. A missing field is `undefined` (Splunk's null): it is never stored.
 */

export type SplScalar = string | number;
export type SplValue = SplScalar | SplScalar[];

const NUMERIC_RE = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** True when a string is a decimal number (what Splunk's comparisons treat as numeric). */
export function looksNumeric(s: string): boolean {
  return NUMERIC_RE.test(s);
}

/** A scalar as a number when it is one or looks like one; otherwise undefined. */
export function asNumber(v: SplScalar): number | undefined {
  if (typeof v === "number") return v;
  return looksNumeric(v) ? Number(v) : undefined;
}

/**
 * A number as Splunk prints it: integers without a fraction, NaN as "nan", infinities as "inf"/"-inf";
 * other values with up to 15 significant digits (so 0.1+0.2 prints "0.3"), trailing zeros dropped.
 */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Number.POSITIVE_INFINITY) return "inf";
  if (n === Number.NEGATIVE_INFINITY) return "-inf";
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  const s = Number(n.toPrecision(15)).toString();
  return s;
}

export function scalarToString(v: SplScalar): string {
  return typeof v === "number" ? formatNumber(v) : v;
}

/** A value as strings (a multivalue as its list). */
export function valueToStrings(v: SplValue): string[] {
  return Array.isArray(v) ? v.map(scalarToString) : [scalarToString(v)];
}

/** First value of a (multi)value. */
export function firstScalar(v: SplValue | undefined): SplScalar | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Compares two scalars the way sort/min/max do under auto: numerically when both are numbers,
 * otherwise as strings in code-unit order (uppercase before lowercase, as Splunk's byte order).
 */
export function compareAuto(a: SplScalar, b: SplScalar): number {
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  const sa = scalarToString(a);
  const sb = scalarToString(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
