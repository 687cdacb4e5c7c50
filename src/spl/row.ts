/** A result row inside the pipeline: fields by exact name, `_raw` built on demand, the source event. */
import type { FieldValue, SplunkEvent } from "../events/fields.js";
import type { WinEvent } from "../events/model.js";
import type { SplValue } from "./values.js";

export interface Row {
  /** Every field, `_time` (epoch seconds, number) included; `_raw` only once materialised. */
  fields: Map<string, SplValue>;
  /** Builds `_raw` when a command needs it and `fields` has none. */
  raw?: () => string;
  event?: WinEvent;
  /** Arrival order; breaks ties so that order-dependent results never depend on sort internals. */
  seq: number;
  /** The event's `_time` at arrival: defines search order (newest first) even after table/eval. */
  searchTime?: number;
}

export function getField(row: Row, name: string): SplValue | undefined {
  const v = row.fields.get(name);
  if (v !== undefined) return v;
  if (name === "_raw" && row.raw) return row.raw();
  return undefined;
}

export function hasField(row: Row, name: string): boolean {
  return row.fields.has(name) || (name === "_raw" && row.raw !== undefined);
}

export function deleteField(row: Row, name: string): void {
  row.fields.delete(name);
  if (name === "_raw") row.raw = undefined;
}

/** Field names of a row in insertion order (`_raw` included when it can be built). */
export function fieldNames(row: Row): string[] {
  const names = [...row.fields.keys()];
  if (row.raw && !row.fields.has("_raw")) names.push("_raw");
  return names;
}

export function rowFromEvent(ev: SplunkEvent, seq: number): Row {
  // The event's map is owned by this row from now on (no copy: streaming stays cheap).
  const fields = ev.fields as Map<string, FieldValue | SplValue> as Map<string, SplValue>;
  if (ev.time !== undefined) fields.set("_time", ev.time);
  return { fields, raw: ev.raw, event: ev.event, seq, searchTime: ev.time };
}

export function cloneRow(row: Row): Row {
  return {
    fields: new Map(row.fields),
    raw: row.raw,
    event: row.event,
    seq: row.seq,
    searchTime: row.searchTime,
  };
}

/** The row's `_time` as a number (undefined when missing or not numeric). */
export function rowTime(row: Row): number | undefined {
  const t = row.fields.get("_time");
  if (typeof t === "number") return t;
  if (typeof t === "string" && t !== "" && !Number.isNaN(Number(t))) return Number(t);
  return undefined;
}
