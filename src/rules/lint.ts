/**
 * `rules lint`: the traps of SPL detections that Splunk accepts silently, each reported with
 * file:line:col. Starts with those of the seed query itself:
 * - case-sensitive `match()` after a case-insensitive search (EXCEL.EXE rows fall to the catch-all);
 * - `sort` without a count (Splunk keeps 10,000 rows);
 * - a `sourcetype` filter that only one naming (legacy or modern) can match;
 * - unanchored regex alternatives that match substrings (`mmc` in a folder name);
 * - `*-Exec*`-style wildcards that also match other PowerShell switches (`-ExecutionPolicy`).
 * With inputs, a data check: which comparisons of the leading search match nothing in a sample.
 */
import type { EvalExpr, Pipeline, SearchCompare, SearchExpr } from "../spl/ast.js";
import { type LoadedRule, positionInRuleFile } from "./loader.js";

export interface LintFinding {
  file: string;
  line: number;
  col: number;
  /** Short stable code, e.g. "match-case". */
  code: string;
  message: string;
}

/** PowerShell parameters a `*-Prefix*` wildcard can hit by accident. */
const POWERSHELL_PARAMETERS = [
  "ExecutionPolicy",
  "EncodedCommand",
  "Command",
  "File",
  "NoProfile",
  "NonInteractive",
  "NoLogo",
  "NoExit",
  "WindowStyle",
  "Version",
  "InputFormat",
  "OutputFormat",
  "ConfigurationName",
  "Sta",
  "Mta",
];

/** Fields compared by every search clause (walks and/or/not/group). */
export function searchComparisons(expr: SearchExpr | undefined): SearchCompare[] {
  const out: SearchCompare[] = [];
  const walk = (e: SearchExpr | undefined) => {
    if (!e) return;
    switch (e.kind) {
      case "and":
      case "or":
        e.items.forEach(walk);
        break;
      case "not":
      case "group":
        walk(e.expr);
        break;
      case "compare":
        out.push(e);
        break;
      default:
        break;
    }
  };
  walk(expr);
  return out;
}

function evalCalls(expr: EvalExpr, name: string, out: Extract<EvalExpr, { kind: "call" }>[] = []) {
  switch (expr.kind) {
    case "call":
      if (expr.name.toLowerCase() === name) out.push(expr);
      for (const a of expr.args) evalCalls(a, name, out);
      break;
    case "binary":
      evalCalls(expr.left, name, out);
      evalCalls(expr.right, name, out);
      break;
    case "unary":
    case "group":
      evalCalls(expr.expr, name, out);
      break;
    case "in":
      evalCalls(expr.expr, name, out);
      for (const a of expr.list) evalCalls(a, name, out);
      break;
    default:
      break;
  }
  return out;
}

function pipelineEvalExprs(p: Pipeline): EvalExpr[] {
  const out: EvalExpr[] = [];
  for (const c of p.commands) {
    if (c.name === "eval") out.push(...c.assignments.map((a) => a.expr));
    else if (c.name === "where") out.push(c.expr);
  }
  return out;
}

/** Offset in `text` -> 1-based line and column. */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lastNl = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNl = i;
    }
  }
  return { line, col: offset - lastNl };
}

/** Map an offset in a rule's SPL to the rule file. */
export function inRuleFile(rule: LoadedRule, offset: number): { line: number; col: number } {
  const p = lineColAt(rule.search ?? "", offset);
  return positionInRuleFile(rule, p.line, p.col);
}

/** The searched literal in the other case: `*\\excel.exe` -> `...\\EXCEL.EXE`, `*DCOM*` -> `...dcom...`. */
function caseTwin(value: string): string {
  const literal = value.replace(/\*/g, "...");
  return literal === literal.toLowerCase() ? literal.toUpperCase() : literal.toLowerCase();
}

/**
 * Values the search admits for `field` (case-insensitively) that the case-sensitive regex rejects:
 * the searched literals in the other case, kept when the regex matches them ignoring case.
 */
function caseTraps(
  pattern: string,
  compares: SearchCompare[],
  field: string,
  insensitive: Set<string>,
): string[] {
  if (!insensitive.has(field)) return [];
  let sensitive: RegExp;
  let folded: RegExp;
  try {
    sensitive = new RegExp(pattern);
    folded = new RegExp(pattern, "i");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const c of compares) {
    if (c.field !== field || c.caseSensitive || (c.op !== "=" && c.op !== "!=")) continue;
    const twin = caseTwin(c.value);
    if (folded.test(twin) && !sensitive.test(twin) && !out.includes(twin)) out.push(twin);
  }
  return out.slice(0, 3);
}

/** A regex made of bare alternatives that are not anchored to a path component or an end. */
function unanchoredAlternatives(pattern: string): string[] | undefined {
  const m = /^\(?((?:[A-Za-z0-9_.-]+\|)+[A-Za-z0-9_.-]+)\)?$/.exec(pattern);
  if (!m) return undefined;
  return m[1].split("|");
}

