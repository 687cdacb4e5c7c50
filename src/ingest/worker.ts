/**
 * `serve --worker --cluster nats://...`: takes partitions of the events stream through KV leases and
 * runs the same detector as one `serve` process over each.
 *
 * Leases: every worker heartbeats `w.<name>` in the lease bucket (TTL `--lease-ttl`) and holds at most
 * its fair share (partitions / live workers, rounded up) of `lease.<partition>` keys: `create` takes a
 * free one (exclusive), `update` with the last revision renews it (compare-and-swap), so a lease lost
 * to expiry cannot be renewed. A worker over its share (one joined) releases the extra partitions; a
 * worker that stops releases all of them; a worker killed loses them when their TTL runs out.
 *
 * Per partition: the durable pull consumer `p-<partition>` is fetched in batches; each batch is run
 * through the rules, the results stored (durable, deduplicated by id) and forwarded to the alerts
 * stream (message id = alert id), and only then are its messages acked. On taking a partition (and
 * after any consumer error, reconnect or redelivery) the correlation state is rebuilt: the partition's
 * retained messages from the ack floor's publish time minus the rules' look-back up to its last message
 * are run again (their alerts are the same ids: dropped as duplicates), and durable deliveries up to
 * that point are acked without running them twice.
 */
import { AckPolicy, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { AlertOutput } from "../alerts/outputs.js";
import { AlertStore } from "../alerts/store.js";
import type { SystemPredicate } from "../events/model.js";
import { type CompiledRule, combinedPushdown, type RunOptions } from "../rules/run.js";
import {
  ALERTS_SUBJECT,
  type Cluster,
  closeConnection,
  EVENTS_STREAM,
  ensurePartitionConsumer,
  partitionSubject,
  partitions,
  sleep,
} from "./cluster.js";
import { LiveDetector } from "./detector.js";
import type { Metrics } from "./metrics.js";
import { decodePayload } from "./payload.js";

export interface WorkerOptions {
  cluster: Cluster;
  name: string;
  dataDir: string;
  compiled: CompiledRule[];
  runOptions: RunOptions;
  metrics: Metrics;
  outputs: AlertOutput[];
  leaseTtlMs: number;
  idleFlushMs: number;
  windowSeconds: number;
  reorderWindowSeconds: number;
  /** Time a fetched message may stay unacked before JetStream redelivers it (default 10 s). */
  ackWaitMs?: number;
  /** Messages fetched per batch (default 500). */
  batch?: number;
  log?: (line: string) => void;
}

/** An event as the ingest node writes it (the journal's line shape). */
interface EventRecord {
  t?: number | null;
  s?: string;
  e?: unknown;
}

/** A partition message: a group of events of one HEC batch, or a cut marker. */
interface Message {
  b?: EventRecord[];
  m?: "flush" | "window";
}

class PartitionRunner {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private detector: LiveDetector;
  private readonly compiled: CompiledRule[];
  private readonly filter: SystemPredicate | undefined;
  private readonly subject: string;
  private durable = "";
  /** Stream sequence through which the current state has run every message (rebuild end). */
  private through = 0;
  private needRebuild = true;
  /** The consumer's delivery sequence of the last message taken (-1 after a rebuild: not known). */
  private lastDelivery = -1;
  private lastMessageMs = Date.now();
  private markerPending = false;
  private readonly enc = new TextEncoder();
  rebuilds = 0;
  /** Events run through the rules (rebuilds included). */
  events = 0;

  constructor(
    readonly partition: string,
    private readonly w: WorkerOptions,
    private readonly store: AlertStore,
    /** The lease is surely still ours (renewed less than two thirds of its TTL ago). */
    private readonly leaseValid: () => boolean,
  ) {
    const kind = partition[0] === "c" ? "sequence" : "search";
    this.compiled = w.compiled.filter((c) => c.kind === kind);
    this.filter = combinedPushdown(this.compiled, w.runOptions);
    this.subject = partitionSubject(partition);
    this.detector = this.newDetector();
  }

  private newDetector(): LiveDetector {
    return new LiveDetector(this.compiled, {
      fieldView: this.w.runOptions.fieldView,
      reorderWindowSeconds: this.w.reorderWindowSeconds,
      windowSeconds: this.w.windowSeconds,
    });
  }

  start(): void {
    this.loop = this.run();
  }

  markForRebuild(): void {
    this.needRebuild = true;
  }

  /** Stop after the batch in hand (its messages acked once its results are durable). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async apply(data: Message): Promise<void> {
    if (data.m === "flush") {
      this.markerPending = false;
      await this.detector.idle();
    } else if (data.m === "window") {
      this.markerPending = false;
      await this.detector.runWindows();
    } else
      for (const r of data.b ?? []) {
        let ev: ReturnType<typeof decodePayload>;
        try {
          ev = decodePayload(
            r.s === undefined ? { event: r.e } : { event: r.e, source: r.s },
            this.filter,
            0,
          );
        } catch {
          ev = undefined;
        }
        if (ev) await this.detector.push(ev);
        this.events++;
      }
  }

  /** Store what the detector made final and forward it; resolves once both are durable. */
  private async flushResults(): Promise<void> {
    const results = this.detector.take();
    if (results.length === 0) return;
    const { fresh, all } = await this.store.addAll(results);
    const m = this.w.metrics;
    m.inc("dcomhunt_alerts_total", fresh.length);
    m.inc("dcomhunt_alert_duplicates_total", results.length - fresh.length);
    const js = this.w.cluster.js;
    await Promise.all(
      all.map((r) => js.publish(ALERTS_SUBJECT, this.enc.encode(JSON.stringify(r)), { msgID: r.id })),
    );
    for (const o of this.w.outputs) o.send(fresh);
  }

  private lookbackSeconds(): number {
    if (this.compiled.some((c) => c.kind === "sequence")) return this.detector.lookbackSeconds;
    return this.detector.hasWindowed ? 2 * this.w.windowSeconds : 0;
  }

  /** Rebuild the partition's state from the stream (see the module comment). */
  private async rebuild(): Promise<void> {
    const { jsm, js } = this.w.cluster;
    this.rebuilds++;
    this.w.metrics.inc("dcomhunt_partition_rebuilds_total");
    this.detector = this.newDetector();
    this.markerPending = false;
    this.lastDelivery = -1;
    this.durable = await ensurePartitionConsumer(jsm, this.partition, this.w.ackWaitMs);
    const info = await jsm.consumers.info(EVENTS_STREAM, this.durable);
    const floor = info.ack_floor.stream_seq;
    // null when the partition has no message (errors throw: the rebuild is retried).
    const last = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: this.subject });
    const end = last?.seq ?? 0;
    if (end === 0 || end <= floor) {
      this.through = Math.max(end, floor);
      if (floor === 0 || this.lookbackSeconds() === 0) return;
    }
    // Where to start: the ack floor's publish time minus the look-back (everything when nothing is acked).
    let start: { deliver_policy: DeliverPolicy; opt_start_time?: string; opt_start_seq?: number } = {
      deliver_policy: DeliverPolicy.All,
    };
    const lookback = this.lookbackSeconds();
    if (floor > 0) {
      if (lookback === 0) start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 };
      else {
        const at = await jsm.streams.getMessage(EVENTS_STREAM, { seq: floor });
        if (at)
          start = {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(at.time.getTime() - lookback * 1000).toISOString(),
          };
      }
    }
    const eph = await jsm.consumers.add(EVENTS_STREAM, {
      filter_subject: this.subject,
      ack_policy: AckPolicy.None,
      inactive_threshold: 30e9,
      ...start,
    });
    const through = Math.max(end, floor);
    try {
      const consumer = await js.consumers.get(EVENTS_STREAM, eph.name);
      let seen = 0;
      let n = 0;
      while (seen < end && !this.stopped) {
        const msgs = await consumer.fetch({ max_messages: 1000, expires: 1000 });
        let got = 0;
        for await (const msg of msgs) {
          got++;
          seen = msg.seq;
          if (msg.seq > end) break;
          await this.apply(msg.json<Message>());
          if (++n % 2000 === 0) await this.flushResults();
        }
        if (got === 0 && (await consumer.info()).num_pending === 0) break;
      }
      this.w.metrics.inc("dcomhunt_events_replayed_total", n);
      await this.flushResults();
    } finally {
      await jsm.consumers.delete(EVENTS_STREAM, eph.name).catch(() => undefined);
    }
    this.through = through;
  }

  private async run(): Promise<void> {
    const { js } = this.w.cluster;
    const batch = this.w.batch ?? 500;
    while (!this.stopped) {
      try {
        if (!this.leaseValid()) {
          // Not renewed lately (NATS unreachable): another worker may own the partition by now. Touch
          // nothing until the renewal comes, then start again from the stream.
          this.needRebuild = true;
          await sleep(100);
          continue;
        }
        if (this.needRebuild) {
          this.needRebuild = false;
          await this.rebuild();
          continue;
        }
        const consumer = await js.consumers.get(EVENTS_STREAM, this.durable);
        const msgs = await consumer.fetch({ max_messages: batch, expires: 1000 });
        const handled: JsMsg[] = [];
        const leftover: JsMsg[] = [];
        const eventsBefore = this.events;
        for await (const msg of msgs) {
          if (this.stopped || this.needRebuild || !this.leaseValid()) {
            this.needRebuild ||= !this.stopped;
            leftover.push(msg);
            continue;
          }
          if (msg.seq <= this.through) {
            this.lastDelivery = msg.info.deliverySequence;
            handled.push(msg);
            continue;
          }
          const delivery = msg.info.deliverySequence;
          if (this.lastDelivery >= 0 && delivery !== this.lastDelivery + 1) {
            // A delivery of this consumer never reached us (a connection lost in the middle of a fetch):
            // the next ones would run with a gap. Rebuild from the stream instead.
            this.needRebuild = true;
            leftover.push(msg);
            continue;
          }
          this.lastDelivery = delivery;
          if (msg.redelivered) {
            // Delivered before and not acked (a lost ack, a crash, a reconnect): rebuild from the
            // stream so the rules see the partition in order.
            this.needRebuild = true;
            leftover.push(msg);
            continue;
          }
          await this.apply(msg.json<Message>());
          this.through = msg.seq;
          handled.push(msg);
        }
        if (handled.length > 0) {
          this.lastMessageMs = Date.now();
          this.w.metrics.inc("dcomhunt_events_processed_total", this.events - eventsBefore);
          await this.flushResults();
          for (const msg of handled) msg.ack();
        }
        for (const msg of leftover) msg.nak();
        await this.markIfDue();
      } catch (err) {
        if (this.stopped) break;
        this.w.log?.(`partition ${this.partition}: ${(err as Error).message}; rebuilding`);
        this.needRebuild = true;
        await sleep(500);
      }
    }
  }

  /**
   * Quiet for `idleFlushMs` with something open, or a window due: publish a marker into the partition;
   * the cut happens when it comes back through the consumer (and again at the same place in a rebuild).
   */
  private async markIfDue(): Promise<void> {
    if (this.markerPending) return;
    let kind: Message["m"] | undefined;
    if (this.detector.windowDue()) kind = "window";
    else if (
      this.w.idleFlushMs > 0 &&
      this.detector.pending &&
      Date.now() - this.lastMessageMs >= this.w.idleFlushMs
    )
      kind = "flush";
    if (!kind) return;
    this.markerPending = true;
    await this.w.cluster.js.publish(this.subject, this.enc.encode(JSON.stringify({ m: kind })));
  }
}

