/** Lint for SPL that Splunk reads differently from what it looks like (issue 19). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { lintPipeline } from "../../src/rules/lint.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import { parseSpl } from "../../src/spl/index.js";

const rule = { file: "r.yml", searchStart: { line: 1, col: 1, block: true } } as unknown as LoadedRule;
const codes = (spl: string) => lintPipeline(rule, parseSpl(spl)).map((f) => `${f.code}@${f.col}`);

describe("lint: silent misreadings", () => {
  test("eval-dot: Processes.dest in eval/where is a concatenation (Search Reference, eval: field names with non-alphanumeric characters need single quotes)", () => {
    assert.deepEqual(codes('* | where Processes.dest="x"'), ["eval-dot@11"]);
    assert.deepEqual(codes("* | where 'Processes.dest'=\"x\""), []);
    assert.deepEqual(codes("* | eval r=a . b"), []);
  });

  test("lowercase-operator: 'or' in a search is a term (Search Manual, Boolean expressions)", () => {
    assert.deepEqual(codes("a=1 or b=2"), ["lowercase-operator@5"]);
    assert.deepEqual(codes("a=1 OR b=2"), []);
  });
});
