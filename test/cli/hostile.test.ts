/**
 * Hostile rules and SPL are usage errors (exit 2) with a positioned message, never an internal error:
 * YAML alias bombs, 2,000 nested parentheses, 20,000 nested calls, 5,000 `| eval` stages, long chains.
 * Also the small selector fixes: `rules show nosuch` has no fake position; `--rules FOLDER` is a path.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/main.js";
import { MAX_COMMANDS, MAX_NESTING } from "../../src/spl/limits.js";
import { parseSpl } from "../../src/spl/parser.js";
import { repoRoot } from "../helpers/env.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-hostile-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const demo = path.join(repoRoot, "demo", "demo.evtx");

async function capture(argv: string[]): Promise<{ code: number; stderr: string }> {
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

const noCrash = (r: { code: number; stderr: string }) => {
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.ok(r.stderr.length < 2000, `message kept short (${r.stderr.length} chars)`);
};

const hostileSpl: [string, string, RegExp][] = [
  ["2,000 nested parentheses", `${"(".repeat(2000)}a=1${")".repeat(2000)}`, /spl:1:\d+: nested too deeply/],
  [
    "20,000 nested function calls",
    `index=* | eval x=${"abs(".repeat(20000)}1${")".repeat(20000)}`,
    /spl:1:\d+: nested too deeply/,
  ],
  ["5,000 eval stages", `index=*${" | eval x=1".repeat(5000)}`, /spl:1:\d+: too many commands \(5001/],
  ["a 20,000-term chain", `index=* | eval x=${Array(20000).fill("1").join("+")}`, /expression too deep/],
  ["5,000 unary minus", `index=* | eval x=${"-".repeat(5000)}1`, /nested too deeply/],
  ["5,000 NOT", `${"NOT ".repeat(5000)}a`, /nested too deeply/],
  [
    "where with 2,000 parentheses",
    `index=* | where ${"(".repeat(2000)}1=1${")".repeat(2000)}`,
    /nested too deeply/,
  ],
];

describe("hostile SPL: exit 2 with a position", () => {
  for (const [name, spl, message] of hostileSpl) {
    test(name, async () => {
      assert.throws(() => parseSpl(spl), message);
      const r = await capture(["search", spl, demo, "-q", "-o", path.join(tmp, "x")]);
      noCrash(r);
      assert.match(r.stderr, message);
    });
  }
  test("searches just inside the limits still parse", () => {
    parseSpl(`index=*${" | eval x=1".repeat(MAX_COMMANDS - 1)}`);
    parseSpl(`index=* | eval x=${"abs(".repeat(MAX_NESTING - 2)}1${")".repeat(MAX_NESTING - 2)}`);
    parseSpl(`index=* | eval x=${Array(900).fill("1").join("+")}`);
  });
});

describe("hostile rule files: exit 2 with a position", () => {
  // Each level refers to the previous nine times: 9^10 nodes once expanded.
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  const names = "bcdefghij";
  for (let i = 0; i < names.length; i++) {
    const prev = i === 0 ? "a" : names[i - 1];
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  const bomb = path.join(tmp, "bomb.yml");
  writeFileSync(bomb, `${lines.join("\n")}\nname: bomb\n`);
  for (const argv of [
    ["rules", "lint", "--rules", bomb],
    ["validate", "--rules", bomb],
    ["scan", demo, "-q", "--rules", bomb, "-o", path.join(tmp, "y")],
  ]) {
    test(`a YAML alias bomb: ${argv.slice(0, 2).join(" ")}`, async () => {
      const r = await capture(argv);
      noCrash(r);
      assert.match(r.stderr, /bomb\.yml:2:\d+: YAML: aliases expand to too many nodes/);
    });
  }
  test("a rule file over the size limit", async () => {
    const big = path.join(tmp, "big.yml");
    writeFileSync(big, `name: big\ndescription: "${"x".repeat(1_100_000)}"\n`);
    const r = await capture(["rules", "lint", "--rules", big]);
    noCrash(r);
    assert.match(r.stderr, /big\.yml:1:1: rule file too large/);
  });
});

describe("rule selectors", () => {
  test("rules show nosuch: the message has no fake file position", async () => {
    const r = await capture(["rules", "show", "nosuch"]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /--rules:1:1/);
    assert.match(r.stderr, /no rule, pack or rule file named 'nosuch'/);
  });

  test("--rules FOLDER (no slash) is a path", async () => {
    const seed = readFileSync(path.join(repoRoot, "rules", "dcom_lateral_movement_seed.yml"), "utf8");
    const cwd = process.cwd();
    const dir = mkdtempSync(path.join(tmp, "cwd-"));
    mkdirSync(path.join(dir, "mydcom"));
    writeFileSync(path.join(dir, "mydcom", "mine.yml"), seed);
    process.chdir(dir);
    try {
      const out = path.join(dir, "list.json");
      const r = await capture(["rules", "list", "--rules", "mydcom", "-f", "json", "-o", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(readFileSync(out, "utf8")).length, 1);
    } finally {
      process.chdir(cwd);
    }
  });
});
