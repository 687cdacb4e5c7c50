/**
 * `load`: stream events from the readers through the field view into an engine, in batches.
 *
 * - One batch is being inserted while the next one is read (backpressure: the reader waits for the
 *   insert before a third batch starts), so memory stays bounded by two batches at any input size.
 * - A failed batch is retried (3 times, with a growing pause); if it still fails the load stops and
 *   says which file and records were not stored. The ledger in the database records, per input file,
 *   how many records are committed: `--resume` skips finished files and continues a file after its
 *   last committed batch. A batch that may have been stored in part (a cluster node died mid-insert)
 *   is simply sent again: duplicates are removed at the end (engine.deduplicate), never counted twice.
 * - Idempotent: the same event loaded twice (same file, or the same record in two files) is kept once,
 *   by the key `scan` de-duplicates on (Computer, Channel, EventRecordID, time).
 */
import { statSync } from "node:fs";
import { type FieldViewOptions, toSplunkEvent } from "../events/fields.js";
import { expandInputs, type InputStats, newInputStats, readInputs } from "../readers/index.js";
import { fieldViewKey, loadRow, SCHEMA_VERSION, type TableMeta } from "./schema.js";
import { type Engine, EngineError, type LedgerEntry } from "./types.js";

export interface LoadOptions {
  fieldView: FieldViewOptions;
  /** Store `_raw` (the event XML) for bare-term searches (default true). */
  raw?: boolean;
  resume?: boolean;
  /** Rows per batch (default 20000) and a cap on a batch's encoded size in bytes (default 8 MB). */
  batchRows?: number;
  batchBytes?: number;
  /** Attempts per batch (default 4: the first and 3 retries). */
  attempts?: number;
  /** Pause before the first retry, doubled each time (default 500 ms). */
  retryDelayMs?: number;
  threads?: number;
  strict?: boolean;
  stats?: InputStats;
  onBytes?: (n: number) => void;
  /** A retry or a skipped file, for the command's messages. */
  onNote?: (text: string) => void;
}

export interface FileLoad {
  file: string;
  bytes: number;
  /** Records stored by this run (after --resume skipped those already committed). */
  events: number;
  /** Records skipped because a previous load committed them (--resume). */
  resumedAfter: number;
  seconds: number;
  status: "loaded" | "already loaded" | "failed";
}

export interface LoadFailure {
  file: string;
  /** 1-based record numbers of the file that were not stored. */
  fromRecord: number;
  toRecord: number;
  reason: string;
}

export interface LoadResult {
  files: FileLoad[];
  events: number;
  stats: InputStats;
  duplicatesRemoved: number | undefined;
  rowsInTable: number;
  seconds: number;
  failure?: LoadFailure;
}

/** Bytes per piece of a batch. */
const PIECE = 256 * 1024;

class BatchFailed extends Error {
  constructor(readonly failure: LoadFailure) {
    super(failure.reason);
  }
}

