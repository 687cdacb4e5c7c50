/**
 * Round trip: every bundled rule exported to Sigma (`export --target sigma`) and read back as Sigma.
 * - The seed rule keeps exactly the same events (the Sigma form drops the eval/table/sort stage,
 *   which changes columns, not which events match) on the corpus and the emulated estate.
 * - The dcom sequence rules come back as Sigma correlations (temporal, group-by, aliases): the export
 *   documents what they lose (classification, attribution, key normalisation, open-incident joins);
 *   what must hold is that every incident the dcom pack finds is still covered by a row of the
 *   reloaded rules on the same host within its time window.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.js";
import { corpusDir, skipUnlessExists } from "../helpers/env.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = corpusDir;
// Outside CI the corpus parts are left out (with the reason printed); under CI=true they always run.
const corpusMissing = skipUnlessExists(corpus, "corpus");
if (corpusMissing) console.log(`# sigma round trip: ${corpusMissing}: estate only`);
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-sigma-rt-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Row = Record<string, unknown>;

async function cli(args: string[]): Promise<{ code: number; rows: Row[] }> {
  const out = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.ndjson`);
  const code = await run([...args, "-f", "ndjson", "-o", out, "--quiet"]);
  const text = existsSync(out) ? readFileSync(out, "utf8") : "";
  return {
    code,
    rows: text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row),
  };
}

const exported = path.join(tmp, "sigma");
const estate = path.join(tmp, "estate.evtx");
// The attack recordings and the look-alikes the seed fires on; the large benign files add time, not cases.
const inputs = (dirs = ["attacks", "negatives"]) => [
  estate,
  ...(corpusMissing ? [] : dirs.map((d) => path.join(corpus, d))),
];

before(async () => {
  assert.equal(await run(["export", "--target", "sigma", "--rules", "all", "-o", exported]), 0);
  assert.equal(await run(["emulate", "all", "-o", estate]), 0);
});

describe("Sigma round trip of the bundled rules", () => {
  test("the seed rule exported to Sigma and read back matches the same events", async () => {
    const seedFile = readdirSync(exported).find((f) =>
      readFileSync(path.join(exported, f), "utf8").includes(
        "title: Detect Distributed Component Object Model (seed)",
      ),
    );
    assert.ok(seedFile, "the seed rule was exported");
    const original = await cli(["scan", "--rules", "seed", ...inputs()]);
    const back = await cli(["scan", "--rules", path.join(exported, seedFile), ...inputs()]);
    const key = (r: Row) => `${r._file}#${r._record_id}`;
    assert.ok(original.rows.length >= 4, "the seed fires on the estate and the corpus");
    assert.deepEqual(back.rows.map(key).sort(), original.rows.map(key).sort());
  });

  test("every dcom incident is still covered by the reloaded Sigma correlations (same host, same window)", async () => {
    const original = await cli(["scan", "--rules", "dcom", ...inputs(["attacks"])]);
    const back = await cli(["scan", "--rules", exported, ...inputs(["attacks"])]);
    assert.ok(original.rows.length >= 10, `dcom alerts: ${original.rows.length}`);
    const lower = (v: unknown) => String(v ?? "").toLowerCase();
    const rowsByHost = new Map<string, number[]>();
    for (const r of back.rows) {
      if (r._rule === "Detect Distributed Component Object Model (seed)") continue;
      const host = lower(r.host ?? r.Computer ?? r._computer);
      const t = Date.parse(String(r.first_time ?? r._time));
      if (!rowsByHost.has(host)) rowsByHost.set(host, []);
      rowsByHost.get(host)?.push(t);
    }
    const uncovered = original.rows.filter((a) => {
      const from = Date.parse(String(a.first_time)) - 15 * 60_000;
      const to = Date.parse(String(a.last_time)) + 15 * 60_000;
      return ![a.target_host, a.source_host].some((h) =>
        (rowsByHost.get(lower(h)) ?? []).some((t) => t >= from && t <= to),
      );
    });
    assert.deepEqual(
      uncovered.map((a) => `${a._rule} ${a.variant} ${a.target_host} ${a.first_time}`),
      [],
    );
  });
});

describe("Sigma rules side by side with the seed and the dcom pack", () => {
  test("scan --rules seed --rules dcom --rules examples/sigma/dcom: all three report, Sigma rows where expected", async () => {
    const examples = path.resolve(here, "../../examples/sigma/dcom");
    const { code, rows } = await cli([
      "scan",
      "--rules",
      "seed",
      "--rules",
      "dcom",
      "--rules",
      examples,
      ...inputs(),
    ]);
    assert.equal(code, 0);
    const count = (rule: string, file?: string) =>
      rows.filter(
        (r) =>
          r._rule === rule &&
          (file === undefined ||
            String(r._file ?? "").endsWith(file) ||
            (Array.isArray(r.evidence) && r.evidence.some((e: Row) => String(e._file).endsWith(file)))),
      ).length;
    // The emulated estate: every example rule fires.
    for (const rule of [
      "DCOM MMC20.Application Spawns a Process",
      "Office Application Started by DCOM Spawns a Shell",
      "Inbound Network Connection to Explorer",
      "PowerShell Activates a DCOM Object on Another Host",
    ])
      assert.ok(count(rule, "estate.evtx") > 0, `${rule} on the estate`);
    // The correlation's rows are per host and window (no single file).
    assert.ok(count("Network Logon Followed by a DCOM Server Child on the Same Host") > 0);
    assert.ok(count("Detect Distributed Component Object Model (seed)") > 0, "seed rows");
    assert.ok(
      rows.some((r) => r.variant !== undefined),
      "dcom alerts",
    );
    if (corpusMissing) return;
    // The corpus: impacket's MMC20 children (the three seed records), ShellWindows' inbound connections.
    assert.equal(
      count("DCOM MMC20.Application Spawns a Process", "LM_impacket_docmexec_mmc_sysmon_01.evtx"),
      3,
    );
    assert.equal(
      count(
        "Inbound Network Connection to Explorer",
        "LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows.evtx",
      ),
      3,
    );
    // Nothing from the example Sigma rules on the look-alikes (local UAC bypasses, WMI, WinRM).
    const negatives = rows.filter(
      (r) => String(r._rule_id).startsWith("3b0d6a0e-") && String(r._file ?? "").includes("/negatives/"),
    );
    assert.deepEqual(negatives, []);
  });
});
