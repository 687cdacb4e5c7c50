/** Conformance: the other commands (spl-semantics.md §3). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { compileSearch, SplError } from "../../src/spl/index.js";
import { column, run, runStrings, view, winEvent } from "./helpers.js";

/** Events in FILE order (oldest first), as readers deliver them: id = minute of the hour. */
function timeline(data: Record<string, string>[]) {
  return data.map((d, i) =>
    winEvent({
      eventID: "1",
      time: `2020-10-08T11:${String(i).padStart(2, "0")}:00Z`,
      data: { id: String(i), ...d },
    }),
  );
}

describe("commands", () => {
  test("§3 table keeps only the listed fields in the listed order; a missing field is an empty cell", async () => {
    const rows = await runStrings("* | table id, Image nope", timeline([{ Image: "a" }]));
    assert.deepEqual(rows, [{ id: "0", Image: "a", nope: "" }]);
    const c = compileSearch("* | table id Image", { fieldView: view });
    assert.deepEqual(c.columns(), ["id", "Image"]);
  });

  test("§3 table accepts wildcards", async () => {
    const rows = await run(
      "* | table Parent*",
      timeline([{ ParentImage: "p", ParentCommandLine: "c", Image: "i" }]),
    );
    assert.deepEqual(rows[0].columns, ["ParentCommandLine", "ParentImage"]);
  });

  test("§3 fields keeps (and keeps _time) or removes fields", async () => {
    const rows = await run("* | fields id", timeline([{ Image: "a" }]));
    assert.deepEqual([...rows[0].fields.keys()].sort(), ["_time", "id"]);
    assert.deepEqual(rows[0].columns, ["id"]);
    const removed = await run("* | fields - Image", timeline([{ Image: "a" }]));
    assert.equal(removed[0].fields.has("Image"), false);
    assert.equal(removed[0].fields.has("id"), true);
  });

  test("§3 rename a AS b, with wildcards", async () => {
    const rows = await runStrings(
      "* | rename Image AS process, Parent* AS p_* | table process p_Image",
      timeline([{ Image: "a", ParentImage: "b" }]),
    );
    assert.deepEqual(rows, [{ process: "a", p_Image: "b" }]);
  });

  test("§3 sort: - descending, + ascending, several keys, num()/str()", async () => {
    const list = timeline([
      { n: "10", s: "b" },
      { n: "9", s: "a" },
      { n: "10", s: "a" },
      { n: "100", s: "c" },
    ]);
    assert.deepEqual(await column("* | sort - n, + s", list, "id"), ["3", "2", "0", "1"]);
    // str(): "10" < "100" < "9"; the two "10" keep search order (newest first: 2 before 0).
    assert.deepEqual(await column("* | sort str(n)", list, "id"), ["2", "0", "3", "1"]);
    assert.deepEqual(await column("* | sort num(n) s", list, "id"), ["1", "2", "0", "3"]);
    // desc reverses the whole ascending result, ties included.
    assert.deepEqual(await column("* | sort n desc", list, "id"), ["3", "0", "2", "1"]);
    assert.deepEqual(await column("* | sort n", list, "id"), ["1", "2", "0", "3"]);
  });

  test("§3 sort: missing values last both ways", async () => {
    const list = timeline([{ n: "2" }, {}, { n: "1" }]);
    assert.deepEqual(await column("* | sort n", list, "id"), ["2", "0", "1"]);
    assert.deepEqual(await column("* | sort -n", list, "id"), ["0", "2", "1"]);
  });

  test("§3 sort: ties keep search order (newest first), whatever the file order", async () => {
    const list = timeline([{ k: "x" }, { k: "x" }, { k: "x" }]);
    assert.deepEqual(await column("* | sort k", list, "id"), ["2", "1", "0"]);
  });

  test("§3 sort stops at the default limit of 10,000 rows; sort 0 and sort N", async () => {
    const list = Array.from({ length: 10005 }, (_v, i) =>
      winEvent({
        eventID: "1",
        time: new Date(Date.UTC(2020, 9, 8) + i * 1000).toISOString(),
        data: { id: String(i) },
      }),
    );
    const rows = await run("* | sort - _time", list);
    assert.equal(rows.length, 10000);
    assert.equal(rows[0].fields.get("id"), "10004");
    assert.equal(rows[9999].fields.get("id"), "5");
    assert.equal((await run("* | sort 0 - _time", list)).length, 10005);
    assert.equal((await run("* | sort 3 id", list)).length, 3);
    assert.equal((await run("* | sort limit=7 id", list)).length, 7);
  });

  test("§3 head takes the first N in search order: the newest events", async () => {
    const list = timeline([{}, {}, {}, {}, {}]);
    assert.deepEqual(await column("* | head 2", list, "id"), ["4", "3"]);
    assert.equal((await run("* | head", timeline(Array.from({ length: 12 }, () => ({}))))).length, 10);
  });

  test("§3 head (expr) takes results while expr is true", async () => {
    const list = timeline([{ n: "5" }, { n: "1" }, { n: "2" }, { n: "3" }]);
    assert.deepEqual(await column("* | head (n<4)", list, "id"), ["3", "2", "1"]);
  });

  test("§3 tail returns the last N in reverse order", async () => {
    const list = timeline([{}, {}, {}, {}, {}]);
    // Search order is 4 3 2 1 0; the last two are 1, 0, returned reversed: 0, 1.
    assert.deepEqual(await column("* | tail 2", list, "id"), ["0", "1"]);
  });

  test("§3 dedup keeps the first (newest) result per value and drops results without the field", async () => {
    const list = timeline([{ u: "a" }, { u: "b" }, { u: "a" }, {}, { u: "A" }]);
    assert.deepEqual(await column("* | dedup u", list, "id"), ["4", "2", "1"]);
    assert.deepEqual(await column("* | dedup u keepempty=true", list, "id"), ["4", "3", "2", "1"]);
    assert.deepEqual(await column("* | dedup 2 u", list, "id"), ["4", "2", "1", "0"]);
  });

  test("§3 dedup consecutive=true and sortby", async () => {
    const list = timeline([{ u: "a" }, { u: "a" }, { u: "b" }, { u: "a" }]);
    assert.deepEqual(await column("* | dedup u consecutive=true", list, "id"), ["3", "2", "1"]);
    assert.deepEqual(await column("* | dedup u sortby +id", list, "id"), ["2", "3"]);
  });

  test("§3 where keeps rows where the expression is TRUE (case-sensitive; bare words are fields)", async () => {
    const list = timeline([
      { a: "x", b: "x" },
      { a: "X", b: "x" },
    ]);
    assert.deepEqual(await column("* | where a=b", list, "id"), ["0"]);
    assert.deepEqual(await column('* | where a="X"', list, "id"), ["1"]);
  });

  test("§3 stats count, dc, values (sorted), list, min, max, avg, sum by a field; null by-values dropped", async () => {
    const list = timeline([
      { h: "b", n: "10", u: "x" },
      { h: "a", n: "2", u: "y" },
      { h: "b", n: "3", u: "x" },
      { n: "7" },
      { h: "b", n: "x9", u: "a" },
    ]);
    const rows = await runStrings(
      "* | stats count, dc(u) AS users, values(u), list(n), min(n), max(n), avg(n), sum(n) by h",
      list,
    );
    assert.deepEqual(rows, [
      {
        h: "a",
        count: "1",
        users: "1",
        "values(u)": "y",
        "list(n)": "2",
        "min(n)": "2",
        "max(n)": "2",
        "avg(n)": "2",
        "sum(n)": "2",
      },
      {
        h: "b",
        count: "3",
        users: "2",
        "values(u)": ["a", "x"],
        "list(n)": ["x9", "3", "10"],
        "min(n)": "10",
        "max(n)": "x9",
        "avg(n)": "6.5",
        "sum(n)": "13",
      },
    ]);
  });

  test("§3 stats is transforming; without by it returns one row even for no input", async () => {
    const c = compileSearch("* | stats count", { fieldView: view });
    assert.equal(c.transforming, true);
    assert.deepEqual(await runStrings("* | stats count", []), [{ count: "0" }]);
  });

  test("§3 stats first/last follow search order; earliest/latest follow _time", async () => {
    const list = timeline([{ v: "old" }, { v: "mid" }, { v: "new" }]);
    assert.deepEqual(await runStrings("* | stats first(v) last(v) earliest(v) latest(v)", list), [
      { "first(v)": "new", "last(v)": "old", "earliest(v)": "old", "latest(v)": "new" },
    ]);
  });

  test("§3 eventstats appends aggregates to every event", async () => {
    const list = timeline([{ h: "a" }, { h: "b" }, { h: "a" }]);
    assert.deepEqual(await column("* | eventstats count by h | sort id", list, "count"), ["2", "1", "2"]);
  });

  test("§3 streamstats: running aggregates in search order, window=, current=f", async () => {
    const list = timeline([{ n: "1" }, { n: "2" }, { n: "3" }]);
    // Search order is n=3, 2, 1.
    assert.deepEqual(await column("* | streamstats sum(n) AS s", list, "s"), ["3", "5", "6"]);
    assert.deepEqual(await column("* | streamstats count AS c current=f", list, "c"), ["0", "1", "2"]);
    assert.deepEqual(await column("* | streamstats window=2 sum(n) AS s", list, "s"), ["3", "5", "3"]);
  });

  test("§3 top / rare with count and percent, limit, by", async () => {
    const list = timeline([{ u: "a" }, { u: "b" }, { u: "a" }, { u: "c" }, { u: "a" }, { u: "b" }]);
    assert.deepEqual(await runStrings("* | top limit=2 u", list), [
      { u: "a", count: "3", percent: "50" },
      { u: "b", count: "2", percent: "33.333333" },
    ]);
    assert.deepEqual(await runStrings("* | rare u showperc=f", list), [
      { u: "c", count: "1" },
      { u: "b", count: "2" },
      { u: "a", count: "3" },
    ]);
  });

  test("§3 rex: named groups become fields; field=, max_match, mode=sed", async () => {
    const list = timeline([{ CommandLine: "net user bob /add & net user eve /add" }]);
    assert.deepEqual(await column('* | rex field=CommandLine "user (?<acct>\\w+)"', list, "acct"), ["bob"]);
    assert.deepEqual(
      await column('* | rex field=CommandLine max_match=0 "user (?<acct>\\w+)"', list, "acct"),
      [["bob", "eve"]],
    );
    assert.deepEqual(
      await column('* | rex field=CommandLine "user (?P<acct>\\w+) (?<flag>/\\w+)"', list, "flag"),
      ["/add"],
    );
    assert.deepEqual(
      await column('* | rex field=CommandLine mode=sed "s/user \\w+/user X/g"', list, "CommandLine"),
      ["net user X /add & net user X /add"],
    );
    assert.deepEqual(
      await column('* | rex field=CommandLine mode=sed "s/(\\w+) (\\w+)/\\2 \\1/"', list, "CommandLine"),
      ["user net bob /add & net user eve /add"],
    );
  });

  test("§3 regex command keeps (or drops with !=) results matching a PCRE", async () => {
    const list = timeline([{ Image: "C:\\a\\cmd.exe" }, { Image: "C:\\a\\CMD.EXE" }]);
    assert.deepEqual(await column('* | regex Image="cmd\\.exe$"', list, "id"), ["0"]);
    assert.deepEqual(await column('* | regex Image!="cmd\\.exe$"', list, "id"), ["1"]);
  });

  test("§3 fillnull, mvexpand, bin span", async () => {
    const list = timeline([{ a: "1" }, { b: "2" }]);
    assert.deepEqual(await runStrings("* | fillnull value=NA a b | sort id | table a b", list), [
      { a: "1", b: "NA" },
      { a: "NA", b: "2" },
    ]);
    assert.deepEqual(await runStrings("* | fillnull | sort id | table a b", list), [
      { a: "1", b: "0" },
      { a: "0", b: "2" },
    ]);
    const mv = [winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data: { m: ["x", "y", "z"] } })];
    assert.deepEqual(await column("* | mvexpand m", mv, "m"), ["x", "y", "z"]);
    assert.deepEqual(await column("* | mvexpand m limit=2", mv, "m"), ["x", "y"]);
    const times = [winEvent({ eventID: "1", time: "2020-10-08T11:47:13Z" })];
    assert.deepEqual(await column("* | bin _time span=1h", times, "_time"), [
      "2020-10-08T11:00:00.000+00:00",
    ]);
    assert.deepEqual(await column("* | bucket _time span=1d", times, "_time"), [
      "2020-10-08T00:00:00.000+00:00",
    ]);
    assert.deepEqual(await column("* | eval n=47 | bin n span=10", times, "n"), ["40"]);
  });

  test("§3 transaction by field with maxspan/maxpause, startswith/endswith; duration and eventcount", async () => {
    const ev = (min: number, data: Record<string, string>) =>
      winEvent({ eventID: "1", time: `2020-10-08T11:${String(min).padStart(2, "0")}:00Z`, data });
    const list = [
      ev(0, { g: "a", step: "start" }),
      ev(1, { g: "a", step: "mid" }),
      ev(2, { g: "b", step: "start" }),
      ev(3, { g: "a", step: "end" }),
      ev(20, { g: "a", step: "start" }),
    ];
    const rows = await runStrings("* | transaction g | table g eventcount duration", list);
    assert.deepEqual(rows, [
      { g: "b", eventcount: "1", duration: "0" },
      { g: "a", eventcount: "4", duration: "1200" },
    ]);
    const paused = await runStrings("* | transaction g maxpause=5m | table g eventcount duration", list);
    assert.deepEqual(paused, [
      { g: "a", eventcount: "1", duration: "0" },
      { g: "b", eventcount: "1", duration: "0" },
      { g: "a", eventcount: "3", duration: "180" },
    ]);
    const bounded = await runStrings(
      '* | transaction g startswith="step=start" endswith="step=end" | table g eventcount step',
      list,
    );
    assert.deepEqual(bounded, [{ g: "a", eventcount: "3", step: ["start", "mid", "end"] }]);
    const spanned = await runStrings("* | transaction g maxspan=2m | table g eventcount", list);
    assert.deepEqual(spanned, [
      { g: "a", eventcount: "1" },
      { g: "a", eventcount: "1" },
      { g: "b", eventcount: "1" },
      { g: "a", eventcount: "2" },
    ]);
  });

  test("§3 lookup over CSV: OUTPUT, OUTPUTNEW, AS, wildcard and case-insensitive match from transforms.conf", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "spl-lookup-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      path.join(dir, "parents.csv"),
      "parent,category,note\nmmc.exe,admin,mmc\nexcel.exe,office,\n",
    );
    writeFileSync(path.join(dir, "paths.csv"), "path,kind\n*\\office16\\*,office\nc:\\windows\\*,system\n");
    writeFileSync(
      path.join(dir, "transforms.conf"),
      "[office_paths]\nfilename = paths.csv\nmatch_type = WILDCARD(path)\ncase_sensitive_match = false\n",
    );
    const list = timeline([
      { p: "mmc.exe", category: "old" },
      { p: "EXCEL.EXE" },
      { p: "excel.exe", ParentImage: "C:\\Program Files\\Office16\\EXCEL.EXE" },
    ]);
    const ctx = { lookupsDir: dir };
    assert.deepEqual(
      await column("* | lookup parents parent AS p OUTPUT category | sort id", list, "category", ctx),
      ["admin", null, "office"],
    );
    assert.deepEqual(
      await column("* | lookup parents.csv parent AS p OUTPUTNEW category | sort id", list, "category", ctx),
      ["old", null, "office"],
    );
    assert.deepEqual(
      await column("* | lookup parents parent AS p OUTPUT category AS cat | sort id", list, "cat", ctx),
      ["admin", null, "office"],
    );
    assert.deepEqual(await column("* | lookup parents parent AS p | sort id", list, "note", ctx), [
      "mmc",
      null,
      null,
    ]);
    assert.deepEqual(
      await column("* | lookup office_paths path AS ParentImage OUTPUT kind | sort id", list, "kind", ctx),
      [null, null, "office"],
    );
    assert.deepEqual(await runStrings('| inputlookup parents where category="office"', [], undefined, ctx), [
      { parent: "excel.exe", category: "office" },
    ]);
    await assert.rejects(() => run("* | lookup nosuch x", list, ctx), /lookup table 'nosuch' not found/);
  });

  test("§3 an unsupported command is a clear error naming it, never a no-op", async () => {
    assert.throws(
      () => compileSearch("index=x\n| frobnicate a", { fieldView: view }),
      (e: Error) =>
        e instanceof SplError &&
        /unsupported command 'frobnicate'/.test(e.message) &&
        e.line === 2 &&
        e.col === 3,
    );
  });
});

