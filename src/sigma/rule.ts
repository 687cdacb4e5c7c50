/**
 * Sigma rule files -> dcomhunt rules. A file may hold several YAML documents (detection rules and
 * correlation rules, as Sigma v2 allows). Detection rules compile to an SPL pipeline through the SPL
 * AST (src/sigma/spl.ts); correlation rules (event_count, value_count, temporal, temporal_ordered) to
 * an SPL pipeline over the rules they reference: `bin _time span=<timespan>` + `stats ... by _time,
 * <group-by>` + the condition, the tumbling-window form the common Sigma backends use for Splunk.
 *
 * A rule whose logsource has no Windows mapping, or that needs what the engine lacks (a regex RE2
 * cannot run), is skipped with a reason, never silently; a malformed rule is an error at file:line:col.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { Document, Node } from "yaml";
import type { Severity } from "../rules/schema.js";
import type { Command, EvalExpr } from "../spl/ast.js";
import { compileRegex } from "../spl/regex.js";
import { type Cond, compileDetection, DetectionError, fieldsOf } from "./detection.js";
import { type LogSource, type MappedSource, mapLogSource } from "./logsource.js";
import { detectionCommands, printPipeline, ruleCondition, sourcesSearch } from "./spl.js";

/** Where something is in a rule file. */
export interface SigmaProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** What a Sigma rule keeps of its own metadata, shown by `rules show` and in outputs. */
export interface SigmaMeta {
  kind: "detection" | "correlation";
  level?: string;
  tags: string[];
  falsepositives: string[];
  logsource?: LogSource;
  status?: string;
  /** The Sigma `id` as written (the rule id below is this, or a stable hash when absent). */
  sigmaId?: string;
}

/** A rule as the rest of dcomhunt sees it (the fields of a LoadedRule a Sigma rule fills). */
export interface SigmaCompiledRule {
  name: string;
  id: string;
  version: number;
  date: string;
  author: string;
  status: "production" | "experimental" | "deprecated";
  type: "TTP" | "Correlation";
  pack: string;
  description: string;
  search: string;
  data_source: string[];
  how_to_implement: string;
  known_false_positives: string;
  references?: string[];
  mitre: { tactic: string[]; technique: string[]; sub_technique?: string[] };
  severity: Severity;
  file: string;
  sigma: SigmaMeta;
}

interface DetectionEntry {
  kind: "detection";
  doc: Record<string, unknown>;
  file: string;
  line: number;
  col: number;
  cond: Cond;
  sources: MappedSource[];
}
interface CorrelationEntry {
  kind: "correlation";
  doc: Record<string, unknown>;
  file: string;
  line: number;
  col: number;
  at: (path: (string | number)[]) => { line: number; col: number };
}
export type SigmaEntry =
  | DetectionEntry
  | CorrelationEntry
  | { kind: "skipped"; problem: SigmaProblem; refs: string[] };

export class SigmaRuleError extends Error {
  constructor(readonly problems: SigmaProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join("\n"));
  }
}

// The YAML parser is loaded only when a Sigma file is read (start-up stays small).
const requireCjs = createRequire(import.meta.url);
const yaml = (): typeof import("yaml") => requireCjs("yaml") as typeof import("yaml");

/** Does this YAML text look like a Sigma rule (detection or correlation)? */
export function isSigmaText(text: string): boolean {
  return (/^logsource\s*:/m.test(text) && /^detection\s*:/m.test(text)) || /^correlation\s*:/m.test(text);
}

export interface SigmaOptions {
  placeholders?: Record<string, string[]>;
}

const LEVELS: Record<string, Severity> = {
  informational: "low",
  low: "low",
  medium: "medium",
  high: "high",
  critical: "critical",
};

