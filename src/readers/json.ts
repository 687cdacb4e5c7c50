/**
 * JSON reader: NDJSON (one record a line), a JSON array, or concatenated (pretty-printed)
 * objects such as evtx_dump's "Record N\n{...}" output. The dialect is decided per record:
 *
 * - evtx_dump / Chainsaw: `{"Event":{"System":..,"EventData":..}}` with `#attributes`/`#text`
 *   (omerbenamram/evtx), `X_attributes` siblings (its separate-attributes mode), `@X` keys
 *   (xmltodict); Chainsaw hunt output wraps it as `{"document":{"data":{"Event":..}}}`.
 *   Converted to the XML element tree and mapped by the XML reader's code, so both agree.
 * - Winlogbeat / ECS: `winlog.*` -> System, `winlog.event_data` -> EventData (JSON order),
 *   `winlog.user_data` -> UserData; `@timestamp` (the event's TimeCreated, ISO) -> timeTicks.
 *   Winlogbeat 6 (`event_id`, `log_name`, `event_data` at top level) too.
 * - NXLog flat records and Splunk flat records (`EventCode`): see flat.ts.
 * - Splunk export: `{"result":{"_raw":"<Event..", ...}}` or `{"_raw":..}`: `_raw` parsed as event
 *   XML; the other keys (index, sourcetype, source, host, _time...) go to `extra`.
 *
 * 64-bit integers (NXLog's signed Keywords) are kept exact: digits runs of 16+ are quoted before
 * JSON.parse, which would otherwise round them to a double.
 */

import type {
  Provenance,
  ReadIssue,
  ReadOptions,
  SystemFields,
  SystemPredicate,
  WinEvent,
  XmlElement,
} from "../events/model.js";
import { ticksFromIso } from "../events/time.js";
import { eventFromFlat, flatDialectOf, normalizeChannel, scalarText } from "./flat.js";
import {
  type ByteSource,
  checkAbort,
  DEFAULT_MAX_RECORD_BYTES,
  openSource,
  peekStream,
  reportIssue,
  sourceName,
  splitLines,
  type TextReadOptions,
  utf8Stream,
} from "./stream.js";
import { eventFromXml, NotAnEventError, parseEventXml } from "./xml.js";
import { XmlSyntaxError } from "./xmltree.js";

/** A record that is valid JSON but not an event in any known dialect. */
export class UnknownRecordError extends Error {}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const BIG_INT_RE = /(?<!\\)("\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;
const HAS_LONG_DIGITS_RE = /\d{16}/;

/** JSON.parse keeping integers of 16+ digits exact (as strings). */
export function parseJsonExact(text: string): unknown {
  const fixed = HAS_LONG_DIGITS_RE.test(text) ? text.replace(BIG_INT_RE, '$1"$2"') : text;
  return JSON.parse(fixed);
}

// ---------------------------------------------------------------------------------------------
// evtx_dump / Chainsaw: JSON rendering of the event XML -> XmlElement

function textOf(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => scalarText(x) ?? "").join("");
  return scalarText(v) ?? (isObject(v) ? JSON.stringify(v) : "");
}

function attributesOf(obj: JsonObject, siblingAttrs: unknown): [string, string][] {
  const out: [string, string][] = [];
  const add = (src: unknown) => {
    if (!isObject(src)) return;
    for (const k in src) {
      const t = scalarText(src[k]);
      out.push([k, t ?? ""]);
    }
  };
  add(obj["#attributes"]);
  add(siblingAttrs);
  for (const k in obj) if (k.startsWith("@")) out.push([k.slice(1), textOf(obj[k])]);
  return out;
}

