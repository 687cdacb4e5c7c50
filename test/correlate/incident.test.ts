/**
 * The incident model (src/correlate/incident.ts, objects.ts): objects named from CLSIDs, AppIDs, ProgIDs,
 * images and methods; outcome and observed_on; the two ends of one attempt join and re-merging changes
 * nothing; helpers are not payloads; the severity table.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import type { Alert, EvidenceItem } from "../../src/correlate/alert.js";
import { describeIncident, sameAttempt, severityFor } from "../../src/correlate/incident.js";
import { alertToJson, createAlertMerger, runSequenceRules } from "../../src/correlate/index.js";
import { OBJECT_NAMES, objectOfGuid, objectsInText } from "../../src/correlate/objects.js";
import { emulate } from "../../src/emulate/index.js";
import { defaultFieldViewOptions, toSplunkEvent } from "../../src/events/fields.js";
import { dcomRulesDir, loadDcomPack, splContext } from "./corpus-helpers.js";

const pack = loadDcomPack();

function item(
  code: string,
  side: "target" | "source",
  fields: Record<string, string>,
  time = "2024-01-01T00:00:00.000Z",
  record = "1",
): EvidenceItem {
  return {
    _file: "x.evtx",
    _record_id: record,
    _channel: fields.Channel ?? "",
    _computer: fields.Computer ?? "",
    _time: time,
    EventCode: code,
    summary: `EventCode ${code}`,
    side,
    fields,
  };
}

function alert(over: Partial<Alert>, evidence: EvidenceItem[]): Alert {
  return {
    ruleId: "r",
    rule: "r",
    variant: "Source-Side",
    severity: "high",
    confidence: "medium",
    target_host: "",
    source_ip: "",
    source_host: "",
    account: "",
    loopback: false,
    first_time: 1_704_067_200,
    last_time: 1_704_067_200,
    evidence,
    explain: [],
    severity_by: "outcome",
    ...over,
  };
}

async function scenarioAlerts(name: string, merge: boolean): Promise<Alert[]> {
  const events = emulate([name]).map((e) => toSplunkEvent(e, defaultFieldViewOptions));
  return (await runSequenceRules(pack, events, splContext, { mergeAcrossRules: merge })).alerts;
}

describe("object table", () => {
  test("every CLSID/AppID the dcom rules list names an object of the table", () => {
    for (const f of readdirSync(dcomRulesDir).filter((n) => n.endsWith(".yml"))) {
      const text = readFileSync(path.join(dcomRulesDir, f), "utf8");
      for (const m of text.matchAll(/\{([0-9A-Fa-f]{8}-[0-9A-Fa-f-]{27})\}/g))
        assert.ok(objectOfGuid(m[1]), `${f}: {${m[1]}} is not in src/correlate/objects.ts`);
    }
  });

  test("requests name their object, the explicit choice winning over a listing", () => {
    const names = (t: string) => objectsInText(t).map((c) => `${c.object}:${c.strength}`);
    assert.deepEqual(names(`[Type]::GetTypeFromProgID("MMC20.Application.1", "SRV-X")`), [
      "MMC20:2",
      "MMC20:1",
    ]);
    assert.deepEqual(names("GetTypeFromCLSID('9ba05972-f6a8-11cf-a442-00a0c90a8f39','h')"), [
      "ShellWindows:2",
      "ShellWindows:1",
    ]);
    assert.ok(
      names("Invoke-DCOM -ComputerName h -Method ShellBrowserWindow").includes("ShellBrowserWindow:3"),
    );
    assert.ok(
      names('ParameterBinding(Invoke-DCOM): name="Method"; value="ExcelDDE"').includes("Excel-DDE:3"),
    );
    assert.ok(
      names(
        `$e=[activator]::CreateInstance([type]::GetTypeFromProgID('Excel.Application','h')); $e.ExecuteExcel4Macro('x')`,
      ).includes("Excel-Macro:2"),
    );
    assert.ok(names("MoveExcelXLL.exe 10.1.1.1 c:\\x.xll").includes("Excel-XLL:2"));
    assert.deepEqual(names("Get-Process"), []);
    for (const c of objectsInText('CreateObject("Outlook.Application", h)'))
      assert.ok(OBJECT_NAMES.includes(c.object));
  });
});

describe("describeIncident", () => {
  test("a source-only GetTypeFromProgID request is MMC20 requested (source), not 'Source-Side'", () => {
    const a = describeIncident(
      alert({ target_host: "SRV-X" }, [
        item("4104", "source", {
          ScriptBlockText: `$c=[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application.1","SRV-X"))`,
        }),
      ]),
    );
    assert.deepEqual(
      [a.object, a.variant, a.outcome, a.observed_on, a.severity, a.confidence],
      ["MMC20", "MMC20", "requested", "source", "high", "medium"],
    );
  });

  test("denials name the objects of their CLSIDs; an unknown CLSID gives unknown with the CLSID", () => {
    const denied = (clsid: string, record: string) =>
      item("10016", "target", { param2: "Remote", param4: clsid, param5: "Unavailable" }, undefined, record);
    const burst = describeIncident(
      alert({ variant: "Failed-Attempt" }, [
        denied("{C08AFD90-F2A1-11D1-8455-00A0C91F3880}", "1"),
        denied("{49b2791a-b1ae-4c90-9b8e-e860ba07f889}", "2"),
      ]),
    );
    assert.deepEqual(
      [burst.object, burst.objects, burst.outcome],
      ["ShellBrowserWindow", ["ShellBrowserWindow", "MMC20"], "denied"],
    );
    assert.deepEqual([burst.severity, burst.confidence], ["medium", "high"]);
    const odd = describeIncident(
      alert({ variant: "Failed-Attempt" }, [denied("{11111111-2222-3333-4444-555555555555}", "3")]),
    );
    assert.deepEqual([odd.object, odd.clsid], ["unknown", ["{11111111-2222-3333-4444-555555555555}"]]);
  });

  test("idempotent: describing a described alert changes nothing", async () => {
    for (const name of ["remote-mmc20", "remote-denied-burst", "source-side", "remote-excel-macro"]) {
      for (const a of await scenarioAlerts(name, true)) assert.deepEqual(describeIncident(a), a, name);
    }
  });

  test("alert rows without the events' fields (json from another engine) still name object and outcome", async () => {
    for (const [name, generic] of [
      ["remote-denied-burst", "Failed-Attempt"],
      ["source-side", "Source-Side"],
    ] as const) {
      const [a] = await scenarioAlerts(name, true);
      const row = alertToJson(a) as { evidence: (Omit<EvidenceItem, "helper"> & { helper?: string })[] };
      const fromRow = describeIncident({
        ...a,
        variant: generic,
        outcome: undefined,
        evidence: row.evidence.map((e) => ({ ...e, helper: e.helper === "true" })),
      });
      assert.deepEqual(
        [fromRow.object, fromRow.objects, fromRow.outcome, fromRow.observed_on],
        [a.object, a.objects, a.outcome, a.observed_on],
        name,
      );
    }
  });

  test("a helper child of the server stays in the evidence, marked, and is no payload", async () => {
    const [a] = await scenarioAlerts("remote-excel-macro", true);
    const helpers = a.evidence.filter((e) => e.helper);
    assert.ok(helpers.length >= 1, "the AppV surrogate is evidence");
    for (const h of helpers) assert.match(h.summary, /AppVDllSurrogate64\.exe.*helper of the server/);
    assert.deepEqual([a.object, a.outcome, a.severity], ["Excel-Macro", "activated", "high"]);
  });

  test("severity follows outcome and observation (README table)", () => {
    const row = (o: Parameters<typeof severityFor>[0], on: Parameters<typeof severityFor>[1], lb = false) => {
      const s = severityFor(o, on, lb);
      return `${s.severity}/${s.confidence}`;
    };
    assert.equal(row("executed", "both"), "critical/high");
    assert.equal(row("activated", "target"), "high/high");
    assert.equal(row("denied", "target"), "medium/high");
    assert.equal(row("blocked", "target"), "low/low");
    assert.equal(row("blocked", "both"), "medium/medium");
    assert.equal(row("unreachable", "source"), "medium/medium");
    assert.equal(row("requested", "source"), "high/medium");
    assert.equal(row("executed", "both", true), "medium/medium");
  });
});

describe("one incident per attempt", () => {
  test("the caller's and the target's alerts of a denied attempt join, in either order, and re-merging changes nothing", async () => {
    const parts = await scenarioAlerts("remote-denied", false);
    assert.equal(parts.length, 2, "a source-side and a target-side alert before merging");
    assert.ok(sameAttempt(parts[0], parts[1], 120));
    const mergeAll = (list: Alert[]) => {
      const m = createAlertMerger(pack);
      for (const a of list) m.add([a]);
      return m.flush();
    };
    const ab = mergeAll(parts);
    const ba = mergeAll([...parts].reverse());
    assert.equal(ab.length, 1);
    assert.deepEqual(ab[0].evidence, ba[0].evidence);
    assert.deepEqual(
      [ab[0].object, ab[0].outcome, ab[0].observed_on, ab[0].source_host, ab[0].account],
      ["MMC20", "denied", "both", "WKS01.corp.example", "CORP\\bob"],
    );
    const again = mergeAll([ab[0], ...parts]);
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].evidence, ab[0].evidence);
    assert.deepEqual(
      [again[0].object, again[0].outcome, again[0].severity],
      [ab[0].object, ab[0].outcome, ab[0].severity],
    );
  });

  test("not the same attempt: another target, another user, too far apart, or loopback", async () => {
    const [src, tgt] = (await scenarioAlerts("remote-denied", false)).sort((x, y) =>
      (x.observed_on ?? "") < (y.observed_on ?? "") ? -1 : 1,
    );
    assert.equal(src.observed_on, "source");
    assert.equal(tgt.observed_on, "target");
    assert.ok(sameAttempt(src, tgt, 120));
    assert.ok(!sameAttempt({ ...src, target_host: "SRV-FILE03" }, tgt, 120));
    assert.ok(!sameAttempt(src, { ...tgt, account: "CORP\\mallory" }, 120));
    assert.ok(!sameAttempt(src, { ...tgt, source_ip: "10.9.9.9" }, 120));
    assert.ok(
      !sameAttempt(src, { ...tgt, first_time: tgt.first_time + 600, last_time: tgt.last_time + 600 }, 120),
    );
    assert.ok(!sameAttempt({ ...src, loopback: true }, tgt, 120));
    assert.ok(!sameAttempt(tgt, tgt, 120), "two target-side alerts are not two ends");
  });
});

describe("caller without Sysmon", () => {
  test("its request and its 10028 are one incident; without an address of its own it cannot meet the target's block", async () => {
    const events = emulate(["remote-blocked"])
      .filter((e) => !(e.system.computer?.startsWith("WKS01") && e.system.channel?.includes("Sysmon")))
      .map((e) => toSplunkEvent(e, defaultFieldViewOptions));
    const { alerts } = await runSequenceRules(pack, events, splContext);
    assert.deepEqual(
      alerts.map((a) => `${a.object} ${a.outcome} (${a.observed_on})`).sort(),
      // a dropped connection to TCP 135 does not say which object was asked for
      ["MMC20 unreachable (source)", "unknown blocked (target)"],
    );
  });
});
