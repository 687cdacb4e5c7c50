/**
 * `dcomhunt report RESULTS.json|RESULTS.ndjson -o report.html`: the HTML report of a saved result.
 * Wires report/html (the page, the saved-result reader) to the output.
 */
import { existsSync } from "node:fs";
import { loadReportApp } from "../report/html/page.js";
import { SavedResultError, writeSavedResultPage } from "../report/html/saved.js";
import {
  type Command,
  type CommandSpec,
  EXIT_INPUT,
  EXIT_OK,
  helpText,
  openOutput,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";

export const reportSpec: CommandSpec = {
  name: "report",
  summary: "write the HTML report of a saved json/ndjson result",
  usage: "dcomhunt report RESULTS.json|RESULTS.ndjson [-o report.html]",
  options: {
    output: { type: "string", short: "o" },
    quiet: { type: "boolean", short: "q" },
  },
  help: {
    output: "write the page to FILE instead of standard output",
    quiet: "no summary on standard error",
  },
  details:
    "The result is what 'dcomhunt scan --format json|ndjson' wrote; with --report-data it also holds the\n" +
    "evidence events' fields (process trees), the step mapping and the run record (inputs, hashes, problems).\n" +
    "The page is one offline file: no network access, scripts and styles inlined.\n" +
    "Exit codes: 0 done, 2 usage error, 3 the result file (or some of its lines) could not be read.",
};

export const reportCommand: Command = async (argv) => {
  const args = parseCommandArgs(reportSpec, argv);
  if (!args) {
    process.stdout.write(helpText(reportSpec));
    return EXIT_OK;
  }
  if (args.positionals.length !== 1)
    throw new UsageError("report: give one result file (see 'dcomhunt report --help')");
  const file = args.positionals[0];
  if (!existsSync(file)) throw new UsageError(`report: no such file '${file}'`);
  const app = loadReportApp();
  if (typeof app === "string") throw new UsageError(`report: ${app}`);
  const out = openOutput(stringOpt(args.values, "output"));
  let summary: Awaited<ReturnType<typeof writeSavedResultPage>>;
  try {
    summary = await writeSavedResultPage(file, (t) => out.write(t), app);
  } catch (err) {
    await out.close();
    if (err instanceof SavedResultError) {
      process.stderr.write(`dcomhunt: ${err.message}\n`);
      return EXIT_INPUT;
    }
    throw err;
  }
  await out.close();
  if (args.values.quiet !== true) {
    for (const p of summary.problems) process.stderr.write(`dcomhunt: ${file}: ${p.location}: ${p.reason}\n`);
    process.stderr.write(
      `dcomhunt: report of ${summary.elements} result element(s)` +
        (summary.problems.length ? `, ${summary.problems.length} left out` : "") +
        "\n",
    );
  }
  return summary.problems.length > 0 ? EXIT_INPUT : EXIT_OK;
};
