/**
 * One 64 KiB EVTX chunk: header checks, the records in it, and each record's output (XML text or
 * WinEvent). A chunk is the unit of work (and of parallelism): it depends on nothing outside
 * itself. Damage is reported and skipped at the smallest unit: a bad checksum alone loses nothing,
 * a record whose bytes do not parse is skipped (and the reader resynchronises on the next record
 * signature), a chunk without a signature is skipped whole.
 */

import type {
  Provenance,
  ReadIssue,
  SystemFields,
  SystemPredicate,
  WinEvent,
  XmlElement,
} from "../../events/model.js";
import { ticksFromIso } from "../../events/time.js";
import {
  BinXmlError,
  buildNodes,
  ChunkContext,
  type InstanceNode,
  modelPlan,
  type Node,
  planEvent,
  renderInstance,
  renderNodes,
  systemMap,
  type Values,
} from "./binxml.js";
import { crc32 } from "./crc32.js";
import { RecordView } from "./pushdown.js";
import { u32 } from "./values.js";

export const CHUNK_SIZE = 65536;
export const CHUNK_HEADER_SIZE = 512;
export const RECORD_SIGNATURE = 0x00002a2a;
/** The smallest record recordFits accepts (header, size copy). */
const MIN_RECORD_BYTES = 28;

export type OutputMode = "xml" | "event";

export interface XmlRecord {
  xml: string;
  recordId: bigint;
  provenance: Provenance;
}

export interface ChunkInput {
  /** The chunk's bytes (shorter than 64 KiB when the file is truncated). */
  buf: Buffer;
  /** 0-based chunk number in the file. */
  index: number;
  /** File offset of the chunk. */
  fileOffset: number;
  /** File name used in provenance and issues. */
  file: string;
}

export interface ChunkOptions {
  mode: OutputMode;
  filter?: SystemPredicate;
  maxRecordBytes?: number;
  /** Only these record offsets (chunk-relative) are read; the others were filtered out earlier. */
  onlyOffsets?: ReadonlySet<number>;
  /**
   * XML mode in a worker (the filter stays in the main thread): attach `system`/`timeTicks` to
   * records whose template does not map System plainly, so the main thread can finish the filter.
   */
  attachSystem?: boolean;
  /** Tests: always use the tree walk (the reference the compiled paths are checked against). */
  slowPath?: boolean;
  /**
   * --strict: every checksum is checked. Otherwise, under a filter, the records CRC of a chunk is
   * checked only when the chunk delivers a record or has other damage (a chunk whose records the
   * push-down all skips is not read past its template instances).
   */
  strict?: boolean;
  /**
   * Forensic recovery (`--recover`): also read the records that are not live - stale ones in the
   * chunk's slack past its free-space offset, ones whose ids fall outside the header's range (a torn
   * chunk) - into `ChunkResult.recovered`, each with its kind (see recover.ts).
   */
  recover?: boolean;
}

/** Why a record that is not live was found: `slack` (past the free-space offset), `torn` (id out of range). */
export type RecoveredKind = "slack" | "torn";

export interface RecoveredRecord {
  record: XmlRecord | WinEvent;
  kind: RecoveredKind;
  /** The record header's id. */
  recordId: bigint;
}

export interface ChunkResult {
  records: (XmlRecord | WinEvent)[];
  issues: ReadIssue[];
  /** With `recover`: the records that are not live, in chunk order. */
  recovered?: RecoveredRecord[];
  /** Records that are not live, left out (without `recover`). */
  notLive?: number;
  /** With `recover`: the header ids of every live record (also those a filter dropped). */
  liveIds?: bigint[];
}

const EMPTY_VALUES: Values = { types: [], offsets: [], sizes: [] };

function hex(n: number): string {
  return "0x" + n.toString(16);
}

function allZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

export function hasChunkSignature(b: Uint8Array, p = 0): boolean {
  // "ElfChnk\0"
  return (
    b.length >= p + 8 &&
    b[p] === 0x45 &&
    b[p + 1] === 0x6c &&
    b[p + 2] === 0x66 &&
    b[p + 3] === 0x43 &&
    b[p + 4] === 0x68 &&
    b[p + 5] === 0x6e &&
    b[p + 6] === 0x6b &&
    b[p + 7] === 0
  );
}

/** Is there a plausible record at p (signature, size and size copy agree)? */
function recordFits(b: Buffer, p: number, limit: number, maxRecordBytes: number): number {
  if (p + 28 > limit || u32(b, p) !== RECORD_SIGNATURE) return 0;
  const size = u32(b, p + 4);
  if (size < MIN_RECORD_BYTES || size > maxRecordBytes || p + size > limit) return 0;
  if (u32(b, p + size - 4) !== size) return 0;
  return size;
}

