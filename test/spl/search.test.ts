/** Conformance: the search command (spl-semantics.md §1). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { column, SYSMON, sysmon1, winEvent } from "./helpers.js";

const T = "2020-10-08T11:00:00Z";
const ev = (data: Record<string, string>, eventID = "1") => winEvent({ eventID, time: T, data });
const ids = (spl: string, list: ReturnType<typeof ev>[]) => column(spl, list, "id", { order: "input" });

describe("search command", () => {
  test("§1.1 OR binds tighter than AND (A AND B OR C = A AND (B OR C))", async () => {
    const list = [
      ev({ id: "1", A: "1", B: "0", C: "3" }),
      ev({ id: "2", A: "0", B: "2", C: "3" }),
      ev({ id: "3", A: "1", B: "2", C: "0" }),
    ];
    // Under AND-before-OR, event 2 (A=0, C=3) would match.
    assert.deepEqual(await ids("A=1 AND B=2 OR C=3", list), ["1", "3"]);
    assert.deepEqual(await ids("A=1 B=2 OR C=3", list), ["1", "3"]);
  });

  test("§1.1 NOT applies to the next term only and binds tighter than OR (error NOT 403 OR 404)", async () => {
    const list = [
      ev({ id: "1", e: "x", s: "403" }),
      ev({ id: "2", e: "x", s: "404" }),
      ev({ id: "3", e: "x", s: "500" }),
      ev({ id: "4", s: "404" }),
    ];
    assert.deepEqual(await ids("e=x NOT s=403 OR s=404", list), ["2", "3"]);
  });

  test("§1.1 parentheses override precedence", async () => {
    const list = [ev({ id: "1", A: "1", B: "0", C: "3" }), ev({ id: "2", A: "0", B: "2", C: "3" })];
    assert.deepEqual(await ids("(A=1 AND B=2) OR C=3", list), ["1", "2"]);
  });

  test("§1.1 operators must be uppercase: lowercase 'or' is a term", async () => {
    const list = [ev({ id: "1", A: "1" })];
    assert.deepEqual(await ids("A=1 or A=2", list), []);
  });

  test("§1.2 field names are case-sensitive", async () => {
    const list = [ev({ id: "1", Image: "C:\\a\\cmd.exe" })];
    assert.deepEqual(await ids('image="*cmd.exe"', list), []);
    assert.deepEqual(await ids('Image="*cmd.exe"', list), ["1"]);
  });

  test("§1.2 field values match case-insensitively; CASE() makes it case-sensitive", async () => {
    const list = [ev({ id: "1", ParentImage: "C:\\Office16\\EXCEL.EXE" })];
    assert.deepEqual(await ids('ParentImage="*\\\\excel.exe"', list), ["1"]);
    assert.deepEqual(await ids('ParentImage=CASE("*\\\\excel.exe")', list), []);
    assert.deepEqual(await ids('ParentImage=CASE("*\\\\EXCEL.EXE")', list), ["1"]);
  });

  test("§1.3 a value without * is an exact whole-value match ('1' does not match '1.0' or '01')", async () => {
    const list = [
      ev({ id: "a", v: "1" }),
      ev({ id: "b", v: "1.0" }),
      ev({ id: "c", v: "01" }),
      ev({ id: "d", v: "11" }),
    ];
    assert.deepEqual(await ids("v=1", list), ["a"]);
  });

  test("§1.3 * is an anchored glob: *\\cmd.exe means 'ends with \\cmd.exe'", async () => {
    const list = [
      ev({ id: "1", Image: "C:\\Windows\\System32\\cmd.exe" }),
      ev({ id: "2", Image: "C:\\x\\notcmd.exe" }),
      ev({ id: "3", Image: "C:\\x\\cmd.exe.bak" }),
    ];
    assert.deepEqual(await ids('Image="*\\\\cmd.exe"', list), ["1"]);
  });

  test("§1.3 * is the only wildcard: ? and . and % are literal", async () => {
    const list = [ev({ id: "1", v: "abc" }), ev({ id: "2", v: "a?c" }), ev({ id: "3", v: "a.c" })];
    assert.deepEqual(await ids('v="a?c"', list), ["2"]);
    assert.deepEqual(await ids('v="a.c"', list), ["3"]);
    assert.deepEqual(await ids('v="a%"', list), []);
  });

  test("§1.3 a backslash does not escape *", async () => {
    const list = [ev({ id: "1", v: "a\\xyz" }), ev({ id: "2", v: "a*" })];
    // "a\\*" is the pattern a\* : 'a', backslash, then anything.
    assert.deepEqual(await ids('v="a\\\\*"', list), ["1"]);
  });

  test('§1.4 quoted escapes: \\\\ -> \\, \\" -> ", \\| -> |, other \\x kept', async () => {
    const list = [ev({ id: "1", v: 'say "hi"' }), ev({ id: "2", v: "a|b" }), ev({ id: "3", v: "x\\sy" })];
    assert.deepEqual(await ids('v="say \\"hi\\""', list), ["1"]);
    assert.deepEqual(await ids('v="a\\|b"', list), ["2"]);
    assert.deepEqual(await ids('v="x\\sy"', list), ["3"]);
    assert.deepEqual(await ids('v="x\\\\sy"', list), ["3"]);
  });

  test("§1.5 a missing field never equals anything; NOT f=v includes events without f", async () => {
    const list = [ev({ id: "1", f: "v" }), ev({ id: "2", f: "w" }), ev({ id: "3" })];
    assert.deepEqual(await ids("f=v", list), ["1"]);
    assert.deepEqual(await ids("f!=v", list), ["2"]);
    assert.deepEqual(await ids("NOT f=v", list), ["2", "3"]);
  });

  test("§1.5 f=* needs the field; NOT f=* finds events without it; f!=* never matches", async () => {
    const list = [ev({ id: "1", f: "v" }), ev({ id: "2" })];
    assert.deepEqual(await ids("f=*", list), ["1"]);
    assert.deepEqual(await ids("NOT f=*", list), ["2"]);
    assert.deepEqual(await ids("f!=*", list), []);
  });

  test("§1.6 < <= > >= compare numerically when both sides are numbers, else lexicographically", async () => {
    const list = [ev({ id: "1", n: "9" }), ev({ id: "2", n: "10" }), ev({ id: "3", n: "abc" })];
    // 10 > 5 numerically (lexicographically "10" < "5"); "abc" vs 5 is lexicographic: "abc" > "5".
    assert.deepEqual(await ids("n>5", list), ["1", "2", "3"]);
    assert.deepEqual(await ids("n<=9", list), ["1"]);
    assert.deepEqual(await ids("n<10", list), ["1"]);
    assert.deepEqual(await ids("n>=a", list), ["3"]);
  });

  test('§1.6 EventCode=1 and EventCode="1" are the same string comparison', async () => {
    const list = [ev({ id: "1" }, "1"), ev({ id: "2" }, "11"), ev({ id: "3" }, "3")];
    assert.deepEqual(await ids("EventCode=1", list), ["1"]);
    assert.deepEqual(await ids('EventCode="1"', list), ["1"]);
  });

  test("§1.6 fieldA=fieldB compares with the literal text 'fieldB'", async () => {
    const list = [ev({ id: "1", a: "x", b: "x" }), ev({ id: "2", a: "b", b: "y" })];
    assert.deepEqual(await ids("a=b", list), ["2"]);
  });

  test("§1.6 field IN (a, b*) takes wildcards; keyword values must be quoted", async () => {
    const list = [
      ev({ id: "1", c: "IN" }),
      ev({ id: "2", c: "bar" }),
      ev({ id: "3", c: "zzz" }),
      ev({ id: "4", c: "OR" }),
    ];
    assert.deepEqual(await ids("c IN (ba*, zzz)", list), ["2", "3"]);
    assert.deepEqual(await ids('c IN ("in", "or")', list), ["1", "4"]);
    assert.deepEqual(await ids('c="IN"', list), ["1"]);
  });

  test("§1.7 a multivalue field matches if any value does", async () => {
    const list = [
      winEvent({ eventID: "1", time: T, data: { id: "1", m: ["alpha", "beta"] } }),
      ev({ id: "2", m: "gamma" }),
    ];
    assert.deepEqual(await ids("m=beta", list), ["1"]);
    assert.deepEqual(await ids("m=gam*", list), ["2"]);
  });

  test("§1.8 bare terms and quoted phrases match _raw as whole terms, case-insensitively", async () => {
    const list = [
      ev({ id: "1", CommandLine: "net use \\\\srv\\share" }),
      ev({ id: "2", CommandLine: "netstat -ano" }),
    ];
    assert.deepEqual(await ids("net", list), ["1"]);
    assert.deepEqual(await ids("NETSTAT", list), ["2"]);
    assert.deepEqual(await ids("net*", list), ["1", "2"]);
    assert.deepEqual(await ids('"net use"', list), ["1"]);
    assert.deepEqual(await ids("NOT netstat", list), ["1"]);
  });

  test("§1.8 TERM() matches the literal including minor breakers", async () => {
    const list = [ev({ id: "1", ip: "10.0.0.1" }), ev({ id: "2", ip: "10.0.0.12" })];
    assert.deepEqual(await ids("TERM(10.0.0.1)", list), ["1"]);
  });

  test("§1.9 | search later in the pipeline uses the same syntax (fields made by eval)", async () => {
    const list = [ev({ id: "1", a: "x" }), ev({ id: "2", a: "y" })];
    assert.deepEqual(await ids("* | eval b=upper(a) | search b=x OR b=z", list), ["1"]);
  });

  test("§1 metadata fields index, sourcetype, source, host", async () => {
    const list = [
      ev({ id: "1" }),
      winEvent({
        eventID: "4688",
        channel: "Security",
        time: T,
        data: { id: "2" },
        computer: "dc01.corp.local",
      }),
    ];
    assert.deepEqual(await ids(`index=wineventlog sourcetype="XmlWinEventLog:${SYSMON}"`, list), ["1"]);
    assert.deepEqual(await ids('source="WinEventLog:Security"', list), ["2"]);
    assert.deepEqual(await ids("host=dc01*", list), ["2"]);
    assert.deepEqual(await ids("index=main", list), []);
  });

  test("§1 time modifiers earliest/latest: absolute and relative to now", async () => {
    const list = [
      sysmon1("2020-10-08T10:00:00Z", { id: "old" }),
      sysmon1("2020-10-08T23:30:00Z", { id: "new" }),
    ];
    const now = Date.parse("2020-10-09T00:10:00Z") / 1000;
    assert.deepEqual(await column("earliest=-1h@h", list, "id", { now, order: "input" }), ["new"]);
    assert.deepEqual(await column("earliest=-24h latest=-1h", list, "id", { now, order: "input" }), ["old"]);
    assert.deepEqual(
      await column('earliest="10/08/2020:09:00:00" latest=10/08/2020:11:00:00', list, "id", {
        now,
        order: "input",
      }),
      ["old"],
    );
  });
});
