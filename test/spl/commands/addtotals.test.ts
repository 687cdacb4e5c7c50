/** Conformance: addtotals (Search Reference, addtotals). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runStrings, winEvent } from "../helpers.js";

const ev = (data: Record<string, string>) => winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data });

describe("addtotals", () => {
  test("row totals of numeric fields, or of the listed ones; col=t adds a labelled sum row", async () => {
    const list = [ev({ a: "1", b: "2", s: "x" }), ev({ a: "3", b: "4", s: "y" })];
    const rows = await runStrings("* | table s a b | addtotals", list, ["s", "a", "b", "Total"], {
      order: "input",
    });
    assert.deepEqual(
      rows.map((r) => r.Total),
      ["3", "7"],
    );
    const only = await runStrings("* | table s a b | addtotals fieldname=sum a", list, ["sum"], {
      order: "input",
    });
    assert.deepEqual(
      only.map((r) => r.sum),
      ["1", "3"],
    );
    const col = await runStrings(
      "* | table s a b | addtotals row=f col=t labelfield=s label=ALL",
      list,
      ["s", "a", "b"],
      { order: "input" },
    );
    assert.deepEqual(col[2], { s: "ALL", a: "4", b: "6" });
  });
});
