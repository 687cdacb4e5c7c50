/**
 * Push-down filters (evaluated on System fields before anything is built) and worker threads
 * (same records, same order, as in-process).
 */

import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import type { SystemFields, SystemPredicate } from "../../../src/events/model.js";
import { EvtxWriter } from "../../../src/readers/evtx/index.js";
import { CORPUS, collect, collectXml, corpusSkip, streamOf } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

const events = [...sysmonMix(1500)];
const w = new EvtxWriter();
for (const ev of events) w.add(ev);
const bytes = Buffer.from(w.finish());

describe("push-down filter", () => {
  test("keeps exactly the records a post-filter keeps, in XML and model modes", async () => {
    const filter: SystemPredicate = (s) => s.eventID === "1" || s.eventID === "10";
    const all = await collect(bytes);
    const kept = await collect(bytes, { filter });
    const expected = all.events.filter((e) => filter(e.system, e.timeTicks));
    assert.ok(expected.length > 100 && expected.length < all.events.length / 2);
    assert.deepEqual(kept.events, expected);
    const xmlAll = await collectXml(bytes);
    const xmlKept = await collectXml(bytes, { filter });
    const keptIds = new Set(expected.map((e) => BigInt(e.system.eventRecordID!)));
    assert.deepEqual(
      xmlKept.records,
      xmlAll.records.filter((r) => keptIds.has(r.recordId)),
    );
  });

  test("the predicate sees System fields and exact ticks before the event is built", async () => {
    const seen: { fields: Partial<SystemFields>; ticks: bigint | undefined }[] = [];
    const filter: SystemPredicate = (s, ticks) => {
      seen.push({
        fields: {
          eventID: s.eventID,
          channel: s.channel,
          providerName: s.providerName,
          computer: s.computer,
          eventRecordID: s.eventRecordID,
          systemTime: s.systemTime,
        },
        ticks,
      });
      return false;
    };
    const { events: got } = await collect(bytes, { filter });
    assert.equal(got.length, 0);
    assert.equal(seen.length, events.length, "called once per record");
    for (let i = 0; i < events.length; i += 97) {
      const e = events[i].system;
      assert.deepEqual(seen[i].fields, {
        eventID: e.eventID,
        channel: e.channel,
        providerName: e.providerName,
        computer: e.computer,
        eventRecordID: e.eventRecordID,
        systemTime: e.systemTime,
      });
      assert.equal(seen[i].ticks, events[i].timeTicks);
    }
  });

  test("a time-window predicate on ticks", async () => {
    const from = events[200].timeTicks!;
    const to = events[300].timeTicks!;
    const { events: got } = await collect(bytes, {
      filter: (_s, t) => t === undefined || (t >= from && t < to),
    });
    assert.deepEqual(
      got.map((e) => e.system.eventRecordID),
      events.slice(200, 300).map((e) => e.system.eventRecordID),
    );
  });

  test("corpus: filtering Security 4624 equals filtering afterwards", { skip: corpusSkip }, async () => {
    const file = path.join(CORPUS, "benign", "security.evtx");
    const filter: SystemPredicate = (s) => s.eventID === "4624";
    const all = await collect(file);
    const kept = await collect(file, { filter });
    assert.ok(kept.events.length > 10);
    assert.deepEqual(
      kept.events,
      all.events.filter((e) => filter(e.system, e.timeTicks)),
    );
  });
});

describe("worker threads", () => {
  test("threads: 2 gives the same records in the same order as in-process (model and XML)", async () => {
    const one = await collect(streamOf(bytes, 100000));
    const two = await collect(streamOf(bytes, 100000), { threads: 2 });
    assert.deepEqual(two, one);
    const x1 = await collectXml(bytes);
    const x2 = await collectXml(bytes, { threads: 2 });
    assert.deepEqual(x2, x1);
  });

  test("threads with a filter: the predicate runs in the main thread, results match", async () => {
    const filter: SystemPredicate = (s) => s.eventID === "3";
    const one = await collect(bytes, { filter });
    const two = await collect(bytes, { filter, threads: 2 });
    assert.ok(one.events.length > 50);
    assert.deepEqual(two, one);
    const x1 = await collectXml(bytes, { filter });
    const x2 = await collectXml(bytes, { filter, threads: 2 });
    assert.deepEqual(x2, x1);
  });

  test("threads: findings are reported in file order, like in-process", async () => {
    const b = Buffer.from(bytes);
    b.fill(0, 4096 + 65536, 4096 + 2 * 65536);
    const one = await collect(b);
    const two = await collect(b, { threads: 2 });
    assert.equal(one.issues.length, 1);
    assert.deepEqual(two, one);
  });

  test("corpus system.evtx (UserData, nested BinXML) through workers", { skip: corpusSkip }, async () => {
    const file = path.join(CORPUS, "benign", "system.evtx");
    const filter: SystemPredicate = (s) => s.eventID !== "7036";
    assert.deepEqual(await collect(file, { threads: 2, filter }), await collect(file, { filter }));
  });
});
