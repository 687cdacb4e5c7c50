/** Planner: push-down predicates (exact or conservative) and search-order buffering. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { NON_DATA_FIELDS, toSplunkEvent } from "../../src/events/fields.js";
import { compileSearch, compileSearchExpression } from "../../src/spl/index.js";
import { events, SYSMON, view, winEvent } from "./helpers.js";

const NOW = Date.parse("2020-10-09T00:00:00Z") / 1000;

describe("push-down", () => {
  test("the seed's index/sourcetype/EventCode conditions reject other records before EventData", () => {
    const c = compileSearch(
      'index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 (Image=*x OR CommandLine=*y)',
      {
        fieldView: view,
      },
    );
    const p = c.pushdown;
    assert.ok(p);
    assert.equal(p({ eventID: "1", channel: SYSMON }, undefined), true);
    assert.equal(p({ eventID: "3", channel: SYSMON }, undefined), false);
    assert.equal(p({ eventID: "4688", channel: "Security" }, undefined), false);
    assert.equal(p({ eventID: "1", channel: "Security" }, undefined), false);
    // Unknown (not yet decoded) fields keep the record.
    assert.equal(p({ eventID: "1" }, undefined), true);
  });

  test("host, Computer, Channel, source, IN, OR-groups and time are pushed; other fields are not", () => {
    const p = (spl: string) => {
      const f = compileSearch(spl, {
        fieldView: { ...view, host: { from: "computer-short" } },
        now: NOW,
      }).pushdown;
      assert.ok(f, spl);
      return f;
    };
    assert.equal(p("host=ws01")({ eventID: "1", computer: "WS01.corp.local" }, undefined), true);
    assert.equal(p("host=ws02")({ eventID: "1", computer: "ws01.corp.local" }, undefined), false);
    assert.equal(p("Computer=*.corp.local")({ eventID: "1", computer: "ws01.corp.local" }, undefined), true);
    assert.equal(p("Channel=Security OR EventCode=1")({ eventID: "1", channel: "System" }, undefined), true);
    assert.equal(p("Channel=Security OR EventCode=1")({ eventID: "7", channel: "System" }, undefined), false);
    assert.equal(p("EventCode IN (1, 3)")({ eventID: "3" }, undefined), true);
    assert.equal(p('source="WinEventLog:Security"')({ eventID: "1", channel: "Security" }, undefined), true);
    const t = p("earliest=-1h");
    assert.equal(
      t({ eventID: "1" }, 132467616000000000n + BigInt(NOW - 7200) * 10000000n - 11644473600n * 10000000n),
      false,
    );
    assert.equal(t({ eventID: "1" }, undefined), true);
    // Fields that are not System/metadata/alias names are pushed as EventData lookups (below).
    assert.equal(compileSearch("process_name=cmd.exe", { fieldView: view }).pushdown, undefined);
    // An OR with a non-pushable branch cannot be pushed.
    assert.equal(compileSearch("EventCode=1 OR process_name=x", { fieldView: view }).pushdown, undefined);
    assert.equal(compileSearch("EventCode=1 OR cmd.exe", { fieldView: view }).pushdown, undefined);
  });

  test("EventData fields are pushed through the reader's lookup: unknown keeps, absent drops", () => {
    const c = (spl: string, decodeEntities = true) => {
      const f = compileSearch(spl, { fieldView: { ...view, decodeEntities } }).pushdown;
      assert.ok(f, spl);
      return f;
    };
    const lookup =
      (values: Record<string, string | null>) =>
      (name: string): string | null | undefined =>
        name in values ? values[name] : undefined;
    const p = c('EventCode=1 (Image="*\\cmd.exe" OR CommandLine="*dcom*")');
    // No lookup (other readers) or an unknown answer: kept.
    assert.equal(p({ eventID: "1" }, undefined), true);
    assert.equal(p({ eventID: "1" }, undefined, lookup({})), true);
    assert.equal(p({ eventID: "1" }, undefined, lookup({ Image: "C:\\Windows\\CMD.EXE" })), true);
    assert.equal(
      p({ eventID: "1" }, undefined, lookup({ Image: "C:\\x\\notepad.exe", CommandLine: null })),
      false,
    );
    assert.equal(p({ eventID: "1" }, undefined, lookup({ Image: null, CommandLine: "x -DCOM y" })), true);
    // An absent field never matches, with = or with !=; an empty value is a value.
    const ne = c("EventCode=1 Image!=*cmd.exe");
    assert.equal(ne({ eventID: "1" }, undefined, lookup({ Image: null })), false);
    assert.equal(ne({ eventID: "1" }, undefined, lookup({ Image: "" })), true);
    assert.equal(ne({ eventID: "1" }, undefined, lookup({ Image: "a\\cmd.exe" })), false);
    // Values are the lookup's raw text: with decodeEntities off the view re-escapes them first.
    const amp = c('CommandLine="*a&amp;b*"', false);
    assert.equal(amp({ eventID: "1" }, undefined, lookup({ CommandLine: "x a&b" })), true);
    assert.equal(
      c('CommandLine="*a&amp;b*"')({ eventID: "1" }, undefined, lookup({ CommandLine: "x a&b" })),
      false,
    );
  });

  test("every field name the view gives from outside EventData is listed as such", () => {
    // A Sysmon 1 and a Security 4688 event with every System field: the view's names that do not
    // come from a Data item must be in NON_DATA_FIELDS (else the push-down could misread them).
    const system = {
      eventID: "1",
      providerName: "Microsoft-Windows-Sysmon",
      providerGuid: "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
      qualifiers: "0",
      version: "5",
      level: "4",
      task: "1",
      opcode: "0",
      keywords: "0x8000000000000000",
      systemTime: "2020-10-08T10:00:00.000Z",
      eventRecordID: "7",
      activityID: "{a}",
      relatedActivityID: "{b}",
      processID: "1",
      threadID: "2",
      channel: SYSMON,
      computer: "ws01",
      userID: "S-1-5-18",
    };
    const data = [
      "Image",
      "ParentImage",
      "CommandLine",
      "ParentCommandLine",
      "ProcessId",
      "ProcessGuid",
      "Hashes",
      "IntegrityLevel",
      "CurrentDirectory",
      "ParentProcessId",
      "ParentProcessGuid",
      "User",
      "NewProcessName",
      "ParentProcessName",
      "NewProcessId",
      "TargetUserName",
      "SubjectUserName",
    ].map((name) => ({ name, value: "C:\\x\\y.exe" }));
    for (const sys of [
      system,
      { ...system, eventID: "4688", providerName: "Microsoft-Windows-Security-Auditing" },
    ]) {
      const fields = toSplunkEvent(
        { system: sys, eventData: data, provenance: { file: "x", format: "evtx" } },
        view,
      ).fields;
      const dataNames = new Set(data.map((d) => d.name));
      for (const name of fields.keys())
        if (!dataNames.has(name)) assert.ok(NON_DATA_FIELDS.has(name), `${name} is not listed`);
    }
  });

  test("property: push-down never drops a record the full search keeps", async () => {
    const fieldArb = fc.constantFrom(
      "EventCode",
      "Channel",
      "host",
      "Computer",
      "sourcetype",
      "source",
      "index",
      "Image",
    );
    const valueArb = fc.constantFrom(
      "1",
      "3",
      "4688",
      "Security",
      SYSMON,
      "ws01*",
      "*corp*",
      "wineventlog",
      "XmlWinEventLog:*",
      "*cmd.exe",
      "*",
    );
    const termArb = fc
      .record({ f: fieldArb, op: fc.constantFrom("=", "!="), v: valueArb, not: fc.boolean() })
      .map(({ f, op, v, not }) => `${not ? "NOT " : ""}${f}${op}"${v}"`);
    const searchArb = fc
      .array(
        fc.array(termArb, { minLength: 1, maxLength: 3 }).map((ts) => `(${ts.join(" OR ")})`),
        { minLength: 1, maxLength: 3 },
      )
      .map((g) => g.join(" "));
    const eventArb = fc.record({
      eventID: fc.constantFrom("1", "3", "4688"),
      channel: fc.constantFrom("Security", SYSMON, ""),
      computer: fc.constantFrom("ws01.corp.local", "WS02", "dc.other.net"),
      image: fc.constantFrom("C:\\cmd.exe", "C:\\x.exe"),
      style: fc.constantFrom("legacy" as const, "modern" as const),
    });
    await fc.assert(
      fc.asyncProperty(searchArb, eventArb, async (spl, e) => {
        const fieldView = { ...view, sourcetypeStyle: e.style };
        const ev = winEvent({
          eventID: e.eventID,
          channel: e.channel,
          time: "2020-10-08T11:00:00Z",
          computer: e.computer,
          data: { Image: e.image },
        });
        const kept = compileSearchExpression(spl, { fieldView })(toSplunkEvent(ev, fieldView));
        const pushdown = compileSearch(spl, { fieldView }).pushdown;
        if (kept) assert.equal(pushdown ? pushdown(ev.system, ev.timeTicks) : true, true, spl);
      }),
      { numRuns: 1500 },
    );
  });
});

describe("search order", () => {
  const list = Array.from({ length: 50 }, (_v, i) =>
    winEvent({
      eventID: "1",
      time: new Date(Date.UTC(2020, 9, 8) + i * 60000).toISOString(),
      data: { id: String(i) },
    }),
  );

  test("order-dependent commands get a newest-first buffer; head keeps only N", () => {
    assert.deepEqual(compileSearch("* | head 5", { fieldView: view }).plan, [
      "search",
      "[buffer: newest first, keep 5]",
      "head",
    ]);
    assert.deepEqual(compileSearch("* | eval a=1 | dedup a", { fieldView: view }).plan, [
      "search",
      "eval",
      "[buffer: newest first]",
      "dedup",
    ]);
    assert.deepEqual(compileSearch("* | stats count by a", { fieldView: view }).plan, ["search", "stats"]);
    assert.deepEqual(compileSearch("* | stats first(a) by b", { fieldView: view }).plan, [
      "search",
      "[buffer: newest first]",
      "stats",
    ]);
    assert.deepEqual(compileSearch("* | head 5", { fieldView: view, inputOrder: "newest-first" }).plan, [
      "search",
      "head",
    ]);
  });

  test("a filter pipeline returns newest first (Splunk order), or streams in input order with order=input", async () => {
    const rows = async (ctx = {}) => {
      const out: string[] = [];
      for await (const r of compileSearch("EventCode=1 | table id", { fieldView: view, ...ctx }).run(
        events(list.slice(0, 3)),
      ))
        out.push(String(r.fields.get("id")));
      return out;
    };
    assert.deepEqual(await rows(), ["2", "1", "0"]);
    assert.deepEqual(await rows({ order: "input" }), ["0", "1", "2"]);
  });

  test("head stops reading input once it has its rows (when input is already newest first)", async () => {
    let pulled = 0;
    async function* counting() {
      for await (const e of events([...list].reverse())) {
        pulled++;
        yield e;
      }
    }
    const out = [];
    for await (const r of compileSearch("* | head 3", { fieldView: view, inputOrder: "newest-first" }).run(
      counting(),
    ))
      out.push(r.fields.get("id"));
    assert.deepEqual(out, ["49", "48", "47"]);
    assert.equal(pulled, 3);
  });
});

describe("event ownership", () => {
  test("a search that edits rows does not change the caller's events (several searches can share them)", async () => {
    const ev = toSplunkEvent(
      winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data: { Image: "a" } }),
      view,
    );
    async function* one() {
      yield ev;
    }
    for await (const _r of compileSearch("* | eval Image=upper(Image), x=1 | rename Image AS I", {
      fieldView: view,
    }).run(one())) {
      // drain
    }
    assert.equal(ev.fields.get("Image"), "a");
    assert.equal(ev.fields.has("x"), false);
  });
});