/** A parsed record: its BinXML nodes, ready to be rendered or built. */
interface ParsedRecord {
  ctx: ChunkContext;
  nodes: Node[];
}

function rootInstance(nodes: Node[]): InstanceNode | undefined {
  return nodes.length === 1 && nodes[0].k === 4 ? nodes[0] : undefined;
}

/** Event element tree of a record (the `<Event>` element, or a synthetic root if absent). */
export function buildRecordTree(rec: ParsedRecord): XmlElement {
  const holder: XmlElement = { name: "#document", attributes: [], children: [] };
  buildNodes(rec.ctx, rec.nodes, EMPTY_VALUES, holder, 0);
  const event = holder.children.find((c) => typeof c !== "string" && c.name === "Event") as
    | XmlElement
    | undefined;
  return event ?? holder;
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (typeof c !== "string" && c.name === name) return c;
  return undefined;
}
function attr(el: XmlElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  for (const [n, v] of el.attributes) if (n === name) return v;
  return undefined;
}
function text(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  let s = "";
  for (const c of el.children) if (typeof c === "string") s += c;
  return s;
}

/** The System fields of an Event element tree. */
export function systemOf(event: XmlElement): SystemFields {
  const sys = child(event, "System");
  const provider = child(sys, "Provider");
  const eventID = child(sys, "EventID");
  const correlation = child(sys, "Correlation");
  const execution = child(sys, "Execution");
  const out: SystemFields = { eventID: text(eventID) ?? "" };
  const set = (k: keyof SystemFields, v: string | undefined) => {
    if (v !== undefined) (out as unknown as Record<string, string>)[k] = v;
  };
  set("providerName", attr(provider, "Name"));
  set("providerGuid", attr(provider, "Guid"));
  set("eventSourceName", attr(provider, "EventSourceName"));
  set("qualifiers", attr(eventID, "Qualifiers"));
  set("version", text(child(sys, "Version")));
  set("level", text(child(sys, "Level")));
  set("task", text(child(sys, "Task")));
  set("opcode", text(child(sys, "Opcode")));
  set("keywords", text(child(sys, "Keywords")));
  set("systemTime", attr(child(sys, "TimeCreated"), "SystemTime"));
  set("eventRecordID", text(child(sys, "EventRecordID")));
  set("activityID", attr(correlation, "ActivityID"));
  set("relatedActivityID", attr(correlation, "RelatedActivityID"));
  set("processID", attr(execution, "ProcessID"));
  set("threadID", attr(execution, "ThreadID"));
  set("channel", text(child(sys, "Channel")));
  set("computer", text(child(sys, "Computer")));
  set("userID", attr(child(sys, "Security"), "UserID"));
  return out;
}

/** WinEvent of an Event element tree (the same tree the XML is rendered from). */
export function winEventOf(event: XmlElement, provenance: Provenance): WinEvent {
  const ev: WinEvent = { system: systemOf(event), eventData: [], provenance };
  applyBody(ev, event, false);
  setTicks(ev, undefined);
  return ev;
}

function setTicks(ev: WinEvent, exact: bigint | undefined): void {
  const ticks = exact ?? (ev.system.systemTime ? ticksFromIso(ev.system.systemTime) : undefined);
  if (ticks !== undefined) ev.timeTicks = ticks;
}

/** EventData (the first one, unless already set), UserData and RenderingInfo children of el. */
function applyBody(ev: WinEvent, el: XmlElement, haveEventData: boolean): void {
  const data = haveEventData ? undefined : child(el, "EventData");
  if (data) {
    for (const c of data.children) {
      if (typeof c === "string") continue;
      if (c.name === "Data") ev.eventData.push({ name: attr(c, "Name"), value: text(c) ?? "" });
      else if (c.name === "Binary") ev.binary = text(c) ?? "";
      else if (c.children.length === 0 || c.children.every((x) => typeof x === "string"))
        ev.eventData.push({ name: c.name, value: text(c) ?? "" });
    }
  }
  const userData = child(el, "UserData");
  if (userData) {
    const first = userData.children.find((c) => typeof c !== "string") as XmlElement | undefined;
    if (first) ev.userData = first;
  }
  const rendering = child(el, "RenderingInfo");
  if (rendering) {
    const info: Record<string, string | string[]> = {};
    for (const c of rendering.children) {
      if (typeof c === "string") continue;
      if (c.name === "Keywords")
        info.Keywords = c.children
          .filter((k): k is XmlElement => typeof k !== "string")
          .map((k) => text(k) ?? "");
      else info[c.name] = text(c) ?? "";
    }
    const culture = attr(rendering, "Culture");
    if (culture !== undefined) info.Culture = culture;
    ev.renderingInfo = info;
  }
}

