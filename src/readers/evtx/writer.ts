/**
 * EvtxWriter: valid EVTX files from WinEvents, laid out as Windows writes them: a 4 KiB file
 * header, 64 KiB chunks with their string and template hash tables, records holding a BinXML
 * fragment with one template instance, CRC32s on the file header, chunk headers and records.
 *
 * Templates: one per event shape (which System fields are present, the EventData names or the
 * UserData structure, and the value types), defined inline at its first use in each chunk and
 * referenced by offset afterwards. Substitution values are typed:
 * - System fields have their Windows types: EventID/Task/Qualifiers UInt16, Version/Level/Opcode
 *   UInt8, Keywords HexInt64, TimeCreated FileTime, EventRecordID UInt64, ProcessID/ThreadID
 *   UInt32, Provider Guid and ActivityIDs GUID, UserID SID; the rest strings.
 * - EventData values are typed when their text is the canonical rendering of that type (GUID
 *   `{UPPER}`, SID `S-1-...`, hex `0x1f` lowercase without padding, decimal integers without
 *   leading zeros); otherwise they stay strings.
 * A value is only typed when rendering it back gives exactly the same text, so what our reader
 * reads back is identical to what was written. RenderingInfo and `extra` are not written
 * (Windows does not store them in .evtx files); unnamed `<Data>` keep their position.
 *
 * `plain: true` writes records as Windows Event Collector stores forwarded events (ForwardedEvents,
 * WEC subscriptions): plain BinXML without a template instance, the element tree directly in the
 * record with its values as text, and element start tokens without the dependency id that only the
 * elements of a template definition carry.
 */

import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { WinEvent, XmlElement } from "../../events/model.js";
import { isoFromTicks, ticksFromIso } from "../../events/time.js";
import { crc32 } from "./crc32.js";
import { ValueType } from "./values.js";

const CHUNK_SIZE = 65536;
const CHUNK_HEADER_SIZE = 512;
const FILE_HEADER_SIZE = 4096;
const EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event";

export interface EvtxWriterOptions {
  /** Record id for events without a numeric EventRecordID (default 1, then max seen + 1). */
  firstRecordId?: number | bigint;
  /** Receives each completed 64 KiB chunk (streaming); `finish()` then returns only the file header. */
  onChunk?: (chunk: Uint8Array) => void;
  /** Records as plain BinXML without templates (the form of forwarded events); see the file comment. */
  plain?: boolean;
}

/** A typed substitution value. */
interface Value {
  type: number;
  bytes: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Typed values (only when the canonical rendering equals the text)

function stringValue(s: string): Value {
  const b = Buffer.alloc(2 * s.length + 2);
  b.write(s, 0, "utf16le");
  return { type: ValueType.String, bytes: b };
}

function uintValue(text: string, type: number, bytes: number): Value | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) return undefined;
  const n = BigInt(text);
  if (n >= 1n << BigInt(8 * bytes)) return undefined;
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64LE(n);
  else b.writeUIntLE(Number(n), 0, bytes);
  return { type, bytes: b };
}

function hex64Value(text: string): Value | undefined {
  if (!/^0x(0|[1-9a-f][0-9a-f]{0,15})$/.test(text)) return undefined;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(text));
  return { type: ValueType.HexInt64, bytes: b };
}

const GUID_RE = /^\{([0-9A-F]{8})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{12})\}$/;
function guidValue(text: string): Value | undefined {
  const m = GUID_RE.exec(text);
  if (!m) return undefined;
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(m[1], 16), 0);
  b.writeUInt16LE(Number.parseInt(m[2], 16), 4);
  b.writeUInt16LE(Number.parseInt(m[3], 16), 6);
  b.write(m[4] + m[5], 8, "hex");
  return { type: ValueType.Guid, bytes: b };
}

