/**
 * Where a command's output goes: `-o FILE` or standard output. A file is written to a temporary file in
 * the same folder and renamed over FILE only when the command finishes, so a failed run never leaves a
 * truncated result that looks complete. Every write failure (no such folder, permission denied, disk
 * full, a name that exists as a folder...) becomes one OutputError naming the path; the CLI prints it and
 * exits with EXIT_OUTPUT. A closed pipe on standard output (`| head`) is not an error: output stops quietly.
 */
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";

/** Exit code of a run whose output could not be written. */
export const EXIT_OUTPUT = 4;

const REASONS: Record<string, string> = {
  ENOENT: "no such folder",
  ENOTDIR: "a part of the path is not a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EEXIST: "it exists and is not a folder",
  EISDIR: "it is a folder",
  EROFS: "read-only file system",
  EFBIG: "file too large",
  EIO: "input/output error",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links",
  EINVAL: "invalid argument",
  ENXIO: "no such device",
};

/** Output could not be written: one message naming the path, no stack trace. */
export class OutputError extends Error {
  readonly target: string;
  readonly code: string | undefined;
  constructor(target: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason =
      typeof cause === "string"
        ? cause
        : code
          ? `${REASONS[code] ?? (cause as Error).message} (${code})`
          : String((cause as Error)?.message ?? cause);
    super(`cannot write ${target}: ${reason}`);
    this.name = "OutputError";
    this.target = target;
    this.code = code;
  }
}

/** Where output goes: `-o FILE` or stdout. */
export interface Output {
  /**
   * Queue text; returns a promise when the caller should wait (standard output is full), else undefined.
   * Throws OutputError when the output cannot be written.
   */
  write(text: string | Uint8Array): Promise<void> | undefined;
  /** Flush and, for a file, put it in place. Throws OutputError. */
  close(): Promise<void>;
  /** Give up: remove the temporary file (nothing is renamed). Safe to call more than once. */
  abort(): void;
  readonly isTTY: boolean;
  /** The file written, or undefined for standard output. */
  readonly path: string | undefined;
}

const FLUSH_AT = 1 << 16;
const open = new Set<Output>();

/** Remove the temporary files of every output still open (a command failed). */
export function abortOpenOutputs(): void {
  for (const o of [...open]) o.abort();
}

export function openOutput(file: string | undefined): Output {
  if (file === undefined || file === "-") return stdoutOutput();
  return fileOutput(file);
}

/** Resolves when standard output drains, fails or closes (never rejects: failures surface elsewhere). */
function stdoutSettled(): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      process.stdout.off("drain", done);
      process.stdout.off("error", done);
      process.stdout.off("close", done);
      resolve();
    };
    process.stdout.once("drain", done);
    process.stdout.once("error", done);
    process.stdout.once("close", done);
  });
}

function stdoutOutput(): Output {
  let closed = false;
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") closed = true;
    else failure ??= err;
  };
  process.stdout.on("error", onError);
  const check = () => {
    if (failure) throw new OutputError("standard output", failure);
  };
  let pending: (string | Uint8Array)[] = [];
  let size = 0;
  const flush = (): Promise<void> | undefined => {
    check();
    if (!pending.length) return undefined;
    const chunk =
      pending.length === 1
        ? pending[0]
        : typeof pending[0] === "string" && pending.every((p) => typeof p === "string")
          ? pending.join("")
          : Buffer.concat(pending.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    pending = [];
    size = 0;
    if (closed) return undefined;
    if (process.stdout.write(chunk)) return undefined;
    // Never rejects (a caller may not wait): a failure surfaces at the next write or at close.
    return stdoutSettled();
  };
  const output: Output = {
    write(text) {
      if (closed) return undefined;
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_AT) return flush();
      check();
      return undefined;
    },
    async close() {
      try {
        await flush();
        // Wait until what was handed to stdout has drained (or failed), then let a pending error event in.
        if (!closed && !failure && process.stdout.writableNeedDrain) {
          await stdoutSettled();
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
        check();
      } finally {
        process.stdout.off("error", onError);
        open.delete(output);
      }
    },
    abort() {
      pending = [];
      process.stdout.off("error", onError);
      open.delete(output);
    },
    isTTY: Boolean(process.stdout.isTTY),
    path: undefined,
  };
  open.add(output);
  return output;
}

