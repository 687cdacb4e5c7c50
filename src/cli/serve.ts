/**
 * `dcomhunt serve`: live detection behind a Splunk HEC endpoint (src/ingest), alerts to a durable
 * store (src/alerts), standard output and a webhook. This file only wires options to those modules.
 */

import { hostname } from "node:os";
import { type AlertOutput, ndjsonOutput, webhookOutput } from "../alerts/outputs.js";
import { type Cluster, type ClusterOptions, openCluster } from "../ingest/cluster.js";
import { Metrics } from "../ingest/metrics.js";
import { startServer } from "../ingest/server.js";
import { ClusterWorker } from "../ingest/worker.js";
import { selectRules } from "../rules/loader.js";
import { type CompiledRule, compileRules, type RunOptions } from "../rules/run.js";
import { startHeapGuard } from "../runtime/heap.js";
import {
  type Command,
  type CommandSpec,
  EXIT_OK,
  helpText,
  intOpt,
  listOpt,
  type ParsedArgs,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";
import { ruleChecks } from "./scan.js";

export const serveSpec: CommandSpec = {
  name: "serve",
  summary: "live detection: take events as Splunk HEC does, run the rules as they arrive, store alerts",
  usage:
    "dcomhunt serve [--rules SEL]... [--listen HOST:PORT] [--tokens FILE] [--data DIR] [--cluster nats://HOST:PORT [--worker]] [options]",
  allowPositionals: false,
  options: {
    rules: { type: "string", short: "r", multiple: true },
    listen: { type: "string" },
    tokens: { type: "string" },
    data: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    webhook: { type: "string" },
    "webhook-header": { type: "string", multiple: true },
    "no-stdout": { type: "boolean" },
    "max-body": { type: "string" },
    "max-event": { type: "string" },
    queue: { type: "string" },
    "idle-flush": { type: "string" },
    window: { type: "string" },
    "reorder-window": { type: "string" },
    "allow-query-token": { type: "boolean" },
    "keep-journal": { type: "boolean" },
    cluster: { type: "string" },
    worker: { type: "boolean" },
    partitions: { type: "string" },
    "correlation-partitions": { type: "string" },
    "lease-ttl": { type: "string" },
    retention: { type: "string" },
    "ack-wait": { type: "string" },
    node: { type: "string" },
    "max-heap": { type: "string" },
    ...fieldViewOptionSpecs,
    quiet: { type: "boolean", short: "q" },
  },
  help: {
    rules:
      "what runs: a pack (seed, dcom, all), a rule id or name, or a rule file/folder (repeatable; default all)",
    listen: "address to listen on (default 127.0.0.1:8088; port 0 picks a free one)",
    tokens: "tokens file: TOKEN [hec|ack|read] per line (default DATA/tokens, created on first start)",
    data: "folder for the alert store and the ingest journal (default ./dcomhunt-data)",
    cert: "TLS certificate (PEM); with --key, serve HTTPS",
    key: "TLS private key (PEM)",
    webhook: "POST each new alert (JSON) to this URL, with retries",
    "webhook-header": "extra webhook header 'Name: value' (repeatable)",
    "no-stdout": "do not print alerts as NDJSON on standard output",
    "max-body": "largest request body in bytes, before and after gunzip (default 16777216)",
    "max-event": "largest single event in bytes (default 1048576)",
    queue: "events accepted but not yet processed before HEC answers 503 code 9 (default 20000)",
    "idle-flush":
      "seconds without events after which open correlation incidents are closed (default 5; 0 never)",
    window: "seconds per run of a search rule that needs many events (stats, dedup...) (default 60)",
    "reorder-window": "seconds of event-time disorder tolerated before correlation (default 10)",
    "keep-journal":
      "keep every ingest journal segment (audit; by default segments no rule needs are deleted)",
    "allow-query-token": "also accept the token as ?token= (HEC's allowQueryStringAuth)",
    cluster:
      "NATS JetStream URL: this node publishes accepted events to partitions instead of running the rules (with --worker: runs them)",
    worker:
      "with --cluster: take partitions through KV leases, run the rules, forward alerts to the ingest nodes",
    partitions:
      "with --cluster: partitions for search rules, events spread by host (default 8; all nodes agree)",
    "correlation-partitions":
      "with --cluster: partitions for sequence rules (default 1: every cross-host join; more split hosts apart)",
    "lease-ttl": "with --cluster: seconds a partition lease lives without renewal (default 10)",
    retention: "with --cluster: seconds events and alerts stay in JetStream (default 86400)",
    "ack-wait": "with --worker: seconds before JetStream redelivers an unacknowledged message (default 10)",
    node: "with --cluster: this node's name (default the host name and process id)",
    "max-heap":
      "MB of V8 heap after which a full garbage collection is forced (checked every second; default 160; 0 = never)",
    ...fieldViewOptionHelp,
    quiet: "no start-up message on standard error",
  },
  details:
    "Endpoints: POST /services/collector[/event], /services/collector/raw, /services/collector/ack;\n" +
    "GET /services/collector/health; GET /alerts?since=&rule=&host=&limit= and /metrics (read token).\n" +
    "SIGUSR2 closes open correlation incidents at once (end of a recording); SIGINT/SIGTERM stop.\n" +
    "With --cluster, the ingest node publishes to NATS JetStream (ack after JetStream's) and gathers the\n" +
    "workers' alerts; `serve --worker --cluster URL --data DIR` processes run the rules.\n" +
    "See docs/serve.md for codes, acknowledgement, durability and the cluster.",
};

function listenOpt(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`serve: --listen must be HOST:PORT (got '${text}')`);
  return { host: m[1] || m[2] || "127.0.0.1", port: Number(m[3]) };
}

