/**
 * Sorting buffers that spill to disk: the planner's newest-first buffer and `sort 0` hold every row
 * they are given, so past a bounded number of rows in memory they write sorted runs to temporary files
 * and merge them at the end (an external merge sort). The comparators are total orders over
 * (keys, arrival), and ties between runs go to the earlier run, so the output order is exactly the
 * in-memory sort's.
 *
 * A spilled row keeps its fields (values typed as they were: strings, numbers, multivalues), its
 * arrival number and search time, and what the result writers read from its source event (provenance,
 * EventRecordID, Channel, Computer). A row that can still build `_raw` (no table/fields before the
 * buffer) keeps its whole event, and `_raw` is rebuilt from it as the reader made it.
 *
 * The merge is deferred (`SpillContext.defer`): the executor pulls merged rows a few at a time and
 * hands them on, so the rows never gather in memory again.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { WinEvent } from "../events/model.js";
import { renderEventXml } from "../events/xml.js";
import type { Operator } from "./commands/operator.js";
import type { Row } from "./row.js";
import type { SplScalar, SplValue } from "./values.js";

/** Rows a buffer holds in memory before it writes a sorted run to disk. */
export const DEFAULT_SPILL_ROWS = 20000;

/** Rows in memory before spilling: DCOMHUNT_SPILL_ROWS (tests use a small value), else the default. */
export function spillRows(): number {
  const env = process.env.DCOMHUNT_SPILL_ROWS;
  const n = env === undefined ? Number.NaN : Number(env);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_SPILL_ROWS;
}

export interface SpillContext {
  /**
   * Runs `drain` after the current `end()` returns, a step at a time: each step pushes at most a few
   * rows downstream, and the caller hands them on before the next step.
   */
  defer(drain: Iterator<void>): void;
}

// ---------------------------------------------------------------------------------------------
// Row encoding (one JSON line per row)

type Encoded = string | number | { n: string } | Encoded[];

function encodeValue(v: SplValue): Encoded {
  if (Array.isArray(v)) return v.map((x) => encodeValue(x));
  if (typeof v === "number" && !Number.isFinite(v)) return { n: String(v) };
  if (typeof v === "number" && Object.is(v, -0)) return { n: "-0" };
  return v;
}

function decodeValue(e: Encoded): SplValue {
  if (Array.isArray(e)) return e.map((x) => decodeValue(x) as SplScalar);
  if (typeof e === "object") return e.n === "-0" ? -0 : Number(e.n);
  return e;
}

/** What the result writers read from a row's event (results.ts flattenRow). */
function slimEvent(ev: WinEvent): WinEvent {
  const p = ev.provenance;
  const system: WinEvent["system"] = { eventID: ev.system.eventID };
  if (ev.system.eventRecordID !== undefined) system.eventRecordID = ev.system.eventRecordID;
  if (ev.system.channel !== undefined) system.channel = ev.system.channel;
  if (ev.system.computer !== undefined) system.computer = ev.system.computer;
  return {
    system,
    eventData: [],
    provenance: { file: p.file, format: p.format, offset: p.offset, line: p.line, chunk: p.chunk },
  };
}

const bigintReplacer = (_k: string, v: unknown) => (typeof v === "bigint" ? { $big: v.toString() } : v);
const bigintReviver = (_k: string, v: unknown) =>
  v !== null && typeof v === "object" && "$big" in v ? BigInt((v as { $big: string }).$big) : v;

/** The `_raw` a reader's SplunkEvent builds for this event (events/fields.ts). */
function rawOf(ev: WinEvent): () => string {
  let raw: string | undefined;
  return () => {
    if (raw === undefined) {
      const exportRaw = ev.provenance.dialect === "splunk" ? ev.extra?._raw : undefined;
      raw = typeof exportRaw === "string" ? exportRaw : renderEventXml(ev, { style: "splunk" });
    }
    return raw;
  };
}

export function encodeRow(row: Row): string {
  const fields: [string, Encoded][] = [];
  for (const [k, v] of row.fields) fields.push([k, encodeValue(v)]);
  const withRaw = row.raw !== undefined && !row.fields.has("_raw") && row.event !== undefined;
  const o: Record<string, unknown> = { f: fields, s: row.seq };
  if (row.searchTime !== undefined) o.t = encodeValue(row.searchTime);
  if (row.event) o.e = withRaw ? row.event : slimEvent(row.event);
  if (withRaw) o.r = 1;
  return JSON.stringify(o, bigintReplacer);
}

