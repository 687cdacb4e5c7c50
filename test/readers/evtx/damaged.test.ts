/**
 * Damaged input: every finding is reported through onIssue with its location and what was lost,
 * only what cannot be parsed is skipped (record, then chunk), nothing throws (except strict).
 * Inputs are written by our writer and then damaged, so these tests need no corpus.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InputError, type ReadIssue } from "../../../src/events/model.js";
import { crc32 } from "../../../src/readers/evtx/crc32.js";
import { EvtxWriter, isEvtxHeader, readEvtx } from "../../../src/readers/evtx/index.js";
import { collect, collectXml, streamOf, withoutProvenance } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

const HEADER = 4096;
const CHUNK = 65536;

const events = [...sysmonMix(400)];
function clean(): Buffer {
  const w = new EvtxWriter();
  for (const ev of events) w.add(ev);
  return Buffer.from(w.finish());
}
const pristine = clean();
const chunkCount = (pristine.length - HEADER) / CHUNK;

function chunkAt(b: Buffer, i: number): Buffer {
  return b.subarray(HEADER + i * CHUNK, HEADER + (i + 1) * CHUNK);
}
/** Record offsets (chunk-relative) of chunk i. */
function recordOffsets(b: Buffer, i: number): number[] {
  const c = chunkAt(b, i);
  const out: number[] = [];
  for (let p = 512; p < c.readUInt32LE(48); p += c.readUInt32LE(p + 4)) out.push(p);
  return out;
}
function fixChunkCrcs(c: Buffer): void {
  c.writeUInt32LE(crc32(c, 512, c.readUInt32LE(48)), 52);
  c.writeUInt32LE(crc32(c, 128, 512, crc32(c, 0, 120)), 124);
}
function ids(evs: { system: { eventRecordID?: string } }[]): string[] {
  return evs.map((e) => e.system.eventRecordID!);
}
const allIds = ids(events);

