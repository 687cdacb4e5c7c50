/**
 * Splunk's security_content repository as it is: a checkout (or its `detections/` folder) is a rule
 * folder. Detection YAML (`name`, `id`, `search`, `tags.mitre_attack_id`, ...) becomes a LoadedRule;
 * `macros/*.yml` (`name`, `definition`, `arguments`) are the macros of its searches, a missing
 * `<name>_filter` macro is `search *` (the empty tuning filter security_content ships), and `lookups/`
 * (CSV files next to their YAML) is the lookups folder. A detection whose SPL this engine cannot run is
 * kept with `blocked` = the cause, so that `rules list` and `rules coverage` can say which and why.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { defaultFieldViewOptions } from "../events/fields.js";
import { compileSearch, type Macro, type MacroTable, SplError } from "../spl/index.js";
import type { LoadedRule } from "./loader.js";
import type { RuleDefinition, RuleStatus } from "./schema.js";

// The YAML parser is loaded only when a security_content checkout is read (start-up stays small).
const requireCjs = createRequire(import.meta.url);
const yamlParser = (): typeof import("yaml") => requireCjs("yaml") as typeof import("yaml");

/** A security_content detection as it is in YAML (the fields we read). */
interface Detection {
  name: string;
  id: string;
  search: string;
  version?: number;
  date?: string;
  author?: string;
  status?: string;
  type?: string;
  description?: string;
  data_source?: string[];
  how_to_implement?: string;
  known_false_positives?: string;
  references?: string[];
  tags?: { mitre_attack_id?: string[]; analytic_story?: string[] };
  /** Newer detections (2026) carry these at the top level instead of under `tags`. */
  mitre_attack_id?: string[];
  analytic_story?: string[];
}

/**
 * Detection YAML by content: `search` and `id`, with `tags` (the long-standing layout) or a top-level
 * `mitre_attack_id`/`analytic_story` (the newer one), without our own `pack`.
 */
export function isSecurityContentDetection(value: unknown): value is Detection {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.search === "string" &&
    (typeof v.tags === "object" || Array.isArray(v.mitre_attack_id) || Array.isArray(v.analytic_story)) &&
    v.pack === undefined &&
    typeof v.id === "string"
  );
}

/** The checkout root for a path inside it (the folder holding `detections/` and `macros/`). */
export function securityContentRoot(p: string): string | undefined {
  let dir = path.resolve(p);
  if (existsSync(dir) && !statSync(dir).isDirectory()) dir = path.dirname(dir);
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, "detections")) && existsSync(path.join(dir, "macros"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Macros that answer any missing `*_filter` macro with `search *`. */
class SecurityContentMacros extends Map<string, Macro> {
  override get(key: string): Macro | undefined {
    const m = super.get(key);
    if (m !== undefined || !/_filter$/.test(key)) return m;
    return { name: key, args: [], definition: "search *", file: "(missing filter macro)", line: 1 };
  }
}

const macroCache = new Map<string, MacroTable>();

/** `macros/*.yml` of a checkout as a macro table (cached per root). */
export function securityContentMacros(root: string): MacroTable {
  const cached = macroCache.get(root);
  if (cached) return cached;
  const table = new SecurityContentMacros();
  const dir = path.join(root, "macros");
  for (const entry of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (!/\.ya?ml$/i.test(entry)) continue;
    const file = path.join(dir, entry);
    const doc = yamlParser().parseDocument(readFileSync(file, "utf8"));
    const v = doc.toJS() as { name?: unknown; definition?: unknown; arguments?: unknown } | null;
    if (!v || typeof v.name !== "string" || typeof v.definition !== "string") continue;
    const args = Array.isArray(v.arguments) ? v.arguments.map(String) : [];
    table.set(args.length === 0 ? v.name : `${v.name}(${args.length})`, {
      name: v.name,
      args,
      definition: v.definition,
      file,
      line: 1,
    });
  }
  macroCache.set(root, table);
  return table;
}

const STATUSES: RuleStatus[] = ["production", "experimental", "deprecated"];
const TYPES = ["TTP", "Anomaly", "Hunting", "Correlation"] as const;

/** The cause a search cannot run, in a few words (for `rules list` and `rules coverage`). */
export function blockCause(message: string): string {
  const first = message.split("\n")[0].replace(/^[^:]*:\d+:\d+: /, "");
  const pats: [RegExp, (m: RegExpExecArray) => string][] = [
    [/unsupported command '([^']+)'/, (m) => `command ${m[1]}`],
    [/unsupported eval function '([^']+)'/, (m) => `eval ${m[1]}`],
    [/unsupported (\w+) function '([^']+)'/, (m) => `${m[1]} ${m[2]}()`],
    [/unknown macro '([^']+)'/, (m) => `macro ${m[1]}`],
    [/a subsearch '\[\.\.\.\]' is not supported in '([^']+)'/, (m) => `subsearch in ${m[1]}`],
    [/subsearches/, () => "subsearch [...]"],
    [/^map over events/, () => "map over events"],
    [/^(iplocation|mstats) /, (m) => `command ${m[1]}`],
    [/unknown data model '([^']+)'/, (m) => `data model ${m[1]}`],
    [/unsupported (\w+) option '([^']+)'/, (m) => `${m[1]} ${m[2]}=`],
    [/iseval macros/, () => "iseval macro"],
    [/lookup table '([^']+)'|lookup '([^']+)'/, (m) => `lookup ${m[1] ?? m[2]}`],
  ];
  for (const [re, f] of pats) {
    const m = re.exec(first);
    if (m) return f(m);
  }
  return first.length > 60 ? `${first.slice(0, 57)}...` : first;
}

