#!/usr/bin/env node
// Entry point of the installed command: runs the built CLI (`npm ci` / `npm run build` makes dist/):
// the esbuild bundle (dist/bundle/main.js, scripts/build-bundle.mjs) when present, else tsc's output.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/bundle/main.js", import.meta.url);
const main = existsSync(fileURLToPath(bundle)) ? bundle : new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("dcomhunt: dist/ is missing; run 'npm run build' (npm ci does it) first\n");
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
