/**
 * Exact time handling: FILETIME ticks (100 ns since 1601-01-01 UTC) as bigint, conversion from
 * the ISO texts Windows and the log shippers write, and to Splunk's epoch seconds.
 */

/** Ticks between 1601-01-01 and 1970-01-01. */
export const EPOCH_DIFF_TICKS = 116444736000000000n;
export const TICKS_PER_SECOND = 10000000n;
export const TICKS_PER_MS = 10000n;

/** Epoch milliseconds (UTC) -> ticks. */
export function ticksFromEpochMs(ms: number): bigint {
  return BigInt(Math.round(ms)) * TICKS_PER_MS + EPOCH_DIFF_TICKS;
}

/** Ticks -> epoch seconds as a JS number (Splunk's `_time`; sub-microsecond digits may round). */
export function epochSecondsFromTicks(ticks: bigint): number {
  const rel = ticks - EPOCH_DIFF_TICKS;
  const whole = rel / TICKS_PER_SECOND;
  const frac = rel % TICKS_PER_SECOND;
  return Number(whole) + Number(frac) / 1e7;
}

/** Epoch seconds -> ticks (rounded to 100 ns). */
export function ticksFromEpochSeconds(seconds: number): bigint {
  const whole = Math.floor(seconds);
  const frac = Math.round((seconds - whole) * 1e7);
  return BigInt(whole) * TICKS_PER_SECOND + BigInt(frac) + EPOCH_DIFF_TICKS;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parse an ISO-like timestamp to ticks with full 100-ns precision.
 * `defaultOffsetMinutes` applies when the text has no zone (null = reject zone-less text).
 * Returns undefined when the text is not a timestamp.
 */
export function ticksFromIso(text: string, defaultOffsetMinutes: number | null = 0): bigint | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let offsetMin: number;
  if (zone === undefined) {
    if (defaultOffsetMinutes === null) return undefined;
    offsetMin = defaultOffsetMinutes;
  } else if (zone.toUpperCase() === "Z") {
    offsetMin = 0;
  } else {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  const fracTicks = frac ? BigInt((frac + "0000000").slice(0, 7)) : 0n;
  return BigInt(ms - offsetMin * 60000) * TICKS_PER_MS + fracTicks + EPOCH_DIFF_TICKS;
}

/** Ticks -> "2020-10-08T11:03:46.6179203Z" (7 fractional digits, as Windows renders SystemTime). */
export function isoFromTicks(ticks: bigint, fractionDigits = 7): string {
  const rel = ticks - EPOCH_DIFF_TICKS;
  let secs = rel / TICKS_PER_SECOND;
  let frac = rel % TICKS_PER_SECOND;
  if (frac < 0n) {
    frac += TICKS_PER_SECOND;
    secs -= 1n;
  }
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  if (fractionDigits <= 0) return `${base}Z`;
  const f = frac.toString().padStart(7, "0").slice(0, fractionDigits).padEnd(fractionDigits, "0");
  return `${base}.${f}Z`;
}
