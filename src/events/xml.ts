/**
 * WinEvent -> event XML, in two styles:
 * - "windows": what Windows (wevtutil, Get-WinEvent ToXml) renders: double-quoted attributes,
 *   System children in Windows' order.
 * - "splunk": what Splunk's XmlWinEventLog `_raw` looks like: single-quoted attributes
 *   (`'` escaped as `&apos;`), one line, `&amp; &lt; &gt;` escaped in text and `"` left literal.
 * Elements whose value is undefined are omitted. `readXml(renderEventXml(ev))` gives back an equal
 * WinEvent (tested, including a property test).
 */

import type { SystemFields, WinEvent, XmlElement } from "./model.js";

export const EVENT_NAMESPACE = "http://schemas.microsoft.com/win/2004/08/events/event";

export interface RenderXmlOptions {
  style?: "windows" | "splunk";
  /** Pretty-print with two-space indentation (only between elements, never inside values). */
  indent?: boolean;
}

// Characters XML cannot carry literally: C0 controls except TAB/LF/CR, which we keep as
// character references so that any parser gives back the same text; CR is referenced too,
// because conformant parsers normalise a literal CR (or CRLF) to LF.
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
const ATTR_SPECIAL_DQ = /[&<>"\t\n\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
const ATTR_SPECIAL_SQ = /[&<>'\t\n\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function charRef(ch: string): string {
  switch (ch) {
    case "&":
      return "&amp;";
    case "<":
      return "&lt;";
    case ">":
      return "&gt;";
    case '"':
      return "&quot;";
    case "'":
      return "&apos;";
    default:
      return `&#${ch.charCodeAt(0)};`;
  }
}

export function escapeXmlText(text: string): string {
  return text.replace(TEXT_SPECIAL, charRef);
}

function escapeAttr(text: string, quote: '"' | "'"): string {
  return text.replace(quote === '"' ? ATTR_SPECIAL_DQ : ATTR_SPECIAL_SQ, charRef);
}

class XmlWriter {
  private readonly parts: string[] = [];
  private depth = 0;
  constructor(
    private readonly quote: '"' | "'",
    private readonly indent: boolean,
  ) {}

  private newline(): void {
    if (this.indent && this.parts.length > 0) this.parts.push(`\n${"  ".repeat(this.depth)}`);
  }

  private attrs(attributes: [string, string | undefined][]): string {
    let out = "";
    for (const [k, v] of attributes)
      if (v !== undefined) out += ` ${k}=${this.quote}${escapeAttr(v, this.quote)}${this.quote}`;
    return out;
  }

  open(name: string, attributes: [string, string | undefined][] = []): void {
    this.newline();
    this.parts.push(`<${name}${this.attrs(attributes)}>`);
    this.depth++;
  }

  close(name: string): void {
    this.depth--;
    this.newline();
    this.parts.push(`</${name}>`);
  }

  /** `<name a="..">text</name>`, or `<name a=".."/>` when text is empty/undefined. */
  leaf(name: string, text: string | undefined, attributes: [string, string | undefined][] = []): void {
    this.newline();
    if (text === undefined || text === "") this.parts.push(`<${name}${this.attrs(attributes)}/>`);
    else this.parts.push(`<${name}${this.attrs(attributes)}>${escapeXmlText(text)}</${name}>`);
  }

  /** A generic element tree (UserData). Text-bearing elements are written on one line. */
  element(el: XmlElement): void {
    const hasText = el.children.some((c) => typeof c === "string");
    if (el.children.length === 0) {
      this.leaf(el.name, undefined, el.attributes);
      return;
    }
    if (hasText) {
      // mixed or text content: no indentation inside, it would change the text
      this.newline();
      this.parts.push(this.inline(el));
      return;
    }
    this.open(el.name, el.attributes);
    for (const c of el.children) if (typeof c !== "string") this.element(c);
    this.close(el.name);
  }

  private inline(el: XmlElement): string {
    if (el.children.length === 0) return `<${el.name}${this.attrs(el.attributes)}/>`;
    let out = `<${el.name}${this.attrs(el.attributes)}>`;
    for (const c of el.children) out += typeof c === "string" ? escapeXmlText(c) : this.inline(c);
    return `${out}</${el.name}>`;
  }

  toString(): string {
    return this.parts.join("");
  }
}

function writeSystem(w: XmlWriter, s: SystemFields): void {
  w.open("System");
  if (s.providerName !== undefined || s.providerGuid !== undefined || s.eventSourceName !== undefined) {
    w.leaf("Provider", undefined, [
      ["Name", s.providerName],
      ["Guid", s.providerGuid],
      ["EventSourceName", s.eventSourceName],
    ]);
  }
  w.leaf("EventID", s.eventID, [["Qualifiers", s.qualifiers]]);
  if (s.version !== undefined) w.leaf("Version", s.version);
  if (s.level !== undefined) w.leaf("Level", s.level);
  if (s.task !== undefined) w.leaf("Task", s.task);
  if (s.opcode !== undefined) w.leaf("Opcode", s.opcode);
  if (s.keywords !== undefined) w.leaf("Keywords", s.keywords);
  if (s.systemTime !== undefined) w.leaf("TimeCreated", undefined, [["SystemTime", s.systemTime]]);
  if (s.eventRecordID !== undefined) w.leaf("EventRecordID", s.eventRecordID);
  // Windows always writes <Correlation/> and <Security/>, empty when there is nothing to say.
  w.leaf("Correlation", undefined, [
    ["ActivityID", s.activityID],
    ["RelatedActivityID", s.relatedActivityID],
  ]);
  if (s.processID !== undefined || s.threadID !== undefined) {
    w.leaf("Execution", undefined, [
      ["ProcessID", s.processID],
      ["ThreadID", s.threadID],
    ]);
  }
  if (s.channel !== undefined) w.leaf("Channel", s.channel);
  if (s.computer !== undefined) w.leaf("Computer", s.computer);
  w.leaf("Security", undefined, [["UserID", s.userID]]);
  w.close("System");
}

// Tests for the compact renderer: does a value need escaping at all (most do not)?
const TEXT_NEEDS = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const ATTR_NEEDS_DQ = /[&<>"\t\n\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function textXml(text: string): string {
  return TEXT_NEEDS.test(text) ? text.replace(TEXT_SPECIAL, charRef) : text;
}

function attrXml(name: string, value: string | undefined): string {
  if (value === undefined) return "";
  return ` ${name}="${ATTR_NEEDS_DQ.test(value) ? value.replace(ATTR_SPECIAL_DQ, charRef) : value}"`;
}

function leafXml(name: string, text: string | undefined, attrs = ""): string {
  return text === undefined || text === ""
    ? `<${name}${attrs}/>`
    : `<${name}${attrs}>${textXml(text)}</${name}>`;
}

/**
 * The "windows" style on one line for events without UserData/RenderingInfo (what `convert --format
 * xml` writes for nearly every record): the same text as the XmlWriter path, by string concatenation.
 * A test checks both give the same text on the corpus and on generated events.
 */
function renderCompact(ev: WinEvent): string {
  const s = ev.system;
  let x = `<Event xmlns="${EVENT_NAMESPACE}"><System>`;
  if (s.providerName !== undefined || s.providerGuid !== undefined || s.eventSourceName !== undefined)
    x += `<Provider${attrXml("Name", s.providerName)}${attrXml("Guid", s.providerGuid)}${attrXml("EventSourceName", s.eventSourceName)}/>`;
  x += leafXml("EventID", s.eventID, attrXml("Qualifiers", s.qualifiers));
  if (s.version !== undefined) x += leafXml("Version", s.version);
  if (s.level !== undefined) x += leafXml("Level", s.level);
  if (s.task !== undefined) x += leafXml("Task", s.task);
  if (s.opcode !== undefined) x += leafXml("Opcode", s.opcode);
  if (s.keywords !== undefined) x += leafXml("Keywords", s.keywords);
  if (s.systemTime !== undefined) x += `<TimeCreated${attrXml("SystemTime", s.systemTime)}/>`;
  if (s.eventRecordID !== undefined) x += leafXml("EventRecordID", s.eventRecordID);
  x += `<Correlation${attrXml("ActivityID", s.activityID)}${attrXml("RelatedActivityID", s.relatedActivityID)}/>`;
  if (s.processID !== undefined || s.threadID !== undefined)
    x += `<Execution${attrXml("ProcessID", s.processID)}${attrXml("ThreadID", s.threadID)}/>`;
  if (s.channel !== undefined) x += leafXml("Channel", s.channel);
  if (s.computer !== undefined) x += leafXml("Computer", s.computer);
  x += `<Security${attrXml("UserID", s.userID)}/></System>`;
  if (ev.eventData.length > 0 || ev.binary !== undefined) {
    x += "<EventData>";
    for (const item of ev.eventData) x += leafXml("Data", item.value, attrXml("Name", item.name));
    if (ev.binary !== undefined) x += leafXml("Binary", ev.binary);
    x += "</EventData>";
  }
  return `${x}</Event>`;
}

/** Render a WinEvent as event XML (see the module comment for the two styles). */
export function renderEventXml(ev: WinEvent, opts: RenderXmlOptions = {}): string {
  if (
    (opts.style ?? "windows") === "windows" &&
    opts.indent !== true &&
    ev.userData === undefined &&
    ev.renderingInfo === undefined
  )
    return renderCompact(ev);
  return renderEventXmlWriter(ev, opts);
}

/** The general renderer (every style and option); renderEventXml takes a faster path where it can. */
export function renderEventXmlWriter(ev: WinEvent, opts: RenderXmlOptions = {}): string {
  const style = opts.style ?? "windows";
  const w = new XmlWriter(style === "splunk" ? "'" : '"', style === "splunk" ? false : opts.indent === true);
  w.open("Event", [["xmlns", EVENT_NAMESPACE]]);
  writeSystem(w, ev.system);
  if (ev.eventData.length > 0 || ev.binary !== undefined) {
    w.open("EventData");
    for (const item of ev.eventData) w.leaf("Data", item.value, [["Name", item.name]]);
    if (ev.binary !== undefined) w.leaf("Binary", ev.binary);
    w.close("EventData");
  }
  if (ev.userData !== undefined) {
    w.open("UserData");
    w.element(ev.userData);
    w.close("UserData");
  }
  if (ev.renderingInfo !== undefined) {
    const info = ev.renderingInfo;
    const culture = typeof info.Culture === "string" ? info.Culture : undefined;
    w.open("RenderingInfo", [["Culture", culture]]);
    for (const [key, value] of Object.entries(info)) {
      if (key === "Culture" && culture !== undefined) continue;
      if (Array.isArray(value)) {
        // <Keywords><Keyword>Audit Success</Keyword></Keywords>
        const item = key.endsWith("s") ? key.slice(0, -1) : `${key}Item`;
        if (value.length === 0) {
          w.leaf(key, undefined);
          continue;
        }
        w.open(key);
        for (const v of value) w.leaf(item, v);
        w.close(key);
      } else {
        w.leaf(key, value);
      }
    }
    w.close("RenderingInfo");
  }
  w.close("Event");
  return w.toString();
}
