/**
 * Every KQL output parses and binds without errors in Microsoft's Kusto language service
 * (@kusto/language-service-next), against the documented columns of the Sentinel `Event` table and
 * Defender XDR's `DeviceProcessEvents` (declared as empty datatables in front of the query).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, test } from "node:test";
import { exportRule } from "../../src/export/index.js";
import { parseRuleText } from "../../src/rules/loader.js";
import { bundledRules, extraRules, extraRuleText, repoRoot, seedRule } from "./helpers.js";

interface KustoDiagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
interface KustoGlobal {
  Language: {
    KustoCode: {
      ParseAndAnalyze(text: string): {
        GetDiagnostics(): { Count: number; getItem(i: number): KustoDiagnostic };
      };
    };
  };
}

/** The language service is a Bridge.NET bundle: bridge.js must be loaded first, as a global. */
function kusto(): KustoGlobal {
  const require = createRequire(import.meta.url);
  const dir = path.join(repoRoot, "node_modules", "@kusto", "language-service-next");
  const g = globalThis as unknown as { Bridge?: unknown; Kusto?: KustoGlobal };
  if (!g.Kusto) {
    g.Bridge = require(path.join(dir, "bridge.js"));
    require(path.join(dir, "Kusto.Language.Bridge.js"));
  }
  return g.Kusto as KustoGlobal;
}

/** Schemas as datatables (documented columns of the tables the exports read). */
const TABLES = [
  "let Event = datatable(TimeGenerated: datetime, Source: string, EventLog: string, Computer: string, EventLevel: int, EventLevelName: string, EventID: int, UserName: string, RenderedDescription: string, EventData: string, Type: string)[];",
  `let SecurityEvent = datatable(TimeGenerated: datetime, Computer: string, EventID: int, Activity: string, EventData: string, LogonType: int, ${[
    "AccessList",
    "AccessMask",
    "CommandLine",
    "IpAddress",
    "IpPort",
    "NewProcessId",
    "NewProcessName",
    "ParentProcessName",
    "ProcessId",
    "ProcessName",
    "RelativeTargetName",
    "ShareName",
    "SubjectDomainName",
    "SubjectLogonId",
    "SubjectUserName",
    "TargetDomainName",
    "TargetLogonId",
    "TargetUserName",
    "WorkstationName",
  ]
    .map((c) => `${c}: string`)
    .join(", ")})[];`,
  "let DeviceProcessEvents = datatable(Timestamp: datetime, DeviceId: string, DeviceName: string, ActionType: string, FileName: string, FolderPath: string, SHA256: string, ProcessId: long, ProcessCommandLine: string, ProcessIntegrityLevel: string, ProcessVersionInfoOriginalFileName: string, AccountDomain: string, AccountName: string, InitiatingProcessFolderPath: string, InitiatingProcessCommandLine: string, InitiatingProcessId: long)[];",
].join("\n");

export function kqlDiagnostics(query: string): string[] {
  const code = kusto().Language.KustoCode.ParseAndAnalyze(`${TABLES}\n${query}`);
  const diags = code.GetDiagnostics();
  const out: string[] = [];
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (d.Severity === "Error") out.push(`${d.Message} at ${d.Start - TABLES.length - 1}`);
  }
  return out;
}

describe("kql target", () => {
  test("the checker reports errors (it can fail)", () => {
    assert.ok(kqlDiagnostics("Event | where NoSuchColumn == 1").length > 0);
    assert.ok(kqlDiagnostics("Event | where EventID == ").length > 0);
    assert.deepEqual(kqlDiagnostics("Event | where EventID == 1 | take 1"), []);
  });
  const rules = [
    seedRule(),
    ...extraRules.filter((r) => r.name !== "network ordered"),
    ...bundledRules().rules.filter((r) => r.search !== undefined && r.name !== seedRule().name),
  ];
  for (const rule of rules) {
    test(`rule '${rule.name}': every KQL file parses and binds`, () => {
      const { files } = exportRule(rule, "kql");
      assert.equal(files.length, 2);
      for (const f of files) assert.deepEqual(kqlDiagnostics(f.content), [], `${f.name}\n${f.content}`);
    });
  }
  for (const rule of bundledRules().rules.filter((r) => r.sequence !== undefined)) {
    test(`sequence rule '${rule.name}': the Sentinel join query parses and binds, or the error names why`, () => {
      let files: { name: string; content: string }[];
      try {
        files = exportRule(rule, "kql").files;
      } catch (e) {
        assert.match((e as Error).message, /no alternative could be exported: alternative \[/);
        return;
      }
      assert.equal(files.length, 1);
      assert.match(files[0].content, /^union alt\d+/m);
      assert.deepEqual(kqlDiagnostics(files[0].content), [], files[0].content);
    });
  }
  test("a network rule: Sentinel query parses; Defender is skipped with a warning, or an error when asked for", () => {
    const rule = extraRules.find((r) => r.name === "network ordered");
    assert.ok(rule);
    const r = exportRule(rule, "kql");
    assert.deepEqual(
      r.files.map((f) => f.name.split(".").slice(1).join(".")),
      ["sentinel.kql"],
    );
    assert.deepEqual(kqlDiagnostics(r.files[0].content), []);
    assert.match(r.warnings.join("\n"), /no Defender XDR query: data source .*EventCode 3/);
    assert.throws(
      () => exportRule(rule, "kql", { kqlFlavors: ["defender"] }),
      /Defender XDR export maps process creation/,
    );
  });
  test("a Security-log rule reads Sentinel's SecurityEvent columns (and still Defender's process table)", () => {
    const rule = parseRuleText(
      extraRuleText(
        "security 4688",
        "77777777-7777-4777-8777-777777777777",
        'EventCode=4688 ParentProcessName="*\\\\svchost.exe" NewProcessName="*\\\\mmc.exe" | table _time, host, NewProcessName, CommandLine',
      ),
      "/virtual/security.yml",
    );
    const files = exportRule(rule, "kql").files;
    const sentinel = files.find((f) => f.name.endsWith(".sentinel.kql"))?.content ?? "";
    assert.match(
      sentinel,
      /^SecurityEvent\n\| where EventID in \(4688\)\n\| where \(ParentProcessName endswith @"\\svchost\.exe" and NewProcessName endswith @"\\mmc\.exe"\)$/m,
    );
    for (const f of files) assert.deepEqual(kqlDiagnostics(f.content), [], f.content);
    const unknown = parseRuleText(
      extraRuleText("security unknown", "88888888-8888-4888-8888-888888888888", "EventCode=5156 Direction=x"),
      "/virtual/unknown.yml",
    );
    assert.throws(
      () => exportRule(unknown, "kql", { kqlFlavors: ["sentinel"] }),
      /field 'Direction': no SecurityEvent column for it/,
    );
  });
  test("unsupported SPL is an error naming the construct, the rule and its place", () => {
    const rule = { ...seedRule(), search: "index=x EventCode=1 | stats count by Image" };
    assert.throws(
      () => exportRule(rule, "kql"),
      /dcom_lateral_movement_seed\.yml:\d+:\d+: --target kql: rule 'Detect Distributed Component Object Model \(seed\)': command 'stats'/,
    );
    const term = { ...seedRule(), search: "EventCode=1 mimikatz" };
    assert.throws(() => exportRule(term, "kql"), /bare term 'mimikatz'/);
  });
});
