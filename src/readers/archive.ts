/**
 * Transparent `.gz` and `.zip` (triage archives) with guards against decompression bombs:
 * a member (or gzip stream) that inflates past `maxRatio` x its compressed size (and past a small
 * floor, so tiny files are never flagged) is stopped and reported.
 */

import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import yauzl from "yauzl";

/** Default: stop a member past 200x its compressed size. */
export const DEFAULT_MAX_RATIO = 200;
/** Below this many decompressed bytes the ratio is not checked (small files compress very well). */
export const RATIO_FLOOR_BYTES = 1 << 20;

export class DecompressionLimitError extends Error {
  constructor(
    readonly inflated: number,
    readonly compressed: number,
    readonly maxRatio: number,
  ) {
    super(`decompression ratio above ${maxRatio}x (${inflated} bytes from ${compressed}): stopped`);
    this.name = "DecompressionLimitError";
  }
}

/** Bytes seen so far, shared between a counting wrapper and the inflater's guard. */
export interface ByteCounter {
  bytes: number;
}

export async function* countBytes(
  source: AsyncIterable<Uint8Array>,
  counter: ByteCounter,
  onBytes?: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    counter.bytes += chunk.length;
    onBytes?.(chunk.length);
    yield chunk;
  }
}

/**
 * Inflate a gzip stream (concatenated members included, as gzip does). Throws
 * DecompressionLimitError when the output passes maxRatio x the compressed bytes read so far.
 */
export async function* gunzipGuarded(
  compressed: AsyncIterable<Uint8Array>,
  maxRatio = DEFAULT_MAX_RATIO,
  /**
   * A gzip stream cut short or damaged: what inflated before the damage has been yielded; this is told
   * where (compressed bytes read) and the stream ends there instead of throwing.
   */
  onDamage?: (reason: string, compressedBytes: number, inflatedBytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const counter: ByteCounter = { bytes: 0 };
  const gunzip = createGunzip();
  const input = Readable.from(countBytes(compressed, counter));
  input.on("error", (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  let out = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      out += chunk.length;
      if (out > RATIO_FLOOR_BYTES && out > maxRatio * Math.max(counter.bytes, 1)) {
        throw new DecompressionLimitError(out, counter.bytes, maxRatio);
      }
      yield chunk;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (!onDamage || !code.startsWith("Z_")) throw err;
    onDamage(
      code === "Z_BUF_ERROR" ? "gzip data cut short" : `damaged gzip data: ${(err as Error).message}`,
      counter.bytes,
      out,
    );
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/** Guard a stream whose compressed size is known up front (a zip member). */
export async function* limitInflated(
  source: AsyncIterable<Uint8Array>,
  compressedSize: number,
  maxRatio = DEFAULT_MAX_RATIO,
): AsyncGenerator<Uint8Array> {
  const limit = Math.max(RATIO_FLOOR_BYTES, maxRatio * compressedSize);
  let out = 0;
  for await (const chunk of source) {
    out += chunk.length;
    if (out > limit) throw new DecompressionLimitError(out, compressedSize, maxRatio);
    yield chunk;
  }
}

export interface ZipMember {
  /** Path inside the archive, "/"-separated. */
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  encrypted: boolean;
  /** Why the member's name is unsafe (absolute, `..`, backslashes): such a member is skipped alone. */
  unsafeName?: string;
  /** Open the member's (inflated) bytes. */
  open(): Promise<AsyncIterable<Uint8Array>>;
}

export interface OpenedZip {
  /** Members in a stable order (sorted by path), directories left out. */
  members: ZipMember[];
  close(): void;
}

/** Read a zip's central directory (random access: the zip must be a file on disk). */
export function openZip(zipPath: string): Promise<OpenedZip> {
  return new Promise((resolve, reject) => {
    // Names are decoded and checked here, member by member: yauzl's own check would stop the whole zip
    // at the first unsafe name.
    const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: false };
    yauzl.open(zipPath, options, (err, zip) => {
      if (err || !zip) {
        reject(err ?? new Error("cannot open zip"));
        return;
      }
      const members: ZipMember[] = [];
      zip.on("error", (e) => {
        zip.close();
        reject(e);
      });
      zip.on("entry", (entry: yauzl.Entry) => {
        const raw = entry.fileName as unknown as Buffer;
        const fileName = yauzl.getFileNameLowLevel(
          entry.generalPurposeBitFlag,
          raw,
          entry.extraFields,
          false,
        );
        const unsafe = yauzl.validateFileName(fileName);
        if (!fileName.endsWith("/")) {
          members.push({
            name: fileName,
            ...(unsafe !== null ? { unsafeName: unsafe } : {}),
            compressedSize: entry.compressedSize,
            uncompressedSize: entry.uncompressedSize,
            encrypted: entry.isEncrypted(),
            open: () =>
              new Promise((res, rej) => {
                zip.openReadStream(entry, (e, stream) => {
                  if (e || !stream) rej(e ?? new Error("cannot open zip member"));
                  else res(stream as AsyncIterable<Uint8Array>);
                });
              }),
          });
        }
        zip.readEntry();
      });
      zip.on("end", () => {
        members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        resolve({ members, close: () => zip.close() });
      });
      zip.readEntry();
    });
  });
}

/**
 * Write a stream to a temporary file (a zip read from stdin or nested in another archive needs
 * random access). The caller must call `cleanup()`.
 */
export async function spoolToTempFile(
  source: AsyncIterable<Uint8Array>,
  name: string,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "dcomhunt-"));
  const file = path.join(dir, path.basename(name).replace(/[^\w.-]/g, "_") || "input.zip");
  try {
    await pipeline(Readable.from(source), createWriteStream(file));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { path: file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
