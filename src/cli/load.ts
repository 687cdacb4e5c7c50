/** `dcomhunt load`: wires the readers' inputs to an engine's loader (src/engines/load.ts). */
import { statSync } from "node:fs";
import { type FileLoad, loadInto, openEngine } from "../engines/index.js";
import { expandInputs, newInputStats } from "../readers/index.js";
import { ProgressBar } from "../report/progress.js";
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
import { engineOptionHelp, engineOptionSpecs, engineTargetFromArgs } from "./engine-options.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";

export const loadSpec: CommandSpec = {
  name: "load",
  summary: "load logs into DuckDB or ClickHouse, to run the rules there (scan --engine)",
  usage: "dcomhunt load <inputs...> [--into duckdb:PATH|clickhouse://HOST:PORT[,HOST:PORT...]/DB] [options]",
  options: {
    into: { type: "string" },
    ...engineOptionSpecs,
    resume: { type: "boolean" },
    "no-raw": { type: "boolean" },
    "batch-rows": { type: "string" },
    ...fieldViewOptionSpecs,
    threads: { type: "string" },
    strict: { type: "boolean" },
    "no-progress": { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
  },
  help: {
    into: "where to load (default duckdb:dcomhunt.duckdb)",
    ...engineOptionHelp,
    resume: "skip the files a previous load finished and continue a file after its last stored batch",
    "no-raw": "do not store _raw (the event XML): smaller, faster; bare-term searches then fail",
    "batch-rows": "events per insert (default 20000; a batch is also cut at 8 MB of encoded rows)",
    ...fieldViewOptionHelp,
    threads: "EVTX parsing worker threads (default 0)",
    strict: "stop at the first problem with the input",
    "no-progress": "never draw the progress bar",
    quiet: "no summary on standard error",
  },
  details:
    "Inputs: files, folders (recursive), .gz/.zip, '-' for stdin: the same readers as scan.\n" +
    "Loading the same events twice keeps one copy (Computer, Channel, EventRecordID, time).\n" +
    "Exit codes: 0 done, 2 usage error, 3 some input could not be read or a batch could not be stored (then run again with --resume).",
};

function fileLine(f: FileLoad): string {
  const mb = f.bytes / 1048576;
  const rate = f.seconds > 0 ? ` (${(mb / f.seconds).toFixed(1)} MB/s)` : "";
  const resumed =
    f.resumedAfter > 0 && f.status !== "already loaded" ? `, resumed after record ${f.resumedAfter}` : "";
  return `  ${f.status.padEnd(14)} ${String(f.events).padStart(9)} events  ${mb.toFixed(1).padStart(8)} MB in ${f.seconds.toFixed(2)} s${rate}${resumed}  ${f.file}`;
}

export const loadCommand: Command = async (argv) => {
  const args = parseCommandArgs(loadSpec, argv);
  if (!args) {
    process.stdout.write(helpText(loadSpec));
    return EXIT_OK;
  }
  const values = args.values;
  const inputs = args.positionals;
  if (inputs.length === 0) throw new UsageError("load: no input given (files, folders, or - for stdin)");
  const target = engineTargetFromArgs(
    stringOpt(values, "into") ?? "duckdb:dcomhunt.duckdb",
    values,
    "load",
    "--into",
  );
  const fieldView = fieldViewFromArgs(values, "load");
  const quiet = values.quiet === true;
  const batchRows = values["batch-rows"] === undefined ? undefined : intOpt(values, "batch-rows", 1, "load");
  const threads = values.threads === undefined ? undefined : intOpt(values, "threads", 0, "load");

  const stats = newInputStats();
  let progress: ProgressBar | undefined;
  if (!quiet && values["no-progress"] !== true && process.stderr.isTTY && !process.env.CI) {
    let total = 0;
    for (const f of expandInputs(inputs)) {
      try {
        if (f !== "-") total += statSync(f).size;
      } catch {
        // reported by the reader
      }
    }
    progress = new ProgressBar(total);
  }
  const engine = await openEngine(target);
  let result: Awaited<ReturnType<typeof loadInto>>;
  try {
    result = await loadInto(engine, inputs, {
      fieldView,
      raw: values["no-raw"] !== true,
      resume: values.resume === true,
      batchRows,
      threads,
      strict: values.strict === true,
      stats,
      onBytes: progress ? (n) => progress?.addBytes(n, stats.records) : undefined,
      onNote: quiet
        ? undefined
        : (text) => {
            progress?.done();
            process.stderr.write(`dcomhunt: ${text}\n`);
          },
    });
  } finally {
    progress?.done();
    await engine.close();
  }
  if (!quiet) {
    const lines = [
      `loaded into ${engine.description}: ${result.events} event(s) sent, ${result.rowsInTable >= 0 ? `${result.rowsInTable} in the table` : "table size unknown"}` +
        (result.duplicatesRemoved !== undefined ? `, ${result.duplicatesRemoved} duplicate(s) removed` : ""),
      "per file:",
      ...result.files.map(fileLine),
    ];
    if (result.failure) {
      const f = result.failure;
      lines.push(
        `load stopped: ${f.file}: records ${f.fromRecord}-${f.toRecord} not stored: ${f.reason}`,
        "run the same command with --resume to continue (nothing is doubled)",
      );
    }
    process.stderr.write(
      formatSummary({
        files: result.stats.files,
        bytes: result.stats.bytes,
        records: result.stats.records,
        skipped: result.stats.skipped,
        issues: result.stats.issues,
        issueCounts: result.stats.issueCounts,
        seconds: result.seconds,
        lines,
      }),
    );
  }
  if (result.failure) return EXIT_INPUT;
  if (result.stats.issues.some((i) => i.lost !== "none") || result.stats.skipped > 0) return EXIT_INPUT;
  return EXIT_OK;
};
