/**
 * The ingest node of `serve --cluster`: HEC in (hec.ts), each accepted event a rule can use published
 * to its partition subjects in JetStream; the HEC 200 (and a true `/ack`) only after JetStream's
 * publish acknowledgement for every event of the batch. The node also gathers the alerts the workers
 * forward (stream DCOMHUNT_ALERTS) into its own durable store, which backs GET /alerts and the outputs.
 */

import { createHash } from "node:crypto";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { AlertOutput } from "../alerts/outputs.js";
import { type AlertRecord, AlertStore } from "../alerts/store.js";
import type { SystemPredicate, WinEvent } from "../events/model.js";
import { type CompiledRule, combinedPushdown, type RunOptions } from "../rules/run.js";
import {
  ALERTS_STREAM,
  type Cluster,
  closeConnection,
  hostPartition,
  partitionSubject,
  partitions,
  sleep,
} from "./cluster.js";
import type { Metrics } from "./metrics.js";
import { type DecodedEvent, HecError } from "./payload.js";
import type { Accepted, IngestSink } from "./pipeline.js";

export interface ClusterIngestOptions {
  cluster: Cluster;
  dataDir: string;
  compiled: CompiledRule[];
  runOptions: RunOptions;
  metrics: Metrics;
  outputs: AlertOutput[];
  /** Events being published at once before HEC answers 503 code 9. */
  maxQueuedEvents: number;
  /** Name of this node (its durable consumer of the alerts stream). */
  node: string;
}

/** One event in a JetStream message: the journal's line shape (time, source, event). */
export function eventRecord(ev: WinEvent, source: string | undefined, event: unknown): string {
  const t = ev.timeTicks === undefined ? null : Number(ev.timeTicks - 116444736000000000n) / 1e7;
  return JSON.stringify({ t, s: source, e: event });
}

/** Largest JetStream message the ingest node builds (nats-server's default max_payload is 1 MiB). */
const MAX_MESSAGE_BYTES = 256 << 10;

export class ClusterIngest implements IngestSink {
  readonly filter: SystemPredicate | undefined;
  private readonly searchFilter: SystemPredicate | undefined;
  private readonly sequenceFilter: SystemPredicate | undefined;
  private readonly hasSearch: boolean;
  private readonly hasSequence: boolean;
  private inflight = 0;
  private stopping = false;
  private gatherer: Promise<void> | undefined;
  private readonly enc = new TextEncoder();

  private constructor(
    private readonly opts: ClusterIngestOptions,
    readonly store: AlertStore,
  ) {
    const search = opts.compiled.filter((c) => c.kind === "search");
    const sequence = opts.compiled.filter((c) => c.kind === "sequence");
    this.hasSearch = search.length > 0;
    this.hasSequence = sequence.length > 0;
    this.filter = combinedPushdown(opts.compiled, opts.runOptions);
    this.searchFilter = combinedPushdown(search, opts.runOptions);
    this.sequenceFilter = combinedPushdown(sequence, opts.runOptions);
    const m = opts.metrics;
    m.counter("dcomhunt_cluster_published_total", "Events published to JetStream partitions (acknowledged)");
    m.counter(
      "dcomhunt_cluster_messages_total",
      "JetStream messages published (events grouped by partition)",
    );
    m.counter(
      "dcomhunt_cluster_publish_failures_total",
      "Batches refused because JetStream did not take them",
    );
    m.counter(
      "dcomhunt_events_filtered_total",
      "Events accepted that no selected rule can use (not published)",
    );
    m.counter("dcomhunt_alerts_total", "Alerts gathered from the workers and stored");
    m.counter("dcomhunt_alert_duplicates_total", "Alerts dropped as already stored (same id)");
    m.gauge("dcomhunt_queue_events", "Events being published", () => this.inflight);
    m.gauge("dcomhunt_queue_capacity_events", "Publishing capacity in events", () => opts.maxQueuedEvents);
    m.gauge("dcomhunt_alerts_stored", "Alerts in the store", () => store.count);
  }

  static async open(opts: ClusterIngestOptions): Promise<ClusterIngest> {
    const store = await AlertStore.open(opts.dataDir);
    const node = new ClusterIngest(opts, store);
    node.gatherer = node.gather();
    return node;
  }

  get full(): boolean {
    return this.inflight >= this.opts.maxQueuedEvents;
  }

