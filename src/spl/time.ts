/**
 * Time in SPL: relative time specifiers (`-24h@h`, `@d`, `now`), strftime/strptime with Splunk's
 * format variables, and `_time` formatting for tables and exports. Times are epoch seconds (numbers,
 * with a fraction). Calendar arithmetic happens in the field view's time zone.
 */
import { zoneOffsetMinutes } from "../events/zone.js";

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Broken-down local time in `tz`. */
interface Local {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Microseconds within the second. */
  micros: number;
  weekday: number; // 0 = Sunday
  offsetMinutes: number;
}

function toLocal(epoch: number, tz: string): Local {
  // Round to the microsecond first so 0.617 does not print as 0.616999.
  const totalMicros = Math.round(epoch * 1e6);
  const wholeSeconds = Math.floor(totalMicros / 1e6);
  const micros = totalMicros - wholeSeconds * 1e6;
  const offsetMinutes = zoneOffsetMinutes(tz, wholeSeconds * 1000);
  const d = new Date((wholeSeconds + offsetMinutes * 60) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    micros,
    weekday: d.getUTCDay(),
    offsetMinutes,
  };
}

/** Local wall-clock time in `tz` -> epoch seconds (the earlier instant when ambiguous). */
function fromLocal(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  tz: string,
): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  let offset = zoneOffsetMinutes(tz, asUtc * 1000);
  offset = zoneOffsetMinutes(tz, (asUtc - offset * 60) * 1000);
  return asUtc - offset * 60;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function offsetText(min: number, colon: boolean): string {
  const sign = min < 0 ? "-" : "+";
  const a = Math.abs(min);
  return `${sign}${pad(Math.floor(a / 60))}${colon ? ":" : ""}${pad(a % 60)}`;
}

/** strftime with Splunk's common time format variables. Unknown `%x` sequences are kept as written. */
export function strftime(epoch: number, format: string, tz: string): string {
  const t = toLocal(epoch, tz);
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== "%" || i + 1 >= format.length) {
      out += c;
      continue;
    }
    let spec = format[++i];
    let digits: number | undefined;
    if (/[0-9]/.test(spec) && format[i + 1] === "N") {
      digits = Number(spec);
      spec = format[++i];
    }
    if (spec === ":" && format[i + 1] === "z") {
      out += offsetText(t.offsetMinutes, true);
      i++;
      continue;
    }
    switch (spec) {
      case "Y":
        out += pad(t.year, 4);
        break;
      case "y":
        out += pad(t.year % 100);
        break;
      case "m":
        out += pad(t.month);
        break;
      case "d":
        out += pad(t.day);
        break;
      case "e":
        out += String(t.day).padStart(2, " ");
        break;
      case "H":
        out += pad(t.hour);
        break;
      case "k":
        out += String(t.hour).padStart(2, " ");
        break;
      case "I":
        out += pad(((t.hour + 11) % 12) + 1);
        break;
      case "p":
        out += t.hour < 12 ? "AM" : "PM";
        break;
      case "M":
        out += pad(t.minute);
        break;
      case "S":
        out += pad(t.second);
        break;
      case "N": {
        // %N defaults to 9 digits in Splunk; %3N = ms, %6N = us (truncated, not rounded).
        const n = digits ?? 9;
        out += String(t.micros).padStart(6, "0").padEnd(9, "0").slice(0, n);
        break;
      }
      case "Q":
        out += String(t.micros).padStart(6, "0").slice(0, 3);
        break;
      case "s":
        out += String(Math.floor(epoch));
        break;
      case "z":
        out += offsetText(t.offsetMinutes, false);
        break;
      case "Z":
        out += tz === "UTC" ? "UTC" : offsetText(t.offsetMinutes, false);
        break;
      case "b":
      case "h":
        out += MONTHS[t.month - 1].slice(0, 3);
        break;
      case "B":
        out += MONTHS[t.month - 1];
        break;
      case "a":
        out += DAYS[t.weekday].slice(0, 3);
        break;
      case "A":
        out += DAYS[t.weekday];
        break;
      case "w":
        out += String(t.weekday);
        break;
      case "j": {
        const start = Date.UTC(t.year, 0, 1);
        out += pad(Math.floor((Date.UTC(t.year, t.month - 1, t.day) - start) / 86400000) + 1, 3);
        break;
      }
      case "F":
        out += `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
        break;
      case "T":
        out += `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
        break;
      case "%":
        out += "%";
        break;
      default:
        out += `%${digits ?? ""}${spec}`;
    }
  }
  return out;
}

