/** Conformance: eval functions added for Splunk's detection library (Search Reference, Evaluation functions). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { column, winEvent } from "./helpers.js";

const one = (data: Record<string, string | string[]> = {}) => [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data }),
];
async function ev(expr: string, data: Record<string, string | string[]> = {}) {
  return (await column(`* | eval r=${expr}`, one(data), "r"))[0];
}

describe("eval functions (Multivalue, Mathematical, Informational)", () => {
  test("mvfind returns the index of the first value the regex matches, else null", async () => {
    const m = { m: ["alpha", "beta", "gamma"] };
    assert.equal(await ev('mvfind(m, "^g")', m), "2");
    assert.equal(await ev('mvfind(m, "a$")', m), "0");
    assert.equal(await ev('mvfind(m, "zzz")', m), null);
    assert.equal(await ev('mvfind(nope, "a")'), null);
  });

  test("mvzip pairs values up to the shorter list; mvrange counts up", async () => {
    const rows = await column('* | eval r=mvzip(a, b, "=")', one({ a: ["x", "y", "z"], b: ["1", "2"] }), "r");
    assert.deepEqual(rows, [["x=1", "y=2"]]);
    assert.deepEqual(await ev("mvrange(1, 4)"), ["1", "2", "3"]);
  });

  test("log/ln/exp/pi/exact/isint", async () => {
    assert.equal(await ev("log(100)"), "2");
    assert.equal(await ev("log(8, 2)"), "3");
    assert.equal(await ev("round(ln(exp(2)), 6)"), "2");
    assert.equal(await ev("round(pi(), 4)"), "3.1416");
    assert.equal(await ev("exact(3)"), "3");
    assert.equal(await ev('if(isint("12"), "y", "n")'), "y");
    assert.equal(await ev('if(isint("1.5"), "y", "n")'), "n");
  });
});
