/**
 * The seed query's traps, end to end through the rule runner, and `rules lint` flagging each of them.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { defaultFieldViewOptions } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import { ticksFromIso } from "../../src/events/time.js";
import { lintPipeline } from "../../src/rules/lint.js";
import { bundledRulesDir, loadRuleFile } from "../../src/rules/loader.js";
import { compileRules, runRules } from "../../src/rules/run.js";
import { parseSpl, type ResultRow } from "../../src/spl/index.js";

const seedRule = loadRuleFile(path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml"));
const SYSMON = "Microsoft-Windows-Sysmon/Operational";
let recordId = 1000;

function event(channel: string, eventID: string, time: string, data: Record<string, string>): WinEvent {
  recordId++;
  return {
    system: {
      providerName: channel === SYSMON ? "Microsoft-Windows-Sysmon" : "Microsoft-Windows-Security-Auditing",
      eventID,
      channel,
      computer: "WKS01.corp.example",
      eventRecordID: String(recordId),
      systemTime: time,
    },
    eventData: Object.entries(data).map(([name, value]) => ({ name, value })),
    timeTicks: ticksFromIso(time),
    provenance: { file: "fixture", format: "xml", line: recordId },
  };
}

const processCreate = (time: string, parent: string, image: string, commandLine = `"${image}"`) =>
  event(SYSMON, "1", time, {
    Image: image,
    CommandLine: commandLine,
    ParentImage: parent,
    ParentCommandLine: `"${parent}"`,
    User: "CORP\\alice",
  });

async function runSeed(events: WinEvent[]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const opts = { fieldView: defaultFieldViewOptions };
  await runRules(
    compileRules([seedRule], opts),
    {
      streams: [
        (async function* () {
          yield* events;
        })(),
      ],
    },
    opts,
    {
      row: (_r, row) => {
        rows.push(row);
      },
      alert: () => {},
    },
  );
  return rows;
}

describe("the seed query's traps, end to end", () => {
  test("EXCEL.EXE parent with a cmd.exe child passes the search but is labelled DCOM_Other", async () => {
    const rows = await runSeed([
      processCreate(
        "2024-03-12T09:00:00.0000000Z",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
        "C:\\Windows\\System32\\cmd.exe",
      ),
      processCreate(
        "2024-03-12T09:00:01.0000000Z",
        "C:\\Windows\\System32\\mmc.exe",
        "C:\\Windows\\System32\\cmd.exe",
      ),
    ]);
    assert.deepEqual(
      rows.map((r) => r.fields.get("DetectionPattern")),
      ["COM_SuspiciousChild", "DCOM_Other"],
    );
  });

  test("OR binds tighter than AND: a Sysmon 3 dcomcnfg.exe and a 4688 with -ExecutionPolicy DCOM do not match", async () => {
    const rows = await runSeed([
      event(SYSMON, "3", "2024-03-12T09:00:00.0000000Z", { Image: "C:\\Windows\\System32\\dcomcnfg.exe" }),
      event("Security", "4688", "2024-03-12T09:00:01.0000000Z", {
        NewProcessName: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        CommandLine: "powershell -ExecutionPolicy Bypass -File Test-DCOM.ps1",
      }),
    ]);
    assert.deepEqual(rows, []);
  });

  test("*-Exec* matches -ExecutionPolicy in a Sysmon 1 command line mentioning DCOM", async () => {
    const rows = await runSeed([
      processCreate(
        "2024-03-12T09:00:00.0000000Z",
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -ExecutionPolicy Bypass -File C:\\tools\\Check-DCOM.ps1",
      ),
    ]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].fields.get("DetectionPattern"), "DCOM_CommandLineRef");
  });

  test("sort without a count stops at 10,000 rows, newest first", async () => {
    const base = Date.UTC(2024, 2, 12, 9, 0, 0);
    const events = Array.from({ length: 10001 }, (_, i) =>
      processCreate(
        `${new Date(base + i * 1000).toISOString().slice(0, 19)}.0000000Z`,
        "C:\\Windows\\System32\\mmc.exe",
        "C:\\Windows\\System32\\cmd.exe",
      ),
    );
    const rows = await runSeed(events);
    assert.equal(rows.length, 10000);
    // The oldest event is the one cut.
    const firstTime = rows[0].fields.get("_time") ?? rows[0].fields.get("_time");
    assert.ok(firstTime !== undefined);
    const times = rows.map((r) => Number(r.fields.get("_time")));
    assert.ok(
      times.every((t, i) => i === 0 || t <= times[i - 1]),
      "newest first",
    );
    assert.equal(Math.min(...times), base / 1000 + 1);
  });
});

describe("rules lint on the seed rule", () => {
  const findings = lintPipeline(seedRule, parseSpl(seedRule.search!, { file: seedRule.file }));
  const codes = (code: string) => findings.filter((f) => f.code === code);

  test("flags each trap with a position inside the rule file", () => {
    assert.equal(codes("sort-limit").length, 1);
    assert.equal(codes("sourcetype-naming").length, 1);
    assert.equal(codes("wildcard-prefix").length, 1);
    assert.match(codes("wildcard-prefix")[0].message, /-ExecutionPolicy/);
    // match(ParentImage ...), match(Image ...) twice, match(CommandLine, "DCOM")
    assert.equal(codes("match-case").length, 4);
    assert.ok(codes("match-case").some((f) => /EXCEL/.test(f.message)));
    // the two alternation regexes are unanchored
    assert.equal(codes("match-substring").length, 2);
    for (const f of findings) {
      assert.equal(f.file, seedRule.file);
      assert.ok(f.line >= seedRule.searchStart!.line, `${f.code} at ${f.line}:${f.col}`);
    }
    const sort = codes("sort-limit")[0];
    // `| sort - _time` is the last line of the search block
    const lines = seedRule.search!.trimEnd().split("\n");
    assert.equal(sort.line, seedRule.searchStart!.line + lines.length - 1);
    assert.equal(sort.col, seedRule.searchStart!.col + lines[lines.length - 1].indexOf("sort"));
  });
});
