/** Time zone offsets from IANA names, with the platform's tz database (Intl). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Throws RangeError for an unknown zone name. */
export function assertValidZone(tz: string): void {
  if (tz === "UTC") return;
  formatterFor(tz);
}

/** Offset of `tz` from UTC in minutes at the instant `utcMs` (e.g. -240 for New York in summer). */
export function zoneOffsetMinutes(tz: string, utcMs: number): number {
  if (tz === "UTC" || tz === "Etc/UTC") return 0;
  const parts = formatterFor(tz).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60000);
}