/** Generic conversion of a JSON rendering of an element (evtx crate / xmltodict conventions). */
function jsonToElement(name: string, value: unknown, siblingAttrs?: unknown): XmlElement {
  const el: XmlElement = { name, attributes: [], children: [] };
  if (!isObject(value)) {
    if (isObject(siblingAttrs)) el.attributes = attributesOf({}, siblingAttrs);
    const t = value === null || value === undefined ? "" : textOf(value);
    if (t !== "") el.children.push(t);
    return el;
  }
  el.attributes = attributesOf(value, siblingAttrs);
  for (const k in value) {
    if (k === "#attributes" || k.startsWith("@") || k.endsWith("_attributes")) continue;
    const v = value[k];
    if (k === "#text") {
      const t = textOf(v);
      if (t !== "") el.children.push(t);
      continue;
    }
    const attrs = value[`${k}_attributes`];
    if (Array.isArray(v)) for (const item of v) el.children.push(jsonToElement(k, item));
    else el.children.push(jsonToElement(k, v, attrs));
  }
  // attributes-only siblings whose element key is absent ("Provider_attributes" without "Provider")
  for (const k in value) {
    if (!k.endsWith("_attributes")) continue;
    const base = k.slice(0, -"_attributes".length);
    if (!(base in value) && base !== "Event") el.children.push(jsonToElement(base, null, value[k]));
  }
  return el;
}

/** `EventData` in the evtx crate's form: named Data flattened to keys; "Data" for unnamed ones. */
function eventDataElement(value: unknown): XmlElement {
  const el: XmlElement = { name: "EventData", attributes: [], children: [] };
  if (!isObject(value)) return el;
  const pushData = (name: string | undefined, v: unknown) => {
    const attributes: [string, string][] = name === undefined ? [] : [["Name", name]];
    const t = v === null || v === undefined ? "" : textOf(v);
    el.children.push({ name: "Data", attributes, children: t === "" ? [] : [t] });
  };
  for (const k in value) {
    if (k === "#attributes" || k.startsWith("@") || k.endsWith("_attributes")) continue;
    const v = value[k];
    if (k === "Binary") {
      el.children.push({ name: "Binary", attributes: [], children: textOf(v) === "" ? [] : [textOf(v)] });
    } else if (k === "Data" || k === "#text") {
      // unnamed Data (a string, a list, or {"#text": [...]}) or xmltodict's [{"@Name":..,"#text":..}]
      const items = Array.isArray(v) ? v : isObject(v) && Array.isArray(v["#text"]) ? v["#text"] : [v];
      for (const item of items) {
        if (isObject(item)) {
          const named =
            item["@Name"] ?? (isObject(item["#attributes"]) ? item["#attributes"].Name : undefined);
          pushData(scalarText(named), item["#text"]);
        } else {
          pushData(undefined, item);
        }
      }
    } else if (Array.isArray(v)) {
      for (const item of v) pushData(k, item);
    } else {
      pushData(k, isObject(v) && "#text" in v ? v["#text"] : v);
    }
  }
  return el;
}

function eventFromEvtxJson(eventObj: JsonObject, provenance: Provenance, filter?: SystemPredicate) {
  const root: XmlElement = { name: "Event", attributes: [], children: [] };
  for (const k in eventObj) {
    if (k === "#attributes" || k.startsWith("@") || k.endsWith("_attributes")) continue;
    const v = eventObj[k];
    if (k === "EventData") root.children.push(eventDataElement(v));
    else root.children.push(jsonToElement(k, v, eventObj[`${k}_attributes`]));
  }
  return eventFromXml(root, provenance, filter);
}

// ---------------------------------------------------------------------------------------------
// Winlogbeat

