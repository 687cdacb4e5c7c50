/**
 * `dcomhunt scan` (rules over logs) and `dcomhunt search` (ad-hoc SPL over logs): the main job.
 * Wires rules/ (selection, compilation, the one-pass runner), readers/, report/ and the run summary,
 * progress bar and evidence manifest.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validateSequenceBlock } from "../correlate/index.js";
import { defaultFieldViewOptions } from "../events/fields.js";
import { expandInputs, newInputStats } from "../readers/index.js";
import { writeWholeFile } from "../report/output.js";
import { ProgressBar } from "../report/progress.js";
import { createResultWriter, type ResultFormat } from "../report/results.js";
import { formatQuietIssues, formatSummary } from "../report/summary.js";
import { type LoadedRule, type RuleChecks, selectRules } from "../rules/loader.js";
import { compileRules, type RunOptions, type RunResult, runRules } from "../rules/run.js";
import { compileSearchExpression, loadMacros, parseSpl, SplError } from "../spl/index.js";
import {
  formatAllowlistReport,
  formatSuppressedResults,
  loadAllowlist,
  suppressingSink,
} from "../tuning/index.js";
import {
  type Command,
  type CommandSpec,
  choiceOpt,
  EXIT_DETECTIONS,
  EXIT_INPUT,
  EXIT_OK,
  helpText,
  intOpt,
  listOpt,
  openOutput,
  type ParsedArgs,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";
import { parseTimeOption } from "./time-options.js";

const VERSION = "0.1.0";

/** Progress is drawn only for inputs at least this large. */
const PROGRESS_MIN_BYTES = 32 * 1048576;

const sharedOptions = {
  format: { type: "string", short: "f" },
  output: { type: "string", short: "o" },
  since: { type: "string" },
  until: { type: "string" },
  now: { type: "string" },
  ...fieldViewOptionSpecs,
  threads: { type: "string" },
  macros: { type: "string" },
  lookups: { type: "string" },
  "no-dedup": { type: "boolean" },
  manifest: { type: "string" },
  "no-progress": { type: "boolean" },
  "fail-on-detect": { type: "boolean" },
  full: { type: "boolean" },
  explain: { type: "boolean" },
  allowlist: { type: "string" },
  "show-suppressed": { type: "boolean" },
  strict: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
} as const;

const sharedHelp: Record<string, string> = {
  format: "table (default), csv, json or ndjson",
  output: "write results to FILE instead of standard output",
  since: "only events at or after this time (ISO 8601, or relative like -24h)",
  until: "only events before this time",
  now: "the search's 'now' for relative times (ISO 8601; default: the wall clock)",
  ...fieldViewOptionHelp,
  threads: "EVTX parsing worker threads (default 0: in-process, measured faster than workers on 2 cores)",
  macros: "macros.conf file for `macro` references in SPL",
  lookups: "folder of CSV lookup tables for lookup/inputlookup",
  "no-dedup": "keep duplicate events (same Computer, Channel, EventRecordID and time read twice)",
  manifest: "write a JSON record of the run (inputs with SHA-256, rules, options, counts) to FILE",
  "no-progress": "never draw the progress bar",
  "fail-on-detect": "exit code 1 when anything is detected",
  full: "table: show long values whole",
  explain: "show why each correlation alert fired",
  allowlist: "YAML allowlist of known-good results to suppress (see docs/tuning.md)",
  "show-suppressed": "list the suppressed results in the summary",
  strict: "stop at the first problem with the input",
  quiet: "no summary on standard error",
};

export const scanSpec: CommandSpec = {
  name: "scan",
  summary: "run detection rules (default: all bundled rules) over logs",
  usage:
    "dcomhunt scan [inputs...] [--rules SEL]... [--format table|csv|json|ndjson] [-o FILE] [--since T] [--until T] [options]",
  options: { rules: { type: "string", short: "r", multiple: true }, ...sharedOptions },
  help: {
    rules:
      "what runs: a pack (seed, dcom, all), a rule id or name, or a rule file/folder (repeatable; default all)",
    ...sharedHelp,
  },
  details:
    "With no input, scans the bundled demo telemetry. Inputs: files, folders (recursive), .gz/.zip, '-' for stdin.\n" +
    "Exit codes: 0 done, 1 detections with --fail-on-detect, 2 usage/rule/SPL error, 3 some input could not be read,\n4 output could not be written.",
};

