/** Output formatting as Splunk shows (table) and exports (JSON/CSV) results. */
import type { ResultRow } from "./executor.js";
import { formatTimeForTable, formatTimeIso } from "./time.js";
import { formatNumber, type SplValue, scalarToString } from "./values.js";

function timeText(v: SplValue, style: "table" | "export", tz: string): string | string[] {
  const one = (x: string | number) => {
    const n = typeof x === "number" ? x : Number(x);
    if (x === "" || Number.isNaN(n)) return scalarToString(x);
    return style === "table" ? formatTimeForTable(n, tz) : formatTimeIso(n, tz);
  };
  return Array.isArray(v) ? v.map(one) : one(v);
}

/**
 * A row's cells as strings (decision D-json-strings), in `columns` order: every value a string (numbers as Splunk prints them),
 * multivalue fields as arrays, a missing field as "" (an empty cell), `_time` formatted for the style.
 */
export function rowToStrings(
  row: ResultRow,
  columns: string[],
  style: "table" | "export",
  tz: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const c of columns) {
    const v = row.fields.get(c);
    if (v === undefined) out[c] = "";
    else if (c === "_time") out[c] = timeText(v, style, tz);
    else if (Array.isArray(v)) out[c] = v.map((x) => (typeof x === "number" ? formatNumber(x) : x));
    else out[c] = typeof v === "number" ? formatNumber(v) : v;
  }
  return out;
}

/** Columns of a result without a table: `_time` first, then the other fields in order, `_raw` last. */
export function defaultColumns(row: ResultRow): string[] {
  const names = [...row.fields.keys()];
  const rest = names.filter((n) => n !== "_time" && n !== "_raw");
  return [
    ...(names.includes("_time") ? ["_time"] : []),
    ...rest,
    ...(names.includes("_raw") ? ["_raw"] : []),
  ];
}
