/**
 * Differential proof of the sequence-rule exports (src/export/sequence-query.ts): the exported SPL, run
 * by dcomhunt's own SPL engine, and the exported DuckDB SQL, run by DuckDB over the flat events table,
 * must give the alerts the correlation engine gives (`scan --rules dcom`, per rule, before the
 * cross-rule merge) over the emulated estate (`emulate all`) and the real corpus: same variant,
 * severity, confidence, target host, source ip/host, account, loopback and evidence records.
 *
 * The differences that remain come from the engine's arrival-order joins (docs/export.md, "Sequence
 * rules as one query"); they are pinned here record by record, so a new difference (or a fixed one)
 * fails the test.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { emulateCommand } from "../../src/cli/emulate.js";
import { searchCommand } from "../../src/cli/scan.js";
import { ClickHouseEngine } from "../../src/engines/clickhouse.js";
import type { WinEvent } from "../../src/events/model.js";
import { compileSequenceRule, exportRule, SEQUENCE_COLUMNS } from "../../src/export/index.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import { type ChCluster, CLICKHOUSE_SERVER, startCluster } from "../engines/cluster.js";
import { skipUnless } from "../helpers/env.js";
import { bundledRules, corpusDir, corpusEvents, emulatedEvents } from "./helpers.js";
import {
  differences,
  engineIncidents,
  flatViewSql,
  type Incident,
  loadIntoClickHouse,
  rowIncident,
  splIncidents,
  writeFlatTable,
} from "./sequence-helpers.js";

/**
 * Evidence records the query adds to an engine alert (all other fields equal), per rule file. Each is
 * an event the engine met before the event that would join it to the incident (see docs/export.md).
 */
const PINNED: Record<string, string[]> = {
  // child_4688 logged before the Sysmon child that binds the parent pid: the engine drops it.
  "dcom_explorer_shellwindows.yml": [
    "SRV-APP02.corp.example/Security#102445",
    "SRV-APP02.corp.example/Security#102452",
  ],
  // remote-ie-iertutil: the iertutil.dll write (no join key) and the SMB logon that carried it come
  // before the server process; the engine attached them to a partial that never completed.
  // covenant (corpus): a source_request record joined through its host's keyless hub.
  "dcom_remote_server_activation.yml": [
    "SRV-APP02.corp.example/Security#102492",
    "SRV-APP02.corp.example/Microsoft-Windows-Sysmon/Operational#41310",
    ...(existsSync(corpusDir)
      ? ["WORKSTATION5.theshire.local/Microsoft-Windows-Sysmon/Operational#1247510"]
      : []),
  ],
  // The SMB/network logon (4624) logged before msiexec's inbound connection: `after: [inbound, inbound_wfp]`
  // holds over the whole window in the query; the engine met it first and dropped it.
  "dcom_msi_server.yml": ["SRV-APP02.corp.example/Security#102514"],
};

/**
 * Alert fields the query computes otherwise than the engine, as `rule file: first evidence record of
 * the engine's alert: field: engine value -> query value` (docs/export.md, "The incident model in the
 * query"). `object`: the engine's describeIncident ranks object clues from every evidence event
 * (command lines, script blocks, server images, the caller's words); the query keeps the rule's classify
 * variant, or the object of the first CLSID DCOM logged when that variant names no object. Other fields:
 * the query's whole-window joins (an event counted for a step the engine did not count it for).
 */