function getPath(obj: JsonObject, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** Flatten nested objects to dotted keys for `extra`. */
function flattenInto(
  out: Record<string, string | string[]>,
  prefix: string,
  v: unknown,
  skip: Set<string>,
): void {
  if (skip.has(prefix)) return;
  if (isObject(v)) {
    for (const k in v) flattenInto(out, prefix === "" ? k : `${prefix}.${k}`, v[k], skip);
    return;
  }
  if (Array.isArray(v)) {
    out[prefix] = v.map((x) => scalarText(x) ?? JSON.stringify(x));
    return;
  }
  const s = scalarText(v);
  if (s !== undefined) out[prefix] = s;
}

function userDataElement(name: string, v: unknown): XmlElement {
  const el: XmlElement = { name, attributes: [], children: [] };
  if (!isObject(v)) {
    const t = textOf(v);
    if (t !== "") el.children.push(t);
    return el;
  }
  for (const k in v) {
    if (k === "xml_name") continue;
    const child = v[k];
    if (Array.isArray(child)) for (const item of child) el.children.push(userDataElement(k, item));
    else el.children.push(userDataElement(k, child));
  }
  return el;
}

/** Keys used for System fields (Winlogbeat 7+/8 `winlog.*`, Winlogbeat 6 top level). */
const WINLOGBEAT_SYSTEM: [string, keyof SystemFields][] = [
  ["winlog.event_id", "eventID"],
  ["event.code", "eventID"],
  ["event_id", "eventID"],
  ["winlog.provider_name", "providerName"],
  ["event.provider", "providerName"],
  ["source_name", "providerName"],
  ["winlog.provider_guid", "providerGuid"],
  ["provider_guid", "providerGuid"],
  ["winlog.version", "version"],
  ["version", "version"],
  ["winlog.record_id", "eventRecordID"],
  ["record_number", "eventRecordID"],
  ["winlog.activity_id", "activityID"],
  ["activity_id", "activityID"],
  ["winlog.related_activity_id", "relatedActivityID"],
  ["related_activity_id", "relatedActivityID"],
  ["winlog.process.pid", "processID"],
  ["process_id", "processID"],
  ["winlog.process.thread.id", "threadID"],
  ["thread_id", "threadID"],
  ["winlog.channel", "channel"],
  ["log_name", "channel"],
  ["winlog.computer_name", "computer"],
  ["computer_name", "computer"],
  ["winlog.user.identifier", "userID"],
  ["user.identifier", "userID"],
];

/** Paths whose value is rendered text (RenderingInfo), not the numeric System value. */
const WINLOGBEAT_RENDERED: [string, string][] = [
  ["message", "Message"],
  ["log.level", "Level"],
  ["level", "Level"],
  ["winlog.task", "Task"],
  ["task", "Task"],
  ["winlog.opcode", "Opcode"],
  ["opcode", "Opcode"],
  ["winlog.keywords", "Keywords"],
  ["keywords", "Keywords"],
];

function eventFromWinlogbeat(
  rec: JsonObject,
  provenance: Provenance,
  filter?: SystemPredicate,
): WinEvent | undefined {
  const system: SystemFields = { eventID: "" };
  const used = new Set<string>();
  for (const [path, field] of WINLOGBEAT_SYSTEM) {
    if (system[field] !== undefined && system[field] !== "") {
      if (getPath(rec, path) !== undefined) used.add(path);
      continue;
    }
    const v = scalarText(getPath(rec, path));
    if (v === undefined) continue;
    used.add(path);
    system[field] = v;
  }
  if (system.eventID === "") throw new UnknownRecordError("Winlogbeat record without event id");
  // The event's creation time: winlog.time_created (old versions) or @timestamp (ISO, UTC).
  const timeText = scalarText(getPath(rec, "winlog.time_created")) ?? scalarText(rec["@timestamp"]);
  const timeTicks = timeText !== undefined ? ticksFromIso(timeText) : undefined;
  if (timeTicks !== undefined && timeText !== undefined) system.systemTime = timeText;
  if (filter && !filter(system, timeTicks)) return undefined;

  const ev: WinEvent = { system, eventData: [], provenance };
  if (timeTicks !== undefined) ev.timeTicks = timeTicks;
  const data = getPath(rec, "winlog.event_data") ?? rec.event_data;
  if (isObject(data)) {
    for (const k in data) {
      const v = data[k];
      if (Array.isArray(v)) for (const x of v) ev.eventData.push({ name: k, value: textOf(x) });
      else ev.eventData.push({ name: k, value: textOf(v) });
    }
  }
  const userData = getPath(rec, "winlog.user_data") ?? rec.user_data;
  if (isObject(userData)) {
    ev.userData = userDataElement(scalarText(userData.xml_name) ?? "UserData", userData);
  }
  const rendering: Record<string, string | string[]> = {};
  for (const [path, key] of WINLOGBEAT_RENDERED) {
    const v = getPath(rec, path);
    if (v === undefined || key in rendering) continue;
    used.add(path);
    if (Array.isArray(v)) rendering[key] = v.map((x) => textOf(x));
    else if (scalarText(v) !== undefined) rendering[key] = scalarText(v)!;
  }
  if (Object.keys(rendering).length > 0) ev.renderingInfo = rendering;
  const extra: Record<string, string | string[]> = {};
  const skip = new Set([...used, "winlog.event_data", "event_data", "winlog.user_data", "user_data"]);
  flattenInto(extra, "", rec, skip);
  if (Object.keys(extra).length > 0) ev.extra = extra;
  return ev;
}

// ---------------------------------------------------------------------------------------------
// Splunk export

function eventFromSplunkRaw(
  result: JsonObject,
  raw: string,
  provenance: Provenance,
  filter?: SystemPredicate,
): WinEvent | undefined {
  const ev = parseEventXml(raw, provenance, filter);
  if (ev === undefined) return undefined;
  const extra: Record<string, string | string[]> = {};
  for (const k in result) {
    if (k === "_raw") continue;
    const v = result[k];
    if (Array.isArray(v)) extra[k] = v.map((x) => scalarText(x) ?? JSON.stringify(x));
    else {
      const s = scalarText(v);
      if (s !== undefined) extra[k] = s;
    }
  }
  if (Object.keys(extra).length > 0) ev.extra = { ...ev.extra, ...extra };
  return ev;
}

/** Does this `_raw` hold event XML (rather than classic WinEventLog text)? */
export function isEventXmlText(raw: string): boolean {
  let i = 0;
  while (
    i < raw.length &&
    (raw[i] === " " || raw[i] === "\n" || raw[i] === "\r" || raw[i] === "\t" || raw[i] === "\ufeff")
  )
    i++;
  return raw.startsWith("<Event", i) || raw.startsWith("<?xml", i);
}

/**
 * One parsed JSON record -> WinEvent (dialect decided here), undefined when filtered out.
 * Throws UnknownRecordError, XmlSyntaxError or NotAnEventError.
 */
export function eventFromJsonRecord(
  rec: unknown,
  file: string,
  where: { line?: number; offset?: number },
  filter?: SystemPredicate,
): WinEvent | undefined {
  if (!isObject(rec)) throw new UnknownRecordError("JSON value is not an object");
  const prov = (dialect: string): Provenance => ({ file, format: "json", ...where, dialect });
  // Chainsaw hunt output: {"document":{"kind":"evtx","data":{"Event":...}}}
  const doc = rec.document;
  if (isObject(doc) && isObject(doc.data) && isObject(doc.data.Event)) {
    return eventFromEvtxJson(doc.data.Event, prov("chainsaw"), filter);
  }
  if (isObject(rec.Event)) return eventFromEvtxJson(rec.Event, prov("evtx_dump"), filter);
  if (isObject(rec.winlog) || ("event_id" in rec && ("log_name" in rec || "source_name" in rec))) {
    return eventFromWinlogbeat(rec, prov("winlogbeat"), filter);
  }
  const result = isObject(rec.result) ? rec.result : rec;
  if (typeof result._raw === "string" && isEventXmlText(result._raw)) {
    // No push-down for Splunk exports: their index/sourcetype/source/host come from the export
    // (extra), which a SystemPredicate cannot see; the search itself filters them.
    return eventFromSplunkRaw(result, result._raw, prov("splunk"), undefined);
  }
  const dialect = flatDialectOf(result);
  if (dialect !== undefined) {
    return eventFromFlat(result, dialect, prov(dialect), dialect === "splunk" ? undefined : filter, false);
  }
  if (isObject(rec.result) || "preview" in rec || "messages" in rec) {
    throw new UnknownRecordError("Splunk export entry without an event");
  }
  throw new UnknownRecordError("unrecognised JSON record (no known log dialect)");
}

// ---------------------------------------------------------------------------------------------
// Streaming

export async function* readJson(source: ByteSource, opts: TextReadOptions = {}): AsyncGenerator<WinEvent> {
  const file = sourceName(source, opts.displayName);
  yield* readJsonStream(utf8Stream(openSource(source)), file, opts);
}

interface RawRecord {
  text: string;
  line: number;
  offset: number;
}

type Found = RawRecord | { broken: string; line: number; offset: number; lost: "record" | "none" };

/** Decode one record, map it, and report what goes wrong. */
/** Decode one record and map it; problems go to `report` (unknown dialects flagged as such). */
function handleRecord(
  r: RawRecord,
  file: string,
  opts: ReadOptions,
  report: (issue: ReadIssue, unknownDialect: boolean) => void,
): WinEvent | undefined {
  const location = `line ${r.line}`;
  let parsed: unknown;
  try {
    parsed = parseJsonExact(r.text);
  } catch (err) {
    report(
      {
        file,
        location,
        reason: `invalid JSON: ${(err as Error).message}`,
        lost: "record",
        skippedRecords: 1,
      },
      false,
    );
    return undefined;
  }
  try {
    return eventFromJsonRecord(parsed, file, { line: r.line, offset: r.offset }, opts.filter);
  } catch (err) {
    if (
      err instanceof UnknownRecordError ||
      err instanceof XmlSyntaxError ||
      err instanceof NotAnEventError
    ) {
      report(
        { file, location, reason: err.message, lost: "record", skippedRecords: 1 },
        err instanceof UnknownRecordError,
      );
      return undefined;
    }
    throw err;
  }
}

/** Keys the raw pre-filter looks at; one regex pass over the line finds them all. */
const RAW_KEYS_RE = /"(_raw|sourcetype|EventCode|EventID|Channel)":\s*/g;

/** The raw JSON value (string contents or integer text) at `i`, undefined when it is anything else. */
function rawValueAt(text: string, i: number): string | undefined {
  if (text.charCodeAt(i) === 34) {
    const end = text.indexOf('"', i + 1);
    if (end < 0) return undefined;
    const value = text.slice(i + 1, end);
    return value.includes("\\") ? undefined : value; // escapes: leave it to the real parser
  }
  let j = i;
  if (text.charCodeAt(j) === 45) j++;
  const digitsStart = j;
  while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
  return j > digitsStart ? text.slice(i, j) : undefined;
}

/**
 * Push-down before JSON parsing: for a flat record (NXLog, evtx_dump-like) whose EventID and Channel each
 * appear exactly once in the line, the push-down predicate is asked with just those two fields (it keeps
 * a record when a field it needs is unknown), and a record it rejects is never parsed. Splunk exports are
 * never pre-filtered (their metadata is not in System fields), nor is anything ambiguous. As with EVTX
 * push-down, a rejected line is not checked further: a malformed line the search could never match is
 * skipped without a report.
 */
function rawRecordMayMatch(text: string, filter: SystemPredicate): boolean {
  let eventID: string | undefined;
  let channel: string | undefined;
  let seenEventID = 0;
  let seenChannel = 0;
  RAW_KEYS_RE.lastIndex = 0;
  for (let m = RAW_KEYS_RE.exec(text); m !== null; m = RAW_KEYS_RE.exec(text)) {
    const key = m[1];
    if (key === "EventID") {
      seenEventID++;
      eventID = rawValueAt(text, RAW_KEYS_RE.lastIndex);
    } else if (key === "Channel") {
      seenChannel++;
      channel = rawValueAt(text, RAW_KEYS_RE.lastIndex);
    } else return true; // a Splunk export
  }
  if (seenEventID !== 1 || seenChannel !== 1 || eventID === undefined || channel === undefined) return true;
  return filter({ eventID, channel: normalizeChannel(channel) }, undefined);
}

/** Unknown-dialect records held back while no event has been recognised yet in a file. */
const MAX_HELD_UNKNOWN = 100;

function isOneLineObject(line: string): boolean {
  if (!line.startsWith("{") || !line.endsWith("}")) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

export async function* readJsonStream(
  stream: AsyncIterable<Uint8Array>,
  file: string,
  opts: ReadOptions = {},
): AsyncGenerator<WinEvent> {
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  // Decide NDJSON vs. the general splitter on the first line.
  const { head, stream: replay } = await peekStream(stream, 64 * 1024);
  const headText = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("utf8");
  const firstNl = headText.indexOf("\n");
  const firstLine = (firstNl < 0 ? headText : headText.slice(0, firstNl)).trim();
  let ndjson = false;
  if (isOneLineObject(firstLine)) {
    ndjson = true;
  } else if (firstLine.startsWith("{") && firstNl < 0 && head.length >= 64 * 1024) {
    ndjson = true; // a first line longer than the peek window: a long NDJSON record
  } else if (!firstLine.startsWith("[") && firstNl >= 0) {
    // A first line that is cut (`tail -c`) or broken: NDJSON when the next whole lines of the head
    // are mostly one object each. The broken line is then reported and reading resumes at the next.
    const lines = headText.slice(firstNl + 1).split("\n");
    if (head.length >= 64 * 1024) lines.pop(); // the last one may be cut by the peek window
    let objects = 0;
    let others = 0;
    for (const line of lines.slice(0, 50)) {
      const t = line.trim();
      if (t === "") continue;
      if (isOneLineObject(t)) objects++;
      else others++;
    }
    ndjson = objects > 0 && objects >= others;
  }
  let records = 0;
  let junkNoted = false;
  // A JSON file where no record is in a known dialect (e.g. a config or ground-truth file found
  // while walking a directory) is one file-level issue, not one issue per record: hold the
  // unknown-dialect issues until an event is recognised.
  let stopHolding = false;
  const held: ReadIssue[] = [];
  const flushHeld = () => {
    for (const issue of held.splice(0)) reportIssue(opts, issue);
  };
  const report = (issue: ReadIssue, unknownDialect: boolean) => {
    if (unknownDialect && !stopHolding && held.length < MAX_HELD_UNKNOWN) {
      held.push(issue);
      return;
    }
    stopHolding = true; // something else went wrong: report in order from here on
    flushHeld();
    reportIssue(opts, issue);
  };
  const source = ndjson ? ndjsonRecords(replay, maxRecord) : splitJsonValues(replay, maxRecord);
  for await (const found of source) {
    checkAbort(opts.signal);
    if ("broken" in found) {
      if (found.lost === "none") {
        if (junkNoted) continue;
        junkNoted = true;
      }
      reportIssue(opts, {
        file,
        location: `line ${found.line}`,
        reason: found.broken,
        lost: found.lost,
        ...(found.lost === "record" ? { skippedRecords: 1 } : {}),
      });
      if (found.lost === "record") records++;
      continue;
    }
    records++;
    if (opts.filter && !rawRecordMayMatch(found.text, opts.filter)) continue;
    const ev = handleRecord(found, file, opts, report);
    if (ev !== undefined || stopHolding) {
      stopHolding = true;
      flushHeld();
    }
    if (ev !== undefined) yield ev;
  }
  if (!stopHolding && held.length > 0 && held.length === records) {
    // valid JSON throughout, but no record in any log dialect: JSON that is not a log
    reportIssue(opts, {
      file,
      location: held[0].location,
      reason: `not a JSON event log (${held.length} JSON record(s), none in a known log dialect)`,
      lost: "file",
    });
    held.length = 0;
  }
  flushHeld();
  if (records === 0 && junkNoted) {
    reportIssue(opts, {
      file,
      location: "offset 0",
      reason: "not a JSON log (no JSON object found)",
      lost: "file",
    });
  }
}

async function* ndjsonRecords(stream: AsyncIterable<Uint8Array>, maxRecord: number): AsyncGenerator<Found> {
  for await (const l of splitLines(stream, maxRecord)) {
    if (l.overLong !== undefined) {
      yield {
        broken: `line longer than ${maxRecord} bytes (${l.overLong} bytes, skipped)`,
        line: l.line,
        offset: l.offset,
        lost: "record",
      };
      continue;
    }
    const text = Buffer.from(l.bytes.buffer, l.bytes.byteOffset, l.bytes.byteLength).toString("utf8");
    if (text.trim() === "") continue;
    yield { text, line: l.line, offset: l.offset };
  }
}

/** "Record 12" (evtx_dump's separator) is expected between pretty-printed records. */
const KNOWN_SEPARATOR_RE = /^Record \d+$/;

/**
 * Split a stream into top-level JSON objects (inside an optional top-level array), tracking
 * strings and nesting byte by byte. A raw newline inside a string cannot be valid JSON, so a
 * record broken that way is reported and scanning resumes on the next line.
 */
async function* splitJsonValues(stream: AsyncIterable<Uint8Array>, maxRecord: number): AsyncGenerator<Found> {
  let depth = 0;
  let inString = false;
  let afterBackslash = false;
  let pieces: Buffer[] = [];
  let pieceStart = -1; // start index in current chunk of the record's bytes
  let recordLen = 0;
  let recordLine = 0;
  let recordOffset = 0;
  let skippingLine = false; // discarding the rest of a line (junk or over-long record)
  let junkStart = -1;
  let junk = "";
  let line = 1;
  let pos = 0;
  for await (const raw of stream) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    pieceStart = depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 10) line++;
      if (skippingLine) {
        if (c === 10) {
          skippingLine = false;
          if (junkStart >= 0) {
            const text = junk.trim();
            junk = "";
            if (text !== "" && !KNOWN_SEPARATOR_RE.test(text)) {
              yield {
                broken: "non-JSON text between records (ignored)",
                line: junkStart,
                offset: pos + i,
                lost: "none",
              };
            }
            junkStart = -1;
          }
        } else if (junkStart >= 0 && junk.length < 200) {
          junk += String.fromCharCode(c);
        }
        continue;
      }
      if (depth === 0) {
        // between records: whitespace, array brackets, commas
        if (c === 0x7b /* { */) {
          depth = 1;
          inString = false;
          afterBackslash = false;
          pieces = [];
          pieceStart = i;
          recordLen = 0;
          recordLine = line;
          recordOffset = pos + i;
          continue;
        }
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2c || c === 0x5b || c === 0x5d)
          continue;
        skippingLine = true;
        junkStart = line;
        junk = String.fromCharCode(c);
        continue;
      }
      if (inString) {
        if (afterBackslash) afterBackslash = false;
        else if (c === 0x5c) afterBackslash = true;
        else if (c === 0x22) inString = false;
        else if (c === 10) {
          // raw newline inside a string: the record is broken (e.g. a truncated line)
          yield {
            broken: "invalid JSON: unterminated string",
            line: recordLine,
            offset: recordOffset,
            lost: "record",
          };
          depth = 0;
          inString = false;
          pieces = [];
          pieceStart = -1;
        }
        continue;
      }
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) {
          const last = chunk.subarray(pieceStart, i + 1);
          pieces.push(last);
          recordLen += last.length;
          const text = Buffer.concat(pieces, recordLen).toString("utf8");
          pieces = [];
          pieceStart = -1;
          if (recordLen > maxRecord) {
            yield {
              broken: `record larger than ${maxRecord} bytes (skipped)`,
              line: recordLine,
              offset: recordOffset,
              lost: "record",
            };
          } else {
            yield { text, line: recordLine, offset: recordOffset };
          }
          recordLen = 0;
        }
      }
    }
    if (depth > 0 && pieceStart >= 0) {
      const rest = chunk.subarray(pieceStart);
      recordLen += rest.length;
      if (recordLen > maxRecord) {
        yield {
          broken: `record larger than ${maxRecord} bytes (skipped)`,
          line: recordLine,
          offset: recordOffset,
          lost: "record",
        };
        depth = 0;
        inString = false;
        pieces = [];
        skippingLine = true;
      } else {
        pieces.push(rest);
      }
    }
    pos += chunk.length;
  }
  if (depth > 0) {
    yield {
      broken: "invalid JSON: truncated record at end of input",
      line: recordLine,
      offset: recordOffset,
      lost: "record",
    };
  } else if (skippingLine && junkStart >= 0) {
    const text = junk.trim();
    if (text !== "" && !KNOWN_SEPARATOR_RE.test(text)) {
      yield { broken: "non-JSON text between records (ignored)", line: junkStart, offset: pos, lost: "none" };
    }
  }
}
