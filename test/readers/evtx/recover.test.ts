/**
 * Records that are not live - stale ones in a chunk's slack past its free-space offset, ones whose ids
 * fall outside the chunk header's range (a torn chunk) - are left out by default (and counted), and
 * `recover` adds them, each flagged `_recovered` = slack|torn, counted in the summary, never duplicating
 * a live record. Files from the project's EVTX writer, reshaped as such chunks are found in the field.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { run as runCli } from "../../../src/cli/main.js";
import { crc32 } from "../../../src/readers/evtx/crc32.js";
import { writeEvtxFile } from "../../../src/readers/evtx/writer.js";
import { type InputStats, newInputStats, readInputs } from "../../../src/readers/index.js";
import { CORPUS, corpusSkip } from "./helpers.js";
import { sysmonMix } from "./sysmon-mix.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-evtx-recover-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Read {
  ids: number[];
  recovered: (string | undefined)[];
  stats: InputStats;
}
async function read(file: string, recover: boolean): Promise<Read> {
  const stats = newInputStats();
  const ids: number[] = [];
  const recovered: (string | undefined)[] = [];
  for await (const ev of readInputs([file], { stats, recover })) {
    ids.push(Number(ev.system.eventRecordID));
    recovered.push(ev.extra?._recovered as string | undefined);
  }
  return { ids, recovered, stats };
}

/** Offsets and header ids of a chunk's live records. */
function records(chunk: Buffer): { at: number; id: bigint }[] {
  const out: { at: number; id: bigint }[] = [];
  for (let p = 512; p < chunk.readUInt32LE(48); p += chunk.readUInt32LE(p + 4))
    out.push({ at: p, id: chunk.readBigUInt64LE(p + 8) });
  return out;
}

/** A 2-chunk file of the writer; returns its bytes and the chunks (views into the bytes). */
async function base(name: string): Promise<{ file: string; bytes: Buffer; chunks: Buffer[] }> {
  const file = path.join(tmp, name);
  await writeEvtxFile(file, sysmonMix(300));
  const bytes = readFileSync(file);
  const chunks: Buffer[] = [];
  for (let c = 4096; c + 65536 <= bytes.length; c += 65536) chunks.push(bytes.subarray(c, c + 65536));
  assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
  return { file, bytes, chunks };
}

/** Valid CRCs again after an edit (a chunk that was closed normally after its slack was left behind). */
function reseal(chunk: Buffer): void {
  chunk.writeUInt32LE(crc32(chunk, 512, chunk.readUInt32LE(48)), 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 512, crc32(chunk, 0, 120)), 124);
}

test("stale records past the free-space offset under a valid header CRC: left out, recovered as slack", async () => {
  const { file, bytes, chunks } = await base("slack.evtx");
  const before = await read(file, false);
  const recs = records(chunks[0]);
  const live = recs.length - 6;
  const c = chunks[0];
  c.writeUInt32LE(recs[live].at, 48); // free space moved back: the last 6 records become slack
  c.writeBigUInt64LE(recs[live - 1].id, 32); // the header's last record id and number follow
  c.writeBigUInt64LE(c.readBigUInt64LE(8) + BigInt(live - 1), 16);
  c.writeUInt32LE(recs[live - 1].at, 44);
  reseal(c);
  const shaped = path.join(tmp, "slack-shaped.evtx");
  writeFileSync(shaped, bytes);
  const stale = new Set(before.ids.slice(live, recs.length));

  const dflt = await read(shaped, false);
  assert.deepEqual(
    dflt.ids,
    before.ids.filter((id) => !stale.has(id)),
  );
  assert.equal(dflt.stats.skipped, 0);
  assert.equal(dflt.stats.recovered.size, 0);

  const rec = await read(shaped, true);
  // The live records in file order, then the recovered ones (at the end of their file), flagged.
  assert.deepEqual(rec.ids, [...dflt.ids, ...stale]);
  assert.deepEqual(rec.recovered, [...dflt.ids.map(() => undefined), ...[...stale].map(() => "slack")]);
  assert.deepEqual([...rec.stats.recovered], [["slack", 6]]);
  assert.equal(rec.stats.records, before.ids.length);
});

