/**
 * EVTX files: the file header, then 64 KiB chunks read one at a time (memory stays bounded), from
 * a path or from a stream of bytes (decompressed .gz/.zip members, stdin). Chunks beyond the
 * header's chunk count that carry a signature are read too (dirty files).
 *
 * Parallelism: with `threads` > 1, chunks are parsed on worker threads while records come out in
 * file order. A filter predicate is a function and cannot cross to a worker, so the main thread
 * runs the push-down scan (System fields straight from the substitution values + the predicate)
 * and sends the worker only the offsets of the records it keeps; records whose template does not
 * map System plainly are re-checked on the main thread against the fields the worker returns.
 * Measured (bench/evtx/run.ts, 2 cores): threads do not pay off here - moving 64 KiB chunks and
 * cloning the records back costs more than the parsing they save - so the default is in-process
 * (threads 0/1) and the pool is there for callers on machines with more cores.
 *
 * Cancellation: when `signal` is aborted the reader stops at the next chunk boundary (the
 * generator ends; nothing is thrown).
 */

import { open } from "node:fs/promises";
import type { Worker } from "node:worker_threads";
import {
  InputError,
  type ReadIssue,
  type ReadOptions,
  type SystemFields,
  type WinEvent,
} from "../../events/model.js";
import {
  CHUNK_SIZE,
  type ChunkInput,
  type OutputMode,
  readChunk,
  scanChunk,
  type XmlRecord,
} from "./chunk.js";
import { crc32 } from "./crc32.js";
import { recoverBatches } from "./recover.js";
import { u16, u32 } from "./values.js";

export const FILE_HEADER_SIZE = 4096;
const READ_SIZE = 1024 * 1024;
const RING = 4;

export type EvtxSource = string | AsyncIterable<Uint8Array>;
export type EvtxReadOptions = ReadOptions & { displayName?: string };

/** "ElfFile\0" */
export function isEvtxHeader(head: Uint8Array): boolean {
  const sig = [0x45, 0x6c, 0x66, 0x46, 0x69, 0x6c, 0x65, 0x00];
  if (head.length < 8) return false;
  for (let i = 0; i < 8; i++) if (head[i] !== sig[i]) return false;
  return true;
}

/**
 * Pieces of the file in reading order. `reuse`: the pieces come from a ring of RING buffers, so a
 * piece's memory is written again RING reads later; only for a consumer that is done with a piece
 * (and every view of it) by then: BlockReader holds at most two pieces and one is in flight, and the
 * in-process chunk reader is done with a chunk before it asks for the next. Fresh buffers cost a page
 * fault per 4 KiB on every read; reused ones do not.
 */
async function* fileBytes(path: string, file: string, reuse = false): AsyncGenerator<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (err) {
    throw new InputError({
      file,
      location: "file",
      reason: `cannot open: ${(err as Error).message}`,
      lost: "file",
    });
  }
  // Read-ahead: the next read is in flight while the current piece is parsed.
  const ring: Buffer[] = [];
  let reads = 0;
  const readPiece = () => {
    let buf: Buffer;
    if (reuse) {
      const slot = reads++ % RING;
      buf = ring[slot] ??= Buffer.allocUnsafe(READ_SIZE);
    } else buf = Buffer.allocUnsafe(READ_SIZE);
    return fh.read(buf, 0, READ_SIZE, null).then(({ bytesRead }) => buf.subarray(0, bytesRead));
  };
  let next = readPiece();
  try {
    for (;;) {
      const piece = await next;
      if (piece.length === 0) return;
      next = readPiece();
      yield piece;
    }
  } finally {
    // Let an outstanding read finish before the handle closes.
    await next.catch(() => undefined);
    await fh.close();
  }
}

/** Takes exact-size blocks out of a stream of arbitrary pieces. */
class BlockReader {
  private pieces: Uint8Array[] = [];
  private length = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;

