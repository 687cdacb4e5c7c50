/**
 * What every command shares: argument parsing with one clear line and exit code 2 on a usage error,
 * `--help`, `-o FILE` (default stdout), `-` for stdin, NO_COLOR, and the exit codes.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export const EXIT_OK = 0;
export const EXIT_DETECTIONS = 1;
export const EXIT_USAGE = 2;
export const EXIT_INPUT = 3;

/** A usage, SPL or rule error: printed as one message, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Extra help text after the options. */
  details?: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Help line per option, same keys as `options`. */
  help: Record<string, string>;
  allowPositionals?: boolean;
}

export type ParsedArgs = {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
};

export function helpText(spec: CommandSpec): string {
  const lines = [`dcomhunt ${spec.name}: ${spec.summary}`, "", `usage: ${spec.usage}`, "", "options:"];
  for (const [name, opt] of Object.entries(spec.options)) {
    const flag = `${opt.short ? `-${opt.short}, ` : "    "}--${name}${opt.type === "string" ? " VALUE" : ""}`;
    lines.push(`  ${flag.padEnd(32)} ${spec.help[name] ?? ""}`);
  }
  lines.push(`      ${"--help".padEnd(28)} show this help`);
  if (spec.details) lines.push("", spec.details.trimEnd());
  return `${lines.join("\n")}\n`;
}

/** Parse argv for a command; throws UsageError with one clear line. Returns null when --help was given. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs | null {
  if (argv.includes("--help") || argv.includes("-h")) return null;
  try {
    const parsed = parseArgs({
      args: argv,
      options: spec.options,
      allowPositionals: spec.allowPositionals ?? true,
      strict: true,
    });
    return { values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(
      `${spec.name}: ${msg.replace(/\. To specify a positional.*$/, "")} (see 'dcomhunt ${spec.name} --help')`,
    );
  }
}

export { EXIT_OUTPUT, type Output, OutputError, openOutput } from "../report/output.js";

/** Colour only on a TTY and when NO_COLOR is not set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

export function stringOpt(values: ParsedArgs["values"], name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function listOpt(values: ParsedArgs["values"], name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v;
  return typeof v === "string" ? [v] : [];
}

export function choiceOpt<T extends string>(
  values: ParsedArgs["values"],
  name: string,
  choices: readonly T[],
  fallback: T,
  command: string,
): T {
  const v = stringOpt(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`${command}: --${name} must be one of ${choices.join(", ")} (got '${v}')`);
  }
  return v as T;
}

export function intOpt(
  values: ParsedArgs["values"],
  name: string,
  fallback: number,
  command: string,
): number {
  const v = stringOpt(values, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v))
    throw new UsageError(`${command}: --${name} must be a non-negative integer (got '${v}')`);
  return Number(v);
}

/** A command: receives its argv (after the command name) and returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;
