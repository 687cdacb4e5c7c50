/**
 * Loads rule files (YAML) and selects rules for a run. A bad rule file is never half-loaded: every
 * problem is collected with file:line:col and the caller stops the run (exit code 2).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ErrorObject } from "ajv";
import type { LineCounter, Node, parseDocument } from "yaml";
import {
  buildSigmaRules,
  isSigmaText,
  parseSigmaText,
  type SigmaEntry,
  type SigmaMeta,
  SigmaRuleError,
} from "../sigma/rule.js";
import type { MacroTable } from "../spl/index.js";
import { knownOrder, precompiledRule } from "./precompiled.js";
import { type RuleDefinition, ruleSchema } from "./schema.js";
import { isSecurityContentDetection, securityContentRoot, securityContentRule } from "./security-content.js";
import { schemaValidator } from "./validators.js";

// The YAML parser is loaded only when a rule file is parsed (precompiled bundled rules need none).
const require = createRequire(import.meta.url);
let yamlModule: typeof import("yaml") | undefined;
const yaml = (): typeof import("yaml") => {
  yamlModule ??= require("yaml") as typeof import("yaml");
  return yamlModule;
};

export interface RuleProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class RuleError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    // A problem with no place in a file (line 0: a selector that names nothing) is the message alone.
    super(
      problems
        .map((p) => (p.line > 0 ? `${p.file}:${p.line}:${p.col}: ${p.message}` : `${p.file}: ${p.message}`))
        .join("\n"),
    );
    this.name = "RuleError";
  }
}

export interface LoadedRule extends RuleDefinition {
  /** Path of the rule file. */
  file: string;
  /** The rule's own macros and lookups (a security_content checkout's); else the run's. */
  macros?: MacroTable;
  lookupsDir?: string;
  /** Why this engine cannot run the rule (security_content detections are kept and listed). */
  blocked?: string;
  /** Line and column where the `search` text starts in the file (for SPL diagnostics). */
  searchStart?: { line: number; col: number; block: boolean };
  /** Sigma rules: what the Sigma file says beyond the common fields (level, tags, logsource ...). */
  sigma?: SigmaMeta;
}

/** A 1-based line:col of a rule's SPL text -> the same place in the rule file. */
export function positionInRuleFile(
  rule: LoadedRule,
  line: number,
  col: number,
): { line: number; col: number } {
  const s = rule.searchStart ?? { line: 1, col: 1, block: true };
  return { line: s.line + line - 1, col: line === 1 || s.block ? s.col + col - 1 : col };
}

/** Extra checks a caller plugs in (SPL parsing, sequence schema), returning problems relative to the rule. */
export interface RuleChecks {
  /** Check an SPL search; return [line, col, message] relative to the SPL text (1-based), or nothing. */
  search?: (spl: string, rule: RuleDefinition) => { line: number; col: number; message: string }[];
  /** Check a `sequence:` block; return problems with a path inside it (e.g. ["steps", 0, "search"]). */
  sequence?: (
    sequence: Record<string, unknown>,
    rule: RuleDefinition,
  ) => { path: (string | number)[]; message: string }[];
  /** A rule that cannot run here (e.g. a Sigma logsource with no Windows mapping): skipped, reported. */
  onSkip?: (problem: RuleProblem) => void;
  /** Values of Sigma `expand` placeholders (`%name%`). */
  sigmaPlaceholders?: Record<string, string[]>;
}

/** The bundled rules folder (`rules/` at the package root). */
export function bundledRulesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/rules -> ../../rules ; dist/rules -> ../../rules
  return path.resolve(here, "..", "..", "rules");
}

function nodeAt(doc: ReturnType<typeof parseDocument>, jsonPath: (string | number)[]): Node | null {
  let best: Node | null = doc.contents as Node | null;
  for (let i = 1; i <= jsonPath.length; i++) {
    const n = doc.getIn(jsonPath.slice(0, i), true) as Node | undefined;
    if (n === undefined || n === null || typeof n !== "object") break;
    best = n;
  }
  return best;
}

