/**
 * Seeded, time-bounded fuzzing of the EVTX reader on real files (corpus; a generated file when
 * the corpus is absent): bit flips, truncation, chunk swaps, size-field and checksum corruption,
 * garbage blocks. Asserts: no exception escapes, no hang (per-file time bound), memory stays
 * bounded, and every record outside the damaged bytes (its own bytes, and the template and name
 * bytes it depends on) is still read, with the same XML.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { ReadIssue } from "../../../src/events/model.js";
import { ChunkContext, renderNodes, type Template } from "../../../src/readers/evtx/binxml.js";
import { EvtxWriter, readEvtxXml } from "../../../src/readers/evtx/index.js";
import { CORPUS, streamOf } from "./helpers.js";
import { prng, sysmonMix } from "./sysmon-mix.js";

const HEADER = 4096;
const CHUNK = 65536;
const TIME_BUDGET_MS = 20000;
const PER_FILE_MS = 5000;

type Range = [number, number];

/** Records which chunk bytes (names, template definitions) each record depends on. */
class TrackingContext extends ChunkContext {
  deps: Range[] = [];
  private readonly templateDeps = new Map<number, Range[]>();
  override name(off: number): string {
    const s = super.name(off);
    this.deps.push([off, off + 10 + 2 * s.length]);
    return s;
  }
  override template(off: number): Template {
    const known = this.templateDeps.get(off);
    if (known) {
      this.deps.push(...known);
      return super.template(off);
    }
    const outer = this.deps;
    this.deps = [];
    try {
      const t = super.template(off);
      this.deps.push([off, t.end]);
      this.templateDeps.set(off, this.deps);
      outer.push(...this.deps);
      return t;
    } finally {
      this.deps = outer;
    }
  }
}

interface BaselineRecord {
  fileOffset: number;
  xml: string;
  /** File byte ranges this record needs. */
  deps: Range[];
}

/** Every record of a pristine file with its XML and dependencies. */
function baseline(bytes: Buffer): BaselineRecord[] {
  const out: BaselineRecord[] = [];
  for (let c = 0; HEADER + (c + 1) * CHUNK <= bytes.length; c++) {
    const base = HEADER + c * CHUNK;
    const buf = bytes.subarray(base, base + CHUNK);
    if (buf.subarray(0, 8).toString("latin1") !== "ElfChnk\0") continue;
    const ctx = new TrackingContext(buf);
    ctx.treeWalkOnly = true;
    for (let p = 512; p < buf.readUInt32LE(48); ) {
      const size = buf.readUInt32LE(p + 4);
      ctx.deps = [[p, p + size]];
      const [nodes] = ctx.fragment(p + 24, p + size - 4, false, 0);
      const xml = renderNodes(ctx, nodes, { types: [], offsets: [], sizes: [] }, 0);
      // The chunk header fields the reader relies on: signature, free space offset.
      const deps: Range[] = [[0, 8], [48, 52], ...ctx.deps].map(([a, b]) => [base + a, base + b]);
      out.push({ fileOffset: base + p, xml, deps });
      p += size;
    }
  }
  return out;
}

function overlaps(deps: Range[], damaged: Range[]): boolean {
  return deps.some(([a, b]) => damaged.some(([x, y]) => a < y && x < b));
}

async function read(
  bytes: Uint8Array,
): Promise<{ byOffset: Map<number, string>; issues: ReadIssue[]; ms: number }> {
  const t0 = performance.now();
  const byOffset = new Map<number, string>();
  const issues: ReadIssue[] = [];
  for await (const r of readEvtxXml(streamOf(bytes, 50000), { onIssue: (i) => issues.push(i) }))
    byOffset.set(r.provenance.offset!, r.xml);
  return { byOffset, issues, ms: performance.now() - t0 };
}

function inputs(): { name: string; bytes: Buffer }[] {
  const names = [
    "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx",
    "attacks/ID4688,4674-DCOMexec process spawned.evtx",
    "negatives/LM_WMI_4624_4688_TargetHost.evtx",
    "benign/system.evtx",
    "benign/sysmon.evtx",
  ];
  const found = names
    .map((n) => path.join(CORPUS, n))
    .filter((f) => existsSync(f))
    .map((f) => ({ name: path.basename(f), bytes: readFileSync(f) }));
  const w = new EvtxWriter();
  for (const ev of sysmonMix(300)) w.add(ev);
  found.push({ name: "generated", bytes: Buffer.from(w.finish()) });
  return found;
}

