/**
 * The live path of `serve` behind the HEC server: accepted events are journaled (durable), queued,
 * run through the rules (LiveDetector), and their alerts stored (durable, deduplicated by id) and sent
 * to the outputs. A batch is "processed" (its HEC ack turns true) once every alert its events made
 * final is durable; what a crash leaves half-done is redone from the journal at the next start.
 */
import type { AlertOutput } from "../alerts/outputs.js";
import { AlertStore } from "../alerts/store.js";
import type { SystemPredicate, WinEvent } from "../events/model.js";
import { type CompiledRule, combinedPushdown, type RunOptions } from "../rules/run.js";
import { type DetectorOptions, LiveDetector } from "./detector.js";
import { Journal } from "./journal.js";
import type { Metrics } from "./metrics.js";
import { type DecodedEvent, decodePayload, HecError } from "./payload.js";

export interface PipelineOptions extends DetectorOptions {
  dataDir: string;
  compiled: CompiledRule[];
  runOptions: RunOptions;
  metrics: Metrics;
  outputs: AlertOutput[];
  /** Most events accepted but not yet processed; beyond it HEC answers 503 code 9. */
  maxQueuedEvents: number;
  /** Keep every journal segment (audit, tests) instead of dropping the ones no rule needs. */
  keepJournal?: boolean;
  /** Quiet time after which open incidents are closed (ms; 0 = only on flushNow()). */
  idleFlushMs: number;
}

export interface Accepted {
  /** Resolves once the batch's events went through every rule and their alerts are durable. */
  processed: Promise<void>;
}

interface Item {
  events: (WinEvent | undefined)[];
  lastSeq: number;
  arrivedMs: number;
  done: () => void;
}

/**
 * What the HEC server feeds: the one-process pipeline (journal + rules) or, with `--cluster`, the
 * JetStream publisher of an ingest node. `store` backs GET /alerts.
 */
export interface IngestSink {
  readonly filter: SystemPredicate | undefined;
  readonly full: boolean;
  readonly store: AlertStore;
  accept(batch: DecodedEvent[], arrivedMs?: number): Promise<Accepted>;
}

export class LivePipeline implements IngestSink {
  readonly filter: SystemPredicate | undefined;
  private readonly queue: Item[] = [];
  private queuedEvents = 0;
  private reserved = 0;
  private wake: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastActivityMs = Date.now();
  private tail: Promise<void> = Promise.resolve();
  private processedSeq = -1;
  /** Last journal sequence number handed to the rules (processedSeq: and its alerts durable). */
  private processedSeqQueued = -1;
  private readonly detector: LiveDetector;
  private failure: Error | undefined;
  private readonly flushRequests: (() => void)[] = [];
  private paused = false;

  private constructor(
    private readonly opts: PipelineOptions,
    readonly store: AlertStore,
    private readonly journal: Journal,
  ) {
    this.filter = combinedPushdown(opts.compiled, opts.runOptions);
    this.detector = new LiveDetector(opts.compiled, opts);
    const m = opts.metrics;
    m.counter("dcomhunt_events_processed_total", "Events run through the rules");
    m.counter(
      "dcomhunt_events_filtered_total",
      "Events accepted that no selected rule can use (not journaled)",
    );
    m.counter("dcomhunt_alerts_total", "Alerts and result rows stored");
    m.counter("dcomhunt_alert_duplicates_total", "Alerts dropped as already stored (same id)");
    m.counter("dcomhunt_events_replayed_total", "Journal events run again at start-up");
    m.gauge("dcomhunt_queue_events", "Events accepted and not yet processed", () => this.queuedEvents);
    m.gauge("dcomhunt_queue_capacity_events", "Queue capacity in events", () => opts.maxQueuedEvents);
    m.gauge(
      "dcomhunt_reorder_buffer_events",
      "Events held for time ordering",
      () => this.detector.stats.buffered,
    );
    m.gauge("dcomhunt_correlation_partials", "Open partial incidents", () => this.detector.stats.partials);
    m.gauge("dcomhunt_event_time_lag_seconds", "Wall clock minus the newest event time correlated", () =>
      Number.isFinite(this.detector.time) ? Math.max(0, Date.now() / 1000 - this.detector.time) : 0,
    );
    m.gauge("dcomhunt_journal_segments", "Journal segments retained", () => journal.segmentCount);
    m.gauge("dcomhunt_alerts_stored", "Alerts in the store", () => store.count);
    m.gauge(
      "dcomhunt_alert_latency_p99_seconds",
      "99th percentile of the latest alert latencies (request received to alert durable)",
      () => m.latencyQuantile(0.99) ?? 0,
    );
  }

  /** Open the store and journal, replay the journal through the rules, start processing. */
  static async open(opts: PipelineOptions): Promise<LivePipeline> {
    const store = await AlertStore.open(opts.dataDir);
    const journal = new Journal(opts.dataDir);
    const p = new LivePipeline(opts, store, journal);
    await p.recover();
    p.loop = p.run();
    return p;
  }

  private async recover(): Promise<void> {
    let n = 0;
    const marks = await this.journal.readMarks();
    const cut = async (seq: number) => {
      for (const kind of marks.get(seq) ?? []) {
        if (kind === "flush") await this.detector.idle();
        else await this.detector.runWindows();
      }
    };
    await cut(-1);
    for await (const entry of this.journal.recover()) {
      let ev: WinEvent | undefined;
      try {
        ev = decodePayload(entry.envelope, this.filter, 0);
      } catch {
        ev = undefined;
      }
      if (ev) await this.detector.push(ev);
      this.processedSeq = entry.seq;
      await cut(entry.seq);
      n++;
      if (n % 2000 === 0) await this.storeResults(undefined);
    }
    this.processedSeqQueued = this.processedSeq;
    this.opts.metrics.inc("dcomhunt_events_replayed_total", n);
    await this.storeResults(undefined);
    await this.tail;
  }

