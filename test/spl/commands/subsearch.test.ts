/**
 * Conformance: subsearches (Search Manual, "About subsearches"; Search Reference, format, return, join,
 * append, appendpipe).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { parseSpl } from "../../../src/spl/index.js";
import { column, run, sysmon1, winEvent } from "../helpers.js";

const evs = [
  sysmon1("2020-10-08T11:00:00Z", { Image: "C:\\a\\cmd.exe", User: "alice", ParentImage: "x" }, "h1"),
  sysmon1("2020-10-08T11:01:00Z", { Image: "C:\\a\\mmc.exe", User: "bob", ParentImage: "y" }, "h2"),
  sysmon1("2020-10-08T11:02:00Z", { Image: "C:\\a\\cmd.exe", User: "carol", ParentImage: "z" }, "h3"),
  winEvent({
    eventID: "4624",
    channel: "Security",
    time: "2020-10-08T11:03:00Z",
    data: { TargetUserName: "bob", LogonType: "3" },
    computer: "h2",
  }),
];

describe("subsearch in a search (About subsearches: results become search terms)", () => {
  test("the subsearch's field values filter the main search (OR of the rows)", async () => {
    const users = await column(
      "EventCode=1 [search EventCode=4624 | rename TargetUserName AS User | fields User] | sort User",
      evs,
      "User",
    );
    assert.deepEqual(users, ["bob"]);
  });

  test("NOT [subsearch] keeps the others; an empty subsearch matches nothing, NOT of it everything", async () => {
    assert.deepEqual(
      await column(
        "EventCode=1 NOT [search EventCode=4624 | rename TargetUserName AS User | fields User] | sort User",
        evs,
        "User",
      ),
      ["alice", "carol"],
    );
    assert.deepEqual(await column("EventCode=1 [search EventCode=999 | fields User]", evs, "User"), []);
    assert.equal(
      (await column("EventCode=1 NOT [search EventCode=999 | fields User]", evs, "User")).length,
      3,
    );
  });

  test("several fields in a row are ANDed; a generating subsearch (inputlookup) needs no events", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-sub-"));
    writeFileSync(path.join(dir, "pairs.csv"), "User,Computer\nalice,h1\ncarol,h9\n");
    const users = await column("EventCode=1 [| inputlookup pairs.csv]", evs, "User", { lookupsDir: dir });
    assert.deepEqual(users, ["alice"]);
  });

  test("return and format produce Splunk's search text", async () => {
    const fmt = await run("EventCode=1 | stats count by User | fields User | format", evs);
    assert.equal(fmt[0].fields.get("search"), '( ( User="alice" ) OR ( User="bob" ) OR ( User="carol" ) )');
    const ret = await run("EventCode=1 | sort User | return 2 u=User", evs);
    assert.equal(ret[0].fields.get("search"), '(u="alice") OR (u="bob")');
    const val = await run("EventCode=1 | sort User | return $User", evs);
    assert.equal(val[0].fields.get("search"), "alice");
    const empty = await run("EventCode=99 | format", evs);
    assert.equal(empty[0].fields.get("search"), "NOT ( )");
    const mv = await run('EventCode=1 | stats values(User) AS User | format mvsep="or"', evs);
    assert.equal(mv[0].fields.get("search"), '( ( ( User="alice" or User="bob" or User="carol" ) ) )');
  });

  test("a subsearch ending in return inserts its search text", async () => {
    const users = await column(
      "EventCode=1 [search EventCode=4624 | return User=TargetUserName]",
      evs,
      "User",
    );
    assert.deepEqual(users, ["bob"]);
  });

  test("a subsearch outside the search command is a positioned error; an unclosed bracket too", () => {
    assert.throws(
      () => parseSpl("* | eval x=[search *]"),
      /subsearch '\[\.\.\.\]' is not supported in 'eval'.*|spl:1:12/,
    );
    assert.throws(() => parseSpl("* [search *"), /expected '\]' to close the subsearch/);
    // A bracket inside a single-quoted field name in eval is part of the name.
    assert.equal(parseSpl("* | eval x='a[0]' + 1").commands[1].name, "eval");
  });
});

describe("join (Search Reference, join)", () => {
  const logons = "[search EventCode=4624 | rename TargetUserName AS User | fields User LogonType]";
  test("type=inner (default) keeps matched rows with the subsearch's fields", async () => {
    const rows = await run(`EventCode=1 | join User ${logons} | table User LogonType`, evs);
    assert.deepEqual(
      rows.map((r) => [r.fields.get("User"), r.fields.get("LogonType")]),
      [["bob", "3"]],
    );
  });

  test("type=left keeps unmatched main rows; overwrite=false keeps the main values", async () => {
    const rows = await run(
      `EventCode=1 | join type=left User ${logons} | sort User | table User LogonType`,
      evs,
    );
    assert.deepEqual(
      rows.map((r) => [r.fields.get("User"), r.fields.get("LogonType") ?? null]),
      [
        ["alice", null],
        ["bob", "3"],
        ["carol", null],
      ],
    );
    const kept = await run(
      'EventCode=1 User=bob | eval LogonType="main" | join overwrite=false User [search EventCode=4624 | rename TargetUserName AS User]',
      evs,
    );
    assert.equal(kept[0].fields.get("LogonType"), "main");
  });

  test("max=0 joins every matching row; max=1 only the first", async () => {
    const many = "[search EventCode=1 | eval k=1 | fields k Image]";
    const all = await run(`EventCode=4624 | eval k=1 | join max=0 k ${many}`, evs);
    assert.equal(all.length, 3);
    const one = await run(`EventCode=4624 | eval k=1 | join k ${many}`, evs);
    assert.equal(one.length, 1);
  });

  test("usetime=true earlier=true joins only subsearch rows not later than the main row", async () => {
    const sub = "[search EventCode=1 | eval k=1 | fields k Image _time]";
    const early = await run(
      `EventCode=1 User=bob | eval k=1 | fields k User _time | join usetime=t earlier=t max=0 k ${sub}`,
      evs,
    );
    assert.equal(early.length, 2);
    const late = await run(
      `EventCode=1 User=bob | eval k=1 | fields k User _time | join usetime=t earlier=f max=0 k ${sub}`,
      evs,
    );
    assert.equal(late.length, 2);
  });

  test("bad join type is a positioned error", () => {
    assert.throws(
      () => parseSpl("* | join type=cross User [search *]"),
      /join type must be inner, left or outer/,
    );
  });
});

describe("append and appendpipe (Search Reference)", () => {
  test("append adds the subsearch's results after the main results", async () => {
    const rows = await run(
      "EventCode=1 | stats count AS n | append [search EventCode=4624 | stats count AS logons]",
      evs,
    );
    assert.deepEqual(
      rows.map((r) => [r.fields.get("n") ?? null, r.fields.get("logons") ?? null]),
      [
        [3, null],
        [null, 1],
      ],
    );
  });

  test("appendpipe runs its commands over the results so far and appends theirs", async () => {
    const rows = await run(
      'EventCode=1 | stats count by Image | appendpipe [stats sum(count) AS count | eval Image="TOTAL"]',
      evs,
    );
    assert.deepEqual(
      rows.map((r) => [r.fields.get("Image"), r.fields.get("count")]),
      [
        ["C:\\a\\cmd.exe", 2],
        ["C:\\a\\mmc.exe", 1],
        ["TOTAL", 3],
      ],
    );
  });
});
