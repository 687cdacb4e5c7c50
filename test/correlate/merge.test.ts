import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mergeByTime } from "../../src/correlate/index.js";
import type { SplunkEvent } from "../../src/events/fields.js";

const ev = (time: number | undefined, id: string): SplunkEvent => ({
  time,
  fields: new Map([["id", id]]),
  raw: () => "",
});

async function* stream(events: SplunkEvent[], onRead?: () => void): AsyncGenerator<SplunkEvent> {
  for (const e of events) {
    onRead?.();
    yield e;
  }
}

async function collect(it: AsyncIterable<SplunkEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(String(e.fields.get("id")));
  return out;
}

describe("mergeByTime", () => {
  test("k-way merges files in time order, ties by input order", async () => {
    const a = [ev(1, "a1"), ev(3, "a3"), ev(5, "a5")];
    const b = [ev(2, "b2"), ev(3, "b3"), ev(6, "b6")];
    const c = [ev(0, "c0")];
    assert.deepEqual(await collect(mergeByTime([stream(a), stream(b), stream(c)], 0)), [
      "c0",
      "a1",
      "b2",
      "a3",
      "b3",
      "a5",
      "b6",
    ]);
  });

  test("reorders records out of order within a file up to the window", async () => {
    // NXLog-like: Sysmon records (event time) arrive 30 s after Security records (receive time).
    const file = [
      ev(100, "s100"),
      ev(130, "s130"),
      ev(101, "y101"),
      ev(102, "y102"),
      ev(131, "s131"),
      ev(200, "s200"),
    ];
    assert.deepEqual(await collect(mergeByTime([stream(file)], 60)), [
      "s100",
      "y101",
      "y102",
      "s130",
      "s131",
      "s200",
    ]);
    // a record later than the window allows is passed on late, not lost
    const late = [ev(100, "x100"), ev(200, "x200"), ev(300, "x300"), ev(150, "late150")];
    assert.deepEqual(await collect(mergeByTime([stream(late)], 60)), ["x100", "x200", "late150", "x300"]);
  });

  test("passes untimed events through and buffers only one window per stream", async () => {
    let read = 0;
    const many = Array.from({ length: 10000 }, (_, i) => ev(i, `e${i}`));
    many.splice(5000, 0, ev(undefined, "untimed"));
    const out: string[] = [];
    let maxAhead = 0;
    for await (const e of mergeByTime([stream(many, () => read++)], 5)) {
      out.push(String(e.fields.get("id")));
      maxAhead = Math.max(maxAhead, read - out.length);
    }
    assert.equal(out.length, 10001);
    assert.ok(out.includes("untimed"));
    assert.deepEqual(
      out.filter((x) => x !== "untimed"),
      many.filter((e) => e.time !== undefined).map((e) => String(e.fields.get("id"))),
    );
    assert.ok(maxAhead <= 8, `read ahead ${maxAhead} events (window 5 s, 1 event/s)`);
  });
});
