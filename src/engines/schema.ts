/**
 * The loaded events table (schema version 1): the flat events table of docs/export.md that exported
 * SQL reads, stored compactly. One row per event of the Splunk field view (src/events/fields.ts):
 *
 * - `_time`: the event time in UTC (DuckDB TIMESTAMPTZ; ClickHouse 18.16, which has no sub-second
 *   DateTime, the ISO text `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, whose text order is time order);
 *   NULL when the event has no usable time.
 * - the fields every event has in the same order (COMMON_FIELDS: index, sourcetype, source, host and
 *   the System fields) as nullable text columns;
 * - every other field (EventData names, UserData leaves, CIM aliases, reader extras) in `_fields`, in
 *   field-view order (DuckDB MAP(VARCHAR, VARCHAR); ClickHouse two arrays `_names`/`_values`);
 * - `_raw` (the event XML, for bare-term searches) unless loaded with --no-raw;
 * - provenance `_file`, `_offset`, `_record_id`, `_channel`, `_computer` (what a file scan prints);
 * - `_key` (the de-duplication key: Computer, Channel, EventRecordID and time like `scan`, else the
 *   file and offset, so that re-loading a file keeps one copy), `_host_key` (the normalized host,
 *   ClickHouse's sharding key), `_ts` (epoch seconds, 0 when unknown) and `_seq` (read order).
 *
 * A multivalue field (a repeated EventData name) is stored as the JSON text of its values: outside
 * the flat table, as for exported SQL.
 * Queries see this table through a projection that turns `_fields` back into columns (engines/sql.ts).
 */
import {
  type FieldValue,
  type FieldViewOptions,
  type SplunkEvent,
  SYSTEM_VIEW_FIELDS,
} from "../events/fields.js";
import type { WinEvent } from "../events/model.js";

export const SCHEMA_VERSION = 1;

/** Fields set by the field view before any other, in its order (toSplunkEvent). */
export const COMMON_FIELDS = SYSTEM_VIEW_FIELDS;

export const COMMON_SET: ReadonlySet<string> = new Set(COMMON_FIELDS);

/** Provenance columns, in the order result rows carry them. */
export const PROVENANCE_COLUMNS = ["_file", "_offset", "_record_id", "_channel", "_computer"] as const;

/** One event, ready to be written as a row. */
export interface LoadRow {
  time: string | null;
  ts: number;
  common: (string | null)[];
  fields: [string, string][];
  raw: string | null;
  file: string;
  offset: string;
  recordId: string;
  channel: string;
  computer: string;
  key: string;
  hostKey: string;
  seq: number;
}

function text(v: FieldValue | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? JSON.stringify(v) : v;
}

/** `_time` text with microseconds, UTC. */
export function timeText(epochSeconds: number): string {
  const micros = Math.round(epochSeconds * 1e6);
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sub = String(((micros % 1000) + 1000) % 1000).padStart(3, "0");
  return `${iso.slice(0, 23)}${sub}+00:00`;
}

/** The normalized host: the Computer's first label, lower case (WORKSTATION6 = workstation6.corp). */
export function hostKey(computer: string | undefined): string {
  const c = (computer ?? "").toLowerCase();
  const dot = c.indexOf(".");
  return dot > 0 ? c.slice(0, dot) : c;
}

/** The row of one event (its field view `se`, built with the load's field view options). */
export function loadRow(ev: WinEvent, se: SplunkEvent, withRaw: boolean, seq: number): LoadRow {
  const s = ev.system;
  const p = ev.provenance;
  const common = COMMON_FIELDS.map((name) => text(se.fields.get(name)));
  const fields: [string, string][] = [];
  for (const [name, value] of se.fields) {
    if (COMMON_SET.has(name)) continue;
    fields.push([name, text(value) as string]);
  }
  const offset = String(p.offset ?? p.line ?? "");
  const id = s.eventRecordID === undefined ? Number.NaN : Number(s.eventRecordID);
  // Like scan's DuplicateFilter: (Computer, Channel) case-insensitively, EventRecordID, time to the ms.
  const key =
    Number.isSafeInteger(id) && se.time !== undefined
      ? `e\u0001${(s.computer ?? "").toLowerCase()}\u0001${(s.channel ?? "").toLowerCase()}\u0001${id}\u0001${Math.round(se.time * 1000)}`
      : `f\u0001${p.file}\u0001${offset}`;
  return {
    time: se.time === undefined ? null : timeText(se.time),
    ts: se.time === undefined ? 0 : Math.max(0, Math.floor(se.time)),
    common,
    fields,
    raw: withRaw ? se.raw() : null,
    file: p.file,
    offset,
    recordId: s.eventRecordID ?? "",
    channel: s.channel ?? "",
    computer: s.computer ?? "",
    key,
    hostKey: hostKey(s.computer),
    seq,
  };
}

/** What a load records about itself in the database (checked by scan --engine). */
export interface TableMeta {
  schema: number;
  fieldView: Omit<FieldViewOptions, "tz">;
  raw: boolean;
}

export function fieldViewKey(v: FieldViewOptions | TableMeta["fieldView"]): string {
  const host = "name" in v.host ? `name:${v.host.name}` : v.host.from;
  return `index=${v.index} sourcetype-style=${v.sourcetypeStyle} host=${host} decode-entities=${v.decodeEntities}`;
}
