/**
 * Golden files: every bundled rule x every target, so that any change in an export shows up in
 * review. A combination a target cannot express has its error message as the golden
 * (`<rule id>.<target>.error.txt`). Regenerate after a reviewed change with
 * `UPDATE_GOLDEN=1 node --import tsx --test test/export/golden.test.ts` (what was checked for
 * meaning when they were first written is in docs/export.md).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { exportRule, PartialExport, targets } from "../../src/export/index.js";
import { ExportError } from "../../src/export/types.js";
import { bundledRules, goldenDir, repoRoot } from "./helpers.js";

const update = process.env.UPDATE_GOLDEN === "1";

/** Outputs (or the error) with machine-specific paths made relative to the repository. */
function render(
  rule: Parameters<typeof exportRule>[0],
  target: (typeof targets)[number]["name"],
): { name: string; content: string }[] {
  try {
    return exportRule(rule, target).files;
  } catch (e) {
    if (e instanceof PartialExport)
      return [
        ...e.result.files,
        { name: `${rule.id}.${target}.error.txt`, content: `${e.error.message.split(repoRoot).join(".")}\n` },
      ];
    if (!(e instanceof ExportError)) throw e;
    return [{ name: `${rule.id}.${target}.error.txt`, content: `${e.message.split(repoRoot).join(".")}\n` }];
  }
}

const { rules, broken } = bundledRules();

describe("golden exports of the bundled rules", () => {
  // A broken bundled rule file is a failure, never a reason to skip.
  test(`bundled rule files load (${broken.length} did not: ${broken.join("; ") || "none"})`, () => {
    assert.deepEqual(broken, []);
  });
  for (const rule of rules) {
    for (const t of targets) {
      test(`${t.name} x ${path.basename(rule.file)}`, () => {
        const dir = path.join(goldenDir, t.name);
        for (const f of render(rule, t.name)) {
          const file = path.join(dir, f.name);
          if (update) {
            mkdirSync(dir, { recursive: true });
            writeFileSync(file, f.content);
            continue;
          }
          assert.ok(
            existsSync(file),
            `no golden file ${path.relative(repoRoot, file)}: run UPDATE_GOLDEN=1 and review it`,
          );
          assert.equal(
            f.content,
            readFileSync(file, "utf8"),
            `export changed: ${path.relative(repoRoot, file)}`,
          );
        }
      });
    }
  }
  test("no stale golden files (every golden is an output of a bundled rule)", () => {
    assert.deepEqual(broken, [], "every bundled rule file must load for this check");
    const expected = new Set<string>();
    for (const rule of rules)
      for (const t of targets) for (const f of render(rule, t.name)) expected.add(path.join(t.name, f.name));
    const present = targets.flatMap((t) =>
      existsSync(path.join(goldenDir, t.name))
        ? readdirSync(path.join(goldenDir, t.name)).map((f) => path.join(t.name, f))
        : [],
    );
    assert.deepEqual(
      present.filter((f) => !expected.has(f)),
      [],
    );
  });
  test("the seed query comes out of the splunk target unchanged", () => {
    const seed = rules.find((r) => r.pack === "seed");
    assert.ok(seed);
    const conf = readFileSync(path.join(goldenDir, "splunk", `${seed.id}.savedsearches.conf`), "utf8");
    const search = /^search = ([\s\S]*?)\nenableSched/m.exec(conf)?.[1] ?? "";
    assert.equal(search.replace(/\\\n/g, "\n"), (seed.search as string).replace(/\s+$/, ""));
    // and equal to the published query itself, where the reference is present
    const seedSpl = path.resolve(repoRoot, "../shared/reference/seed.spl");
    if (existsSync(seedSpl))
      assert.equal(search.replace(/\\\n/g, "\n").trim(), readFileSync(seedSpl, "utf8").trim());
  });
});
