/**
 * The rules over a live stream (the in-process engine, fed event by event):
 * - a search rule whose pipeline only filters, computes and orders (search, where, eval, table, sort ...)
 *   runs per event, as soon as the event arrives: its result rows are the ones a file scan finds;
 * - a search rule with a pipeline that needs many events (stats, dedup, head, transaction ...) runs
 *   like a Splunk scheduled search: over the events of each interval (`windowSeconds` of arrival time);
 * - sequence rules run on the correlation engine (src/correlate) behind a reorder buffer: events are
 *   released in time order once the newest event seen is `reorderWindowSeconds` later (bounded by
 *   `maxBuffered`); alerts of several rules sharing evidence are merged as in a scan.
 * `idle()` closes what is open (as a scan's end of input does) when the stream has been quiet.
 * The caller decides when windows run and when idle() happens, and journals those points, so a
 * replay after a crash cuts the stream at the same places and finds the same alerts.
 * Duplicate events (same Computer, Channel, EventRecordID, time) are dropped within a bounded memory.
 */
import { type Alert, alertToJson, createAlertMerger, parseDuration, TimeHeap } from "../correlate/index.js";
import type { TimedEvent } from "../correlate/merge.js";
import { type FieldViewOptions, type SplunkEvent, toSplunkEvent } from "../events/fields.js";
import type { WinEvent } from "../events/model.js";
import { flattenRow } from "../report/results.js";
import type { CompiledRule } from "../rules/run.js";

/** Commands after which every result row still stands for one event, independent of the others. */
const PER_EVENT = new Set([
  "search",
  "where",
  "regex",
  "eval",
  "table",
  "fields",
  "rename",
  "rex",
  "fillnull",
  "lookup",
  "mvexpand",
  "sort",
  "bin",
  "bucket",
]);

export interface DetectorOptions {
  fieldView: FieldViewOptions;
  reorderWindowSeconds: number;
  windowSeconds: number;
  /** Most events held in the reorder buffer (beyond it the oldest is released early). */
  maxBuffered?: number;
  /** Distinct events remembered for duplicate detection. */
  dedupCapacity?: number;
}

type SearchRule = Extract<CompiledRule, { kind: "search" }>;
type SequenceRule = Extract<CompiledRule, { kind: "sequence" }>;

export interface DetectorStats {
  events: number;
  duplicates: number;
  buffered: number;
  partials: number;
  evicted: number;
}

export class LiveDetector {
  private readonly perEvent: SearchRule[] = [];
  private readonly windowed: { c: SearchRule; events: SplunkEvent[] }[] = [];
  private readonly sequences: SequenceRule[];
  private readonly merger;
  private readonly heap = new TimeHeap();
  private readonly seen = new Set<number>();
  private heapSeq = 0;
  private sinceIdle = 0;
  private maxTime = Number.NEGATIVE_INFINITY;
  private streamTime = Number.NEGATIVE_INFINITY;
  private windowStart = Date.now();
  private readonly out: Record<string, unknown>[] = [];
  /** Longest span over which a rule can still join events (for journal retention). */
  readonly lookbackSeconds: number;
  stats: DetectorStats = { events: 0, duplicates: 0, buffered: 0, partials: 0, evicted: 0 };

  constructor(
    compiled: CompiledRule[],
    private readonly opts: DetectorOptions,
  ) {
    for (const c of compiled) {
      if (c.kind !== "search") continue;
      if (c.search.pipeline.commands.every((cmd) => PER_EVENT.has(cmd.name))) this.perEvent.push(c);
      else this.windowed.push({ c, events: [] });
    }
    this.sequences = compiled.filter((c): c is SequenceRule => c.kind === "sequence");
    this.merger = createAlertMerger(
      this.sequences.map((c) => ({
        id: c.rule.id,
        name: c.rule.name,
        severity: c.rule.severity,
        sequence: c.spec,
      })),
    );
    const maxspan = Math.max(0, ...this.sequences.map((c) => parseDuration(c.spec.maxspan)));
    this.lookbackSeconds = opts.reorderWindowSeconds + 2 * maxspan + 60;
  }

  private isDuplicate(ev: WinEvent, time: number | undefined): boolean {
    const s = ev.system;
    if (s.eventRecordID === undefined || time === undefined) return false;
    // A 53-bit hash of (Computer, Channel, EventRecordID, time in ms) instead of the text: 200,000 numbers
    // take about a fifth of the memory of as many keys (the chance that two of them collide and an event
    // is taken for a duplicate is below 1 in 10^10 per event).
    const key = hash53(
      `${(s.computer ?? "").toLowerCase()}\u0000${(s.channel ?? "").toLowerCase()}\u0000${s.eventRecordID}\u0000${Math.round(time * 1000)}`,
    );
    if (this.seen.has(key)) {
      this.stats.duplicates++;
      return true;
    }
    this.seen.add(key);
    if (this.seen.size > (this.opts.dedupCapacity ?? 200000)) {
      const oldest = this.seen.values().next().value as number;
      this.seen.delete(oldest);
    }
    return false;
  }