function keyNodeAt(doc: ReturnType<typeof parseDocument>, jsonPath: (string | number)[]): Node | null {
  if (jsonPath.length === 0) return null;
  const parent = jsonPath.length === 1 ? doc.contents : doc.getIn(jsonPath.slice(0, -1), true);
  const { isMap, isScalar } = yaml();
  if (!isMap(parent)) return null;
  const last = jsonPath[jsonPath.length - 1];
  for (const pair of parent.items) {
    if (isScalar(pair.key) && pair.key.value === last) return pair.key as Node;
  }
  return null;
}

function positionOf(lc: LineCounter, node: Node | null): { line: number; col: number } {
  const offset = node?.range?.[0] ?? 0;
  return lc.linePos(offset);
}

function ajvMessage(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "rule";
  switch (e.keyword) {
    case "required":
      return `${where}: missing required field '${(e.params as { missingProperty: string }).missingProperty}'`;
    case "additionalProperties":
      return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case "enum":
      return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
    case "oneOf":
      return e.instancePath.includes("/tests/")
        ? `${where}: a test needs exactly one of 'scenario' or 'file'`
        : `${where}: needs exactly one of 'search' or 'sequence'`;
    default:
      return `${where}: ${e.message ?? "invalid"}`;
  }
}

/** Parse and validate one rule file. Throws RuleError listing every problem. */
export function loadRuleFile(file: string, checks: RuleChecks = {}): LoadedRule {
  return dcomhuntRule(readRuleText(file), file, checks);
}

/** A rule file's text; an unreadable or oversized file is a rule error at 1:1. */
function readRuleText(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RuleError([
      { file, line: 1, col: 1, message: `cannot read rule file: ${(err as Error).message}` },
    ]);
  }
  checkRuleSize(text, file);
  return text;
}

function checkRuleSize(text: string, file: string): void {
  if (text.length > MAX_RULE_FILE_BYTES)
    throw new RuleError([
      {
        file,
        line: 1,
        col: 1,
        message: `rule file too large (${text.length} characters, at most ${MAX_RULE_FILE_BYTES})`,
      },
    ]);
}

/** One dcomhunt rule file's text -> the rule, through the precompiled layer when it holds the file. */
function dcomhuntRule(text: string, file: string, checks: RuleChecks): LoadedRule {
  // The precompiled layer (bundled rules, keyed by content): YAML and schema were checked at build
  // time; the caller's checks still run. A rule with any problem is parsed again from its text so that
  // every problem is reported at its file:line:col.
  const cached = precompiledRule(text, file);
  if (cached && passesChecks(cached, checks)) return cached;
  return parseRuleText(text, file, checks);
}

function passesChecks(rule: LoadedRule, checks: RuleChecks): boolean {
  if (rule.search !== undefined && checks.search && checks.search(rule.search, rule).length > 0) return false;
  if (rule.sequence !== undefined && checks.sequence && checks.sequence(rule.sequence, rule).length > 0)
    return false;
  return true;
}

/** Rule files larger than this are refused (the biggest bundled rule is a few KB). */
export const MAX_RULE_FILE_BYTES = 1 << 20;
/** Alias expansions allowed in one rule file (YAML's own guard against "billion laughs"). */
export const MAX_YAML_ALIASES = 100;

