/**
 * One `serve` process assembled: the live pipeline (journal, rules, alert store, outputs) behind the
 * HEC server. Used by cli/serve.ts and by the tests and benchmark in-process.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { AlertOutput } from "../alerts/outputs.js";
import type { CompiledRule, RunOptions } from "../rules/run.js";
import { type ClusterOptions, openCluster } from "./cluster.js";
import { ClusterIngest } from "./cluster-ingest.js";
import { createHecServer, loadTokens, type TokenEntry } from "./hec.js";
import { Metrics } from "./metrics.js";
import { type IngestSink, LivePipeline } from "./pipeline.js";

export interface ServeOptions {
  compiled: CompiledRule[];
  runOptions: RunOptions;
  dataDir: string;
  host: string;
  port: number;
  tokensFile?: string;
  tls?: { cert: string; key: string };
  outputs: AlertOutput[];
  maxBodyBytes?: number;
  maxEventBytes?: number;
  maxQueuedEvents?: number;
  allowQueryToken?: boolean;
  idleFlushSeconds?: number;
  windowSeconds?: number;
  reorderWindowSeconds?: number;
  keepJournal?: boolean;
  /** Ingest node of a cluster: publish to JetStream instead of running the rules here. */
  cluster?: ClusterOptions & { node: string };
}

/** What the HEC server feeds, with the controls the CLI needs. */
export interface ServingSink extends IngestSink {
  /** Close open incidents now (SIGUSR2): at once here, or through a flush marker in every partition. */
  flushNow(): Promise<void>;
  close(): Promise<void>;
  /** Hold / go on processing (one process only; tests of backpressure). */
  pause?(): void;
  resume?(): void;
}

export interface RunningServer {
  url: string;
  tokensFile: string;
  pipeline: ServingSink;
  metrics: Metrics;
  server: http.Server;
  close(): Promise<void>;
}

/**
 * The tokens: from --tokens, else `<data>/tokens`, created on first start with one HEC token (with
 * indexer acknowledgement) and one read token (mode 0600).
 */
export function ensureTokens(
  dataDir: string,
  tokensFile: string | undefined,
): { file: string; tokens: TokenEntry[]; created: boolean } {
  if (tokensFile !== undefined) return { file: tokensFile, tokens: loadTokens(tokensFile), created: false };
  const file = path.join(dataDir, "tokens");
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      file,
      `# dcomhunt serve tokens: TOKEN ROLES (hec, ack = hec with acknowledgement, read = /alerts and /metrics)\n${randomUUID()} ack\n${randomUUID()} read\n`,
      { mode: 0o600 },
    );
    created = true;
  }
  return { file, tokens: loadTokens(file), created };
}

/** The first token of a tokens file with the given role (for replay and tests). */
export function tokenWithRole(file: string, role: "hec" | "read"): string | undefined {
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const [token, ...roles] = line.replace(/#.*$/, "").trim().split(/\s+/);
    if (!token) continue;
    const rs = roles.length ? roles : ["hec"];
    if (rs.includes(role) || (role === "hec" && rs.includes("ack"))) return token;
  }
  return undefined;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const { file: tokensFile, tokens } = ensureTokens(opts.dataDir, opts.tokensFile);
  const metrics = new Metrics();
  const pipeline: ServingSink = opts.cluster
    ? await openIngestNode(opts, opts.cluster, metrics)
    : await LivePipeline.open({
        dataDir: opts.dataDir,
        compiled: opts.compiled,
        runOptions: opts.runOptions,
        metrics,
        outputs: opts.outputs,
        maxQueuedEvents: opts.maxQueuedEvents ?? 20000,
        idleFlushMs: (opts.idleFlushSeconds ?? 5) * 1000,
        keepJournal: opts.keepJournal,
        fieldView: opts.runOptions.fieldView,
        reorderWindowSeconds: opts.reorderWindowSeconds ?? 10,
        windowSeconds: opts.windowSeconds ?? 60,
      });
  const tls = opts.tls ? { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } : undefined;
  const server = createHecServer({
    tokens,
    pipeline,
    metrics,
    maxBodyBytes: opts.maxBodyBytes,
    maxEventBytes: opts.maxEventBytes,
    allowQueryToken: opts.allowQueryToken,
    tls,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `${tls ? "https" : "http"}://${host}:${addr.port}`;
  return {
    url,
    tokensFile,
    pipeline,
    metrics,
    server,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await pipeline.close();
    },
  };
}

async function openIngestNode(
  opts: ServeOptions,
  co: ClusterOptions & { node: string },
  metrics: Metrics,
): Promise<ServingSink> {
  const cluster = await openCluster(co);
  return ClusterIngest.open({
    cluster,
    dataDir: opts.dataDir,
    compiled: opts.compiled,
    runOptions: opts.runOptions,
    metrics,
    outputs: opts.outputs,
    maxQueuedEvents: opts.maxQueuedEvents ?? 20000,
    node: co.node,
  });
}
