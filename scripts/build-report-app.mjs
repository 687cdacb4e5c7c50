// Builds the HTML report's front-end (web/report/) into dist/report-app/app.js and app.css with esbuild:
// one script and one stylesheet that src/report/html/page.ts inlines into every report. Part of
// `npm run build` (and so of `npm ci` through `prepare`).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "report-app");
mkdirSync(outDir, { recursive: true });

const result = await build({
  entryPoints: [path.join(root, "web", "report", "main.ts")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const script = result.outputFiles[0].text;
// The bundle is inlined in a <script> element: it must not end it early (esbuild escapes "</script" in
// string literals for browser builds; anything else holding it would be a build error here).
if (/<\/script|<!--/i.test(script)) {
  process.stderr.write("build-report-app: the bundle holds '</script' or '<!--' and cannot be inlined\n");
  process.exit(1);
}
writeFileSync(path.join(outDir, "app.js"), script);

const css = await transform(readFileSync(path.join(root, "web", "report", "style.css"), "utf8"), {
  loader: "css",
  minify: true,
});
writeFileSync(path.join(outDir, "app.css"), css.code);
process.stdout.write(
  `report front-end: ${path.relative(root, outDir)}/app.js ${(script.length / 1024).toFixed(0)} KB, app.css ${(css.code.length / 1024).toFixed(0)} KB\n`,
);