test("fuzz: mutated EVTX files never throw or hang, and undamaged records are still read", async () => {
  const files = inputs().map((f) => ({ ...f, records: baseline(f.bytes) }));
  const rand = prng(20261129);
  const int = (n: number) => Math.floor(rand() * n);
  const deadline = performance.now() + TIME_BUDGET_MS;
  const rss0 = process.memoryUsage().rss;
  const counts: Record<string, number> = {};
  let runs = 0;
  while (performance.now() < deadline && runs < 400) {
    const f = files[int(files.length)];
    const chunks = Math.floor((f.bytes.length - HEADER) / CHUNK);
    const b = Buffer.from(f.bytes);
    const damaged: Range[] = [];
    let cut = b.length;
    let swapped = false;
    const rec = f.records[int(f.records.length)];
    const kind = ["bitflip", "truncate", "swap", "size", "checksum", "garbage"][int(6)];
    counts[kind] = (counts[kind] ?? 0) + 1;
    switch (kind) {
      case "bitflip":
        for (let k = 1 + int(8); k > 0; k--) {
          const at = rec.fileOffset + int(200);
          if (at >= b.length) continue;
          b[at] ^= 1 << int(8);
          damaged.push([at, at + 1]);
        }
        break;
      case "truncate":
        cut = HEADER + int(b.length - HEADER);
        break;
      case "swap": {
        if (chunks < 2) break;
        const i = int(chunks);
        const j = (i + 1 + int(chunks - 1)) % chunks;
        const ci = Buffer.from(b.subarray(HEADER + i * CHUNK, HEADER + (i + 1) * CHUNK));
        b.copy(b, HEADER + i * CHUNK, HEADER + j * CHUNK, HEADER + (j + 1) * CHUNK);
        ci.copy(b, HEADER + j * CHUNK);
        swapped = true;
        break;
      }
      case "size": {
        const at = rec.fileOffset + (rand() < 0.5 ? 4 : b.readUInt32LE(rec.fileOffset + 4) - 4);
        b.writeUInt32LE(int(0x20000), at);
        damaged.push([rec.fileOffset, rec.fileOffset + 8], [at, at + 4]);
        break;
      }
      case "checksum": {
        const signed = [...Array(chunks).keys()].filter(
          (i) => b.subarray(HEADER + i * CHUNK, HEADER + i * CHUNK + 8).toString("latin1") === "ElfChnk\0",
        );
        const c = signed[int(signed.length)];
        const at = [124, HEADER + c * CHUNK + 52, HEADER + c * CHUNK + 124][int(3)];
        b.writeUInt32LE((b.readUInt32LE(at) ^ (1 + int(0xffff))) >>> 0, at);
        break;
      }
      case "garbage": {
        const at = rec.fileOffset + int(64);
        for (let k = 0; k < 64 && at + k < b.length; k++) b[at + k] = int(256);
        damaged.push([at, at + 64]);
        break;
      }
    }
    const input = b.subarray(0, cut);
    let got: Awaited<ReturnType<typeof read>>;
    try {
      got = await read(input);
    } catch (err) {
      assert.fail(`${f.name} ${kind}: exception escaped: ${(err as Error).stack}`);
    }
    runs++;
    assert.ok(got.ms < PER_FILE_MS, `${f.name} ${kind}: took ${got.ms.toFixed(0)} ms`);
    if (swapped) {
      // Chunks are independent: every record is read, at its new place.
      assert.deepEqual(
        [...got.byOffset.values()].sort(),
        f.records.map((r) => r.xml).sort(),
        `${f.name} swap`,
      );
      continue;
    }
    for (const r of f.records) {
      const inside = r.deps.every(([, end]) => end <= cut);
      if (!inside || overlaps(r.deps, damaged)) continue;
      assert.equal(
        got.byOffset.get(r.fileOffset),
        r.xml,
        `${f.name} ${kind}: record at 0x${r.fileOffset.toString(16)}`,
      );
    }
    // Nothing is dropped silently: a record that is not read comes with a finding.
    const missing = f.records.filter((r) => !got.byOffset.has(r.fileOffset)).length;
    if (missing > 0)
      assert.ok(got.issues.length > 0, `${f.name} ${kind}: ${missing} records lost without a finding`);
    if (kind === "checksum")
      assert.ok(
        got.issues.some((i) => /CRC32/.test(i.reason)),
        `${f.name}: CRC finding`,
      );
  }
  const growth = (process.memoryUsage().rss - rss0) / 1048576;
  console.log(`# fuzz: ${runs} runs ${JSON.stringify(counts)}, RSS growth ${growth.toFixed(0)} MiB`);
  assert.ok(runs >= 30, `only ${runs} runs in the time budget`);
  assert.ok(growth < 256, `RSS grew by ${growth.toFixed(0)} MiB`);
});