/** The document as plain data; an alias bomb is a positioned rule error, not a crash. */
function yamlValue(doc: ReturnType<typeof parseDocument>, lc: LineCounter, file: string): unknown {
  const { visit } = yaml();
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (!(err instanceof ReferenceError) && !(err instanceof RangeError)) throw err;
    let at = 0;
    visit(doc, {
      Alias(_key, node) {
        at = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const pos = lc.linePos(at);
    const message =
      err instanceof RangeError
        ? "YAML: nested too deeply"
        : `YAML: aliases expand to too many nodes (at most ${MAX_YAML_ALIASES} alias expansions per file)`;
    throw new RuleError([{ file, line: pos.line, col: pos.col, message }]);
  }
}

export function parseRuleText(text: string, file: string, checks: RuleChecks = {}): LoadedRule {
  checkRuleSize(text, file);
  const { isScalar, isSeq, LineCounter, parseDocument } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: RuleProblem[] = [];
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, message: `YAML: ${e.message.split("\n")[0]}` });
  }
  if (problems.length) throw new RuleError(problems);
  const value = yamlValue(doc, lc, file);
  // Dispatch by content: a security_content detection has its own shape (security-content.ts).
  if (isSecurityContentDetection(value)) return securityContentRule(value, file);
  const validateRule = schemaValidator<RuleDefinition>("rule-schema", ruleSchema);
  if (!validateRule(value)) {
    const seen = new Set<string>();
    for (const e of validateRule.errors ?? []) {
      // oneOf/if noise: report the branch error only once per location.
      if (e.keyword === "if" || e.schemaPath.includes("/oneOf/")) continue;
      const pathParts = e.instancePath
        .split("/")
        .slice(1)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, "/").replace(/~0/g, "~")));
      const node =
        e.keyword === "additionalProperties"
          ? keyNodeAt(doc, [...pathParts, (e.params as { additionalProperty: string }).additionalProperty])
          : nodeAt(doc, pathParts);
      const pos = positionOf(lc, node);
      const message = ajvMessage(e);
      const key = `${pos.line}:${pos.col}:${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ file, line: pos.line, col: pos.col, message });
    }
    throw new RuleError(problems);
  }
  const rule: LoadedRule = { ...(value as RuleDefinition), file };
  if (rule.search !== undefined) {
    const node = doc.get("search", true) as Node | undefined;
    if (isScalar(node) && node.range) {
      const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED";
      const start = lc.linePos(node.range[0]);
      // A block scalar's content starts on the next line, indented; a flow scalar after its quote.
      const firstContentLine = block ? start.line + 1 : start.line;
      const indentMatch = block ? /^( *)/.exec(text.split("\n")[firstContentLine - 1] ?? "") : null;
      rule.searchStart = {
        line: firstContentLine,
        col: block ? (indentMatch?.[1].length ?? 0) + 1 : start.col + (node.type === "PLAIN" ? 0 : 1),
        block,
      };
    }
    for (const p of checks.search?.(rule.search, rule) ?? []) {
      problems.push({ file, ...positionInRuleFile(rule, p.line, p.col), message: p.message });
    }
  }
  if (rule.sequence !== undefined && checks.sequence) {
    for (const p of checks.sequence(rule.sequence, rule)) {
      const node = nodeAt(doc, ["sequence", ...p.path]);
      const pos = positionOf(lc, node);
      problems.push({ file, line: pos.line, col: pos.col, message: p.message });
    }
  }
  if (isSeq(doc.get("tests", true))) {
    // Test names must be unique within a rule: they name rows of the validate matrix.
    const names = new Set<string>();
    (rule.tests ?? []).forEach((t, i) => {
      if (names.has(t.name)) {
        const pos = positionOf(lc, nodeAt(doc, ["tests", i, "name"]));
        problems.push({
          file,
          line: pos.line,
          col: pos.col,
          message: `tests: duplicate test name '${t.name}'`,
        });
      }
      names.add(t.name);
    });
  }
  if (problems.length) throw new RuleError(problems);
  return rule;
}

function ruleFilesIn(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true });
  const order = knownOrder(entries.map((e) => e.name));
  if (order) entries.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  else entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...ruleFilesIn(full));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}

/** Every rule file under a folder, all validated; problems of all files are reported together. */
export function loadRulesDir(dir: string, checks: RuleChecks = {}): LoadedRule[] {
  return loadRuleFiles(ruleFilesIn(dir), checks);
}

/**
 * Load rule files of either kind: dcomhunt's own rule YAML, or Sigma rules (recognised by content:
 * `logsource` + `detection`, or `correlation`). Sigma correlations may name rules of any file loaded
 * together. Problems of all files are reported together; rules that cannot run here are skipped
 * through `checks.onSkip` (standard error when no handler is given).
 */
export function loadRuleFiles(files: string[], checks: RuleChecks = {}): LoadedRule[] {
  const rules: LoadedRule[] = [];
  const problems: RuleProblem[] = [];
  const sigma: SigmaEntry[] = [];
  for (const file of files) {
    try {
      const text = readRuleText(file);
      if (isSigmaText(text))
        sigma.push(...parseSigmaText(text, file, { placeholders: checks.sigmaPlaceholders }));
      else rules.push(dcomhuntRule(text, file, checks));
    } catch (err) {
      if (err instanceof RuleError || err instanceof SigmaRuleError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (sigma.length) {
    try {
      const built = buildSigmaRules(sigma);
      const report =
        checks.onSkip ??
        ((p: RuleProblem) => process.stderr.write(`dcomhunt: ${p.file}:${p.line}:${p.col}: ${p.message}\n`));
      for (const p of built.skipped) report(p);
      // Their SPL is generated from the syntax tree (and parsed again when a run compiles it), so the
      // caller's SPL check, made for hand-written searches, is not run on it a second time here.
      rules.push(...built.rules);
    } catch (err) {
      if (err instanceof SigmaRuleError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new RuleError(problems);
  return rules;
}

/**
 * Select rules for `--rules` values: a bundled pack name (`seed`, `dcom`, `all`), a rule id or name
 * (bundled), or a path to a rule file or folder. Duplicates (same id) are kept once. Unknown selectors
 * are a usage error (thrown as RuleError at 1:1 of the selector).
 */
function namesBundled(rules: LoadedRule[], sel: string): boolean {
  const lower = sel.toLowerCase();
  return rules.some((r) => r.pack === sel || r.id.toLowerCase() === lower || r.name.toLowerCase() === lower);
}

export function selectRules(
  selectors: string[],
  checks: RuleChecks = {},
  bundledDir = bundledRulesDir(),
): LoadedRule[] {
  const wanted = selectors.length ? selectors : ["all"];
  // Bundled rules are read (schema-checked) to find packs, ids and names; the costlier checks (SPL,
  // sequence blocks) run only on the rules selected. `validate` and the tests check every bundled rule.
  let bundled: LoadedRule[] | undefined;
  const getBundled = () => {
    bundled ??= existsSync(bundledDir) ? loadRulesDir(bundledDir) : [];
    return bundled;
  };
  const checked = (rules: LoadedRule[]) =>
    checks.search || checks.sequence ? rules.map((r) => loadRuleFile(r.file, checks)) : rules;
  const out = new Map<string, LoadedRule>();
  for (const sel of wanted) {
    let found: LoadedRule[];
    // A path when it looks like one, or when it is an existing folder that names no bundled pack or rule.
    const isPath =
      existsSync(sel) &&
      (sel.includes("/") ||
        sel.includes("\\") ||
        /\.ya?ml$/i.test(sel) ||
        sel === "." ||
        (statSync(sel).isDirectory() && sel !== "all" && !namesBundled(getBundled(), sel)));
    if (isPath) {
      // A security_content checkout: its detections/ folder (macros, lookups and stories sit beside it).
      const dir =
        statSync(sel).isDirectory() && securityContentRoot(sel) === path.resolve(sel)
          ? path.join(sel, "detections")
          : sel;
      found = statSync(dir).isDirectory() ? loadRulesDir(dir, checks) : loadRuleFiles([dir], checks);
    } else if (sel === "all") {
      found = checked(getBundled());
    } else {
      const lower = sel.toLowerCase();
      found = getBundled().filter(
        (r) => r.pack === sel || r.id.toLowerCase() === lower || r.name.toLowerCase() === lower,
      );
      if (found.length === 0) {
        const packs = [...new Set(getBundled().map((r) => r.pack))].sort().join(", ");
        throw new RuleError([
          {
            file: "dcomhunt",
            line: 0,
            col: 0,
            message: `no rule, pack or rule file named '${sel}' (packs: ${packs}, all; or give a path)`,
          },
        ]);
      }
      found = checked(found);
    }
    for (const r of found) if (!out.has(r.id)) out.set(r.id, r);
  }
  return [...out.values()];
}
