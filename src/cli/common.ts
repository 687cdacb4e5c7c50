/**
 * What every command shares: argument parsing with one clear line and exit code 2 on a usage error,
 * `--help`, `-o FILE` (default stdout), `-` for stdin, and the exit codes. dcomhunt prints no colour.
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

/**
 * `--since -24h`: a value option followed by a value that starts with '-' and a digit (a relative time,
 * a negative number) takes it as its value, as `--since=-24h` would (node's parser calls it ambiguous).
 */
function joinDashValues(spec: CommandSpec, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith("--") ? a.slice(2) : undefined;
    const short =
      a.length === 2 && a[0] === "-"
        ? Object.entries(spec.options).find(([, o]) => o.short === a[1])?.[0]
        : undefined;
    const opt = spec.options[name ?? short ?? ""];
    if (opt?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name ?? short}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Parse argv for a command; throws UsageError with one clear line. Returns null when --help was given. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs | null {
  if (argv.includes("--help") || argv.includes("-h")) return null;
  try {
    const parsed = parseArgs({
      args: joinDashValues(spec, argv),
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
