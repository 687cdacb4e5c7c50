/**
 * CSV reader (a header line, then one event per record; quoted fields may span lines):
 * - Splunk export with a `_raw` column holding event XML: `_raw` parsed as event XML, the other
 *   columns (index, sourcetype, source, host, _time...) kept in `extra`.
 * - flat fields (Splunk `EventCode` exports, NXLog-style columns): mapped as in flat.ts; empty
 *   cells are dropped (an export carries the union of all fields, so empty means absent).
 * Provenance `line` is the record's first line (1-based, the header is line 1).
 *
 * Design: a quote-aware byte scanner cuts the stream into records (so the size cap, line numbers
 * and resynchronisation are ours), and csv-parse parses each record's fields. csv-parse's own
 * streaming `max_record_size` + `skip_records_with_error` silently drops every record after an
 * over-long one (csv-parse 7.0.3, seen in testing), which this design avoids.
 */

import { type CsvError, parse } from "csv-parse/sync";
import type { Provenance, ReadOptions, WinEvent } from "../events/model.js";
import { eventFromFlat, flatDialectOf } from "./flat.js";
import { isEventXmlText } from "./json.js";
import {
  type ByteSource,
  checkAbort,
  DEFAULT_MAX_RECORD_BYTES,
  openSource,
  reportIssue,
  sourceName,
  type TextReadOptions,
  utf8Stream,
} from "./stream.js";
import { NotAnEventError, parseEventXml } from "./xml.js";
import { XmlSyntaxError } from "./xmltree.js";

export async function* readCsv(source: ByteSource, opts: TextReadOptions = {}): AsyncGenerator<WinEvent> {
  const file = sourceName(source, opts.displayName);
  yield* readCsvStream(utf8Stream(openSource(source)), file, opts);
}

type CsvPiece =
  | { text: string; line: number; offset: number }
  | { overLong: number; line: number; offset: number }
  | { unterminated: true; line: number; offset: number };

/**
 * Cut a UTF-8 stream into CSV records: a record ends at a newline outside double quotes (`""`
 * inside quotes toggles twice, so it needs no special case). Blank lines are skipped.
 */
async function* csvRecords(stream: AsyncIterable<Uint8Array>, maxRecord: number): AsyncGenerator<CsvPiece> {
  let pieces: Buffer[] = [];
  let length = 0;
  let overLong = false;
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let recordOffset = 0;
  let pos = 0;
  const take = (): CsvPiece | undefined => {
    if (overLong) return { overLong: length, line: recordLine, offset: recordOffset };
    let text = Buffer.concat(pieces, length).toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") return undefined;
    return { text, line: recordLine, offset: recordOffset };
  };
  for await (const raw of stream) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 0x22) inQuotes = !inQuotes;
      else if (c === 0x0a) {
        line++;
        if (inQuotes) continue;
        const part = chunk.subarray(start, i);
        length += part.length;
        if (!overLong) pieces.push(part);
        const rec = take();
        if (rec !== undefined) yield rec;
        pieces = [];
        length = 0;
        overLong = false;
        start = i + 1;
        recordLine = line;
        recordOffset = pos + i + 1;
      }
    }
    const rest = chunk.subarray(start);
    length += rest.length;
    if (!overLong && length > maxRecord) {
      overLong = true;
      pieces = [];
    }
    if (!overLong) pieces.push(rest);
    pos += chunk.length;
  }
  if (inQuotes) {
    yield { unterminated: true, line: recordLine, offset: recordOffset };
    return;
  }
  if (length > 0) {
    const rec = take();
    if (rec !== undefined) yield rec;
  }
}

/** Fields of one CSV record (csv-parse), or an error message. */
function parseFields(text: string): string[] | string {
  try {
    const rows = parse(text, { relax_column_count: true, relax_quotes: true }) as string[][];
    return rows[0] ?? [];
  } catch (err) {
    return (err as CsvError).message;
  }
}

export async function* readCsvStream(
  stream: AsyncIterable<Uint8Array>,
  file: string,
  opts: ReadOptions = {},
): AsyncGenerator<WinEvent> {
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let columns: string[] | undefined;
  const skip = (line: number, reason: string) =>
    reportIssue(opts, { file, location: `line ${line}`, reason, lost: "record", skippedRecords: 1 });

  for await (const piece of csvRecords(stream, maxRecord)) {
    checkAbort(opts.signal);
    const { line } = piece;
    if ("overLong" in piece) {
      if (columns === undefined) {
        reportIssue(opts, {
          file,
          location: `line ${line}`,
          reason: "CSV header longer than the record cap",
          lost: "file",
        });
        return;
      }
      skip(line, `CSV record larger than ${maxRecord} bytes (${piece.overLong} bytes, skipped)`);
      continue;
    }
    if ("unterminated" in piece) {
      // everything from here to the end of the file is inside the open quote
      reportIssue(opts, {
        file,
        location: `line ${line}`,
        reason: "invalid CSV: quoted field not closed before the end of the file (rest of file not read)",
        lost: "record",
      });
      continue;
    }
    const fields = parseFields(piece.text);
    if (typeof fields === "string") {
      skip(line, `invalid CSV: ${fields}`);
      continue;
    }
    if (columns === undefined) {
      columns = fields.map((c) => c.trim());
      if (!columns.some((c) => c === "_raw" || c === "EventCode" || c === "EventID")) {
        reportIssue(opts, {
          file,
          location: `line ${line}`,
          reason: "CSV without a _raw, EventCode or EventID column: not an event log",
          lost: "file",
        });
        return;
      }
      continue;
    }
    const record: Record<string, string> = {};
    for (let i = 0; i < columns.length && i < fields.length; i++) record[columns[i]] = fields[i];
    const raw = record._raw;
    try {
      let ev: WinEvent | undefined;
      if (typeof raw === "string" && isEventXmlText(raw)) {
        const prov: Provenance = { file, format: "csv", line, dialect: "splunk" };
        // No push-down for Splunk exports (metadata comes from the export, see json.ts).
        ev = parseEventXml(raw, prov, undefined);
        if (ev !== undefined) {
          const extra: Record<string, string> = {};
          for (const k in record) if (k !== "_raw" && record[k] !== "") extra[k] = record[k];
          if (Object.keys(extra).length > 0) ev.extra = extra;
        }
      } else {
        const dialect = flatDialectOf(record);
        if (dialect === undefined) {
          skip(line, "CSV record is not an event (no _raw event XML, no EventCode/EventID column)");
          continue;
        }
        const filter = dialect === "splunk" ? undefined : opts.filter;
        ev = eventFromFlat(record, dialect, { file, format: "csv", line, dialect }, filter, true);
      }
      if (ev !== undefined) yield ev;
    } catch (err) {
      if (!(err instanceof XmlSyntaxError || err instanceof NotAnEventError)) throw err;
      skip(line, `_raw: ${err.message}`);
    }
  }
}
