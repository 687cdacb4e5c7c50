/** Planner: push-down predicates (exact or conservative) and search-order buffering. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { toSplunkEvent } from "../../src/events/fields.js";
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
    assert.equal(compileSearch("Image=*cmd.exe", { fieldView: view }).pushdown, undefined);
    // An OR with a non-pushable branch cannot be pushed.
    assert.equal(compileSearch("EventCode=1 OR Image=x", { fieldView: view }).pushdown, undefined);
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