  /**
   * `shareable`: blocks may be views into the source's pieces (see fileBytes on their reuse) instead
   * of copies. Off for worker threads, to which a view would carry its whole piece.
   */
  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly shareable = false,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to n bytes (fewer only at the end of the input) in a fresh Buffer. */
  async take(n: number): Promise<Buffer> {
    while (this.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.pieces.push(r.value);
        this.length += r.value.length;
      }
    }
    const want = Math.min(n, this.length);
    const head = this.pieces[0];
    if (this.shareable && head !== undefined && head.length >= want) {
      // The block lies in one piece: a view of it, no copy (see fileBytes on reuse).
      const out = Buffer.from(head.buffer, head.byteOffset, want);
      if (want === head.length) this.pieces.shift();
      else this.pieces[0] = head.subarray(want);
      this.length -= want;
      return out;
    }
    const out = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const piece = this.pieces[0];
      const use = Math.min(piece.length, want - filled);
      out.set(use === piece.length ? piece : piece.subarray(0, use), filled);
      filled += use;
      if (use === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(use);
    }
    this.length -= want;
    return out;
  }

  async close(): Promise<void> {
    if (!this.done) await this.it.return?.();
  }
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function hasChunkSig(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x45 && b[3] === 0x43 && b[4] === 0x68 && b[7] === 0 && b[5] === 0x6e;
}

/** The chunks of an EVTX input, with file-level issues reported through `report`. */
export async function* evtxChunks(
  source: EvtxSource,
  file: string,
  report: (issue: ReadIssue) => void,
  signal?: AbortSignal,
  shareable = false,
): AsyncGenerator<ChunkInput> {
  const reader = new BlockReader(
    typeof source === "string" ? fileBytes(source, file, shareable) : source,
    shareable && typeof source === "string",
  );
  try {
    const header = await reader.take(FILE_HEADER_SIZE);
    if (header.length < 128 || !isEvtxHeader(header)) {
      report({
        file,
        location: "file header at offset 0x0",
        reason: header.length < 128 ? "file too short for an EVTX header" : "no EVTX file signature",
        lost: header.length < FILE_HEADER_SIZE ? "file" : "none",
      });
      if (header.length < FILE_HEADER_SIZE) return;
    }
    let chunkCount = 0;
    if (isEvtxHeader(header)) {
      if (crc32(header, 0, 120) !== u32(header, 124))
        report({
          file,
          location: "file header at offset 0x0",
          reason: "bad file header CRC32",
          lost: "none",
        });
      const major = u16(header, 38);
      if (major !== 3)
        report({
          file,
          location: "file header at offset 0x0",
          reason: `unknown format version ${major}.${u16(header, 36)} (read as 3.x)`,
          lost: "none",
        });
      chunkCount = u16(header, 42);
      const blockSize = u16(header, 40);
      if (blockSize !== FILE_HEADER_SIZE)
        report({
          file,
          location: "file header at offset 0x0",
          reason: `unusual header block size ${blockSize}; chunks read from offset 0x1000`,
          lost: "none",
        });
    }
    if (header.length < FILE_HEADER_SIZE) {
      report({ file, location: "file header at offset 0x0", reason: "truncated file header", lost: "file" });
      return;
    }
    // Blocks after the header's chunk count without a chunk signature: slack of a re-used file.
    let slack = 0;
    let slackStart = 0;
    for (let index = 0; ; index++) {
      if (signal?.aborted) return;
      const buf = await reader.take(CHUNK_SIZE);
      const fileOffset = FILE_HEADER_SIZE + index * CHUNK_SIZE;
      if (buf.length === 0) {
        if (slack > 0)
          report({
            file,
            location: `offset 0x${slackStart.toString(16)}`,
            reason: `${slack} block(s) after the last chunk hold no chunk signature (slack space, not read)`,
            lost: "none",
          });
        if (index < chunkCount)
          report({
            file,
            location: `chunk ${index} at offset 0x${fileOffset.toString(16)}`,
            reason: `file ends after ${index} of ${chunkCount} chunks`,
            lost: "chunk",
          });
        return;
      }
      // Unused space after the last chunk (pre-allocated, zeroed) is not damage.
      if (index >= chunkCount && !hasChunkSig(buf)) {
        if (!allZero(buf) && slack++ === 0) slackStart = fileOffset;
        continue;
      }
      yield { buf, index, fileOffset, file };
    }
  } finally {
    await reader.close();
  }
}

