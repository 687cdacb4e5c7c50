/**
 * The HTML report in a real browser (Debian's chromium driven by playwright-core, never a downloaded
 * browser): the reports of the real corpus and of the emulated estate open with no console error and no
 * network request; the graph holds ground truth's hosts and source addresses; clicking an edge opens the
 * incident with its process tree; filters and sort work; a 10,000-alert / 100,000-row report opens (its
 * time is printed, not asserted); an XSS corpus in every kind of field renders as text and runs nothing.
 * Screenshots go to test-results/ (not committed).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { run } from "../../src/cli/main.js";
import { syntheticResult } from "./synthetic.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const corpus = path.resolve(root, "..", "shared", "corpus");
const results = path.join(root, "test-results");
const CHROMIUM = "/usr/bin/chromium";
const inCI = Boolean(process.env.CI);

function need(what: string, present: boolean): string | false {
  if (present) return false;
  if (inCI) throw new Error(`CI: ${what} is required for the browser tests`);
  return `${what} absent`;
}
const skipBrowser = need(`chromium (${CHROMIUM})`, existsSync(CHROMIUM));
const skipCorpus = skipBrowser || need(`corpus (${corpus})`, existsSync(corpus));

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-browser-test-"));
let browser: Browser | undefined;

before(async () => {
  if (skipBrowser) return;
  execFileSync(process.execPath, [path.join(root, "scripts", "build-report-app.mjs")], { stdio: "pipe" });
  mkdirSync(results, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function quietRun(args: string[]): Promise<number> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await run(args);
  } finally {
    process.stderr.write = write;
  }
}

interface Opened {
  page: Page;
  errors: string[];
  requests: string[];
  readyMs: number;
}

/** Open a report file; collect console errors, page errors, dialogs and every non-file request. */
async function open(file: string, viewport = { width: 1400, height: 1000 }): Promise<Opened> {
  const page = await browser!.newPage({ viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { timeout: 180_000 });
  await page.waitForSelector("body[data-ready=true]", { timeout: 180_000 });
  const readyMs = await page.evaluate<number>("window.dcomhuntReport.readyMs");
  return { page, errors, requests, readyMs };
}

// Functions handed to page.evaluate are written as text: tsx would add helpers the page does not have.
const GRAPH_OF_PAGE = `(() => {
  const cy = window.dcomhuntReport.cy;
  const label = (id) => String(cy.getElementById(id).data("label"));
  return {
    nodes: cy.nodes().map((n) => String(n.data("label"))),
    edges: cy.edges().map((e) => ({ label: String(e.data("label")), source: label(e.data("source")), target: label(e.data("target")) })),
  };
})()`;

async function graph(
  page: Page,
): Promise<{ nodes: string[]; edges: { label: string; source: string; target: string }[] }> {
  return page.evaluate(GRAPH_OF_PAGE);
}

const MMC20_EDGE_POINT = `(() => {
  const cy = window.dcomhuntReport.cy;
  const edge = cy.edges().filter((e) => String(e.data("label")).startsWith("MMC20") && String(e.target().data("label")) === "IEWIN7")[0];
  const box = document.getElementById("graph").getBoundingClientRect();
  const mid = edge.renderedMidpoint();
  const src = edge.renderedSourceEndpoint();
  // a point on the line, between the source and the label in the middle
  return { x: box.left + (src.x + mid.x) / 2, y: box.top + (src.y + mid.y) / 2 };
})()`;

/** Show a view (or incident) by the URL fragment. */
async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/** Wait until the selector matches n elements. */
async function rowsShown(page: Page, selector: string, n: number): Promise<void> {
  // polled from here: the page's CSP forbids the eval that waitForFunction(string) needs
  const until = Date.now() + 30_000;
  let seen = -1;
  while (Date.now() < until) {
    seen = await page.locator(selector).count();
    if (seen === n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${selector}: ${seen} elements, expected ${n}`);
}

async function count(page: Page, table: string): Promise<number> {
  const status = page.locator(`#${table}`).locator("xpath=../..").locator("[data-role=status]");
  return Number(await status.getAttribute("data-count"));
}

interface Truth {
  attacks: { file: string; target: string; attacker_ip: string }[];
}

describe("report of the real corpus", { skip: skipCorpus }, () => {
  const html = path.join(tmp, "corpus.html");
  let opened: Opened;

  before(async () => {
    const code = await quietRun([
      "scan",
      path.join(corpus, "attacks"),
      path.join(corpus, "negatives"),
      path.join(corpus, "benign"),
      "--format",
      "html",
      "-o",
      html,
    ]);
    assert.ok(code === 0 || code === 3, `scan exit ${code}`);
    opened = await open(html);
  });
  after(() => opened?.page.close());

  test("opens with no console error and no network request; the file is under 5 MB", async () => {
    const size = readFileSync(html).length;
    console.log(
      `corpus report: ${(size / 1048576).toFixed(2)} MB, first view drawn at ${opened.readyMs.toFixed(0)} ms`,
    );
    assert.ok(size < 5 * 1048576);
    assert.deepEqual(opened.errors, []);
    assert.deepEqual(opened.requests, []);
    await opened.page.screenshot({ path: path.join(results, "report-overview.png"), fullPage: true });
  });

  test("the graph has ground truth's target hosts and source addresses, one edge per alert", async () => {
    const truth = JSON.parse(readFileSync(path.join(corpus, "ground-truth.json"), "utf8")) as Truth;
    const g = await graph(opened.page);
    const nodes = g.nodes.join("\n").toLowerCase();
    for (const a of truth.attacks) {
      const target = a.target.split(" ")[0].toLowerCase();
      assert.ok(nodes.includes(target), `target ${target} in ${g.nodes}`);
      assert.ok(nodes.includes(a.attacker_ip), `source ${a.attacker_ip} in ${g.nodes}`);
      // an edge from the attacker's node to the target's
      assert.ok(
        g.edges.some((e) => e.source.includes(a.attacker_ip) && e.target.toLowerCase().startsWith(target)),
        `edge ${a.attacker_ip} -> ${target}`,
      );
    }
    const alerts = await opened.page.evaluate<number>("window.dcomhuntReport.alerts");
    assert.equal(g.edges.length, alerts);
  });

  test("clicking the MMC20 edge opens its incident with the process tree svchost.exe -> mmc.exe -> cmd.exe", async () => {
    const { page } = opened;
    await go(page, "overview");
    const point = await page.evaluate<{ x: number; y: number }>(MMC20_EDGE_POINT);
    await page.mouse.click(point.x, point.y);
    await page.waitForSelector("#incident");
    assert.match(
      (await page.locator("#incident-title").textContent()) ?? "",
      /^MMC20: IEWIN7 ← 10\.0\.2\.19/,
    );
    const svchost = page.locator(".proctree li[data-image='svchost.exe']");
    const mmc = svchost.locator(":scope > ul > li[data-image='mmc.exe']");
    const cmd = mmc.locator(":scope > ul > li[data-image='cmd.exe']");
    assert.equal(await mmc.count(), 1);
    assert.equal(await cmd.count(), 3, "mmc.exe ran cmd.exe three times");
    assert.match((await cmd.first().locator(".cmdline").textContent()) ?? "", /ADMIN\$\\__1556656511/);
    // each event opens to its fields and provenance; the step mapping is shown
    const first = page.locator("details.event").first();
    await first.locator("summary").click();
    const body = (await first.locator(".event-body").textContent()) ?? "";
    assert.match(body, /_record_id\s*9832/);
    assert.match(body, /_offset\s*\d+/);
    assert.match(body, /ParentProcessGuid/);
    assert.match((await page.locator("#incident-explain").textContent()) ?? "", /server_sysmon → .*#9832/);
    await page.screenshot({ path: path.join(results, "report-incident.png"), fullPage: true });
  });

  test("a Security-only incident (4688) has its process tree too; Escape goes back", async () => {
    const { page } = opened;
    await go(page, "alerts");
    await page.fill("#filter-alert-host", "srvdefender01");
    await rowsShown(page, "#alerts-table tbody tr", 1);
    await page.locator("#alerts-table tbody tr").first().focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector("#incident");
    assert.equal(
      await page.locator(".proctree li[data-image='svchost.exe'] > ul > li[data-image='mmc.exe']").count(),
      1,
    );
    assert.ok((await page.locator("#incident-logons tbody tr").count()) >= 1, "the 4624 logon is listed");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#view-alerts:not([hidden])");
  });

  test("alert filters and sort work", async () => {
    const { page } = opened;
    await go(page, "alerts");
    await page.fill("#filter-alert-host", "");
    await rowsShown(page, "#alerts-table tbody tr", 6);
    await page.selectOption("#filter-alert-variant", "ShellWindows");
    assert.equal(await count(page, "alerts-table"), 3);
    await page.selectOption("#filter-alert-variant", "");
    await page.selectOption("#filter-alert-severity", "critical");
    const sev = await page.locator("#alerts-table tbody tr td:nth-child(2)").allTextContents();
    assert.ok(sev.length > 0 && sev.every((s) => s === "critical"));
    await page.selectOption("#filter-alert-severity", "");
    await page.fill("#filter-alert-text", "whoami");
    await rowsShown(page, "#alerts-table tbody tr", 1);
    await page.fill("#filter-alert-text", "");
    await rowsShown(page, "#alerts-table tbody tr", 6);
    // sort by target, then descending
    await page.click("#alerts-table th[data-key=target_host] button");
    const up = await page.locator("#alerts-table tbody tr td:nth-child(5)").allTextContents();
    assert.deepEqual(up, [...up].sort());
    await page.click("#alerts-table th[data-key=target_host] button");
    const down = await page.locator("#alerts-table tbody tr td:nth-child(5)").allTextContents();
    assert.deepEqual(down, [...up].reverse());
    assert.equal(
      await page.getAttribute("#alerts-table th[data-key=target_host]", "aria-sort"),
      "descending",
    );
    // search rows: rule filter and text
    await go(page, "rows");
    await page.fill("#filter-row-host", "MSEDGEWIN10");
    await rowsShown(page, "#rows-table tbody tr", 3);
    assert.deepEqual(opened.errors, []);
  });
});

describe("report of the emulated estate (scan to ndjson, then dcomhunt report)", {
  skip: skipBrowser,
}, () => {
  test("opens cleanly; graph nodes and edges are the alerts' hosts; inputs carry their hashes", async () => {
    const estate = path.join(tmp, "estate.evtx");
    assert.equal(await quietRun(["emulate", "all", "-o", estate]), 0);
    const saved = path.join(tmp, "estate.ndjson");
    const allowlist = path.join(root, "examples", "tuning", "allowlist.yml");
    const code = await quietRun([
      "scan",
      estate,
      "--allowlist",
      allowlist,
      "--show-suppressed",
      "--format",
      "ndjson",
      "--report-data",
      "-o",
      saved,
    ]);
    assert.equal(code, 0);
    const elements = readFileSync(saved, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const alerts = elements.filter((e) => Array.isArray(e.evidence));
    assert.ok(alerts.length > 0);
    const html = path.join(tmp, "estate.html");
    assert.equal(await quietRun(["report", saved, "-o", html]), 0);
    const { page, errors, requests } = await open(html);
    try {
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      const g = await graph(page);
      assert.equal(g.edges.length, alerts.length);
      const labels = g.nodes.join("\n");
      for (const a of alerts) {
        assert.ok(labels.includes(String(a.target_host)), String(a.target_host));
        assert.ok(labels.includes(String(a.source_host || a.source_ip || "(unknown source)")));
      }
      for (const n of g.nodes)
        assert.match(n, /WKS01|SRV-APP02|SRV-FILE03|\d+\.\d+\.\d+\.\d+|unknown source/, n);
      await go(page, "inputs");
      assert.match((await page.locator("#inputs-table tbody").textContent()) ?? "", /[0-9a-f]{64}/);
      // the allowlist's worked example: three benign seed rows suppressed, each with its entry
      await go(page, "suppressed");
      assert.equal(await count(page, "suppressed-table"), 3);
      const entries = await page.locator("#suppressed-table tbody tr td:first-child").allTextContents();
      assert.deepEqual(entries.sort(), [
        "compmgmt-service-restart",
        "finance-close-export",
        "reportserver-dcom-tests",
      ]);
    } finally {
      await page.close();
    }
  });
});

describe("scale and hostile input", { skip: skipBrowser }, () => {
  test("10,000 alerts and 100,000 search rows: opens, filters and pages (time printed)", async () => {
    const saved = path.join(tmp, "big.ndjson");
    syntheticResult(saved, 10_000, 100_000);
    const html = path.join(tmp, "big.html");
    assert.equal(await quietRun(["report", saved, "-o", html]), 0);
    const started = Date.now();
    const { page, errors, requests, readyMs } = await open(html);
    try {
      console.log(
        `10,000 alerts + 100,000 rows (${(readFileSync(html).length / 1048576).toFixed(1)} MB): first view drawn at ${readyMs.toFixed(0)} ms in the page, ${Date.now() - started} ms from goto (machine shared)`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      const g = await graph(page);
      assert.ok(g.edges.length > 0 && g.edges.length < 10_000, "parallel alerts share edges");
      await go(page, "alerts");
      assert.equal(await count(page, "alerts-table"), 10_000);
      assert.equal(await page.locator("#alerts-table tbody tr").count(), 50, "one page in the document");
      const t0 = Date.now();
      await page.selectOption("#filter-alert-variant", "Excel-XLL");
      assert.equal(await count(page, "alerts-table"), 2500);
      await page.click("#alerts-table th[data-key=severity] button");
      await page.click("[data-page=next] >> nth=0");
      console.log(`  filter + sort + next page on 10,000 alerts: ${Date.now() - t0} ms`);
      await go(page, "rows");
      assert.equal(await count(page, "rows-table"), 100_000);
      const t1 = Date.now();
      await page.fill("#filter-row-text", "echo 99999");
      await rowsShown(page, "#rows-table tbody tr", 1);
      console.log(`  text filter on 100,000 rows: ${Date.now() - t1} ms`);
      await page.click("#rows-table tbody tr");
      assert.match((await page.locator("#row-detail").textContent()) ?? "", /echo 99999/);
    } finally {
      await page.close();
    }
  });

  test("an XSS corpus in alert, evidence and row fields (and field names) renders as text and runs nothing", async () => {
    const hostile = [
      "<script>window.__xss=1</script>",
      '"><img src=x onerror="window.__xss=2">',
      "</script><script>window.__xss=3</script>",
      "javascript:window.__xss=4",
      "<svg onload=window.__xss=5>",
      "'><iframe src=javascript:window.__xss=6>",
      "\u202Eexe.txt\u200B\u200Dcmd<b>bold</b>",
      "<!-- ]]> {{constructor.constructor('window.__xss=7')()}}",
      "<a href=javascript:window.__xss=8>click</a>",
      "\u2028\u2029</style><style>body{display:none}</style>",
    ];
    const saved = path.join(tmp, "xss.ndjson");
    syntheticResult(saved, 12, 12, hostile);
    const html = path.join(tmp, "xss.html");
    assert.equal(await quietRun(["report", saved, "-o", html]), 0);
    const { page, errors, requests } = await open(html);
    try {
      // visit every view and every incident, opening every event
      for (const view of ["overview", "alerts", "inputs", "rows"]) {
        await go(page, view);
        await page.locator(`#view-${view}`).waitFor();
      }
      await page.locator("#rows-table tbody tr").first().click();
      for (let i = 0; i < 12; i++) {
        await go(page, `incident-${i}`);
        await page.waitForSelector(`#incident[data-alert='${i}']`);
        for (const d of await page.locator("details.event summary").all()) await d.click();
        await page.locator("#incident-fields").waitFor();
      }
      const state = await page.evaluate<{
        xss: unknown;
        scripts: number;
        styles: number;
        injected: string[];
      }>(`({
        xss: window.__xss,
        scripts: document.querySelectorAll("script").length,
        styles: document.querySelectorAll("style").length,
        injected: [...document.querySelectorAll("img, svg, iframe, a[href], b, [onerror], [onload]")].map((e) => e.outerHTML.slice(0, 120)),
      })`);
      assert.equal(state.xss, undefined);
      assert.equal(state.scripts, 2);
      assert.deepEqual(state.injected, []);
      assert.equal(state.styles, 2, "the report's stylesheet and cytoscape's own");
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      // the values are shown, as text
      await go(page, "incident-0");
      const title = (await page.locator("#incident-title").textContent()) ?? "";
      assert.ok(title.startsWith("<script>window.__xss=1</script>"), title);
      const fields = (await page.locator("#incident-fields").textContent()) ?? "";
      assert.ok(fields.includes("<svg onload=window.__xss=5>"));
      await go(page, "incident-6");
      await page.waitForSelector("#incident[data-alert='6']");
      const rtl = (await page.locator("#incident-title").textContent()) ?? "";
      assert.ok(rtl.startsWith("\u202Eexe.txt\u200B\u200Dcmd<b>bold</b>"), JSON.stringify(rtl));
    } finally {
      await page.close();
    }
  });
});