  /** The queue is at capacity (health says so). */
  get full(): boolean {
    return this.queueDepth >= this.opts.maxQueuedEvents;
  }

  get queueDepth(): number {
    return this.queuedEvents + this.reserved;
  }

  /**
   * Take a decoded batch: refuse it whole when the queue cannot hold it (HecError 9), else journal
   * it; resolves once it is durable and queued.
   */
  async accept(batch: DecodedEvent[], arrivedMs = Date.now()): Promise<Accepted> {
    if (this.failure) throw new HecError(8, "Internal server error");
    if (this.stopping) throw new HecError(9, "Server is busy");
    if (this.queueDepth > 0 && this.queueDepth + batch.length > this.opts.maxQueuedEvents)
      throw new HecError(9, "Server is busy");
    this.reserved += batch.length;
    const kept = batch.filter((d) => d.event !== undefined);
    const filtered = batch.length - kept.length;
    let lastSeq: number;
    try {
      const [, last] = await this.journal.append(
        kept.map((d) => ({ time: eventTime(d.event as WinEvent), envelope: d.envelope })),
      );
      lastSeq = last;
    } catch (err) {
      throw new HecError(8, `Internal server error: ${(err as Error).message}`);
    } finally {
      this.reserved -= batch.length;
    }
    this.opts.metrics.inc("dcomhunt_events_filtered_total", filtered);
    let done!: () => void;
    const processed = new Promise<void>((r) => {
      done = r;
    });
    this.queue.push({ events: kept.map((d) => d.event), lastSeq, arrivedMs, done });
    this.queuedEvents += kept.length;
    this.wake?.();
    this.wake = undefined;
    return { processed };
  }

  /** Store what the detector made final; `item` is acknowledged once that is durable. */
  private storeResults(item: Item | undefined): Promise<void> {
    const results = this.detector.take();
    const m = this.opts.metrics;
    const stored = this.store.add(results).then((fresh) => {
      m.inc("dcomhunt_alerts_total", fresh.length);
      m.inc("dcomhunt_alert_duplicates_total", results.length - fresh.length);
      if (item) {
        const latency = (Date.now() - item.arrivedMs) / 1000;
        for (let i = 0; i < fresh.length; i++) m.observeLatency(latency);
      }
      for (const o of this.opts.outputs) o.send(fresh);
    });
    this.tail = Promise.all([this.tail, stored]).then(() => {
      if (item) {
        this.processedSeq = Math.max(this.processedSeq, item.lastSeq);
        item.done();
      }
    });
    this.tail.catch((err) => {
      this.failure = err as Error;
    });
    return this.tail;
  }

  private async run(): Promise<void> {
    const tickMs = 250;
    while (!this.stopping || this.queue.length > 0) {
      const item = this.paused && !this.stopping ? undefined : this.queue.shift();
      if (!item) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, tickMs);
        });
        this.wake = undefined;
        await this.runWindowsIfDue();
        const requested = this.flushRequests.splice(0);
        if (
          requested.length > 0 ||
          (this.opts.idleFlushMs > 0 &&
            this.detector.pending &&
            Date.now() - this.lastActivityMs >= this.opts.idleFlushMs)
        ) {
          // Journal the cut first: a replay after a crash then cuts at the same place.
          await this.journal.mark({ kind: "flush", seq: this.processedSeqQueued });
          await this.detector.idle();
          await this.storeResults(undefined);
          for (const r of requested) r();
        } else await this.storeResults(undefined);
        this.pruneJournal();
        continue;
      }
      this.lastActivityMs = Date.now();
      for (const ev of item.events) if (ev) await this.detector.push(ev);
      this.processedSeqQueued = Math.max(this.processedSeqQueued, item.lastSeq);
      this.opts.metrics.inc("dcomhunt_events_processed_total", item.events.length);
      this.queuedEvents -= item.events.length;
      await this.runWindowsIfDue();
      void this.storeResults(item);
      this.pruneJournal();
    }
  }

  private pruneJournal(): void {
    if (!this.opts.keepJournal)
      this.journal.prune(this.processedSeq, this.detector.time - this.detector.lookbackSeconds);
  }

  private async runWindowsIfDue(): Promise<void> {
    if (!this.detector.windowDue()) return;
    await this.journal.mark({ kind: "window", seq: this.processedSeqQueued });
    await this.detector.runWindows();
  }

  /** Hold processing (events are still taken and journaled until the queue is full); resume() goes on. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  /**
   * Close every open incident now, as the idle timer does after `idleFlushMs` of quiet (and as a scan's
   * end of input does); resolves once the alerts are stored.
   */
  flushNow(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.flushRequests.push(resolve);
      this.wake?.();
    });
  }

  /** Stop taking events, process what is queued, wait for the store. Open incidents stay in the journal. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await this.tail;
    for (const o of this.opts.outputs) await o.close();
    await this.journal.close();
    await this.store.close();
  }
}

function eventTime(ev: WinEvent): number | undefined {
  return ev.timeTicks === undefined ? undefined : Number(ev.timeTicks - 116444736000000000n) / 1e7;
}
