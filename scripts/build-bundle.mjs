#!/usr/bin/env node
// Build step (npm run build / npm ci): the command as one ESM bundle per entry (esbuild), so a run
// loads a few files instead of ~100 modules. dist/bundle/ sits one level below dist/ like dist/cli/, so
// the paths the modules derive from import.meta.url (../../rules, ../../demo, ../rules-index.json,
// ../generated/) stay right; the EVTX worker is its own entry beside main.js. Commands and heavy
// modules are split into chunks loaded by import() only when used. bin/dcomhunt.js runs the bundle
// when it exists, else dist/cli/main.js.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts", worker: "src/readers/evtx/worker.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Native addons and large optional services stay in node_modules, loaded where they are used.
  external: ["@duckdb/*", "@nats-io/*", "playwright-core", "esbuild"],
  // CommonJS dependencies bundled into ESM call require() for node built-ins.
  banner: {
    js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
  },
  // Whitespace and syntax only: identifiers keep their names (readable internal-error stacks).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
