/**
 * Windows event XML reader: concatenated `<Event>` elements (wevtutil, Get-WinEvent ToXml, Splunk
 * `_raw`), an `<Events>` wrapper (python-evtx), libevtx's evtxexport text (a non-XML first line),
 * with or without namespace or prefixes, UTF-8 or UTF-16.
 *
 * Streaming design: a byte-level boundary scanner finds `<Event ...>` ... `</Event>` in a rolling
 * buffer (native Buffer.indexOf), cuts one element out, and only that element (a few KB) is
 * decoded and parsed (xmltree.ts). Memory is bounded by `maxRecordBytes` plus one read chunk.
 */

import type {
  EventDataItem,
  Provenance,
  ReadOptions,
  SystemFields,
  SystemPredicate,
  WinEvent,
  XmlElement,
} from "../events/model.js";
import { ticksFromIso } from "../events/time.js";
import {
  type ByteSource,
  checkAbort,
  countNewlines,
  DEFAULT_MAX_RECORD_BYTES,
  openSource,
  reportIssue,
  sourceName,
  type TextReadOptions,
  utf8Stream,
} from "./stream.js";
import { attribute, localName, parseElement, textContent, XmlSyntaxError } from "./xmltree.js";

/** Raised when an element is XML but not a Windows event (no System/EventID). */
export class NotAnEventError extends Error {}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

function isWhitespace(s: string): boolean {
  return s.trim().length === 0;
}

/**
 * The `<System>` block -> SystemFields. Empty attributes (python-evtx writes `Qualifiers=""`,
 * `ActivityID=""`) are treated as absent, as Windows omits them; element texts are kept as written.
 */
