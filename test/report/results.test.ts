/**
 * Result writers: a table of any length (no spread over every cell: past ~100k rows that overflowed the
 * stack), widths from a sample, fit to a terminal's width; CSV/NDJSON/JSON stream through the Output.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { openOutput } from "../../src/report/output.js";
import {
  columnWidths,
  createResultWriter,
  formatTextTable,
  TABLE_SAMPLE_ROWS,
} from "../../src/report/results.js";
import type { LoadedRule } from "../../src/rules/loader.js";
import type { ResultRow } from "../../src/spl/index.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-results-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const rule = { id: "adhoc", name: "search", file: "spl" } as unknown as LoadedRule;
const row = (i: number): ResultRow => ({
  fields: new Map<string, string | number>([
    ["host", `WKS${i % 1000}`],
    ["EventCode", String(i % 7)],
  ]),
  columns: ["host", "EventCode"],
});

async function writeRows(
  format: "table" | "csv" | "ndjson" | "json",
  n: number,
  width?: number,
): Promise<string> {
  const file = path.join(tmp, `out-${format}-${n}.txt`);
  const out = openOutput(file);
  const writer = createResultWriter(format, out, [rule], { tz: "UTC", width });
  for (let i = 0; i < n; i++) await writer.row(rule, row(i), ["host", "EventCode"]);
  await writer.finish();
  await out.close();
  return readFileSync(file, "utf8");
}

describe("result writers", () => {
  test("a 150,000-row table is written whole (past the old stack overflow)", async () => {
    const text = await writeRows("table", 150_000);
    const lines = text.trimEnd().split("\n");
    assert.equal(lines[0], "== search [adhoc]: 150000 rows");
    assert.equal(lines.length, 1 + 2 + 150_000);
    assert.equal(lines.at(-1), "WKS999  3");
  });

  test("CSV, NDJSON and JSON carry every row", async () => {
    assert.equal((await writeRows("csv", 5000)).trimEnd().split("\n").length, 5001);
    assert.equal((await writeRows("ndjson", 5000)).trimEnd().split("\n").length, 5000);
    assert.equal(JSON.parse(await writeRows("json", 3)).length, 3);
    assert.deepEqual(JSON.parse(await writeRows("json", 0)), []);
  });

  test("widths come from the header and a bounded sample; later wide cells are cut to fit", () => {
    const sample = [["a", "bb"]];
    assert.deepEqual(columnWidths(["host", "x"], sample), [4, 2]);
    assert.ok(TABLE_SAMPLE_ROWS >= 100);
  });

  test("a table fits a terminal's width", () => {
    const rows = [{ a: "x".repeat(60), b: "y".repeat(60), c: "z".repeat(60), d: "w".repeat(60) }];
    const text = formatTextTable(["a", "b", "c", "d"], rows, false, 80);
    for (const line of text.trimEnd().split("\n")) assert.ok(line.length <= 80, `${line.length}: ${line}`);
    assert.match(text, /…/);
  });
});