/**
 * strptime: parses `text` with `format`; returns epoch seconds or undefined when it does not fit.
 * A text without a zone is read in `tz`.
 */
export function strptime(text: string, format: string, tz: string): number | undefined {
  let re = "^";
  const slots: string[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== "%" || i + 1 >= format.length) {
      re += /\s/.test(c) ? "\\s+" : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      continue;
    }
    let spec = format[++i];
    if (/[0-9]/.test(spec) && format[i + 1] === "N") spec = format[++i];
    if (spec === ":" && format[i + 1] === "z") {
      i++;
      spec = "z";
    }
    const add = (slot: string, rx: string) => {
      slots.push(slot);
      re += `(${rx})`;
    };
    switch (spec) {
      case "Y":
        add("Y", "\\d{4}");
        break;
      case "y":
        add("y", "\\d{2}");
        break;
      case "m":
        add("m", "\\d{1,2}");
        break;
      case "d":
      case "e":
        add("d", "\\s?\\d{1,2}");
        break;
      case "H":
      case "k":
        add("H", "\\s?\\d{1,2}");
        break;
      case "I":
        add("I", "\\d{1,2}");
        break;
      case "p":
        add("p", "[AaPp][Mm]");
        break;
      case "M":
        add("M", "\\d{1,2}");
        break;
      case "S":
        add("S", "\\d{1,2}");
        break;
      case "N":
      case "Q":
        add("N", "\\d{1,9}");
        break;
      case "s":
        add("s", "\\d+(?:\\.\\d+)?");
        break;
      case "z":
      case "Z":
        add("z", "Z|UTC|GMT|[+-]\\d{2}:?\\d{2}");
        break;
      case "b":
      case "h":
      case "B":
        add("b", "[A-Za-z]{3,9}");
        break;
      case "a":
      case "A":
        re += "[A-Za-z]{3,9}";
        break;
      case "F":
        slots.push("Y", "m", "d");
        re += "(\\d{4})-(\\d{1,2})-(\\d{1,2})";
        break;
      case "T":
        slots.push("H", "M", "S");
        re += "(\\d{1,2}):(\\d{1,2}):(\\d{1,2})";
        break;
      case "%":
        re += "%";
        break;
      default:
        return undefined;
    }
  }
  const m = new RegExp(re).exec(text.trim());
  if (!m) return undefined;
  let year = 1970;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let frac = 0;
  let pm: boolean | undefined;
  let zone: number | undefined;
  let epoch: number | undefined;
  slots.forEach((slot, k) => {
    const v = m[k + 1].trim();
    switch (slot) {
      case "Y":
        year = Number(v);
        break;
      case "y":
        year = 2000 + Number(v) - (Number(v) >= 69 ? 100 : 0);
        break;
      case "m":
        month = Number(v);
        break;
      case "d":
        day = Number(v);
        break;
      case "H":
      case "I":
        hour = Number(v);
        break;
      case "p":
        pm = v.toUpperCase() === "PM";
        break;
      case "M":
        minute = Number(v);
        break;
      case "S":
        second = Number(v);
        break;
      case "N":
        frac = Number(`0.${v}`);
        break;
      case "s":
        epoch = Number(v);
        break;
      case "b": {
        const i = MONTHS.findIndex((n) => n.toLowerCase().startsWith(v.toLowerCase().slice(0, 3)));
        month = i + 1;
        break;
      }
      case "z":
        if (/^(Z|UTC|GMT)$/i.test(v)) zone = 0;
        else {
          const digits = v.slice(1).replace(":", "");
          zone = (v[0] === "-" ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
        }
        break;
    }
  });
  if (epoch !== undefined) return epoch;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  if (pm !== undefined) hour = (hour % 12) + (pm ? 12 : 0);
  if (zone !== undefined)
    return Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - zone * 60 + frac;
  return fromLocal(year, month, day, hour, minute, second, tz) + frac;
}

/** `_time` as Splunk's table shows it: "2020-10-08 11:03:46.617" in the viewer's zone. */
export function formatTimeForTable(epochSeconds: number, tz: string): string {
  return strftime(epochSeconds, "%Y-%m-%d %H:%M:%S.%3N", tz);
}

/** `_time` as Splunk exports it (`%FT%T.%Q%:z`): "2020-10-08T11:03:46.617+00:00" (decision D-time-format). */
export function formatTimeIso(epochSeconds: number, tz: string): string {
  return strftime(epochSeconds, "%Y-%m-%dT%H:%M:%S.%3N%:z", tz);
}

// ------------------------------------------------------------------------------------------------
// relative time: [+-]N<unit> ... [@<snap>[+-N<unit>...]], "now", epoch, or %m/%d/%Y:%H:%M:%S

