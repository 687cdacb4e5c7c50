/**
 * Readers never reopen a path: EVTX and zip from a FIFO (what `<(...)` and named pipes are) give the same
 * records as the regular file. A partial NDJSON file resynchronises at the next line after a broken first
 * line; a cut .ndjson.gz is read up to the damage. One unsafe zip member name skips only that member.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { emulate } from "../../src/emulate/index.js";
import { writeEvtxFile } from "../../src/readers/evtx/writer.js";
import { type InputStats, newInputStats, readInputs } from "../../src/readers/index.js";
import { makeZip } from "../fixtures/readers/zip-writer.js";
import { skipUnless } from "../helpers/env.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-plumbing-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const evtx = path.join(tmp, "n.evtx");
const zip = path.join(tmp, "n.zip");
let expected = 0;

before(async () => {
  const events = emulate(["remote-mmc20", "remote-shellwindows"], { noise: 1500 });
  expected = events.length;
  await writeEvtxFile(evtx, events);
  writeFileSync(
    zip,
    makeZip([
      { name: "../../evil", data: Buffer.from("x") },
      { name: "ok/normal.evtx", data: readFileSync(evtx) },
      { name: "/etc/abs.evtx", data: readFileSync(evtx) },
    ]),
  );
});

async function read(inputs: string[]): Promise<{ n: number; stats: InputStats }> {
  const stats = newInputStats();
  let n = 0;
  for await (const _ of readInputs(inputs, { stats })) n++;
  return { n, stats };
}

const hasMkfifo = spawnSync("mkfifo", ["--version"], { stdio: "ignore" }).error === undefined;

/** A FIFO fed from `file` by a `cat` child (as `<(cat file)` would be). */
function fifoOf(file: string): string {
  const fifo = path.join(tmp, `fifo-${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
  spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", file, fifo], { stdio: "ignore" });
  return fifo;
}

describe("pipes and FIFOs: the same records as the regular file", {
  skip: skipUnless(hasMkfifo, "mkfifo absent"),
}, () => {
  test("EVTX through a FIFO", async () => {
    const file = await read([evtx]);
    assert.equal(file.n, expected);
    const piped = await read([fifoOf(evtx)]);
    assert.equal(piped.n, expected);
    assert.deepEqual(piped.stats.issues, []);
  });

  test("a zip through a FIFO; an unsafe member name skips only that member", async () => {
    for (const input of [zip, fifoOf(zip)]) {
      const r = await read([input]);
      assert.equal(r.n, expected, input);
      const reasons = r.stats.issues.map((i) => `${path.basename(i.file)}: ${i.reason}`).sort();
      assert.equal(reasons.length, 2, reasons.join("\n"));
      assert.match(reasons.join("\n"), /evil: unsafe member name \(not read\): invalid relative path/);
      assert.match(reasons.join("\n"), /abs\.evtx: unsafe member name \(not read\): absolute path/);
    }
  });
});

describe("partial JSON files", () => {
  const line = (i: number) =>
    JSON.stringify({
      Event: {
        System: {
          Provider: { "#attributes": { Name: "Microsoft-Windows-Sysmon" } },
          EventID: 1,
          TimeCreated: {
            "#attributes": { SystemTime: `2024-03-12T09:00:${String(i % 60).padStart(2, "0")}Z` },
          },
          EventRecordID: i + 1,
          Channel: "Microsoft-Windows-Sysmon/Operational",
          Computer: "WKS01",
        },
        EventData: { Image: "C:\\\\Windows\\\\cmd.exe", CommandLine: `cmd /c echo ${i}` },
      },
    });
  const lines = Array.from({ length: 40 }, (_, i) => line(i));

  test("a broken first line: the 24 lines after it are read", async () => {
    const file = path.join(tmp, "broken-first.ndjson");
    writeFileSync(file, `{"Event": {"System": \n${lines.slice(0, 24).join("\n")}\n`);
    const r = await read([file]);
    assert.equal(r.n, 24);
    assert.equal(r.stats.skipped, 1);
    assert.equal(r.stats.issues[0].location, "line 1");
  });

  test("a first line cut in the middle (tail -c): the rest is read", async () => {
    const text = `${lines.join("\n")}\n`;
    const file = path.join(tmp, "tail.ndjson");
    writeFileSync(file, text.slice(text.length - Math.floor(text.length * 0.6)));
    const r = await read([file]);
    const whole = Math.floor(40 * 0.6); // at least this many whole lines survive
    assert.ok(r.n >= whole - 1 && r.n < 40, `${r.n} records`);
    assert.equal(r.stats.skipped, 1);
  });

  test("a cut .ndjson.gz is read up to the damage, and the loss is located", async () => {
    const many = Array.from({ length: 3000 }, (_, i) => line(i)).join("\n");
    const gz = gzipSync(`${many}\n`);
    const file = path.join(tmp, "cut.ndjson.gz");
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = await read([file]);
    assert.ok(r.n > 100 && r.n < 3000, `${r.n} records`);
    const damage = r.stats.issues.find((i) => i.lost === "rest");
    assert.ok(damage, JSON.stringify(r.stats.issues));
    assert.match(damage.reason, /gzip data cut short \(read up to the damage\)/);
    assert.match(damage.location, /^compressed offset \d+/);
  });
});
