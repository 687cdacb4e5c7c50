/**
 * `dcomhunt serve`: live detection behind a Splunk HEC endpoint (src/ingest), alerts to a durable
 * store (src/alerts), standard output and a webhook. This file only wires options to those modules.
 */
import { type AlertOutput, ndjsonOutput, webhookOutput } from "../alerts/outputs.js";
import { startServer } from "../ingest/server.js";
import { selectRules } from "../rules/loader.js";
import { compileRules } from "../rules/run.js";
import {
  type Command,
  type CommandSpec,
  EXIT_OK,
  helpText,
  intOpt,
  listOpt,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";
import { ruleChecks } from "./scan.js";

export const serveSpec: CommandSpec = {
  name: "serve",
  summary: "live detection: take events as Splunk HEC does, run the rules as they arrive, store alerts",
  usage: "dcomhunt serve [--rules SEL]... [--listen HOST:PORT] [--tokens FILE] [--data DIR] [options]",
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
    queue: "events accepted but not yet processed before HEC answers 503 code 9 (default 100000)",
    "idle-flush":
      "seconds without events after which open correlation incidents are closed (default 5; 0 never)",
    window: "seconds per run of a search rule that needs many events (stats, dedup...) (default 60)",
    "reorder-window": "seconds of event-time disorder tolerated before correlation (default 10)",
    "keep-journal":
      "keep every ingest journal segment (audit; by default segments no rule needs are deleted)",
    "allow-query-token": "also accept the token as ?token= (HEC's allowQueryStringAuth)",
    ...fieldViewOptionHelp,
    quiet: "no start-up message on standard error",
  },
  details:
    "Endpoints: POST /services/collector[/event], /services/collector/raw, /services/collector/ack;\n" +
    "GET /services/collector/health; GET /alerts?since=&rule=&host=&limit= and /metrics (read token).\n" +
    "SIGUSR2 closes open correlation incidents at once (end of a recording); SIGINT/SIGTERM stop.\n" +
    "See docs/serve.md for codes, acknowledgement and durability.",
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
      maxQueuedEvents: intOpt(v, "queue", 100000, "serve"),
      allowQueryToken: v["allow-query-token"] === true,
      keepJournal: v["keep-journal"] === true,
      idleFlushSeconds: intOpt(v, "idle-flush", 5, "serve"),
      windowSeconds: intOpt(v, "window", 60, "serve"),
      reorderWindowSeconds: intOpt(v, "reorder-window", 10, "serve"),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "ENOENT" || /token/.test(e.message))
      throw new UsageError(`serve: ${e.message}`);
    throw err;
  }
  if (v.quiet !== true) {
    const stored = running.pipeline.store.count;
    process.stderr.write(
      `dcomhunt serve: listening on ${running.url} (${rules.length} rules; tokens in ${running.tokensFile}; ${stored} alerts stored)\n`,
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