const FIELDS: string[] = [
  // The caller's local request (4688, explorer.exe -> powershell.exe) is also a child_4688 of explorer:
  // the query counts it for child_4688 once the incident holds local_request (whole-window gates); the
  // engine met it before local_request was in the incident. A target-side step: no source row is left.
  "dcom_explorer_shellwindows.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552588: observed_on: both -> target",
  // Excel named by its server process; the method (ExecuteExcel4Macro) only in a command line/script
  // text that describeIncident's refine() reads.
  "dcom_remote_server_activation.yml: SRV-APP02.corp.example/Microsoft-Windows-Sysmon/Operational#41291: object: Excel-Macro -> Excel",
  // The network logon logged before msiexec's inbound connection (PINNED above) carries the account.
  "dcom_msi_server.yml: SRV-APP02.corp.example/Microsoft-Windows-Sysmon/Operational#41340: account:  -> CORP.EXAMPLE\\alice.admin",
  // The caller's side names the object only in its words (GetTypeFromProgID("MMC20.Application", ...),
  // Invoke-DCOM -Method X, a CLSID in a command line): clue ranking over free text, not in the query.
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-PowerShell/Operational#93585: object: ShellWindows -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552570: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552588: object: ShellWindows -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552618: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552634: object: Excel-ActivateMicrosoftApp -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552645: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552659: object: ShellWindows -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552669: object: ShellBrowserWindow -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552675: object: Excel-DDE -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552684: object: Excel-XLL -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552692: object: Excel-Macro -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552701: object: Outlook -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552711: object: InternetExplorer -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552731: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552739: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552746: object: MMC20 -> unknown",
  "dcom_source_side.yml: WKS01.corp.example/Microsoft-Windows-Sysmon/Operational#552753: object: ShellBrowserWindow -> unknown",
  "dcom_source_side.yml: WORKSTATION5.theshire.local/Microsoft-Windows-PowerShell/Operational#23031: object: ShellWindows -> unknown",
  "dcom_source_side.yml: WORKSTATION5.theshire.local/Microsoft-Windows-Sysmon/Operational#1247510: object: Excel-XLL -> unknown",
];

const sequenceRules = (): LoadedRule[] =>
  bundledRules().rules.filter((r) => r.sequence !== undefined && r.pack === "dcom");

let events: WinEvent[] = [];
let workDir = "";
const engine = new Map<string, Promise<Incident[]>>();
const engineOf = (rule: LoadedRule) => {
  let p = engine.get(rule.id);
  if (!p) engine.set(rule.id, (p = engineIncidents(rule, events)));
  return p;
};

before(async () => {
  if (process.env.CI === "true" && !existsSync(corpusDir))
    throw new Error(`CI: the corpus must be present (${corpusDir})`);
  events = [...emulatedEvents(), ...(await corpusEvents())];
  workDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-export-seq-"));
});
after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/**
 * Differences between engine and query, alert by alert (paired through shared evidence): the evidence
 * the query adds, and the fields it computes otherwise (`rule file: first evidence record of the
 * engine's alert: field: engine value -> query value`). A lost alert or lost evidence fails.
 */
function compare(
  file: string,
  engineSide: Incident[],
  querySide: Incident[],
): { added: string[]; fields: string[] } {
  const diff = differences(engineSide, querySide);
  const engineOnly = diff.filter((d) => d.side === "engine only").map((d) => d.incident);
  const queryOnly = diff.filter((d) => d.side === "export only").map((d) => d.incident);
  assert.equal(queryOnly.length, engineOnly.length, "the query gives another number of alerts");
  const added: string[] = [];
  const objects: string[] = [];
  for (const a of engineOnly) {
    const b = queryOnly.find((q) => q.evidence.some((e) => a.evidence.includes(e)));
    assert.ok(b, `engine alert with no counterpart: ${JSON.stringify(a)}`);
    queryOnly.splice(queryOnly.indexOf(b), 1);
    const { evidence: ea, variant: va, ...fa } = a;
    const { evidence: eb, variant: vb, ...fb } = b;
    assert.equal(va, fa.object, "the engine's variant is its object");
    assert.equal(vb, fb.object, "the query's variant is its object");
    const first = [...ea].sort()[0];
    for (const k of Object.keys(fa) as (keyof typeof fa)[])
      if (fa[k] !== fb[k]) objects.push(`${file}: ${first}: ${k}: ${fa[k]} -> ${fb[k]}`);
    assert.deepEqual(
      ea.filter((e) => !eb.includes(e)),
      [],
      "the query lost evidence the engine has",
    );
    added.push(...eb.filter((e) => !ea.includes(e)));
  }
  return { added: added.sort(), fields: objects.sort() };
}

/** The pinned field differences of `file` (FIELDS), restricted to alerts whose first record is in `records`. */
const fieldsOf = (file: string, records?: Set<string>) =>
  FIELDS.filter(
    (x) => x.startsWith(`${file}: `) && (!records || records.has(x.slice(file.length + 2).split(": ")[0])),
  ).sort();