const TACTICS = new Set([
  "reconnaissance",
  "resource_development",
  "initial_access",
  "execution",
  "persistence",
  "privilege_escalation",
  "defense_evasion",
  "credential_access",
  "discovery",
  "lateral_movement",
  "collection",
  "command_and_control",
  "exfiltration",
  "impact",
]);

/** Parse every document of a Sigma file; errors are thrown with file:line:col. */
export function parseSigmaText(text: string, file: string, opts: SigmaOptions = {}): SigmaEntry[] {
  const { LineCounter, parseAllDocuments } = yaml();
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: SigmaProblem[] = [];
  const out: SigmaEntry[] = [];
  for (const doc of list) {
    for (const e of doc.errors) {
      const p = lc.linePos(e.pos[0]);
      problems.push({ file, line: p.line, col: p.col, message: `YAML: ${e.message.split("\n")[0]}` });
    }
    if (doc.errors.length) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      if (!(err instanceof ReferenceError) && !(err instanceof RangeError)) throw err;
      const p = lc.linePos((doc.contents as Node | null)?.range?.[0] ?? 0);
      problems.push({
        file,
        ...p,
        message:
          err instanceof RangeError
            ? "YAML: nested too deeply"
            : "YAML: aliases expand to too many nodes (at most 100 alias expansions per document)",
      });
      continue;
    }
    if (value === null || value === undefined) continue;
    const at = (path: (string | number)[]) => {
      let node: Node | null = doc.contents as Node | null;
      for (let i = 1; i <= path.length; i++) {
        const n = doc.getIn(path.slice(0, i), true) as Node | undefined;
        if (n === undefined || n === null || typeof n !== "object") break;
        node = n;
      }
      return lc.linePos(node?.range?.[0] ?? 0);
    };
    const start = at([]);
    if (typeof value !== "object" || Array.isArray(value)) {
      problems.push({ file, ...start, message: "a Sigma rule must be a YAML map" });
      continue;
    }
    const rule = value as Record<string, unknown>;
    if (typeof rule.title !== "string" || rule.title === "") {
      problems.push({ file, ...start, message: "Sigma rule: missing 'title'" });
      continue;
    }
    if (rule.correlation !== undefined) {
      out.push({ kind: "correlation", doc: rule, file, ...start, at });
      continue;
    }
    if (rule.logsource === undefined || rule.detection === undefined) {
      // A global/filter document or a rule fragment: not a detection.
      problems.push({ file, ...start, message: "Sigma rule: needs 'logsource' and 'detection'" });
      continue;
    }
    const mapped = mapLogSource(rule.logsource as LogSource);
    if ("unsupported" in mapped) {
      out.push({
        kind: "skipped",
        problem: { file, ...start, message: `'${rule.title}' skipped: logsource ${mapped.unsupported}` },
        refs: refsOf(rule),
      });
      continue;
    }
    let cond: Cond;
    try {
      cond = compileDetection(rule.detection, { placeholders: opts.placeholders });
    } catch (err) {
      if (!(err instanceof DetectionError)) throw err;
      if (/placeholder .* has no value/.test(err.message)) {
        out.push({
          kind: "skipped",
          problem: { file, ...at(err.path), message: `'${rule.title}' skipped: ${err.message}` },
          refs: refsOf(rule),
        });
        continue;
      }
      problems.push({ file, ...conditionPlace(doc, text, lc, err), message: err.message });
      continue;
    }
    const badRegex = regexProblem(cond);
    if (badRegex !== undefined) {
      out.push({
        kind: "skipped",
        problem: { file, ...start, message: `'${rule.title}' skipped: ${badRegex}` },
        refs: refsOf(rule),
      });
      continue;
    }
    out.push({ kind: "detection", doc: rule, file, ...start, cond, sources: mapped.sources });
  }
  if (problems.length) throw new SigmaRuleError(problems);
  return out;
}

/** The names a correlation may use for a rule: its id, name and title. */
function refsOf(rule: Record<string, unknown>): string[] {
  return [rule.id, rule.name, rule.title].filter((k): k is string => typeof k === "string");
}

