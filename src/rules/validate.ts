/**
 * Rule tests: each test of a rule names an emulation scenario or a file/folder and what must happen
 * (fire, optionally with a DetectionPattern / variant / count; stay silent; or be a known miss with its
 * reason). A known miss that fires fails too: the rule changed. Rules outside the `seed` pack may not
 * list an attack scenario as a known miss.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Alert } from "../correlate/index.js";
import { emulate, findScenario, scenarios } from "../emulate/index.js";
import type { WinEvent } from "../events/model.js";
import type { ResultRow } from "../spl/index.js";
import type { LoadedRule } from "./loader.js";
import { compileRules, type RunOptions, runRules } from "./run.js";
import type { RuleTest } from "./schema.js";

export interface TestOutcome {
  rule: LoadedRule;
  test: RuleTest;
  passed: boolean;
  /** The test could not run here (its file is absent); neither passed nor failed. */
  skipped?: string;
  /** What the test expects, in words. */
  expected: string;
  /** What happened, in words. */
  got: string;
}

function expectation(t: RuleTest): string {
  if (t.expect === "silent") return "silent";
  if (t.expect === "miss") return "known miss (silent)";
  const parts = ["fire"];
  if (t.count !== undefined) parts.push(`${t.count}x`);
  if (t.pattern) parts.push(`pattern ${t.pattern}`);
  if (t.variant) parts.push(`variant ${t.variant}`);
  if (t.object) parts.push(`object ${t.object}`);
  if (t.outcome) parts.push(`outcome ${t.outcome}`);
  if (t.observed_on) parts.push(`observed on ${t.observed_on}`);
  return parts.join(", ");
}

function summarize(rows: ResultRow[], alerts: Alert[]): string {
  if (rows.length === 0 && alerts.length === 0) return "silent";
  if (alerts.length) {
    const incidents = [...new Set(alerts.map(incidentLabel))].join("; ");
    return `${alerts.length} alert(s): ${incidents}`;
  }
  const patterns = [
    ...new Set(rows.map((r) => String(r.fields.get("DetectionPattern") ?? "")).filter(Boolean)),
  ].join("/");
  return `${rows.length} row(s)${patterns ? `: ${patterns}` : ""}`;
}

/** "MMC20 executed (both)": an alert's object, outcome and where it was seen. */
export function incidentLabel(a: Alert): string {
  const objects = a.objects && a.objects.length > 1 ? a.objects.join("+") : a.variant;
  return `${objects}${a.outcome ? ` ${a.outcome}` : ""}${a.observed_on ? ` (${a.observed_on})` : ""}${a.loopback ? " loopback" : ""}`;
}

/** Resolve a test's `file` against the repository root (the folder holding `rules/`). */
export function testFilePath(file: string, repoRoot: string): string {
  return path.isAbsolute(file) ? file : path.resolve(repoRoot, file);
}