describe("columns", () => {
  test("stats defines its columns; a later table or rename changes them", async () => {
    assert.deepEqual(compileSearch("* | stats count by host", { fieldView: view }).columns(), [
      "host",
      "count",
    ]);
    assert.deepEqual(
      compileSearch("* | stats count by host | rename count AS n", { fieldView: view }).columns(),
      ["host", "n"],
    );
    assert.deepEqual(compileSearch("* | stats count by host | table count", { fieldView: view }).columns(), [
      "count",
    ]);
    assert.deepEqual(compileSearch("* | top Image", { fieldView: view }).columns(), [
      "Image",
      "count",
      "percent",
    ]);
  });

  test("a search starting with '|' needs a generating command", () => {
    assert.throws(
      () => compileSearch("| stats count", { fieldView: view }),
      /must start with a generating command/,
    );
  });
});

describe("tail", () => {
  test("§3 tail keeps only N rows and returns them last first, past the ring's wrap-around", async () => {
    const list = Array.from({ length: 23 }, (_v, i) =>
      winEvent({
        eventID: "1",
        time: new Date(Date.UTC(2020, 9, 8) + i * 1000).toISOString(),
        data: { id: String(i) },
      }),
    );
    // Search order is 22 ... 0; the last five are 4 3 2 1 0, returned reversed.
    assert.deepEqual(await column("* | tail 5", list, "id"), ["0", "1", "2", "3", "4"]);
    // sort id is numeric (0..22): its last three, reversed.
    assert.deepEqual(await column("* | sort id | tail 3", list, "id"), ["22", "21", "20"]);
  });
});