const UNIT_RE =
  /^(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w[0-7]?|week|weeks|mon|month|months|q|qtr|qtrs|quarter|quarters|y|yr|yrs|year|years)$/;

function unitOf(u: string): "s" | "m" | "h" | "d" | "w" | "mon" | "q" | "y" | undefined {
  if (!UNIT_RE.test(u)) return undefined;
  if (u.startsWith("mon")) return "mon";
  if (u.startsWith("mi") || u === "m") return "m";
  if (u.startsWith("s")) return "s";
  if (u.startsWith("h")) return "h";
  if (u.startsWith("d")) return "d";
  if (u.startsWith("w")) return "w";
  if (u.startsWith("q")) return "q";
  return "y";
}

function addUnits(epoch: number, n: number, unit: string, tz: string): number {
  switch (unit) {
    case "s":
      return epoch + n;
    case "m":
      return epoch + n * 60;
    case "h":
      return epoch + n * 3600;
    case "d":
    case "w":
    case "mon":
    case "q":
    case "y": {
      // Calendar units keep the local wall-clock time (DST-safe).
      const t = toLocal(epoch, tz);
      let { year, month, day } = t;
      if (unit === "d") day += n;
      else if (unit === "w") day += 7 * n;
      else if (unit === "mon") month += n;
      else if (unit === "q") month += 3 * n;
      else year += n;
      const norm = new Date(Date.UTC(year, month - 1, day));
      return (
        fromLocal(
          norm.getUTCFullYear(),
          norm.getUTCMonth() + 1,
          norm.getUTCDate(),
          t.hour,
          t.minute,
          t.second,
          tz,
        ) +
        t.micros / 1e6
      );
    }
  }
  return epoch;
}

function snapTo(epoch: number, unitText: string, tz: string): number {
  const unit = unitOf(unitText);
  const t = toLocal(epoch, tz);
  switch (unit) {
    case "s":
      return Math.floor(epoch);
    case "m":
      return fromLocal(t.year, t.month, t.day, t.hour, t.minute, 0, tz);
    case "h":
      return fromLocal(t.year, t.month, t.day, t.hour, 0, 0, tz);
    case "d":
      return fromLocal(t.year, t.month, t.day, 0, 0, 0, tz);
    case "w": {
      // @w or @w0 = Sunday, @w1 = Monday ... @w7 = Sunday.
      const target = /^w([0-7])$/.test(unitText) ? Number(unitText[1]) % 7 : 0;
      const back = (t.weekday - target + 7) % 7;
      const d = new Date(Date.UTC(t.year, t.month - 1, t.day - back));
      return fromLocal(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, 0, tz);
    }
    case "mon":
      return fromLocal(t.year, t.month, 1, 0, 0, 0, tz);
    case "q":
      return fromLocal(t.year, t.month - ((t.month - 1) % 3), 1, 0, 0, 0, tz);
    case "y":
      return fromLocal(t.year, 1, 1, 0, 0, 0, tz);
  }
  throw new Error(`bad snap unit '@${unitText}'`);
}

/**
 * Resolves a time specifier relative to `now` (epoch seconds). Returns undefined when the text is not
 * a time specifier.
 */
export function resolveTimeSpec(spec: string, now: number, tz: string): number | undefined {
  const text = spec.trim();
  if (text === "now" || text === "") return now;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  const abs = /^(\d{1,2})\/(\d{1,2})\/(\d{4}):(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (abs)
    return fromLocal(
      Number(abs[3]),
      Number(abs[1]),
      Number(abs[2]),
      Number(abs[4]),
      Number(abs[5]),
      Number(abs[6]),
      tz,
    );
  const iso = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isNaN(iso)) return iso / 1000;
  let t = now;
  let rest = text;
  while (rest !== "") {
    const off = /^([+-])(\d*)([a-z][a-z0-9]*)/.exec(rest);
    if (off) {
      const unit = unitOf(off[3]);
      if (unit === undefined) return undefined;
      const n = (off[2] === "" ? 1 : Number(off[2])) * (off[1] === "-" ? -1 : 1);
      t = addUnits(t, n, unit, tz);
      rest = rest.slice(off[0].length);
      continue;
    }
    const snap = /^@([a-z][a-z0-9]*)/.exec(rest);
    if (snap) {
      if (unitOf(snap[1]) === undefined) return undefined;
      t = snapTo(t, snap[1], tz);
      rest = rest.slice(snap[0].length);
      continue;
    }
    return undefined;
  }
  return t;
}
