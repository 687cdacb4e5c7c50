/**
 * Differential tests of the `sql` target: the exported query, run by a real engine over the flat
 * events table, must return the rows `dcomhunt scan` returns over the same events (emulated
 * scenarios, plus the real corpus when ../shared/corpus is present).
 *
 * - DuckDB through @duckdb/node-api (always).
 * - ClickHouse 18.16 (Debian's clickhouse-server) started here on 127.0.0.1; skipped with the reason
 *   when the binary is absent. CI: `apt-get install -y clickhouse-server` (see docs/export.md).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import type { WinEvent } from "../../src/events/model.js";
import { analyzeSearchRule, referencedFields } from "../../src/export/query.js";
import { toSql } from "../../src/export/sql.js";
import { type LoadedRule, parseRuleText } from "../../src/rules/loader.js";
import { skipUnless } from "../helpers/env.js";
import {
  type Cell,
  canonicalRows,
  corpusDir,
  corpusEvents,
  emulatedEvents,
  extraRules,
  extraRuleText,
  scanRows,
  seedRule,
  writeNdjson,
} from "./helpers.js";

/** A rule with bare terms (matched in _raw as whole terms, case-insensitively). */
const termRule = parseRuleText(
  extraRuleText(
    "terms",
    "66666666-6666-4666-8666-666666666666",
    'EventCode=1 "mmc.exe" NOT svchost* | table _time, Computer, Image',
  ),
  "/virtual/terms.yml",
);

const rules = (): LoadedRule[] => [seedRule(), ...extraRules, termRule];

let events: WinEvent[] = [];
let emulated: WinEvent[] = [];
let workDir = "";

before(async () => {
  emulated = emulatedEvents();
  events = [...emulated, ...(await corpusEvents())];
  workDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-export-sql-"));
});
after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function sqlCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return `${v.toISOString().replace("Z", "")}+00:00`;
  return String(v);
}

interface Prepared {
  columns: string[];
  file: string;
  want: { columns: string[]; rows: Cell[][] };
}
const prepared = new Map<string, Promise<Prepared>>();

/** NDJSON of the flat table and the scan rows, once per rule (both engines use them). */
function prepare(rule: LoadedRule): Promise<Prepared> {
  let p = prepared.get(rule.id);
  if (!p) {
    p = (async () => {
      const q = analyzeSearchRule(rule, "sql");
      const columns = [...new Set(["_time", ...referencedFields(q)])];
      const file = path.join(workDir, `${rule.id}.ndjson`);
      // Bare terms read _raw (the event XML): those rules run on the emulated events only, to keep the
      // table small; the others on every event.
      const input = columns.includes("_raw") ? emulated : events;
      const written = writeNdjson(input, columns, file);
      assert.equal(written.multivalue, 0, "a referenced column held a multivalue field");
      return { columns, file, want: await scanRows(rule, input) };
    })();
    prepared.set(rule.id, p);
  }
  return p;
}

describe("sql target: DuckDB differential", () => {
  test(`events: emulated + corpus ${existsSync(corpusDir) ? "(included)" : "(absent: emulated events only)"}`, (t) => {
    assert.ok(events.length > 300);
    t.diagnostic(`${events.length} events`);
  });
  for (const rule of rules()) {
    test(`rule '${rule.name}': exported SQL = scan rows`, async (t) => {
      const { columns: cols, file, want } = await prepare(rule);
      t.diagnostic(`${want.rows.length} rows`);
      const db = await DuckDBInstance.create(":memory:");
      const conn = await db.connect();
      const spec = cols
        .map((c) => `'${c.replace(/'/g, "''")}': '${c === "_time" ? "TIMESTAMPTZ" : "VARCHAR"}'`)
        .join(", ");
      await conn.run(`SET TimeZone = 'UTC'`);
      await conn.run(
        `CREATE TABLE events AS SELECT * FROM read_json('${file}', format='newline_delimited', columns={${spec}})`,
      );
      const sql = toSql(analyzeSearchRule(rule, "sql"), "duckdb").content;
      const reader = await conn.runAndReadAll(sql);
      const columns = reader.columnNames();
      const got = reader.getRowsJS().map((r) => r.map(sqlCell));
      assert.deepEqual(columns, want.columns);
      assert.ok(
        want.rows.length > 0,
        "the rule must return rows on these events (else the test proves little)",
      );
      assert.equal(got.length, want.rows.length);
      assert.deepEqual(canonicalRows(columns, got), canonicalRows(want.columns, want.rows));
      conn.closeSync();
    });
  }
});