describe("sequence rules as SPL: dcomhunt's SPL engine = the correlation engine", () => {
  test(`events: emulated estate + corpus ${existsSync(corpusDir) ? "(included)" : "(absent: estate only)"}`, (t) => {
    assert.ok(events.length > 1000);
    assert.equal(sequenceRules().length, 6);
    t.diagnostic(`${events.length} events`);
  });
  for (const rule of sequenceRules()) {
    const file = path.basename(rule.file);
    test(`${file}: same alerts, differences only the pinned ones`, async (t) => {
      const want = await engineOf(rule);
      const got = await splIncidents(compileSequenceRule(rule, { target: "splunk" }).text, events);
      t.diagnostic(`${want.length} alerts`);
      assert.ok(want.length > 0, "the rule must alert on these events (else the test proves little)");
      const diff = compare(file, want, got);
      assert.deepEqual(diff.added, [...(PINNED[file] ?? [])].sort());
      assert.deepEqual(diff.fields, fieldsOf(file, new Set(want.flatMap((i) => i.evidence))));
    });
  }
  test("the savedsearches.conf search runs through `dcomhunt search --spl-file` over `dcomhunt emulate all`", async () => {
    const rule = sequenceRules().find((r) => path.basename(r.file) === "dcom_failed_attempt_target.yml");
    assert.ok(rule);
    const estate = path.join(workDir, "estate.evtx");
    await quiet(() => emulateCommand(["all", "--seed", "7", "--noise", "300", "-o", estate]));
    // The stored search: the conf value with its line continuations undone.
    const conf = exportRule(rule, "splunk").files.find((f) => f.name.endsWith(".savedsearches.conf"));
    const value = /^search = ([\s\S]*?)\nenableSched/m.exec(conf?.content ?? "")?.[1] ?? "";
    const splFile = path.join(workDir, "rule.spl");
    writeFileSync(splFile, value.replace(/\\\n/g, "\n"));
    const out = await quiet(() => searchCommand(["--spl-file", splFile, estate, "--format", "json"]));
    const rows = JSON.parse(out.stdout) as Record<string, unknown>[];
    const estateEvents = emulatedEvents();
    const want = await engineIncidents(rule, estateEvents);
    assert.ok(want.length > 0);
    const diff = compare("dcom_failed_attempt_target.yml", want, rows.map(rowIncident));
    assert.deepEqual(diff.added, []);
    const records = new Set(want.flatMap((i) => i.evidence));
    assert.deepEqual(diff.fields, fieldsOf("dcom_failed_attempt_target.yml", records));
  });
});

describe("sequence rules as DuckDB SQL: DuckDB = the correlation engine", () => {
  let conn: Awaited<ReturnType<DuckDBInstance["connect"]>> | undefined;
  before(async () => {
    const columns = [
      ...new Set(
        sequenceRules().flatMap((r) => compileSequenceRule(r, { target: "sql", dialect: "duckdb" }).columns),
      ),
    ];
    const seen = new Set<string>();
    const cols = columns.filter((c) => !seen.has(c.toLowerCase()) && seen.add(c.toLowerCase()));
    const file = path.join(workDir, "events.ndjson");
    writeFlatTable(events, cols, file);
    const db = await DuckDBInstance.create(":memory:");
    conn = await db.connect();
    await conn.run("SET TimeZone = 'UTC'");
    const spec = cols
      .map((c) => `'${c.replace(/'/g, "''")}': '${c === "_time" ? "TIMESTAMPTZ" : "VARCHAR"}'`)
      .join(", ");
    await conn.run(
      `CREATE TABLE events AS SELECT * FROM read_json('${file}', format='newline_delimited', columns={${spec}})`,
    );
  });
  after(() => conn?.closeSync());
  for (const rule of sequenceRules()) {
    const file = path.basename(rule.file);
    test(`${file}: same alerts, differences only the pinned ones`, async () => {
      const want = await engineOf(rule);
      const q = compileSequenceRule(rule, { target: "sql", dialect: "duckdb" });
      const reader = await (conn as NonNullable<typeof conn>).runAndReadAll(q.text);
      const names = reader.columnNames();
      assert.deepEqual(names, [
        "rule_id",
        "rule",
        "variant",
        "severity",
        "confidence",
        "target_host",
        "source_ip",
        "source_host",
        "account",
        "loopback",
        "first_time",
        "last_time",
        "object",
        "outcome",
        "observed_on",
        "evidence",
      ]);
      const got = reader
        .getRowsJS()
        .map((r) => rowIncident(Object.fromEntries(r.map((v, i) => [names[i], v]))));
      assert.ok(want.length > 0);
      const diff = compare(file, want, got);
      assert.deepEqual(diff.added, [...(PINNED[file] ?? [])].sort());
      assert.deepEqual(diff.fields, fieldsOf(file, new Set(want.flatMap((i) => i.evidence))));
    });
  }
});