function sidValue(text: string): Value | undefined {
  const m = /^S-(\d{1,3})-(\d{1,15})((?:-\d{1,10}){0,15})$/.exec(text);
  if (!m) return undefined;
  const revision = Number(m[1]);
  const authority = Number(m[2]);
  const subs = m[3] ? m[3].slice(1).split("-").map(Number) : [];
  if (revision > 255 || authority >= 2 ** 48 || subs.some((s) => s > 0xffffffff)) return undefined;
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = revision;
  b[1] = subs.length;
  b.writeUIntBE(authority, 2, 6);
  subs.forEach((s, i) => {
    b.writeUInt32LE(s, 8 + 4 * i);
  });
  // Canonical form only (no leading zeros in any part).
  const back = "S-" + revision + "-" + authority + subs.map((s) => "-" + s).join("");
  return back === text ? { type: ValueType.Sid, bytes: b } : undefined;
}

function fileTimeValue(text: string): Value | undefined {
  const ticks = ticksFromIso(text, null);
  if (ticks === undefined || ticks < 0n || isoFromTicks(ticks) !== text) return undefined;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ticks);
  return { type: ValueType.FileTime, bytes: b };
}

function binaryValue(text: string): Value | undefined {
  if (text.length % 2 !== 0 || !/^[0-9A-F]*$/.test(text)) return undefined;
  return { type: ValueType.Binary, bytes: Buffer.from(text, "hex") };
}

/** EventData values: typed when canonical (see the file comment), else strings. */
function dataValue(text: string): Value {
  if (text.length > 0 && text.length <= 40) {
    const c = text.charCodeAt(0);
    if (c === 0x7b /* { */) return guidValue(text) ?? stringValue(text);
    if (c === 0x53 /* S */ && text.startsWith("S-1-")) return sidValue(text) ?? stringValue(text);
    if (c === 0x30 /* 0 */ && text.startsWith("0x")) return hex64Value(text) ?? stringValue(text);
    if (c >= 0x30 && c <= 0x39) return uintValue(text, ValueType.UInt32, 4) ?? stringValue(text);
  }
  return stringValue(text);
}

type SystemSlot = {
  key: keyof WinEvent["system"];
  typed: (text: string) => Value | undefined;
};
const u8 = (t: string) => uintValue(t, ValueType.UInt8, 1);
const u16 = (t: string) => uintValue(t, ValueType.UInt16, 2);
const u32 = (t: string) => uintValue(t, ValueType.UInt32, 4);
const u64 = (t: string) => uintValue(t, ValueType.UInt64, 8);
const str = () => undefined;

/** System elements in Windows order: [element, attributes | content slot]. */
const SYSTEM_LAYOUT: { element: string; content?: SystemSlot; attrs?: [string, SystemSlot][] }[] = [
  {
    element: "Provider",
    attrs: [
      ["Name", { key: "providerName", typed: str }],
      ["Guid", { key: "providerGuid", typed: guidValue }],
      ["EventSourceName", { key: "eventSourceName", typed: str }],
    ],
  },
  {
    element: "EventID",
    content: { key: "eventID", typed: u16 },
    attrs: [["Qualifiers", { key: "qualifiers", typed: u16 }]],
  },
  { element: "Version", content: { key: "version", typed: u8 } },
  { element: "Level", content: { key: "level", typed: u8 } },
  { element: "Task", content: { key: "task", typed: u16 } },
  { element: "Opcode", content: { key: "opcode", typed: u8 } },
  { element: "Keywords", content: { key: "keywords", typed: hex64Value } },
  { element: "TimeCreated", attrs: [["SystemTime", { key: "systemTime", typed: fileTimeValue }]] },
  { element: "EventRecordID", content: { key: "eventRecordID", typed: u64 } },
  {
    element: "Correlation",
    attrs: [
      ["ActivityID", { key: "activityID", typed: guidValue }],
      ["RelatedActivityID", { key: "relatedActivityID", typed: guidValue }],
    ],
  },
  {
    element: "Execution",
    attrs: [
      ["ProcessID", { key: "processID", typed: u32 }],
      ["ThreadID", { key: "threadID", typed: u32 }],
    ],
  },
  { element: "Channel", content: { key: "channel", typed: str } },
  { element: "Computer", content: { key: "computer", typed: str } },
  { element: "Security", attrs: [["UserID", { key: "userID", typed: sidValue }]] },
];

// ---------------------------------------------------------------------------------------------
// Event shape: a template description plus the values in substitution order

