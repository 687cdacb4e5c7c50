/**
 * Output failures are never silent: every command's write error is one message naming the path, exit 4,
 * no stack trace, and no file left behind that looks complete (a temporary file is renamed at the end).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/main.js";
import { repoRoot, skipUnless } from "../helpers/env.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-output-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const demo = path.join(repoRoot, "demo", "demo.evtx");

/**
 * Run the CLI in-process, capturing stderr (stdout is the test runner's channel: every command here
 * writes to -o).
 */
export async function capture(argv: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await run(argv);
    return { code, stderr: err.join("") };
  } finally {
    process.stderr.write = ew;
  }
}

const missing = "/nonexistent-dcomhunt/dir";
const commands: [string, (o: string) => string[]][] = [
  ["validate", (o) => ["validate", "--rules", "seed", "-o", o]],
  ["rules list", (o) => ["rules", "list", "-o", o]],
  ["emulate ndjson", (o) => ["emulate", "remote-mmc20", "-o", `${o}.ndjson`]],
  ["emulate evtx", (o) => ["emulate", "remote-mmc20", "-o", `${o}.evtx`]],
  ["scan", (o) => ["scan", demo, "-q", "-o", o]],
  ["search", (o) => ["search", "index=* | head 5", demo, "-q", "-o", o]],
  ["convert", (o) => ["convert", demo, "-q", "-o", o]],
];

describe("write errors: exit 4, one message naming the path, no stack trace", () => {
  for (const [name, argv] of commands) {
    test(`${name} -o into a missing folder`, async () => {
      const r = await capture(argv(`${missing}/x`));
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /cannot write \/nonexistent-dcomhunt\/dir\/x.*no such folder/);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
    // validate's write path is the others' (its tests take seconds to run): one case is enough there.
    if (name === "validate") continue;
    test(`${name} -o /dev/full (disk full)`, {
      skip: skipUnless(existsSync("/dev/full"), "no /dev/full"),
    }, async () => {
      const args = argv("/dev/full").map((a) => (a.startsWith("/dev/full") ? "/dev/full" : a));
      const r = await capture(args);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /cannot write \/dev\/full: no space left/);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }

  test("export -o an existing file, and -o /proc/x, are exit 4 and return", async () => {
    const file = path.join(tmp, "a-file");
    writeFileSync(file, "keep me");
    const r = await capture(["export", "-t", "sigma", "--rules", "seed", "-o", file]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /cannot write .*a-file: it exists and is not a folder/);
    assert.equal(readFileSync(file, "utf8"), "keep me");
    const p = await capture(["export", "-t", "sigma", "--rules", "seed", "-o", "/proc/dcomhunt-x"]);
    assert.equal(p.code, 4, p.stderr);
  });

  test("-o a folder is exit 4", async () => {
    const r = await capture(["rules", "list", "-o", tmp]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /it is a folder/);
  });
});

describe("the result appears whole or not at all", () => {
  test("a successful run leaves only the result (no temporary file)", async () => {
    const dir = mkdtempSync(path.join(tmp, "ok-"));
    const r = await capture(["convert", demo, "-q", "-o", path.join(dir, "out.ndjson")]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), ["out.ndjson"]);
    assert.ok(readFileSync(path.join(dir, "out.ndjson"), "utf8").split("\n").length > 100);
  });

  test("a run that fails keeps the previous file and leaves no temporary file", async () => {
    const dir = mkdtempSync(path.join(tmp, "fail-"));
    const file = path.join(dir, "out.txt");
    writeFileSync(file, "previous result\n");
    const r = await capture(["search", "index=* | eval x=", demo, "-q", "-o", file]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(readdirSync(dir), ["out.txt"]);
    assert.equal(readFileSync(file, "utf8"), "previous result\n");
  });
});
