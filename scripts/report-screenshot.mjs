// Screenshot of an HTML report with Debian's chromium (playwright-core, no browser download):
//   node scripts/report-screenshot.mjs report.html out.png [#fragment] [height]
// Used for docs/report-demo.png (the report of the bundled demo: `dcomhunt scan --format html`).
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [file, out, fragment = "", height = "1000"] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write(
    "usage: node scripts/report-screenshot.mjs report.html out.png [#fragment] [height]\n",
  );
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: Number(height) },
    colorScheme: "light",
  });
  await page.goto(pathToFileURL(file).href + fragment);
  await page.waitForSelector("body[data-ready=true]");
  await page.waitForTimeout(300);
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
