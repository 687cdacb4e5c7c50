/**
 * Property-based fuzz test of the command line: hostile files (random bytes, cut and bit-flipped EVTX,
 * broken NDJSON/XML/CSV, cut gzip, zips with unsafe names), hostile rule files and SPL, random options and
 * outputs (missing folders, a folder, /dev/full). Whatever comes in, the CLI answers with an exit code
 * in {0,1,2,3,4} and never a stack trace or an internal error. Bounded in time (FUZZ_SECONDS, default 15);
 * FUZZ_SEED replays a run.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { run } from "../../src/cli/main.js";
import { emulate } from "../../src/emulate/index.js";
import { writeEvtxFile } from "../../src/readers/evtx/writer.js";
import { makeZip } from "../fixtures/readers/zip-writer.js";
import { repoRoot } from "../helpers/env.js";

const seconds = Number(process.env.FUZZ_SECONDS ?? 15);
const seed = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-fuzz-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

let evtx: Buffer;
let ndjson: string;
const seedRule = readFileSync(path.join(repoRoot, "rules", "dcom_lateral_movement_seed.yml"), "utf8");

before(async () => {
  const events = emulate(["remote-mmc20"], { noise: 40 });
  const file = path.join(tmp, "base.evtx");
  await writeEvtxFile(file, events);
  evtx = readFileSync(file);
  const conv = path.join(tmp, "base.ndjson");
  const code = await run(["convert", file, "-q", "-o", conv]);
  assert.equal(code, 0);
  ndjson = readFileSync(conv, "utf8");
});

/** A hostile input file's bytes, made from a seed-derived recipe once the bases exist. */
type Recipe =
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "evtx-cut"; at: number; flips: [number, number][] }
  | { kind: "ndjson"; cutStart: number; cutEnd: number; junk: string }
  | { kind: "text"; text: string; ext: string }
  | { kind: "gz-cut"; at: number }
  | { kind: "zip"; names: string[] };

const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 4096 }) }),
  fc.record({
    kind: fc.constant("evtx-cut" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }),
  }),
  fc.record({
    kind: fc.constant("ndjson" as const),
    cutStart: fc.double({ min: 0, max: 1, noNaN: true }),
    cutEnd: fc.double({ min: 0, max: 1, noNaN: true }),
    junk: fc.string({ maxLength: 200 }),
  }),
  fc.record({
    kind: fc.constant("text" as const),
    text: fc.oneof(
      fc.string({ maxLength: 2000 }),
      fc.constantFrom(
        "<Events><Event><System><EventID>1</EventID>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><Event>&a;&a;</Event>',
        'EventCode,host\n1,"unterminated\n',
        "[".repeat(5000),
        "{".repeat(5000),
        `Record 1\n${"{".repeat(100)}`,
      ),
    ),
    ext: fc.constantFrom(".xml", ".json", ".ndjson", ".csv", ".evtx", ".log"),
  }),
  fc.record({ kind: fc.constant("gz-cut" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    kind: fc.constant("zip" as const),
    names: fc.array(fc.constantFrom("ok.evtx", "../../evil", "/abs.evtx", "a\\b.json", "dir/", "x.ndjson"), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
);

function materialise(r: Recipe, i: number): string {
  const base = path.join(tmp, `in-${i}`);
  switch (r.kind) {
    case "random":
      writeFileSync(`${base}.bin`, r.bytes);
      return `${base}.bin`;
    case "evtx-cut": {
      const b = Buffer.from(evtx.subarray(0, Math.max(1, Math.floor(evtx.length * r.at))));
      for (const [at, v] of r.flips) if (b.length) b[at % b.length] = v;
      writeFileSync(`${base}.evtx`, b);
      return `${base}.evtx`;
    }
    case "ndjson": {
      const [a, z] = [r.cutStart, r.cutEnd].sort((x, y) => x - y);
      writeFileSync(
        `${base}.ndjson`,
        `${r.junk}\n${ndjson.slice(Math.floor(ndjson.length * a), Math.floor(ndjson.length * z))}`,
      );
      return `${base}.ndjson`;
    }
    case "text":
      writeFileSync(`${base}${r.ext}`, r.text);
      return `${base}${r.ext}`;
    case "gz-cut": {
      const gz = gzipSync(ndjson);
      writeFileSync(`${base}.ndjson.gz`, gz.subarray(0, Math.floor(gz.length * r.at)));
      return `${base}.ndjson.gz`;
    }
    case "zip":
      writeFileSync(
        `${base}.zip`,
        makeZip(r.names.map((name) => ({ name, data: name.endsWith("evtx") ? evtx : Buffer.from(ndjson) }))),
      );
      return `${base}.zip`;
  }
}

const splPiece = fc.constantFrom(
  "index=*",
  "EventCode=1",
  "|",
  " | ",
  "eval x=",
  "stats count by host",
  "where",
  "(",
  ")",
  '"',
  "NOT",
  "OR",
  "table _time host",
  'rex field=_raw "(?<a>\\\\w+"',
  "head 3",
  "sort - _time",
  "dedup host",
  "abs(",
  "case(",
  ",",
  "1",
  "`m`",
  "inputlookup x.csv",
  "transaction host maxspan=",
  "bin _time span=",
  "mvexpand x",
  "lookup t a",
  "*",
);
const spl = fc.oneof(
  fc.array(splPiece, { maxLength: 30 }).map((p) => p.join(" ")),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    `${"(".repeat(3000)}a`,
    `index=* | eval x=${"abs(".repeat(3000)}1`,
    `index=*${" | eval x=1".repeat(1200)}`,
  ),
);

const ruleText = fc.oneof(
  fc.constant(seedRule),
  fc.string({ maxLength: 500 }),
  fc.tuple(fc.nat(seedRule.length), fc.string({ maxLength: 40 })).map(([at, s]) => seedRule.slice(0, at) + s),
  fc.constant(
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n',
  ),
  spl.map((s) => seedRule.replace(/^search: \|[\s\S]*?^(?=\S)/m, `search: ${JSON.stringify(s)}\n`)),
);

const output = fc.constantFrom("file", "missing", "folder", "devfull", "none");
const option = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        "--since",
        "--until",
        "--now",
        "--format",
        "-f",
        "--threads",
        "--tz",
        "--seed",
        "--noise",
        "--start",
      ),
      fc.oneof(
        fc.constantFrom(
          "-24h",
          "24h",
          "",
          "2024-03-12T09:00:00Z",
          "x",
          "99999999999999999999",
          "-1",
          "table",
          "json",
          "csv",
        ),
        fc.string({ maxLength: 12 }),
      ),
    )
    .map(([k, v]) => [k, v]),
  fc.constantFrom(
    ["--full"],
    ["--explain"],
    ["--strict"],
    ["--no-dedup"],
    ["--recover"],
    ["--fail-on-detect"],
    ["-q"],
    ["--bogus"],
  ),
);

