/**
 * What a HEC request carries, turned into WinEvents with the readers' own parsers: a body of
 * concatenated JSON envelopes (`{"event":...,"host":...}{"event":...}`) or raw lines, and inside each
 * the event as shippers send Windows events: XmlWinEventLog XML text, or a JSON object / JSON text in
 * one of the JSON readers' dialects (Winlogbeat/ECS, NXLog, evtx_dump, a Splunk export row). The
 * dialect is detected per event.
 */
import type { SystemPredicate, WinEvent } from "../events/model.js";
import { eventFromJsonRecord, parseEventXml } from "../readers/index.js";
import { parseJsonExact } from "../readers/json.js";

/** A HEC error with its code (see hecStatus in hec.ts). */
export class HecError extends Error {
  constructor(
    readonly code: number,
    message?: string,
    readonly eventNumber?: number,
  ) {
    super(message ?? `HEC code ${code}`);
  }
}

/** The parts of a HEC envelope dcomhunt keeps (the event's own Computer and time lead). */
export interface HecEnvelope {
  event: unknown;
  source?: string;
  host?: string;
  sourcetype?: string;
  time?: number | string;
}

/** One accepted event: the WinEvent (undefined when no selected rule can use it) and its envelope. */
export interface DecodedEvent {
  envelope: HecEnvelope;
  event: WinEvent | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The event of one envelope as a WinEvent. `filter` is the rules' push-down predicate: an event it
 * rejects is valid but of no use (undefined). Throws HecError code 6 for a payload in no known format.
 */
export function decodePayload(
  env: HecEnvelope,
  filter: SystemPredicate | undefined,
  eventNumber: number,
): WinEvent | undefined {
  const file = env.source ?? "hec";
  const value = env.event;
  try {
    if (typeof value === "string") {
      const t = value.trimStart();
      if (t.startsWith("<")) {
        const ev = parseEventXml(t, { file, format: "xml", dialect: "hec" }, filter);
        return ev;
      }
      if (t.startsWith("{")) return eventFromJsonRecord(parseJsonExact(t), file, {}, filter);
      throw new Error("neither event XML nor a JSON event");
    }
    if (isObject(value)) return eventFromJsonRecord(value, file, {}, filter);
    throw new Error("event is neither text nor an object");
  } catch (err) {
    throw new HecError(6, `Invalid data format: ${(err as Error).message}`, eventNumber);
  }
}

/**
 * Split a body of concatenated JSON objects (optionally separated by whitespace) into their texts.
 * Throws HecError 6 with the 0-based number of the first object that is not one.
 */
export function splitJsonObjects(body: string): string[] {
  const out: string[] = [];
  const n = body.length;
  let i = 0;
  for (;;) {
    while (i < n) {
      const c = body.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    if (i >= n) return out;
    if (body.charCodeAt(i) !== 0x7b) throw new HecError(6, "Invalid data format", out.length);
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = body.charCodeAt(i);
      if (inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) throw new HecError(6, "Invalid data format", out.length);
    out.push(body.slice(start, i));
  }
}

const META = ["host", "source", "sourcetype", "index"] as const;

/**
 * The envelopes of a `/services/collector[/event]` body, validated whole before anything is accepted:
 * a bad envelope rejects the batch (HEC codes 5, 6, 12, 13, 15 with `invalid-event-number`).
 */
export function parseEventBody(body: string, maxEventBytes: number): HecEnvelope[] {
  const texts = splitJsonObjects(body);
  if (texts.length === 0) throw new HecError(5, "No data");
  const out: HecEnvelope[] = [];
  texts.forEach((text, n) => {
    if (text.length > maxEventBytes)
      throw new HecError(6, `Invalid data format: event larger than ${maxEventBytes} bytes`, n);
    let obj: unknown;
    try {
      obj = parseJsonExact(text);
    } catch {
      throw new HecError(6, "Invalid data format", n);
    }
    if (!isObject(obj)) throw new HecError(6, "Invalid data format", n);
    if (!("event" in obj)) throw new HecError(12, "Event field is required", n);
    const event = obj.event;
    if (event === null || event === "" || (isObject(event) && Object.keys(event).length === 0))
      throw new HecError(13, "Event field cannot be blank", n);
    if (obj.fields !== undefined) {
      const ok =
        isObject(obj.fields) &&
        Object.values(obj.fields).every(
          (v) => typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string")),
        );
      if (!ok) throw new HecError(15, "Error in handling indexed fields", n);
    }
    const env: HecEnvelope = { event };
    for (const k of META) {
      const v = obj[k];
      if (v !== undefined && typeof v !== "string") throw new HecError(6, "Invalid data format", n);
    }
    if (typeof obj.source === "string") env.source = obj.source;
    if (typeof obj.host === "string") env.host = obj.host;
    if (typeof obj.sourcetype === "string") env.sourcetype = obj.sourcetype;
    if (typeof obj.time === "number" || typeof obj.time === "string") env.time = obj.time;
    out.push(env);
  });
  return out;
}

/** The envelopes of a `/services/collector/raw` body: one event per non-empty line. */
export function parseRawBody(
  body: string,
  meta: { source?: string; host?: string; sourcetype?: string },
  maxEventBytes: number,
): HecEnvelope[] {
  const out: HecEnvelope[] = [];
  let n = 0;
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    if (line.length > maxEventBytes)
      throw new HecError(6, `Invalid data format: event larger than ${maxEventBytes} bytes`, n);
    out.push({ event: line, ...meta });
    n++;
  }
  if (out.length === 0) throw new HecError(5, "No data");
  return out;
}

/** Decode every envelope (all or nothing). */
export function decodeEnvelopes(envs: HecEnvelope[], filter: SystemPredicate | undefined): DecodedEvent[] {
  return envs.map((envelope, n) => ({ envelope, event: decodePayload(envelope, filter, n) }));
}