export function decodeRow(line: string): Row {
  const o = JSON.parse(line, bigintReviver) as {
    f: [string, Encoded][];
    s: number;
    t?: Encoded;
    e?: WinEvent;
    r?: number;
  };
  const fields = new Map<string, SplValue>();
  for (const [k, v] of o.f) fields.set(k, decodeValue(v));
  const row: Row = { fields, seq: o.s };
  if (o.t !== undefined) row.searchTime = decodeValue(o.t) as number;
  if (o.e) {
    row.event = o.e;
    if (o.r) row.raw = rawOf(o.e);
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Runs on disk

/** Read buffers of all runs together (each run gets a share, 16-256 KiB): memory stays flat in the run count. */
const READ_BUDGET = 4 * 1024 * 1024;

/** Reads a run file line by line (synchronously: operators are synchronous). */
class RunReader {
  private fd: number;
  private buf = "";
  private pos = 0;
  private eof = false;
  private readonly chunk: Buffer;
  private readonly decoder = new StringDecoder("utf8");

  constructor(file: string, readBytes: number) {
    this.fd = openSync(file, "r");
    this.chunk = Buffer.allocUnsafe(readBytes);
  }

  next(): Row | undefined {
    for (;;) {
      const nl = this.buf.indexOf("\n", this.pos);
      if (nl >= 0) {
        const line = this.buf.slice(this.pos, nl);
        this.pos = nl + 1;
        return decodeRow(line);
      }
      if (this.eof) return undefined;
      const n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      if (n === 0) this.close();
      else {
        this.buf = this.buf.slice(this.pos) + this.decoder.write(this.chunk.subarray(0, n));
        this.pos = 0;
      }
    }
  }

  close(): void {
    if (!this.eof) {
      this.eof = true;
      closeSync(this.fd);
    }
  }
}

function writeRun(file: string, rows: Row[]): void {
  const fd = openSync(file, "w");
  try {
    let pending = "";
    for (const r of rows) {
      pending += `${encodeRow(r)}\n`;
      if (pending.length >= 1 << 20) {
        writeSync(fd, pending);
        pending = "";
      }
    }
    if (pending) writeSync(fd, pending);
  } finally {
    closeSync(fd);
  }
}

/** Heads of the runs, smallest first under cmp; ties go to the earlier run (stability). */
class RunHeap {
  private items: { row: Row; run: number }[] = [];
  constructor(private readonly cmp: (a: Row, b: Row) => number) {}
  get size(): number {
    return this.items.length;
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i];
    const b = this.items[j];
    const c = this.cmp(a.row, b.row);
    return c < 0 || (c === 0 && a.run < b.run);
  }
  push(row: Row, run: number): void {
    const h = this.items;
    h.push({ row, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): { row: Row; run: number } {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Spill folders still there; removed at exit too (a run that stopped on an error). */
const liveDirs = new Set<string>();
let exitHook = false;
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-sort-"));
  liveDirs.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** Rows pushed between two steps of the deferred merge. */
const ROWS_PER_STEP = 256;

/**
 * Sorts every row it is given under `cmp` (a stable sort) and emits them in order, holding at most
 * `maxRows` rows in memory: beyond that, sorted runs go to a temporary folder that is removed when the
 * merge ends (or the consumer stops).
 */
export function spillingSortOperator(
  cmp: (a: Row, b: Row) => number,
  next: Operator,
  spill: SpillContext,
  maxRows = spillRows(),
): Operator {
  let rows: Row[] = [];
  let dir: string | undefined;
  const runs: string[] = [];
  const flush = () => {
    rows.sort(cmp);
    dir ??= tempDir();
    const file = path.join(dir, `run-${runs.length}.ndjson`);
    writeRun(file, rows);
    runs.push(file);
    rows = [];
  };
  return {
    push: (row) => {
      rows.push(row);
      if (rows.length >= maxRows) flush();
      return true;
    },
    end: () => {
      if (runs.length === 0) {
        rows.sort(cmp);
        const out = rows;
        rows = [];
        for (const r of out) if (!next.push(r)) break;
        next.end();
        return;
      }
      if (rows.length > 0) flush();
      const spillDir = dir as string;
      function* merge(): Generator<void> {
        const share = Math.min(256 * 1024, Math.max(16 * 1024, Math.floor(READ_BUDGET / runs.length)));
        const readers = runs.map((f) => new RunReader(f, share));
        try {
          const heap = new RunHeap(cmp);
          readers.forEach((rd, i) => {
            const r = rd.next();
            if (r) heap.push(r, i);
          });
          let n = 0;
          let more = true;
          while (heap.size > 0 && more) {
            const { row, run } = heap.pop();
            more = next.push(row);
            const r = readers[run].next();
            if (r) heap.push(r, run);
            if (++n % ROWS_PER_STEP === 0) yield;
          }
          next.end();
        } finally {
          for (const rd of readers) rd.close();
          removeTempDir(spillDir);
        }
      }
      spill.defer(merge());
    },
  };
}