export async function loadInto(engine: Engine, inputs: string[], opts: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const raw = opts.raw !== false;
  const { tz: _tz, ...view } = opts.fieldView;
  const meta: TableMeta = { schema: SCHEMA_VERSION, fieldView: view, raw };
  const existing = await engine.readMeta();
  if (existing) {
    if (fieldViewKey(existing.fieldView) !== fieldViewKey(view))
      throw new EngineError(
        `${engine.description} holds events loaded with field view (${fieldViewKey(existing.fieldView)}); this load asks for (${fieldViewKey(view)}): use another database or the same options`,
      );
    if (existing.raw !== raw)
      throw new EngineError(
        `${engine.description} was loaded ${existing.raw ? "with" : "without"} _raw; load ${existing.raw ? "without --no-raw" : "with --no-raw"} or use another database`,
      );
  }
  await engine.prepareLoad(meta);
  const ledger = opts.resume ? await engine.ledger() : new Map<string, LedgerEntry>();
  const stats = opts.stats ?? newInputStats();
  const batchRows = opts.batchRows ?? 20000;
  const batchBytes = opts.batchBytes ?? 8 * 1048576;
  const attempts = opts.attempts ?? 4;
  const retryDelay = opts.retryDelayMs ?? 500;

  const files: FileLoad[] = [];
  let seq = 0;
  let events = 0;
  let failure: LoadFailure | undefined;

  const send = async (rows: Buffer[], file: string, from: number, to: number): Promise<void> => {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        opts.onNote?.(
          `${file}: records ${from}-${to}: ${(last as Error).message}; retry ${i}/${attempts - 1}`,
        );
        await new Promise((r) => setTimeout(r, retryDelay * 2 ** (i - 1)));
      }
      try {
        await engine.insert(rows);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw new BatchFailed({ file, fromRecord: from, toRecord: to, reason: (last as Error).message });
  };

  for (const file of expandInputs(inputs)) {
    const fileStarted = performance.now();
    let size = -1;
    let mtimeMs = 0;
    if (file !== "-") {
      try {
        const st = statSync(file);
        size = st.size;
        mtimeMs = st.mtimeMs;
      } catch {
        // the reader reports it
      }
    }
    const prev = ledger.get(file);
    const same = prev !== undefined && prev.size === size && prev.mtimeMs === mtimeMs && file !== "-";
    if (same && prev.done) {
      files.push({
        file,
        bytes: size,
        events: 0,
        resumedAfter: prev.records,
        seconds: 0,
        status: "already loaded",
      });
      opts.onNote?.(`${file}: already loaded (${prev.records} records), skipped`);
      continue;
    }
    const skip = same ? prev.records : 0;
    const bytesBefore = stats.bytes;
    const fl: FileLoad = {
      file,
      bytes: Math.max(0, size),
      events: 0,
      resumedAfter: skip,
      seconds: 0,
      status: "loaded",
    };
    files.push(fl);

    let n = 0; // records read from this file
    // The batch: encoded rows written into byte pieces of 256 KB (off the JS heap).
    let batch: Buffer[] = [];
    let rows = 0;
    let bytes = 0;
    let buf = Buffer.allocUnsafe(PIECE);
    let at = 0;
    const seal = (need = 0) => {
      if (at > 0) {
        batch.push(buf.subarray(0, at));
        bytes += at;
      }
      buf = Buffer.allocUnsafe(Math.max(PIECE, need));
      at = 0;
    };
    const put = (line: string) => {
      // A UTF-16 unit is at most 3 bytes of UTF-8; +1 for the newline.
      if (at + line.length * 3 + 1 > buf.length) seal(line.length * 3 + 1);
      at += buf.write(line, at);
      buf[at++] = 10;
    };
    let batchFrom = skip + 1;
    let pending: Promise<void> | undefined;
    const flush = async () => {
      if (at > 0) seal();
      if (pending) await pending;
      pending = undefined;
      if (!batch.length) return;
      const pieces = batch;
      const count = rows;
      const from = batchFrom;
      const to = n;
      batch = [];
      rows = 0;
      bytes = 0;
      batchFrom = n + 1;
      pending = send(pieces, file, from, to).then(async () => {
        fl.events += count;
        events += count;
        if (file !== "-") await engine.record({ file, size, mtimeMs, records: to, done: false });
      });
      // A rejection is observed by the next flush (or the end of the file).
      pending.catch(() => {});
    };
    try {
      for await (const ev of readInputs([file], {
        stats,
        threads: opts.threads,
        strict: opts.strict,
        onBytes: opts.onBytes,
      })) {
        n++;
        if (n <= skip) continue;
        const line = engine.encode(loadRow(ev, toSplunkEvent(ev, opts.fieldView), raw, seq++));
        put(line);
        rows++;
        if (rows >= batchRows || bytes + at >= batchBytes) await flush();
      }
      await flush();
      if (pending) await pending;
      if (file !== "-") await engine.record({ file, size, mtimeMs, records: n, done: true });
      fl.bytes = stats.bytes - bytesBefore;
    } catch (err) {
      if (!(err instanceof BatchFailed)) throw err;
      fl.status = "failed";
      fl.seconds = (performance.now() - fileStarted) / 1000;
      failure = err.failure;
      break;
    }
    fl.seconds = (performance.now() - fileStarted) / 1000;
  }

  // De-duplicate even after a failure: what was stored is clean; --resume completes the rest.
  let duplicatesRemoved: number | undefined;
  let rowsInTable = -1;
  try {
    duplicatesRemoved = await engine.deduplicate();
    rowsInTable = await engine.count();
  } catch (err) {
    if (!failure) throw err;
  }
  return {
    files,
    events,
    stats,
    duplicatesRemoved,
    rowsInTable,
    seconds: (performance.now() - started) / 1000,
    failure,
  };
}
