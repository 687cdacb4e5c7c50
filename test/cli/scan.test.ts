/**
 * `scan` acceptance: on the real corpus the seed rule returns exactly the records ground-truth.json
 * lists, from EVTX, from the golden XML dumps and from our own NDJSON and CSV conversions; the same rows
 * whatever the input format; exit codes and provenance.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/main.js";
import { corpusDir, skipUnless } from "../helpers/env.js";

const corpus = corpusDir;
const skipCorpus = skipUnless(existsSync(corpus), `corpus absent: ${corpus}`);
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-scan-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the CLI quietly with NDJSON output, return exit code and the parsed rows. */
async function cli(args: string[]): Promise<{ code: number; rows: Record<string, string>[] }> {
  const out = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.ndjson`);
  const code = await run([
    ...args.filter((a) => a !== "-f" && a !== "ndjson"),
    "-f",
    "ndjson",
    "-o",
    out,
    "--quiet",
  ]);
  const text = existsSync(out) ? readFileSync(out, "utf8") : "";
  return {
    code,
    rows: text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

interface Truth {
  attacks: { file: string; seed: number[] }[];
  negatives: { file: string; seed_hits: number[] }[];
  benign: string[];
}

const truth: Truth | undefined = existsSync(corpus)
  ? JSON.parse(readFileSync(path.join(corpus, "ground-truth.json"), "utf8"))
  : undefined;

function evtxCases(): { file: string; seed: number[] }[] {
  if (!truth) return [];
  return [
    ...truth.attacks.filter((a) => a.file.endsWith(".evtx")).map((a) => ({ file: a.file, seed: a.seed })),
    ...truth.negatives.map((n) => ({ file: n.file, seed: n.seed_hits })),
  ];
}

const ids = (rows: Record<string, string>[]) => rows.map((r) => Number(r._record_id)).sort((a, b) => a - b);

describe("scan --rules seed on the real corpus", { skip: skipCorpus }, () => {
  for (const c of evtxCases()) {
    const evtx = path.join(corpus, c.file);
    const name = path.basename(c.file);
    test(`${name}: exactly the ground-truth seed records, from EVTX, golden XML, NDJSON and CSV`, async () => {
      const fromEvtx = await cli(["scan", "--rules", "seed", "-f", "ndjson", evtx]);
      assert.equal(fromEvtx.code, 0);
      assert.deepEqual(
        ids(fromEvtx.rows),
        [...c.seed].sort((a, b) => a - b),
      );

      const stem = name.replace(/\.evtx$/, "");
      for (const golden of [`${stem}.evtx_dump.xml`, `${stem}.evtxexport.xml`]) {
        const fromXml = await cli([
          "scan",
          "--rules",
          "seed",
          "-f",
          "ndjson",
          path.join(corpus, "golden", golden),
        ]);
        assert.deepEqual(ids(fromXml.rows), ids(fromEvtx.rows), golden);
      }

      const ndjson = path.join(tmp, `${name}.ndjson`);
      assert.equal(await run(["convert", evtx, "-f", "ndjson", "-o", ndjson, "--quiet"]), 0);
      const csv = path.join(tmp, `${name}.csv`);
      assert.equal(await run(["convert", evtx, "-f", "csv", "-o", csv, "--quiet"]), 0);
      const xml = path.join(tmp, `${name}.xml`);
      assert.equal(await run(["convert", evtx, "-f", "xml", "-o", xml, "--quiet"]), 0);
      const strip = (rows: Record<string, string>[]) =>
        rows.map(({ _file: _f, _offset: _o, ...rest }) => rest);
      for (const converted of [ndjson, csv, xml]) {
        const again = await cli(["scan", "--rules", "seed", "-f", "ndjson", converted]);
        assert.deepEqual(
          strip(again.rows),
          strip(fromEvtx.rows),
          `rows differ when read from ${path.extname(converted)}`,
        );
      }
    });
  }

  test("the benign files give nothing", async () => {
    const benign = (truth?.benign ?? []).map((b) => path.join(corpus, b));
    const r = await cli(["scan", "--rules", "seed", "-f", "ndjson", ...benign]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.rows, []);
  });

  test("the NXLog JSON attack files give nothing (the seed query misses them)", async () => {
    const files = (truth?.attacks ?? []).filter((a) => a.file.endsWith(".json"));
    assert.equal(files.length, 2);
    const r = await cli([
      "scan",
      "--rules",
      "seed",
      "-f",
      "ndjson",
      ...files.map((f) => path.join(corpus, f.file)),
    ]);
    assert.deepEqual(r.rows, []);
  });

  test("an EVTX and its own XML export side by side: duplicates are counted once", async () => {
    const name = "LM_impacket_docmexec_mmc_sysmon_01.evtx";
    const both = [
      path.join(corpus, "attacks", name),
      path.join(corpus, "golden", name.replace(/\.evtx$/, ".evtxexport.xml")),
    ];
    const r = await cli(["scan", "--rules", "seed", "-f", "ndjson", ...both]);
    assert.equal(r.rows.length, 3);
    const kept = await cli(["scan", "--rules", "seed", "-f", "ndjson", "--no-dedup", ...both]);
    assert.equal(kept.rows.length, 6);
  });

  test("rows carry the seed's columns in order, then provenance", async () => {
    const r = await cli([
      "scan",
      "--rules",
      "seed",
      "-f",
      "ndjson",
      path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx"),
    ]);
    assert.deepEqual(Object.keys(r.rows[0]), [
      "_time",
      "host",
      "User",
      "Image",
      "CommandLine",
      "ParentImage",
      "ParentCommandLine",
      "DetectionPattern",
      "_rule_id",
      "_rule",
      "_file",
      "_offset",
      "_record_id",
      "_channel",
      "_computer",
    ]);
    // newest first (sort - _time), _time as Splunk exports it
    assert.deepEqual(
      r.rows.map((x) => x._time),
      ["2019-04-30T20:35:13.512+00:00", "2019-04-30T20:35:13.449+00:00", "2019-04-30T20:35:12.449+00:00"],
    );
    assert.equal(r.rows[0]._channel, "Microsoft-Windows-Sysmon/Operational");
    assert.equal(r.rows[0].host, "IEWIN7");
    assert.match(r.rows[0]._offset, /^\d+$/);
  });

  test("--sourcetype-style modern: the seed's legacy sourcetype filter matches nothing, as in Splunk", async () => {
    const r = await cli([
      "scan",
      "--rules",
      "seed",
      "-f",
      "ndjson",
      "--sourcetype-style",
      "modern",
      path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx"),
    ]);
    assert.deepEqual(r.rows, []);
  });
});

describe("scan command line", () => {
  test("usage errors exit 2", async () => {
    assert.equal(await run(["scan", "--format", "yaml", "x"]), 2);
    assert.equal(await run(["scan", "--no-such-flag"]), 2);
    assert.equal(await run(["scan", "--rules", "no-such-pack", "x"]), 2);
    assert.equal(await run(["nosuchcommand"]), 2);
    assert.equal(await run(["search"]), 2);
  });

  test("bad SPL in search exits 2", async () => {
    const f = path.join(tmp, "empty.xml");
    writeFileSync(f, "<Events></Events>");
    assert.equal(await run(["search", "index=x (EventCode=1", f, "-q"]), 2);
  });

  test("an unreadable input exits 3 and results are still written", async () => {
    const junk = path.join(tmp, "junk.bin");
    writeFileSync(junk, Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]));
    const r = await cli(["scan", "--rules", "seed", "-f", "ndjson", junk]);
    assert.equal(r.code, 3);
    assert.deepEqual(r.rows, []);
  });

  test("--fail-on-detect exits 1 when something is found", { skip: skipCorpus }, async () => {
    const f = path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx");
    assert.equal((await cli(["scan", "--rules", "seed", "--fail-on-detect", f])).code, 1);
    assert.equal(
      (await cli(["scan", "--rules", "seed", "--fail-on-detect", path.join(corpus, "benign/system.evtx")]))
        .code,
      0,
    );
  });

  test("--manifest records inputs with SHA-256, rules and counts", { skip: skipCorpus }, async () => {
    const f = path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx");
    const manifest = path.join(tmp, "manifest.json");
    await cli(["scan", "--rules", "seed", "--manifest", manifest, f]);
    const m = JSON.parse(readFileSync(manifest, "utf8"));
    assert.equal(m.inputs.length, 1);
    assert.match(m.inputs[0].sha256, /^[0-9a-f]{64}$/);
    assert.equal(m.inputs[0].size, 69632);
    assert.equal(m.rules[0].version, 1);
    assert.equal(m.counts.results_per_rule[m.rules[0].id], 3);
  });

  test("--since/--until bound the events", { skip: skipCorpus }, async () => {
    const f = path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx");
    const r = await cli(["scan", "--rules", "seed", "-f", "ndjson", "--since", "2019-04-30T20:35:13Z", f]);
    assert.equal(r.rows.length, 2);
    const u = await cli(["scan", "--rules", "seed", "-f", "ndjson", "--until", "2019-04-30T20:35:13Z", f]);
    assert.equal(u.rows.length, 1);
  });
});

describe("scan with no input", () => {
  test("scans the bundled demo telemetry, finds the seed rows and dcom alerts, exit 0", async () => {
    const out = path.join(tmp, "demo.ndjson");
    const code = await run(["scan", "-f", "ndjson", "-o", out, "--quiet"]);
    assert.equal(code, 0);
    const rows = readFileSync(out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(rows.some((r) => r.variant === "MMC20" && r.source_ip === "10.0.10.21"));
    assert.ok(rows.some((r) => r.DetectionPattern === "COM_SuspiciousChild"));
  });
});