interface TElement {
  kind: "el";
  name: string;
  attrs: [string, TPart][];
  children: TNode[];
  empty: boolean;
}
type TNode = TElement | { kind: "sub"; index: number; type: number } | { kind: "text"; text: string };
type TPart = { kind: "sub"; index: number; type: number } | { kind: "text"; text: string };

interface Shape {
  key: string;
  root: TElement;
  values: Value[];
  /** Each value's text (plain records write it instead of the typed value). */
  texts: string[];
}

function shapeOf(ev: WinEvent, recordId: bigint): Shape {
  const values: Value[] = [];
  const texts: string[] = [];
  let key = "";
  const sub = (v: Value, text: string): { kind: "sub"; index: number; type: number } => {
    values.push(v);
    texts.push(text);
    key += v.type.toString(16) + ",";
    return { kind: "sub", index: values.length - 1, type: v.type };
  };
  const sys = { ...ev.system, eventRecordID: ev.system.eventRecordID ?? String(recordId) };
  const systemChildren: TNode[] = [];
  for (const spec of SYSTEM_LAYOUT) {
    const attrs: [string, TPart][] = [];
    for (const [name, slot] of spec.attrs ?? []) {
      const text = sys[slot.key];
      if (text === undefined) continue;
      key += spec.element + "@" + name + "=";
      attrs.push([name, sub(slot.typed(text) ?? stringValue(text), text)]);
    }
    const children: TNode[] = [];
    if (spec.content) {
      const text = sys[spec.content.key];
      if (text !== undefined) {
        key += spec.element + "=";
        children.push(sub(spec.content.typed(text) ?? stringValue(text), text));
      }
    }
    if (attrs.length === 0 && children.length === 0) continue;
    systemChildren.push({ kind: "el", name: spec.element, attrs, children, empty: children.length === 0 });
  }
  const eventChildren: TNode[] = [
    { kind: "el", name: "System", attrs: [], children: systemChildren, empty: false },
  ];
  if (ev.userData) {
    key += "|U:";
    const walk = (el: XmlElement): TElement => {
      key += "<" + el.name;
      const attrs: [string, TPart][] = el.attributes.map(([n, v]) => {
        key += " " + n;
        return [n, sub(stringValue(v), v)];
      });
      key += ">";
      const children: TNode[] = el.children.map((c) =>
        typeof c === "string" ? sub(stringValue(c), c) : walk(c),
      );
      key += "</>";
      return { kind: "el", name: el.name, attrs, children, empty: children.length === 0 };
    };
    eventChildren.push({
      kind: "el",
      name: "UserData",
      attrs: [],
      children: [walk(ev.userData)],
      empty: false,
    });
  } else if (ev.eventData.length > 0 || ev.binary !== undefined) {
    key += "|D:";
    const data: TNode[] = ev.eventData.map((item) => {
      key += (item.name ?? "") + "\u0001";
      const attrs: [string, TPart][] =
        item.name === undefined ? [] : [["Name", { kind: "text", text: item.name }]];
      return {
        kind: "el",
        name: "Data",
        attrs,
        children: [sub(dataValue(item.value), item.value)],
        empty: false,
      };
    });
    if (ev.binary !== undefined) {
      key += "B";
      const v = binaryValue(ev.binary) ?? stringValue(ev.binary);
      data.push({ kind: "el", name: "Binary", attrs: [], children: [sub(v, ev.binary)], empty: false });
    }
    eventChildren.push({ kind: "el", name: "EventData", attrs: [], children: data, empty: false });
  }
  const root: TElement = {
    kind: "el",
    name: "Event",
    attrs: [["xmlns", { kind: "text", text: EVENT_NS }]],
    children: eventChildren,
    empty: false,
  };
  return { key, root, values, texts };
}

// ---------------------------------------------------------------------------------------------
// Chunk building

/** The name hash Windows stores with each name (multiplicative hash, low 16 bits). */
function nameHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 65599) + s.charCodeAt(i)) >>> 0;
  return h & 0xffff;
}

