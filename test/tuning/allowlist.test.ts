import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import type { Alert } from "../../src/correlate/alert.js";
import { type LoadedRule, RuleError, type RuleProblem } from "../../src/rules/loader.js";
import {
  type Allowlist,
  compilePattern,
  type FieldRecord,
  formatAllowlistReport,
  formatSuppressedResults,
  loadAllowlist,
  parseAllowlist,
} from "../../src/tuning/index.js";

function problemsOf(fn: () => unknown): RuleProblem[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuleError) return err.problems;
    throw err;
  }
  assert.fail("expected a RuleError");
}

const where = (p: RuleProblem) => `${p.line}:${p.col}`;

const SEED_ID = "5d3a6f2e-8c1b-4e7a-9f0d-2b6c1e4a7d93";
const SEED_NAME = "Detect Distributed Component Object Model (seed)";

/** A seed-rule row as the result writer flattens it. */
function seedRow(fields: Record<string, string | string[]>): Record<string, string | string[]> {
  return {
    _time: "2024-03-12T09:01:15.737+00:00",
    host: "WKS01.corp.example",
    User: "CORP\\bob",
    Image: "C:\\Windows\\System32\\cmd.exe",
    CommandLine: '"C:\\Windows\\system32\\cmd.exe" /c whoami',
    ParentImage: "C:\\Windows\\System32\\mmc.exe",
    ParentCommandLine: "C:\\Windows\\system32\\mmc.exe -Embedding",
    DetectionPattern: "COM_SuspiciousChild",
    _rule_id: SEED_ID,
    _rule: SEED_NAME,
    ...fields,
  };
}

function alert(over: Partial<Alert> = {}): Alert {
  return {
    ruleId: "3d194a03-bec2-4c51-b87f-8b86927035ce",
    rule: "DCOM Lateral Movement - Remote Activation of a DCOM Server",
    variant: "MMC20",
    severity: "critical",
    confidence: "high",
    target_host: "SRV-APP02.corp.example",
    source_ip: "10.0.10.21",
    source_host: "WKS01.corp.example",
    account: "CORP\\alice.admin",
    loopback: false,
    first_time: 1710234018.39,
    last_time: 1710234019.55,
    evidence: [
      {
        _file: "x.evtx",
        _record_id: "749683",
        _channel: "Security",
        _computer: "SRV-APP02.corp.example",
        _time: "2024-03-12T09:00:18.395Z",
        EventCode: "4624",
        summary: "[logon] logon type 3 CORP\\alice.admin from 10.0.10.21",
      },
      {
        _file: "x.evtx",
        _record_id: "773774",
        _channel: "Microsoft-Windows-Sysmon/Operational",
        _computer: "SRV-APP02.corp.example",
        _time: "2024-03-12T09:00:19.548Z",
        EventCode: "1",
        summary: "[payload] process mmc.exe -> cmd.exe",
      },
    ],
    explain: [],
    ...over,
  };
}

