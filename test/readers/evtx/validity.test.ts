/**
 * Record validity in a chunk whose header cannot be trusted (no CRCs): stale records in the slack past
 * the free-space offset and records whose ids fall outside the header's first..last id range (a torn
 * chunk) are not live records and are left out; garbage in the slack is not counted as lost records.
 * Files made with the project's EVTX writer, then reshaped as such chunks are found in the field.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { emulate } from "../../../src/emulate/index.js";
import { writeEvtxFile } from "../../../src/readers/evtx/writer.js";
import { newInputStats, readInputs } from "../../../src/readers/index.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-evtx-validity-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function ids(file: string): Promise<{ ids: number[]; skipped: number }> {
  const stats = newInputStats();
  const out: number[] = [];
  for await (const ev of readInputs([file], { stats })) out.push(Number(ev.system.eventRecordID));
  return { ids: out, skipped: stats.skipped };
}

/** Record offsets and ids of the first chunk (records start at 512 inside the chunk). */
function records(chunk: Buffer): { at: number; id: bigint }[] {
  const out: { at: number; id: bigint }[] = [];
  const free = chunk.readUInt32LE(48);
  for (let p = 512; p + 24 <= free; p += chunk.readUInt32LE(p + 4))
    out.push({ at: p, id: chunk.readBigUInt64LE(p + 8) });
  return out;
}

test("stale slack records and torn ids are left out of a chunk without CRCs", async () => {
  const file = path.join(tmp, "base.evtx");
  await writeEvtxFile(file, emulate(["remote-mmc20"], { noise: 10 }).slice(0, 30));
  const bytes = readFileSync(file);
  const chunk = bytes.subarray(4096, 4096 + 65536);
  // One channel's ids run in sequence: number the records 1000, 1001, ... as Windows would.
  for (const [i, r] of records(chunk).entries()) chunk.writeBigUInt64LE(1000n + BigInt(i), r.at + 8);
  writeFileSync(file, bytes);
  const recs = records(chunk);
  assert.ok(recs.length >= 20, `${recs.length} records in the chunk`);
  const before = await ids(file);
  assert.equal(before.ids.length, recs.length);

  // No CRCs (as some writers leave them), the last 5 records become slack (free space moved back),
  // and the header's id range stops 3 records short of the live ones (their ids are torn).
  const live = recs.length - 5;
  chunk.writeUInt32LE(0, 52); // event records CRC
  chunk.writeUInt32LE(0, 124); // header CRC
  chunk.writeUInt32LE(recs[live].at, 48); // free space offset
  chunk.writeBigUInt64LE(recs[0].id, 24);
  chunk.writeBigUInt64LE(recs[live - 4].id, 32);
  const shaped = path.join(tmp, "shaped.evtx");
  writeFileSync(shaped, bytes);
  const after = await ids(shaped);
  // The live records the header vouches for, in order (the events' own EventRecordIDs).
  assert.deepEqual(after.ids, before.ids.slice(0, live - 3));
  assert.equal(after.skipped, 0);
});