/** Lint one rule's SPL (parsed by the caller). */
export function lintPipeline(rule: LoadedRule, pipeline: Pipeline): LintFinding[] {
  const findings: LintFinding[] = [];
  const add = (offset: number, code: string, message: string) => {
    const { line, col } = inRuleFile(rule, offset);
    findings.push({ file: rule.file, line, col, code, message });
  };
  const first = pipeline.commands[0];
  const leading = first?.name === "search" ? first.expr : undefined;
  const compares = searchComparisons(leading);
  const searchedInsensitively = new Set(
    compares
      .filter((c) => !c.caseSensitive && (c.op === "=" || c.op === "!=") && /[A-Za-z]/.test(c.value))
      .map((c) => c.field),
  );

  for (const expr of pipelineEvalExprs(pipeline)) {
    for (const call of evalCalls(expr, "match")) {
      const [subject, regex] = call.args;
      if (subject?.kind !== "field" || regex?.kind !== "string") continue;
      const pattern = regex.value;
      const caseless = /^\(\?[a-z]*i/.test(pattern);
      const examples = caseless ? [] : caseTraps(pattern, compares, subject.name, searchedInsensitively);
      if (examples.length) {
        add(
          call.pos,
          "match-case",
          `match(${subject.name}, "${pattern}") is case-sensitive, but the search matched ${subject.name} case-insensitively: ` +
            `${examples.map((e) => `"${e}"`).join(", ")} pass the search and fail this match (add (?i) to the regex)`,
        );
      }
      const alternatives = unanchoredAlternatives(pattern.replace(/^\(\?[a-z]+\)/, ""));
      if (alternatives) {
        add(
          regex.pos,
          "match-substring",
          `match(${subject.name}, "${pattern}") is unanchored: each alternative matches anywhere in the value, ` +
            `e.g. "${alternatives[0]}" inside a folder name such as C:\\Users\\x${alternatives[0]}\\ ` +
            `(anchor to the file name: "\\\\\\\\(${alternatives.join("|")})\\\\.exe$")`,
        );
      }
    }
  }

  // `a.b` in eval/where is `a` concatenated with `b`; a data-model field (Processes.dest) needs quotes.
  const dots = (e: EvalExpr): void => {
    if (e.kind === "binary") {
      const { left, right } = e;
      if (
        e.op === "." &&
        left.kind === "field" &&
        !left.quoted &&
        right.kind === "field" &&
        !right.quoted &&
        pipeline.text.startsWith(`${left.name}.${right.name}`, left.pos)
      )
        add(
          left.pos,
          "eval-dot",
          `${left.name}.${right.name} is read as ${left.name} concatenated with ${right.name}; ` +
            `for the field named ${left.name}.${right.name} write '${left.name}.${right.name}'`,
        );
      dots(left);
      dots(right);
    } else if (e.kind === "unary" || e.kind === "group") dots(e.expr);
    else if (e.kind === "call") e.args.forEach(dots);
    else if (e.kind === "in") [e.expr, ...e.list].forEach(dots);
  };
  for (const expr of pipelineEvalExprs(pipeline)) dots(expr);

  // Lower-case and/or/not in a search are terms to find in _raw, not operators (Search Manual,
  // Boolean expressions: operators must be upper case).
  const terms = (e: SearchExpr | undefined): void => {
    if (e === undefined) return;
    if (
      e.kind === "term" &&
      !e.quoted &&
      /^(and|or|not)$/i.test(e.value) &&
      e.value !== e.value.toUpperCase()
    )
      add(
        e.pos,
        "lowercase-operator",
        `'${e.value}' in a search is a term looked up in _raw, not the operator ${e.value.toUpperCase()}`,
      );
    else if (e.kind === "and" || e.kind === "or") e.items.forEach(terms);
    else if (e.kind === "not" || e.kind === "group") terms(e.expr);
  };
  for (const c of pipeline.commands) if (c.name === "search") terms(c.expr);

  for (const c of pipeline.commands) {
    if (c.name === "sort" && c.limit === undefined) {
      add(
        c.pos,
        "sort-limit",
        "sort without a count keeps only the first 10,000 results (use 'sort 0 ...' to keep all)",
      );
    }
  }

  for (const c of compares) {
    if (c.field === "sourcetype" && c.op === "=") {
      const v = c.value.toLowerCase();
      if (v.startsWith("xmlwineventlog:") || v.startsWith("wineventlog:")) {
        add(
          c.pos,
          "sourcetype-naming",
          `sourcetype=${c.raw} matches only the legacy naming: data indexed with the Splunk Add-on for Sysmon or ` +
            `Splunk_TA_windows 6+ has sourcetype=XmlWinEventLog and this search returns nothing there ` +
            `(source="XmlWinEventLog:<Channel>" matches the modern naming)`,
        );
      } else if (v === "xmlwineventlog" || v === "wineventlog") {
        add(
          c.pos,
          "sourcetype-naming",
          `sourcetype=${c.raw} matches only the modern naming: data forwarded with the legacy per-channel source types ` +
            `(XmlWinEventLog:<Channel>) is not matched`,
        );
      }
    }
    const wild = /^\*-([A-Za-z]+)\*$/.exec(c.value);
    if (wild && (c.op === "=" || c.op === "!=")) {
      const prefix = wild[1].toLowerCase();
      const others = POWERSHELL_PARAMETERS.filter(
        (p) => p.toLowerCase().startsWith(prefix) && p.toLowerCase() !== prefix,
      );
      if (others.length) {
        add(
          c.pos,
          "wildcard-prefix",
          `${c.field}=${c.raw} also matches ${others.map((o) => `-${o}`).join(", ")} (the wildcard after "-${wild[1]}" ` +
            `takes any longer switch); e.g. every "powershell -ExecutionPolicy Bypass" command line`,
        );
      }
    }
  }
  return findings.sort((a, b) => a.line - b.line || a.col - b.col);
}
