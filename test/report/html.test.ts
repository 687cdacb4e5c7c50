/**
 * The HTML report's Node side: the embedded JSON cannot end its script element, the page forbids the
 * network and allows only its own script, `report` renders a saved json/ndjson result (bad lines
 * reported with their line), and `--report-data` adds evidence details and a run record to json output
 * while plain json stays as it was.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.js";
import { DATA_ELEMENT_ID, escapeJsonForScript, loadReportApp } from "../../src/report/html/page.js";
import { skipUnlessExists } from "../helpers/env.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-html-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

before(() => {
  // the front-end bundle the pages inline (npm run build makes it; rebuilt here so it is current)
  execFileSync(process.execPath, [path.join(root, "scripts", "build-report-app.mjs")], { stdio: "pipe" });
});

/** The JSON text inside the page's data element, parsed. */
function embedded(html: string): unknown[] {
  const open = `<script type="application/json" id="${DATA_ELEMENT_ID}">`;
  const start = html.indexOf(open);
  assert.ok(start > 0, "data element present");
  const end = html.indexOf("</script>", start);
  return JSON.parse(html.slice(start + open.length, end)) as unknown[];
}

async function quietRun(args: string[]): Promise<number> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await run(args);
  } finally {
    process.stderr.write = write;
  }
}

describe("escaping the embedded result", () => {
  test("no '<', '>', '&' or line separator survives; the value parses back the same", () => {
    const hostile = {
      CommandLine: '</script><img src=x onerror="alert(1)"><!-- & \u2028\u2029 ]]>',
      "</script>key": "<script>x</script>",
    };
    const text = escapeJsonForScript(JSON.stringify(hostile));
    assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(text), hostile);
  });
});

describe("the page", () => {
  test("one file: CSP forbids the network, allows the inlined bundle by hash; hostile values stay in the data", async () => {
    const saved = path.join(tmp, "hostile.ndjson");
    const row = {
      _time: "2024-01-01T00:00:00Z",
      CommandLine: "</script><script>alert(1)</script>",
      _rule: "x",
    };
    writeFileSync(saved, `${JSON.stringify(row)}\n`);
    const out = path.join(tmp, "hostile.html");
    assert.equal(await quietRun(["report", saved, "-o", out]), 0);
    const html = readFileSync(out, "utf8");
    const app = loadReportApp();
    assert.ok(typeof app === "object");
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? "";
    for (const d of ["default-src 'none'", "connect-src 'none'", "img-src data: blob:", "form-action 'none'"])
      assert.ok(csp.includes(d), d);
    const hash = createHash("sha256").update(app.script).digest("base64");
    assert.ok(csp.includes(`script-src 'sha256-${hash}'`));
    // exactly two script elements: the data (not executed) and the bundle; no external reference
    assert.equal(html.match(/<script/g)?.length, 2);
    assert.doesNotMatch(html.replace(app.script, ""), /https?:\/\//);
    assert.deepEqual(embedded(html), [row]);
  });

  test("report: a JSON array and NDJSON give the same page data; a bad line is reported and left out", async () => {
    const elements = [
      { a: "1", _rule: "r" },
      { b: "2", _rule: "r" },
    ];
    const arr = path.join(tmp, "saved.json");
    const nd = path.join(tmp, "saved.ndjson");
    writeFileSync(arr, `[\n${elements.map((e) => JSON.stringify(e)).join(",\n")}\n]\n`);
    writeFileSync(nd, `${JSON.stringify(elements[0])}\nnot json\n${JSON.stringify(elements[1])}\n`);
    const a = path.join(tmp, "a.html");
    const b = path.join(tmp, "b.html");
    assert.equal(await quietRun(["report", arr, "-o", a]), 0);
    assert.equal(await quietRun(["report", nd, "-o", b]), 3, "a left-out line is exit 3");
    assert.deepEqual(embedded(readFileSync(a, "utf8")), elements);
    assert.deepEqual(embedded(readFileSync(b, "utf8")), elements);
    assert.equal(await quietRun(["report"]), 2);
    assert.equal(await quietRun(["report", path.join(tmp, "absent.json")]), 2);
  });
});

describe("json --report-data", () => {
  const demo = path.join(root, "demo", "demo.evtx");
  const skip = skipUnlessExists(demo, "bundled demo");

  test("plain json is unchanged; --report-data adds evidence steps/fields and closes with the run record", {
    skip,
  }, async () => {
    const plain = path.join(tmp, "plain.json");
    const rich = path.join(tmp, "rich.json");
    assert.equal(await quietRun(["scan", demo, "-f", "json", "-o", plain]), 0);
    assert.equal(await quietRun(["scan", demo, "-f", "json", "--report-data", "-o", rich]), 0);
    const p = JSON.parse(readFileSync(plain, "utf8")) as Record<string, unknown>[];
    const r = JSON.parse(readFileSync(rich, "utf8")) as Record<string, unknown>[];
    assert.ok(p.every((x) => !("_dcomhunt_run" in x)));
    assert.equal(r.length, p.length + 1);
    const alertsP = p.filter((x) => Array.isArray(x.evidence));
    const alertsR = r.filter((x) => Array.isArray(x.evidence));
    assert.ok(alertsP.length > 0);
    for (const a of alertsP)
      for (const e of a.evidence as Record<string, unknown>[]) {
        assert.ok(!("fields" in e) && !("steps" in e) && !("_offset" in e));
      }
    for (const a of alertsR) {
      assert.ok(Array.isArray(a.explain));
      for (const e of a.evidence as Record<string, unknown>[]) {
        assert.ok((e.steps as string[]).length > 0);
        assert.equal((e.fields as Record<string, string>).EventRecordID, e._record_id);
        assert.match(String(e._offset), /^\d+$/);
      }
    }
    const run = (r.at(-1) as { _dcomhunt_run: Record<string, unknown> })._dcomhunt_run;
    const inputs = run.inputs as { path: string; sha256: string; records: number }[];
    assert.equal(inputs.length, 1);
    assert.equal(inputs[0].sha256, createHash("sha256").update(readFileSync(demo)).digest("hex"));
    assert.ok(inputs[0].records > 0);
    const counts = run.counts as { records: number; results_per_rule: Record<string, number> };
    assert.equal(counts.records, inputs[0].records);
    const total = Object.values(counts.results_per_rule).reduce((x, y) => x + y, 0);
    assert.equal(total, p.length);
  });
});