  async accept(batch: DecodedEvent[]): Promise<Accepted> {
    if (this.stopping) throw new HecError(9, "Server is busy");
    if (this.inflight > 0 && this.inflight + batch.length > this.opts.maxQueuedEvents)
      throw new HecError(9, "Server is busy");
    const { js, layout } = this.opts.cluster;
    // The batch's events grouped by partition, a few JetStream messages per partition (`{"b":[...]}`, at
    // most MAX_MESSAGE_BYTES each), in the batch's order. The message id is a hash of the partition and
    // the content: a client resending the batch after a crash produces the same messages, and JetStream
    // drops them within its duplicate window (the workers' duplicate filter drops what is older).
    const groups = new Map<string, string[][]>();
    const sizes = new Map<string, number>();
    let filtered = 0;
    const add = (partition: string, rec: string) => {
      let chunks = groups.get(partition);
      if (!chunks) groups.set(partition, (chunks = [[]]));
      let size = sizes.get(partition) ?? 0;
      if (size + rec.length > MAX_MESSAGE_BYTES && (chunks.at(-1) as string[]).length > 0) {
        chunks.push([]);
        size = 0;
      }
      (chunks.at(-1) as string[]).push(rec);
      sizes.set(partition, size + rec.length + 1);
    };
    for (const d of batch) {
      const ev = d.event;
      if (!ev) {
        filtered++;
        continue;
      }
      const s = ev.system;
      const rec = eventRecord(ev, d.envelope.source, d.envelope.event);
      if (this.hasSearch && (!this.searchFilter || this.searchFilter(s, ev.timeTicks)))
        add(`s${hostPartition(s.computer, layout.search)}`, rec);
      if (this.hasSequence && (!this.sequenceFilter || this.sequenceFilter(s, ev.timeTicks)))
        add(`c${hostPartition(s.computer, layout.correlation)}`, rec);
    }
    const pubs: Promise<unknown>[] = [];
    let published = 0;
    this.inflight += batch.length;
    try {
      for (const [partition, chunks] of groups)
        for (const recs of chunks) {
          const body = `{"b":[${recs.join(",")}]}`;
          const msgID = createHash("sha256")
            .update(partition)
            .update("\u0000")
            .update(body)
            .digest("base64url");
          pubs.push(js.publish(partitionSubject(partition), this.enc.encode(body), { msgID }));
          published += recs.length;
        }
      await Promise.all(pubs);
    } catch (err) {
      this.opts.metrics.inc("dcomhunt_cluster_publish_failures_total");
      // NATS down or slow: the client retries the batch (message ids drop what was already taken).
      throw new HecError(9, `Server is busy: ${(err as Error).message}`);
    } finally {
      this.inflight -= batch.length;
    }
    this.opts.metrics.inc("dcomhunt_cluster_messages_total", pubs.length);
    this.opts.metrics.inc("dcomhunt_cluster_published_total", published);
    this.opts.metrics.inc("dcomhunt_events_filtered_total", filtered);
    return { processed: Promise.resolve() };
  }

  /** Gather the workers' alerts into this node's store; ack each once it is durable here. */
  private async gather(): Promise<void> {
    const { js, jsm } = this.opts.cluster;
    const durable = `alerts-${this.opts.node}`;
    const m = this.opts.metrics;
    while (!this.stopping) {
      try {
        try {
          await jsm.consumers.info(ALERTS_STREAM, durable);
        } catch {
          await jsm.consumers.add(ALERTS_STREAM, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ack_wait: 30e9,
          });
        }
        const consumer = await js.consumers.get(ALERTS_STREAM, durable);
        while (!this.stopping) {
          const msgs = await consumer.fetch({ max_messages: 500, expires: 1000 });
          const batch: { rec: AlertRecord; ack: () => void }[] = [];
          for await (const msg of msgs) batch.push({ rec: msg.json<AlertRecord>(), ack: () => msg.ack() });
          if (batch.length === 0) continue;
          const fresh = await this.store.addRecords(batch.map((b) => b.rec));
          m.inc("dcomhunt_alerts_total", fresh.length);
          m.inc("dcomhunt_alert_duplicates_total", batch.length - fresh.length);
          for (const o of this.opts.outputs) o.send(fresh);
          for (const b of batch) b.ack();
        }
      } catch {
        if (!this.stopping) await sleep(500);
      }
    }
  }

  /** End of a recording (SIGUSR2): a flush marker into every partition closes its open incidents. */
  async flushNow(): Promise<void> {
    const { js, layout } = this.opts.cluster;
    await Promise.all(
      partitions(layout).map((p) =>
        js.publish(partitionSubject(p), this.enc.encode(JSON.stringify({ m: "flush" }))),
      ),
    );
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.gatherer;
    for (const o of this.opts.outputs) await o.close();
    await this.store.close();
    await closeConnection(this.opts.cluster.nc);
  }
}