class ByteSink {
  buf: Buffer;
  len = 0;
  constructor(size = 4096) {
    this.buf = Buffer.alloc(size);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  utf16(s: string): void {
    this.ensure(2 * s.length);
    this.buf.write(s, this.len, "utf16le");
    this.len += 2 * s.length;
  }
  patch32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
}

class ChunkBuilder {
  readonly buf = Buffer.alloc(CHUNK_SIZE);
  used = CHUNK_HEADER_SIZE;
  records = 0;
  firstRecordId = 0n;
  lastRecordId = 0n;
  lastRecordOffset = 0;
  readonly names = new Map<string, number>();
  readonly templates = new Map<string, number>();
  // Pending table entries, committed only when a record is accepted into the chunk.
  private newNames: [string, number][] = [];
  private newTemplates: [string, number, number][] = [];

  /** A plain BinXML record (no template; see the file comment); undefined when it does not fit. */
  encodePlain(shape: Shape, recordId: bigint, written: bigint): Buffer | undefined {
    const base = this.used;
    this.newNames = [];
    this.newTemplates = [];
    const w = new ByteSink(1024);
    w.u32(0x00002a2a);
    w.u32(0); // size, patched
    w.ensure(16);
    w.buf.writeBigUInt64LE(recordId, w.len);
    w.buf.writeBigUInt64LE(written, w.len + 8);
    w.len += 16;
    w.bytes(Uint8Array.of(0x0f, 0x01, 0x01, 0x00));
    this.element(w, base, shape.root, shape.texts);
    w.u8(0x00); // EOF
    while ((w.len + 4) % 8 !== 0) w.u8(0);
    w.u32(w.len + 4);
    w.patch32(4, w.len);
    if (base + w.len > CHUNK_SIZE - 8) return undefined;
    return w.buf.subarray(0, w.len);
  }

  /** Encodes a record at the chunk's free offset; undefined when it does not fit. */
  encode(shape: Shape, recordId: bigint, written: bigint): Buffer | undefined {
    const base = this.used; // chunk offset of the record
    this.newNames = [];
    this.newTemplates = [];
    const w = new ByteSink(1024);
    w.u32(0x00002a2a);
    w.u32(0); // size, patched
    w.ensure(16);
    w.buf.writeBigUInt64LE(recordId, w.len);
    w.buf.writeBigUInt64LE(written, w.len + 8);
    w.len += 16;
    w.bytes(Uint8Array.of(0x0f, 0x01, 0x01, 0x00));
    // Template instance.
    w.u8(0x0c);
    w.u8(0x01);
    const digest = createHash("md5").update(shape.key).digest();
    w.u32(digest.readUInt32LE(0));
    const known = this.templates.get(shape.key);
    if (known !== undefined) {
      w.u32(known);
    } else {
      const defOffset = base + w.len + 4;
      w.u32(defOffset);
      w.u32(0); // next template in the hash bucket, patched when the chunk is sealed
      w.bytes(digest);
      const sizeAt = w.len;
      w.u32(0);
      const start = w.len;
      w.bytes(Uint8Array.of(0x0f, 0x01, 0x01, 0x00));
      this.element(w, base, shape.root);
      w.u8(0x00);
      w.patch32(sizeAt, w.len - start);
      this.newTemplates.push([shape.key, defOffset, digest.readUInt32LE(0)]);
    }
    w.u32(shape.values.length);
    for (const v of shape.values) {
      if (v.bytes.length > 0xffff) return undefined;
      w.u16(v.bytes.length);
      w.u8(v.type);
      w.u8(0);
    }
    for (const v of shape.values) w.bytes(v.bytes);
    w.u8(0x00); // EOF
    while ((w.len + 4) % 8 !== 0) w.u8(0);
    w.u32(w.len + 4);
    w.patch32(4, w.len);
    // A record never ends exactly at the end of the chunk: libevtx skips such a record.
    if (base + w.len > CHUNK_SIZE - 8) return undefined;
    return w.buf.subarray(0, w.len);
  }

  private name(w: ByteSink, base: number, name: string): void {
    const known = this.names.get(name) ?? this.newNames.find(([n]) => n === name)?.[1];
    if (known !== undefined) {
      w.u32(known);
      return;
    }
    const at = base + w.len + 4;
    w.u32(at);
    w.u32(0); // next name in the hash bucket, patched when the chunk is sealed
    w.u16(nameHash(name));
    w.u16(name.length);
    w.utf16(name);
    w.u16(0);
    this.newNames.push([name, at]);
  }

