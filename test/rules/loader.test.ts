import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import {
  bundledRulesDir,
  loadRuleFile,
  parseRuleText,
  RuleError,
  selectRules,
} from "../../src/rules/loader.js";
import { repoRoot, skipUnless } from "../helpers/env.js";

const seedSpl = path.resolve(repoRoot, "../shared/reference/seed.spl");

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuleError) return err.problems;
    throw err;
  }
  assert.fail("expected a RuleError");
}

const valid = `name: Test rule
id: 11111111-2222-3333-4444-555555555555
version: 1
date: "2026-11-29"
author: me
status: experimental
type: TTP
pack: custom
description: d
search: |
  index=x EventCode=1
data_source: [Sysmon EventID 1]
how_to_implement: h
known_false_positives: k
mitre: { tactic: [Lateral Movement], technique: [T1021], sub_technique: [T1021.003] }
severity: high
`;

describe("rule loader", () => {
  test("the bundled seed rule carries seed.spl byte for byte", {
    skip: skipUnless(existsSync(seedSpl), `reference absent: ${seedSpl}`),
  }, () => {
    const rule = loadRuleFile(path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml"));
    assert.equal(rule.search, readFileSync(seedSpl, "utf8"));
    assert.equal(rule.pack, "seed");
    assert.deepEqual(rule.mitre.sub_technique, ["T1021.003"]);
  });

  test("a valid rule loads and records where its search starts", () => {
    const rule = parseRuleText(valid, "r.yml");
    assert.equal(rule.name, "Test rule");
    assert.deepEqual(rule.searchStart, { line: 11, col: 3, block: true });
  });

  test("every problem is listed with file:line:col", () => {
    const bad =
      valid.replace("severity: high", "severity: extreme").replace("version: 1", "version: zero") +
      "colour: red\n";
    const problems = problemsOf(() => parseRuleText(bad, "bad.yml"));
    const texts = problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    assert.ok(
      texts.some((t) => t.startsWith("bad.yml:3:10: version")),
      texts.join("\n"),
    );
    assert.ok(
      texts.some((t) => /^bad\.yml:16:11: severity: must be one of/.test(t)),
      texts.join("\n"),
    );
    assert.ok(
      texts.some((t) => t === "bad.yml:17:1: rule: unknown field 'colour'"),
      texts.join("\n"),
    );
  });

  test("a missing required field and both search and sequence are reported", () => {
    const noSearch = valid.replace("search: |\n  index=x EventCode=1\n", "");
    const p1 = problemsOf(() => parseRuleText(noSearch, "a.yml"));
    assert.ok(p1.some((p) => p.message.includes("exactly one of 'search' or 'sequence'")));
    const noAuthor = valid.replace("author: me\n", "");
    const p2 = problemsOf(() => parseRuleText(noAuthor, "b.yml"));
    assert.ok(p2.some((p) => p.message === "rule: missing required field 'author'" && p.line === 1));
  });

  test("YAML syntax errors carry a position", () => {
    const problems = problemsOf(() => parseRuleText("name: [unclosed\nid: x\n", "y.yml"));
    assert.equal(problems[0].file, "y.yml");
    assert.match(problems[0].message, /^YAML:/);
  });

  test("tests: a miss needs a reason; scenario or file", () => {
    const withTests = `${valid}tests:\n  - name: t1\n    scenario: seed-1-mmc20\n    expect: miss\n  - name: t2\n    expect: fire\n`;
    const problems = problemsOf(() => parseRuleText(withTests, "t.yml"));
    assert.ok(
      problems.some((p) => p.line === 18 && p.message.includes("reason")),
      JSON.stringify(problems),
    );
    assert.ok(
      problems.some((p) => p.line === 21 && p.message.includes("exactly one of 'scenario' or 'file'")),
      JSON.stringify(problems),
    );
  });

  test("SPL problems are mapped into the rule file", () => {
    const problems = problemsOf(() =>
      parseRuleText(valid, "s.yml", { search: () => [{ line: 1, col: 9, message: "bad token" }] }),
    );
    assert.deepEqual(problems[0], { file: "s.yml", line: 11, col: 11, message: "bad token" });
  });

  test("selection by pack, id, name and path; unknown selector is an error", () => {
    const seed = selectRules(["seed"]);
    assert.equal(seed.length, 1);
    assert.deepEqual(
      selectRules([seed[0].id]).map((r) => r.id),
      [seed[0].id],
    );
    assert.deepEqual(
      selectRules([seed[0].name.toUpperCase()]).map((r) => r.id),
      [seed[0].id],
    );
    assert.deepEqual(
      selectRules([seed[0].file, "seed"]).map((r) => r.id),
      [seed[0].id],
    );
    assert.ok(selectRules([]).some((r) => r.id === seed[0].id));
    const problems = problemsOf(() => selectRules(["nosuchpack"]));
    assert.match(problems[0].message, /no rule, pack or rule file named 'nosuchpack'/);
  });
});
