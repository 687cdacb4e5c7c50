/**
 * `load` then `scan --engine` = a file scan, in DuckDB and in a 3-node ClickHouse 18.16 cluster
 * started here on loopback: the corpus (but its largest capture, see helpers.ts) and the emulated estate, the seed rule and search rules that
 * use every exported construct (whole-event output with _raw included), --since/--until and an
 * allowlist; loading again keeps one copy; a node killed during a load: the load says so and exits 3,
 * `--resume` completes it with no duplicates; each host's events on one shard.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ClickHouseEngine } from "../../src/engines/clickhouse.js";
import { DuckDbEngine } from "../../src/engines/duckdb.js";
import { parseTarget } from "../../src/engines/types.js";
import { extraRuleText } from "../export/helpers.js";
import { skipUnless } from "../helpers/env.js";
import { assertSameAlerts, pinnedDcomDifferences } from "./alerts.js";
import { type ChCluster, CLICKHOUSE_SERVER, startCluster } from "./cluster.js";
import { assertSameRows, cli, corpusInputs, SEARCHES } from "./helpers.js";

let tmp = "";
let inputs: string[] = [];
let estateDir = "";
let rulesDir = "";
let allowlist = "";
/** Suppresses an alert through the fields of an evidence event (the engine fetches them by record id). */
let allowlistDcom = "";
let n = 0;
const out = () => path.join(tmp, `out-${n++}.ndjson`);
/** The file scan's rows, per rule id (one pass over the files for every rule). */
let want: Record<string, unknown>[] = [];
/** The estate's window: only emulated events fall in it, so the file side reads the estate alone. */
const WINDOW = ["--since", "2024-03-12T09:30:00Z", "--until", "2024-03-12T11:00:00Z"];
let wantWindow: Record<string, unknown>[] = [];
/** The file scan's alerts of the dcom pack (sequence rules), over everything and in the window. */
let wantDcom: Record<string, unknown>[] = [];
let wantDcomWindow: Record<string, unknown>[] = [];
let pinned: string[] = [];

const byRule = (rows: Record<string, unknown>[]) => {
  const m = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const id = String(r._rule_id);
    m.set(id, [...(m.get(id) ?? []), r]);
  }
  return m;
};