export async function runRuleTest(
  rule: LoadedRule,
  test: RuleTest,
  opts: RunOptions,
  repoRoot: string,
): Promise<TestOutcome> {
  const expected = expectation(test);
  const fail = (got: string): TestOutcome => ({ rule, test, passed: false, expected, got });
  let source: string[] | { streams: AsyncIterable<WinEvent>[] };
  if (test.scenario) {
    const scenario = findScenario(test.scenario);
    if (!scenario) return fail(`unknown scenario '${test.scenario}'`);
    if (test.expect === "miss" && scenario.kind === "attack" && rule.pack !== "seed") {
      return fail(`an attack scenario may not be a known miss of a '${rule.pack}' rule`);
    }
    const events = emulate([test.scenario]);
    source = {
      streams: [
        (async function* () {
          yield* events;
        })(),
      ],
    };
  } else {
    const file = testFilePath(test.file!, repoRoot);
    if (!existsSync(file))
      return { rule, test, passed: false, skipped: `file absent: ${file}`, expected, got: "-" };
    source = [file];
  }
  const rows: ResultRow[] = [];
  const alerts: Alert[] = [];
  const compiled = compileRules([rule], opts);
  const result = await runRules(compiled, source, opts, {
    row: (_r, row) => {
      rows.push(row);
    },
    alert: (_r, alert) => {
      alerts.push(alert);
    },
  });
  const got = summarize(rows, alerts);
  if (Array.isArray(source) && result.stats.files === 0) return fail(`no log file read from ${source[0]}`);
  const n = rows.length + alerts.length;
  let passed: boolean;
  if (test.expect === "fire") {
    passed = n > 0;
    if (test.count !== undefined) passed &&= n === test.count;
    if (test.pattern) passed &&= rows.some((r) => r.fields.get("DetectionPattern") === test.pattern);
    if (test.variant || test.object || test.outcome || test.observed_on) {
      passed &&= alerts.some(
        (a) =>
          (!test.variant || a.variant === test.variant) &&
          (!test.object || a.object === test.object) &&
          (!test.outcome || a.outcome === test.outcome) &&
          (!test.observed_on || a.observed_on === test.observed_on),
      );
    }
  } else {
    passed = n === 0;
  }
  return {
    rule,
    test,
    passed,
    expected,
    got: test.expect === "miss" && n > 0 ? `${got} (the known miss now fires: the rule changed)` : got,
  };
}

export async function validateRules(
  rules: LoadedRule[],
  opts: RunOptions,
  repoRoot: string,
): Promise<TestOutcome[]> {
  const outcomes: TestOutcome[] = [];
  for (const rule of rules) {
    for (const test of rule.tests ?? []) outcomes.push(await runRuleTest(rule, test, opts, repoRoot));
  }
  return outcomes;
}

/** What the rules together report for one emulation scenario, against what the scenario expects. */
export interface ScenarioIncidentOutcome {
  scenario: string;
  kind: "attack" | "benign";
  passed: boolean;
  /** "1x MMC20 executed (both)", or "none". */
  expected: string;
  got: string;
}

/**
 * Every emulation scenario through the given rules together (alerts of several rules merged into
 * incidents, as `scan` does): an attack scenario must give exactly `expect.incidents` incidents, each with
 * its object, outcome and observed_on, and not loopback unless the scenario runs locally; a benign one none.
 * Only meaningful for a rule set that covers the scenarios (the dcom pack); `validate` runs it when the
 * selection holds every dcom rule.
 */
export async function validateScenarioIncidents(
  rules: LoadedRule[],
  opts: RunOptions,
): Promise<ScenarioIncidentOutcome[]> {
  const out: ScenarioIncidentOutcome[] = [];
  const sequenceRules = rules.filter((r) => r.sequence !== undefined);
  for (const s of scenarios) {
    const events = emulate([s.name]);
    const alerts: Alert[] = [];
    await runRules(
      compileRules(sequenceRules, opts),
      {
        streams: [
          (async function* () {
            yield* events;
          })(),
        ],
      },
      opts,
      { row: () => {}, alert: (_r, a) => void alerts.push(a) },
    );
    const want = s.kind === "benign" ? { incidents: 0 } : (s.expect ?? { incidents: 1 });
    const expected =
      want.incidents === 0
        ? "none"
        : `${want.incidents}x ${("objects" in want && want.objects ? want.objects : [want.object ?? "?"]).join("+")} ${want.outcome ?? "?"} (${want.observed_on ?? "?"})${s.loopback ? " loopback" : ""}`;
    const got = alerts.length === 0 ? "none" : alerts.map(incidentLabel).join("; ");
    const passed =
      alerts.length === want.incidents &&
      alerts.every(
        (a) =>
          (!("object" in want) || a.object === want.object) &&
          (!("outcome" in want) || a.outcome === want.outcome) &&
          (!("observed_on" in want) || a.observed_on === want.observed_on) &&
          (!("objects" in want) || (a.objects ?? []).join(",") === want.objects?.join(",")) &&
          a.loopback === s.loopback,
      );
    out.push({ scenario: s.name, kind: s.kind, passed, expected, got });
  }
  return out;
}
