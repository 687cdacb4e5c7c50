/**
 * `dcomhunt rules list|show|lint`: what rules are bundled, one rule in full, and the silent traps of a
 * rule's SPL (with inputs: which of its filters match nothing in a sample of the data).
 */
import { readFileSync } from "node:fs";
import { toSplunkEvent } from "../events/fields.js";
import { readInputs } from "../readers/index.js";
import { formatTextTable } from "../report/results.js";
import { inRuleFile, type LintFinding, lintPipeline, searchComparisons } from "../rules/lint.js";
import { type LoadedRule, selectRules } from "../rules/loader.js";
import { coverageOf } from "../rules/security-content.js";
import { compileSearchExpression, parseSpl } from "../spl/index.js";
import {
  type Command,
  type CommandSpec,
  choiceOpt,
  EXIT_DETECTIONS,
  EXIT_OK,
  helpText,
  intOpt,
  listOpt,
  openOutput,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";
import { ruleChecks } from "./scan.js";

export const rulesSpec: CommandSpec = {
  name: "rules",
  summary: "list, show, lint detection rules; coverage of an SPL rule folder",
  usage:
    "dcomhunt rules list [--rules SEL] | rules show <id|name|file> | rules lint [--rules SEL] [inputs...] | rules coverage PATH",
  options: {
    rules: { type: "string", short: "r", multiple: true },
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
    sample: { type: "string" },
    ...fieldViewOptionSpecs,
  },
  help: {
    rules: "which rules: a pack (seed, dcom, all), a rule id or name, or a rule file/folder (default all)",
    format: "list/lint: table (default) or json",
    output: "write to FILE instead of standard output",
    sample: "lint with inputs: events sampled (default 100000)",
    ...fieldViewOptionHelp,
  },
  details:
    "lint exits 1 when it reports findings, 0 when the rules are clean, 2 on a bad rule file.\n" +
    "Findings: match-case, match-substring, sort-limit, sourcetype-naming, wildcard-prefix, eval-dot, lowercase-operator, no-data (with inputs).",
};

function kindOf(r: LoadedRule): string {
  if (r.sigma) return r.sigma.kind === "correlation" ? "sigma-correlation" : "sigma";
  return r.sequence ? "sequence" : "search";
}

/** Comparisons of the leading search that match no event of the sample. */
async function dataFindings(
  rules: LoadedRule[],
  inputs: string[],
  sample: number,
  view: ReturnType<typeof fieldViewFromArgs>,
): Promise<LintFinding[]> {
  type Probe = {
    rule: LoadedRule;
    offset: number;
    text: string;
    test: ReturnType<typeof compileSearchExpression>;
    hits: number;
  };
  const probes: Probe[] = [];
  for (const rule of rules) {
    if (!rule.search || rule.blocked !== undefined || rule.sigma) continue;
    const pipeline = parseSpl(rule.search, { file: rule.file, macros: rule.macros });
    const first = pipeline.commands[0];
    if (first?.name !== "search") continue;
    for (const c of searchComparisons(first.expr)) {
      const text = `${c.field}${c.op}${c.raw}`;
      probes.push({
        rule,
        offset: c.pos,
        text,
        test: compileSearchExpression(text, { fieldView: view }),
        hits: 0,
      });
    }
  }
  let n = 0;
  for await (const ev of readInputs(inputs, {})) {
    const se = toSplunkEvent(ev, view);
    for (const p of probes) if (p.hits === 0 && p.test(se)) p.hits++;
    if (++n >= sample) break;
  }
  return probes
    .filter((p) => p.hits === 0)
    .map((p) => ({
      file: p.rule.file,
      ...inRuleFile(p.rule, p.offset),
      code: "no-data",
      message: `${p.text} matches none of the ${n} sampled events`,
    }));
}

export const rulesCommand: Command = async (argv) => {
  const args = parseCommandArgs(rulesSpec, argv);
  if (!args) {
    process.stdout.write(helpText(rulesSpec));
    return EXIT_OK;
  }
  const [sub, ...rest] = args.positionals;
  const format = choiceOpt(args.values, "format", ["table", "json"] as const, "table", "rules");
  const out = openOutput(stringOpt(args.values, "output"));
  const checks = ruleChecks();
  try {
    switch (sub) {
      case "list": {
        const rules = selectRules(listOpt(args.values, "rules"), checks);
        const rows = rules.map((r) => ({
          id: r.id,
          name: r.name,
          pack: r.pack,
          kind: kindOf(r),
          severity: r.severity,
          status: r.status,
          version: String(r.version),
          tests: String(r.tests?.length ?? 0),
          runs: r.blocked === undefined ? "yes" : `no: ${r.blocked}`,
          ...(r.sigma
            ? { level: r.sigma.level ?? "", tags: r.sigma.tags, falsepositives: r.sigma.falsepositives }
            : {}),
        }));
        if (format === "json") out.write(`${JSON.stringify(rows, null, 2)}\n`);
        else {
          const cols = ["pack", "kind", "severity", "tests", "id", "name"];
          // A column saying which rules cannot run and why, when some cannot.
          if (rules.some((r) => r.blocked !== undefined)) cols.push("runs");
          out.write(formatTextTable(cols, rows, true));
        }
        return EXIT_OK;
      }
      case "coverage": {
        if (rest.length !== 1)
          throw new UsageError("rules coverage: give one rule folder (e.g. a security_content checkout)");
        const rules = selectRules(rest, checks);
        const cov = coverageOf(rules);
        const causes = [...cov.causes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
        if (format === "json") {
          out.write(`${JSON.stringify({ ...cov, causes: Object.fromEntries(causes) }, null, 2)}\n`);
          return EXIT_OK;
        }
        const pct = (a: number, b: number) => (b === 0 ? "-" : `${((100 * a) / b).toFixed(1)}%`);
        out.write(
          `searches: ${cov.total}, run: ${cov.runs} (${pct(cov.runs, cov.total)}), blocked: ${cov.total - cov.runs}\n`,
        );
        out.write(
          `reading Windows event logs: ${cov.windows.total}, run: ${cov.windows.runs} (${pct(cov.windows.runs, cov.windows.total)})\n`,
        );
        if (causes.length > 0) {
          out.write("\n");
          out.write(
            formatTextTable(
              ["blocker", "searches"],
              causes.map(([c, n]) => ({ blocker: c, searches: String(n) })),
              true,
            ),
          );
        }
        return EXIT_OK;
      }
      case "show": {
        if (rest.length !== 1) throw new UsageError("rules show: give one rule id, name or file");
        const [rule] = selectRules(rest, checks);
        if (format === "json") {
          const { searchStart: _s, ...plain } = rule;
          out.write(`${JSON.stringify(plain, null, 2)}\n`);
        } else {
          out.write(`# ${rule.file}\n${readFileSync(rule.file, "utf8")}`);
          if (rule.sigma)
            out.write(`\n# compiled to SPL (level ${rule.sigma.level ?? "-"}):\n${rule.search}\n`);
        }
        return EXIT_OK;
      }
      case "lint": {
        const rules = selectRules(listOpt(args.values, "rules"), checks);
        const findings: LintFinding[] = [];
        for (const rule of rules) {
          // Sigma rules: their SPL is generated, so SPL authoring findings would point at no line of theirs.
          if (rule.search && rule.blocked === undefined && !rule.sigma)
            findings.push(
              ...lintPipeline(rule, parseSpl(rule.search, { file: rule.file, macros: rule.macros })),
            );
        }
        if (rest.length) {
          const view = fieldViewFromArgs(args.values, "rules lint");
          findings.push(
            ...(await dataFindings(rules, rest, intOpt(args.values, "sample", 100000, "rules lint"), view)),
          );
        }
        findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
        if (format === "json") out.write(`${JSON.stringify(findings, null, 2)}\n`);
        else {
          for (const f of findings) out.write(`${f.file}:${f.line}:${f.col}: ${f.code}: ${f.message}\n`);
          process.stderr.write(`${findings.length} finding(s) in ${rules.length} rule(s)\n`);
        }
        return findings.length ? EXIT_DETECTIONS : EXIT_OK;
      }
      default:
        throw new UsageError(`rules: expected list, show, lint or coverage (got '${sub ?? ""}')`);
    }
  } finally {
    await out.close();
  }
};