const scenario = fc.record({
  command: fc.constantFrom("scan", "search", "convert", "rules-lint", "validate", "export", "emulate"),
  inputs: fc.array(recipe, { minLength: 1, maxLength: 3 }),
  spl,
  rule: ruleText,
  options: fc.array(option, { maxLength: 3 }),
  output,
});

let n = 0;
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
async function exercise(s: Scenario) {
  const i = n++;
  const inputs = s.inputs.map((r: Recipe, k: number) => materialise(r, i * 10 + k));
  const ruleFile = path.join(tmp, `rule-${i}.yml`);
  writeFileSync(ruleFile, s.rule);
  const outFile = {
    file: path.join(tmp, `out-${i}`),
    missing: path.join(tmp, "no-such-folder", `out-${i}`),
    folder: tmp,
    devfull: existsSync("/dev/full") ? "/dev/full" : path.join(tmp, `out-${i}`),
    none: undefined,
  }[s.output];
  const opts = (s.options as string[][]).flat();
  let argv: string[];
  switch (s.command) {
    case "scan":
      argv = ["scan", ...inputs, "--rules", ruleFile, ...opts];
      break;
    case "search":
      argv = ["search", s.spl, ...inputs, ...opts];
      break;
    case "convert":
      argv = ["convert", ...inputs, ...opts];
      break;
    case "rules-lint":
      argv = ["rules", "lint", "--rules", ruleFile, ...inputs.slice(0, 1)];
      break;
    case "validate":
      argv = ["validate", "--rules", ruleFile];
      break;
    case "export":
      argv = ["export", "--target", "sql", "--rules", ruleFile];
      break;
    default:
      argv = ["emulate", "remote-mmc20", ...opts.filter((o) => o !== "--noise")];
  }
  // stdout is the test runner's channel: every run writes to a file (or a failing path).
  const out = outFile ?? path.join(tmp, `out-${i}`);
  if (s.command === "export") {
    mkdirSync(path.join(tmp, `export-${i}`), { recursive: true });
    argv.push("-o", s.output === "file" ? path.join(tmp, `export-${i}`) : out);
  } else argv.push("-o", out);
  const stderr: string[] = [];
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run(argv);
  } finally {
    process.stderr.write = ew;
  }
  const err = stderr.join("");
  const shown = `argv: ${JSON.stringify(argv).slice(0, 600)}\nstderr: ${err.slice(0, 1500)}`;
  assert.ok([0, 1, 2, 3, 4].includes(code), `exit ${code}\n${shown}`);
  assert.doesNotMatch(err, /internal error/, shown);
  assert.doesNotMatch(err, /\n\s+at \S+ \(/, shown);
}

test(`CLI fuzz: exit in {0,1,2,3,4}, no stack trace (${seconds} s, seed ${seed})`, async () => {
  console.log(`# fuzz seed ${seed} (replay with FUZZ_SEED=${seed})`);
  await fc.assert(fc.asyncProperty(scenario, exercise), {
    seed,
    numRuns: 100000,
    interruptAfterTimeLimit: seconds * 1000,
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
  assert.ok(n > 5, `only ${n} runs in ${seconds} s`);
  console.log(`# fuzz: ${n} CLI runs`);
});
