/**
 * Shared types of the exporters: targets, options, results, and the error every backend raises for
 * SPL it cannot translate (naming the construct, the rule and the place in the rule file).
 */
import type { LoadedRule } from "../rules/loader.js";

export type ExportTarget = "splunk" | "sigma" | "kql" | "eql" | "esql" | "sql";

export type SqlDialect = "duckdb" | "clickhouse";
export type KqlFlavor = "sentinel" | "defender";

export interface ExportOptions {
  /** SQL dialects written by the `sql` target (default both). */
  sqlDialects?: SqlDialect[];
  /** Name of the flat events table (default `events`). */
  sqlTable?: string;
  /** KQL flavours written by the `kql` target (default both). */
  kqlFlavors?: KqlFlavor[];
}

export interface ExportedFile {
  /** `<rule-id>.<ext>`, e.g. `5d3a6f2e-....duckdb.sql`. */
  name: string;
  content: string;
}

export interface ExportResult {
  files: ExportedFile[];
  /** What a target could not carry (printed on stderr by the CLI); the files say it too, in a comment. */
  warnings: string[];
}

/** SPL (or a sequence feature) a target cannot express: an error, never a silent change of meaning. */
export class ExportError extends Error {
  constructor(
    readonly rule: string,
    readonly target: string,
    /** The construct, e.g. "command 'stats'", "field 'process_name'". */
    readonly construct: string,
    readonly reason: string,
    /** file:line:col in the rule file when known. */
    readonly where?: string,
  ) {
    super(`${where ? `${where}: ` : ""}--target ${target}: rule '${rule}': ${construct}: ${reason}`);
    this.name = "ExportError";
  }
}

/** Where an SPL offset of a rule's search lies in the rule file (file:line:col). */
export function ruleLocation(rule: LoadedRule, text: string, offset: number | undefined): string | undefined {
  if (offset === undefined) return rule.file;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = offset - lineStart + 1;
  const s = rule.searchStart;
  if (!s) return `${rule.file}:${line}:${col}`;
  const fileLine = s.line + line - 1;
  const fileCol = line === 1 || s.block ? s.col + col - 1 : col;
  return `${rule.file}:${fileLine}:${fileCol}`;
}

/**
 * YAML output options, pinned so that golden files do not depend on library defaults: no line
 * folding, and double quotes whenever a string needs quoting.
 */
export const YAML_OPTIONS = { lineWidth: 0, singleQuote: false } as const;