export class ClusterWorker {
  private readonly runners = new Map<string, { runner: PartitionRunner; rev: number; renewedMs: number }>();
  private stopping = false;
  private heartbeat: Promise<void> | undefined;

  private constructor(
    private readonly w: WorkerOptions,
    readonly store: AlertStore,
  ) {
    const m = w.metrics;
    m.counter("dcomhunt_events_processed_total", "Events run through the rules");
    m.counter("dcomhunt_events_replayed_total", "Messages run again to rebuild a partition's state");
    m.counter(
      "dcomhunt_partition_rebuilds_total",
      "Partition state rebuilds (takeover, reconnect, redelivery)",
    );
    m.counter("dcomhunt_alerts_total", "Alerts stored");
    m.counter("dcomhunt_alert_duplicates_total", "Alerts dropped as already stored (same id)");
    m.counter("dcomhunt_lease_changes_total", "Partitions taken or given up");
    m.gauge("dcomhunt_partitions_held", "Partitions this worker holds", () => this.runners.size);
    m.gauge("dcomhunt_alerts_stored", "Alerts in the store", () => store.count);
  }

  static async open(w: WorkerOptions): Promise<ClusterWorker> {
    const store = await AlertStore.open(w.dataDir);
    const worker = new ClusterWorker(w, store);
    worker.heartbeat = worker.leases();
    void worker.watchConnection();
    return worker;
  }

