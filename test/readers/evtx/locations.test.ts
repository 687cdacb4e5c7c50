/**
 * What EVTX issues say is true of the file: a chunk offset printed in a message lies inside the chunk
 * (the place of the field that holds a bad offset, not the bad value), and the records counted as
 * skipped for a truncated chunk never exceed what the chunk could have held.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EvtxWriter } from "../../../src/readers/evtx/index.js";
import { collect } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

function written(n: number): Buffer {
  const w = new EvtxWriter();
  for (const ev of sysmonMix(n)) w.add(ev);
  return Buffer.from(w.finish());
}

test("a bad name or template offset is reported at the field's place inside the chunk", async () => {
  const bytes = written(50);
  const rec = 4096 + 512;
  // First record: fragment header (4), template instance token (10), template definition header (24),
  // the template's fragment header (4), element token, dependency id and size (7): the name offset.
  const nameField = rec + 24 + 4 + 10 + 24 + 4 + 7;
  bytes.writeUInt32LE(0x02270000, nameField);
  // Second record: its template offset field points far past the chunk.
  const second = rec + bytes.readUInt32LE(rec + 4);
  bytes.writeUInt32LE(0x7fff0000, second + 24 + 4 + 6);
  const { issues } = await collect(bytes);
  const offsets = issues.flatMap((i) =>
    [...i.reason.matchAll(/chunk offset 0x([0-9a-f]+)/g)].map((m) => m[1]),
  );
  assert.ok(offsets.length >= 2, JSON.stringify(issues));
  for (const o of offsets) assert.ok(Number.parseInt(o, 16) < 65536, `chunk offset 0x${o} is past the chunk`);
  assert.ok(
    issues.some((i) =>
      i.reason.includes(
        `name offset 0x2270000 outside the chunk at chunk offset 0x${(nameField - 4096).toString(16)}`,
      ),
    ),
  );
  assert.ok(issues.some((i) => i.reason.includes("template offset 0x7fff0000 outside the chunk")));
});

test("a truncated chunk never counts more skipped records than the file held", async () => {
  const full = written(200);
  const total = (await collect(full)).events.length;
  for (const tamper of [false, true]) {
    const bytes = Buffer.from(full.subarray(0, 4096 + 20000));
    // A damaged header claiming 60,000 records (its CRC no longer matches).
    if (tamper) bytes.writeBigUInt64LE(bytes.readBigUInt64LE(4096 + 8) + 60000n, 4096 + 16);
    const { events, issues } = await collect(bytes);
    const skipped = issues.reduce((n, i) => n + (i.skippedRecords ?? 0), 0);
    assert.ok(events.length > 0);
    assert.ok(
      events.length + skipped <= total,
      `${events.length} read + ${skipped} skipped > ${total} (tamper ${tamper})`,
    );
    if (!tamper) assert.ok(skipped > 0, "an intact header says how many records were cut");
  }
});