function assertSameAsFiles(
  got: Record<string, unknown>[],
  expected: Record<string, unknown>[],
  what: string,
) {
  const g = byRule(got);
  const w = byRule(expected);
  assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort(), `${what}: rules with results`);
  for (const [id, rows] of w) assertSameRows(g.get(id) ?? [], rows, `${what}: rule ${id}`);
}

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-engines-"));
  estateDir = path.join(tmp, "estate");
  mkdirSync(estateDir);
  const e = await cli(["emulate", "all", "--noise", "300", "-o", path.join(estateDir, "estate.evtx")]);
  assert.equal(e.code, 0, e.stderr);
  inputs = [...corpusInputs(), estateDir];
  rulesDir = path.join(tmp, "rules");
  mkdirSync(rulesDir);
  SEARCHES.forEach((spl, i) => {
    const id = `00000000-0000-4000-8000-00000000000${i}`;
    writeFileSync(path.join(rulesDir, `r${i}.yml`), extraRuleText(`engine test ${i}`, id, spl));
  });
  allowlistDcom = path.join(tmp, "allow-dcom.yml");
  writeFileSync(allowlistDcom, "allowlist:\n  - reason: test\n    match:\n      CommandLine: '*ipconfig*'\n");
  allowlist = path.join(tmp, "allow.yml");
  writeFileSync(
    allowlist,
    "allowlist:\n  - reason: test\n    match:\n      ParentImage: '*\\explorer.exe'\n",
  );
  const files = await cli(["scan", ...inputs, "-r", "seed", "-r", rulesDir, "--quiet"], out());
  assert.equal(files.code, 0, files.stderr);
  want = files.rows;
  for (const [id, rows] of byRule(want)) assert.ok(rows.length > 0, `rule ${id} returns rows`);
  assert.equal(byRule(want).size, SEARCHES.length + 1, "every rule returns rows on these inputs");
  const w = await cli(
    ["scan", estateDir, "-r", "seed", "-r", rulesDir, ...WINDOW, "--allowlist", allowlist, "--quiet"],
    out(),
  );
  wantWindow = w.rows;
  assert.ok(wantWindow.length > 0);
  const d = await cli(["scan", ...inputs, "-r", "dcom", "--quiet"], out());
  assert.equal(d.code, 0, d.stderr);
  wantDcom = d.rows;
  const dw = await cli(
    ["scan", estateDir, "-r", "dcom", ...WINDOW, "--allowlist", allowlistDcom, "--fail-on-detect"],
    out(),
  );
  assert.equal(dw.code, 1, dw.stderr);
  assert.match(dw.stderr, /1 result suppressed/);
  wantDcomWindow = dw.rows;
  pinned = pinnedDcomDifferences(corpusInputs().length > 0);
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("DuckDB: load, then scan --engine = scan over the files", () => {
  let db = "";
  before(async () => {
    db = `duckdb:${path.join(tmp, "events.duckdb")}`;
    const l = await cli(["load", ...inputs, "--into", db]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /loaded into duckdb:.* event\(s\) sent, \d+ in the table/);
  });

  test("the seed and the search rules: same rows, values, order and provenance", async () => {
    const got = await cli(["scan", "--engine", db, "-r", "seed", "-r", rulesDir], out());
    assert.equal(got.code, 0, got.stderr);
    assertSameAsFiles(got.rows, want, "duckdb");
    assert.match(got.stderr, /engine duckdb:.*: \d+ event\(s\) in range, 5 of 5 rule\(s\) run/);
  });

  test("--since/--until and an allowlist apply the same way", async () => {
    const got = await cli(
      ["scan", "--engine", db, "-r", "seed", "-r", rulesDir, ...WINDOW, "--allowlist", allowlist, "--quiet"],
      out(),
    );
    assert.equal(got.code, 0);
    assertSameAsFiles(got.rows, wantWindow, "duckdb window");
  });

  test("the dcom pack (sequence rules): the file scan's alerts, differences only the pinned ones", async () => {
    const got = await cli(["scan", "--engine", db, "-r", "dcom"], out());
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /6 of 6 rule\(s\) run/);
    assertSameAlerts(wantDcom, got.rows, pinned, "duckdb dcom");
    const win = await cli(
      ["scan", "--engine", db, "-r", "dcom", ...WINDOW, "--allowlist", allowlistDcom, "--fail-on-detect"],
      out(),
    );
    assert.equal(win.code, 1, "--fail-on-detect: exit 1 as over the files");
    assert.match(win.stderr, /1 result suppressed/);
    assertSameAlerts(wantDcomWindow, win.rows, pinned, "duckdb dcom window + allowlist", true);
  });

  test("loading a file again keeps one copy; --resume skips finished files", async () => {
    const path0 = db.slice("duckdb:".length);
    let engine = await DuckDbEngine.open(path0);
    const count = await engine.count();
    await engine.close();
    const again = await cli(["load", estateDir, "--into", db]);
    assert.equal(again.code, 0, again.stderr);
    // Every event of the estate sent again is a duplicate, whatever the scenarios emulate.
    const sent = /(\d+) event\(s\) sent, \d+ in the table, (\d+) duplicate\(s\) removed/.exec(again.stderr);
    assert.ok(sent && Number(sent[1]) > 0 && sent[1] === sent[2], again.stderr);
    const resumed = await cli(["load", estateDir, "--into", db, "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /already loaded/);
    engine = await DuckDbEngine.open(path0);
    assert.equal(await engine.count(), count);
    await engine.close();
  });

  test("errors: SPL outside the exportable subset exits 2, nothing loaded exits 3, inputs with --engine", async () => {
    const stats = await cli(["search", "EventCode=1 | stats count by Computer", "--engine", db]);
    assert.equal(stats.code, 2);
    assert.match(stats.stderr, /command 'stats'.*not in the exportable subset/);
    const empty = await cli(["scan", "--engine", `duckdb:${path.join(tmp, "empty.duckdb")}`, "-r", "seed"]);
    assert.equal(empty.code, 3);
    assert.match(empty.stderr, /nothing loaded yet/);
    const both = await cli(["scan", estateDir, "--engine", db]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give no input files/);
    const bad = await cli(["load", estateDir, "--into", "postgres://x"]);
    assert.equal(bad.code, 2);
  });
});

describe("ClickHouse 18.16, 3-node cluster on loopback", {
  skip: skipUnless(
    Boolean(CLICKHOUSE_SERVER),
    "clickhouse-server absent (apt-get install -y clickhouse-server)",
  ),
}, () => {
  let cluster: ChCluster | undefined;
  let url = "";
  const engine = () =>
    new ClickHouseEngine({
      ...(parseTarget(url) as NonNullable<ReturnType<typeof parseTarget>>),
      cluster: "dcom",
    });
  before(async () => {
    cluster = await startCluster(3, "dcom");
    url = cluster.url("hunt");
  });
  after(async () => {
    await cluster?.stop();
  });

  test("a node killed during a load: the load says which records were not stored; --resume completes it, no duplicates", async () => {
    const c = cluster as ChCluster;
    let settled = false;
    const loading = cli([
      "load",
      ...inputs,
      "--into",
      url,
      "--cluster",
      "dcom",
      "--batch-rows",
      "500",
    ]).finally(() => {
      settled = true;
    });
    // Kill node 3 once some batches are stored.
    const e = engine();
    for (let i = 0; i < 1200 && !settled; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const stored = await e.count().catch(() => 0);
      if (stored >= 2000) break;
    }
    c.kill(2);
    const first = await loading;
    assert.equal(first.code, 3, first.stderr);
    assert.match(first.stderr, /load stopped: .*: records \d+-\d+ not stored: /);
    assert.match(first.stderr, /--resume/);
    await c.start(2);
    const resumed = await cli(["load", ...inputs, "--into", url, "--cluster", "dcom", "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resumed after record \d+/);
    const text = await e.exec(
      c.nodes.map((x) => `127.0.0.1:${x.http}`)[0],
      "SELECT count(), uniqExact(_key) FROM events FORMAT TSV",
    );
    const [count, keys] = text.trim().split("\t").map(Number);
    assert.equal(count, keys, "no event stored twice");
    const duck = await DuckDbEngine.open(path.join(tmp, "events.duckdb"));
    assert.equal(count, await duck.count(), "the cluster holds what DuckDB holds");
    await duck.close();
  });

  test("each host's events live on one shard (sharded by the normalized host)", async () => {
    const c = cluster as ChCluster;
    const e = engine();
    const perNode: string[][] = [];
    for (const node of c.nodes) {
      const t = await e.exec(
        `127.0.0.1:${node.http}`,
        "SELECT DISTINCT _host_key FROM events_local FORMAT TSV",
      );
      perNode.push(t.split("\n").filter(Boolean));
    }
    assert.ok(perNode.filter((h) => h.length > 0).length >= 2, "rows on at least two shards");
    const all = perNode.flat();
    assert.equal(new Set(all).size, all.length, "no host on two shards");
  });

  test("scan --engine on the cluster = scan over the files (seed and search rules)", async () => {
    const got = await cli(
      ["scan", "--engine", url, "--cluster", "dcom", "-r", "seed", "-r", rulesDir],
      out(),
    );
    assert.equal(got.code, 0, got.stderr);
    assertSameAsFiles(got.rows, want, "clickhouse");
    const win = await cli(
      [
        "scan",
        "--engine",
        url,
        "--cluster",
        "dcom",
        "-r",
        "seed",
        "-r",
        rulesDir,
        ...WINDOW,
        "--allowlist",
        allowlist,
      ],
      out(),
    );
    assertSameAsFiles(win.rows, wantWindow, "clickhouse window");
  });

  test("the dcom pack on the cluster: the file scan's alerts, differences only the pinned ones", async () => {
    const got = await cli(["scan", "--engine", url, "--cluster", "dcom", "-r", "dcom"], out());
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /6 of 6 rule\(s\) run/);
    assertSameAlerts(wantDcom, got.rows, pinned, "clickhouse dcom");
    // The window, allowlist and exit code: the engine-independent path the DuckDB test covers.
  });
});
