/**
 * CI cannot pass without its proofs: no test finds its files through process.cwd() (run from another
 * folder it would skip), every conditional skip goes through skipUnless (never a skip under CI=true), the
 * export golden test fails rather than skips on a broken bundled rule, and .ci/run stops on a failed install.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { repoRoot, skipUnless } from "../helpers/env.js";

function testFiles(dir = path.join(repoRoot, "test")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === "fixtures" ? [] : testFiles(p);
    return d.name.endsWith(".ts") ? [p] : [];
  });
}

const self = new URL(import.meta.url).pathname;
const sources = testFiles()
  .filter((f) => f !== self && !f.endsWith(`${path.sep}helpers${path.sep}env.ts`))
  .map((f) => ({ f: path.relative(repoRoot, f), text: readFileSync(f, "utf8") }));

describe("CI runs every proof", () => {
  test("test files find their files from their own location, not process.cwd()", () => {
    // process.cwd() as the base of a path (saving it to restore after a chdir is fine).
    const bad = sources
      .filter((s) => /process\.cwd\(\)\s*,|join\(process\.cwd\(\)/.test(s.text))
      .map((s) => s.f);
    assert.deepEqual(bad, []);
  });

  test("a conditional skip goes through skipUnless (so it cannot skip under CI=true)", () => {
    const bad: string[] = [];
    for (const s of sources) {
      // `cond ? false : "reason"` or `cond ? "reason" : false` as a skip value
      for (const m of s.text.matchAll(/\?\s*false\s*:\s*[`"']|\?\s*[`"'][^`"']*[`"']\s*:\s*false/g)) {
        const line = s.text.slice(0, m.index).split("\n").length;
        bad.push(`${s.f}:${line}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  test("skipUnless: a reason outside CI, never a skip under CI", () => {
    const saved = process.env.CI;
    try {
      assert.equal(skipUnless(true, "x"), false);
      // inCI is read once at load; the rule itself is what matters here.
      const inCI = saved === "true" || saved === "1";
      assert.equal(skipUnless(false, "absent"), inCI ? false : "absent");
    } finally {
      process.env.CI = saved;
    }
  });

  test("the export golden test does not skip on a broken bundled rule file", () => {
    const golden = sources.find((s) => s.f.endsWith(path.join("export", "golden.test.ts")));
    assert.ok(golden);
    assert.doesNotMatch(golden.text, /skip:\s*broken/);
  });

  test(".ci/run stops on a failed install", () => {
    const ci = readFileSync(path.join(repoRoot, ".ci", "run"), "utf8");
    assert.match(ci, /^set -euo pipefail/m);
    assert.doesNotMatch(ci, /apt-get install[^\n]*\|\|\s*true/);
  });
});
