/**
 * Conformance: valid SPL as Splunk reads it (issue 19). Each test names the Splunk documentation
 * section it follows; decisions where the docs leave a choice are in docs/spl-decisions.md.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSpl } from "../../src/spl/index.js";
import { column, winEvent } from "./helpers.js";

const T = "2020-10-08T11:00:00Z";
const ev = (data: Record<string, string>, eventID = "1") => winEvent({ eventID, time: T, data });
const ids = (spl: string, list: ReturnType<typeof ev>[]) => column(spl, list, "id", { order: "input" });

describe("search: comparisons with spaces (Search Reference, search, comparison-expression)", () => {
  const list = [
    ev({ id: "1", code: "1", Image: "C:\\Windows\\cmd.exe", n: "5" }),
    ev({ id: "2", code: "3", Image: "C:\\x\\a.exe", n: "15" }),
  ];

  test("`f = v` is the comparison f=v, not three terms (D-search-spaced-op)", async () => {
    assert.deepEqual(await ids("code = 1", list), ["1"]);
    assert.deepEqual(await ids("code =1", list), ["1"]);
    assert.deepEqual(await ids("code= 1", list), ["1"]);
    assert.deepEqual(await ids("* | search code = 3", list), ["2"]);
    assert.deepEqual(await ids('Image = "*\\\\cmd.exe"', list), ["1"]);
  });

  test("every comparison operator may have spaces around it", async () => {
    assert.deepEqual(await ids("code != 1", list), ["2"]);
    assert.deepEqual(await ids("n > 10", list), ["2"]);
    assert.deepEqual(await ids("n >= 15", list), ["2"]);
    assert.deepEqual(await ids("n < 10", list), ["1"]);
    assert.deepEqual(await ids("n <= 5", list), ["1"]);
    assert.deepEqual(await ids("n == 5", list), ["1"]);
    assert.deepEqual(await ids("NOT code = 1", list), ["2"]);
    assert.deepEqual(await ids("(code = 1 OR n > 10)", list), ["1", "2"]);
  });

  test("the spaced form parses to the same tree as the compact one", () => {
    const a = parseSpl("EventCode = 1 Image != x").commands[0];
    const b = parseSpl("EventCode=1 Image!=x").commands[0];
    const strip = (x: unknown) => JSON.stringify(x, (k, v) => (k === "pos" ? undefined : v));
    assert.equal(strip(a), strip(b));
  });

  test("keywords and IN are not field names: `NOT = x` is not a comparison of NOT", () => {
    const p = parseSpl("a IN (x, y)").commands[0];
    assert.equal(p.name === "search" && p.expr?.kind, "in");
  });

  test("time modifiers with spaces: earliest = -1d", () => {
    const p = parseSpl("earliest = -1d x=1").commands[0];
    assert.ok(p.name === "search" && p.expr?.kind === "and" && p.expr.items[0].kind === "time");
  });
});

describe("search: backslashes outside quotes (Search Manual, Search command primer, File paths)", () => {
  const list = [
    ev({ id: "1", Image: "C:\\Windows\\System32\\cmd.exe", CommandLine: 'cmd /c "x"' }),
    ev({ id: "2", Image: "C:\\x\\notcmd.exe", CommandLine: "cmd /c y" }),
  ];

  test("an unquoted value escapes backslashes like a quoted one: *\\\\cmd.exe ends with \\cmd.exe", async () => {
    assert.deepEqual(await ids("Image=*\\\\cmd.exe", list), ["1"]);
    assert.deepEqual(await ids('Image="*\\\\cmd.exe"', list), ["1"]);
  });

  test('a backslash-escaped quote stays in an unquoted value: CommandLine=*\\"x\\"', async () => {
    assert.deepEqual(await ids('CommandLine=*\\"x\\"', list), ["1"]);
    assert.deepEqual(await ids('CommandLine = *\\"x\\"*', list), ["1"]);
  });
});