export function systemFromXml(system: XmlElement): SystemFields {
  const out: SystemFields = { eventID: "" };
  let haveEventID = false;
  for (const child of system.children) {
    if (typeof child === "string") continue;
    switch (localName(child.name)) {
      case "Provider":
        out.providerName = nonEmpty(attribute(child, "Name"));
        out.providerGuid = nonEmpty(attribute(child, "Guid"));
        out.eventSourceName = nonEmpty(attribute(child, "EventSourceName"));
        break;
      case "EventID":
        out.eventID = textContent(child).trim();
        out.qualifiers = nonEmpty(attribute(child, "Qualifiers"));
        haveEventID = true;
        break;
      case "Version":
        out.version = textContent(child).trim();
        break;
      case "Level":
        out.level = textContent(child).trim();
        break;
      case "Task":
        out.task = textContent(child).trim();
        break;
      case "Opcode":
        out.opcode = textContent(child).trim();
        break;
      case "Keywords":
        out.keywords = textContent(child).trim();
        break;
      case "TimeCreated":
        out.systemTime = nonEmpty(attribute(child, "SystemTime"));
        break;
      case "EventRecordID":
        out.eventRecordID = textContent(child).trim();
        break;
      case "Correlation":
        out.activityID = nonEmpty(attribute(child, "ActivityID"));
        out.relatedActivityID = nonEmpty(attribute(child, "RelatedActivityID"));
        break;
      case "Execution":
        out.processID = nonEmpty(attribute(child, "ProcessID"));
        out.threadID = nonEmpty(attribute(child, "ThreadID"));
        break;
      case "Channel":
        out.channel = textContent(child);
        break;
      case "Computer":
        out.computer = textContent(child);
        break;
      case "Security":
        out.userID = nonEmpty(attribute(child, "UserID"));
        break;
    }
  }
  if (!haveEventID) throw new NotAnEventError("no System/EventID");
  // Drop keys left undefined so that deepEqual comparisons see the same shape from every reader.
  for (const k of Object.keys(out) as (keyof SystemFields)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** A generic element with whitespace-only text dropped where it is only indentation (mixed content). */
function cleanElement(el: XmlElement): XmlElement {
  const hasElements = el.children.some((c) => typeof c !== "string");
  const children: (XmlElement | string)[] = [];
  for (const c of el.children) {
    if (typeof c === "string") {
      if (hasElements && isWhitespace(c)) continue;
      // merge adjacent text (text + CDATA) into one string
      const last = children[children.length - 1];
      if (typeof last === "string") children[children.length - 1] = last + c;
      else children.push(c);
    } else {
      children.push(cleanElement(c));
    }
  }
  return { name: el.name, attributes: el.attributes, children };
}

/**
 * Convert a parsed `<Event>` element to a WinEvent. Returns undefined when `filter` rejects the
 * System fields (EventData is then never built). Throws NotAnEventError for non-events.
 */
export function eventFromXml(
  root: XmlElement,
  provenance: Provenance,
  filter?: SystemPredicate,
): WinEvent | undefined {
  if (localName(root.name) !== "Event") throw new NotAnEventError(`<${root.name}> is not an <Event>`);
  let systemEl: XmlElement | undefined;
  for (const c of root.children) if (typeof c !== "string" && localName(c.name) === "System") systemEl = c;
  if (systemEl === undefined) throw new NotAnEventError("no <System>");
  const system = systemFromXml(systemEl);
  const timeTicks = system.systemTime !== undefined ? ticksFromIso(system.systemTime) : undefined;
  if (filter && !filter(system, timeTicks)) return undefined;

  const ev: WinEvent = { system, eventData: [], provenance };
  if (timeTicks !== undefined) ev.timeTicks = timeTicks;
  for (const c of root.children) {
    if (typeof c === "string") continue;
    const name = localName(c.name);
    if (name === "EventData") {
      const items: EventDataItem[] = ev.eventData;
      for (const d of c.children) {
        if (typeof d === "string") continue;
        const dn = localName(d.name);
        if (dn === "Data") {
          const dataName = attribute(d, "Name");
          items.push(
            dataName === undefined ? { value: textContent(d) } : { name: dataName, value: textContent(d) },
          );
        } else if (dn === "Binary") {
          ev.binary = textContent(d);
        }
      }
    } else if (name === "UserData") {
      for (const u of c.children) {
        if (typeof u !== "string") {
          ev.userData = cleanElement(u);
          break;
        }
      }
    } else if (name === "RenderingInfo") {
      ev.renderingInfo = renderingInfoFromXml(c);
    }
  }
  return ev;
}

/** `<RenderingInfo Culture="en-US"><Message>..</Message><Keywords><Keyword>..</Keyword></Keywords>` */
function renderingInfoFromXml(el: XmlElement): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const culture = attribute(el, "Culture");
  if (culture !== undefined) out.Culture = culture;
  for (const c of el.children) {
    if (typeof c === "string") continue;
    const name = localName(c.name);
    const kids = c.children.filter((k): k is XmlElement => typeof k !== "string");
    if (kids.length > 0 || name === "Keywords") out[name] = kids.map((k) => textContent(k));
    else out[name] = textContent(c);
  }
  return out;
}

/**
 * Parse one event's XML text (e.g. a Splunk `_raw`). Throws XmlSyntaxError / NotAnEventError.
 * Leading text before the first "<" (whitespace, a BOM) is skipped.
 */
export function parseEventXml(
  text: string,
  provenance: Provenance,
  filter?: SystemPredicate,
): WinEvent | undefined {
  const start = text.indexOf("<Event") >= 0 ? text.indexOf("<") : -1;
  if (start < 0) throw new NotAnEventError("no <Event> element");
  // skip an XML declaration / comments before the element
  let s = start;
  while (text.startsWith("<?", s) || text.startsWith("<!--", s)) {
    const e = text.startsWith("<?", s) ? text.indexOf("?>", s) + 2 : text.indexOf("-->", s) + 3;
    if (e < 2) break;
    s = text.indexOf("<", e);
    if (s < 0) throw new NotAnEventError("no <Event> element");
  }
  const { element } = parseElement(text, s);
  return eventFromXml(element, provenance, filter);
}

// ---------------------------------------------------------------------------------------------
// Streaming boundary scanner

const LT = 0x3c;

function isTagNameEnd(c: number | undefined): boolean {
  return c === undefined || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x3e || c === 0x2f;
}

/** A first line such as "evtxexport 20181227" (libevtx's tool banner) is expected, not a problem. */
const KNOWN_BANNER_RE = /^\s*evtxexport \d+\s*$/;

/**
 * Stream WinEvents out of Windows event XML. Provenance: `offset` (byte offset of `<Event` in
 * the UTF-8 stream) and `line` (1-based line of `<Event`).
 */
export async function* readXml(source: ByteSource, opts: TextReadOptions = {}): AsyncGenerator<WinEvent> {
  const file = sourceName(source, opts.displayName);
  yield* readXmlStream(utf8Stream(openSource(source)), file, opts);
}

/** Same as readXml on an already-opened UTF-8 stream (used by readInputs after detection). */
export async function* readXmlStream(
  stream: AsyncIterable<Uint8Array>,
  file: string,
  opts: ReadOptions = {},
): AsyncGenerator<WinEvent> {
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const filter = opts.filter;
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = 0; // absolute offset of buf[0]
  let pos = 0; // scan position within buf (outside an event)
  let lineAtPos = 1;
  let eof = false;
  let events = 0;
  let junkNoted = false;
  let junkSeen = false;
  const it = stream[Symbol.asyncIterator]();

  const advanceTo = (p: number) => {
    lineAtPos += countNewlines(buf, pos, p);
    pos = p;
  };
  const compact = () => {
    // drop consumed bytes so memory stays bounded
    if (pos > 0) {
      bufStart += pos;
      buf = buf.subarray(pos);
      pos = 0;
    }
  };
  const fill = async (): Promise<boolean> => {
    if (eof) return false;
    const r = await it.next();
    if (r.done) {
      eof = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    return true;
  };
  const noteJunk = (raw: string, startLine: number) => {
    junkSeen = true;
    if (junkNoted) return;
    // report the line of the first non-blank character
    const lead = raw.length - raw.trimStart().length;
    const line = startLine + (raw.slice(0, lead).match(/\n/g)?.length ?? 0);
    const text = raw.trimStart();
    if (events === 0 && line === 1 && KNOWN_BANNER_RE.test(text.split("\n")[0])) return;
    junkNoted = true;
    reportIssue(opts, {
      file,
      location: `line ${line}`,
      reason: "non-XML text between events (ignored)",
      lost: "none",
    });
  };

  while (true) {
    checkAbort(opts.signal);
    // find next "<" outside an event
    let lt = buf.indexOf(LT, pos);
    if (lt < 0) {
      if (pos < buf.length) {
        const text = buf.toString("utf8", pos, Math.min(buf.length, pos + 200));
        if (!isWhitespace(text)) noteJunk(text, lineAtPos);
      }
      advanceTo(buf.length);
      compact();
      if (!(await fill())) break;
      continue;
    }
    if (lt > pos) {
      const text = buf.toString("utf8", pos, Math.min(lt, pos + 200));
      if (!isWhitespace(text)) noteJunk(text, lineAtPos);
      advanceTo(lt);
      lt = pos;
    }
    // drop consumed bytes now and then (not per event: a Buffer view per event costs)
    if (pos > 1 << 20) compact();
    lt = pos;
    // need the tag name: up to 256 bytes after "<"
    if (buf.length - lt < 256 && !eof) {
      await fill();
      continue;
    }
    const c1 = buf[lt + 1];
    if (c1 === 0x3f /* ? */ || c1 === 0x21 /* ! */ || c1 === 0x2f /* / */) {
      // declaration, comment, doctype, end tag of a wrapper: skip it
      const terminator =
        c1 === 0x3f ? "?>" : buf.subarray(lt, lt + 4).toString("latin1") === "<!--" ? "-->" : ">";
      const e = buf.indexOf(terminator, lt + 2, "latin1");
      if (e < 0) {
        if (eof) {
          advanceTo(buf.length);
          break;
        }
        if (buf.length - lt > maxRecord) {
          noteJunk("<", lineAtPos);
          advanceTo(buf.length);
          compact();
        }
        await fill();
        continue;
      }
      advanceTo(e + terminator.length);
      continue;
    }
    // element start tag: read its name
    let ne = lt + 1;
    while (ne < buf.length && !isTagNameEnd(buf[ne])) ne++;
    const tagName = buf.toString("latin1", lt + 1, ne);
    if (localName(tagName) !== "Event" || ne - lt - 1 === 0) {
      // a wrapper such as <Events> (python-evtx) or anything else at top level: step over the tag
      if (localName(tagName) !== "Events")
        noteJunk(buf.toString("utf8", lt, Math.min(buf.length, lt + 80)), lineAtPos);
      const gt = buf.indexOf(0x3e, lt + 1);
      if (gt < 0 && !eof && buf.length - lt <= maxRecord) {
        await fill();
        continue;
      }
      advanceTo(gt < 0 ? buf.length : gt + 1);
      continue;
    }

    // an <Event ...> element: find its end tag
    const eventLine = lineAtPos;
    const eventOffset = bufStart + lt;
    const endTag = Buffer.from(`</${tagName}`, "latin1");
    const startTag = Buffer.from(`<${tagName}`, "latin1");
    let searchFrom = ne;
    let endPos = -1; // index just past the end tag's ">"
    let selfClosed = false;
    let overLong = false;
    let nextStart = -1; // another <Event start before the end tag: this one is truncated
    // self-closing <Event .../>
    const firstGt = buf.indexOf(0x3e, ne);
    if (firstGt >= 0 && buf[firstGt - 1] === 0x2f) {
      selfClosed = true;
      endPos = firstGt + 1;
    }
    while (endPos < 0) {
      let e = buf.indexOf(endTag, searchFrom);
      // "</Event" must not match "</EventID>" / "</EventData>": the name has to end there
      while (e >= 0 && e + endTag.length < buf.length && !isTagNameEnd(buf[e + endTag.length]))
        e = buf.indexOf(endTag, e + 1);
      if (e >= 0 && e + endTag.length >= buf.length && !eof) e = -1;
      const limit = e < 0 ? buf.length : e;
      // a new <Event before our end tag means the current one was cut off
      let s = buf.indexOf(startTag, ne);
      while (s >= 0 && s < limit && !isTagNameEnd(buf[s + startTag.length])) s = buf.indexOf(startTag, s + 1);
      if (s >= 0 && s < limit && (s + startTag.length < buf.length || eof)) {
        nextStart = s;
        break;
      }
      if (e >= 0) {
        const gt = buf.indexOf(0x3e, e + endTag.length);
        if (gt >= 0) {
          endPos = gt + 1;
          break;
        }
      }
      if (buf.length - lt > maxRecord) {
        overLong = true;
        break;
      }
      searchFrom = Math.max(ne, buf.length - endTag.length - 64);
      if (!(await fill())) break;
    }

    if (overLong) {
      reportIssue(opts, {
        file,
        location: `line ${eventLine} (offset ${eventOffset})`,
        reason: `event larger than ${maxRecord} bytes (skipped)`,
        lost: "record",
        skippedRecords: 1,
      });
      // skip forward to the end tag without buffering: keep only a tail for the search
      while (true) {
        let e = buf.indexOf(endTag, lt + 1);
        while (e >= 0 && !isTagNameEnd(buf[e + endTag.length])) e = buf.indexOf(endTag, e + 1);
        if (e >= 0) {
          const gt = buf.indexOf(0x3e, e);
          if (gt >= 0) {
            advanceTo(gt + 1);
            break;
          }
        }
        const keep = Math.max(lt + 1, buf.length - endTag.length - 64);
        advanceTo(keep);
        compact();
        lt = 0;
        if (!(await fill())) {
          advanceTo(buf.length);
          break;
        }
      }
      continue;
    }
    if (nextStart >= 0) {
      reportIssue(opts, {
        file,
        location: `line ${eventLine} (offset ${eventOffset})`,
        reason: "truncated event (a new <Event> starts before its end tag)",
        lost: "record",
        skippedRecords: 1,
      });
      advanceTo(nextStart);
      continue;
    }
    if (endPos < 0) {
      reportIssue(opts, {
        file,
        location: `line ${eventLine} (offset ${eventOffset})`,
        reason: "truncated event at end of input",
        lost: "record",
        skippedRecords: 1,
      });
      advanceTo(buf.length);
      break;
    }

    const text = buf.toString("utf8", lt, endPos);
    const provenance: Provenance = { file, format: "xml", offset: eventOffset, line: eventLine };
    advanceTo(endPos);
    let ev: WinEvent | undefined;
    try {
      ev = eventFromXml(
        selfClosed ? { name: tagName, attributes: [], children: [] } : parseElement(text, 0).element,
        provenance,
        filter,
      );
      events++;
    } catch (err) {
      if (!(err instanceof XmlSyntaxError || err instanceof NotAnEventError)) throw err;
      events++;
      reportIssue(opts, {
        file,
        location: `line ${eventLine} (offset ${eventOffset})`,
        reason:
          err instanceof XmlSyntaxError
            ? `malformed event XML: ${err.message}`
            : `not a Windows event: ${err.message}`,
        lost: "record",
        skippedRecords: 1,
      });
      continue;
    }
    if (ev !== undefined) yield ev;
  }

  if (events === 0 && junkSeen) {
    reportIssue(opts, {
      file,
      location: "offset 0",
      reason: "not a Windows event log (no <Event> element found)",
      lost: "file",
    });
  }
}