export const serveCommand: Command = async (argv) => {
  const args = parseCommandArgs(serveSpec, argv);
  if (!args) {
    process.stdout.write(helpText(serveSpec));
    return EXIT_OK;
  }
  const v = args.values;
  const rules = selectRules(listOpt(v, "rules"), ruleChecks());
  if (rules.length === 0) throw new UsageError("serve: no rule selected");
  const fieldView = fieldViewFromArgs(v, "serve");
  const runOptions = { fieldView };
  const compiled = compileRules(rules, runOptions);
  const maxHeapMb = intOpt(v, "max-heap", 160, "serve");
  if (maxHeapMb > 0) startHeapGuard(maxHeapMb * 1048576);
  const clusterUrl = stringOpt(v, "cluster");
  if (v.worker === true && clusterUrl === undefined)
    throw new UsageError("serve: --worker needs --cluster nats://HOST:PORT");
  if (clusterUrl !== undefined && !/^(nats|tls):\/\/[^/]+$/.test(clusterUrl))
    throw new UsageError(`serve: --cluster must be nats://HOST:PORT (got '${clusterUrl}')`);
  const cluster =
    clusterUrl === undefined
      ? undefined
      : {
          url: clusterUrl,
          layout: {
            search: positive(intOpt(v, "partitions", 8, "serve"), "partitions"),
            correlation: positive(intOpt(v, "correlation-partitions", 1, "serve"), "correlation-partitions"),
          },
          retentionSeconds: positive(intOpt(v, "retention", 86400, "serve"), "retention"),
          leaseTtlMs: positive(intOpt(v, "lease-ttl", 10, "serve"), "lease-ttl") * 1000,
          node: (stringOpt(v, "node") ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_-]/g, "_"),
          name: "",
        };
  if (cluster) cluster.name = `dcomhunt-${v.worker === true ? "worker" : "ingest"}-${cluster.node}`;
  if (cluster && v.worker === true) return runWorker(v, cluster, compiled, runOptions, rules.length);
  const { host, port } = listenOpt(stringOpt(v, "listen") ?? "127.0.0.1:8088");
  const cert = stringOpt(v, "cert");
  const key = stringOpt(v, "key");
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError("serve: --cert and --key go together");
  const outputs: AlertOutput[] = [];
  if (v["no-stdout"] !== true) outputs.push(ndjsonOutput(process.stdout));
  const webhook = stringOpt(v, "webhook");
  if (webhook !== undefined) {
    if (!/^https?:\/\//.test(webhook))
      throw new UsageError(`serve: --webhook must be an http(s) URL (got '${webhook}')`);
    const headers: Record<string, string> = {};
    for (const h of listOpt(v, "webhook-header")) {
      const i = h.indexOf(":");
      if (i <= 0) throw new UsageError(`serve: --webhook-header must be 'Name: value' (got '${h}')`);
      headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
    }
    outputs.push(webhookOutput({ url: webhook, headers }));
  }
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({
      compiled,
      runOptions,
      dataDir: stringOpt(v, "data") ?? "dcomhunt-data",
      host,
      port,
      tokensFile: stringOpt(v, "tokens"),
      tls: cert && key ? { cert, key } : undefined,
      outputs,
      maxBodyBytes: intOpt(v, "max-body", 16 << 20, "serve"),
      maxEventBytes: intOpt(v, "max-event", 1 << 20, "serve"),
      maxQueuedEvents: intOpt(v, "queue", 20000, "serve"),
      allowQueryToken: v["allow-query-token"] === true,
      keepJournal: v["keep-journal"] === true,
      idleFlushSeconds: intOpt(v, "idle-flush", 5, "serve"),
      windowSeconds: intOpt(v, "window", 60, "serve"),
      reorderWindowSeconds: intOpt(v, "reorder-window", 10, "serve"),
      cluster,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (
      e.code === "EADDRINUSE" ||
      e.code === "EACCES" ||
      e.code === "ENOENT" ||
      /token|cannot connect|cannot set up|partition layout/.test(e.message)
    )
      throw new UsageError(`serve: ${e.message}`);
    throw err;
  }
  if (v.quiet !== true) {
    const stored = running.pipeline.store.count;
    process.stderr.write(
      `dcomhunt serve: listening on ${running.url} (${rules.length} rules; tokens in ${running.tokensFile}; ${stored} alerts stored${cluster ? `; cluster ${cluster.url}, node ${cluster.node}` : ""})\n`,
    );
  }
  // SIGUSR2: the recording is over, close open incidents now (as the idle timer does after --idle-flush).
  const flush = () => {
    void running.pipeline.flushNow();
  };
  process.on("SIGUSR2", flush);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  process.off("SIGUSR2", flush);
  await running.close();
  return EXIT_OK;
};

function positive(n: number, name: string): number {
  if (!(n > 0)) throw new UsageError(`serve: --${name} must be at least 1`);
  return n;
}

/** `serve --worker --cluster URL`: run the rules over the partitions this process leases. */
async function runWorker(
  v: ParsedArgs["values"],
  cluster: ClusterOptions & { node: string },
  compiled: CompiledRule[],
  runOptions: RunOptions,
  ruleCount: number,
): Promise<number> {
  const outputs: AlertOutput[] = [];
  if (v["no-stdout"] !== true) outputs.push(ndjsonOutput(process.stdout));
  let c: Cluster;
  try {
    c = await openCluster(cluster);
  } catch (err) {
    throw new UsageError(`serve: ${(err as Error).message}`);
  }
  const quiet = v.quiet === true;
  const worker = await ClusterWorker.open({
    cluster: c,
    name: cluster.node,
    dataDir: stringOpt(v, "data") ?? "dcomhunt-data",
    compiled,
    runOptions,
    metrics: new Metrics(),
    outputs,
    leaseTtlMs: cluster.leaseTtlMs,
    ackWaitMs: positive(intOpt(v, "ack-wait", 10, "serve"), "ack-wait") * 1000,
    idleFlushMs: intOpt(v, "idle-flush", 5, "serve") * 1000,
    windowSeconds: intOpt(v, "window", 60, "serve"),
    reorderWindowSeconds: intOpt(v, "reorder-window", 10, "serve"),
    log: quiet
      ? undefined
      : (line) => process.stderr.write(`dcomhunt serve --worker ${cluster.node}: ${line}\n`),
  });
  if (!quiet)
    process.stderr.write(
      `dcomhunt serve: worker ${cluster.node} joined ${cluster.url} (${ruleCount} rules; ${worker.store.count} alerts stored)\n`,
    );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await worker.close();
  return EXIT_OK;
}