/**
 * ClickHouse 18.16 (Debian's server, started here on loopback, a free port, a temp dir; stopped by PID):
 * the events stored as `dcomhunt load --into clickhouse://` stores them (EventData packed in
 * `_names`/`_values`), read through a view with one column per field (what `scan --engine` gives the
 * query), and each rule's exported ClickHouse SQL run over it.
 */
describe("sequence rules as ClickHouse 18.16 SQL: ClickHouse = the correlation engine", {
  skip: skipUnless(
    CLICKHOUSE_SERVER !== undefined,
    "clickhouse-server absent (apt-get install clickhouse-server)",
  ),
}, () => {
  let cluster: ChCluster | undefined;
  let ch: ClickHouseEngine | undefined;
  before(async () => {
    cluster = await startCluster(1);
    ch = new ClickHouseEngine({ nodes: [`127.0.0.1:${cluster.nodes[0].http}`], database: "seq" } as never);
    const columns = [
      ...new Set(sequenceRules().flatMap((r) => compileSequenceRule(r, { target: "clickhouse" }).columns)),
    ];
    // The stored EventData keeps the fields the queries read (a fifth of the bytes to send).
    await loadIntoClickHouse(ch, events, new Set(columns));
    await ch.exec(`127.0.0.1:${cluster.nodes[0].http}`, flatViewSql("flat", columns));
  });
  after(async () => {
    await cluster?.stop();
  });
  test("the ClickHouse form is one SELECT without window functions, CTEs or joins", () => {
    for (const rule of sequenceRules()) {
      const q = compileSequenceRule(rule, { target: "sql", dialect: "clickhouse" });
      const body = q.text
        .replace(/^--.*$/gm, "")
        .replace(/'(?:[^'\\]|\\.)*'/g, "''")
        .replace(/ARRAY JOIN/g, "");
      assert.doesNotMatch(body, /\bOVER\b|\bWITH\b|\bJOIN\b/i);
      assert.equal(body.match(/\bFROM `events`/g)?.length, 1, "the table is read once");
      // 18.16's default max_query_size (256 KiB): the file runs as is in clickhouse-client.
      assert.ok(Buffer.byteLength(q.text) < 262144, `${rule.file}: ${Buffer.byteLength(q.text)} bytes`);
    }
  });
  for (const rule of sequenceRules()) {
    const file = path.basename(rule.file);
    test(`${file}: same alerts, differences only the pinned ones`, async (t) => {
      const want = await engineOf(rule);
      const q = compileSequenceRule(rule, { target: "clickhouse", table: "flat" });
      const res = await (ch as ClickHouseEngine).query(q.text.replace(/;\s*$/, ""));
      assert.deepEqual(res.columns, [...SEQUENCE_COLUMNS]);
      const got = res.rows.map((r) => rowIncident(Object.fromEntries(r.map((v, i) => [res.columns[i], v]))));
      t.diagnostic(`${want.length} alerts`);
      assert.ok(want.length > 0);
      const diff = compare(file, want, got);
      assert.deepEqual(diff.added, [...(PINNED[file] ?? [])].sort());
      assert.deepEqual(diff.fields, fieldsOf(file, new Set(want.flatMap((i) => i.evidence))));
    });
  }
});

/** Runs a command with stdout/stderr captured. */
async function quiet(fn: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
