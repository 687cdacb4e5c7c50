/**
 * `serve --cluster nats://...`: the live path spread over NATS JetStream (nats-server 2.9+).
 *
 * - Stream DCOMHUNT_EVENTS (file storage, limits retention `--retention`, 2 min duplicate window) holds
 *   every accepted event a rule can use, on a partition subject:
 *   `dcomhunt.events.s.<p>` (search rules; p = hash of the normalized host mod `--partitions`) and
 *   `dcomhunt.events.c.<k>` (sequence rules; k = hash of the normalized host mod
 *   `--correlation-partitions`, default 1, because the dcom pack's global-scope rules join records of
 *   the source and the target host: host partitions would split those alerts).
 * - One durable pull consumer per partition (`p-s3`, `p-c0`), taken by one worker at a time through a
 *   lease in the KV bucket `dcomhunt_leases` (TTL `--lease-ttl`, renewed every third of it); the
 *   layout (partition counts) in `dcomhunt_config`, checked by every node.
 * - Stream DCOMHUNT_ALERTS (`dcomhunt.alerts`, message id = alert id): workers forward their results
 *   there; each ingest node gathers them into its own alert store (GET /alerts, stdout, webhook).
 * - The cut points of the rules (idle flush, window run) are marker messages in the partition itself,
 *   so a worker that rebuilds a partition's state from the stream cuts at the same places.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { normalizeHost } from "../correlate/index.js";

export const EVENTS_STREAM = "DCOMHUNT_EVENTS";
export const ALERTS_STREAM = "DCOMHUNT_ALERTS";
export const ALERTS_SUBJECT = "dcomhunt.alerts";
export const LEASE_BUCKET = "dcomhunt_leases";
export const CONFIG_BUCKET = "dcomhunt_config";

export type NatsConnection = Awaited<ReturnType<typeof connect>>;

export interface ClusterLayout {
  /** Partitions for search rules (events spread by host). */
  search: number;
  /** Partitions for sequence rules (1 keeps every cross-host join). */
  correlation: number;
}

export interface ClusterOptions {
  url: string;
  layout: ClusterLayout;
  /** How long events and forwarded alerts stay in their streams (seconds). */
  retentionSeconds: number;
  leaseTtlMs: number;
  /** Client name shown by the server. */
  name: string;
}

export interface Cluster {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
  layout: ClusterLayout;
}

/** Partition names: `s0..s{N-1}`, `c0..c{K-1}`. */
export function partitions(layout: ClusterLayout): string[] {
  const out: string[] = [];
  for (let i = 0; i < layout.search; i++) out.push(`s${i}`);
  for (let i = 0; i < layout.correlation; i++) out.push(`c${i}`);
  return out;
}

export function partitionSubject(partition: string): string {
  return `dcomhunt.events.${partition[0]}.${partition.slice(1)}`;
}

/** FNV-1a of the normalized host name, mod n: a host's events always land in one partition. */
export function hostPartition(computer: string | undefined, n: number): number {
  const h = normalizeHost(computer ?? "");
  let x = 0x811c9dc5;
  for (let i = 0; i < h.length; i++) {
    x ^= h.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x % n;
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    /not found/i.test(e.message ?? "") || e.api_error?.err_code === 10059 || e.api_error?.err_code === 10014
  );
}

/**
 * Connect, create the streams and the lease bucket when missing, and check the partition layout.
 * Fails (instead of waiting forever) when a step takes longer than 30 s.
 */
export async function openCluster(opts: ClusterOptions): Promise<Cluster> {
  let step = "connecting";
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`cannot set up the cluster at ${opts.url}: no answer while ${step}`)),
      30000,
    );
  });
  let conn: NatsConnection | undefined;
  try {
    return await Promise.race([
      setUp(
        opts,
        (s) => {
          step = s;
        },
        (c) => {
          conn = c;
        },
      ),
      timeout,
    ]);
  } catch (err) {
    await conn?.close().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function setUp(
  opts: ClusterOptions,
  at: (step: string) => void,
  connected: (nc: NatsConnection) => void,
): Promise<Cluster> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5000,
    });
  } catch (err) {
    throw new Error(`cannot connect to ${opts.url}: ${(err as Error).message}`);
  }
  connected(nc);
  at("opening JetStream");
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc, { timeout: 10000 });
  const maxAge = opts.retentionSeconds * 1e9;
  for (const [name, subjects] of [
    [EVENTS_STREAM, ["dcomhunt.events.>"]],
    [ALERTS_STREAM, [ALERTS_SUBJECT]],
  ] as const) {
    at(`creating stream ${name}`);
    try {
      await jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add({
          name,
          subjects: [...subjects],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          max_age: maxAge,
          duplicate_window: Math.min(maxAge, 120e9),
        });
      } catch (e) {
        // another node created it at the same moment
        await jsm.streams.info(name).catch(() => {
          throw e;
        });
      }
    }
  }
  at("opening the KV buckets");
  const kvm = new Kvm(nc);
  const kv = await kvm.create(LEASE_BUCKET, { ttl: opts.leaseTtlMs, history: 1 });
  const config = await kvm.create(CONFIG_BUCKET, { history: 1 });
  const layout = JSON.stringify(opts.layout);
  at("checking the partition layout");
  try {
    await config.create("layout", layout);
  } catch {
    const have = (await config.get("layout"))?.string();
    if (have !== undefined && have !== layout)
      throw new Error(
        `the cluster's partition layout is ${have}, this node was started with ${layout} (--partitions / --correlation-partitions must agree)`,
      );
    if (have === undefined) await config.put("layout", layout);
  }
  return { nc, js, jsm, kv, layout: opts.layout };
}

/** The durable pull consumer of a partition (created when missing). */
export async function ensurePartitionConsumer(
  jsm: JetStreamManager,
  partition: string,
  ackWaitMs = 10000,
): Promise<string> {
  const durable = `p-${partition}`;
  try {
    await jsm.consumers.info(EVENTS_STREAM, durable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: durable,
      filter_subject: partitionSubject(partition),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ackWaitMs * 1e6,
      max_ack_pending: 20000,
    });
  }
  return durable;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Drain and close a connection, giving up after `ms` (a server gone for good must not hold a stop). */
export async function closeConnection(nc: NatsConnection, ms = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nc.drain().catch(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