interface Reporter {
  report(issue: ReadIssue): void;
}

function reporter(opts: EvtxReadOptions): Reporter {
  return {
    report(issue: ReadIssue) {
      opts.onIssue?.(issue);
      if (opts.strict) throw new InputError(issue);
    },
  };
}

/** Records (XML or WinEvent) of an EVTX input, in file order. */
export async function* readRecords(
  source: EvtxSource,
  opts: EvtxReadOptions,
  mode: OutputMode,
): AsyncGenerator<XmlRecord | WinEvent> {
  const file = opts.displayName ?? (typeof source === "string" ? source : "<stream>");
  const rep = reporter(opts);
  const threads = Math.max(0, Math.floor(opts.threads ?? 0));
  if (opts.recover) {
    // Recovered records are held until the end of the file: chunk buffers are never shared here.
    const chunks = evtxChunks(source, file, (i) => rep.report(i), opts.signal, false);
    const chunkOpts = { mode, filter: opts.filter, maxRecordBytes: opts.maxRecordBytes, strict: opts.strict };
    for await (const batch of recoverBatches(chunks, chunkOpts, (i) => rep.report(i))) yield* batch;
    return;
  }
  const chunks = evtxChunks(source, file, (i) => rep.report(i), opts.signal, threads <= 1);
  if (threads <= 1) {
    for await (const input of chunks) {
      const res = readChunk(input, {
        mode,
        filter: opts.filter,
        maxRecordBytes: opts.maxRecordBytes,
        strict: opts.strict,
      });
      for (const issue of res.issues) rep.report(issue);
      for (const rec of res.records) yield rec;
    }
    return;
  }
  yield* readParallel(chunks, opts, mode, threads, rep);
}

/**
 * The same records, one array per chunk: a consumer that walks them in a plain loop pays one
 * async step per chunk instead of one per record through each generator layer (readers/index.ts).
 */
export async function* readRecordBatches(
  source: EvtxSource,
  opts: EvtxReadOptions,
  mode: OutputMode,
): AsyncGenerator<(XmlRecord | WinEvent)[]> {
  const threads = Math.max(0, Math.floor(opts.threads ?? 0));
  if (threads > 1 && !opts.recover) {
    for await (const rec of readRecords(source, opts, mode)) yield [rec];
    return;
  }
  const file = opts.displayName ?? (typeof source === "string" ? source : "<stream>");
  const rep = reporter(opts);
  if (opts.recover) {
    const chunks = evtxChunks(source, file, (i) => rep.report(i), opts.signal, false);
    const chunkOpts = { mode, filter: opts.filter, maxRecordBytes: opts.maxRecordBytes, strict: opts.strict };
    yield* recoverBatches(chunks, chunkOpts, (i) => rep.report(i));
    return;
  }
  for await (const input of evtxChunks(source, file, (i) => rep.report(i), opts.signal, true)) {
    const res = readChunk(input, {
      mode,
      filter: opts.filter,
      maxRecordBytes: opts.maxRecordBytes,
      strict: opts.strict,
    });
    for (const issue of res.issues) rep.report(issue);
    if (res.records.length > 0) yield res.records;
  }
}

// ---------------------------------------------------------------------------------------------
// Worker pool

export interface WorkerRequest {
  id: number;
  buf: Uint8Array;
  index: number;
  fileOffset: number;
  file: string;
  mode: OutputMode;
  maxRecordBytes?: number;
  onlyOffsets?: number[];
  /** Attach System fields to XML records whose template does not map System plainly. */
  withSystem: boolean;
}
export interface WorkerReply {
  id: number;
  records: (XmlRecord | WinEvent)[];
  issues: ReadIssue[];
  error?: string;
}
/** XML record with the System fields the main thread needs to finish a filter. */
export type XmlRecordWithSystem = XmlRecord & { system?: SystemFields; timeTicks?: bigint };

