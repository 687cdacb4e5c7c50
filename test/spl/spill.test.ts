/**
 * The newest-first buffer and `sort 0` spill to disk past a bounded number of rows (spl/spill.ts): the
 * results are the same rows in the same order as the in-memory sort, ties (equal times, equal keys,
 * rows that share an arrival number after mvexpand) included; a consumer that stops early leaves no
 * temporary files behind.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, test } from "node:test";
import type { WinEvent } from "../../src/events/model.js";
import { compileSearch, type ResultRow } from "../../src/spl/index.js";
import { decodeRow, encodeRow } from "../../src/spl/spill.js";
import { events, run, view, winEvent } from "./helpers.js";

/** Events in file order with many equal times, out of time order, some without a time. */
function sample(n: number): WinEvent[] {
  const out: WinEvent[] = [];
  for (let i = 0; i < n; i++) {
    const sec = (i * 7919) % 97; // repeats: ties on _time
    const ev = winEvent({
      eventID: String([1, 3, 4688][i % 3]),
      time: new Date(Date.UTC(2024, 0, 1, 0, 0, sec)).toISOString(),
      computer: `ws${i % 13}.corp.local`,
      data: { Image: `C:\\p${i % 11}.exe`, CommandLine: `run ${i} "ünïcødé" 😀`, Tags: ["a", `t${i % 4}`] },
    });
    if (i % 50 === 49) ev.timeTicks = undefined;
    if (i % 50 === 49) ev.system.systemTime = undefined;
    out.push(ev);
  }
  return out;
}

function comparable(rows: ResultRow[]) {
  return rows.map((r) => ({
    fields: [...r.fields],
    columns: r.columns,
    file: r.event?.provenance.file,
    offset: r.event?.provenance.offset,
    recordId: r.event?.system.eventRecordID,
    computer: r.event?.system.computer,
    channel: r.event?.system.channel,
  }));
}

async function withSpill<T>(rows: number | undefined, f: () => Promise<T>): Promise<T> {
  const before = process.env.DCOMHUNT_SPILL_ROWS;
  if (rows === undefined) delete process.env.DCOMHUNT_SPILL_ROWS;
  else process.env.DCOMHUNT_SPILL_ROWS = String(rows);
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.DCOMHUNT_SPILL_ROWS;
    else process.env.DCOMHUNT_SPILL_ROWS = before;
  }
}

const spillDirs = () =>
  readdirSync(tmpdir())
    .filter((f) => f.startsWith("dcomhunt-sort-"))
    .sort();

describe("spilling sort buffers", () => {
  const list = sample(1500);
  const searches = [
    "index=*",
    "index=* | table _time host EventCode Image",
    "index=* | eval n=len(CommandLine) | fields _time EventCode n Tags",
    "index=* | sort 0 EventCode - host",
    "index=* | sort 0 Image | head 40",
    "index=* | mvexpand Tags | table _time Tags CommandLine",
    "index=* | dedup host | table host _time",
    "index=* | head 25",
    "index=* | streamstats count by host | table _time host count",
  ];
  for (const spl of searches) {
    test(`same rows in the same order, spilled or not: ${spl}`, async () => {
      const mem = await withSpill(undefined, () => run(spl, list));
      const before = spillDirs();
      const disk = await withSpill(7, () => run(spl, list));
      assert.ok(mem.length > 0);
      assert.deepEqual(comparable(disk), comparable(mem));
      assert.deepEqual(spillDirs(), before, "temporary runs removed");
    });
  }

  test("_raw is rebuilt from a spilled event exactly", async () => {
    const mem = await withSpill(undefined, () => run("index=*", list.slice(0, 200)));
    const disk = await withSpill(3, () => run("index=*", list.slice(0, 200)));
    assert.deepEqual(
      disk.map((r) => r.fields.get("_raw")),
      mem.map((r) => r.fields.get("_raw")),
    );
  });

  test("a consumer that stops early leaves no temporary files", async () => {
    const before = spillDirs();
    await withSpill(5, async () => {
      const c = compileSearch("index=* | table _time host", { fieldView: view, now: 0 });
      let n = 0;
      for await (const _ of c.run(events(list))) {
        // Mid-merge: the sorted runs are on disk.
        if (n === 0) assert.equal(spillDirs().length, before.length + 1);
        if (++n === 10) break;
      }
      assert.equal(n, 10);
    });
    assert.deepEqual(spillDirs(), before);
  });

  test("row encoding keeps value types, multivalues and odd numbers", () => {
    const row = {
      fields: new Map<string, string | number | (string | number)[]>([
        ["a", 'x\n"y"'],
        ["n", 42.5],
        ["z", -0],
        ["nan", Number.NaN],
        ["inf", Number.NEGATIVE_INFINITY],
        ["mv", ["1", 2, "ü"]],
        ["num-string", "007"],
      ]),
      seq: 9,
      searchTime: 1700000000.123,
    };
    const back = decodeRow(encodeRow(row));
    assert.deepEqual([...back.fields], [...row.fields]);
    assert.ok(Object.is(back.fields.get("z"), -0));
    assert.equal(back.seq, 9);
    assert.equal(back.searchTime, 1700000000.123);
  });
});
