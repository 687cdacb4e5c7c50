/**
 * Serialising emulated events:
 * - ndjson: one JSON object per event in the evtx_dump / Chainsaw shape
 *   (`{"Event":{"#attributes":{"xmlns":...},"System":{...},"EventData":{...}}}`, attributes under
 *   `#attributes`, numeric System values as numbers, EventData values as text). Chosen over the
 *   Splunk field view because it keeps the event itself (System block and EventData order), which
 *   our JSON reader reads back to an equal WinEvent, and evtx_dump/Chainsaw users know it.
 * - xml: event XML (Windows style) in an `<Events>` root, via events/xml.ts.
 * - evtx: a binary EVTX file via readers/evtx (our writer).
 */
import type { WinEvent } from "../events/model.js";
import { EVENT_NAMESPACE, renderEventXml } from "../events/xml.js";
import { EvtxWriter } from "../readers/evtx/index.js";

export type EmulateFormat = "evtx" | "xml" | "ndjson";

/** The format implied by an output file name (.evtx, .xml, else ndjson). */
export function formatForPath(path: string | undefined): EmulateFormat {
  const p = (path ?? "").toLowerCase();
  if (p.endsWith(".evtx")) return "evtx";
  if (p.endsWith(".xml")) return "xml";
  return "ndjson";
}

type JsonValue = string | number | null | JsonValue[] | { [k: string]: JsonValue };

function num(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  return /^(0|[1-9]\d{0,14})$/.test(text) ? Number(text) : text;
}

function attrs(pairs: [string, string | number | undefined][]): { [k: string]: JsonValue } | null {
  const out: { [k: string]: JsonValue } = {};
  let any = false;
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    out[k] = v;
    any = true;
  }
  return any ? { "#attributes": out } : null;
}

/** One event in the evtx_dump JSON shape. */
export function eventToEvtxJson(ev: WinEvent): { Event: { [k: string]: JsonValue } } {
  const s = ev.system;
  const system: { [k: string]: JsonValue } = {};
  system.Provider = attrs([
    ["Name", s.providerName],
    ["Guid", s.providerGuid],
    ["EventSourceName", s.eventSourceName],
  ]);
  const eventID = num(s.eventID) ?? s.eventID;
  system.EventID =
    s.qualifiers !== undefined
      ? { "#attributes": { Qualifiers: num(s.qualifiers) ?? s.qualifiers }, "#text": eventID }
      : eventID;
  if (s.version !== undefined) system.Version = num(s.version) ?? s.version;
  if (s.level !== undefined) system.Level = num(s.level) ?? s.level;
  if (s.task !== undefined) system.Task = num(s.task) ?? s.task;
  if (s.opcode !== undefined) system.Opcode = num(s.opcode) ?? s.opcode;
  if (s.keywords !== undefined) system.Keywords = s.keywords;
  system.TimeCreated = attrs([["SystemTime", s.systemTime]]);
  if (s.eventRecordID !== undefined) system.EventRecordID = num(s.eventRecordID) ?? s.eventRecordID;
  system.Correlation = attrs([
    ["ActivityID", s.activityID],
    ["RelatedActivityID", s.relatedActivityID],
  ]);
  system.Execution = attrs([
    ["ProcessID", num(s.processID)],
    ["ThreadID", num(s.threadID)],
  ]);
  if (s.channel !== undefined) system.Channel = s.channel;
  if (s.computer !== undefined) system.Computer = s.computer;
  system.Security = attrs([["UserID", s.userID]]);
  const event: { [k: string]: JsonValue } = { "#attributes": { xmlns: EVENT_NAMESPACE }, System: system };
  const data: { [k: string]: JsonValue } = {};
  for (const item of ev.eventData) {
    if (item.name === undefined) throw new Error("emulate: unnamed EventData is not produced");
    data[item.name] = item.value;
  }
  event.EventData = data;
  return { Event: event };
}

/** Text of a text format, piece by piece (one event at a time), for streaming output. */
export function* textPieces(events: Iterable<WinEvent>, format: "ndjson" | "xml"): Generator<string> {
  if (format === "ndjson") {
    for (const ev of events) yield `${JSON.stringify(eventToEvtxJson(ev))}\n`;
    return;
  }
  yield '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n';
  for (const ev of events) yield `${renderEventXml(ev, { indent: true })}\n`;
  yield "</Events>\n";
}

/** Render events in a text format (ndjson or xml). */
export function renderText(events: readonly WinEvent[], format: "ndjson" | "xml"): string {
  return [...textPieces(events, format)].join("");
}

/** Render events as an EVTX file image. */
export function renderEvtx(events: readonly WinEvent[]): Uint8Array {
  const writer = new EvtxWriter();
  for (const ev of events) writer.add(ev);
  return writer.finish();
}

export function render(events: readonly WinEvent[], format: EmulateFormat): string | Uint8Array {
  return format === "evtx" ? renderEvtx(events) : renderText(events, format);
}
