/**
 * The ingest journal: every accepted event that a selected rule can use is appended here (and
 * fdatasync'ed, group commit) before HEC reports it accepted. After a crash, `serve` replays the
 * retained segments through the rules: correlation state is rebuilt and alerts regenerated (the store
 * drops the ones it holds), so an event acknowledged to a client is never lost.
 *
 * Segments `journal/NNNNNNNNNNNN.ndjson` (named by their first sequence number) roll over at a size;
 * a segment is deleted once all its events are processed and its newest event is older than the
 * stream time minus the look-back (the longest span any rule can still join over).
 * Line: `{"q":seq,"t":epochSeconds|null,"s":source,"e":event}`. `marks.log` records where the rules
 * were cut (idle flush, window run) as `flush SEQ` / `window SEQ`, so a replay cuts at the same places.
 */
import { createReadStream, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { AppendLog } from "../alerts/log.js";
import type { HecEnvelope } from "./payload.js";

/** A point in the stream where the rules were cut (an idle flush, a window run): after event `seq`. */
export interface JournalMark {
  kind: "flush" | "window";
  seq: number;
}

export interface JournalEntry {
  seq: number;
  time: number | undefined;
  envelope: HecEnvelope;
}

interface Segment {
  file: string;
  firstSeq: number;
  lastSeq: number;
  maxTime: number;
}

export class Journal {
  private readonly dir: string;
  private segments: Segment[] = [];
  private log: AppendLog | undefined;
  private nextSeq = 0;
  private marks: AppendLog | undefined;

  constructor(
    dataDir: string,
    private readonly segmentBytes = 64 << 20,
  ) {
    this.dir = path.join(dataDir, "journal");
    mkdirSync(this.dir, { recursive: true });
  }

  /** The marks written so far, by event sequence number (recovery). */
  async readMarks(): Promise<Map<number, JournalMark["kind"][]>> {
    const file = path.join(this.dir, "marks.log");
    this.marks = new AppendLog(file);
    const out = new Map<number, JournalMark["kind"][]>();
    const lines = createInterface({ input: createReadStream(file) });
    for await (const line of lines) {
      const [kind, seq] = line.split(" ");
      if ((kind !== "flush" && kind !== "window") || !/^\d+$/.test(seq ?? "")) continue;
      const list = out.get(Number(seq)) ?? [];
      list.push(kind);
      out.set(Number(seq), list);
    }
    return out;
  }

  /** Record durably that the rules were cut after event `seq`. */
  async mark(m: JournalMark): Promise<void> {
    this.marks ??= new AppendLog(path.join(this.dir, "marks.log"));
    await this.marks.append([`${m.kind} ${m.seq}`]);
  }

  /** Read every retained entry (recovery); afterwards appends continue the sequence. */
  async *recover(): AsyncGenerator<JournalEntry> {
    const files = readdirSync(this.dir)
      .filter((f) => /^\d{12}\.ndjson$/.test(f))
      .sort();
    for (const f of files) {
      const file = path.join(this.dir, f);
      // Opening through AppendLog drops a torn last line first.
      await new AppendLog(file).close();
      const seg: Segment = { file, firstSeq: Number(f.slice(0, 12)), lastSeq: -1, maxTime: -Infinity };
      const lines = createInterface({ input: createReadStream(file) });
      for await (const line of lines) {
        if (line === "") continue;
        let rec: { q: number; t: number | null; s?: string; e: unknown };
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        seg.lastSeq = rec.q;
        if (rec.t !== null && rec.t > seg.maxTime) seg.maxTime = rec.t;
        this.nextSeq = Math.max(this.nextSeq, rec.q + 1);
        yield {
          seq: rec.q,
          time: rec.t ?? undefined,
          envelope: rec.s === undefined ? { event: rec.e } : { event: rec.e, source: rec.s },
        };
      }
      this.segments.push(seg);
    }
  }

  /** Append entries durably; resolves with their sequence numbers (first, last). */
  async append(entries: { time: number | undefined; envelope: HecEnvelope }[]): Promise<[number, number]> {
    const first = this.nextSeq;
    if (entries.length === 0) return [first, first - 1];
    let seg = this.segments.at(-1);
    if (!this.log || !seg || this.log.size >= this.segmentBytes) {
      await this.log?.close();
      const file = path.join(this.dir, `${String(first).padStart(12, "0")}.ndjson`);
      this.log = new AppendLog(file);
      seg = { file, firstSeq: first, lastSeq: first - 1, maxTime: -Infinity };
      this.segments.push(seg);
    }
    const lines: string[] = [];
    for (const en of entries) {
      const seq = this.nextSeq++;
      if (en.time !== undefined && en.time > seg.maxTime) seg.maxTime = en.time;
      lines.push(JSON.stringify({ q: seq, t: en.time ?? null, s: en.envelope.source, e: en.envelope.event }));
    }
    seg.lastSeq = this.nextSeq - 1;
    await this.log.append(lines);
    return [first, this.nextSeq - 1];
  }

  /** Drop segments fully processed (through `processedSeq`) and older than `keepAfterTime`. */
  prune(processedSeq: number, keepAfterTime: number): number {
    let dropped = 0;
    while (this.segments.length > 1) {
      const seg = this.segments[0];
      if (seg.lastSeq > processedSeq || seg.maxTime >= keepAfterTime) break;
      rmSync(seg.file, { force: true });
      this.segments.shift();
      dropped++;
    }
    return dropped;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  async close(): Promise<void> {
    await this.log?.close();
    await this.marks?.close();
  }
}
