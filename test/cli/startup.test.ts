/**
 * The built command (issue 15): `npm run build` makes the esbuild bundle (dist/bundle/main.js, what
 * bin/dcomhunt.js runs), the precompiled bundled rules (dist/rules-index.json) and the standalone
 * validators (dist/generated/). The bundle must give what tsc's output (dist/cli/main.js) gives, and
 * the index must hold every bundled rule as it is now. Under CI=true a missing build fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { bundledRulesDir, loadRulesDir } from "../../src/rules/loader.js";
import { contentHash, type RulesIndex, schemaHash, TOOL_VERSION } from "../../src/rules/precompiled.js";
import { skipUnless } from "../helpers/env.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const bundle = path.join(root, "dist", "bundle", "main.js");
const built = existsSync(bundle) && existsSync(path.join(root, "dist", "rules-index.json"));
const skip = skipUnless(built, "dist/ not built (npm run build)");
if (!built && process.env.CI === "true") throw new Error("CI: dist/ must be built by npm ci (prepare)");
const corpusEvtx = path.resolve(
  root,
  "..",
  "shared",
  "corpus",
  "attacks",
  "LM_impacket_docmexec_mmc_sysmon_01.evtx",
);

function viaBin(args: string[]) {
  return spawnSync(process.execPath, [path.join(root, "bin", "dcomhunt.js"), ...args], { encoding: "utf8" });
}
function viaTscOutput(args: string[]) {
  const code = `const m = await import(${JSON.stringify(path.join(root, "dist", "cli", "main.js"))}); process.exitCode = await m.run(${JSON.stringify(args)});`;
  return spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
}

describe("built command", { skip }, () => {
  test("the index holds every bundled rule file as it is now", () => {
    const index = JSON.parse(readFileSync(path.join(root, "dist", "rules-index.json"), "utf8")) as RulesIndex;
    assert.equal(index.version, TOOL_VERSION);
    assert.equal(index.schema, schemaHash());
    for (const rule of loadRulesDir(bundledRulesDir())) {
      const hit = index.rules[contentHash(readFileSync(rule.file, "utf8"))];
      assert.ok(hit, `${rule.file} is not in dist/rules-index.json: run npm run build`);
      assert.equal(hit.id, rule.id);
    }
  });

  test("the bundle gives what tsc's output gives (scan, convert, rules, a bad rule)", () => {
    const inputs = existsSync(corpusEvtx) ? [corpusEvtx] : [];
    const runs: string[][] = [
      ["scan", "-q", "--rules", "all", "-f", "json", "--now", "2026-01-01T00:00:00Z", ...inputs],
      ["rules", "list"],
      ["scan", "--rules", "no-such-rule"],
    ];
    if (inputs.length) runs.push(["convert", "-q", "-f", "xml", ...inputs]);
    for (const args of runs) {
      const a = viaBin(args);
      const b = viaTscOutput(args);
      assert.equal(a.status, b.status, args.join(" "));
      assert.equal(a.stdout, b.stdout, args.join(" "));
      assert.equal(a.stderr, b.stderr, args.join(" "));
    }
  });

  test("files found next to the package (HTML front-end, Sigma rules) are found from the bundle too", () => {
    // The bundle sits at another depth than tsc's output: paths must not count folders up from a module.
    const html = viaBin(["scan", "-q", "-f", "html"]);
    assert.equal(html.status, 0, html.stderr);
    assert.match(html.stdout, /^<!doctype html>/i);
    const sigma = viaBin(["rules", "list", "--rules", path.join(root, "examples", "sigma", "dcom")]);
    assert.equal(sigma.status, 0, sigma.stderr);
    assert.match(sigma.stdout, /sigma-correlation/);
  });
});