describe("loading", () => {
  test("every problem of a file is reported at its line and column", () => {
    const text = [
      "allowlist:", // 1
      "  - reason: ok", // 2
      "    match:", // 3
      '      Image: "*\\\\cmd.exe"', // 4
      "  - match:", // 5  no reason
      '      Image: "*"', // 6
      "  - reason: bad date", // 7
      "    expires: 2026-02-30", // 8  not a date
      '    match: { Image: "/(a/" }', // 9  bad regex
      "  - reason: unknown", // 10
      "    colour: red", // 11 unknown field
      "    match: {}", // 12 empty match
      "  - id: dup", // 13
      "    reason: x", // 14
      "    match: { Image: a }", // 15
      "  - id: dup", // 16 duplicate id
      "    reason: y", // 17
      "    match: { Image: b }", // 18
      "    evidence: some", // 19 not any/all
      "  - reason: zz", // 20
      "    match:", // 21
      "      CommandLine: '/(a)\\1/'", // 22 backreference: not linear time
    ].join("\n");
    const problems = problemsOf(() => parseAllowlist(text, "al.yml"));
    assert.deepEqual(
      problems.map((p) => `${p.file}:${where(p)}`),
      [
        "al.yml:5:5",
        "al.yml:8:14",
        "al.yml:9:21",
        "al.yml:11:5",
        "al.yml:12:12",
        "al.yml:16:5",
        "al.yml:19:15",
        "al.yml:22:20",
      ],
    );
    assert.match(problems[0].message, /entry #2: missing 'reason'/);
    assert.match(problems[1].message, /'expires' must be a date YYYY-MM-DD \(got '2026-02-30'\)/);
    assert.match(problems[2].message, /match\.Image: bad regular expression/);
    assert.match(problems[3].message, /unknown field 'colour'/);
    assert.match(problems[4].message, /'match' must be a map/);
    assert.match(problems[5].message, /duplicate id 'dup' \(also entry #5\)/);
    assert.match(problems[6].message, /entry dup: 'evidence' must be 'any' or 'all'/);
    assert.match(problems[7].message, /backreferences/);
  });

  test("YAML syntax errors and a wrong shape are positioned too", () => {
    const yamlErr = problemsOf(() =>
      parseAllowlist("allowlist:\n  - reason: x\n    match: {a: b\n", "y.yml"),
    );
    assert.equal(yamlErr.length, 1);
    assert.match(yamlErr[0].message, /^YAML: /);
    assert.equal(yamlErr[0].file, "y.yml");
    assert.ok(yamlErr[0].line >= 3, where(yamlErr[0]));

    const notList = problemsOf(() => parseAllowlist("allowlist: 3\n", "y.yml"));
    assert.deepEqual(
      notList.map((p) => `${where(p)} ${p.message}`),
      ["1:12 'allowlist' must be a list of entries"],
    );
    const noKey = problemsOf(() => parseAllowlist("entries: []\n", "y.yml"));
    assert.deepEqual(
      noKey.map((p) => p.message),
      ["unknown top-level key 'entries' (expected 'allowlist')", "missing 'allowlist:' (a list of entries)"],
    );
    assert.equal(parseAllowlist("allowlist: []\n", "y.yml").entries.length, 0);
  });

  test("loadAllowlist reads a file; an unreadable file is a RuleError at 1:1", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-allowlist-"));
    try {
      const file = path.join(dir, "allow.yml");
      writeFileSync(
        file,
        "allowlist:\n  - id: x\n    reason: r\n    rules: seed-rule\n    expires: 2030-01-01\n    match: { EventCode: 1 }\n",
      );
      const al = loadAllowlist(file);
      const e = al.entries[0];
      assert.deepEqual(
        { label: e.label, rules: e.rules, expires: e.expires, file: e.file, line: e.line, col: e.col },
        { label: "x", rules: ["seed-rule"], expires: "2030-01-01", file, line: 2, col: 5 },
      );
      // A YAML number is matched as its text.
      assert.deepEqual(e.match[0].patterns, ["1"]);
      const missing = problemsOf(() => loadAllowlist(path.join(dir, "nope.yml")));
      assert.equal(where(missing[0]), "1:1");
      assert.match(missing[0].message, /cannot read allowlist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("value patterns", () => {
  test("wildcards: whole value, any case, * and ?, backslash literal", () => {
    const t = compilePattern("*\\EXCEL.EXE");
    assert.equal(t("C:\\Program Files\\Microsoft Office\\root\\Office16\\excel.exe"), true);
    assert.equal(t("C:\\x\\EXCEL.EXE.bak"), false);
    assert.equal(t("EXCEL.EXE"), false, "the backslash is part of the pattern");
    const q = compilePattern("net ?tart");
    assert.equal(q("NET START"), true);
    assert.equal(q("net sstart"), false);
    // Regex metacharacters in a wildcard are literal.
    assert.equal(compilePattern("a+b(c)")("a+b(c)"), true);
    assert.equal(compilePattern("a+b(c)")("aab(c)"), false);
    assert.equal(compilePattern("*")(""), true);
    assert.equal(compilePattern("cmd /c *")("cmd /c a\nb"), true, "* spans line breaks");
  });

  test("regexes: unanchored, flags i m s, re2 only", () => {
    assert.equal(compilePattern("/compmgmt\\.msc/")("mmc.exe compmgmt.msc /s"), true);
    assert.equal(compilePattern("/COMPMGMT/")("compmgmt.msc"), false, "case-sensitive without i");
    assert.equal(compilePattern("/COMPMGMT/i")("compmgmt.msc"), true);
    assert.equal(compilePattern("/^a.b$/")("a\nb"), false);
    assert.equal(compilePattern("/^a.b$/s")("a\nb"), true);
    assert.equal(compilePattern("/^b$/m")("a\nb"), true);
    // Pathological for a backtracking engine; linear here.
    const started = performance.now();
    assert.equal(compilePattern("/^(a+)+$/")(`${"a".repeat(5000)}!`), false);
    assert.ok(performance.now() - started < 1000);
    assert.throws(() => compilePattern("/(?=x)/"), /lookahead/);
    assert.throws(() => compilePattern("//"), /empty regular expression/);
    // Not the regex form: a wildcard with slashes.
    assert.equal(compilePattern("/x/q")("/X/Q"), true);
  });
});

describe("matching rows", () => {
  const al = () =>
    parseAllowlist(
      [
        "allowlist:",
        "  - id: compmgmt",
        "    reason: service restarts from Computer Management",
        `    rules: ['${SEED_NAME}']`,
        "    match:",
        "      ParentCommandLine: '*\\compmgmt.msc*'",
        "      commandline: '/^\"?C:\\\\Windows\\\\system32\\\\cmd\\.exe\"? \\/c net (stop|start) /i'",
        "  - id: any-rule",
        "    reason: multivalue and alternatives",
        "    match:",
        "      Tags: [alpha, 'be*']",
        "  - id: by-id",
        "    reason: scoped by rule id",
        `    rules: ${SEED_ID}`,
        "    match: { User: 'CORP\\svc_*' }",
      ].join("\n"),
      "al.yml",
    );

  test("every field must match (AND); field names fall back to any case", () => {
    const a = al();
    const row = seedRow({
      ParentCommandLine: '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\compmgmt.msc" /s',
      CommandLine: '"C:\\Windows\\system32\\cmd.exe" /c net stop "AppPoolMonitor"',
    });
    assert.equal(a.matchRow(SEED_ID, row)?.id, "compmgmt");
    // Same command from MMC20.Application (mmc.exe -Embedding): not this entry.
    assert.equal(a.matchRow(SEED_ID, seedRow({ CommandLine: row.CommandLine as string })), undefined);
    // A field the row lacks never matches.
    const { CommandLine: _, ...noCmd } = row;
    assert.equal(a.matchRow(SEED_ID, noCmd), undefined);
  });

  test("rules: by name (from the row's _rule) or id; other rules are untouched", () => {
    const a = al();
    const row = seedRow({
      ParentCommandLine: "mmc.exe C:\\Windows\\system32\\compmgmt.msc",
      CommandLine: "C:\\Windows\\system32\\cmd.exe /c net start x",
    });
    assert.equal(a.matchRow(SEED_ID, row)?.id, "compmgmt");
    assert.equal(a.matchRow("other-rule", { ...row, _rule: "Other" }), undefined);
    // By id, without _rule in the row.
    const svc = { User: "corp\\SVC_backup" };
    assert.equal(a.matchRow(SEED_ID, svc)?.id, "by-id");
    assert.equal(a.matchRow("other-rule", svc), undefined);
  });

  test("a list of patterns is OR; a multivalue field matches when any value does", () => {
    const a = al();
    assert.equal(a.matchRow("r", { Tags: "ALPHA" })?.id, "any-rule");
    assert.equal(a.matchRow("r", { Tags: ["gamma", "beta"] })?.id, "any-rule");
    assert.equal(a.matchRow("r", { Tags: ["gamma", "delta"] }), undefined);
  });

  test("counts per entry, first match in file order gets the credit, stale entries", () => {
    const a = parseAllowlist(
      [
        "allowlist:",
        "  - { id: cmd, reason: one, match: { Image: '*\\cmd.exe' } }",
        "  - { id: cmd-whoami, reason: two, match: { CommandLine: '*whoami*' } }",
        "  - { id: never, reason: three, match: { Image: '*\\nothing.exe' } }",
        "  - { id: other, reason: four, match: { Image: '*\\mshta.exe' } }",
      ].join("\n"),
      "al.yml",
    );
    for (let i = 0; i < 3; i++) assert.equal(a.matchRow(SEED_ID, seedRow({}))?.id, "cmd");
    assert.equal(
      a.matchRow(
        SEED_ID,
        seedRow({ Image: "C:\\Windows\\System32\\mshta.exe", CommandLine: "mshta.exe x.hta" }),
      )?.id,
      "other",
    );
    assert.equal(a.matchRow(SEED_ID, seedRow({ Image: "C:\\x\\calc.exe", CommandLine: "calc" })), undefined);
    const r = a.report();
    assert.deepEqual(
      r.suppressed.map((s) => [s.entry.id, s.count]),
      [
        ["cmd", 3],
        ["other", 1],
      ],
    );
    // cmd-whoami matched rows (that cmd suppressed first): redundant, but not stale.
    assert.deepEqual(
      r.stale.map((e) => e.id),
      ["never"],
    );
    assert.deepEqual(r.expired, []);
  });

  test("setRules: entries for rules not in the run are not stale; unknown references are reported", () => {
    const a = parseAllowlist(
      [
        "allowlist:",
        "  - { id: seed-only, reason: r, rules: [seed-id], match: { Image: x } }",
        "  - { id: typo, reason: r, rules: [seed-id, no-such-rule], match: { Image: y } }",
      ].join("\n"),
      "al.yml",
    );
    const problems = a.setRules([{ id: "dcom-id", name: "DCOM rule" }]);
    assert.deepEqual(
      problems.map((p) => `${where(p)} ${p.message}`),
      [
        "2:5 allowlist entry seed-only: rule 'seed-id' is not among the rules of this run",
        "3:5 allowlist entry typo: rule 'seed-id' is not among the rules of this run",
        "3:5 allowlist entry typo: rule 'no-such-rule' is not among the rules of this run",
      ],
    );
    assert.deepEqual(a.report().stale, []);
    a.setRules([{ id: "seed-id", name: "Seed" }]);
    assert.deepEqual(
      a.report().stale.map((e) => e.id),
      ["seed-only", "typo"],
    );
    // After setRules, an entry naming a rule by name applies to rows that carry only the id.
    const b = parseAllowlist(
      "allowlist:\n  - { reason: r, rules: [The Seed], match: { Image: x } }\n",
      "b.yml",
    );
    assert.equal(b.matchRow("seed-id", { Image: "x" }), undefined);
    b.setRules([{ id: "seed-id", name: "The Seed" }]);
    assert.equal(b.matchRow("seed-id", { Image: "x" })?.label, "#1");
  });
});

describe("expiry", () => {
  const text = [
    "allowlist:",
    "  - id: pilot",
    "    reason: pilot of the new monitoring agent",
    "    expires: 2026-06-30",
    "    match: { ParentImage: '*\\MonitoringHost.exe' }",
  ].join("\n");
  const row = { ParentImage: "C:\\Program Files\\Agent\\MonitoringHost.exe" };

  test("an entry holds through its expiry day (UTC)", () => {
    const a = parseAllowlist(text, "al.yml", new Date("2026-06-30T23:59:59Z"));
    assert.equal(a.entries[0].expired, false);
    assert.equal(a.matchRow("r", row)?.id, "pilot");
  });

  test("after it, the entry stops suppressing and is reported with what it matched", () => {
    const a = parseAllowlist(text, "al.yml", new Date("2026-07-01T00:00:00Z"));
    assert.equal(a.entries[0].expired, true);
    assert.equal(a.matchRow("r", row), undefined);
    assert.equal(a.matchRow("r", row), undefined);
    const r = a.report();
    assert.deepEqual(r.suppressed, []);
    assert.deepEqual(
      r.expired.map((e) => e.id),
      ["pilot"],
    );
    assert.deepEqual(r.stale, [], "an expired entry is reported as expired, not stale");
    assert.deepEqual(
      r.expiredMatches.map((m) => [m.entry.id, m.count]),
      [["pilot", 2]],
    );
    // A result that an entry in force suppresses is not charged to the expired entry.
    const both = parseAllowlist(
      `${text}\n  - { id: agent, reason: r, match: { ParentImage: '*\\Agent\\*' } }\n`,
      "al.yml",
      new Date("2026-07-01"),
    );
    assert.equal(both.matchRow("r", row)?.id, "agent");
    assert.deepEqual(both.report().expiredMatches, []);
    assert.deepEqual(formatAllowlistReport(r), [
      "allowlist: 0 results suppressed by 0 entries",
      "  expired 2026-06-30  pilot: pilot of the new monitoring agent (al.yml:2:5): no longer suppresses; matched 2 results, now reported",
    ]);
  });
});

describe("matching alerts", () => {
  const mk = (extra: string) =>
    parseAllowlist(`allowlist:\n  - id: e\n    reason: r\n${extra}`, "al.yml", new Date("2026-01-01"));

  test("the alert's own fields", () => {
    const a = mk("    match: { variant: MMC20, account: '*\\svc_sccm' }\n");
    assert.equal(a.matchAlert("x", alert()), undefined);
    assert.equal(a.matchAlert("x", alert({ account: "CORP\\svc_sccm" }))?.id, "e");
    const loop = mk("    match: { loopback: 'true', severity: [low, medium] }\n");
    assert.equal(loop.matchAlert("x", alert({ loopback: true, severity: "medium" }))?.id, "e");
    assert.equal(loop.matchAlert("x", alert({ loopback: false, severity: "medium" })), undefined);
  });

  test("an evidence item's fields (EventCode, summary ...) together with the alert's", () => {
    const a = mk(
      "    match: { target_host: 'SRV-APP02*', EventCode: '1', summary: '*mmc.exe -> cmd.exe*' }\n",
    );
    assert.equal(a.matchAlert("x", alert())?.id, "e");
    assert.equal(a.matchAlert("x", alert({ target_host: "SRV-FILE03.corp.example" })), undefined);
  });

  test("evidence events' full fields, one event at a time", () => {
    const a = mk("    match: { ParentImage: '*\\mmc.exe', LogonType: '3' }\n");
    const fields: FieldRecord[] = [
      { LogonType: "3", TargetUserName: "alice.admin" },
      { ParentImage: "C:\\Windows\\System32\\mmc.exe", Image: "C:\\Windows\\System32\\cmd.exe" },
    ];
    // ParentImage is on the process event and LogonType on the logon event: never combined.
    assert.equal(a.matchAlert("x", alert(), fields), undefined);
    const b = mk("    match: { ParentImage: '*\\mmc.exe', Image: '*\\cmd.exe' }\n");
    assert.equal(b.matchAlert("x", alert()), undefined, "without the events' fields there is no Image");
    assert.equal(b.matchAlert("x", alert(), fields)?.id, "e");
  });

  test("evidence: all needs every evidence event to match", () => {
    const a = mk("    evidence: all\n    match: { _channel: Security }\n");
    assert.equal(a.matchAlert("x", alert()), undefined);
    const onlySecurity = alert();
    onlySecurity.evidence = onlySecurity.evidence.filter((e) => e._channel === "Security");
    assert.equal(a.matchAlert("x", onlySecurity)?.id, "e");
  });

  test("rules scope alerts by the alert's rule name or id", () => {
    const a = mk(
      "    rules: [DCOM Lateral Movement - Remote Activation of a DCOM Server]\n    match: { variant: MMC20 }\n",
    );
    assert.equal(a.matchAlert(alert().ruleId, alert())?.id, "e");
    assert.equal(a.matchAlert("other", alert({ ruleId: "other", rule: "Other" })), undefined);
  });
});

describe("report lines", () => {
  test("suppressed per entry, expired and stale, with positions", () => {
    const a: Allowlist = parseAllowlist(
      [
        "allowlist:",
        "  - { id: a, reason: first, match: { Image: x } }",
        "  - { id: b, reason: second, match: { Image: y } }",
        "  - { id: c, reason: third, expires: 2020-01-01, match: { Image: z } }",
        "  - { reason: fourth, match: { Image: w } }",
      ].join("\n"),
      "al.yml",
      new Date("2026-11-29"),
    );
    for (let i = 0; i < 12; i++) a.matchRow("r", { Image: "x" });
    a.matchRow("r", { Image: "y" });
    assert.deepEqual(formatAllowlistReport(a.report()), [
      "allowlist: 13 results suppressed by 2 entries",
      "  suppressed 12  a: first (al.yml:2:5)",
      "  suppressed  1  b: second (al.yml:3:5)",
      "  expired 2020-01-01  c: third (al.yml:4:5): no longer suppresses",
      "  stale  #4: fourth (al.yml:5:5): matched nothing in this run",
    ]);
  });
});

describe("--show-suppressed lines", () => {
  test("one line per result: entry, rule, then the row's fields or the alert's essentials", () => {
    const a = parseAllowlist(
      "allowlist:\n  - { id: sccm, reason: r, match: { account: '*\\svc_sccm' } }\n",
      "al.yml",
    );
    const al = alert({ account: "CORP\\svc_sccm" });
    const entry = a.matchAlert(al.ruleId, al)!;
    const rule = { id: al.ruleId, name: al.rule } as LoadedRule;
    const row = seedRow({ _file: "C:\\logs\\sysmon.evtx", _record_id: "42" });
    assert.deepEqual(
      formatSuppressedResults([
        { rule, entry, alert: al },
        { rule, entry, row },
      ]),
      [
        "[sccm] DCOM Lateral Movement - Remote Activation of a DCOM Server: 2024-03-12T09:00:18.390Z MMC20 SRV-APP02.corp.example <- 10.0.10.21 CORP\\svc_sccm (2 evidence events)",
        '[sccm] DCOM Lateral Movement - Remote Activation of a DCOM Server: _time=2024-03-12T09:01:15.737+00:00 host=WKS01.corp.example User=CORP\\bob Image=C:\\Windows\\System32\\cmd.exe CommandLine="C:\\Windows\\system32\\cmd.exe" /c whoami ParentImage=C:\\Windows\\System32\\mmc.exe ParentCommandLine=C:\\Windows\\system32\\mmc.exe -Embedding DetectionPattern=COM_SuspiciousChild C:\\logs\\sysmon.evtx#42',
      ],
    );
  });
});