/** The place of a detection problem; inside a condition string, the offending word's place. */
function conditionPlace(
  doc: Document.Parsed,
  text: string,
  lc: InstanceType<typeof import("yaml").LineCounter>,
  err: DetectionError,
): { line: number; col: number } {
  let node: Node | null = doc.contents as Node | null;
  for (let i = 1; i <= err.path.length; i++) {
    const n = doc.getIn(err.path.slice(0, i), true) as Node | undefined;
    if (n === undefined || n === null || typeof n !== "object") break;
    node = n;
  }
  const start = lc.linePos(node?.range?.[0] ?? 0);
  if (err.conditionOffset === undefined || !yaml().isScalar(node)) return start;
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
    // Content starts on the next line, indented; a folded single-line condition keeps its offsets.
    const line = start.line + 1;
    const indent = /^( *)/.exec(text.split("\n")[line - 1] ?? "")?.[1].length ?? 0;
    return { line, col: indent + 1 + err.conditionOffset };
  }
  return { line: start.line, col: start.col + err.conditionOffset + (node.type === "PLAIN" ? 0 : 1) };
}

/** A regex the engine (RE2, linear time) cannot run: the rule is skipped, with this reason. */
function regexProblem(c: Cond): string | undefined {
  if (c.k === "match") {
    if (c.match.t !== "re") return undefined;
    try {
      compileRegex(c.match.flags ? `(?${c.match.flags})${c.match.re}` : c.match.re);
      return undefined;
    } catch (err) {
      return `regex '${c.match.re}': ${(err as Error).message.split("\n")[0]}`;
    }
  }
  if (c.k === "not") return regexProblem(c.item);
  for (const i of c.items) {
    const p = regexProblem(i);
    if (p) return p;
  }
  return undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v)
    ? v.filter((x): x is string => typeof x === "string")
    : typeof v === "string"
      ? [v]
      : [];
}

