/**
 * The `dcomhunt` command line: dispatches to one module per command. Every command follows the
 * conventions of cli/common.ts; this file turns the errors they raise into one clear message and an
 * exit code (2 usage/SPL/rule error, 3 unreadable input in strict mode, 4 output could not be written).
 */
import { EngineError } from "../engines/types.js";
import { InputError } from "../events/model.js";
import { ExportError } from "../export/types.js";
import { abortOpenOutputs, EXIT_OUTPUT, OutputError } from "../report/output.js";
import { RuleError } from "../rules/loader.js";
import { type Command, EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError } from "./common.js";
import { convertCommand } from "./convert.js";

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

const commands: Record<string, CommandEntry> = {
  scan: {
    summary: "run detection rules over logs (no input: the bundled demo data)",
    load: async () => (await import("./scan.js")).scanCommand,
  },
  search: {
    summary: "run an ad-hoc SPL search over logs",
    load: async () => (await import("./scan.js")).searchCommand,
  },
  rules: {
    summary: "list, show and lint detection rules",
    load: async () => (await import("./rules.js")).rulesCommand,
  },
  validate: {
    summary: "run the rules' tests and print the pass/fail matrix",
    load: async () => (await import("./validate.js")).validateCommand,
  },
  emulate: {
    summary: "write the telemetry of attack and benign scenarios",
    load: async () => (await import("./emulate.js")).emulateCommand,
  },
  export: {
    summary: "compile rules for Splunk, Sigma, KQL, EQL, ES|QL or SQL",
    load: async () => (await import("./export.js")).exportCommand,
  },
  report: {
    summary: "write the HTML report of a saved json/ndjson result",
    load: async () => (await import("./report.js")).reportCommand,
  },
  load: {
    summary: "load logs into DuckDB or ClickHouse (then scan/search --engine)",
    load: async () => (await import("./load.js")).loadCommand,
  },
  convert: {
    summary: "turn EVTX/XML/JSON/CSV logs into NDJSON, CSV or XML",
    load: async () => convertCommand,
  },
  serve: {
    summary: "live detection over Splunk HEC (alerts stored durably; --cluster for NATS)",
    load: async () => (await import("./serve.js")).serveCommand,
  },
  replay: {
    summary: "send a recording to a running serve (or any HEC endpoint)",
    load: async () => (await import("./replay.js")).replayCommand,
  },
};

export function registerCommand(name: string, entry: CommandEntry): void {
  commands[name] = entry;
}

function version(): string {
  return "0.1.0";
}

function mainHelp(): string {
  const lines = [
    "dcomhunt: find DCOM lateral movement (MITRE ATT&CK T1021.003) in Windows event logs",
    "",
    "usage: dcomhunt <command> [options]   (dcomhunt <command> --help for details)",
    "",
    "commands:",
  ];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  return `${lines.join("\n")}\n`;
}

/** Errors that carry a position and a message meant for the user (SplError and friends). */
function isPositionedError(err: unknown): err is Error & { line: number; col: number } {
  return (
    err instanceof Error && typeof (err as { line?: unknown }).line === "number" && err.name !== "RuleError"
  );
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(mainHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`dcomhunt ${version()}\n`);
    return EXIT_OK;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`dcomhunt: unknown command '${name}' (see 'dcomhunt --help')\n`);
    return EXIT_USAGE;
  }
  try {
    const command = await entry.load();
    return await command(rest);
  } catch (err) {
    // Whatever failed, a half-written result file must not be left looking complete.
    abortOpenOutputs();
    if (err instanceof OutputError) {
      process.stderr.write(`dcomhunt: ${err.message}\n`);
      return EXIT_OUTPUT;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`dcomhunt ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof RuleError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof InputError) {
      process.stderr.write(`dcomhunt: ${err.message}\n`);
      return EXIT_INPUT;
    }
    if (err instanceof EngineError) {
      process.stderr.write(`dcomhunt: ${err.message}\n`);
      return EXIT_INPUT;
    }
    if (err instanceof ExportError) {
      process.stderr.write(`dcomhunt: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (isPositionedError(err)) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    if ((err as NodeJS.ErrnoException)?.code === "EPIPE") return EXIT_OK;
    process.stderr.write(`dcomhunt: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}