test("torn chunk: ids outside the header's range are left out, recovered as torn", async () => {
  const { bytes, chunks, file } = await base("torn.evtx");
  const before = await read(file, false);
  const c = chunks[0];
  const recs = records(c);
  // No CRCs (the header cannot vouch for anything) and the id range stops 4 records short.
  c.writeUInt32LE(0, 52);
  c.writeUInt32LE(0, 124);
  c.writeBigUInt64LE(recs[recs.length - 5].id, 32);
  const shaped = path.join(tmp, "torn-shaped.evtx");
  writeFileSync(shaped, bytes);
  const torn = before.ids.slice(recs.length - 4, recs.length);
  const dflt = await read(shaped, false);
  assert.deepEqual(
    dflt.ids,
    before.ids.filter((id) => !torn.includes(id)),
  );
  const notLive = dflt.stats.issues.find((i) => i.notLive !== undefined);
  assert.equal(notLive?.notLive, 4);
  assert.equal(notLive?.lost, "none");
  const rec = await read(shaped, true);
  assert.deepEqual(rec.ids, [...dflt.ids, ...torn]);
  assert.deepEqual(rec.recovered.slice(dflt.ids.length), ["torn", "torn", "torn", "torn"]);
  assert.deepEqual([...rec.stats.recovered], [["torn", 4]]);
});

test("a stale record with the id of a live record (in a later chunk) is never added twice", async () => {
  const { bytes, chunks, file } = await base("dup.evtx");
  const before = await read(file, false);
  const c = chunks[0];
  const recs = records(c);
  const later = records(chunks[1]);
  const live = recs.length - 3;
  c.writeUInt32LE(recs[live].at, 48);
  c.writeBigUInt64LE(recs[live - 1].id, 32);
  // Two of the three stale records carry ids of live records of chunk 1 (an earlier copy of them).
  c.writeBigUInt64LE(later[0].id, recs[live].at + 8);
  c.writeBigUInt64LE(later[1].id, recs[live + 1].at + 8);
  reseal(c);
  const shaped = path.join(tmp, "dup-shaped.evtx");
  writeFileSync(shaped, bytes);
  const rec = await read(shaped, true);
  assert.equal(rec.recovered.filter((r) => r === "slack").length, 1);
  assert.equal(rec.ids.length, before.ids.length - 3 + 1);
  const dup = rec.stats.issues.find((i) => i.reason.startsWith("recovered records that repeat"));
  assert.equal(dup?.notLive, 2);
});

test("CLI: convert --recover flags the records and the summary counts them", async () => {
  const { bytes, chunks } = await base("cli.evtx");
  const c = chunks[0];
  const recs = records(c);
  c.writeUInt32LE(recs[recs.length - 2].at, 48);
  c.writeBigUInt64LE(recs[recs.length - 3].id, 32);
  // Without CRCs the slack is scanned by default too: its stale records are counted, not read.
  c.writeUInt32LE(0, 52);
  c.writeUInt32LE(0, 124);
  const shaped = path.join(tmp, "cli-shaped.evtx");
  writeFileSync(shaped, bytes);
  const run = async (...args: string[]) => {
    const out = path.join(tmp, `cli-${args.length}.ndjson`);
    const err: string[] = [];
    const ew = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const status = await runCli(["convert", shaped, "-o", out, ...args]);
      return { status, stderr: err.join(""), stdout: readFileSync(out, "utf8") };
    } finally {
      process.stderr.write = ew;
    }
  };
  const plain = await run();
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(
    plain.stderr,
    /stale or torn records left out \(--recover reads them\).*\(2 record\(s\) not live, left out\)/,
  );
  const recovered = await run("--recover");
  assert.equal(recovered.status, 0, recovered.stderr);
  const rows = recovered.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, plain.stdout.trim().split("\n").length + 2);
  assert.deepEqual(
    rows.filter((r) => r._recovered).map((r) => r._recovered),
    ["slack", "slack"],
  );
  assert.match(
    recovered.stderr,
    /recovered \(--recover, flagged _recovered\): 2 record\(s\) that are not live: 2 slack/,
  );
});

test("Application_no_crc32.evtx (evtx crate sample): 17 live records; --recover adds the 20 stale ones as slack", {
  skip: corpusSkip,
}, async () => {
  const file = path.join(CORPUS, "evtx-edge", "Application_no_crc32.evtx");
  const dflt = await read(file, false);
  assert.deepEqual(
    dflt.ids,
    Array.from({ length: 17 }, (_, i) => 426 + i),
  );
  const rec = await read(file, true);
  assert.deepEqual(rec.ids.slice(0, 17), dflt.ids);
  const stale = rec.ids.slice(17);
  assert.equal(stale.length, 20);
  assert.ok(stale.every((id) => id >= 302 && id <= 425));
  assert.equal(new Set(rec.ids).size, rec.ids.length);
  assert.deepEqual([...rec.stats.recovered], [["slack", 20]]);
});