function stableId(file: string, title: string): string {
  const h = createHash("sha256").update(`${file}\0${title}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function mitreOf(tags: string[]): SigmaCompiledRule["mitre"] {
  const tactic: string[] = [];
  const technique: string[] = [];
  const sub: string[] = [];
  for (const t of tags) {
    const m = /^attack\.(.+)$/i.exec(t);
    if (!m) continue;
    const v = m[1].toLowerCase();
    const tech = /^t(\d{4})(?:\.(\d{3}))?$/.exec(v);
    if (tech) {
      const base = `T${tech[1]}`;
      if (!technique.includes(base)) technique.push(base);
      if (tech[2] && !sub.includes(`${base}.${tech[2]}`)) sub.push(`${base}.${tech[2]}`);
    } else if (TACTICS.has(v.replace(/-/g, "_"))) tactic.push(v.replace(/-/g, "_"));
  }
  return { tactic, technique, ...(sub.length ? { sub_technique: sub } : {}) };
}

function statusOf(s: unknown): SigmaCompiledRule["status"] {
  return s === "stable"
    ? "production"
    : s === "deprecated" || s === "unsupported"
      ? "deprecated"
      : "experimental";
}

function baseRule(
  entry: DetectionEntry | CorrelationEntry,
  search: string,
  kind: SigmaMeta["kind"],
): SigmaCompiledRule {
  const d = entry.doc;
  const tags = strings(d.tags);
  const level = typeof d.level === "string" ? d.level : undefined;
  const id =
    typeof d.id === "string" && /^[0-9a-f-]{36}$/i.test(d.id) ? d.id : stableId(entry.file, String(d.title));
  const fps = strings(d.falsepositives);
  const ls = kind === "detection" ? (d.logsource as LogSource) : undefined;
  return {
    name: String(d.title),
    id,
    version: 1,
    date: typeof d.date === "string" ? d.date.replace(/\//g, "-") : "1970-01-01",
    author: typeof d.author === "string" ? d.author : "unknown",
    status: statusOf(d.status),
    type: kind === "correlation" ? "Correlation" : "TTP",
    pack: "sigma",
    description: typeof d.description === "string" ? d.description : String(d.title),
    search,
    data_source: ls ? [Object.values(ls).filter(Boolean).join(" ")] : ["Sigma correlation"],
    how_to_implement: "Sigma rule, compiled by dcomhunt (docs/sigma.md).",
    known_false_positives: fps.length ? fps.join("; ") : "unknown",
    ...(Array.isArray(d.references) ? { references: strings(d.references) } : {}),
    mitre: mitreOf(tags),
    severity: LEVELS[level?.toLowerCase() ?? ""] ?? "medium",
    file: entry.file,
    sigma: {
      kind,
      level,
      tags,
      falsepositives: fps,
      ...(ls ? { logsource: ls } : {}),
      ...(typeof d.status === "string" ? { status: d.status } : {}),
      ...(typeof d.id === "string" ? { sigmaId: d.id } : {}),
    },
  };
}

function outputFields(entry: DetectionEntry): string[] {
  const declared = strings(entry.doc.fields);
  const names = declared.length ? declared : fieldsOf(entry.cond);
  const mapped: string[] = [];
  for (const s of entry.sources)
    for (const n of names) {
      const m = s.fieldMap?.[n] ?? n;
      if (!mapped.includes(m)) mapped.push(m);
    }
  return [
    "_time",
    "host",
    "EventCode",
    ...mapped.filter((f) => !["_time", "host", "EventCode"].includes(f)),
  ].slice(0, 12);
}

function detectionRule(entry: DetectionEntry): SigmaCompiledRule {
  const commands: Command[] = [
    ...detectionCommands(entry.cond, entry.sources),
    { name: "table", pos: 0, fields: outputFields(entry) },
  ];
  return baseRule(entry, printPipeline(commands, entry.file), "detection");
}

const TIMESPAN = /^(\d+)([smhdw])$/;

function correlationRule(entry: CorrelationEntry, byRef: Map<string, DetectionEntry>): SigmaCompiledRule {
  const c = entry.doc.correlation as Record<string, unknown>;
  const fail = (path: (string | number)[], message: string): never => {
    throw new SigmaRuleError([{ file: entry.file, ...entry.at(["correlation", ...path]), message }]);
  };
  if (c === null || typeof c !== "object") fail([], "'correlation' must be a map");
  const type = c.type;
  if (type !== "event_count" && type !== "value_count" && type !== "temporal" && type !== "temporal_ordered")
    fail(["type"], "correlation type must be event_count, value_count, temporal or temporal_ordered");
  const refs = strings(c.rules);
  if (refs.length === 0) fail(["rules"], "a correlation needs 'rules'");
  const rules = refs.map(
    (r, i) => byRef.get(r) ?? fail(["rules", i], `no Sigma rule with id or name '${r}' is loaded`),
  );
  const timespan =
    typeof c.timespan === "string"
      ? c.timespan
      : fail(["timespan"], "a correlation needs 'timespan' (e.g. 5m)");
  const ts =
    TIMESPAN.exec(timespan) ??
    fail(["timespan"], `timespan '${timespan}' is not N followed by s, m, h, d or w`);
  const span = ts[2] === "w" ? `${Number(ts[1]) * 7}d` : timespan;
  const groupBy = strings(c["group-by"]);
  const aliases = (c.aliases ?? {}) as Record<string, Record<string, string>>;
  const names = rules.map((r) => String(r.doc.name ?? r.doc.id ?? r.doc.title));
  const P = 0;
  const str = (value: string): EvalExpr => ({ kind: "string", pos: P, value });
  const fld = (name: string): EvalExpr => ({ kind: "field", pos: P, name, quoted: false });
  const eq = (l: EvalExpr, r: EvalExpr): EvalExpr => ({
    kind: "binary",
    pos: P,
    op: "==",
    left: l,
    right: r,
  });
  const caseOf = (pairs: [EvalExpr, EvalExpr][]): EvalExpr => ({
    kind: "call",
    pos: P,
    name: "case",
    args: pairs.flat(),
  });
  const commands: Command[] = [
    { name: "search", pos: P, expr: sourcesSearch(rules.flatMap((r) => r.sources)) },
    {
      name: "eval",
      pos: P,
      assignments: [
        {
          field: "sigma_rule",
          expr: caseOf(rules.map((r, i) => [ruleCondition(r.cond, r.sources), str(names[i])])),
        },
      ],
    },
    { name: "where", pos: P, expr: { kind: "call", pos: P, name: "isnotnull", args: [fld("sigma_rule")] } },
  ];
  for (const [alias, perRule] of Object.entries(aliases)) {
    const pairs: [EvalExpr, EvalExpr][] = [];
    for (const [ruleRef, field] of Object.entries(perRule ?? {})) {
      const target = byRef.get(ruleRef);
      const idx = target === undefined ? -1 : rules.indexOf(target);
      if (idx < 0)
        fail(
          ["aliases", alias, ruleRef],
          `alias '${alias}': '${ruleRef}' is not one of the correlated rules`,
        );
      pairs.push([eq(fld("sigma_rule"), str(names[idx])), fld(field)]);
    }
    if (pairs.length)
      commands.push({ name: "eval", pos: P, assignments: [{ field: alias, expr: caseOf(pairs) }] });
  }
  const ordered = type === "temporal_ordered";
  if (ordered) {
    commands.push({
      name: "eval",
      pos: P,
      assignments: names.map((n, i) => ({
        field: `sigma_t${i + 1}`,
        expr: {
          kind: "call",
          pos: P,
          name: "if",
          args: [
            eq(fld("sigma_rule"), str(n)),
            fld("_time"),
            { kind: "call", pos: P, name: "null", args: [] },
          ],
        },
      })),
    });
  }
  commands.push({ name: "eval", pos: P, assignments: [{ field: "sigma_time", expr: fld("_time") }] });
  commands.push({ name: "bin", pos: P, field: "_time", as: undefined, span });
  const cond = (c.condition ?? {}) as Record<string, unknown>;
  const valueField = typeof cond.field === "string" ? cond.field : undefined;
  if (type === "value_count" && valueField === undefined)
    fail(["condition"], "value_count needs condition.field");
  const aggs = [
    { fn: "count", as: "event_count" },
    { fn: "dc", field: "sigma_rule", as: "rule_count" },
    { fn: "values", field: "sigma_rule", as: "sigma_rules" },
    { fn: "min", field: "sigma_time", as: "first_time" },
    { fn: "max", field: "sigma_time", as: "last_time" },
    ...(valueField ? [{ fn: "dc", field: valueField, as: "value_count" }] : []),
    ...(ordered
      ? names.map((_n, i) => ({ fn: "min", field: `sigma_t${i + 1}`, as: `sigma_first${i + 1}` }))
      : []),
  ];
  commands.push({ name: "stats", pos: P, aggregations: aggs, by: ["_time", ...groupBy], options: {} });
  const ops: Record<string, "<" | "<=" | ">" | ">=" | "==" | "!="> = {
    gt: ">",
    gte: ">=",
    lt: "<",
    lte: "<=",
    eq: "==",
    neq: "!=",
  };
  const measured =
    type === "event_count" ? "event_count" : type === "value_count" ? "value_count" : "rule_count";
  const checks: EvalExpr[] = [];
  for (const [k, v] of Object.entries(cond)) {
    if (k === "field") continue;
    const op =
      ops[k] ?? fail(["condition", k], `unknown condition operator '${k}' (gt, gte, lt, lte, eq, neq)`);
    if (typeof v !== "number") fail(["condition", k], "a condition value must be a number");
    checks.push({
      kind: "binary",
      pos: P,
      op,
      left: fld(measured),
      right: { kind: "number", pos: P, value: v as number, raw: String(v) },
    });
  }
  if (type === "temporal" || type === "temporal_ordered") {
    if (checks.length === 0)
      checks.push({
        kind: "binary",
        pos: P,
        op: ">=",
        left: fld("rule_count"),
        right: { kind: "number", pos: P, value: rules.length, raw: String(rules.length) },
      });
    if (ordered)
      for (let i = 1; i < names.length; i++)
        checks.push({
          kind: "binary",
          pos: P,
          op: "<=",
          left: fld(`sigma_first${i}`),
          right: fld(`sigma_first${i + 1}`),
        });
  } else if (checks.length === 0) fail(["condition"], `${type} needs a condition (e.g. gte: 10)`);
  commands.push({
    name: "where",
    pos: P,
    expr: checks.reduce((l, r) => ({ kind: "binary", pos: P, op: "AND", left: l, right: r })),
  });
  // first_time/last_time as ISO 8601 text, like the alerts of sequence rules.
  const iso = (f: string): { field: string; expr: EvalExpr } => ({
    field: f,
    expr: { kind: "call", pos: P, name: "strftime", args: [fld(f), str("%Y-%m-%dT%H:%M:%S.%3N%:z")] },
  });
  commands.push({ name: "eval", pos: P, assignments: [iso("first_time"), iso("last_time")] });
  commands.push({
    name: "table",
    pos: P,
    fields: ["_time", ...groupBy, measured, "sigma_rules", "first_time", "last_time"].filter(
      (f, i, a) => a.indexOf(f) === i,
    ),
  });
  return baseRule(entry, printPipeline(commands, entry.file), "correlation");
}

/**
 * Build rules from the entries of one or more files: detections, then correlations (which may name
 * detections of any file in the same load). Rules only a correlation uses are not run on their own
 * unless that correlation says `generate: true`, as the Sigma specification defines.
 */
export function buildSigmaRules(entries: SigmaEntry[]): {
  rules: SigmaCompiledRule[];
  skipped: SigmaProblem[];
} {
  const skipped: SigmaProblem[] = [];
  const detections: DetectionEntry[] = [];
  const correlations: CorrelationEntry[] = [];
  for (const e of entries) {
    if (e.kind === "skipped") skipped.push(e.problem);
    else if (e.kind === "detection") detections.push(e);
    else correlations.push(e);
  }
  const byRef = new Map<string, DetectionEntry>();
  for (const d of detections) for (const k of refsOf(d.doc)) byRef.set(k, d);
  const skippedRefs = new Set(entries.flatMap((e) => (e.kind === "skipped" ? e.refs : [])));
  const hidden = new Set<DetectionEntry>();
  const out: SigmaCompiledRule[] = [];
  const problems: SigmaProblem[] = [];
  for (const c of correlations) {
    const missing = strings((c.doc.correlation as Record<string, unknown> | null)?.rules).find((r) =>
      skippedRefs.has(r),
    );
    if (missing !== undefined) {
      skipped.push({
        file: c.file,
        line: c.line,
        col: c.col,
        message: `'${String(c.doc.title)}' skipped: it correlates '${missing}', which was skipped`,
      });
      continue;
    }
    try {
      out.push(correlationRule(c, byRef));
      if ((c.doc.generate ?? false) !== true) {
        for (const r of strings((c.doc.correlation as Record<string, unknown>).rules)) {
          const d = byRef.get(r);
          if (d) hidden.add(d);
        }
      }
    } catch (err) {
      if (err instanceof SigmaRuleError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new SigmaRuleError(problems);
  const rules = detections.filter((d) => !hidden.has(d)).map(detectionRule);
  return { rules: [...rules, ...out], skipped };
}
