/**
 * An append-only NDJSON file with group commit: lines handed to `append` are written together and
 * made durable with one fdatasync; the promise resolves only after that. A line cut by a crash (the
 * last line without its newline) is dropped when the file is opened again, so a record is either
 * whole or absent.
 */
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, write } from "node:fs";

interface Pending {
  text: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class AppendLog {
  private readonly fd: number;
  private pending: Pending[] = [];
  private writing = false;
  private closed = false;
  /** Bytes in the file (after recovery and every durable append). */
  size: number;
  /** Bytes of a torn last line dropped at open. */
  readonly tornBytes: number;

  constructor(readonly file: string) {
    this.fd = openSync(file, "a+");
    const size = fstatSync(this.fd).size;
    this.tornBytes = 0;
    if (size > 0) {
      // Find the last newline: anything after it is a record the crash cut short.
      const buf = Buffer.alloc(Math.min(size, 1 << 16));
      let end = size;
      let keep = -1;
      while (end > 0 && keep < 0) {
        const start = Math.max(0, end - buf.length);
        const n = readSync(this.fd, buf, 0, end - start, start);
        const i = buf.subarray(0, n).lastIndexOf(0x0a);
        if (i >= 0) keep = start + i + 1;
        end = start;
      }
      if (keep < 0) keep = 0;
      if (keep < size) {
        ftruncateSync(this.fd, keep);
        this.tornBytes = size - keep;
      }
      this.size = keep;
    } else this.size = 0;
  }

  /** Append whole lines (each without its newline); resolves once they are on disk. */
  append(lines: string[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.file}: log is closed`));
    if (lines.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ text: `${lines.join("\n")}\n`, resolve, reject });
      if (!this.writing) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) {
      this.writing = false;
      return;
    }
    this.writing = true;
    const buf = Buffer.from(batch.map((p) => p.text).join(""));
    const done = (err: Error | null) => {
      if (err) for (const p of batch) p.reject(err);
      else {
        this.size += buf.length;
        for (const p of batch) p.resolve();
      }
      this.flush();
    };
    let off = 0;
    const writeRest = () => {
      write(this.fd, buf, off, buf.length - off, null, (err, n) => {
        if (err) return done(err);
        off += n;
        if (off < buf.length) return writeRest();
        fdatasync(this.fd, (e) => done(e));
      });
    };
    writeRest();
  }

  /** Wait for what is queued, then close. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.pending.length > 0) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    closeSync(this.fd);
  }
}
