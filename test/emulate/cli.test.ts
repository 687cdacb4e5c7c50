import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { UsageError } from "../../src/cli/common.js";
import { emulateCommand, resolveScenarioNames, scenarioListText } from "../../src/cli/emulate.js";
import { scenarios } from "../../src/emulate/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-emulate-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("--list names and describes every scenario", () => {
  const text = scenarioListText();
  for (const s of scenarios) assert.ok(text.includes(s.name) && text.includes(s.description), s.name);
  assert.equal(text.trimEnd().split("\n").length, scenarios.length);
});

test("group names expand; an unknown scenario is a usage error", () => {
  assert.equal(resolveScenarioNames(["all"]).length, scenarios.length);
  assert.ok(resolveScenarioNames(["benign"]).every((n) => n.startsWith("benign-")));
  assert.throws(
    () => resolveScenarioNames(["remote-nope"]),
    (e: unknown) => e instanceof UsageError && /unknown scenario 'remote-nope'/.test(e.message),
  );
});

test("bad options are usage errors (exit 2 via the dispatcher)", async () => {
  await assert.rejects(emulateCommand([]), UsageError);
  await assert.rejects(
    emulateCommand(["seed-1-mmc20", "--seed", "abc"]),
    /--seed must be a non-negative integer/,
  );
  await assert.rejects(emulateCommand(["seed-1-mmc20", "--noise", "-3"]), UsageError);
  await assert.rejects(
    emulateCommand(["seed-1-mmc20", "--start", "soon"]),
    /--start must be an ISO timestamp/,
  );
  await assert.rejects(
    emulateCommand(["seed-1-mmc20", "--format", "csv"]),
    /--format must be one of evtx, xml, ndjson/,
  );
  await assert.rejects(emulateCommand(["seed-1-mmc20", "--bogus"]), UsageError);
});

test("-o FILE.evtx writes EVTX; -o FILE.xml writes XML; same seed, same bytes", async () => {
  const evtx = path.join(dir, "a.evtx");
  assert.equal(await emulateCommand(["seed-1-mmc20", "remote-mmc20", "-o", evtx, "--seed", "9"]), 0);
  assert.equal(readFileSync(evtx).subarray(0, 8).toString("latin1"), "ElfFile\0");
  const xml = path.join(dir, "a.xml");
  assert.equal(await emulateCommand(["seed-1-mmc20", "-o", xml, "--noise", "5"]), 0);
  const text = readFileSync(xml, "utf8");
  assert.match(text, /^<\?xml version="1.0" encoding="utf-8"\?>\n<Events>\n<Event xmlns=/);
  const again = path.join(dir, "b.xml");
  await emulateCommand(["seed-1-mmc20", "-o", again, "--noise", "5"]);
  assert.equal(readFileSync(again, "utf8"), text);
  const nd = path.join(dir, "a.out");
  await emulateCommand(["seed-1-mmc20", "-o", nd]);
  const lines = readFileSync(nd, "utf8").trimEnd().split("\n");
  assert.ok(lines.length > 5);
  for (const l of lines) assert.ok("Event" in JSON.parse(l));
});
