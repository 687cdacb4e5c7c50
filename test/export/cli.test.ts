/**
 * `dcomhunt export` (src/cli/export.ts): stdout without -o, one file per rule and target with -o,
 * warnings on stderr, and exit code 2 (UsageError) for a bad target, a bad rule selector or SPL the
 * target cannot express.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { UsageError } from "../../src/cli/common.js";
import { exportCommand } from "../../src/cli/export.js";
import { RuleError } from "../../src/rules/loader.js";
import { extraRuleText, seedRule } from "./helpers.js";

/** Runs the command with stdout/stderr captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await exportCommand(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe("dcomhunt export", () => {
  const seedFile = seedRule().file;
  test("--target sql without -o prints both dialects with file headers", async () => {
    const r = await run(["--target", "sql", "--rules", seedFile]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^==> 5d3a6f2e-8c1b-4e7a-9f0d-2b6c1e4a7d93\.duckdb\.sql <==$/m);
    assert.match(r.stdout, /^==> 5d3a6f2e-8c1b-4e7a-9f0d-2b6c1e4a7d93\.clickhouse\.sql <==$/m);
    assert.match(r.stdout, /LIMIT 10000;/);
  });
  test("-o DIR writes one file per rule and target; Sigma warns on stderr about the pipeline it leaves out", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-export-cli-"));
    try {
      const r = await run(["--target", "sigma", "--rules", seedFile, "-o", dir]);
      assert.equal(r.code, 0);
      assert.deepEqual(readdirSync(dir), ["5d3a6f2e-8c1b-4e7a-9f0d-2b6c1e4a7d93.sigma.yml"]);
      assert.match(readFileSync(path.join(dir, readdirSync(dir)[0]), "utf8"), /CommandLine\|contains\|all:/);
      assert.match(
        r.stderr,
        /warning: sigma: rule 'Detect Distributed Component Object Model \(seed\)': the pipeline after the search is left out \(eval, table, sort\)/,
      );
      assert.equal(r.stdout, "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("--dialect and --flavor narrow the output", async () => {
    const r = await run(["--target", "kql", "--flavor", "defender", "--rules", seedFile]);
    assert.match(r.stdout, /^DeviceProcessEvents$/m);
    assert.doesNotMatch(r.stdout, /^Event$/m);
  });
  test("usage errors: no target, unknown target, unknown rule, unsupported SPL", async () => {
    await assert.rejects(
      run([]),
      (e: unknown) => e instanceof UsageError && /--target is required/.test(e.message),
    );
    await assert.rejects(
      run(["--target", "qradar"]),
      (e: unknown) => e instanceof UsageError && /unknown target 'qradar'/.test(e.message),
    );
    await assert.rejects(run(["--target", "sql", "--rules", "no-such-pack"]), RuleError);
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-export-cli-"));
    try {
      const file = path.join(dir, "stats.yml");
      writeFileSync(
        file,
        extraRuleText(
          "stats rule",
          "55555555-5555-4555-8555-555555555555",
          "EventCode=1\n| stats count by Image",
        ),
      );
      await assert.rejects(
        run(["--target", "esql", "--rules", file]),
        (e: unknown) =>
          e instanceof UsageError &&
          /stats\.yml:12:5: --target esql: rule 'stats rule': command 'stats'/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("--help lists the targets", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    for (const t of ["splunk", "sigma", "kql", "eql", "esql", "sql"])
      assert.match(r.stdout, new RegExp(`^ {2}${t} `, "m"));
  });
});