  /** Run the rules over one event; results (rows, alerts) that became final are returned by take(). */
  async push(ev: WinEvent): Promise<void> {
    const se = toSplunkEvent(ev, this.opts.fieldView);
    if (this.isDuplicate(ev, se.time)) return;
    this.stats.events++;
    this.sinceIdle++;
    for (const c of this.perEvent) {
      if (c.search.pushdown && !c.search.pushdown(ev.system, ev.timeTicks)) continue;
      await this.runSearch(c, [se]);
    }
    for (const w of this.windowed) {
      if (w.c.search.pushdown && !w.c.search.pushdown(ev.system, ev.timeTicks)) continue;
      w.events.push(se);
    }
    if (this.sequences.length === 0) return;
    if (se.time === undefined) {
      this.correlate(se);
      return;
    }
    if (se.time > this.maxTime) this.maxTime = se.time;
    this.heap.push({ time: se.time, seq: this.heapSeq++, ev: se });
    const limit = this.opts.maxBuffered ?? 100000;
    while (
      this.heap.size > 0 &&
      ((this.heap.peek()?.time ?? Number.POSITIVE_INFINITY) <=
        this.maxTime - this.opts.reorderWindowSeconds ||
        this.heap.size > limit)
    ) {
      this.correlate((this.heap.pop() as TimedEvent).ev);
    }
    this.stats.buffered = this.heap.size;
  }

  private correlate(se: SplunkEvent): void {
    for (const c of this.sequences) this.merger.add(c.engine.push(se));
    if (se.time !== undefined && se.time > this.streamTime) this.streamTime = se.time;
    this.emitAlerts(this.merger.release(this.streamTime));
  }

  private emitAlerts(alerts: Alert[]): void {
    for (const a of alerts) this.out.push(alertToJson(a));
  }

  private async runSearch(c: SearchRule, events: SplunkEvent[]): Promise<void> {
    for await (const row of c.search.run(fromArray(events))) {
      this.out.push(
        flattenRow(c.rule, row, c.search.columns(), this.opts.fieldView.tz, row.event === undefined),
      );
    }
  }

  /** Some rule runs over windows of events (its state is the window's events). */
  get hasWindowed(): boolean {
    return this.windowed.length > 0;
  }

  /** A windowed search's interval has passed (and it holds events). */
  windowDue(nowMs = Date.now()): boolean {
    return (
      nowMs - this.windowStart >= this.opts.windowSeconds * 1000 &&
      this.windowed.some((w) => w.events.length > 0)
    );
  }

  /** Run the windowed searches over the events of their interval. */
  async runWindows(): Promise<void> {
    this.windowStart = Date.now();
    for (const w of this.windowed) {
      const events = w.events.splice(0);
      if (events.length > 0) await this.runSearch(w.c, events);
    }
  }

  /** The stream went quiet: release the reorder buffer, close every open incident, run the windows. */
  async idle(): Promise<void> {
    while (this.heap.size > 0) this.correlate((this.heap.pop() as TimedEvent).ev);
    this.stats.buffered = 0;
    for (const c of this.sequences) this.merger.add(c.engine.flush());
    this.emitAlerts(this.merger.flush());
    await this.runWindows();
    this.sinceIdle = 0;
  }

  /** Results final since the last call. */
  take(): Record<string, unknown>[] {
    this.refreshStats();
    return this.out.splice(0);
  }

  /** Event time of the newest event handed to correlation (for journal retention). */
  get time(): number {
    return Math.max(this.streamTime, this.maxTime);
  }

  /** Events arrived since the last idle(): something may be held that idle() would release. */
  get pending(): boolean {
    return this.sinceIdle > 0;
  }

  private refreshStats(): void {
    let partials = 0;
    let evicted = 0;
    for (const c of this.sequences) {
      const s = c.engine.stats();
      partials += s.partials;
      evicted += s.evicted;
    }
    this.stats.partials = partials;
    this.stats.evicted = evicted;
  }
}

async function* fromArray(events: SplunkEvent[]): AsyncGenerator<SplunkEvent> {
  yield* events;
}

/** cyrb53: a fast 53-bit string hash. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