  /** An element; with `texts` (a plain record) values are written as text and there is no dependency id. */
  private element(w: ByteSink, base: number, el: TElement, texts?: string[]): void {
    const start = w.len;
    w.u8(el.attrs.length > 0 ? 0x41 : 0x01);
    if (!texts) w.u16(0xffff); // dependency identifier: not set
    const sizeAt = w.len;
    w.u32(0);
    this.name(w, base, el.name);
    if (el.attrs.length > 0) {
      const listAt = w.len;
      w.u32(0);
      el.attrs.forEach(([name, part], i) => {
        w.u8(i === el.attrs.length - 1 ? 0x06 : 0x46);
        this.name(w, base, name);
        this.part(w, part, texts, true);
      });
      w.patch32(listAt, w.len - listAt - 4);
    }
    if (el.empty) {
      w.u8(0x03);
    } else {
      w.u8(0x02);
      for (const c of el.children) {
        if (c.kind === "el") this.element(w, base, c, texts);
        else this.part(w, c, texts, false);
      }
      w.u8(0x04);
    }
    w.patch32(sizeAt, w.len - start - (texts ? 5 : 7));
  }

  private part(w: ByteSink, p: TPart, texts?: string[], inAttribute = false): void {
    if (p.kind === "sub" && texts) {
      const text = texts[p.index];
      // Content without text is an empty element; an attribute keeps an empty value token.
      if (text.length > 0 || inAttribute) this.part(w, { kind: "text", text });
    } else if (p.kind === "sub") {
      w.u8(0x0d);
      w.u16(p.index);
      w.u8(p.type);
    } else {
      w.u8(0x05);
      w.u8(ValueType.String);
      w.u16(p.text.length);
      w.utf16(p.text);
    }
  }

  commit(record: Buffer, recordId: bigint): void {
    if (this.records === 0) this.firstRecordId = recordId;
    this.lastRecordId = recordId;
    this.lastRecordOffset = this.used;
    record.copy(this.buf, this.used);
    this.used += record.length;
    this.records++;
    for (const [n, at] of this.newNames) this.names.set(n, at);
    for (const [key, at] of this.newTemplates) this.templates.set(key, at);
    this.newTemplates.length = 0;
  }

  /** Fills the header, hash tables and CRCs; returns the finished 64 KiB chunk. */
  seal(firstNumber: bigint): Buffer {
    const b = this.buf;
    b.write("ElfChnk\0", 0, "latin1");
    b.writeBigUInt64LE(firstNumber, 8);
    b.writeBigUInt64LE(firstNumber + BigInt(this.records) - 1n, 16);
    b.writeBigUInt64LE(this.firstRecordId, 24);
    b.writeBigUInt64LE(this.lastRecordId, 32);
    b.writeUInt32LE(128, 40);
    b.writeUInt32LE(this.lastRecordOffset, 44);
    b.writeUInt32LE(this.used, 48);
    // String table: 64 buckets by name hash; template table: 32 buckets by template id.
    for (const [name, at] of this.names) {
      const slot = 128 + 4 * (nameHash(name) % 64);
      b.writeUInt32LE(b.readUInt32LE(slot), at);
      b.writeUInt32LE(at, slot);
    }
    for (const at of this.templates.values()) {
      const id = b.readUInt32LE(at - 8);
      const slot = 384 + 4 * (id % 32);
      b.writeUInt32LE(b.readUInt32LE(slot), at);
      b.writeUInt32LE(at, slot);
    }
    b.writeUInt32LE(crc32(b, CHUNK_HEADER_SIZE, this.used), 52);
    b.writeUInt32LE(crc32(b, 128, 512, crc32(b, 0, 120)), 124);
    return b;
  }
}

export class EvtxWriter {
  private chunk = new ChunkBuilder();
  private readonly chunks: Buffer[] = [];
  private chunkCount = 0;
  private recordNumber = 1n;
  private nextId: bigint;
  private readonly onChunk?: (chunk: Uint8Array) => void;
  private readonly plain: boolean;

  constructor(opts: EvtxWriterOptions = {}) {
    this.nextId = BigInt(opts.firstRecordId ?? 1);
    this.onChunk = opts.onChunk;
    this.plain = opts.plain === true;
  }