/** Temporary name beside `file`: a rename within one folder is atomic. */
export function tempNameFor(file: string): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${rand}.tmp`);
}

interface Target {
  /** Where bytes go now. */
  writePath: string;
  /** Rename to the final path at the end (false: a device, FIFO... written in place). */
  rename: boolean;
  mode: number | undefined;
}

function targetOf(file: string): Target {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw new OutputError(file, err);
  }
  if (st?.isDirectory()) throw new OutputError(file, { code: "EISDIR" });
  // A device (/dev/null, /dev/stdout), FIFO or socket is written in place: it cannot be renamed over.
  if (st && !st.isFile()) return { writePath: file, rename: false, mode: undefined };
  return { writePath: tempNameFor(file), rename: true, mode: st ? Number(st.mode) & 0o7777 : undefined };
}

function fileOutput(file: string): Output {
  const target = targetOf(file);
  let fd: number;
  try {
    fd = openSync(target.writePath, target.rename ? "wx" : "w", 0o666);
  } catch (err) {
    throw new OutputError(file, err);
  }
  let done = false;
  let pending: (string | Uint8Array)[] = [];
  let size = 0;
  const fail = (err: unknown): never => {
    output.abort();
    throw err instanceof OutputError ? err : new OutputError(file, err);
  };
  const flush = () => {
    if (!pending.length) return;
    const strings = pending.every((p) => typeof p === "string");
    const buf = strings
      ? Buffer.from((pending as string[]).join(""))
      : Buffer.concat(pending.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    pending = [];
    size = 0;
    try {
      let off = 0;
      while (off < buf.length) {
        const n = writeSync(fd, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
        off += n;
      }
    } catch (err) {
      fail(err);
    }
  };
  const output: Output = {
    write(text) {
      if (done) return undefined;
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_AT) flush();
      return undefined;
    },
    async close() {
      if (done) return;
      flush();
      try {
        if (target.rename) fsyncSync(fd);
        closeSync(fd);
        done = true;
        if (target.rename) {
          if (target.mode !== undefined) chmodSync(target.writePath, target.mode);
          renameSync(target.writePath, file);
        }
      } catch (err) {
        fail(err);
      } finally {
        open.delete(output);
      }
    },
    abort() {
      open.delete(output);
      if (!done) {
        done = true;
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
      if (target.rename) {
        try {
          unlinkSync(target.writePath);
        } catch {
          // gone already (renamed or never made)
        }
      }
    },
    isTTY: false,
    path: file,
  };
  open.add(output);
  return output;
}

/** Write a whole small file (manifest, one exported rule) the same way: temporary file, then rename. */
export async function writeWholeFile(file: string, content: string | Uint8Array): Promise<void> {
  const out = openOutput(file);
  out.write(content);
  await out.close();
}

/**
 * Produce a file with a writer that needs a path of its own (the EVTX writer seeks back to write the
 * header): it writes a temporary file beside `file`, which is renamed at the end.
 */
export async function writeFileVia(
  file: string,
  produce: (tempPath: string) => Promise<void>,
): Promise<void> {
  const target = targetOf(file);
  // Create it first so a bad folder fails here, with the user's path in the message.
  try {
    closeSync(openSync(target.writePath, target.rename ? "wx" : "w", 0o666));
  } catch (err) {
    throw new OutputError(file, err);
  }
  try {
    await produce(target.writePath);
    if (target.rename) {
      if (target.mode !== undefined) chmodSync(target.writePath, target.mode);
      renameSync(target.writePath, file);
    }
  } catch (err) {
    if (target.rename) {
      try {
        unlinkSync(target.writePath);
      } catch {
        // never made
      }
    }
    throw err instanceof OutputError ? err : new OutputError(file, err);
  }
}

/**
 * Make a folder and its missing parents, one level at a time (a recursive mkdir on /proc never returns),
 * with an OutputError naming the folder when it cannot be made.
 */
export function makeFolder(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw new OutputError(dir, err);
    }
    if (st) {
      if (!st.isDirectory())
        throw new OutputError(dir, cur === abs ? { code: "EEXIST" } : { code: "ENOTDIR" });
      break;
    }
    missing.push(cur);
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && statSync(d).isDirectory()) continue;
      throw new OutputError(dir, err);
    }
  }
}