/** The push-down's reused record view for a predicate (one per predicate, see pushdown.ts). */
const VIEWS = new WeakMap<SystemPredicate, RecordView>();
function viewFor(filter: SystemPredicate): RecordView {
  let view = VIEWS.get(filter);
  if (!view) VIEWS.set(filter, (view = new RecordView(filter)));
  return view;
}

/** Reads every record of one chunk. Never throws: damage becomes issues. */
export function readChunk(input: ChunkInput, opts: ChunkOptions): ChunkResult {
  const { buf, index, fileOffset, file } = input;
  const issues: ReadIssue[] = [];
  const records: (XmlRecord | WinEvent)[] = [];
  const where = (off: number) => `chunk ${index} at offset ${hex(fileOffset + off)}`;
  const chunkWhere = `chunk ${index} at offset ${hex(fileOffset)}`;
  const maxRecordBytes = Math.min(opts.maxRecordBytes ?? 16 * 1024 * 1024, CHUNK_SIZE);

  if (buf.length < CHUNK_HEADER_SIZE || !hasChunkSignature(buf)) {
    const zero = allZero(buf, 0, buf.length);
    issues.push({
      file,
      location: chunkWhere,
      reason: zero ? "chunk is all zeros" : "no chunk signature",
      lost: "chunk",
    });
    return { records, issues };
  }
  const truncated = buf.length < CHUNK_SIZE;
  const firstNumber = buf.readBigUInt64LE(8);
  const lastNumber = buf.readBigUInt64LE(16);
  // The header CRC covers bytes 0-120 and 128-512 (the string and template tables).
  const headerOk = crc32(buf, 128, 512, crc32(buf, 0, 120)) === u32(buf, 124);
  // How many records the chunk holds: only a header its CRC vouches for says so.
  const expected =
    headerOk && lastNumber >= firstNumber && lastNumber - firstNumber < 65536n
      ? Number(lastNumber - firstNumber) + 1
      : undefined;
  if (!headerOk)
    issues.push({
      file,
      location: chunkWhere,
      reason: "bad chunk header CRC32 (records still read)",
      lost: "none",
    });
  const freeSpace = u32(buf, 48);
  const freeSpaceSane = freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= CHUNK_SIZE;
  // Under a filter (not --strict) the records CRC waits until the chunk is known to matter.
  const deferCrc = opts.filter !== undefined && opts.strict !== true;
  const recordsCrcIssue = (): ReadIssue | undefined =>
    crc32(buf, CHUNK_HEADER_SIZE, freeSpace) !== u32(buf, 52)
      ? { file, location: chunkWhere, reason: "bad event records CRC32 (records still read)", lost: "none" }
      : undefined;
  const crcAt = issues.length;
  if (freeSpaceSane && freeSpace <= buf.length) {
    const bad = deferCrc ? undefined : recordsCrcIssue();
    if (bad) issues.push(bad);
  } else if (!freeSpaceSane) {
    issues.push({
      file,
      location: chunkWhere,
      reason: `implausible free space offset ${hex(freeSpace)}`,
      lost: "none",
    });
  }
  const recover = opts.recover === true;
  // Records end at the free space offset when the header can be trusted; otherwise (and to recover
  // the slack) scan the chunk.
  const limit = headerOk && freeSpaceSane && !recover ? Math.min(freeSpace, buf.length) : buf.length;
  // Record validity when the header cannot be trusted (no CRCs, damage): past a plausible free space
  // offset lies the chunk's slack, where stale records of an earlier use of the chunk remain; a record
  // id outside the header's first..last range belongs to a torn chunk. Neither is a live record: they
  // are left out (Event Viewer, python-evtx and libevtx never show them). Live records past a damaged
  // one (ids inside the range) are kept.
  const slackFrom = (!headerOk || recover) && freeSpaceSane ? freeSpace : Number.POSITIVE_INFINITY;
  const firstId = buf.readBigUInt64LE(24);
  const lastId = buf.readBigUInt64LE(32);
  const idRangeSane = lastId >= firstId && lastId - firstId < 65536n;
  // (Only when the header is not trusted: a chunk our writer or a merge made may hold ids from several
  // channels, out of order, under a valid header.)
  const inRange = (id: bigint) => id >= firstId && id <= lastId;
  const notLiveKind = (p: number, id: bigint): RecoveredKind | undefined => {
    if (p >= slackFrom && (headerOk || !idRangeSane || !inRange(id))) return "slack";
    if (!headerOk && idRangeSane && !inRange(id)) return "torn";
    return undefined;
  };
  const recovered: RecoveredRecord[] = [];
  const liveIds: bigint[] = [];
  let notLive = 0;
  if (truncated)
    issues.push({
      file,
      location: chunkWhere,
      reason: `truncated chunk (${buf.length} of ${CHUNK_SIZE} bytes)`,
      lost: "record",
    });

  const ctx = new ChunkContext(buf);
  ctx.treeWalkOnly = opts.slowPath === true;
  const view = opts.filter ? viewFor(opts.filter) : undefined;
  let p = CHUNK_HEADER_SIZE;
  let read = 0;
  let lostRecords = 0;
  while (p + 24 <= limit) {
    const size = recordFits(buf, p, limit, maxRecordBytes);
    if (size === 0) {
      if (allZero(buf, p, limit)) break;
      // Garbage in the slack is not a lost record: resynchronise silently.
      const inSlack = p >= slackFrom;
      // A record cut by the end of a truncated file: counted with the truncation.
      if (truncated && u32(buf, p) === RECORD_SIGNATURE && p + u32(buf, p + 4) > buf.length) break;
      // Resynchronise on the next plausible record.
      let q = p + 1;
      while (q + 28 <= limit && recordFits(buf, q, limit, maxRecordBytes) === 0) q++;
      const found = q + 28 <= limit;
      if (inSlack) {
        if (!found) break;
        p = q;
        continue;
      }
      lostRecords++;
      issues.push({
        file,
        location: where(p),
        reason:
          u32(buf, p) !== RECORD_SIGNATURE
            ? "no record signature"
            : "record size fields disagree or run past the chunk",
        lost: "record",
        skippedRecords: 1,
      });
      if (!found) break;
      p = q;
      continue;
    }
    // (Under a trusted header and without --recover no check applies: the id is read only for records kept.)
    const recordId = !headerOk || recover ? buf.readBigUInt64LE(p + 8) : undefined;
    const kind = recordId !== undefined ? notLiveKind(p, recordId) : undefined;
    if (kind !== undefined && recordId !== undefined) {
      // stale (slack) or torn: not a live record
      if (!recover || !recoverRecord(ctx, p, size, recordId, kind, input, opts, view, recovered)) notLive++;
      p += size;
      continue;
    }
    if (recover && recordId !== undefined) liveIds.push(recordId);
    if (opts.onlyOffsets && !opts.onlyOffsets.has(p)) {
      p += size;
      read++;
      continue;
    }
    try {
      const out = readRecord(ctx, p, size, recordId, input, opts, view);
      if (out) records.push(out);
      read++;
    } catch (err) {
      lostRecords++;
      const reason =
        err instanceof BinXmlError
          ? err.message
          : err instanceof RangeError
            ? "BinXML too deeply nested"
            : `unreadable record: ${(err as Error).message}`;
      issues.push({
        file,
        location: `record ${recordId ?? buf.readBigUInt64LE(p + 8)} at offset ${hex(fileOffset + p)} (chunk ${index})`,
        reason,
        lost: "record",
        skippedRecords: 1,
      });
    }
    p += size;
  }
  if (deferCrc && freeSpaceSane && freeSpace <= buf.length && (records.length > 0 || issues.length > 0)) {
    const bad = recordsCrcIssue();
    if (bad) issues.splice(crcAt, 0, bad);
  }
  if (truncated && expected !== undefined && read + lostRecords < expected) {
    const last = issues.find((i) => i.reason.startsWith("truncated chunk"));
    // The header's count is only a claim: no more records are counted lost than the missing bytes
    // (up to the free-space offset) could hold.
    const end = freeSpaceSane ? freeSpace : CHUNK_SIZE;
    const room = Math.max(0, end - Math.min(p, buf.length));
    const fit = Math.ceil(room / MIN_RECORD_BYTES);
    if (last) last.skippedRecords = Math.min(expected - read - lostRecords, fit);
  }
  const result: ChunkResult = { records, issues };
  if (recover) {
    result.recovered = recovered;
    result.liveIds = liveIds;
  }
  if (notLive > 0) {
    result.notLive = notLive;
    issues.push({
      file,
      location: chunkWhere,
      reason: recover
        ? "unreadable stale or torn records (--recover; what they refer to was overwritten)"
        : "stale or torn records left out (--recover reads them)",
      lost: "none",
      notLive,
    });
  }
  return result;
}

