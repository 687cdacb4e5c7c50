/** `dcomhunt validate`: replay every rule test of the selected rules and print the matrix. */
import path from "node:path";
import { formatTextTable } from "../report/results.js";
import { bundledRulesDir, selectRules } from "../rules/loader.js";
import { type ScenarioIncidentOutcome, validateRules, validateScenarioIncidents } from "../rules/validate.js";
import {
  type Command,
  type CommandSpec,
  choiceOpt,
  EXIT_DETECTIONS,
  EXIT_OK,
  helpText,
  listOpt,
  openOutput,
  parseCommandArgs,
  stringOpt,
} from "./common.js";
import { fieldViewFromArgs } from "./field-options.js";
import { ruleChecks } from "./scan.js";

export const validateSpec: CommandSpec = {
  name: "validate",
  summary: "run the rules' tests (emulated scenarios and files) and print the matrix",
  usage: "dcomhunt validate [--rules SEL]... [--format table|json] [-o FILE]",
  options: {
    rules: { type: "string", short: "r", multiple: true },
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
    root: { type: "string" },
  },
  help: {
    rules: "which rules: a pack (seed, dcom, all), a rule id or name, or a rule file/folder (default all)",
    format: "table (default) or json",
    output: "write to FILE instead of standard output",
    root: "folder that test 'file:' paths are relative to (default: the folder holding the bundled rules/)",
  },
  details:
    "Exit codes: 0 every test passed (or was skipped because its file is absent), 1 a test failed, 2 a bad rule file,\n4 output could not be written.",
};

export const validateCommand: Command = async (argv) => {
  const args = parseCommandArgs(validateSpec, argv);
  if (!args) {
    process.stdout.write(helpText(validateSpec));
    return EXIT_OK;
  }
  const format = choiceOpt(args.values, "format", ["table", "json"] as const, "table", "validate");
  const rules = selectRules(listOpt(args.values, "rules"), ruleChecks());
  const root = stringOpt(args.values, "root") ?? path.dirname(bundledRulesDir());
  // Opened first: a bad -o fails before the tests run.
  const out = openOutput(stringOpt(args.values, "output"));
  // Emulated events carry fixed dates: time-relative behaviour is anchored on the data, not the clock.
  const runOpts = { fieldView: fieldViewFromArgs({}, "validate") };
  const outcomes = await validateRules(rules, runOpts, root);
  // With the whole dcom pack selected: every emulation scenario gives exactly its expected incidents.
  const bundled = selectRules(["dcom"], ruleChecks()).map((r) => r.id);
  const chosen = new Set(rules.map((r) => r.id));
  const incidents: ScenarioIncidentOutcome[] =
    bundled.length > 0 && bundled.every((id) => chosen.has(id))
      ? await validateScenarioIncidents(
          rules.filter((r) => r.pack === "dcom"),
          runOpts,
        )
      : [];
  const failed = [...outcomes.filter((o) => !o.passed && !o.skipped), ...incidents.filter((o) => !o.passed)];
  const skipped = outcomes.filter((o) => o.skipped);
  if (format === "json") {
    out.write(
      `${JSON.stringify(
        outcomes
          .map((o) => ({
            rule_id: o.rule.id,
            rule: o.rule.name,
            test: o.test.name,
            source: o.test.scenario ?? o.test.file,
            result: o.skipped ? "skip" : o.passed ? "pass" : "fail",
            expected: o.expected,
            got: o.got,
            reason: o.test.reason ?? o.skipped,
          }))
          .concat(
            incidents.map((o) => ({
              rule_id: "",
              rule: "dcom pack (incidents)",
              test: `scenario ${o.scenario}`,
              source: o.scenario,
              result: o.passed ? "pass" : "fail",
              expected: o.expected,
              got: o.got,
              reason: undefined,
            })),
          ),
        null,
        2,
      )}\n`,
    );
  } else {
    const rows = outcomes.map((o) => ({
      result: o.skipped ? "skip" : o.passed ? "pass" : "FAIL",
      rule: o.rule.name,
      test: o.test.name,
      source: o.test.scenario ?? o.test.file ?? "",
      expected: o.expected,
      got: o.skipped ?? o.got,
    }));
    for (const o of incidents) {
      rows.push({
        result: o.passed ? "pass" : "FAIL",
        rule: "dcom pack (incidents)",
        test: `one incident per attempt (${o.kind})`,
        source: o.scenario,
        expected: o.expected,
        got: o.got,
      });
    }
    out.write(formatTextTable(["result", "rule", "test", "source", "expected", "got"], rows, true));
  }
  await out.close();
  // The last line is the plain "N passed, N failed[, N skipped]" summary CI reads.
  const total = outcomes.length + incidents.length;
  process.stderr.write(
    `validate: ${outcomes.length} test(s) of ${rules.length} rule(s)` +
      (incidents.length ? `, ${incidents.length} scenario incident check(s) of the dcom pack` : "") +
      "\n",
  );
  process.stderr.write(
    `validate: ${total - failed.length - skipped.length} passed, ${failed.length} failed` +
      (skipped.length ? `, ${skipped.length} skipped` : "") +
      "\n",
  );
  return failed.length ? EXIT_DETECTIONS : EXIT_OK;
};
