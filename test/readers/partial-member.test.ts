/**
 * "(file skipped)" is never said of an input whose records were read: a zip member whose data turns bad
 * part way keeps the records read before the damage, and the loss is reported as the rest of the member.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { newInputStats, readInputs } from "../../src/readers/index.js";
import { formatIssue } from "../../src/report/summary.js";
import { makeZip } from "../fixtures/readers/zip-writer.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-partial-member-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("a zip member damaged part way: records before the damage are kept, the rest is reported lost", async () => {
  const lines = Array.from({ length: 3000 }, (_, i) =>
    JSON.stringify({
      EventCode: 1,
      host: "h",
      _time: `2024-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`,
      x: `v${i}`.repeat(5 + (i % 7)),
    }),
  ).join("\n");
  const zip = makeZip([{ name: "a.ndjson", data: Buffer.from(`${lines}\n`) }]);
  const body = 30 + "a.ndjson".length;
  const at = body + Math.floor((zip.length - body) * 0.6);
  for (let i = 0; i < 40; i++) zip[at + i] ^= 0x5a;
  const file = path.join(tmp, "damaged.zip");
  writeFileSync(file, zip);
  const stats = newInputStats();
  let n = 0;
  for await (const _ of readInputs([file], { stats })) n++;
  assert.ok(n > 1000, `${n} records read`);
  const failure = stats.issues.find((i) => i.lost !== "record");
  assert.ok(failure, JSON.stringify(stats.issues.slice(-3)));
  assert.equal(failure.lost, "rest");
  assert.match(failure.location, /^after \d+ record\(s\)$/);
  assert.doesNotMatch(formatIssue(failure), /\(file skipped\)/);
});