/** A record that is not live, read for `--recover`; false when it cannot be read (counted, not lost). */
function recoverRecord(
  ctx: ChunkContext,
  p: number,
  size: number,
  recordId: bigint,
  kind: RecoveredKind,
  input: ChunkInput,
  opts: ChunkOptions,
  view: RecordView | undefined,
  out: RecoveredRecord[],
): boolean {
  try {
    const rec = readRecord(ctx, p, size, recordId, input, opts, view);
    if (rec) out.push({ record: rec, kind, recordId });
    return true;
  } catch {
    return false;
  }
}

function readRecord(
  ctx: ChunkContext,
  p: number,
  size: number,
  knownId: bigint | undefined,
  input: ChunkInput,
  opts: ChunkOptions,
  view: RecordView | undefined,
): XmlRecord | WinEvent | undefined {
  let decided: boolean | undefined = true;
  if (view) {
    decided = view.decide(ctx, p + 24, p + size - 4);
    if (decided === false) return undefined;
  }
  const recordId = knownId ?? ctx.buf.readBigUInt64LE(p + 8);
  const [nodes] = ctx.fragment(p + 24, p + size - 4, true, 0);
  const rec: ParsedRecord = { ctx, nodes };
  const provenance: Provenance = {
    file: input.file,
    format: "evtx",
    chunk: input.index,
    offset: input.fileOffset + p,
  };
  if (opts.mode === "xml") {
    if (decided === undefined) {
      const event = buildRecordTree(rec);
      const ev = winEventOf(event, provenance);
      if (!opts.filter!(ev.system, ev.timeTicks)) return undefined;
    }
    const inst = opts.slowPath ? undefined : rootInstance(nodes);
    const out: XmlRecord & { system?: SystemFields; timeTicks?: bigint } = {
      xml: (inst && renderInstance(ctx, inst)) ?? renderNodes(ctx, nodes, EMPTY_VALUES, 0),
      recordId,
      provenance,
    };
    if (opts.attachSystem) {
      const map = inst ? systemMap(inst.template) : null;
      if (!map?.complete) {
        const ev = winEventOf(buildRecordTree(rec), provenance);
        out.system = ev.system;
        out.timeTicks = ev.timeTicks;
      }
    }
    return out;
  }
  const ev = (!opts.slowPath && planned(rec, provenance)) || winEventOf(buildRecordTree(rec), provenance);
  if (decided === undefined && !opts.filter!(ev.system, ev.timeTicks)) return undefined;
  return ev;
}