// ------------------------------------------------------------------------------------------------
// ClickHouse 18.16 on loopback

const CLICKHOUSE = ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server", "/usr/bin/clickhouse"].find(
  (p) => existsSync(p),
);

async function startClickHouse(dir: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = 18000 + Math.floor(Math.random() * 1000);
  mkdirSync(path.join(dir, "data"), { recursive: true });
  mkdirSync(path.join(dir, "tmp"), { recursive: true });
  writeFileSync(
    path.join(dir, "users.xml"),
    "<yandex><profiles><default></default></profiles><users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users><quotas><default></default></quotas></yandex>\n",
  );
  writeFileSync(
    path.join(dir, "config.xml"),
    `<yandex><logger><level>warning</level><console>1</console></logger><http_port>${port}</http_port><tcp_port>${port + 1000}</tcp_port><listen_host>127.0.0.1</listen_host><path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database><mark_cache_size>5368709</mark_cache_size></yandex>\n`,
  );
  const args = (CLICKHOUSE as string).endsWith("/clickhouse")
    ? ["server", `--config-file=${dir}/config.xml`]
    : [`--config-file=${dir}/config.xml`];
  const proc = spawn(CLICKHOUSE as string, args, { stdio: ["ignore", "ignore", "pipe"] });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "SELECT 1" });
      if (r.ok) return { port, proc };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error("clickhouse-server did not start on loopback within 10 s");
}

describe("sql target: ClickHouse 18.16 differential", {
  skip: skipUnless(
    CLICKHOUSE !== undefined,
    "clickhouse-server absent (apt-get install -y clickhouse-server)",
  ),
}, () => {
  let server: { port: number; proc: ChildProcess } | undefined;
  let chDir = "";
  before(async () => {
    chDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-clickhouse-"));
    server = await startClickHouse(chDir);
  });
  after(() => {
    server?.proc.kill();
    if (chDir) rmSync(chDir, { recursive: true, force: true });
  });
  const query = async (sql: string): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${server?.port}/`, { method: "POST", body: sql });
    const text = await r.text();
    if (!r.ok) throw new Error(`ClickHouse: ${text}\n${sql}`);
    return text;
  };
  for (const rule of rules()) {
    test(`rule '${rule.name}': exported SQL = scan rows`, async () => {
      const { columns: cols, file, want } = await prepare(rule);
      const q = analyzeSearchRule(rule, "sql");
      await query("DROP TABLE IF EXISTS events");
      // The documented ClickHouse schema: every column Nullable(String), `_time` the ISO UTC text.
      await query(
        `CREATE TABLE events (${cols.map((c) => `\`${c}\` Nullable(String)`).join(", ")}) ENGINE = Memory`,
      );
      // JSONEachRow fills absent keys with the column default (NULL for Nullable).
      await query(`INSERT INTO events FORMAT JSONEachRow\n${readFileSync(file, "utf8")}`);
      const sql = toSql(q, "clickhouse").content.replace(/;\s*$/, "");
      const text = await query(`${sql}\nFORMAT JSONCompact`);
      const parsed = JSON.parse(text) as { meta: { name: string }[]; data: (string | null)[][] };
      const columns = parsed.meta.map((m) => m.name);
      const got = parsed.data.map((r) => r.map((v) => (v === null ? null : String(v))));
      assert.deepEqual(columns, want.columns);
      assert.equal(got.length, want.rows.length);
      assert.deepEqual(canonicalRows(columns, got), canonicalRows(want.columns, want.rows));
    });
  }
});