/** A detection as a LoadedRule with its macros and lookups; `blocked` when its SPL cannot run here. */
export function securityContentRule(d: Detection, file: string): LoadedRule {
  const root = securityContentRoot(file);
  const macros = root ? securityContentMacros(root) : new SecurityContentMacros();
  const lookupsDir = root && existsSync(path.join(root, "lookups")) ? path.join(root, "lookups") : undefined;
  const def: RuleDefinition = {
    name: d.name,
    id: d.id,
    version: typeof d.version === "number" ? d.version : 1,
    date: String(d.date ?? ""),
    author: String(d.author ?? ""),
    status: STATUSES.includes(d.status as RuleStatus) ? (d.status as RuleStatus) : "experimental",
    type: (TYPES as readonly string[]).includes(String(d.type))
      ? (d.type as RuleDefinition["type"])
      : "Hunting",
    pack: "security_content",
    description: String(d.description ?? ""),
    search: d.search,
    data_source: Array.isArray(d.data_source) ? d.data_source.map(String) : [],
    how_to_implement: String(d.how_to_implement ?? ""),
    known_false_positives: String(d.known_false_positives ?? ""),
    references: Array.isArray(d.references) ? d.references.map(String) : undefined,
    mitre: { tactic: [], technique: (d.tags?.mitre_attack_id ?? d.mitre_attack_id ?? []).map(String) },
    severity: "medium",
  };
  const rule: LoadedRule = { ...def, file, macros, lookupsDir };
  try {
    compileSearch(d.search, { fieldView: defaultFieldViewOptions, macros, lookupsDir, file });
  } catch (err) {
    if (!(err instanceof SplError) && !(err instanceof Error)) throw err;
    rule.blocked = blockCause(err.message);
  }
  return rule;
}

/** Detections that read Windows event logs (their `data_source`). */
export function readsWindowsData(rule: LoadedRule): boolean {
  return rule.data_source.some((s) =>
    /sysmon|windows event log|powershell|windows security|windows system/i.test(s),
  );
}

export interface Coverage {
  total: number;
  runs: number;
  windows: { total: number; runs: number };
  /** Cause -> number of searches it blocks. */
  causes: Map<string, number>;
}

export function coverageOf(rules: LoadedRule[]): Coverage {
  const causes = new Map<string, number>();
  let runs = 0;
  let wTotal = 0;
  let wRuns = 0;
  for (const r of rules) {
    if (r.sequence) continue;
    const win = readsWindowsData(r);
    if (win) wTotal++;
    if (r.blocked === undefined) {
      runs++;
      if (win) wRuns++;
    } else causes.set(r.blocked, (causes.get(r.blocked) ?? 0) + 1);
  }
  return {
    total: rules.filter((r) => !r.sequence).length,
    runs,
    windows: { total: wTotal, runs: wRuns },
    causes,
  };
}