/** A worker running worker.ts (from TypeScript sources under tsx) or worker.js (compiled). */
function startWorker(Worker: typeof import("node:worker_threads").Worker): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url);
  if (!fromSource) return new Worker(url);
  // Node 20 does not apply the parent's --import loader hooks to workers: register tsx there.
  const api = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true });
}

async function* readParallel(
  chunks: AsyncGenerator<ChunkInput>,
  opts: EvtxReadOptions,
  mode: OutputMode,
  threads: number,
  rep: Reporter,
): AsyncGenerator<XmlRecord | WinEvent> {
  // Loaded only when threads are asked for (start-up of every other run does not pay for it).
  const { Worker } = await import("node:worker_threads");
  const workers: Worker[] = [];
  const pending = new Map<number, (r: WorkerReply) => void>();
  // A worker that fails (or cannot start) stops the pool; its chunks are read in-process.
  let broken: string | undefined;
  const failAll = (err: Error) => {
    broken ??= err.message;
    for (const [id, resolve] of pending) resolve({ id, records: [], issues: [], error: err.message });
    pending.clear();
  };
  for (let i = 0; i < threads; i++) {
    const w = startWorker(Worker);
    w.on("message", (r: WorkerReply) => {
      const resolve = pending.get(r.id);
      pending.delete(r.id);
      resolve?.(r);
    });
    w.on("error", failAll);
    w.on("exit", (code) => failAll(new Error(`worker exited with code ${code}`)));
    workers.push(w);
  }
  const window = threads * 3;
  const inFlight: { input: ChunkInput; onlyOffsets?: number[]; reply: Promise<WorkerReply> }[] = [];
  let nextId = 0;
  const filter = opts.filter;

  function inProcess(input: ChunkInput, onlyOffsets?: number[]): WorkerReply {
    const res = readChunk(input, {
      mode,
      maxRecordBytes: opts.maxRecordBytes,
      onlyOffsets: onlyOffsets ? new Set(onlyOffsets) : undefined,
      attachSystem: filter !== undefined,
    });
    return { id: -1, records: res.records, issues: res.issues };
  }

  function submit(input: ChunkInput): void {
    let onlyOffsets: number[] | undefined;
    if (filter) onlyOffsets = [...scanChunk(input, filter, opts.maxRecordBytes)];
    if (broken !== undefined) {
      inFlight.push({ input, onlyOffsets, reply: Promise.resolve(inProcess(input, onlyOffsets)) });
      return;
    }
    const id = nextId++;
    const req: WorkerRequest = {
      id,
      buf: input.buf,
      index: input.index,
      fileOffset: input.fileOffset,
      file: input.file,
      mode,
      maxRecordBytes: opts.maxRecordBytes,
      onlyOffsets,
      withSystem: filter !== undefined,
    };
    const reply = new Promise<WorkerReply>((resolve) => pending.set(id, resolve));
    // The chunk's bytes are copied to the worker (64 KiB, cheap next to parsing), so the main
    // thread can still read the chunk itself if the worker fails.
    workers[id % workers.length].postMessage(req);
    inFlight.push({ input, onlyOffsets, reply });
  }

  async function* drainOne(): AsyncGenerator<XmlRecord | WinEvent> {
    const { input, onlyOffsets, reply } = inFlight.shift()!;
    let r = await reply;
    if (r.error !== undefined) r = inProcess(input, onlyOffsets);
    for (const issue of r.issues) rep.report(issue);
    for (const rec of r.records) {
      if (filter) {
        if ("xml" in rec) {
          const x = rec as XmlRecordWithSystem;
          if (x.system) {
            const keep = filter(x.system, x.timeTicks);
            delete x.system;
            delete x.timeTicks;
            if (!keep) continue;
          }
        } else if (!filter((rec as WinEvent).system, (rec as WinEvent).timeTicks)) continue;
      }
      yield rec;
    }
  }

  try {
    for await (const input of chunks) {
      submit(input);
      while (inFlight.length >= window) yield* drainOne();
    }
    while (inFlight.length > 0) yield* drainOne();
  } finally {
    broken ??= "stopped";
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
