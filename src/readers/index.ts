/**
 * Readers: every input (files, directories walked recursively in sorted order, "-" for stdin,
 * .gz and .zip transparently) streamed as WinEvents, the format detected from content.
 *
 * Stats: `files` counts logs read (archive members each count, the archive itself does not),
 * `bytes` the raw bytes read from disk/stdin, `records` the events yielded (after the push-down
 * filter), `skipped` the records reported lost, `issues` the first MAX_KEPT_ISSUES issues and
 * `issueCounts` every issue counted by reason (the reason's text before any ":" detail).
 */

import type { Dirent } from "node:fs";
import { readdirSync, realpathSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { InputError, type ReadIssue, type ReadOptions, type WinEvent } from "../events/model.js";
import {
  type ByteCounter,
  countBytes,
  DEFAULT_MAX_RATIO,
  DecompressionLimitError,
  gunzipGuarded,
  limitInflated,
  openZip,
  spoolToTempFile,
} from "./archive.js";
import { readCsvStream } from "./csv.js";
import { compressionOf, type DetectedFormat, detectFormat } from "./detect.js";
import { readJsonStream } from "./json.js";
import { openSource, peekStream, utf8Stream } from "./stream.js";
import { readXmlStream } from "./xml.js";

export { readCsv } from "./csv.js";
export { type Compression, compressionOf, type DetectedFormat, detectFormat } from "./detect.js";
export { eventFromJsonRecord, readJson } from "./json.js";
export { DEFAULT_MAX_RECORD_BYTES, type TextReadOptions } from "./stream.js";
export { parseEventXml, readXml } from "./xml.js";

/** How many issues `InputStats.issues` keeps (all are counted in `issueCounts`). */
export const MAX_KEPT_ISSUES = 1000;
/** Bytes read to detect a format. */
const HEAD_BYTES = 64 * 1024;
/** Archives inside archives: how deep we follow (guards against zip quines). */
const MAX_ARCHIVE_DEPTH = 3;

export interface InputStats {
  files: number;
  bytes: number;
  records: number;
  skipped: number;
  /** The first MAX_KEPT_ISSUES issues. */
  issues: ReadIssue[];
  /** Every issue, counted by reason. */
  issueCounts: Map<string, number>;
  /** Records read per input name (a file path as given, or `archive!member`). */
  recordsByFile: Map<string, number>;
  /** `recover`: records that are not live added, by kind (slack, torn); they are counted in `records` too. */
  recovered: Map<string, number>;
}

export function newInputStats(): InputStats {
  return {
    files: 0,
    bytes: 0,
    records: 0,
    skipped: 0,
    issues: [],
    issueCounts: new Map(),
    recordsByFile: new Map(),
    recovered: new Map(),
  };
}

export type ReadInputsOptions = ReadOptions & {
  stats?: InputStats;
  /** Called when a file on disk (or stdin, size -1) starts being read. */
  onFile?: (file: string, size: number) => void;
  /** Raw bytes consumed from disk/stdin, for progress. */
  onBytes?: (n: number) => void;
  /** Stop a compressed member past this ratio (default 200). */
  maxDecompressionRatio?: number;
};

/** A plain file on disk: readers that need random access (EVTX, zip) reopen it by path. */
interface DiskFile {
  path: string;
  size: number;
  /** Bytes already read (and counted) through the stream before switching to the path. */
  counter: ByteCounter;
}

type EvtxModule = typeof import("./evtx/index.js");
let evtxModule: Promise<EvtxModule> | undefined;
/** The EVTX reader is loaded on first use: JSON/XML-only runs never load it. */
function loadEvtx(): Promise<EvtxModule> {
  evtxModule ??= import("./evtx/index.js");
  return evtxModule;
}

function countKey(reason: string): string {
  const i = reason.indexOf(":");
  return i < 0 ? reason : reason.slice(0, i);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function cannotOpen(file: string, err: unknown): ReadIssue {
  return { file, location: "offset 0", reason: `cannot open: ${errorMessage(err)}`, lost: "file" };
}

function isFatal(err: unknown): boolean {
  return err instanceof InputError || (err instanceof Error && err.name === "AbortError");
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The files under the inputs, in the order readInputs reads them (directories walked recursively in
 * sorted order, symlinked directories followed once): for callers that read file by file (the time
 * merge of correlation) or look at the files themselves (manifest hashes, progress totals). Paths that
 * cannot be read are kept: reading them reports the problem.
 */
export function expandInputs(inputs: string[], seen = new Set<string>()): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = input !== "-" && statSync(input).isDirectory();
    } catch {
      // reported by the reader
    }
    if (!isDir) {
      out.push(input);
      continue;
    }
    const real = realpathSync(input);
    if (seen.has(real)) continue;
    seen.add(real);
    const names = readdirSync(input).sort(compareNames);
    out.push(
      ...expandInputs(
        names.map((n) => path.join(input, n)),
        seen,
      ),
    );
  }
  return out;
}

