/** The seed query (reference/seed.spl) and its traps (spl-semantics.md §6), each written to fail a wrong engine. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { compileSearch } from "../../src/spl/index.js";
import { repoRoot, skipUnless } from "../helpers/env.js";
import { run, runStrings, sysmon1, view, winEvent } from "./helpers.js";

const seedFile = path.resolve(repoRoot, "../shared/reference/seed.spl");
// The seed query is also embedded so the suite runs without ../shared; the file, when present, must equal it.
const SEED = `index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1
(
(ParentImage="*\\\\mmc.exe" OR ParentImage="*\\\\excel.exe" OR ParentImage="*\\\\winword.exe" OR ParentImage="*\\\\outlook.exe" OR ParentImage="*\\\\powerpnt.exe")
AND
(Image="*\\\\cmd.exe" OR Image="*\\\\powershell.exe" OR Image="*\\\\wscript.exe" OR Image="*\\\\cscript.exe" OR Image="*\\\\mshta.exe" OR Image="*\\\\rundll32.exe")
)
OR
(
Image="*\\\\dcomcnfg.exe"
)
OR
(
CommandLine="*-Exec*" AND CommandLine="*DCOM*"
)
| eval DetectionPattern=case(
match(ParentImage, "(mmc|excel|winword|outlook|powerpnt)") AND match(Image, "(cmd|powershell|wscript|cscript|mshta|rundll32)"), "COM_SuspiciousChild",
match(Image, "dcomcnfg"), "DCOM_ConfigTool",
match(CommandLine, "DCOM"), "DCOM_CommandLineRef",
true(), "DCOM_Other"
)
| table _time, host, User, Image, CommandLine, ParentImage, ParentCommandLine, DetectionPattern
| sort - _time
`;

const labels = async (list: ReturnType<typeof sysmon1>[]) =>
  (await run(SEED, list)).map((r) => r.fields.get("DetectionPattern"));

describe("seed query", () => {
  test("the embedded seed query equals reference/seed.spl", {
    skip: skipUnless(existsSync(seedFile), `reference absent: ${seedFile}`),
  }, () => {
    assert.equal(readFileSync(seedFile, "utf8").trim(), SEED.trim());
  });

  test("§6.1 OR-before-AND: a Sysmon EID 3 with Image ...\\dcomcnfg.exe does NOT match", async () => {
    const eid3 = winEvent({
      eventID: "3",
      time: "2020-10-08T11:00:00Z",
      data: { Image: "C:\\Windows\\System32\\dcomcnfg.exe" },
    });
    assert.equal((await run(SEED, [eid3])).length, 0);
    // ...while the same Image in an EID 1 does.
    assert.deepEqual(
      await labels([sysmon1("2020-10-08T11:00:00Z", { Image: "C:\\Windows\\System32\\dcomcnfg.exe" })]),
      ["DCOM_ConfigTool"],
    );
  });

  test("§6.1 OR-before-AND: a Security 4688 whose CommandLine has -ExecutionPolicy and DCOM does NOT match", async () => {
    const sec = winEvent({
      eventID: "4688",
      channel: "Security",
      time: "2020-10-08T11:00:00Z",
      data: {
        NewProcessName: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        CommandLine: "powershell -ExecutionPolicy Bypass -c [DCOM]",
      },
    });
    assert.equal((await run(SEED, [sec])).length, 0);
  });

  test("§6.2 EXCEL.EXE parent with a cmd.exe child passes the search but is labelled DCOM_Other (match() is case-sensitive)", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      ParentImage: "C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
      Image: "C:\\Windows\\System32\\cmd.exe",
      CommandLine: "cmd.exe /c calc",
    });
    assert.deepEqual(await labels([ev]), ["DCOM_Other"]);
  });

  test("§6.2 a WScript.exe child of mmc.exe passes the search but is DCOM_Other", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      ParentImage: "C:\\Windows\\System32\\mmc.exe",
      Image: "C:\\Windows\\System32\\WScript.exe",
    });
    assert.deepEqual(await labels([ev]), ["DCOM_Other"]);
  });

  test("§6.3 CommandLine with 'dcom' passes *DCOM* but match(CommandLine,\"DCOM\") is false", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\powershell.exe",
      ParentImage: "C:\\x\\explorer.exe",
      CommandLine: "ps -exec bypass dcom",
    });
    assert.deepEqual(await labels([ev]), ["DCOM_Other"]);
    const upper = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\powershell.exe",
      ParentImage: "C:\\x\\explorer.exe",
      CommandLine: "ps -exec bypass DCOM",
    });
    assert.deepEqual(await labels([upper]), ["DCOM_CommandLineRef"]);
  });

  test("§6.4 match() is an unanchored substring test: a cmdkey.exe child of a path containing 'mmc' is COM_SuspiciousChild via the CommandLine branch", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      ParentImage: "C:\\Users\\emmc\\tool.exe",
      Image: "C:\\Windows\\System32\\cmdkey.exe",
      CommandLine: "cmdkey -Exec DCOM",
    });
    assert.deepEqual(await labels([ev]), ["COM_SuspiciousChild"]);
  });

  test("§6.5 *-Exec* matches -ExecutionPolicy, case-insensitively; both CommandLine terms are needed", async () => {
    const yes = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\powershell.exe",
      CommandLine: "powershell -executionpolicy bypass Invoke-DCOM",
    });
    const no = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\powershell.exe",
      CommandLine: "powershell Invoke-DCOM",
    });
    assert.deepEqual(await labels([yes, no]), ["DCOM_CommandLineRef"]);
  });

  test("§6.6 case() order: an mmc->cmd event whose command line has DCOM is COM_SuspiciousChild", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      ParentImage: "C:\\Windows\\System32\\mmc.exe",
      Image: "C:\\Windows\\System32\\cmd.exe",
      CommandLine: "cmd -Exec DCOM",
    });
    assert.deepEqual(await labels([ev]), ["COM_SuspiciousChild"]);
  });

  test("§6.7 sort - _time truncates to 10,000 rows", async () => {
    const list = Array.from({ length: 10010 }, (_v, i) =>
      sysmon1(new Date(Date.UTC(2020, 9, 8) + i * 1000).toISOString(), {
        Image: "C:\\x\\dcomcnfg.exe",
        CommandLine: String(i),
      }),
    );
    const rows = await run(SEED, list);
    assert.equal(rows.length, 10000);
    assert.equal(rows[0].fields.get("CommandLine"), "10009");
    assert.equal(rows[9999].fields.get("CommandLine"), "10");
  });

  test("§6.8 modern sourcetype naming (XmlWinEventLog) returns nothing", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", { Image: "C:\\x\\dcomcnfg.exe" });
    const c = compileSearch(SEED, { fieldView: { ...view, sourcetypeStyle: "modern" } });
    assert.equal(c.pushdown?.(ev.system, ev.timeTicks), false);
    assert.equal((await run(SEED, [ev], { fieldView: { ...view, sourcetypeStyle: "modern" } })).length, 0);
  });

  test("§6.9 host is the field view's host, not necessarily Computer", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", { Image: "C:\\x\\dcomcnfg.exe" }, "ws01.corp.local");
    const rows = await runStrings(SEED, [ev], ["host"], {
      fieldView: { ...view, host: { from: "computer-short" } },
    });
    assert.deepEqual(rows, [{ host: "ws01" }]);
  });

  test("§6.10 values are shown as extracted: entities kept when decodeEntities=false, trailing spaces kept", async () => {
    const ev = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\dcomcnfg.exe",
      CommandLine: "a & b",
      ParentCommandLine: '"C:\\Windows\\system32\\cmd.exe" ',
    });
    const rows = await runStrings(SEED, [ev], ["CommandLine", "ParentCommandLine"], {
      fieldView: { ...view, decodeEntities: false },
    });
    assert.deepEqual(rows, [
      { CommandLine: "a &amp; b", ParentCommandLine: '"C:\\Windows\\system32\\cmd.exe" ' },
    ]);
  });

  test('§6.12 "*\\\\mmc.exe" is the pattern *\\mmc.exe: C:\\x\\notmmc.exe does not match', async () => {
    const ok = sysmon1("2020-10-08T11:00:00Z", {
      ParentImage: "C:\\Windows\\System32\\mmc.exe",
      Image: "C:\\Windows\\System32\\cmd.exe",
    });
    const not = sysmon1("2020-10-08T11:00:01Z", {
      ParentImage: "C:\\x\\notmmc.exe",
      Image: "C:\\Windows\\System32\\cmd.exe",
    });
    assert.deepEqual(await labels([ok, not]), ["COM_SuspiciousChild"]);
  });

  test('§6.13 EventCode is a string equality on "1" (11 does not match)', async () => {
    const ev = winEvent({
      eventID: "11",
      time: "2020-10-08T11:00:00Z",
      data: { Image: "C:\\x\\dcomcnfg.exe" },
    });
    assert.equal((await run(SEED, [ev])).length, 0);
  });

  test("§6.14 ties on _time keep search order; output is newest first", async () => {
    const a = sysmon1("2020-10-08T11:00:00Z", { Image: "C:\\x\\dcomcnfg.exe", CommandLine: "first-in-file" });
    const b = sysmon1("2020-10-08T11:00:00Z", {
      Image: "C:\\x\\dcomcnfg.exe",
      CommandLine: "second-in-file",
    });
    const c = sysmon1("2020-10-08T12:00:00Z", { Image: "C:\\x\\dcomcnfg.exe", CommandLine: "newest" });
    const rows = await run(SEED, [a, b, c]);
    assert.deepEqual(
      rows.map((r) => r.fields.get("CommandLine")),
      ["newest", "first-in-file", "second-in-file"],
    );
  });

  test("the seed table: columns, _time as table and export text", async () => {
    const ev = sysmon1("2020-10-08T11:03:46.6179203Z", {
      ParentImage: "C:\\Windows\\System32\\mmc.exe",
      Image: "C:\\Windows\\System32\\cmd.exe",
      User: "CORP\\admin",
      CommandLine: "cmd.exe /c whoami",
      ParentCommandLine: "mmc.exe -Embedding",
    });
    const c = compileSearch(SEED, { fieldView: view });
    assert.deepEqual(c.columns(), [
      "_time",
      "host",
      "User",
      "Image",
      "CommandLine",
      "ParentImage",
      "ParentCommandLine",
      "DetectionPattern",
    ]);
    assert.deepEqual(await runStrings(SEED, [ev]), [
      {
        _time: "2020-10-08T11:03:46.617+00:00",
        host: "ws01.corp.local",
        User: "CORP\\admin",
        Image: "C:\\Windows\\System32\\cmd.exe",
        CommandLine: "cmd.exe /c whoami",
        ParentImage: "C:\\Windows\\System32\\mmc.exe",
        ParentCommandLine: "mmc.exe -Embedding",
        DetectionPattern: "COM_SuspiciousChild",
      },
    ]);
  });

  test("the seed query streams: no search-order buffer is planned (sort breaks ties in search order)", () => {
    const c = compileSearch(SEED, { fieldView: view });
    assert.deepEqual(c.plan, ["search", "eval", "table", "sort"]);
  });
});
