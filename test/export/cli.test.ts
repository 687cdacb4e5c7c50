/**
 * `dcomhunt export` (src/cli/export.ts): stdout without -o, one file per rule and target with -o,
 * warnings on stderr, exit code 2 (UsageError) for a bad target or rule selector, exit 1 with one
 * line per rule a target cannot express (the other rules written).
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
  test("the default --rules all: splunk, sigma, kql, eql and sql (DuckDB) take every bundled rule", async () => {
    for (const t of ["splunk", "sigma", "kql", "eql"]) {
      const r = await run(["--target", t]);
      assert.equal(r.code, 0, `${t}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /skipped/);
    }
    // What the Splunk form of a sequence rule does not keep: a comment in the file and a line on stderr.
    const splunk = await run(["--target", "splunk", "--rules", "dcom"]);
    assert.match(
      splunk.stderr,
      /warning: splunk: rule 'DCOM Lateral Movement - .+': not kept: joins decided over/,
    );
    assert.match(splunk.stdout, /^# not kept from the dcomhunt engine: /m);
    assert.match(splunk.stdout, /^``` not kept: /m);
    const duck = await run(["--target", "sql", "--dialect", "duckdb"]);
    assert.equal(duck.code, 0, duck.stderr);
    assert.equal((duck.stdout.match(/^==> .*\.duckdb\.sql <==$/gm) ?? []).length, 7);
  });
  test("exit 1 with one line per rule a target cannot take (rule, construct, file:line:col); the rest is written", async () => {
    const esql = await run(["--target", "esql"]);
    assert.equal(esql.code, 1);
    const lines = esql.stderr.split("\n").filter((l) => l.includes("skipped: "));
    assert.equal(lines.length, 6);
    for (const l of lines)
      assert.match(l, /rules\/dcom\/dcom_[a-z_]+\.yml:\d+:1: --target esql: rule '.+': sequence rule: /);
    assert.match(esql.stdout, /^FROM logs-windows/m);
    // Both SQL dialects take every bundled rule (ClickHouse 18.16 without window functions too).
    const sql = await run(["--target", "sql"]);
    assert.equal(sql.code, 0, sql.stderr);
    assert.doesNotMatch(sql.stderr, /skipped: /);
    assert.equal((sql.stdout.match(/^==> .*\.duckdb\.sql <==$/gm) ?? []).length, 7);
    assert.equal((sql.stdout.match(/^==> .*\.clickhouse\.sql <==$/gm) ?? []).length, 7);
    const help = await run(["--help"]);
    assert.match(help.stdout, /0 every selected rule exported, 1 some rules skipped/);
  });
  test("usage errors: no target, unknown target, unknown rule; unsupported SPL skips the rule", async () => {
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
      // A rule the target cannot express is skipped (one line naming it), the others are written: exit 1.
      const r = await run(["--target", "esql", "--rules", file, "--rules", seedFile]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^dcomhunt export: skipped: .*stats\.yml:12:5: --target esql: rule 'stats rule': command 'stats'/m,
      );
      assert.match(r.stdout, /^FROM /m);
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
