/**
 * The EVTX push-down's EventData lookup (readers/evtx/pushdown.ts): on every record of the corpus,
 * each answer it gives before the event is built agrees with the field view of the built event
 * (a string: that field's one value; null: no such field), and it answers for most records.
 * Plus the scan through the push-down keeps the same records as the full search.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { defaultFieldViewOptions, NON_DATA_FIELDS, toSplunkEvent } from "../../../src/events/fields.js";
import { InputError, type SystemPredicate, type WinEvent } from "../../../src/events/model.js";
import { crc32 } from "../../../src/readers/evtx/crc32.js";
import { EvtxWriter, readEvtx } from "../../../src/readers/evtx/index.js";
import { compileSearch, compileSearchExpression } from "../../../src/spl/index.js";
import { collect, corpusEvtx, corpusSkip } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

interface Probe {
  recordId: string | undefined;
  answers: Map<string, string | null | undefined>;
}

describe("EVTX push-down: EventData lookup", { skip: corpusSkip }, () => {
  test("every definite answer matches the built event's fields, on the whole corpus", async () => {
    let records = 0;
    let definite = 0;
    let unknownRecords = 0;
    for (const file of corpusEvtx()) {
      const events: WinEvent[] = [];
      for await (const ev of readEvtx(file)) events.push(ev);
      const views = events.map((ev) => toSplunkEvent(ev, defaultFieldViewOptions).fields);
      const names = new Set<string>(["NoSuchField", "Image"]);
      for (const ev of events)
        for (const d of ev.eventData) if (d.name && !NON_DATA_FIELDS.has(d.name)) names.add(d.name);
      const probes: Probe[] = [];
      const filter: SystemPredicate = (s, _t, data) => {
        if (data) {
          const answers = new Map<string, string | null | undefined>();
          for (const name of names) answers.set(name, data(name));
          probes.push({ recordId: s.eventRecordID, answers });
        }
        return true;
      };
      const kept: WinEvent[] = [];
      for await (const ev of readEvtx(file, { filter })) kept.push(ev);
      assert.equal(kept.length, events.length, `${path.basename(file)}: a keep-all filter keeps all`);
      // Probes come in record order, for the records whose template the push-down could read.
      let at = 0;
      for (const probe of probes) {
        while (at < events.length && events[at].system.eventRecordID !== probe.recordId) at++;
        assert.ok(at < events.length, `${path.basename(file)}: record ${probe.recordId} not found`);
        const fields = views[at];
        records++;
        let any = false;
        for (const [name, answer] of probe.answers) {
          if (answer === undefined) continue;
          any = true;
          definite++;
          const where = `${path.basename(file)} record ${probe.recordId} field ${name}`;
          if (answer === null) assert.equal(fields.get(name), undefined, where);
          else assert.equal(fields.get(name), answer, where);
        }
        if (!any) unknownRecords++;
        at++;
      }
    }
    assert.ok(records > 1000, `records probed: ${records}`);
    assert.ok(definite > records, `definite answers: ${definite}`);
    // Most corpus records (Sysmon, Security, System) have the shape the lookup reads.
    assert.ok(unknownRecords < records / 4, `records without any answer: ${unknownRecords} of ${records}`);
  });

  test("the seed search keeps the same events with and without the push-down", async () => {
    const text =
      'index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 ' +
      '((ParentImage="*\\\\mmc.exe" OR ParentImage="*\\\\excel.exe") (Image="*\\\\cmd.exe" OR Image="*\\\\powershell.exe")) ' +
      'OR Image="*\\\\dcomcnfg.exe" OR (CommandLine="*-Exec*" CommandLine="*DCOM*") OR Image="*\\\\svchost.exe"';
    const ctx = { fieldView: defaultFieldViewOptions };
    const filter = compileSearch(text, ctx).pushdown;
    const matches = compileSearchExpression(text, ctx);
    assert.ok(filter);
    let skipped = 0;
    let matched = 0;
    for (const file of corpusEvtx()) {
      const all: WinEvent[] = [];
      for await (const ev of readEvtx(file)) all.push(ev);
      const kept: WinEvent[] = [];
      for await (const ev of readEvtx(file, { filter })) kept.push(ev);
      // The full search's matches are all among the kept events.
      const matchIds = (evs: typeof all) =>
        evs
          .filter((ev) => matches(toSplunkEvent(ev, defaultFieldViewOptions)))
          .map((ev) => ev.provenance.offset);
      const want = matchIds(all);
      assert.deepEqual(matchIds(kept), want, path.basename(file));
      matched += want.length;
      skipped += all.length - kept.length;
    }
    assert.ok(skipped > 1000, `records skipped by the push-down: ${skipped}`);
    assert.ok(matched > 10, `records the search matches: ${matched}`);
  });
});

describe("EVTX push-down: records CRC", () => {
  // Chunk 1 of a file we write gets a wrong records CRC (under a valid header CRC).
  const w = new EvtxWriter();
  for (const ev of sysmonMix(1200)) w.add(ev);
  const bytes = Buffer.from(w.finish());
  const chunk = bytes.subarray(4096 + 65536, 4096 + 2 * 65536);
  chunk.writeUInt32LE(0x12345678, 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 512, crc32(chunk, 0, 120)), 124);
  const bad = (issues: { reason: string }[]) => issues.filter((i) => /records CRC32/.test(i.reason)).length;

  test("checked when the chunk delivers records, not when the push-down skips them all", async () => {
    const none: SystemPredicate = () => false;
    const some: SystemPredicate = (s) => s.eventID === "1";
    const skipped = await collect(bytes, { filter: none });
    assert.equal(skipped.events.length, 0);
    assert.equal(bad(skipped.issues), 0);
    const kept = await collect(bytes, { filter: some });
    assert.ok(kept.events.length > 0);
    assert.equal(bad(kept.issues), 1);
    assert.equal(bad((await collect(bytes)).issues), 1);
  });

  test("--strict checks every chunk, filtered or not", async () => {
    await assert.rejects(collect(bytes, { filter: () => false, strict: true }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /records CRC32/);
      return true;
    });
  });
});
