/**
 * The HTML report: its size and build time for the real corpus through the built CLI, and how long
 * Debian's chromium takes to draw the first view of a 10,000-alert / 100,000-row report.
 *
 *   npm run build && node --import tsx bench/report/run.ts [--repeat 3]
 *
 * Needs ../shared/corpus (the corpus part is left out without it) and /usr/bin/chromium.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { syntheticResult } from "../../test/report/synthetic.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpus = path.resolve(root, "..", "shared", "corpus");
const cli = path.join(root, "bin", "dcomhunt.js");
const repeatAt = process.argv.indexOf("--repeat");
const repeat = repeatAt > 0 ? Number(process.argv[repeatAt + 1]) : 3;
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-bench-report-"));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const mb = (n: number) => `${(n / 1048576).toFixed(2)} MB`;

try {
  if (existsSync(corpus)) {
    const out = path.join(tmp, "corpus.html");
    const dirs = ["attacks", "negatives", "benign"].map((d) => path.join(corpus, d));
    const t0 = Date.now();
    try {
      execFileSync(process.execPath, [cli, "scan", ...dirs, "--format", "html", "-o", out, "-q"]);
    } catch (err) {
      if ((err as { status?: number }).status !== 3) throw err; // 3: some input problem, page written
    }
    console.log(
      `corpus report (attacks, negatives, benign): ${mb(statSync(out).size)}, built in ${Date.now() - t0} ms by 'dcomhunt scan ... --format html' (load ${load()})`,
    );
  } else console.log(`corpus absent (${corpus}): corpus report not measured`);

  const saved = path.join(tmp, "big.ndjson");
  syntheticResult(saved, 10_000, 100_000);
  const html = path.join(tmp, "big.html");
  const t1 = Date.now();
  execFileSync(process.execPath, [cli, "report", saved, "-o", html, "-q"]);
  console.log(
    `10,000 alerts + 100,000 rows: ${mb(statSync(html).size)}, 'dcomhunt report' in ${Date.now() - t1} ms`,
  );
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
  try {
    for (let i = 0; i < repeat; i++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const t = Date.now();
      await page.goto(pathToFileURL(html).href, { timeout: 300_000 });
      await page.waitForSelector("body[data-ready=true]", { timeout: 300_000 });
      const ready = await page.evaluate<number>("window.dcomhuntReport.readyMs");
      console.log(
        `  open ${i + 1}: first view drawn ${ready.toFixed(0)} ms after navigation start (${Date.now() - t} ms from goto), load ${load()}`,
      );
      await page.close();
    }
  } finally {
    await browser.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