  private encode(shape: Shape, recordId: bigint, written: bigint): Buffer | undefined {
    return this.plain
      ? this.chunk.encodePlain(shape, recordId, written)
      : this.chunk.encode(shape, recordId, written);
  }

  /** Adds one event. Throws RangeError for an event too large for a 64 KiB chunk. */
  add(ev: WinEvent): void {
    let recordId = this.nextId;
    const given = ev.system.eventRecordID;
    if (given !== undefined && /^\d{1,20}$/.test(given) && BigInt(given) < 1n << 64n)
      recordId = BigInt(given);
    if (recordId >= this.nextId) this.nextId = recordId + 1n;
    const shape = shapeOf(ev, recordId);
    let written = ev.timeTicks ?? 0n;
    if (ev.timeTicks === undefined && ev.system.systemTime)
      written = ticksFromIso(ev.system.systemTime) ?? 0n;
    if (written < 0n || written >= 1n << 64n) written = 0n;
    let record = this.encode(shape, recordId, written);
    if (!record) {
      if (this.chunk.records === 0) throw new RangeError("event too large for one EVTX chunk");
      this.seal();
      record = this.encode(shape, recordId, written);
      if (!record) throw new RangeError("event too large for one EVTX chunk");
    }
    this.chunk.commit(record, recordId);
  }

  private seal(): void {
    if (this.chunkCount >= 0xffff) throw new RangeError("EVTX files hold at most 65535 chunks");
    const done = this.chunk.seal(this.recordNumber);
    this.recordNumber += BigInt(this.chunk.records);
    this.chunkCount++;
    if (this.onChunk) this.onChunk(done);
    else this.chunks.push(done);
    this.chunk = new ChunkBuilder();
  }

  /** The 4 KiB file header for the chunks written so far. */
  private header(): Buffer {
    const h = Buffer.alloc(FILE_HEADER_SIZE);
    h.write("ElfFile\0", 0, "latin1");
    h.writeBigUInt64LE(0n, 8);
    h.writeBigUInt64LE(BigInt(Math.max(0, this.chunkCount - 1)), 16);
    h.writeBigUInt64LE(this.nextId, 24);
    h.writeUInt32LE(128, 32);
    h.writeUInt16LE(1, 36); // minor version
    h.writeUInt16LE(3, 38); // major version
    h.writeUInt16LE(FILE_HEADER_SIZE, 40);
    h.writeUInt16LE(this.chunkCount, 42);
    h.writeUInt32LE(0, 120); // flags: clean, not full
    h.writeUInt32LE(crc32(h, 0, 120), 124);
    return h;
  }

  /**
   * Seals the last chunk. Without `onChunk`: the whole file. With `onChunk`: the last chunk goes
   * to the sink and the result is the file header (to be written at offset 0).
   */
  finish(): Uint8Array {
    if (this.chunk.records > 0) this.seal();
    const header = this.header();
    if (this.onChunk) return header;
    return Buffer.concat([header, ...this.chunks]);
  }
}

/** Writes events to an EVTX file chunk by chunk (bounded memory); the header is written last. */
export async function writeEvtxFile(
  path: string,
  events: Iterable<WinEvent> | AsyncIterable<WinEvent>,
  opts: Pick<EvtxWriterOptions, "plain"> = {},
): Promise<void> {
  const fh = await open(path, "w");
  try {
    const pending: Uint8Array[] = [];
    const writer = new EvtxWriter({ ...opts, onChunk: (c) => pending.push(c) });
    let position = FILE_HEADER_SIZE;
    const flush = async () => {
      for (const c of pending.splice(0)) {
        await fh.write(c, 0, c.length, position);
        position += c.length;
      }
    };
    await fh.write(Buffer.alloc(FILE_HEADER_SIZE), 0, FILE_HEADER_SIZE, 0);
    for await (const ev of events as AsyncIterable<WinEvent>) {
      writer.add(ev);
      if (pending.length > 0) await flush();
    }
    const header = writer.finish();
    await flush();
    await fh.write(header, 0, header.length, 0);
  } finally {
    await fh.close();
  }
}
