/**
 * EVTX reader and writer (issue 4). See file.ts (files, chunks, threads), chunk.ts (records),
 * binxml.ts (BinXML, templates, rendering), values.ts (value types), writer.ts (EvtxWriter).
 */

import type { Provenance, WinEvent } from "../../events/model.js";
import type { XmlRecord } from "./chunk.js";
import { type EvtxReadOptions, type EvtxSource, readRecordBatches, readRecords } from "./file.js";

export { isEvtxHeader } from "./file.js";
export { EvtxWriter, type EvtxWriterOptions, writeEvtxFile } from "./writer.js";

/** The records of an EVTX file or byte stream as WinEvents, in file order. */
export function readEvtx(source: EvtxSource, opts: EvtxReadOptions = {}): AsyncGenerator<WinEvent> {
  return readRecords(source, opts, "event") as AsyncGenerator<WinEvent>;
}

/** The records as WinEvents, one array per chunk (readInputs' transport; same events, same order). */
export function readEvtxBatches(source: EvtxSource, opts: EvtxReadOptions = {}): AsyncGenerator<WinEvent[]> {
  return readRecordBatches(source, opts, "event") as AsyncGenerator<WinEvent[]>;
}

/** Fast path: the records' XML text straight from BinXML (for `convert --format xml` and the bench). */
export function readEvtxXml(
  source: EvtxSource,
  opts: EvtxReadOptions = {},
): AsyncGenerator<{ xml: string; recordId: bigint; provenance: Provenance }> {
  return readRecords(source, opts, "xml") as AsyncGenerator<XmlRecord>;
}
