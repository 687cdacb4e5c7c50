import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildDemo, DEMO_FILE, DEMO_SCENARIOS } from "../../src/emulate/build-demo.js";
import { findScenario } from "../../src/emulate/index.js";
import { readInputs } from "../../src/readers/index.js";

const file = path.resolve(fileURLToPath(import.meta.url), "../../..", DEMO_FILE);

test("the committed demo file equals what build-demo generates now", () => {
  const committed = readFileSync(file);
  const built = buildDemo();
  assert.ok(
    Buffer.compare(committed, Buffer.from(built)) === 0,
    "demo/demo.evtx is stale: run node --import tsx src/emulate/build-demo.ts",
  );
  assert.ok(committed.length <= 300 * 1024, `demo is ${committed.length} bytes`);
});

test("the demo holds attacks and benign scenarios on both hosts, and reads back", async () => {
  const kinds = new Set(DEMO_SCENARIOS.map((n) => findScenario(n)?.kind));
  assert.deepEqual([...kinds].sort(), ["attack", "benign"]);
  const computers = new Set<string>();
  let n = 0;
  for await (const ev of readInputs([file])) {
    n++;
    computers.add(ev.system.computer ?? "");
  }
  assert.ok(n > 100);
  assert.deepEqual([...computers].sort(), ["SRV-APP02.corp.example", "WKS01.corp.example"]);
});

test("demo/README.md lists exactly the demo's scenarios", () => {
  const readme = readFileSync(path.join(path.dirname(file), "README.md"), "utf8");
  const listed = [...readme.matchAll(/^\| ([a-z][a-z0-9-]*) +\|/gm)]
    .map((m) => m[1])
    .filter((n) => n !== "scenario");
  assert.deepEqual(listed, [...DEMO_SCENARIOS]);
});
