/**
 * Every Sigma output validates against the official Sigma JSON schemas (detection rules and
 * correlation rules, ../shared/reference/sigma-schema) with ajv; the seed's detection says what the
 * SPL says (selections, modifiers, condition), and what Sigma cannot carry is named.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse, parseAllDocuments } from "yaml";
import { exportRule } from "../../src/export/index.js";
import { skipUnless } from "../helpers/env.js";
import { bundledRules, extraRules, repoRoot, seedRule } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: a parsed Sigma document, probed by the assertions below
type SigmaDoc = Record<string, any>;

const schemaDir = path.resolve(repoRoot, "../shared/reference/sigma-schema");
const skip = skipUnless(existsSync(schemaDir), `Sigma schemas absent: ${schemaDir}`);

function validators() {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const load = (f: string) => {
    const schema = JSON.parse(readFileSync(path.join(schemaDir, f), "utf8")) as Record<string, unknown>;
    delete schema.$schema; // draft 2020-12 is ajv's default here; some files spell the URI with a trailing '#'
    return ajv.compile(schema);
  };
  return {
    detection: load("sigma-detection-rule-schema.json"),
    correlation: load("sigma-correlation-rules-schema.json"),
  };
}

function validate(content: string): string[] {
  const v = validators();
  const problems: string[] = [];
  for (const doc of parseAllDocuments(content)) {
    const value = doc.toJS() as Record<string, unknown>;
    const check = value.correlation ? v.correlation : v.detection;
    const input: unknown = value;
    if (!check(input)) problems.push(`${String(value.title)}: ${JSON.stringify(check.errors)}`);
  }
  return problems;
}

describe("sigma target", { skip }, () => {
  test("the schema check can fail", () => {
    assert.ok(
      validate("title: x\ndetection: { sel: { a: 1 } }\n").length > 0,
      "a rule without logsource/condition must fail",
    );
  });
  const { rules } = bundledRules();
  for (const rule of [
    seedRule(),
    ...extraRules.filter((r) => r.name !== "network ordered"),
    ...rules.filter((r) => r.name !== seedRule().name),
  ]) {
    test(`rule '${rule.name}': every document validates`, () => {
      const { files } = exportRule(rule, "sigma");
      assert.equal(files.length, 1);
      assert.deepEqual(validate(files[0].content), []);
      if (rule.sequence) assert.match(files[0].content, /correlation:|Alerts on its own/);
    });
  }
  test("seed: logsource, selections and condition say what the SPL says", () => {
    const { files, warnings } = exportRule(seedRule(), "sigma");
    const doc = parse(files[0].content) as SigmaDoc;
    assert.deepEqual(doc.logsource, { product: "windows", service: "sysmon" });
    assert.deepEqual(doc.detection.selection_eventid, { EventID: 1 });
    assert.deepEqual(doc.detection.selection_parentimage, {
      "ParentImage|endswith": [
        "\\mmc.exe",
        "\\excel.exe",
        "\\winword.exe",
        "\\outlook.exe",
        "\\powerpnt.exe",
      ],
    });
    assert.deepEqual(doc.detection.selection_commandline, { "CommandLine|contains|all": ["-Exec", "DCOM"] });
    assert.equal(
      doc.detection.condition,
      "selection_eventid and ((selection_parentimage and selection_image) or selection_image_2 or selection_commandline)",
    );
    assert.deepEqual(doc.tags, ["attack.lateral-movement", "attack.t1021.003", "attack.t1021"]);
    assert.equal(doc.level, "medium");
    assert.match(
      files[0].content,
      /# Not expressed in Sigma \(filter only\): \| eval DetectionPattern=case\(/,
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /left out \(eval, table, sort\)/);
  });
  test("!= needs the field to exist; NOT does not", () => {
    const { files } = exportRule(extraRules[0], "sigma");
    const doc = parse(files[0].content) as SigmaDoc;
    assert.match(doc.detection.condition, /not selection_parentimage/);
    assert.match(doc.detection.condition, /\(selection_user_exists and not selection_user\)/);
    assert.deepEqual(doc.detection.selection_user_exists, { "User|exists": true });
  });
});
