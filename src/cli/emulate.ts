/**
 * `dcomhunt emulate <scenario>... [--format evtx|xml|ndjson] [-o FILE] [--seed N] [--start T] [--noise N]`:
 * write the telemetry the scenarios produce on real Windows (see src/emulate/), deterministic for
 * a given seed and start. `--list` names and describes every scenario.
 */
import { DEFAULT_START, emulate, findScenario, scenarios } from "../emulate/index.js";
import { type EmulateFormat, formatForPath, renderEvtx, textPieces } from "../emulate/output.js";
import { ticksFromIso } from "../events/time.js";
import { writeEvtxFile } from "../readers/evtx/index.js";
import { writeFileVia } from "../report/output.js";
import {
  type Command,
  type CommandSpec,
  choiceOpt,
  EXIT_OK,
  helpText,
  intOpt,
  openOutput,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";

export const emulateSpec: CommandSpec = {
  name: "emulate",
  summary: "write the telemetry DCOM lateral movement (and its look-alikes) leaves on Windows",
  usage:
    "dcomhunt emulate <scenario>... [--format evtx|xml|ndjson] [-o FILE] [--seed N] [--start T] [--noise N] | --list",
  options: {
    list: { type: "boolean", short: "l" },
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
    seed: { type: "string" },
    start: { type: "string" },
    noise: { type: "string" },
  },
  help: {
    list: "name and describe every scenario",
    format: "evtx, xml or ndjson (default: from the -o extension, .evtx/.xml, else ndjson)",
    output: "write to FILE instead of standard output",
    seed: "random seed (default 1): same seed, same events",
    start: `ISO start time of the first scenario, UTC unless it has a zone (default ${DEFAULT_START})`,
    noise: "add N events of ordinary background activity (default 0)",
  },
  details:
    "Scenario names: see --list; 'all', 'attacks' and 'benign' select groups. Several scenarios are\n" +
    "merged in time order, ten minutes apart, on one small estate (WKS01, SRV-APP02, SRV-FILE03).\n" +
    'ndjson is the evtx_dump/Chainsaw JSON shape ({"Event":{"System":...,"EventData":...}}).',
};

/** Scenario names from the positionals, with the group names expanded. */
export function resolveScenarioNames(positionals: string[]): string[] {
  const names: string[] = [];
  for (const arg of positionals) {
    const a = arg.toLowerCase();
    if (a === "all") names.push(...scenarios.map((s) => s.name));
    else if (a === "attacks") names.push(...scenarios.filter((s) => s.kind === "attack").map((s) => s.name));
    else if (a === "benign") names.push(...scenarios.filter((s) => s.kind === "benign").map((s) => s.name));
    else if (findScenario(a)) names.push(a);
    else throw new UsageError(`emulate: unknown scenario '${arg}' (see 'dcomhunt emulate --list')`);
  }
  return names;
}

export function scenarioListText(): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  const lines: string[] = [];
  for (const s of scenarios) {
    const tag = s.kind === "attack" ? `attack ${s.variant ?? ""}`.trim() : "benign";
    lines.push(`${s.name.padEnd(width)}  [${tag}${s.loopback ? ", loopback" : ""}] ${s.description}`);
  }
  return `${lines.join("\n")}\n`;
}

export const emulateCommand: Command = async (argv) => {
  const args = parseCommandArgs(emulateSpec, argv);
  if (!args) {
    process.stdout.write(helpText(emulateSpec));
    return EXIT_OK;
  }
  if (args.values.list === true) {
    process.stdout.write(scenarioListText());
    return EXIT_OK;
  }
  if (args.positionals.length === 0)
    throw new UsageError("emulate: no scenario given (see 'dcomhunt emulate --list')");
  const names = resolveScenarioNames(args.positionals);
  const outputPath = stringOpt(args.values, "output");
  const format: EmulateFormat = choiceOpt(
    args.values,
    "format",
    ["evtx", "xml", "ndjson"] as const,
    formatForPath(outputPath),
    "emulate",
  );
  const seed = intOpt(args.values, "seed", 1, "emulate");
  if (seed > 0xffffffff)
    throw new UsageError(`emulate: --seed must be at most ${0xffffffff} (got '${seed}')`);
  const noise = intOpt(args.values, "noise", 0, "emulate");
  if (noise > 1_000_000) throw new UsageError(`emulate: --noise must be at most 1000000 (got '${noise}')`);
  const start = stringOpt(args.values, "start");
  if (start !== undefined && ticksFromIso(start, 0) === undefined) {
    throw new UsageError(
      `emulate: --start must be an ISO timestamp such as 2024-03-12T09:00:00Z (got '${start}')`,
    );
  }
  const events = emulate(names, { seed, noise, ...(start !== undefined ? { start } : {}) });
  const toStdout = outputPath === undefined || outputPath === "-";
  if (format === "evtx" && toStdout && process.stdout.isTTY) {
    throw new UsageError("emulate: refusing to write binary EVTX to a terminal (use -o FILE.evtx)");
  }
  if (format === "evtx" && outputPath !== undefined && !toStdout) {
    await writeFileVia(outputPath, (tmp) => writeEvtxFile(tmp, events)); // chunk by chunk
    return EXIT_OK;
  }
  // A reader that stops early (| head) closes the pipe: that ends the output, it is not an error.
  const out = openOutput(outputPath);
  if (format === "evtx") {
    // The file header (written last by the writer) leads the file: build it whole for a pipe.
    await out.write(renderEvtx(events));
  } else {
    let batch: string[] = [];
    let size = 0;
    for (const piece of textPieces(events, format)) {
      batch.push(piece);
      size += piece.length;
      if (size >= 1 << 20) {
        await out.write(batch.join(""));
        batch = [];
        size = 0;
      }
    }
    await out.write(batch.join(""));
  }
  await out.close();
  return EXIT_OK;
};
