import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_START, emulate, scenarios } from "../../src/emulate/index.js";
import { eventDataValue, type WinEvent } from "../../src/events/model.js";
import { ticksFromIso } from "../../src/events/time.js";

const ALL = scenarios.map((s) => s.name);
const json = (evs: WinEvent[]) => JSON.stringify(evs, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

describe("determinism", () => {
  test("same seed and start: identical events", () => {
    assert.equal(json(emulate(ALL, { seed: 7, noise: 40 })), json(emulate(ALL, { seed: 7, noise: 40 })));
  });
  test("different seeds: different ProcessGuids, PIDs, LogonIds and times", () => {
    const a = emulate(["remote-mmc20"], { seed: 1 });
    const b = emulate(["remote-mmc20"], { seed: 2 });
    assert.equal(a.length, b.length, "same behaviour");
    const vals = (evs: WinEvent[], name: string) =>
      evs.map((e) => eventDataValue(e, name)).filter((x) => x !== undefined);
    for (const name of ["ProcessGuid", "ProcessId", "TargetLogonId", "SourcePort"])
      assert.notDeepEqual(vals(a, name), vals(b, name), name);
    assert.notDeepEqual(
      a.map((e) => e.system.systemTime),
      b.map((e) => e.system.systemTime),
    );
  });
  test("a scenario's behaviour does not depend on which others run with it (values may: hosts share state)", () => {
    const shape = (evs: WinEvent[]) =>
      evs.map((e) => `${e.system.computer} ${e.system.eventID} ${eventDataValue(e, "Image") ?? ""}`).sort();
    const alone = emulate(["remote-outlook"]);
    const withOthers = emulate(["seed-1-mmc20", "remote-mmc20", "remote-outlook"]).filter(
      (e) => e.provenance.file === "emulate:remote-outlook",
    );
    assert.deepEqual(shape(withOthers), shape(alone));
  });
});

describe("merged output", () => {
  const evs = emulate(ALL, { noise: 200 });
  test("time-ordered, starting at the default start", () => {
    for (let i = 1; i < evs.length; i++) assert.ok(evs[i - 1].timeTicks! <= evs[i].timeTicks!);
    const start = ticksFromIso(DEFAULT_START)!;
    const firstScenarioEvent = evs.find((e) => e.provenance.file !== "emulate:noise")!;
    assert.ok(firstScenarioEvent.timeTicks! >= start);
    for (const e of evs) assert.equal(ticksFromIso(e.system.systemTime!), e.timeTicks);
  });
  test("EventRecordIDs count up by one per host and channel", () => {
    const last = new Map<string, number>();
    for (const e of evs) {
      const key = `${e.system.computer}|${e.system.channel}`;
      const id = Number(e.system.eventRecordID);
      const prev = last.get(key);
      if (prev !== undefined) assert.equal(id, prev + 1, key);
      last.set(key, id);
    }
    assert.ok(last.size >= 8);
  });
  test("--noise adds exactly N events", () => {
    const without = emulate(["seed-1-mmc20"]).length;
    for (const n of [1, 2, 37]) assert.equal(emulate(["seed-1-mmc20"], { noise: n }).length, without + n);
    const noise = emulate([], { noise: 50 });
    assert.equal(noise.length, 50);
    assert.ok(noise.every((e) => e.provenance.file === "emulate:noise"));
  });
  test("realistic values: PIDs multiple of 4, ports, SIDs, LogonIds", () => {
    for (const e of evs) {
      for (const d of e.eventData) {
        if (/^(ProcessId|ParentProcessId)$/.test(d.name ?? "")) assert.equal(Number(d.value) % 4, 0, d.value);
        if (/^(NewProcessId)$/.test(d.name ?? "")) assert.equal(Number.parseInt(d.value, 16) % 4, 0, d.value);
        if (/LogonId$/.test(d.name ?? "")) assert.match(d.value, /^0x[0-9a-f]+$/);
        if (/Sid$/.test(d.name ?? "")) assert.match(d.value, /^S-1-(0-0|5-\d+|5-21-\d+-\d+-\d+-\d+|16-\d+)$/);
      }
      if (e.system.eventID === "3" && eventDataValue(e, "Initiated") === "true") {
        const sp = Number(eventDataValue(e, "SourcePort"));
        assert.ok(sp >= 49152 && sp <= 65535);
      }
    }
  });
  test("options are validated", () => {
    assert.throws(() => emulate(["no-such-scenario"]), /unknown scenario 'no-such-scenario'/);
    assert.throws(() => emulate(["seed-1-mmc20"], { start: "yesterday" }), /not an ISO timestamp/);
    const later = emulate(["seed-1-mmc20"], { start: "2025-01-01T00:00:00Z" });
    assert.ok(later[0].system.systemTime!.startsWith("2025-01-01T00:0"));
  });
});

test("multi-line values use CRLF, as Windows renders them (PrivilegeList, AccessList, ContextInfo ...)", () => {
  let multiLine = 0;
  for (const e of emulate(ALL)) {
    for (const d of e.eventData) {
      if (!d.value.includes("\n") || /CommandLine$/.test(d.name ?? "")) continue;
      multiLine++;
      assert.doesNotMatch(d.value, /(^|[^\r])\n/, `${e.system.eventID} ${d.name}`);
    }
  }
  assert.ok(multiLine > 10);
});
