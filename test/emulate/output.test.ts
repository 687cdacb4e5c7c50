/** Every output format reads back through our own readers to the same events. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { eventToEvtxJson, formatForPath, render } from "../../src/emulate/output.js";
import type { WinEvent } from "../../src/events/model.js";
import { readInputs } from "../../src/readers/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-emulate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const events = emulate(
  scenarios.map((s) => s.name),
  { noise: 50 },
);

async function readBack(file: string): Promise<WinEvent[]> {
  const out: WinEvent[] = [];
  for await (const ev of readInputs([file])) out.push(ev);
  return out;
}

for (const [format, ext] of [
  ["ndjson", "json"],
  ["xml", "xml"],
  ["evtx", "evtx"],
] as const) {
  test(`${format}: reads back to equal System, EventData and time`, async () => {
    const file = path.join(dir, `all.${ext}`);
    writeFileSync(file, render(events, format));
    const back = await readBack(file);
    assert.equal(back.length, events.length);
    for (let i = 0; i < events.length; i++) {
      assert.deepEqual(back[i].system, events[i].system);
      assert.deepEqual(back[i].eventData, events[i].eventData);
      assert.equal(back[i].timeTicks, events[i].timeTicks);
    }
  });
}

test("ndjson is the evtx_dump shape", () => {
  const ev = events.find((e) => e.system.eventID === "10016")!;
  const j = eventToEvtxJson(ev).Event as Record<string, unknown>;
  const system = j.System as Record<string, unknown>;
  assert.deepEqual(system.EventID, { "#attributes": { Qualifiers: 0 }, "#text": 10016 });
  assert.deepEqual(system.Provider, {
    "#attributes": {
      Name: "Microsoft-Windows-DistributedCOM",
      Guid: "{1b562e86-b7aa-4131-badc-b6f3a001407e}",
      EventSourceName: "DCOM",
    },
  });
  assert.equal(Object.keys(j.EventData as object)[0], "param1");
});

test("the format follows the output file's extension", () => {
  assert.equal(formatForPath("x.EVTX"), "evtx");
  assert.equal(formatForPath("x.xml"), "xml");
  assert.equal(formatForPath("x.json"), "ndjson");
  assert.equal(formatForPath(undefined), "ndjson");
});
