/**
 * What each target says, on small rules: the translations of SPL's value semantics (case, anchoring,
 * wildcards, null under NOT and !=), OR-before-AND precedence, what is left out (and warned about),
 * and the errors naming the construct. DuckDB runs the SQL ones on hand-made rows.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { exportRule } from "../../src/export/index.js";
import { analyzeSearchRule } from "../../src/export/query.js";
import { toSql } from "../../src/export/sql.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import { parseRuleText } from "../../src/rules/loader.js";
import { extraRuleText, seedRule } from "./helpers.js";

let n = 0;
function rule(search: string): LoadedRule {
  n++;
  return parseRuleText(
    extraRuleText(`unit ${n}`, `33333333-3333-4333-8333-${String(n).padStart(12, "0")}`, search),
    `/virtual/unit-${n}.yml`,
  );
}

async function duck(
  search: string,
  rows: Record<string, string | null>[],
  columns: string[],
): Promise<string[]> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  await conn.run(
    `CREATE TABLE events ("_time" TIMESTAMPTZ, ${columns.map((c) => `"${c}" VARCHAR`).join(", ")})`,
  );
  for (const [i, r] of rows.entries()) {
    const values = columns.map((c) =>
      r[c] === null || r[c] === undefined ? "NULL" : `'${(r[c] as string).replace(/'/g, "''")}'`,
    );
    await conn.run(`INSERT INTO events VALUES ('2024-01-01T00:00:0${i}Z', ${values.join(", ")})`);
  }
  const sql = toSql(analyzeSearchRule(rule(search), "sql"), "duckdb").content;
  const r = await conn.runAndReadAll(sql);
  conn.closeSync();
  return r.getRowObjectsJS().map((o) => String(o.Image ?? o.id ?? ""));
}

describe("sql semantics on hand-made rows (DuckDB)", () => {
  const rows = [
    { id: "1", Image: "C:\\Windows\\System32\\CMD.EXE", User: "CORP\\bob" },
    { id: "2", Image: "C:\\x\\cmd.exe.bak", User: null },
    { id: "3", Image: null, User: "NT AUTHORITY\\SYSTEM" },
    { id: "4", Image: "c:\\tools\\100%_cmd.exe", User: "" },
  ];
  test("values: anchored, case-insensitive, * the only wildcard; % and _ are literal", async () => {
    // Row 4 ends in "_cmd.exe", not "\\cmd.exe"; row 2 has a suffix after it.
    assert.deepEqual(await duck('Image="*\\\\cmd.exe" | table id', rows, ["id", "Image", "User"]), ["1"]);
  });
  test("NOT f=v keeps rows without f; f!=v does not", async () => {
    const not = await duck('NOT Image="*\\\\cmd.exe" | table id, Image', rows, ["id", "Image", "User"]);
    assert.deepEqual(not.sort(), ["3", "C:\\x\\cmd.exe.bak", "c:\\tools\\100%_cmd.exe"].sort());
    const neq = await duck('Image!="*\\\\cmd.exe" | table id, Image', rows, ["id", "Image", "User"]);
    assert.deepEqual(neq.sort(), ["C:\\x\\cmd.exe.bak", "c:\\tools\\100%_cmd.exe"].sort());
  });
  test("literal % and _ in a value do not act as SQL wildcards", async () => {
    assert.deepEqual(await duck('Image="*\\\\100%_cmd.exe" | table Image', rows, ["id", "Image", "User"]), [
      "c:\\tools\\100%_cmd.exe",
    ]);
    assert.deepEqual(
      await duck('Image="*\\\\1000xcmd.exe" | table Image', rows, ["id", "Image", "User"]),
      [],
    );
  });
  test("OR binds tighter than implicit AND (Splunk precedence)", async () => {
    // User=x Image=a OR Image=b  ==  User=x AND (Image=a OR Image=b)
    const got = await duck('User="corp\\\\bob" Image="*.bak" OR Image="*cmd.exe" | table Image', rows, [
      "id",
      "Image",
      "User",
    ]);
    assert.deepEqual(got, ["C:\\Windows\\System32\\CMD.EXE"]);
  });
  test("f>=n: numeric when the value is a number (spaces allowed), else text order, as Splunk", async () => {
    const ports = [
      { Image: " 49153" },
      { Image: "\t80" },
      { Image: "abc" },
      { Image: "1000" },
      { Image: null },
    ];
    const got = await duck("Image>=49152 | table Image", ports, ["Image"]);
    // " 49153" >= 49152 numerically; "abc" >= "49152" as text ('a' > '4'); "1000" < 49152 numerically.
    assert.deepEqual(got.sort(), [" 49153", "abc"].sort());
  });
  test("match() is case-sensitive; case() leaves null when no branch is taken", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(`CREATE TABLE events ("_time" TIMESTAMPTZ, "EventCode" VARCHAR, "Image" VARCHAR)`);
    await conn.run(
      `INSERT INTO events VALUES ('2024-01-01T00:00:01Z', '1', 'C:\\CMD.EXE'), ('2024-01-01T00:00:02Z', '1', 'c:\\cmd.exe'), ('2024-01-01T00:00:03Z', '1', NULL)`,
    );
    const sql = toSql(
      analyzeSearchRule(
        rule(
          'NOT EventCode=9 | eval k=case(match(Image, "cmd"), "lower", NOT match(Image, "cmd"), "other") | table Image, k',
        ),
        "sql",
      ),
      "duckdb",
    ).content;
    const r = (await conn.runAndReadAll(sql)).getRowObjectsJS();
    conn.closeSync();
    assert.deepEqual(
      r.map((o) => [o.Image ?? null, o.k ?? null]),
      [
        [null, null], // NOT match(null) is null in Splunk: no branch
        ["c:\\cmd.exe", "lower"],
        ["C:\\CMD.EXE", "other"],
      ],
    );
  });
});

describe("sql errors", () => {
  test("ClickHouse refuses match() with (?i) (18.16 pre-filters case-sensitively)", () => {
    const r = rule('EventCode=1 | eval x=if(match(Image, "(?i)cmd"), "y", "n") | table x');
    assert.throws(
      () => exportRule(r, "sql", { sqlDialects: ["clickhouse"] }),
      /match\(\) with the \(\?i\) flag/,
    );
    assert.doesNotThrow(() => exportRule(r, "sql", { sqlDialects: ["duckdb"] }));
  });
  test("time modifiers, stats and arithmetic are errors naming the construct", () => {
    assert.throws(() => exportRule(rule("earliest=-24h EventCode=1"), "sql"), /time modifier 'earliest'/);
    assert.throws(() => exportRule(rule("EventCode=1 | stats count by Image"), "sql"), /command 'stats'/);
    assert.throws(() => exportRule(rule("EventCode=1 | eval x=ProcessId+1"), "sql"), /operator '\+'/);
  });
});

describe("eql", () => {
  test("seed: category, channel, event code, wildcards and precedence", () => {
    const { files, warnings } = exportRule(seedRule(), "eql");
    const eql = files[0].content;
    assert.match(
      eql,
      /^process where winlog\.channel : "Microsoft-Windows-Sysmon\/Operational" and\n {2}event\.code : "1" and\n {2}\(\(\(process\.parent\.executable : "\*\\\\mmc\.exe" or /m,
    );
    assert.match(
      eql,
      /process\.executable : "\*\\\\dcomcnfg\.exe" or \(process\.command_line : "\*-Exec\*" and process\.command_line : "\*DCOM\*"\)\)$/m,
    );
    assert.match(eql, /Not expressed in EQL \(filter only\): \| eval DetectionPattern=case\(/);
    assert.match(warnings[0], /left out \(eval, table, sort\)/);
  });
  test("!= adds a presence test; NOT does not; ? is refused", () => {
    const eql = exportRule(rule('EventCode=1 NOT ParentImage="*\\\\explorer.exe" User!="x"'), "eql").files[0]
      .content;
    assert.match(eql, /not \(process\.parent\.executable : "\*\\\\explorer\.exe"\)/);
    assert.match(eql, /\(winlog\.event_data\.User != null and not winlog\.event_data\.User : "x"\)/);
    assert.throws(() => exportRule(rule('EventCode=1 Image="*?.exe"'), "eql"), /'\?' is a wildcard in EQL/);
  });
  test("a sequence rule becomes 'sequence by host.name with maxspan' with its join keys", () => {
    const seqRule = parseRuleText(
      `${extraRuleText("seq", "44444444-4444-4444-8444-444444444444", "x").replace(/search: \|\n {2}x\n/, "")}sequence:\n  maxspan: 90s\n  ordered: true\n  steps:\n    - { name: net, search: "EventCode=3 Initiated=false", keys: { proc: ProcessGuid } }\n    - { name: child, search: "EventCode=1 ParentImage=\\"*\\\\\\\\mmc.exe\\"", keys: { proc: ParentProcessGuid } }\n`,
      "/virtual/seq.yml",
    );
    const r = exportRule(seqRule, "eql");
    const eql = r.files[0].content;
    assert.match(
      eql,
      /sequence by host\.name with maxspan=90s\n {2}\[network where event\.code : "3" and winlog\.event_data\.Initiated : "false"\] by process\.entity_id\n {2}\[process where event\.code : "1" and process\.parent\.executable : "\*\\\\mmc\.exe"\] by process\.parent\.entity_id/,
    );
    const sigma = exportRule(seqRule, "sigma").files[0].content;
    assert.match(sigma, /type: temporal_ordered/);
    assert.match(sigma, /group-by:\n\s+- Computer\n\s+- proc/);
    assert.match(sigma, /aliases:\n\s+proc:\n\s+seq_net: ProcessGuid\n\s+seq_child: ParentProcessGuid/);
    assert.match(sigma, /timespan: 90s/);
    // SQL: both dialects; ClickHouse 18.16 without window functions (GROUP BY + groupArray + ARRAY JOIN).
    const sql = exportRule(seqRule, "sql");
    assert.deepEqual(
      sql.files.map((f) => f.name),
      [
        "44444444-4444-4444-8444-444444444444.duckdb.sql",
        "44444444-4444-4444-8444-444444444444.clickhouse.sql",
      ],
    );
    const ch = sql.files[1].content;
    assert.doesNotMatch(ch, /\bOVER\b|\bWITH\b/);
    assert.match(ch, /ARRAY JOIN/);
    assert.match(ch, /^FROM `events`$/m);
    assert.match(
      exportRule(seqRule, "sql", { sqlDialects: ["duckdb"] }).files[0].content,
      /WITH m AS MATERIALIZED/,
    );
    assert.throws(
      () => exportRule(seqRule, "esql"),
      /sequence rule: ES\|QL has no join, window or sequence command/,
    );
  });
});

describe("esql", () => {
  test("seed: LIKE with lower-case patterns, COALESCE'd leaves, EVAL CASE, SORT, LIMIT, KEEP/RENAME", () => {
    const esql = exportRule(seedRule(), "esql").files[0].content;
    assert.match(
      esql,
      /COALESCE\(TO_LOWER\(process\.parent\.executable\) LIKE """\*\\\\mmc\.exe""", false\)/,
    );
    assert.match(esql, /COALESCE\(TO_LOWER\(process\.command_line\) LIKE """\*-exec\*""", false\)/);
    assert.match(
      esql,
      /\| EVAL DetectionPattern = CASE\(\(\(process\.parent\.executable RLIKE "\.\*\(\(mmc\|excel\|winword\|outlook\|powerpnt\)\)\.\*"\) AND /,
    );
    assert.match(
      esql,
      /"DCOM_CommandLineRef", true, "DCOM_Other"\)\n\| SORT @timestamp DESC NULLS LAST\n\| LIMIT 10000\n\| KEEP @timestamp, host\.name/,
    );
    assert.match(esql, /\| RENAME @timestamp AS `_time`, host\.name AS host,/);
  });
  test("regexes Lucene cannot run the same are refused", () => {
    assert.throws(
      () =>
        exportRule(
          rule('EventCode=1 | eval x=if(match(Image, "^cmd\\\\.exe$"), "y", "n") | table x'),
          "esql",
        ),
      /only alternations of literal words/,
    );
  });
});

describe("splunk", () => {
  test("savedsearches.conf stanza: schedule, time range, alert defaults; the search unchanged", () => {
    const seed = seedRule();
    const { files } = exportRule(seed, "splunk");
    assert.deepEqual(
      files.map((f) => f.name.slice(seed.id.length + 1)),
      ["savedsearches.conf", "yml"],
    );
    const conf = files[0].content;
    assert.match(conf, /^\[Detect Distributed Component Object Model \(seed\)\]$/m);
    assert.match(conf, /^cron_schedule = 0 \* \* \* \*$/m);
    assert.match(conf, /^dispatch\.earliest_time = -70m@m$/m);
    assert.match(conf, /^dispatch\.latest_time = -10m@m$/m);
    assert.match(conf, /^alert\.severity = 3$/m);
    const search = /^search = ([\s\S]*?)\nenableSched/m.exec(conf)?.[1] ?? "";
    assert.equal(search.replace(/\\\n/g, "\n"), (seed.search as string).trimEnd());
    assert.match(files[1].content, /mitre_attack_id:\n\s+- T1021\.003/);
  });
});
