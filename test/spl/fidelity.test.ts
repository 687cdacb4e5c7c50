/**
 * Conformance: valid SPL as Splunk reads it (issue 19). Each test names the Splunk documentation
 * section it follows; decisions where the docs leave a choice are in docs/spl-decisions.md.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSpl } from "../../src/spl/index.js";
import { column, run, winEvent } from "./helpers.js";

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

describe("eval/where: word operators and function names in any case (decision D-eval-keywords)", () => {
  const list = [ev({ id: "1", a: "x", n: "5" }), ev({ id: "2", a: "y", n: "15" })];

  test("lower-case and/or/not/like/in are operators, as Splunk's shipped detections write them", async () => {
    assert.deepEqual(await ids('* | where a="x" and n=5', list), ["1"]);
    assert.deepEqual(await ids('* | where a="x" or n>10', list), ["1", "2"]);
    assert.deepEqual(await ids('* | where not a="x"', list), ["2"]);
    assert.deepEqual(await ids('* | where a like "y%"', list), ["2"]);
    assert.deepEqual(await ids('* | where a in ("y", "z")', list), ["2"]);
    assert.deepEqual(await ids('* | where a="x" Or n>10', list), ["1", "2"]);
  });

  test("function names in upper case: LIKE(), CASE(), IF(), Lower() (Search Reference, Evaluation functions)", async () => {
    assert.deepEqual(await ids('* | where LIKE(a, "x%")', list), ["1"]);
    assert.deepEqual(await ids('* | where like(a, "x%")', list), ["1"]);
    assert.deepEqual(await column('* | eval r=CASE(n>10, "big", true(), "small")', list, "r"), [
      "small",
      "big",
    ]);
    assert.deepEqual(await column('* | eval r=IF(Lower(a)="x", 1, 0)', list, "r"), ["1", "0"]);
  });

  test("a field named like an operator is written in single quotes", async () => {
    const rows = await column("* | eval r='and'", [ev({ id: "1", and: "v" })], "r");
    assert.deepEqual(rows, ["v"]);
  });
});

describe("comments (Search Manual, Add comments to searches)", () => {
  const list = [ev({ id: "1", a: "x" }), ev({ id: "2", a: "y" })];

  test("```text``` is removed anywhere outside quotes, also across lines and pipes", async () => {
    assert.deepEqual(await ids("a=x ```only x | not a command```", list), ["1"]);
    assert.deepEqual(await ids("```first\nline``` a=y | ```c``` table id", list), ["2"]);
  });

  test("backticks inside a quoted value are text, and an unclosed comment is an error", async () => {
    assert.deepEqual(await ids('a="```"', [ev({ id: "1", a: "```" })]), ["1"]);
    assert.throws(() => parseSpl("a=x ```open"), /expected '```' to close the comment/);
  });
});

describe("command arguments", () => {
  test('rename "X".* AS * (a quoted part glued to a wildcard, as drop_dm_object_name("X") expands)', async () => {
    const rows = await column(
      '* | rename "Processes".* AS *',
      [ev({ id: "1", "Processes.user": "bob" })],
      "user",
    );
    assert.deepEqual(rows, ["bob"]);
  });

  test("a stats output name with parentheses is one field: rename count(x) AS n, table values(a)", async () => {
    const list = [ev({ id: "1", a: "x" }), ev({ id: "2", a: "y" })];
    assert.deepEqual(await column("* | stats count(a) | rename count(a) AS n", list, "n"), ["2"]);
    const rows = await column("* | stats values(a) | table values(a)", list, "values(a)");
    assert.deepEqual(rows, [["x", "y"]]);
    assert.deepEqual(await column("* | stats count(a) AS c(1)", list, "c(1)"), ["2"]);
  });

  test("field names with ':' and '-' in search, table and stats by", async () => {
    const list = [ev({ id: "1", "a:b": "1", "c-d": "z" }), ev({ id: "2", "a:b": "2", "c-d": "z" })];
    assert.deepEqual(await ids("a:b=1", list), ["1"]);
    assert.deepEqual(await ids("c-d = z a:b > 1", list), ["2"]);
    assert.deepEqual(await column("* | stats count by c-d", list, "c-d"), ["z"]);
    assert.deepEqual(await column("* | eval r='a:b'+1", list, "r"), ["2", "3"]);
  });
});

describe("stats: eval expressions and more functions (Search Reference, stats / Statistical functions)", () => {
  const list = ["1", "2", "3", "4", "10", "10"].map((n, i) => ev({ id: String(i), n, g: i < 3 ? "a" : "b" }));
  const one = async (agg: string) => (await column(`* | stats ${agg} AS r`, list, "r"))[0];

  test("count(eval(expr)) counts rows where the expression is true; sum(eval(...)) sums its value", async () => {
    assert.equal(await one("count(eval(n>3))"), "3");
    assert.equal(await one('count(eval(g="a"))'), "3");
    assert.equal(await one("sum(eval(n*2))"), "60");
    assert.deepEqual(await column("* | stats dc(eval(n%2)) AS r by g", list, "r"), ["2", "1"]);
  });

  test("stdev/stdevp/var/varp: sample and population", async () => {
    // values 1 2 3 4 10 10: mean 5, squared deviations 16+9+4+1+25+25 = 80
    assert.equal(await one("var(n)"), "16");
    assert.equal(Number(await one("varp(n)")).toFixed(6), (80 / 6).toFixed(6));
    assert.equal(await one("stdev(n)"), "4");
    assert.equal(Number(await one("stdevp(n)")).toFixed(6), Math.sqrt(80 / 6).toFixed(6));
  });

  test("median, percN/pN/exactpercN, mode", async () => {
    assert.equal(await one("median(n)"), "3.5");
    assert.equal(await one("perc50(n)"), "3.5");
    assert.equal(await one("p100(n)"), "10");
    assert.equal(await one("exactperc0(n)"), "1");
    assert.equal(await one("perc75(n)"), "8.5");
    assert.equal(await one("mode(n)"), "10");
  });

  test("eventstats takes the same functions", async () => {
    const spl = "* | eventstats stdev(n) AS s, count(eval(n>3)) AS big by g";
    assert.deepEqual(await column(spl, list, "big", { order: "input" }), ["0", "0", "0", "3", "3", "3"]);
    const sd = (await column(spl, list, "s", { order: "input" })).map((x) => Number(x).toFixed(4));
    assert.deepEqual(sd, ["1.0000", "1.0000", "1.0000", "3.4641", "3.4641", "3.4641"]);
  });
});

describe("transaction startswith=(...) (Search Reference, transaction)", () => {
  test("a search expression in parentheses is the start condition", async () => {
    const list = [
      winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data: { s: "k", step: "open" } }),
      winEvent({ eventID: "1", time: "2020-10-08T11:01:00Z", data: { s: "k", step: "mid" } }),
      winEvent({ eventID: "1", time: "2020-10-08T11:02:00Z", data: { s: "k", step: "open" } }),
    ];
    const counts = await column("* | transaction s startswith=(step=open OR step=start)", list, "eventcount");
    assert.deepEqual(counts, ["1", "2"]);
  });
});

describe("results after a transforming command (Search Reference, stats / search)", () => {
  const list = [ev({ id: "1", a: "x" }), ev({ id: "2", a: "y" })];

  test("fields added after stats are new columns (eval, convert), not dropped from the output", async () => {
    const rows = await run("* | stats count by a | eval b=count*2 | convert ctime(b) AS c", list);
    assert.deepEqual(rows[0].columns, ["a", "count", "b", "c"]);
    const t = await run("* | stats count by a | eval b=1 | table a", list);
    assert.deepEqual(t[0].columns, ["a"]);
  });

  test("`search *` keeps every result, also rows without _raw after stats (D-search-star)", async () => {
    assert.equal((await run("* | stats count by a | search *", list)).length, 2);
  });
});
