/** `--since` / `--until` / `--now`: absolute ISO times (zone-less ones read in --tz) or relative `-24h`. */
import { ticksFromEpochSeconds, ticksFromIso } from "../events/time.js";
import { zoneOffsetMinutes } from "../events/zone.js";
import { UsageError } from "./common.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parse a time option to FILETIME ticks. `nowSeconds` anchors relative times. */
export function parseTimeOption(name: string, text: string, tz: string, nowSeconds: number): bigint {
  const rel = /^([+-])(\d+)([smhdw])$/.exec(text.trim());
  if (rel) {
    const delta = Number(rel[2]) * UNIT_SECONDS[rel[3]] * (rel[1] === "-" ? -1 : 1);
    return ticksFromEpochSeconds(nowSeconds + delta);
  }
  const withZone = ticksFromIso(text, null);
  if (withZone !== undefined) return withZone;
  const utc = ticksFromIso(text, 0);
  if (utc === undefined) {
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text.trim())
      ? ticksFromIso(`${text.trim()}T00:00:00`, 0)
      : undefined;
    if (dateOnly === undefined) {
      throw new UsageError(
        `--${name}: cannot read '${text}' as a time (ISO 8601 such as 2020-09-18T13:00:00Z, or relative such as -24h)`,
      );
    }
    return shiftToZone(dateOnly, tz);
  }
  return shiftToZone(utc, tz);
}

function shiftToZone(utcTicks: bigint, tz: string): bigint {
  if (tz === "UTC") return utcTicks;
  const ms = Number((utcTicks - 116444736000000000n) / 10000n);
  const offset = zoneOffsetMinutes(tz, ms - zoneOffsetMinutes(tz, ms) * 60000);
  return utcTicks - BigInt(offset) * 600000000n;
}