  /** Partitions held now. */
  get held(): string[] {
    return [...this.runners.keys()].sort();
  }

  private async watchConnection(): Promise<void> {
    try {
      for await (const s of this.w.cluster.nc.status()) {
        if (s.type === "reconnect") for (const { runner } of this.runners.values()) runner.markForRebuild();
      }
    } catch {
      // the connection closed
    }
  }

  private async release(partition: string, deleteLease: boolean): Promise<void> {
    const held = this.runners.get(partition);
    if (!held) return;
    this.runners.delete(partition);
    await held.runner.stop();
    this.w.metrics.inc("dcomhunt_lease_changes_total");
    this.w.log?.(`released partition ${partition}`);
    if (deleteLease)
      await this.w.cluster.kv.delete(`lease.${partition}`, { previousSeq: held.rev }).catch(() => undefined);
  }

  private async leases(): Promise<void> {
    const { kv, layout } = this.w.cluster;
    const all = partitions(layout);
    // Start the scan at a place of our own so workers do not all race for the same keys.
    let offset = 0;
    for (const ch of this.w.name) offset = (offset * 31 + ch.charCodeAt(0)) >>> 0;
    const period = Math.max(100, Math.floor(this.w.leaseTtlMs / 3));
    let lastRenew = Date.now();
    while (!this.stopping) {
      try {
        await kv.put(`w.${this.w.name}`, String(Date.now()));
        // Renew what is held; a refused renewal means the lease expired and was taken: stop at once.
        for (const [p, held] of [...this.runners]) {
          try {
            const at = Date.now();
            held.rev = await kv.update(`lease.${p}`, this.w.name, held.rev);
            held.renewedMs = at;
          } catch {
            await this.release(p, false);
          }
        }
        lastRenew = Date.now();
        const workers = new Set<string>();
        for await (const k of await kv.keys("w.*")) workers.add(k);
        const share = Math.ceil(all.length / Math.max(1, workers.size));
        while (this.runners.size > share) {
          const extra = [...this.runners.keys()].sort().at(-1) as string;
          await this.release(extra, true);
        }
        for (let i = 0; i < all.length && this.runners.size < share && !this.stopping; i++) {
          const p = all[(i + offset) % all.length];
          if (this.runners.has(p)) continue;
          let rev: number;
          const at = Date.now();
          try {
            rev = await kv.create(`lease.${p}`, this.w.name);
          } catch {
            continue;
          }
          const held = { runner: undefined as unknown as PartitionRunner, rev, renewedMs: at };
          held.runner = new PartitionRunner(p, this.w, this.store, () => {
            return this.runners.get(p) === held && Date.now() - held.renewedMs < (this.w.leaseTtlMs * 2) / 3;
          });
          const runner = held.runner;
          this.runners.set(p, held);
          this.w.metrics.inc("dcomhunt_lease_changes_total");
          this.w.log?.(`took partition ${p}`);
          runner.start();
        }
      } catch (err) {
        this.w.log?.(`leases: ${(err as Error).message}`);
        // Cut off from NATS for longer than the TTL: the leases may be someone else's by now.
        if (Date.now() - lastRenew > this.w.leaseTtlMs)
          for (const p of [...this.runners.keys()]) await this.release(p, false);
      }
      await sleep(period);
    }
  }

  /** Stop the partitions (the batch in hand finishes), release the leases, leave the cluster. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.heartbeat;
    for (const p of [...this.runners.keys()]) await this.release(p, true);
    await this.w.cluster.kv.delete(`w.${this.w.name}`).catch(() => undefined);
    await closeConnection(this.w.cluster.nc);
    for (const o of this.w.outputs) await o.close();
    await this.store.close();
  }
}
