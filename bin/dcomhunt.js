#!/usr/bin/env node
// Entry point of the installed command: runs the compiled CLI (`npm ci` / `npm run build` makes dist/).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("dcomhunt: dist/ is missing; run 'npm run build' (npm ci does it) first\n");
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