export const searchSpec: CommandSpec = {
  name: "search",
  summary: "run an ad-hoc SPL search over logs",
  usage: "dcomhunt search '<SPL>' [inputs...] | dcomhunt search --spl-file FILE [inputs...]",
  options: { "spl-file": { type: "string" }, ...sharedOptions },
  help: { "spl-file": "read the SPL from FILE instead of the first argument", ...sharedHelp },
  details: scanSpec.details,
};

/** The bundled demo data: `demo/demo.evtx` of the package (built by src/emulate/build-demo.ts). */
export function demoInputs(): string[] {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "demo", "demo.evtx");
  return existsSync(file) ? [file] : [];
}

/** SPL and sequence checks applied when rule files load, so a bad rule stops the run before reading. */
export function ruleChecks(macrosFile?: string): RuleChecks {
  const macros = macrosFile ? loadMacros(macrosFile) : undefined;
  return {
    search: (spl) => {
      try {
        parseSpl(spl, { macros });
        return [];
      } catch (err) {
        if (err instanceof SplError)
          return [
            {
              line: err.line,
              col: err.col,
              message: err.message.split("\n")[0].replace(/^[^:]*:\d+:\d+: /, ""),
            },
          ];
        throw err;
      }
    },
    // Schema, semantic checks and each step's SPL (an SPL error names the step's path in the file).
    sequence: (seq) =>
      validateSequenceBlock(seq, (expr) =>
        compileSearchExpression(expr, { fieldView: defaultFieldViewOptions, macros }),
      ).map((p) => ({ path: p.path, message: p.message.split("\n")[0] })),
  };
}

