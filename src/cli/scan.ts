/**
 * `dcomhunt scan` (rules over logs) and `dcomhunt search` (ad-hoc SPL over logs): the main job.
 * Wires rules/ (selection, compilation, the one-pass runner), readers/, report/ and the run summary,
 * progress bar and evidence manifest.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validateSequenceBlock } from "../correlate/index.js";
import { openEngine, runRulesInEngine } from "../engines/index.js";
import { defaultFieldViewOptions } from "../events/fields.js";
import { expandInputs, newInputStats } from "../readers/index.js";
import { loadReportApp } from "../report/html/page.js";
import { writeWholeFile } from "../report/output.js";
import { ProgressBar } from "../report/progress.js";
import { createResultWriter, type ResultFormat } from "../report/results.js";
import { buildRunRecord, describeInputs, type InputRecord } from "../report/run-record.js";
import { formatQuietIssues, formatSummary } from "../report/summary.js";
import { type LoadedRule, type RuleChecks, type RuleProblem, selectRules } from "../rules/loader.js";
import { compileRules, type RunOptions, type RunResult, runRules } from "../rules/run.js";
import { ensureHeapGuard } from "../runtime/heap.js";
import { loadSigmaPlaceholders } from "../sigma/placeholders.js";
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
import { engineOptionHelp, engineOptionSpecs, engineTargetFromArgs } from "./engine-options.js";
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
  "report-data": { type: "boolean" },
  allowlist: { type: "string" },
  "show-suppressed": { type: "boolean" },
  strict: { type: "boolean" },
  recover: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  engine: { type: "string" },
  ...engineOptionSpecs,
} as const;

const sharedHelp: Record<string, string> = {
  format: "table (default), csv, json, ndjson or html (one offline page: graph, incidents, tables)",
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
  "report-data":
    "json/ndjson: add what 'dcomhunt report' shows (evidence fields and steps, a closing run record)",
  allowlist: "YAML allowlist of known-good results to suppress (see docs/tuning.md)",
  "show-suppressed": "list the suppressed results in the summary",
  strict: "stop at the first problem with the input",
  recover:
    "EVTX forensics: also read records that are not live (stale in a chunk's slack, torn chunks), flagged _recovered",
  quiet: "no summary on standard error",
  engine:
    "run the rules inside an engine loaded by 'dcomhunt load': duckdb:PATH or clickhouse://HOST:PORT[,HOST:PORT...]/DB (no inputs then)",
  ...engineOptionHelp,
};

export const scanSpec: CommandSpec = {
  name: "scan",
  summary: "run detection rules (default: all bundled rules) over logs",
  usage:
    "dcomhunt scan [inputs...] [--rules SEL]... [--format table|csv|json|ndjson|html] [-o FILE] [--since T] [--until T] [options]",
  options: {
    rules: { type: "string", short: "r", multiple: true },
    "sigma-placeholders": { type: "string" },
    ...sharedOptions,
  },
  help: {
    rules:
      "what runs: a pack (seed, dcom, all), a rule id or name, or a rule file/folder: dcomhunt or Sigma rules (repeatable; default all)",
    "sigma-placeholders": "YAML map of Sigma `expand` placeholders to their values (name: [value, ...])",
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
    recover: values.recover === true,
  };
}

async function writeManifest(
  file: string,
  files: InputRecord[],
  rules: LoadedRule[],
  argv: string[],
  result: RunResult,
  startedAt: Date,
  reported: Map<string, number>,
  suppressed: Map<string, number> | undefined,
  allowlistFile: string | undefined,
): Promise<void> {
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
  rulesSkipped = 0,
): Promise<number> {
  const startedAt = new Date();
  // Bounded memory over large inputs: V8 would let garbage grow for hundreds of MB (runtime/heap.ts).
  ensureHeapGuard();
  const values = args.values;
  const format = choiceOpt(
    values,
    "format",
    ["table", "csv", "json", "ndjson", "html"] as const,
    "table",
    command,
  ) as ResultFormat;
  const app = format === "html" ? loadReportApp() : undefined;
  if (typeof app === "string") throw new UsageError(`${command}: --format html: ${app}`);
  const opts = runOptions(values, command);
  const engineText = stringOpt(values, "engine");
  const engineTarget =
    engineText === undefined ? undefined : engineTargetFromArgs(engineText, values, command, "--engine");
  if (engineTarget && inputs.length > 0)
    throw new UsageError(
      `${command}: --engine reads the loaded events: give no input files (load them with 'dcomhunt load')`,
    );
  const compiled = engineTarget ? [] : compileRules(rules, opts);
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
  // Set once the run is over; the html/json writer asks for the run record in finish().
  let finished: { result: RunResult } | undefined;
  let inputRecords: InputRecord[] | undefined;
  const inputsDescribed = async () => (inputRecords ??= await describeInputs(inputs, stats.recordsByFile));
  const withRunRecord = format === "html" || values["report-data"] === true;
  const writer = createResultWriter(format, out, rules, {
    tz: opts.fieldView.tz,
    full: values.full === true,
    // On a terminal, table lines fit its width (--full shows values whole instead).
    width: out.isTTY ? process.stdout.columns : undefined,
    explain: values.explain === true,
    details: values["report-data"] === true,
    app: typeof app === "object" ? app : undefined,
    runRecord: withRunRecord
      ? async () =>
          buildRunRecord({
            version: VERSION,
            started: startedAt,
            command: [command, ...argv],
            tz: opts.fieldView.tz,
            rules,
            inputs: await inputsDescribed(),
            stats,
            duplicates: finished?.result.duplicates ?? 0,
            events: finished?.result.events ?? 0,
            reported: tuned ? tuned.reported : (finished?.result.rowsPerRule ?? new Map()),
            suppressedPerRule: tuned?.suppressedPerRule,
            suppressed: values["show-suppressed"] === true ? tuned?.suppressed : undefined,
            allowlistFile,
          })
      : undefined,
  });
  const tuned = allowlist
    ? suppressingSink(allowlist, writer, {
        tz: opts.fieldView.tz,
        keep: values["show-suppressed"] === true,
        evidenceFieldsOf: (_rule, alert) => alert.evidence.map((e) => e.fields ?? {}),
      })
    : undefined;
  let result: RunResult;
  let engineNote: string | undefined;
  const notRun = new Set<string>();
  try {
    if (engineTarget) {
      const engine = await openEngine(engineTarget);
      try {
        const toSeconds = (t: bigint | undefined) =>
          t === undefined ? undefined : Number(t - 116444736000000000n) / 1e7;
        const r = await runRulesInEngine(
          engine,
          rules,
          {
            fieldView: opts.fieldView,
            range: { since: toSeconds(opts.sinceTicks), until: toSeconds(opts.untilTicks) },
            strictSubset: command === "search",
            onSkip: quiet
              ? undefined
              : (rule, reason) =>
                  process.stderr.write(`dcomhunt: rule '${rule.name}' not run in the engine: ${reason}\n`),
          },
          tuned ?? writer,
        );
        result = r;
        for (const sk of r.skipped) notRun.add(sk.rule.id);
        engineNote = `engine ${engine.description}: ${r.events} event(s) in range, ${rules.length - r.skipped.length} of ${rules.length} rule(s) run in ${r.seconds.toFixed(2)} s`;
      } finally {
        await engine.close();
      }
    } else {
      result = await runRules(compiled, inputs, opts, tuned ?? writer);
    }
  } finally {
    progress?.done();
  }
  finished = { result };
  await writer.finish();
  await out.close();

  // With an allowlist, what counts is what was reported after tuning.
  const reported = tuned ? tuned.reported : result.rowsPerRule;
  const detections = [...reported.values()].reduce((a, b) => a + b, 0);
  const manifestFile = stringOpt(values, "manifest");
  if (manifestFile) {
    await writeManifest(
      manifestFile,
      await inputsDescribed(),
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
      if (notRun.has(r.id)) return `  not run in the engine  ${r.name}`;
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
    if (engineNote) {
      process.stderr.write(`dcomhunt: ${engineNote}\nresults per rule:\n${lines.join("\n")}\n`);
    } else
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
          recovered: result.stats.recovered,
          lines: [
            ...(rulesSkipped ? [`rules skipped (cannot run here, warnings above): ${rulesSkipped}`] : []),
            `results per rule (${result.events} events evaluated):`,
            ...lines,
          ],
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
  const checks = ruleChecks(stringOpt(args.values, "macros"));
  const skippedRules: RuleProblem[] = [];
  checks.onSkip = (p) => skippedRules.push(p);
  const placeholders = stringOpt(args.values, "sigma-placeholders");
  if (placeholders !== undefined) checks.sigmaPlaceholders = loadSigmaPlaceholders(placeholders);
  const selected = selectRules(listOpt(args.values, "rules"), checks);
  if (args.values.quiet !== true)
    for (const p of skippedRules)
      process.stderr.write(`${p.file}:${p.line}:${p.col}: warning: ${p.message}\n`);
  // Rules this engine cannot run (security_content detections) are left out, counted on stderr.
  const rules = selected.filter((r) => r.blocked === undefined);
  const blocked = selected.length - rules.length;
  if (blocked > 0 && args.values.quiet !== true)
    process.stderr.write(
      `dcomhunt: ${blocked} of ${selected.length} selected rule(s) cannot run here and are skipped (see 'dcomhunt rules list' or 'rules coverage')\n`,
    );
  if (rules.length === 0) throw new UsageError("scan: no rule selected that can run");
  let inputs = args.positionals;
  if (inputs.length === 0 && args.values.engine === undefined) {
    inputs = demoInputs();
    if (inputs.length === 0) throw new UsageError("scan: no input given and no bundled demo data found");
    if (args.values.quiet !== true)
      process.stderr.write(`dcomhunt: no input given: scanning the bundled demo data (${inputs[0]})\n`);
  }
  return execute("scan", args, rules, inputs, argv, skippedRules.length);
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
  if (inputs.length === 0 && args.values.engine === undefined) {
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
