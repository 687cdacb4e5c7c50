/**
 * The start-up layer of the rule loader (issue 15): precompiled bundled rules keyed by content hash,
 * and the ajv standalone validators built by `npm run build`. Both must give exactly what the plain
 * loader gives, and never a stale rule.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import { ruleChecks } from "../../src/cli/scan.js";
import { sequenceSchema } from "../../src/correlate/schema.js";
import { bundledRulesDir, loadRulesDir, RuleError, selectRules } from "../../src/rules/loader.js";
import { buildRulesIndex, TOOL_VERSION, useRulesIndex } from "../../src/rules/precompiled.js";
import { ruleSchema } from "../../src/rules/schema.js";
import { AJV_OPTIONS } from "../../src/rules/validators.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-precompiled-"));
after(() => {
  useRulesIndex(undefined);
  rmSync(tmp, { recursive: true, force: true });
});

function indexOfBundled() {
  useRulesIndex(null);
  const rules = loadRulesDir(bundledRulesDir());
  return buildRulesIndex(rules.map((rule) => ({ text: readFileSync(rule.file, "utf8"), rule })));
}

describe("precompiled bundled rules", () => {
  test("the tool version of the index is package.json's", () => {
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
    assert.equal(TOOL_VERSION, pkg.version);
  });

  test("every selection gives the same rules with and without the index", () => {
    const index = indexOfBundled();
    assert.ok(Object.keys(index.rules).length >= 6);
    for (const sel of [["seed"], ["dcom"], ["all"], [bundledRulesDir()]]) {
      useRulesIndex(null);
      const plain = selectRules(sel, ruleChecks());
      useRulesIndex(index);
      const cached = selectRules(sel, ruleChecks());
      assert.deepEqual(cached, plain, sel.join(","));
      assert.ok(cached.length > 0);
    }
  });

  test("an edited rule file is parsed again, never taken from the index", () => {
    const index = indexOfBundled();
    const seed = path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml");
    const text = readFileSync(seed, "utf8").replace(/^name: .*$/m, "name: Edited seed");
    const file = path.join(tmp, "edited.yml");
    writeFileSync(file, text);
    useRulesIndex(index);
    const [rule] = selectRules([file], ruleChecks());
    assert.equal(rule.name, "Edited seed");
    assert.equal(rule.file, file);
  });

  test("an index of another version or schema is ignored", () => {
    const index = indexOfBundled();
    const seed = path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml");
    const file = path.join(tmp, "copy.yml");
    writeFileSync(file, readFileSync(seed, "utf8"));
    const key = Object.keys(index.rules).find((k) => index.rules[k].pack === "seed")!;
    const poisoned = { ...index, rules: { [key]: { ...index.rules[key], name: "from the index" } } };
    useRulesIndex({ ...poisoned });
    assert.equal(selectRules([file])[0].name, "from the index"); // the layer is really used ...
    // ... and one built by another version, or against another rule schema, is not.
    useRulesIndex({ ...poisoned, version: "0.0.0-other" });
    assert.notEqual(selectRules([file])[0].name, "from the index");
    useRulesIndex({ ...poisoned, schema: "0".repeat(64) });
    assert.notEqual(selectRules([file])[0].name, "from the index");
  });

  test("a precompiled rule that fails the caller's checks is reported at file:line:col", () => {
    const index = indexOfBundled();
    useRulesIndex(index);
    const seed = path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml");
    const file = path.join(tmp, "seed.yml");
    writeFileSync(file, readFileSync(seed, "utf8"));
    const failing = { search: () => [{ line: 2, col: 3, message: "refused by the check" }] };
    assert.throws(
      () => selectRules([file], failing),
      (err: unknown) =>
        err instanceof RuleError && /seed\.yml:\d+:\d+: refused by the check/.test(err.message),
    );
  });
});

describe("standalone validators", () => {
  // The generated code (what scripts/build-validators.mjs writes) against ajv compiling the schema.
  const require = createRequire(import.meta.url);
  const load = (schema: object) => {
    const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
    const module = { exports: {} as unknown };
    new Function("module", "exports", "require", standalone.default(ajv, ajv.compile(schema)))(
      module,
      module.exports,
      require,
    );
    type V = ((d: unknown) => boolean) & { errors?: unknown };
    return { standalone: module.exports as V, compiled: new Ajv(AJV_OPTIONS).compile(schema) };
  };

  test("same verdict and errors as ajv on good and bad rule files", () => {
    const { standalone, compiled } = load(ruleSchema);
    const rules = loadRulesDir(bundledRulesDir()).map(({ file: _f, searchStart: _s, ...r }) => r);
    const bad = [
      {},
      { ...rules[0], id: "not-a-uuid", extra: 1 },
      { ...rules[0], search: undefined, sequence: undefined },
      { ...rules[0], tests: [{ name: "t", expect: "miss", scenario: "x" }] },
    ];
    for (const value of [...rules, ...bad]) {
      assert.equal(standalone(value), compiled(value));
      assert.deepEqual(standalone.errors, compiled.errors);
    }
  });

  test("same verdict and errors as ajv on sequence blocks", () => {
    const { standalone, compiled } = load(sequenceSchema);
    const seqs = loadRulesDir(bundledRulesDir())
      .map((r) => r.sequence)
      .filter((s) => s !== undefined);
    assert.ok(seqs.length > 0);
    for (const value of [...seqs, {}, { maxspan: "5x", steps: [] }, { ...seqs[0], bogus: true }]) {
      assert.equal(standalone(value), compiled(value));
      assert.deepEqual(standalone.errors, compiled.errors);
    }
  });
});