/** Walk inputs (files, directories recursively, "-" = stdin, .gz/.zip transparently) and stream events. */
export async function* readInputs(inputs: string[], opts: ReadInputsOptions = {}): AsyncGenerator<WinEvent> {
  const stats = opts.stats ?? newInputStats();
  const maxRatio = opts.maxDecompressionRatio ?? DEFAULT_MAX_RATIO;
  const userOnIssue = opts.onIssue;
  const readerOpts: ReadOptions = {
    ...opts,
    onIssue: (issue: ReadIssue) => {
      if (stats.issues.length < MAX_KEPT_ISSUES) stats.issues.push(issue);
      const key = countKey(issue.reason);
      stats.issueCounts.set(key, (stats.issueCounts.get(key) ?? 0) + 1);
      stats.skipped += issue.skippedRecords ?? 0;
      userOnIssue?.(issue);
    },
  };
  const report = (issue: ReadIssue) => {
    readerOpts.onIssue!(issue);
    if (opts.strict) throw new InputError(issue);
  };
  const addBytes = (n: number) => {
    stats.bytes += n;
    opts.onBytes?.(n);
  };
  const countedBytes = (source: AsyncIterable<Uint8Array>, counter: ByteCounter = { bytes: 0 }) =>
    countBytes(source, counter, addBytes);

  /** Read one (decompressed) stream whose head is not yet known. */
  async function* readStream(
    name: string,
    source: AsyncIterable<Uint8Array>,
    depth: number,
    disk?: DiskFile,
  ): AsyncGenerator<WinEvent[]> {
    const { head, stream } = await peekStream(source, HEAD_BYTES);
    const compression = compressionOf(head);
    if (compression === "gzip") {
      if (depth >= MAX_ARCHIVE_DEPTH) {
        report({
          file: name,
          location: "offset 0",
          reason: "archive nested too deep (not read)",
          lost: "file",
        });
        return;
      }
      // Read up to the damage of a cut or damaged .gz, then say where the rest was lost.
      const onDamage = (reason: string, compressedBytes: number, inflatedBytes: number) =>
        report({
          file: name,
          location: `compressed offset ${compressedBytes} (after ${inflatedBytes} decompressed bytes)`,
          reason: `${reason} (read up to the damage)`,
          lost: "rest",
        });
      yield* readStream(name, gunzipGuarded(stream, maxRatio, onDamage), depth + 1);
      return;
    }
    if (compression === "zip") {
      if (depth >= MAX_ARCHIVE_DEPTH) {
        report({
          file: name,
          location: "offset 0",
          reason: "archive nested too deep (not read)",
          lost: "file",
        });
        return;
      }
      if (disk !== undefined) {
        for await (const _ of stream) break; // random access from the file instead
        yield* readZip(name, disk.path, depth + 1);
        addBytes(disk.size - disk.counter.bytes);
      } else {
        const spooled = await spoolToTempFile(stream, name);
        try {
          yield* readZip(name, spooled.path, depth + 1);
        } finally {
          await spooled.cleanup();
        }
      }
      return;
    }
    const format: DetectedFormat = detectFormat(head, name);
    if (format !== "unknown") stats.files++;
    yield* readDetected(name, format, stream, disk);
  }

  async function* readDetected(
    name: string,
    format: DetectedFormat,
    stream: AsyncIterable<Uint8Array>,
    disk?: DiskFile,
  ): AsyncGenerator<WinEvent[]> {
    const count = async function* (events: AsyncIterable<WinEvent>) {
      let n = 0;
      try {
        for await (const ev of events) {
          stats.records++;
          n++;
          yield [ev];
        }
      } finally {
        stats.recordsByFile.set(name, (stats.recordsByFile.get(name) ?? 0) + n);
      }
    };
    const countBatches = async function* (batches: AsyncIterable<WinEvent[]>) {
      let n = 0;
      try {
        for await (const batch of batches) {
          stats.records += batch.length;
          n += batch.length;
          if (opts.recover)
            for (const ev of batch) {
              const kind = ev.extra?._recovered;
              if (typeof kind === "string") stats.recovered.set(kind, (stats.recovered.get(kind) ?? 0) + 1);
            }
          yield batch;
        }
      } finally {
        stats.recordsByFile.set(name, (stats.recordsByFile.get(name) ?? 0) + n);
      }
    };
    switch (format) {
      case "evtx": {
        const evtx = await loadEvtx();
        if (disk !== undefined) {
          // random access and worker threads need the file itself
          for await (const _ of stream) break;
          yield* countBatches(evtx.readEvtxBatches(disk.path, { ...readerOpts, displayName: name }));
          addBytes(disk.size - disk.counter.bytes);
        } else {
          yield* countBatches(evtx.readEvtxBatches(stream, { ...readerOpts, displayName: name }));
        }
        return;
      }
      case "xml":
        yield* count(readXmlStream(utf8Stream(stream), name, readerOpts));
        return;
      case "json":
        yield* count(readJsonStream(utf8Stream(stream), name, readerOpts));
        return;
      case "csv":
        yield* count(readCsvStream(utf8Stream(stream), name, readerOpts));
        return;
      default:
        for await (const _ of stream) break;
        report({
          file: name,
          location: "offset 0",
          reason: "not a recognised log (EVTX, event XML, JSON or CSV)",
          lost: "file",
        });
    }
  }

  async function* readZip(name: string, zipPath: string, depth: number): AsyncGenerator<WinEvent[]> {
    const zip = await openZip(zipPath);
    try {
      for (const member of zip.members) {
        const memberName = `${name}!${member.name}`;
        if (member.unsafeName !== undefined) {
          report({
            file: memberName,
            location: "offset 0",
            reason: `unsafe member name (not read): ${member.unsafeName}`,
            lost: "file",
          });
          continue;
        }
        if (member.encrypted) {
          report({
            file: memberName,
            location: "offset 0",
            reason: "encrypted zip member (not read)",
            lost: "file",
          });
          continue;
        }
        const limit = Math.max(1 << 20, maxRatio * member.compressedSize);
        if (member.uncompressedSize > limit) {
          report({
            file: memberName,
            location: "offset 0",
            reason: `decompression ratio above ${maxRatio}x (declared ${member.uncompressedSize} bytes from ${member.compressedSize}): not read`,
            lost: "file",
          });
          continue;
        }
        const before = stats.records;
        try {
          const stream = limitInflated(await member.open(), member.compressedSize, maxRatio);
          yield* readStream(memberName, stream, depth);
        } catch (err) {
          if (isFatal(err)) throw err;
          // Records already read from the member: only the rest is lost.
          report(streamFailure(memberName, err, undefined, stats.records - before));
        }
      }
    } finally {
      zip.close();
    }
  }

  /**
   * A read that failed; `afterBytes` (or `afterRecords` > 0) when records were read before it: then only
   * the rest is lost, never "file skipped".
   */
  function streamFailure(file: string, err: unknown, afterBytes?: number, afterRecords = 0): ReadIssue {
    const lost = afterBytes === undefined && afterRecords === 0 ? "file" : "rest";
    if (err instanceof DecompressionLimitError) {
      return { file, location: `offset ${err.inflated}`, reason: err.message, lost };
    }
    const location =
      afterBytes !== undefined
        ? `within the first ${afterBytes} bytes read`
        : afterRecords > 0
          ? `after ${afterRecords} record(s)`
          : "offset 0";
    return { file, location, reason: `read failed: ${errorMessage(err)}`, lost };
  }

  async function* readFile(file: string): AsyncGenerator<WinEvent[]> {
    let size = -1;
    let regular = false;
    try {
      const st = await stat(file);
      size = st.size;
      regular = st.isFile();
    } catch (err) {
      report(cannotOpen(file, err));
      return;
    }
    opts.onFile?.(file, regular ? size : -1);
    const recordsBefore = stats.records;
    const counter: ByteCounter = { bytes: 0 };
    try {
      // Only a regular file may be reopened by path for random access (EVTX, zip). A pipe, FIFO,
      // process substitution (/dev/fd/N) or socket is read once, from the stream that was sniffed:
      // EVTX is then read as a stream and a zip spilled to a temporary file.
      const disk = regular ? { path: file, size, counter } : undefined;
      yield* readStream(file, countedBytes(openSource(file), counter), 0, disk);
    } catch (err) {
      if (isFatal(err)) throw err;
      // Records already read from the file: only the rest is lost.
      report(streamFailure(file, err, stats.records > recordsBefore ? counter.bytes : undefined));
    }
  }

  async function* walk(dir: string, seen: Set<string>): AsyncGenerator<WinEvent[]> {
    let entries: Dirent[];
    try {
      const real = await realpath(dir);
      if (seen.has(real)) return; // a symlink loop
      seen.add(real);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      report({
        file: dir,
        location: "directory",
        reason: `cannot read directory: ${errorMessage(err)}`,
        lost: "file",
      });
      return;
    }
    entries.sort((a, b) => compareNames(a.name, b.name));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        try {
          isDir = (await stat(full)).isDirectory();
        } catch (err) {
          report(cannotOpen(full, err));
          continue;
        }
      }
      if (isDir) yield* walk(full, seen);
      else if (entry.isFile() || entry.isSymbolicLink()) yield* readFile(full);
    }
  }

  // The layers above pass arrays (one per EVTX chunk, one per event of the text readers): one async
  // step per array through each layer, and the events are handed out here.
  async function* all(): AsyncGenerator<WinEvent[]> {
    for (const input of inputs) {
      if (input === "-") {
        opts.onFile?.("-", -1);
        const before = stats.records;
        try {
          yield* readStream("-", countedBytes(process.stdin as AsyncIterable<Uint8Array>), 0);
        } catch (err) {
          if (isFatal(err)) throw err;
          report(streamFailure("-", err, undefined, stats.records - before));
        }
        continue;
      }
      let isDir = false;
      try {
        isDir = (await stat(input)).isDirectory();
      } catch (err) {
        report(cannotOpen(input, err));
        continue;
      }
      if (isDir) yield* walk(input, new Set());
      else yield* readFile(input);
    }
  }
  for await (const batch of all()) for (const ev of batch) yield ev;
}
