/**
 * `dcomhunt replay FILES --to URL`: send a recording to a running `dcomhunt serve` (or any HEC
 * endpoint) with src/ingest/replay.ts. This file only wires options.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { replay } from "../ingest/replay.js";
import { tokenWithRole } from "../ingest/server.js";
import { newInputStats } from "../readers/index.js";
import { formatSummary } from "../report/summary.js";
import {
  type Command,
  type CommandSpec,
  EXIT_INPUT,
  EXIT_OK,
  helpText,
  intOpt,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";

export const replaySpec: CommandSpec = {
  name: "replay",
  summary: "send a recording (any input scan reads) to a running dcomhunt serve or HEC endpoint",
  usage: "dcomhunt replay <inputs...> [--to URL] [--token T] [--speed X] [options]",
  options: {
    to: { type: "string" },
    token: { type: "string" },
    data: { type: "string" },
    speed: { type: "string" },
    batch: { type: "string" },
    concurrency: { type: "string" },
    gzip: { type: "boolean" },
    insecure: { type: "boolean" },
    "ack-timeout": { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  help: {
    to: "server base URL (default http://127.0.0.1:8088)",
    token: "HEC token (default $DCOMHUNT_HEC_TOKEN, else the first HEC token in DATA/tokens)",
    data: "serve's data folder, to read its token file (default ./dcomhunt-data)",
    speed: "0 (default) as fast as possible; 1 the recording's own pace; 10 ten times faster",
    batch: "events per request (default 500)",
    concurrency: "requests in flight (default 4)",
    gzip: "compress request bodies",
    insecure: "accept a self-signed TLS certificate",
    "ack-timeout": "seconds to wait for an acknowledgement before resending (default 60)",
    quiet: "no summary on standard error",
  },
  details:
    "Events go as XmlWinEventLog envelopes, in time order across files. Delivery is at least once: refused\n" +
    "batches (503, errors) and unacknowledged ones are resent. Exit 0 when every batch was delivered.",
};

function speedOpt(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n))
    throw new UsageError(`replay: --speed must be a number >= 0 (got '${text}')`);
  return n;
}

export const replayCommand: Command = async (argv) => {
  const args = parseCommandArgs(replaySpec, argv);
  if (!args) {
    process.stdout.write(helpText(replaySpec));
    return EXIT_OK;
  }
  const v = args.values;
  if (args.positionals.length === 0)
    throw new UsageError("replay: no input given (files, folders, or - for stdin)");
  const to = stringOpt(v, "to") ?? "http://127.0.0.1:8088";
  try {
    const u = new URL(to);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`replay: --to must be an http(s) URL (got '${to}')`);
  }
  let token = stringOpt(v, "token") ?? process.env.DCOMHUNT_HEC_TOKEN;
  if (token === undefined) {
    const file = path.join(stringOpt(v, "data") ?? "dcomhunt-data", "tokens");
    if (existsSync(file)) token = tokenWithRole(file, "hec");
  }
  if (token === undefined)
    throw new UsageError(
      "replay: no token: give --token, set DCOMHUNT_HEC_TOKEN, or run where serve keeps its data",
    );
  const stats = newInputStats();
  const report = await replay(args.positionals, {
    to,
    token,
    speed: speedOpt(stringOpt(v, "speed")),
    batchEvents: Math.max(1, intOpt(v, "batch", 500, "replay")),
    concurrency: Math.max(1, intOpt(v, "concurrency", 4, "replay")),
    gzip: v.gzip === true,
    insecure: v.insecure === true,
    ackTimeoutMs: intOpt(v, "ack-timeout", 60, "replay") * 1000,
    stats,
  }).catch((err: Error) => {
    if (/^replay: /.test(err.message)) throw new UsageError(err.message.replace(/^replay: /, "replay: "));
    throw err;
  });
  if (v.quiet !== true) {
    process.stderr.write(
      formatSummary({
        files: stats.files,
        bytes: stats.bytes,
        records: stats.records,
        skipped: stats.skipped,
        duplicates: 0,
        issues: stats.issues,
        issueCounts: stats.issueCounts,
        seconds: report.seconds,
        filtered: false,
        lines: [
          `sent ${report.events} events in ${report.batches} batches to ${to}: ${report.delivered} delivered${report.acks ? " (acknowledged)" : ""}, ${report.resent} resent, ${report.refused} refused`,
        ],
      }),
    );
  }
  if (stats.issues.some((i) => i.lost !== "none") || stats.skipped > 0) return EXIT_INPUT;
  return EXIT_OK;
};