function runOptions(values: ParsedArgs["values"], command: string): RunOptions {
  const fieldView = fieldViewFromArgs(values, command);
  const nowText = stringOpt(values, "now");
  const wall = Date.now() / 1000;
  const now =
    nowText === undefined
      ? undefined
      : Number(parseTimeOption("now", nowText, fieldView.tz, wall) - 116444736000000000n) / 1e7;
  const anchor = now ?? wall;
  const since = stringOpt(values, "since");
  const until = stringOpt(values, "until");
  const macrosFile = stringOpt(values, "macros");
  if (macrosFile !== undefined && !existsSync(macrosFile))
    throw new UsageError(`${command}: --macros: no such file '${macrosFile}'`);
  const lookupsDir = stringOpt(values, "lookups");
  if (lookupsDir !== undefined && !existsSync(lookupsDir))
    throw new UsageError(`${command}: --lookups: no such folder '${lookupsDir}'`);
  return {
    fieldView,
    now,
    macros: macrosFile ? loadMacros(macrosFile) : undefined,
    lookupsDir,
    sinceTicks: since === undefined ? undefined : parseTimeOption("since", since, fieldView.tz, anchor),
    untilTicks: until === undefined ? undefined : parseTimeOption("until", until, fieldView.tz, anchor),
    dedup: values["no-dedup"] !== true,
    threads: values.threads === undefined ? undefined : intOpt(values, "threads", 0, command),
    strict: values.strict === true,
  };
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function writeManifest(
  file: string,
  inputs: string[],
  rules: LoadedRule[],
  argv: string[],
  result: RunResult,
  startedAt: Date,
  reported: Map<string, number>,
  suppressed: Map<string, number> | undefined,
  allowlistFile: string | undefined,
): Promise<void> {
  const files = [];
  for (const f of expandInputs(inputs)) {
    if (f === "-") {
      files.push({ path: "-", note: "standard input: not hashed" });
      continue;
    }
    try {
      files.push({ path: path.resolve(f), size: statSync(f).size, sha256: await sha256File(f) });
    } catch (err) {
      files.push({ path: path.resolve(f), error: (err as Error).message });
    }
  }
  const manifest = {
    tool: { name: "dcomhunt", version: VERSION, node: process.version },
    started: startedAt.toISOString(),
    finished: new Date().toISOString(),
    command: argv,
    inputs: files,
    rules: rules.map((r) => ({ id: r.id, name: r.name, version: r.version, file: r.file })),
    allowlist: allowlistFile === undefined ? undefined : path.resolve(allowlistFile),
    counts: {
      files: result.stats.files,
      bytes: result.stats.bytes,
      records: result.stats.records,
      skipped: result.stats.skipped,
      duplicates: result.duplicates,
      events_evaluated: result.events,
      results_per_rule: Object.fromEntries(reported),
      suppressed_per_rule: suppressed ? Object.fromEntries(suppressed) : undefined,
      input_problems: Object.fromEntries(result.stats.issueCounts),
    },
  };
  await writeWholeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

async function totalSize(inputs: string[]): Promise<number> {
  let total = 0;
  for (const f of expandInputs(inputs)) {
    try {
      if (f !== "-") total += statSync(f).size;
    } catch {
      // reported by the reader
    }
  }
  return total;
}

async function execute(
  command: "scan" | "search",
  args: ParsedArgs,
  rules: LoadedRule[],
  inputs: string[],
  argv: string[],
): Promise<number> {
  const startedAt = new Date();
  const values = args.values;
  const format = choiceOpt(
    values,
    "format",
    ["table", "csv", "json", "ndjson"] as const,
    "table",
    command,
  ) as ResultFormat;
  const opts = runOptions(values, command);
  const compiled = compileRules(rules, opts);
  const quiet = values.quiet === true;

  const showProgress =
    !quiet && values["no-progress"] !== true && Boolean(process.stderr.isTTY) && !process.env.CI;
  const total = showProgress ? await totalSize(inputs) : 0;
  const progress = showProgress && total >= PROGRESS_MIN_BYTES ? new ProgressBar(total) : undefined;
  const stats = newInputStats();
  opts.stats = stats;
  opts.onBytes = progress ? (n) => progress.addBytes(n, stats.records) : undefined;

  const allowlistFile = stringOpt(values, "allowlist");
  const allowlist = allowlistFile === undefined ? undefined : loadAllowlist(allowlistFile);
  const warnings = allowlist ? allowlist.setRules(rules) : [];
  if (!quiet)
    for (const p of warnings) process.stderr.write(`${p.file}:${p.line}:${p.col}: warning: ${p.message}\n`);

  const out = openOutput(stringOpt(values, "output"));
  const writer = createResultWriter(format, out, rules, {
    tz: opts.fieldView.tz,
    full: values.full === true,
    // On a terminal, table lines fit its width (--full shows values whole instead).
    width: out.isTTY ? process.stdout.columns : undefined,
    explain: values.explain === true,
  });
  const tuned = allowlist
    ? suppressingSink(allowlist, writer, {
        tz: opts.fieldView.tz,
        keep: values["show-suppressed"] === true,
        evidenceFieldsOf: (_rule, alert) => alert.evidence.map((e) => e.fields ?? {}),
      })
    : undefined;
  let result: RunResult;
  try {
    result = await runRules(compiled, inputs, opts, tuned ?? writer);
  } finally {
    progress?.done();
  }
  await writer.finish();
  await out.close();

  // With an allowlist, what counts is what was reported after tuning.
  const reported = tuned ? tuned.reported : result.rowsPerRule;
  const detections = [...reported.values()].reduce((a, b) => a + b, 0);
  const manifestFile = stringOpt(values, "manifest");
  if (manifestFile) {
    await writeManifest(
      manifestFile,
      inputs,
      rules,
      argv,
      result,
      startedAt,
      reported,
      tuned?.suppressedPerRule,
      allowlistFile,
    );
  }
  if (quiet) process.stderr.write(formatQuietIssues(result.stats.issues, result.stats.issueCounts));
  else {
    const lines = rules.map((r) => {
      const n = reported.get(r.id) ?? 0;
      const sup = tuned?.suppressedPerRule.get(r.id);
      return `  ${r.sequence ? "alerts" : "rows"}: ${String(n).padStart(6)}  ${r.name}${sup ? ` (${sup} suppressed)` : ""}`;
    });
    for (const r of rules) {
      const d = result.dropped?.get(r.id);
      if (!d) continue;
      const parts = [];
      if (d.evicted) parts.push(`${d.evicted} partial match(es) evicted (max_partials reached)`);
      if (d.untimed) parts.push(`${d.untimed} event(s) without a time ignored`);
      lines.push(`  correlation state dropped: ${r.name}: ${parts.join(", ")}`);
    }
    if (allowlist) lines.push(...formatAllowlistReport(allowlist.report()));
    if (tuned && values["show-suppressed"] === true) lines.push(...formatSuppressedResults(tuned.suppressed));
    process.stderr.write(
      formatSummary({
        files: result.stats.files,
        bytes: result.stats.bytes,
        records: result.stats.records,
        skipped: result.stats.skipped,
        duplicates: result.duplicates,
        issues: result.stats.issues,
        issueCounts: result.stats.issueCounts,
        seconds: result.seconds,
        filtered: result.filtered,
        lines: [`results per rule (${result.events} events evaluated):`, ...lines],
      }),
    );
  }
  if (result.stats.issues.some((i) => i.lost !== "none") || result.stats.skipped > 0) return EXIT_INPUT;
  if (values["fail-on-detect"] === true && detections > 0) return EXIT_DETECTIONS;
  return EXIT_OK;
}

export const scanCommand: Command = async (argv) => {
  const args = parseCommandArgs(scanSpec, argv);
  if (!args) {
    process.stdout.write(helpText(scanSpec));
    return EXIT_OK;
  }
  const rules = selectRules(listOpt(args.values, "rules"), ruleChecks(stringOpt(args.values, "macros")));
  if (rules.length === 0) throw new UsageError("scan: no rule selected");
  let inputs = args.positionals;
  if (inputs.length === 0) {
    inputs = demoInputs();
    if (inputs.length === 0) throw new UsageError("scan: no input given and no bundled demo data found");
    if (args.values.quiet !== true)
      process.stderr.write(`dcomhunt: no input given: scanning the bundled demo data (${inputs[0]})\n`);
  }
  return execute("scan", args, rules, inputs, argv);
};

export const searchCommand: Command = async (argv) => {
  const args = parseCommandArgs(searchSpec, argv);
  if (!args) {
    process.stdout.write(helpText(searchSpec));
    return EXIT_OK;
  }
  const splFile = stringOpt(args.values, "spl-file");
  let spl: string;
  let inputs: string[];
  let file: string;
  if (splFile !== undefined) {
    if (!existsSync(splFile)) throw new UsageError(`search: --spl-file: no such file '${splFile}'`);
    spl = readFileSync(splFile, "utf8");
    inputs = args.positionals;
    file = splFile;
  } else {
    if (args.positionals.length === 0)
      throw new UsageError("search: no SPL given (see 'dcomhunt search --help')");
    [spl, ...inputs] = args.positionals;
    file = "spl";
  }
  if (inputs.length === 0) {
    // As the help says (and as scan does): no input searches the bundled demo data.
    inputs = demoInputs();
    if (inputs.length === 0) throw new UsageError("search: no input given and no bundled demo data found");
    if (args.values.quiet !== true)
      process.stderr.write(`dcomhunt: no input given: searching the bundled demo data (${inputs[0]})\n`);
  }
  const macrosFile = stringOpt(args.values, "macros");
  parseSpl(spl, { file, macros: macrosFile ? loadMacros(macrosFile) : undefined });
  const rule: LoadedRule = {
    name: "search",
    id: "adhoc",
    version: 1,
    date: new Date().toISOString().slice(0, 10),
    author: "command line",
    status: "experimental",
    type: "Hunting",
    pack: "adhoc",
    description: "ad-hoc search",
    search: spl,
    data_source: [],
    how_to_implement: "",
    known_false_positives: "",
    mitre: { tactic: [], technique: [] },
    severity: "low",
    file,
  };
  return execute("search", args, [rule], inputs, argv);
};
