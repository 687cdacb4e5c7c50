/**
 * One set of coordinates per message: an error inside a searchmatch() string is placed in the search
 * (not "spl:1:29: ... spl:1:4: ..."), an SPL error of a rule file is placed in the file (line and column
 * of the file, also in the reason's "at line:col"), and an error at the end of a search points after its
 * last token, not at a line past it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { run } from "../../src/cli/main.js";
import { repoRoot } from "../helpers/env.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-coords-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function stderrOf(argv: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), stderr: err.join("") };
  } finally {
    process.stderr.write = ew;
  }
}

const coords = (line: string) => [...line.matchAll(/\b(\d+):(\d+)\b/g)].map((m) => `${m[1]}:${m[2]}`);

test("an error inside a searchmatch() string is placed in the search", async () => {
  const r = await stderrOf(["search", 'index=* | where searchmatch("x=(")', "-q"]);
  assert.equal(r.code, 2);
  const first = r.stderr.split("\n")[0];
  assert.equal(first, "spl:1:33: in searchmatch(): expected ')' to close '(' at 1:32");
  assert.equal((first.match(/spl:/g) ?? []).length, 1);
});

test("an SPL error of a rule file is in the file's coordinates, reason included", async () => {
  const seed = readFileSync(path.join(repoRoot, "rules", "dcom_lateral_movement_seed.yml"), "utf8");
  const lines = seed.split("\n");
  const at = lines.findIndex((l) => l === "  | sort - _time");
  assert.ok(at > 0);
  lines[at] = '  | sort - _time | where searchmatch("x=(")';
  const file = path.join(tmp, "bad.yml");
  writeFileSync(file, lines.join("\n"));
  const r = await stderrOf(["scan", "--rules", file, "-q"]);
  assert.equal(r.code, 2, r.stderr);
  const [first, shown, caret] = r.stderr.split("\n");
  const line = at + 1;
  const paren = lines[at].indexOf("(", lines[at].indexOf('"')) + 1;
  assert.equal(
    first,
    `${file}:${line}:${paren + 1}: in searchmatch(): expected ')' to close '(' at ${line}:${paren}`,
  );
  assert.deepEqual(
    coords(first).map((c) => Number(c.split(":")[0])),
    [line, line],
  );
  // The caret stands under the place in the file's own line.
  assert.equal(shown, lines[at]);
  assert.equal(caret.indexOf("^"), paren);
});

test("an error at the end of a search file points after its last token", async () => {
  const file = path.join(tmp, "q.spl");
  writeFileSync(file, "index=*\n| where x >\n");
  const r = await stderrOf(["search", "--spl-file", file, "-q"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split("\n")[0], `${file}:2:12: expected an expression`);
});
