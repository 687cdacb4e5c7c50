/**
 * Byte-stream plumbing shared by the text readers: opening a source, peeking at its head,
 * reporting issues (with strict mode), and the shared option defaults.
 */

import { createReadStream } from "node:fs";
import { InputError, type ReadIssue, type ReadOptions } from "../events/model.js";

/** Default cap for one record / line / element (hostile input guard). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** What every text reader accepts as input. */
export type ByteSource = string | AsyncIterable<Uint8Array>;

/** Options of the per-format readers (`readXml`, `readJson`, `readCsv`). */
export type TextReadOptions = ReadOptions & {
  /** Name used in provenance and issues (default: the path, or "<stream>"). */
  displayName?: string;
};

/** Open a path (or pass an iterable through) as a stream of byte chunks. "-" is stdin. */
export function openSource(source: ByteSource, highWaterMark = 1 << 20): AsyncIterable<Uint8Array> {
  if (typeof source !== "string") return source;
  if (source === "-") return process.stdin as AsyncIterable<Uint8Array>;
  return createReadStream(source, { highWaterMark }) as AsyncIterable<Uint8Array>;
}

export function sourceName(source: ByteSource, displayName: string | undefined): string {
  if (displayName !== undefined) return displayName;
  return typeof source === "string" ? source : "<stream>";
}

/**
 * Report an issue to `opts.onIssue`; in strict mode a finding is fatal (throws InputError after
 * reporting it). Never throws otherwise, even if the callback is missing.
 */
export function reportIssue(opts: ReadOptions | undefined, issue: ReadIssue): void {
  opts?.onIssue?.(issue);
  if (opts?.strict) throw new InputError(issue);
}

/** Throw an AbortError when the signal is aborted (checked between records). */
export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const err = new Error("read aborted");
    err.name = "AbortError";
    throw err;
  }
}

/** The first `n` bytes (or fewer at EOF) of a stream, and a stream that replays them then the rest. */
export interface Peeked {
  head: Uint8Array;
  stream: AsyncIterable<Uint8Array>;
}

export async function peekStream(source: AsyncIterable<Uint8Array>, n: number): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = r.value instanceof Uint8Array ? r.value : Buffer.from(r.value as string);
    chunks.push(chunk);
    have += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Uint8Array> {
    let finished = done;
    try {
      for (const c of chunks) yield c;
      if (done) return;
      while (true) {
        const r = await it.next();
        if (r.done) {
          finished = true;
          return;
        }
        yield r.value;
      }
    } finally {
      // stopped early by the consumer: release the underlying stream (file handle)
      if (!finished) await it.return?.();
    }
  }
  return { head: head.subarray(0, Math.min(n, head.length)), stream: replay() };
}

/** Text encoding of a byte stream, from its byte order mark (UTF-8 when none). */
export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be";

export function encodingFromBom(head: Uint8Array): { encoding: TextEncoding; bomLength: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: "utf-8", bomLength: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf-16le", bomLength: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf-16be", bomLength: 2 };
  // UTF-16 without BOM: "<\0" or "{\0" (what PowerShell and some tools write).
  if (head.length >= 4 && head[1] === 0 && head[3] === 0 && head[0] !== 0)
    return { encoding: "utf-16le", bomLength: 0 };
  if (head.length >= 4 && head[0] === 0 && head[2] === 0 && head[1] !== 0)
    return { encoding: "utf-16be", bomLength: 0 };
  return { encoding: "utf-8", bomLength: 0 };
}

/**
 * Normalise a stream to UTF-8 bytes, dropping a BOM. UTF-16 input is transcoded chunk by chunk
 * (byte offsets reported for such files are then offsets in the UTF-8 transcoding).
 */
export async function* utf8Stream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const { head, stream } = await peekStream(source, 4);
  const { encoding, bomLength } = encodingFromBom(head);
  let skip = bomLength;
  if (encoding === "utf-8") {
    for await (const chunk of stream) {
      if (skip > 0) {
        const drop = Math.min(skip, chunk.length);
        skip -= drop;
        if (drop === chunk.length) continue;
        yield chunk.subarray(drop);
      } else {
        yield chunk;
      }
    }
    return;
  }
  const decoder = new TextDecoder(encoding);
  const encoder = new TextEncoder();
  for await (const raw of stream) {
    let chunk = raw;
    if (skip > 0) {
      const drop = Math.min(skip, chunk.length);
      skip -= drop;
      chunk = chunk.subarray(drop);
    }
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield encoder.encode(text);
  }
  const tail = decoder.decode();
  if (tail.length > 0) yield encoder.encode(tail);
}

/** Count "\n" bytes in buf[start, end). */
export function countNewlines(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let i = start;
  const b = buf as Buffer;
  if (typeof b.indexOf === "function") {
    while (true) {
      const j = b.indexOf(10, i);
      if (j < 0 || j >= end) return n;
      n++;
      i = j + 1;
    }
  }
  for (; i < end; i++) if (buf[i] === 10) n++;
  return n;
}

/** One line of a byte stream (without its terminator), with its 1-based number and byte offset. */
export interface RawLine {
  bytes: Uint8Array;
  line: number;
  offset: number;
  /** Set when the line was longer than the cap: `bytes` is then empty and the line was skipped. */
  overLong?: number;
}

/**
 * Split a UTF-8 byte stream into lines ("\n", a trailing "\r" removed) with bounded memory: a line
 * longer than `maxLineBytes` is skipped (reported through `overLong`) without being buffered.
 */
export async function* splitLines(
  source: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<RawLine> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let overLong = 0; // bytes of the current over-long line seen so far (0 = not over-long)
  let line = 1;
  let offset = 0; // offset of the current line's first byte
  let pos = 0; // absolute offset of the current chunk's first byte
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (overLong > 0) {
        overLong += piece.length;
      } else if (pendingLen + piece.length > maxLineBytes) {
        overLong = pendingLen + piece.length;
        pending = [];
        pendingLen = 0;
      } else if (piece.length > 0) {
        pending.push(piece);
        pendingLen += piece.length;
      }
      if (nl < 0) break;
      if (overLong > 0) {
        yield { bytes: new Uint8Array(0), line, offset, overLong };
      } else {
        let bytes: Uint8Array = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingLen);
        if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
        yield { bytes, line, offset };
      }
      pending = [];
      pendingLen = 0;
      overLong = 0;
      line++;
      offset = pos + nl + 1;
      start = nl + 1;
    }
    pos += chunk.length;
  }
  if (overLong > 0) {
    yield { bytes: new Uint8Array(0), line, offset, overLong };
  } else if (pendingLen > 0) {
    let bytes: Uint8Array = Buffer.concat(pending, pendingLen);
    if (bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
    yield { bytes, line, offset };
  }
}