/** The WinEvent through the template's compiled model plan, when the record fits it. */
function planned(rec: ParsedRecord, provenance: Provenance): WinEvent | undefined {
  const inst = rootInstance(rec.nodes);
  if (!inst) return undefined;
  const plan = modelPlan(inst.template);
  if (!plan) return undefined;
  const got = planEvent(rec.ctx, plan, inst.values);
  if (!got) return undefined;
  const ev: WinEvent = { system: got.system, eventData: got.eventData ?? [], provenance };
  if (got.binary !== undefined) ev.binary = got.binary;
  if (got.rest) applyBody(ev, got.rest, got.eventData !== undefined);
  setTicks(ev, got.ticks);
  return ev;
}
/**
 * Push-down scan without building anything: the chunk offsets of the records the filter keeps
 * (or cannot decide on). Used by the main thread when chunks are parsed in worker threads,
 * since a predicate (a function) cannot cross to a worker.
 */
export function scanChunk(input: ChunkInput, filter: SystemPredicate, maxRecordBytes?: number): Set<number> {
  const { buf } = input;
  const keep = new Set<number>();
  if (buf.length < CHUNK_HEADER_SIZE || !hasChunkSignature(buf)) return keep;
  const max = Math.min(maxRecordBytes ?? 16 * 1024 * 1024, CHUNK_SIZE);
  const headerOk = crc32(buf, 128, 512, crc32(buf, 0, 120)) === u32(buf, 124);
  const freeSpace = u32(buf, 48);
  const freeSpaceSane = freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= CHUNK_SIZE;
  const limit = headerOk && freeSpaceSane ? Math.min(freeSpace, buf.length) : buf.length;
  const ctx = new ChunkContext(buf);
  const view = viewFor(filter);
  let p = CHUNK_HEADER_SIZE;
  while (p + 24 <= limit) {
    const size = recordFits(buf, p, limit, max);
    if (size === 0) {
      let q = p + 1;
      while (q + 28 <= limit && recordFits(buf, q, limit, max) === 0) q++;
      if (q + 28 > limit) break;
      p = q;
      continue;
    }
    try {
      if (view.decide(ctx, p + 24, p + size - 4) !== false) keep.add(p);
    } catch {
      keep.add(p); // the worker reports it
    }
    p += size;
  }
  return keep;
}
