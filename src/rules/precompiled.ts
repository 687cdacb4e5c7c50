/**
 * Precompiled bundled rules: a cache layer over the loader. `npm run build` parses and schema-checks
 * every bundled rule file once (scripts/build-rules.mjs) and writes dist/rules-index.json: each rule as
 * the loader returns it, keyed by the SHA-256 of the file's bytes, with the tool version and a hash
 * of the rule schema. A run reads each bundled file (a few KB) and takes the precompiled rule only when
 * its content hash, the tool version and the schema all match; anything else (an edited file, a new
 * file, another version) goes through the YAML parser as before. Never stale: the key is the content.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadedRule } from "./loader.js";
import { ruleSchema } from "./schema.js";

/** The tool version the index was built by (package.json's version; a test keeps them equal). */
export const TOOL_VERSION = "0.1.0";

export type PrecompiledRule = Omit<LoadedRule, "file">;

export interface RulesIndex {
  tool: "dcomhunt";
  version: string;
  schema: string;
  rules: Record<string, PrecompiledRule>;
  /**
   * Folder listings of the bundled rules in the loader's order (localeCompare, whose first call costs
   * 10-20 ms of collator set-up), keyed by the names in code-unit order joined with NUL.
   */
  orders: Record<string, string[]>;
}

export function contentHash(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export function schemaHash(): string {
  return contentHash(JSON.stringify(ruleSchema));
}

/** dist/rules-index.json beside the compiled modules (absent when running from source). */
export function rulesIndexFile(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "rules-index.json");
}

let index: RulesIndex | null | undefined;

/** An index is used only when built by this version of the tool against this rule schema. */
function accepted(candidate: RulesIndex): boolean {
  return (
    candidate.tool === "dcomhunt" && candidate.version === TOOL_VERSION && candidate.schema === schemaHash()
  );
}

function loadIndex(): RulesIndex | null {
  if (index !== undefined) return index;
  index = null;
  let text: string;
  try {
    text = readFileSync(rulesIndexFile(), "utf8");
  } catch {
    return index;
  }
  try {
    const parsed = JSON.parse(text) as RulesIndex;
    if (accepted(parsed)) index = parsed;
  } catch {
    // A damaged index is no index: every rule is parsed from its file.
  }
  return index;
}

/** The precompiled rule for this file content, or undefined (parse the file). */
export function precompiledRule(text: string, file: string): LoadedRule | undefined {
  const hit = loadIndex()?.rules[contentHash(text)];
  return hit ? { ...structuredClone(hit), file } : undefined;
}

/** The names of one folder in localeCompare order, as recorded at build time, or undefined. */
export function knownOrder(names: string[]): string[] | undefined {
  const hit = loadIndex()?.orders[orderKey(names)];
  return hit ? [...hit] : undefined;
}

function orderKey(names: string[]): string {
  return [...names].sort().join("\0");
}

/** Use this index instead of dist/rules-index.json (tests); undefined: read the file again. */
export function useRulesIndex(replacement: RulesIndex | null | undefined): void {
  index = replacement && !accepted(replacement) ? null : replacement;
}

/** Build an index from loaded rules and their file contents (the build step). */
export function buildRulesIndex(
  entries: { text: string; rule: LoadedRule }[],
  listings: string[][] = [],
): RulesIndex {
  const rules: Record<string, PrecompiledRule> = {};
  for (const { text, rule } of entries) {
    const { file: _file, ...rest } = rule;
    rules[contentHash(text)] = rest;
  }
  const orders: Record<string, string[]> = {};
  for (const names of listings) orders[orderKey(names)] = [...names].sort((a, b) => a.localeCompare(b));
  return { tool: "dcomhunt", version: TOOL_VERSION, schema: schemaHash(), rules, orders };
}
