/** Conformance: replace (Search Reference, replace). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run, winEvent } from "../helpers.js";

const one = (data: Record<string, string>) => [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data }),
];

describe("replace", () => {
  test("whole-value match with wildcards carried over; IN limits the fields", async () => {
    const rows = await run(
      '* | replace "*.corp.local" WITH "*", "x" WITH "y" IN host_a, b',
      one({ host_a: "ws1.corp.local", b: "x", c: "x" }),
    );
    assert.equal(rows[0].fields.get("host_a"), "ws1");
    assert.equal(rows[0].fields.get("b"), "y");
    assert.equal(rows[0].fields.get("c"), "x");
  });

  test("case-sensitive; a value that does not match the whole pattern stays", async () => {
    const rows = await run('* | replace "ABC" WITH "z" IN f, g', one({ f: "abc", g: "ABCD" }));
    assert.equal(rows[0].fields.get("f"), "abc");
    assert.equal(rows[0].fields.get("g"), "ABCD");
  });
});
