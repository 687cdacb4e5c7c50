/**
 * The HTML report as one self-contained file: the result (the same elements `--format json` writes, with
 * evidence details and the run record) embedded as JSON in a non-executed script element, then the
 * front-end bundle (built from web/report/ by scripts/build-report-app.mjs at `npm run build`) and its
 * styles inlined. A Content-Security-Policy meta tag forbids every network access; the only script
 * allowed to run is the bundle, by its SHA-256.
 *
 * Log values never become markup here: the JSON text is escaped so that no `<`, `>` or `&` appears in it
 * (a value `</script><img onerror=...>` cannot end the element), and the front-end sets text only.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the build puts the front-end: `dist/report-app/` of the package. The package root is the first
 * folder above this module with a package.json, so the answer is the same from src/, dist/ and the
 * esbuild bundle in dist/bundle/ (which sit at different depths).
 */
export function reportAppDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, "dist", "report-app");
}

export interface ReportApp {
  script: string;
  style: string;
}

let cached: ReportApp | undefined;

/** The built front-end, or a message saying how to build it. */
export function loadReportApp(): ReportApp | string {
  if (cached) return cached;
  const dir = reportAppDir();
  const js = path.join(dir, "app.js");
  const css = path.join(dir, "app.css");
  if (!existsSync(js) || !existsSync(css))
    return `the HTML report front-end is not built (${dir}): run 'npm run build' (npm ci does it)`;
  const script = readFileSync(js, "utf8");
  if (/<\/script|<!--/i.test(script))
    return `${js}: the bundle holds '</script' or '<!--' and cannot be inlined`;
  const style = readFileSync(css, "utf8");
  if (/<\/style/i.test(style)) return `${css}: the stylesheet holds '</style' and cannot be inlined`;
  cached = { script, style };
  return cached;
}

/**
 * JSON text safe inside `<script type="application/json">`: `<`, `>`, `&` and the JavaScript line
 * separators become \u escapes (valid JSON, same value once parsed).
 */
export function escapeJsonForScript(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function contentSecurityPolicy(script: string): string {
  const hash = createHash("sha256").update(script, "utf8").digest("base64");
  return [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    "style-src 'unsafe-inline'",
    "img-src data: blob:",
    "font-src 'none'",
    "connect-src 'none'",
    "media-src 'none'",
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'none'",
    "manifest-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

export const DATA_ELEMENT_ID = "dcomhunt-data";

/** A page written as its elements arrive: `open()`, `element(obj)` per result, `close()`. */
export interface HtmlPage {
  open(): string;
  element(obj: unknown): string;
  close(): string;
}

export function htmlPage(app: ReportApp): HtmlPage {
  let first = true;
  return {
    open: () =>
      "<!doctype html>\n" +
      '<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
      `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(app.script)}">\n` +
      '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
      '<meta name="color-scheme" content="light dark">\n' +
      '<meta name="referrer" content="no-referrer">\n' +
      "<title>dcomhunt report</title>\n" +
      `<style>${app.style}</style>\n</head>\n<body>\n` +
      '<noscript><p class="noscript">This report needs JavaScript to draw its views (it runs offline and sends nothing).</p></noscript>\n' +
      `<script type="application/json" id="${DATA_ELEMENT_ID}">[\n`,
    element(obj) {
      const text = `${first ? "" : ",\n"}${escapeJsonForScript(JSON.stringify(obj))}`;
      first = false;
      return text;
    },
    close: () => `\n]</script>\n<script>${app.script}</script>\n</body>\n</html>\n`,
  };
}
