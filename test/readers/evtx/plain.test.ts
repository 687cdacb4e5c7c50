/**
 * Records stored as plain BinXML without a template instance - how Windows Event Collector stores
 * forwarded events (ForwardedEvents, WEC subscriptions): the element tree sits directly in the record,
 * values are text, and element start tokens carry no dependency id (only a template definition's
 * elements do). Files of that shape from the project's writer (`plain: true`), and the evtx crate's
 * sample MSExchange_Management_wec.evtx from the corpus.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { emulate } from "../../../src/emulate/index.js";
import type { WinEvent } from "../../../src/events/model.js";
import { EvtxWriter } from "../../../src/readers/evtx/index.js";
import { CORPUS, collect, collectXml, corpusSkip, streamOf, withoutProvenance } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

function write(events: Iterable<WinEvent>, plain: boolean): Buffer {
  const w = new EvtxWriter({ plain });
  for (const ev of events) w.add(ev);
  return Buffer.from(w.finish());
}

describe("plain BinXML records (forwarded events)", () => {
  test("the writer's plain records read back as the same events as its templated ones", async () => {
    const events = [...sysmonMix(600), ...emulate(["remote-mmc20"], { noise: 20 })];
    const plain = write(events, true);
    const templated = write(events, false);
    // No template instance token (0x0c) right after any record's fragment header.
    for (let c = 4096; c + 65536 <= plain.length; c += 65536) {
      const chunk = plain.subarray(c, c + 65536);
      for (let p = 512; p < chunk.readUInt32LE(48); p += chunk.readUInt32LE(p + 4)) {
        assert.equal(chunk[p + 24], 0x0f);
        assert.equal(chunk[p + 28] & 0xbf, 0x01, "an element start token directly in the record");
      }
    }
    assert.ok(plain.length > 4096 + 65536, "several chunks");
    const a = await collect(plain);
    const b = await collect(templated);
    assert.deepEqual(a.issues, []);
    assert.equal(a.events.length, events.length);
    assert.deepEqual(withoutProvenance(a.events), withoutProvenance(b.events));
    // The XML fast path and a stream give the same records.
    const x = await collectXml(streamOf(plain));
    const y = await collectXml(templated);
    assert.deepEqual(
      x.records.map((r) => r.xml),
      y.records.map((r) => r.xml),
    );
  });

  test("MSExchange_Management_wec.evtx (evtx crate sample): the forwarded record is read", {
    skip: corpusSkip,
  }, async () => {
    const file = path.join(CORPUS, "evtx-edge", "MSExchange_Management_wec.evtx");
    const { events, issues } = await collect(file);
    assert.deepEqual(
      issues.filter((i) => i.lost !== "none"),
      [],
    );
    assert.ok(events.length >= 1);
    const ev = events[0];
    // What the evtx crate's tests read from its first record.
    assert.equal(ev.system.providerName, "MSExchange CmdletLogs");
    assert.equal(ev.system.eventID, "1");
    assert.equal(ev.system.qualifiers, "16384");
    assert.equal(ev.system.level, "4");
    assert.equal(ev.system.task, "1");
    assert.equal(ev.system.keywords, "0x80000000000000");
    assert.match(ev.system.systemTime ?? "", /^2021-11-19T16:52:33\.8337335/);
    assert.equal(ev.system.eventRecordID, "3229");
    assert.equal(ev.system.channel, "MSExchange Management");
    assert.equal(ev.system.computer, "WEC.ave.local");
    assert.equal(ev.eventData[0].name, undefined);
    assert.equal(ev.eventData[0].value, "Set-Mailbox");
    assert.match(ev.eventData[1].value, /^-Identity "Administrateur"/);
  });
});
