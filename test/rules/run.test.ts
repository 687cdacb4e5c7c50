import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultFieldViewOptions, type SplunkEvent } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import { type CompiledRule, DuplicateFilter, runRules } from "../../src/rules/run.js";
import type { CompiledSearch } from "../../src/spl/index.js";

function event(i: number, computer = "WKS01"): WinEvent {
  return {
    system: {
      eventID: "1",
      channel: "Microsoft-Windows-Sysmon/Operational",
      computer,
      eventRecordID: String(i),
      systemTime: "2024-03-12T09:00:00.0000000Z",
    },
    eventData: [{ name: "Image", value: `C:\\x\\${i}.exe` }],
    timeTicks: 133546860000000000n + BigInt(i) * 10000000n,
    provenance: { file: "mem", format: "xml", line: i },
  };
}

const rule = { id: "r1", name: "r1", file: "mem", search: "*" } as LoadedRule;

function searchRule(run: CompiledSearch["run"]): CompiledRule {
  const search = {
    pushdown: undefined,
    run,
    columns: () => undefined,
    transforming: false,
  } as unknown as CompiledSearch;
  return { rule, kind: "search", search };
}

async function* stream(events: WinEvent[]): AsyncGenerator<WinEvent> {
  yield* events;
}

describe("rule runner", () => {
  test("a search that fails mid-run stops the run with its error instead of blocking the reader", async () => {
    const failing = searchRule(async function* (events: AsyncIterable<SplunkEvent>) {
      let n = 0;
      for await (const _ of events) {
        if (++n > 5) {
          // let the reader fill the queue and wait on it first
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error("boom");
        }
      }
      yield* [];
    });
    const events = Array.from({ length: 5000 }, (_, i) => event(i));
    await assert.rejects(
      runRules(
        [failing],
        { streams: [stream(events)] },
        { fieldView: defaultFieldViewOptions },
        { row() {}, alert() {} },
      ),
      /boom/,
    );
  });

  test("every search rule sees every event once, with bounded queues", async () => {
    const seen = [0, 0];
    const counting = (k: number) =>
      searchRule(async function* (events: AsyncIterable<SplunkEvent>) {
        for await (const _ of events) seen[k]++;
        yield* [];
      });
    const events = Array.from({ length: 3000 }, (_, i) => event(i));
    const result = await runRules(
      [counting(0), { ...counting(1), rule: { ...rule, id: "r2" } as LoadedRule }],
      { streams: [stream(events)] },
      { fieldView: defaultFieldViewOptions },
      { row() {}, alert() {} },
    );
    assert.deepEqual(seen, [3000, 3000]);
    assert.equal(result.events, 3000);
  });

  test("duplicates: same Computer, Channel, EventRecordID and time once; a re-used id at another time kept", () => {
    const d = new DuplicateFilter();
    const a = event(7);
    assert.equal(d.isDuplicate(a, 100.5), false);
    assert.equal(d.isDuplicate({ ...a, provenance: { file: "other.xml", format: "xml" } }, 100.5), true);
    assert.equal(d.isDuplicate(a, 200), false, "same id, other time: a cleared and restarted log");
    assert.equal(d.isDuplicate(event(7, "SRV02"), 100.5), false, "other computer");
    assert.equal(d.duplicates, 1);
  });
});
