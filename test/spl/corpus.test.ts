/**
 * The seed query over the real public telemetry in ../shared/corpus: the EventRecordIDs it returns must
 * equal the hand-labelled `seed` / `seed_hits` of ground-truth.json, with push-down on and off.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { defaultFieldViewOptions, toSplunkEvent } from "../../src/events/fields.js";
import type { SystemPredicate, WinEvent } from "../../src/events/model.js";
import { readInputs } from "../../src/readers/index.js";
import { compileSearch } from "../../src/spl/index.js";
import { corpusDir, repoRoot, skipUnless } from "../helpers/env.js";

const corpus = corpusDir;
const skip = skipUnless(existsSync(path.join(corpus, "ground-truth.json")), `corpus absent: ${corpus}`);
const seedFile = path.resolve(repoRoot, "../shared/reference/seed.spl");

interface Expectation {
  file: string;
  ids: number[];
}

function expectations(): Expectation[] {
  const truth = JSON.parse(readFileSync(path.join(corpus, "ground-truth.json"), "utf8"));
  const out: Expectation[] = [];
  for (const a of truth.attacks) out.push({ file: a.file, ids: a.seed });
  for (const n of truth.negatives) out.push({ file: n.file, ids: n.seed_hits });
  for (const b of truth.benign) out.push({ file: b, ids: [] });
  return out;
}

async function seedIds(file: string, pushdown: boolean): Promise<number[]> {
  const seed = existsSync(seedFile) ? readFileSync(seedFile, "utf8") : "";
  const search = compileSearch(seed, { fieldView: defaultFieldViewOptions });
  const filter: SystemPredicate | undefined = pushdown ? search.pushdown : undefined;
  async function* events() {
    for await (const ev of readInputs([file], { filter }) as AsyncIterable<WinEvent>)
      yield toSplunkEvent(ev, defaultFieldViewOptions);
  }
  const ids: number[] = [];
  for await (const row of search.run(events())) ids.push(Number(row.event?.system.eventRecordID));
  return ids.sort((a, b) => a - b);
}

describe("seed query on the real corpus", { skip }, () => {
  if (skip) return;
  for (const e of expectations()) {
    test(`${e.file}: returns ${e.ids.length === 0 ? "nothing" : `records ${e.ids.join(", ")}`} (push-down on and off)`, async () => {
      const file = path.join(corpus, e.file);
      const withPushdown = await seedIds(file, true);
      assert.deepEqual(
        withPushdown,
        [...e.ids].sort((a, b) => a - b),
      );
      if (!e.file.endsWith(".json")) assert.deepEqual(await seedIds(file, false), withPushdown);
    });
  }
});