describe("damaged EVTX input", () => {
  test("the pristine file reads completely without findings", async () => {
    assert.ok(chunkCount >= 4);
    const { events: got, issues } = await collect(pristine);
    assert.deepEqual(issues, []);
    assert.deepEqual(withoutProvenance(got), withoutProvenance(events));
  });

  test("a path and a stream of bytes in odd-sized pieces give the same records", async () => {
    const a = await collect(streamOf(pristine, 4093));
    const b = await collect(streamOf(pristine, 65536 * 3 + 1));
    assert.deepEqual(a, b);
    assert.equal(a.events.length, events.length);
  });

  test("bad file header CRC: reported, nothing lost", async () => {
    const b = Buffer.from(pristine);
    b[60] ^= 0xff;
    const { events: got, issues } = await collect(b);
    assert.deepEqual(
      issues.map((i) => [i.reason, i.lost]),
      [["bad file header CRC32", "none"]],
    );
    assert.equal(got.length, events.length);
  });

  test("an unknown format version is reported and the file still read", async () => {
    const b = Buffer.from(pristine);
    b.writeUInt16LE(4, 38);
    b.writeUInt32LE(crc32(b, 0, 120), 124);
    const { events: got, issues } = await collect(b);
    assert.deepEqual(
      issues.map((i) => [i.reason, i.lost]),
      [["unknown format version 4.1 (read as 3.x)", "none"]],
    );
    assert.equal(got.length, events.length);
  });

  test("bad chunk header CRC and bad records CRC: reported per chunk, every record still read", async () => {
    const b = Buffer.from(pristine);
    chunkAt(b, 1)[100] ^= 0x01; // unknown header bytes: only the header CRC breaks
    const c2 = chunkAt(b, 2);
    c2.writeUInt32LE(0x12345678, 52); // records CRC (with a header CRC that covers it)
    c2.writeUInt32LE(crc32(c2, 128, 512, crc32(c2, 0, 120)), 124);
    const { events: got, issues } = await collect(b);
    assert.equal(issues.length, 2);
    assert.match(issues[0].location, /^chunk 1 at offset 0x11000$/);
    assert.match(issues[0].reason, /chunk header CRC32/);
    assert.match(issues[1].location, /^chunk 2 at offset 0x21000$/);
    assert.match(issues[1].reason, /records CRC32/);
    assert.ok(issues.every((i) => i.lost === "none" && i.file === "<stream>"));
    assert.deepEqual(ids(got), allIds);
  });

  test("truncated file: every complete record before the cut is read, the loss is reported", async () => {
    const offsets = recordOffsets(pristine, 2);
    const cut = HEADER + 2 * CHUNK + offsets[10] + 30; // inside record 11 of chunk 2
    const { events: got, issues } = await collect(pristine.subarray(0, cut), { displayName: "cut.evtx" });
    const before = recordOffsets(pristine, 0).length + recordOffsets(pristine, 1).length + 10;
    assert.deepEqual(ids(got), allIds.slice(0, before));
    const truncated = issues.find((i) => /truncated chunk/.test(i.reason));
    assert.ok(truncated, JSON.stringify(issues));
    assert.equal(truncated.file, "cut.evtx");
    assert.equal(truncated.lost, "record");
    assert.equal(truncated.skippedRecords, offsets.length - 10);
    assert.ok(issues.some((i) => /file ends after 3 of \d+ chunks/.test(i.reason) && i.lost === "chunk"));
  });

  test("a chunk full of zeros is skipped alone", async () => {
    const b = Buffer.from(pristine);
    chunkAt(b, 1).fill(0);
    const { events: got, issues } = await collect(b);
    assert.deepEqual(
      issues.map((i) => [i.location, i.reason, i.lost]),
      [["chunk 1 at offset 0x11000", "chunk is all zeros", "chunk"]],
    );
    const lost = new Set(
      recordOffsets(pristine, 1).map((_, k) => allIds[recordOffsets(pristine, 0).length + k]),
    );
    assert.deepEqual(
      ids(got),
      allIds.filter((id) => !lost.has(id)),
    );
  });

  test("a record whose size fields disagree is skipped; the reader resynchronises on the next", async () => {
    const b = Buffer.from(pristine);
    const c = chunkAt(b, 0);
    const offsets = recordOffsets(pristine, 0);
    c.writeUInt32LE(c.readUInt32LE(offsets[3] + 4) + 8, offsets[3] + 4);
    fixChunkCrcs(c);
    const { events: got, issues } = await collect(b);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].lost, "record");
    assert.equal(issues[0].location, `chunk 0 at offset 0x${(HEADER + offsets[3]).toString(16)}`);
    assert.match(issues[0].reason, /size fields disagree/);
    assert.deepEqual(
      ids(got),
      allIds.filter((_, k) => k !== 3),
    );
  });

  test("BinXML pointing outside the chunk loses that record only", async () => {
    const b = Buffer.from(pristine);
    const c = chunkAt(b, 0);
    const offsets = recordOffsets(pristine, 0);
    // Record 40 refers to a template by offset (defined earlier in the chunk): point it away.
    const at = offsets[40] + 24 + 4 + 6;
    assert.notEqual(c.readUInt32LE(at), at + 4, "the template is referenced, not inline");
    c.writeUInt32LE(0x7fff0000, at);
    fixChunkCrcs(c);
    const { events: got, issues } = await collect(b);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].lost, "record");
    assert.match(issues[0].location, /^record 41 at offset 0x[0-9a-f]+ \(chunk 0\)$/);
    assert.match(
      issues[0].reason,
      /template offset 0x7fff0000 outside the chunk at chunk offset 0x[0-9a-f]{1,4}$/,
    );
    assert.deepEqual(
      ids(got),
      allIds.filter((id) => id !== "41"),
    );
  });

  test("a template that instantiates itself is a reported loop, not a hang", async () => {
    const b = Buffer.from(pristine.subarray(0, HEADER + CHUNK));
    const c = chunkAt(b, 0);
    c.fill(0, 512);
    // One record: fragment header, template instance with an inline definition whose body is
    // a template instance of itself.
    const r = 512;
    const x = Buffer.alloc(96);
    x.writeUInt32LE(0x2a2a, 0);
    x.writeUInt32LE(96, 4);
    x.writeBigUInt64LE(1n, 8);
    Buffer.from([0x0f, 1, 1, 0, 0x0c, 1, 0, 0, 0, 0]).copy(x, 24);
    const def = r + 38;
    x.writeUInt32LE(def, 34);
    x.writeUInt32LE(19, 38 + 20); // definition data size
    Buffer.from([0x0f, 1, 1, 0, 0x0c, 1, 0, 0, 0, 0]).copy(x, 62);
    x.writeUInt32LE(def, 72); // ... refers to its own definition
    x.writeUInt32LE(96, 92);
    x.copy(c, r);
    c.writeUInt32LE(r + 96, 48);
    c.writeUInt32LE(r, 44);
    fixChunkCrcs(c);
    b.writeUInt16LE(1, 42);
    b.writeUInt32LE(crc32(b, 0, 120), 124);
    const { events: got, issues } = await collect(b);
    assert.equal(got.length, 0);
    assert.equal(issues.length, 1);
    assert.match(issues[0].reason, /template refers to itself/);
    assert.equal(issues[0].lost, "record");
  });

  test("dirty file: chunks beyond the header's chunk count are read", async () => {
    const b = Buffer.from(pristine);
    b.writeUInt16LE(1, 42);
    b.writeUInt32LE(b.readUInt32LE(120) | 1, 120);
    b.writeUInt32LE(crc32(b, 0, 120), 124);
    const { events: got, issues } = await collect(b);
    assert.deepEqual(issues, []);
    assert.deepEqual(ids(got), allIds);
  });

  test("slack after the last chunk is reported once, not as lost chunks", async () => {
    const junk = Buffer.alloc(CHUNK * 2, 0x5a);
    const { events: got, issues } = await collect(Buffer.concat([pristine, junk]));
    assert.equal(got.length, events.length);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].lost, "none");
    assert.match(issues[0].reason, /2 block\(s\) after the last chunk/);
  });

  test("strict mode makes a finding fatal with InputError", async () => {
    const b = Buffer.from(pristine);
    const c2 = chunkAt(b, 2);
    c2.writeUInt32LE(1, 52);
    c2.writeUInt32LE(crc32(c2, 128, 512, crc32(c2, 0, 120)), 124);
    const seen: ReadIssue[] = [];
    let n = 0;
    await assert.rejects(
      async () => {
        for await (const _ of readEvtx(streamOf(b), { strict: true, onIssue: (i) => seen.push(i) })) n++;
      },
      (err: unknown) => err instanceof InputError && /records CRC32/.test(err.message),
    );
    assert.equal(seen.length, 1);
    assert.equal(n, recordOffsets(pristine, 0).length + recordOffsets(pristine, 1).length);
  });

  test("not an EVTX file, empty input, random bytes: reported, never thrown", async () => {
    assert.equal(isEvtxHeader(pristine), true);
    assert.equal(isEvtxHeader(Buffer.from("<Events>")), false);
    for (const input of [
      Buffer.alloc(0),
      Buffer.from("<Event xmlns='x'/>"),
      Buffer.from(Array.from({ length: 200000 }, (_, i) => (i * 7919) & 0xff)),
    ]) {
      const { events: got, issues } = await collect(input);
      assert.equal(got.length, 0);
      assert.ok(issues.length >= 1);
      assert.ok(issues.every((i) => i.file && i.location && i.reason));
    }
  });

  test("a path that cannot be opened throws InputError (the whole input is unreadable)", async () => {
    await assert.rejects(() => collect("/nonexistent/dir/x.evtx"), InputError);
  });

  test("maxRecordBytes guards against oversized records", async () => {
    const { records: got, issues } = await collectXml(pristine, { maxRecordBytes: 256 });
    assert.equal(got.length, 0);
    assert.ok(issues.length > 0 && issues.every((i) => i.lost === "record"));
  });
});
