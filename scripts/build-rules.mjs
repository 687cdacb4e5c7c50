#!/usr/bin/env node
// Build step (npm run build / npm ci): parse and schema-check every bundled rule once and write
// dist/rules-index.json (src/rules/precompiled.ts), so a run reads no YAML for unchanged bundled rules.
// A bad bundled rule fails the build with the loader's own file:line:col message.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const dist = new URL("../dist/", import.meta.url);
const loader = await import(new URL("rules/loader.js", dist).href);
const { buildRulesIndex, rulesIndexFile } = await import(new URL("rules/precompiled.js", dist).href);

rmSync(rulesIndexFile(), { force: true }); // built from the rule files alone, never from an old index
const dir = loader.bundledRulesDir();
let rules;
try {
  rules = loader.loadRulesDir(dir);
} catch (err) {
  process.stderr.write(`build-rules: ${err.message}\n`);
  process.exit(1);
}
const entries = rules.map((rule) => ({ text: readFileSync(rule.file, "utf8"), rule }));
// Every folder listing under the bundled rules, for the loader's file order.
const listings = [];
const walk = (d) => {
  const items = readdirSync(d, { withFileTypes: true });
  listings.push(items.map((e) => e.name));
  for (const e of items) if (e.isDirectory()) walk(path.join(d, e.name));
};
walk(dir);
writeFileSync(rulesIndexFile(), `${JSON.stringify(buildRulesIndex(entries, listings))}\n`);
process.stdout.write(
  `build-rules: ${entries.length} bundled rule(s) precompiled to ${path.relative(process.cwd(), rulesIndexFile())}\n`,
);
