/** Sigma building blocks: condition grammar, wildcard strings, value transformations, logsource mapping. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConditionError, parseCondition, selectIdentifiers } from "../../src/sigma/condition.js";
import { mapLogSource } from "../../src/sigma/logsource.js";
import {
  base64Offsets,
  expandPlaceholders,
  parseSigmaString,
  patternToRegex,
  windashVariants,
} from "../../src/sigma/values.js";

describe("condition grammar", () => {
  test("not binds tighter than and, and than or; keywords in any case", () => {
    assert.deepEqual(parseCondition("a OR b and NOT c"), {
      kind: "or",
      items: [
        { kind: "ref", name: "a", pos: 0 },
        {
          kind: "and",
          items: [
            { kind: "ref", name: "b", pos: 5 },
            { kind: "not", item: { kind: "ref", name: "c", pos: 15 } },
          ],
        },
      ],
    });
  });
  test("parentheses and quantifiers", () => {
    const t = parseCondition("(1 of sel_* or all of them) and not any of filter*");
    assert.equal(t.kind, "and");
    assert.deepEqual(parseCondition("all of them"), {
      kind: "of",
      quantifier: "all",
      pattern: "them",
      pos: 0,
    });
  });
  test("errors carry the offset of the offending word", () => {
    for (const [text, pos] of [
      ["a and", 5],
      ["(a or b", 7],
      ["a b", 2],
      ["a and or b", 6],
      ["1 of", 2],
    ] as const) {
      assert.throws(
        () => parseCondition(text),
        (e: unknown) => e instanceof ConditionError && e.pos === pos,
        text,
      );
    }
  });
  test("them leaves out names starting with _; patterns are whole-name globs", () => {
    assert.deepEqual(selectIdentifiers("them", ["sel", "_f", "filter"]), ["sel", "filter"]);
    assert.deepEqual(selectIdentifiers("sel*", ["sel", "sel_a", "xsel"]), ["sel", "sel_a"]);
  });
});

describe("values", () => {
  test("wildcards and escapes", () => {
    assert.deepEqual(parseSigmaString("a\\*b*c?d\\\\e\\x"), [
      { text: "a*b" },
      { wild: "*" },
      { text: "c" },
      { wild: "?" },
      { text: "d\\e\\x" },
    ]);
    assert.equal(patternToRegex(parseSigmaString("C:\\a.b*")), "C:\\\\a\\.b(?s:.*)");
  });
  test("base64offset gives the three forms that appear inside a longer base64 text", () => {
    const forms = base64Offsets(Buffer.from("http://"));
    assert.equal(forms.length, 3);
    for (const prefix of ["", "x", "xy", "xyz"]) {
      const encoded = Buffer.from(`${prefix}http://example`).toString("base64");
      assert.ok(
        forms.some((f) => encoded.includes(f)),
        `one form is inside base64('${prefix}http://example')`,
      );
    }
  });
  test("windash: every combination of the five dashes at word starts", () => {
    const v = windashVariants("-a -b c-d");
    assert.equal(v.length, 25);
    assert.ok(v.includes("/a \u2014b c-d"));
    assert.ok(v.every((x) => x.endsWith("c-d")));
  });
  test("expand: each value of each placeholder; unknown placeholders are an error", () => {
    assert.deepEqual(expandPlaceholders("%u%\\%d%", { u: ["a", "b"], d: ["x"] }), ["a\\x", "b\\x"]);
    assert.throws(() => expandPlaceholders("%nope%", {}), /placeholder %nope%/);
  });
});

describe("logsource mapping", () => {
  test("process_creation reads Sysmon 1 and Security 4688 with 4688's field names", () => {
    const m = mapLogSource({ category: "process_creation", product: "windows" });
    assert.ok("sources" in m);
    assert.deepEqual(
      m.sources.map((s) => [s.channel, s.eventIDs]),
      [
        ["Microsoft-Windows-Sysmon/Operational", ["1"]],
        ["Security", ["4688"]],
      ],
    );
    assert.equal(m.sources[1].fieldMap?.ParentImage, "ParentProcessName");
  });
  test("services, PowerShell categories, unsupported products", () => {
    assert.deepEqual(mapLogSource({ product: "windows", service: "system" }), {
      sources: [{ channel: "System" }],
    });
    assert.deepEqual(mapLogSource({ product: "windows", category: "ps_script" }), {
      sources: [{ channel: "Microsoft-Windows-PowerShell/Operational", eventIDs: ["4104"] }],
    });
    assert.ok("unsupported" in mapLogSource({ product: "linux", category: "process_creation" }));
    assert.ok("unsupported" in mapLogSource({ product: "windows", service: "nosuchservice" }));
  });
});
