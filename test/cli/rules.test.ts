import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/main.js";
import { corpusDir, skipUnless } from "../helpers/env.js";

const corpus = corpusDir;
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-rules-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function json(args: string[]): Promise<{ code: number; value: unknown }> {
  const out = path.join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  const code = await run([...args, "-f", "json", "-o", out]);
  return { code, value: JSON.parse(readFileSync(out, "utf8")) };
}

describe("dcomhunt rules", () => {
  test("list names every bundled rule with its pack", async () => {
    const { code, value } = await json(["rules", "list"]);
    assert.equal(code, 0);
    const rules = value as { pack: string; kind: string }[];
    assert.equal(rules.filter((r) => r.pack === "seed").length, 1);
    assert.ok(rules.filter((r) => r.pack === "dcom" && r.kind === "sequence").length >= 5);
  });

  test("lint exits 1 with the seed's traps; the dcom pack has none of them", async () => {
    const seed = await json(["rules", "lint", "--rules", "seed"]);
    assert.equal(seed.code, 1);
    const codes = new Set((seed.value as { code: string }[]).map((f) => f.code));
    assert.deepEqual([...codes].sort(), [
      "match-case",
      "match-substring",
      "sort-limit",
      "sourcetype-naming",
      "wildcard-prefix",
    ]);
    const dcom = await json(["rules", "lint", "--rules", "dcom"]);
    assert.deepEqual(dcom.value, []);
    assert.equal(dcom.code, 0);
  });

  test("lint with inputs names the comparisons that match nothing in the data", {
    skip: skipUnless(existsSync(corpus), `corpus absent: ${corpus}`),
  }, async () => {
    const { value } = await json([
      "rules",
      "lint",
      "--rules",
      "seed",
      path.join(corpus, "benign/security.evtx"),
    ]);
    const noData = (value as { code: string; message: string }[]).filter((f) => f.code === "no-data");
    assert.ok(noData.some((f) => f.message.startsWith("EventCode=1 matches none")));
    assert.ok(!noData.some((f) => f.message.startsWith("index=wineventlog")), "index matches every event");
  });
});
