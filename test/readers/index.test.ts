import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { ReadIssue, WinEvent } from "../../src/events/model.js";
import { type InputStats, newInputStats, readInputs } from "../../src/readers/index.js";
import { makeZip } from "../fixtures/readers/zip-writer.js";
import { skipUnless } from "../helpers/env.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const fixtures = path.resolve(here, "../fixtures/readers");
const corpus = path.resolve(repo, "../shared/corpus");
const impacketEvtx = path.join(corpus, "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx");
const evtxSkip = skipUnless(existsSync(impacketEvtx), `corpus absent: ${impacketEvtx}`);

const fixture = (name: string) => readFileSync(path.join(fixtures, name));

async function collect(gen: AsyncIterable<WinEvent>): Promise<WinEvent[]> {
  const out: WinEvent[] = [];
  for await (const ev of gen) out.push(ev);
  return out;
}

/** Many copies of one small event: compresses far beyond 200x, like a decompression bomb. */
function repetitiveXml(copies: number): Buffer {
  const ev =
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID><Computer>H</Computer></System></Event>\n';
  return Buffer.from(ev.repeat(copies));
}

describe("readInputs", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-readers-"));
    writeFileSync(path.join(dir, "a.xml"), fixture("windows-events.xml"));
    mkdirSync(path.join(dir, "b"));
    writeFileSync(path.join(dir, "b", "nested.ndjson"), fixture("nxlog.ndjson"));
    writeFileSync(path.join(dir, "c.json.gz"), gzipSync(fixture("evtx_dump.json")));
    writeFileSync(
      path.join(dir, "d.zip"),
      makeZip([
        { name: "readme.txt", data: Buffer.from("collected by KAPE, nothing to see\n") },
        { name: "logs/2.xml", data: fixture("splunk-raw.xml") },
        { name: "logs/1.ndjson", data: fixture("winlogbeat.ndjson"), store: true },
        { name: "logs/3.csv.gz", data: gzipSync(fixture("splunk-flat.csv")) },
      ]),
    );
    writeFileSync(path.join(dir, "e.txt"), "not a log\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("walks directories in sorted order, opens .gz and .zip members, counts files, bytes, records and issues", async () => {
    const stats: InputStats = newInputStats();
    const files: [string, number][] = [];
    let bytes = 0;
    const events = await collect(
      readInputs([dir], { stats, onFile: (f, size) => files.push([f, size]), onBytes: (n) => (bytes += n) }),
    );
    const sources = events.map((e) => `${path.relative(dir, e.provenance.file)}:${e.provenance.format}`);
    assert.deepEqual(sources, [
      ...Array(5).fill("a.xml:xml"),
      ...Array(3).fill("b/nested.ndjson:json"),
      ...Array(3).fill("c.json.gz:json"),
      ...Array(3).fill("d.zip!logs/1.ndjson:json"),
      "d.zip!logs/2.xml:xml",
      ...Array(2).fill("d.zip!logs/3.csv.gz:csv"),
    ]);
    assert.equal(stats.records, events.length);
    assert.equal(stats.files, 6, "six logs; the archive itself and the two text files are not logs");
    assert.deepEqual(
      stats.issues.map((i) => [path.relative(dir, i.file), i.lost]),
      [
        ["d.zip!readme.txt", "file"],
        ["e.txt", "file"],
      ],
    );
    assert.equal(stats.issueCounts.get("not a recognised log (EVTX, event XML, JSON or CSV)"), 2);
    assert.deepEqual(
      files.map(([f]) => path.relative(dir, f)),
      ["a.xml", "b/nested.ndjson", "c.json.gz", "d.zip", "e.txt"],
    );
    const diskBytes = files.reduce((n, [, size]) => n + size, 0);
    assert.equal(stats.bytes, diskBytes, "bytes = on-disk bytes read");
    assert.equal(bytes, diskBytes);
  });

  test("the push-down filter reaches every reader", async () => {
    const events = await collect(readInputs([dir], { filter: (s) => s.eventID === "4688" }));
    assert.deepEqual(
      events.map((e) => path.relative(dir, e.provenance.file)),
      // the Splunk-export CSV in the zip is not filtered by the readers (see readers/json.ts)
      ["a.xml", "b/nested.ndjson", "d.zip!logs/1.ndjson", "d.zip!logs/3.csv.gz", "d.zip!logs/3.csv.gz"],
    );
  });

  test("a missing input is one file issue and the run goes on; strict mode throws", async () => {
    const stats = newInputStats();
    const events = await collect(
      readInputs([path.join(dir, "missing.evtx"), path.join(dir, "a.xml")], { stats }),
    );
    assert.equal(events.length, 5);
    assert.equal(stats.issues.length, 1);
    assert.match(stats.issues[0].reason, /^cannot open: ENOENT/);
    await assert.rejects(collect(readInputs([path.join(dir, "e.txt")], { strict: true })), {
      name: "InputError",
    });
  });

  test("gzip bomb-like ratio: inflation stopped past 200x and reported, events before it kept", async () => {
    const bombDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-bomb-"));
    try {
      const plain = repetitiveXml(40_000); // 5.4 MB, deflates about 1000:1
      const gz = gzipSync(plain, { level: 9 });
      assert.ok(plain.length / gz.length > 200, `ratio ${plain.length / gz.length}`);
      writeFileSync(path.join(bombDir, "bomb.xml.gz"), gz);
      const issues: ReadIssue[] = [];
      const events = await collect(readInputs([bombDir], { onIssue: (i) => issues.push(i) }));
      assert.ok(events.length > 0 && events.length < 40_000, `${events.length} events before the stop`);
      assert.equal(issues.length, 1);
      assert.match(issues[0].reason, /decompression ratio above 200x/);
      // Events were read before the stop: only the rest of the file is lost (not "file skipped").
      assert.equal(issues[0].lost, "rest");
    } finally {
      rmSync(bombDir, { recursive: true, force: true });
    }
  });

  test("zip bomb-like ratio: a member declaring more than 200x is not inflated; the others are read", async () => {
    const bombDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-bomb-"));
    try {
      writeFileSync(
        path.join(bombDir, "triage.zip"),
        makeZip([
          { name: "a/bomb.xml", data: repetitiveXml(200_000) },
          { name: "b/ok.xml", data: fixture("splunk-raw.xml") },
        ]),
      );
      const stats = newInputStats();
      const events = await collect(readInputs([path.join(bombDir, "triage.zip")], { stats }));
      assert.deepEqual(
        events.map((e) => path.relative(bombDir, e.provenance.file)),
        ["triage.zip!b/ok.xml"],
      );
      assert.equal(stats.issues.length, 1);
      assert.equal(path.relative(bombDir, stats.issues[0].file), "triage.zip!a/bomb.xml");
      assert.match(stats.issues[0].reason, /decompression ratio above 200x \(declared/);
    } finally {
      rmSync(bombDir, { recursive: true, force: true });
    }
  });

  test("an over-long line through readInputs is one record issue, counted as skipped", async () => {
    const longDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-long-"));
    try {
      const good = '{"EventID":1,"SourceName":"S","Hostname":"H","RecordNumber":1}';
      writeFileSync(
        path.join(longDir, "x.ndjson"),
        `${good}\n{"EventID":2,"Pad":"${"y".repeat(100_000)}"}\n${good}\n`,
      );
      const stats = newInputStats();
      const events = await collect(readInputs([longDir], { stats, maxRecordBytes: 4096 }));
      assert.equal(events.length, 2);
      assert.equal(stats.skipped, 1);
      assert.equal(stats.issues[0].location, "line 2");
    } finally {
      rmSync(longDir, { recursive: true, force: true });
    }
  });

  test('"-" reads stdin (here a gzip-compressed NDJSON)', () => {
    const res = spawnSync(process.execPath, ["--import", "tsx", path.join(fixtures, "stdin-count.ts")], {
      cwd: repo,
      input: gzipSync(fixture("nxlog.ndjson")),
      encoding: "utf8",
    });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(out.ids, ["-:json:1701000", "-:json:428897", "-:json:1701038"]);
    assert.equal(out.files, 1);
    assert.equal(out.issues, 0);
  });

  test('"-" with a zip on stdin (spooled to a temporary file for random access)', () => {
    const zip = makeZip([
      { name: "b.xml", data: fixture("splunk-raw.xml") },
      { name: "a.ndjson", data: fixture("nxlog.ndjson") },
    ]);
    const res = spawnSync(process.execPath, ["--import", "tsx", path.join(fixtures, "stdin-count.ts")], {
      cwd: repo,
      input: zip,
      encoding: "utf8",
    });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(out.ids, [
      "-!a.ndjson:json:1701000",
      "-!a.ndjson:json:428897",
      "-!a.ndjson:json:1701038",
      "-!b.xml:xml:1701000",
    ]);
    assert.equal(out.bytes, zip.length);
  });

  test("a zip member larger than its declared size is stopped and reported", async () => {
    const liarDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-liar-"));
    try {
      const ev = "<Event><System><EventID>1</EventID></System></Event>\n";
      writeFileSync(
        path.join(liarDir, "liar.zip"),
        makeZip([
          { name: "x.xml", data: Buffer.from(ev.repeat(100_000)), declaredSize: 1000 },
          { name: "y.xml", data: Buffer.from(ev) },
        ]),
      );
      const stats = newInputStats();
      const events = await collect(readInputs([liarDir], { stats }));
      assert.deepEqual(
        events.map((e) => path.relative(liarDir, e.provenance.file)),
        ["liar.zip!y.xml"],
      );
      assert.equal(stats.issues.length, 1);
      assert.equal(path.relative(liarDir, stats.issues[0].file), "liar.zip!x.xml");
      assert.equal(stats.issues[0].lost, "file");
    } finally {
      rmSync(liarDir, { recursive: true, force: true });
    }
  });

  test("EVTX content goes to the EVTX reader, from a file and from inside a zip", {
    skip: evtxSkip,
  }, async () => {
    const evtxDir = mkdtempSync(path.join(tmpdir(), "dcomhunt-evtx-"));
    try {
      writeFileSync(
        path.join(evtxDir, "triage.zip"),
        makeZip([{ name: "Sysmon.evtx", data: readFileSync(impacketEvtx) }]),
      );
      writeFileSync(path.join(evtxDir, "renamed.log"), readFileSync(impacketEvtx));
      const stats = newInputStats();
      const events = await collect(readInputs([evtxDir], { stats }));
      const byFile = new Map<string, string[]>();
      for (const e of events) {
        const k = path.basename(e.provenance.file);
        byFile.set(k, [...(byFile.get(k) ?? []), e.system.eventRecordID ?? ""]);
        assert.equal(e.provenance.format, "evtx");
      }
      // the golden dumps of this file hold 9 records, 9832 first
      assert.equal(byFile.get("renamed.log")?.length, 9);
      assert.equal(byFile.get("renamed.log")?.[0], "9832");
      assert.deepEqual(byFile.get("triage.zip!Sysmon.evtx"), byFile.get("renamed.log"));
      assert.equal(stats.files, 2);
      assert.equal(
        stats.bytes,
        statSync(path.join(evtxDir, "triage.zip")).size + statSync(impacketEvtx).size,
      );
    } finally {
      rmSync(evtxDir, { recursive: true, force: true });
    }
  });
});
