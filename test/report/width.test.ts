/**
 * Table output on an 80-column terminal: every line fits - section titles, result rows and correlation
 * alert lines with their evidence - unless --full asks for values whole.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { Alert } from "../../src/correlate/index.js";
import { openOutput } from "../../src/report/output.js";
import { createResultWriter } from "../../src/report/results.js";
import type { LoadedRule } from "../../src/rules/loader.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-width-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const longName = "DCOM Lateral Movement - ShellWindows or ShellBrowserWindow (inbound to explorer.exe)";
const seqRule = {
  id: "856c31c5-629f-4ec5-99d1-61052d709ede",
  name: longName,
  file: "r.yml",
  sequence: {},
} as unknown as LoadedRule;
const splRule = {
  id: "6f3e9a52-1c47-4b8d-9e0a-7d2c5b8f4a13",
  name: longName,
  file: "s.yml",
} as unknown as LoadedRule;

const alert = {
  first_time: 1710235206.014,
  severity: "critical",
  confidence: "high",
  variant: "ShellWindows",
  outcome: "executed",
  observed_on: "both",
  target_host: "SRV-APP02.corp.example",
  source_ip: "10.0.10.21",
  source_host: "WKS01.corp.example",
  account: "CORP\\alice.admin",
  rule: longName,
  evidence: [
    {
      _time: "2024-03-12T09:20:06.014Z",
      _file: "/data/demo.evtx",
      _record_id: "615719",
      EventCode: "4688",
      summary: `[source_request] process explorer.exe -> powershell.exe: ${"x".repeat(300)}`,
    },
  ],
  explain: [],
} as unknown as Alert;

async function write(width: number | undefined, full: boolean): Promise<string[]> {
  const file = path.join(tmp, `out-${width}-${full}.txt`);
  const out = openOutput(file);
  const writer = createResultWriter("table", out, [seqRule, splRule], { tz: "UTC", width, full });
  await writer.alert(seqRule, alert);
  await writer.row(
    splRule,
    {
      fields: new Map<string, string>([
        ["_time", "2024-03-12T09:20:06.014Z"],
        ["host", "SRV-APP02.corp.example"],
        ["CommandLine", "y".repeat(200)],
        ["ParentImage", "C:\\Windows\\explorer.exe"],
      ]),
      columns: ["_time", "host", "CommandLine", "ParentImage"],
    },
    ["_time", "host", "CommandLine", "ParentImage"],
  );
  await writer.finish();
  await out.close();
  return readFileSync(file, "utf8").trimEnd().split("\n");
}

test("every table line fits an 80-column terminal", async () => {
  const lines = await write(80, false);
  assert.ok(lines.length >= 6, lines.join("\n"));
  for (const l of lines) assert.ok(l.length <= 80, `${l.length} columns: ${l}`);
  // The rule id and the count stay readable in a cut title.
  assert.match(lines[0], /\[856c31c5-629f-4ec5-99d1-61052d709ede\]: 1 alert$/);
  assert.match(lines[1], /severity=critical confidence=high/);
});

test("--full (or no terminal) keeps lines whole", async () => {
  const lines = await write(80, true);
  assert.ok(lines.some((l) => l.length > 200));
});
