/** Conformance: eval and where expressions and functions (spl-semantics.md §2). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SplError } from "../../src/spl/index.js";
import { column, run, winEvent } from "./helpers.js";

const T = "2020-10-08T11:03:46.617Z";
const one = (data: Record<string, string | string[]> = {}) => [winEvent({ eventID: "1", time: T, data })];
/** Value of field `r` after `| eval r=<expr>` on one event. */
async function ev(expr: string, data: Record<string, string | string[]> = {}) {
  return (await column(`* | eval r=${expr}`, one(data), "r"))[0];
}
async function where(expr: string, data: Record<string, string | string[]> = {}) {
  return (await run(`* | where ${expr}`, one(data))).length === 1;
}

describe("eval expressions", () => {
  test("§2.1 eval a=x, b=y runs left to right; later expressions see earlier fields; existing fields are overwritten", async () => {
    const rows = await column('* | eval a=1, b=a+1, Image="new"', one({ Image: "old" }), "b");
    assert.deepEqual(rows, ["2"]);
    assert.deepEqual(await column('* | eval Image="new"', one({ Image: "old" }), "Image"), ["new"]);
  });

  test("§2.1 the result of eval cannot be a boolean", async () => {
    await assert.rejects(
      () => run("* | eval r=1<2", one()),
      (e: Error) => e instanceof SplError && /cannot be a boolean/.test(e.message),
    );
  });

  test("§2.1 single-quoted names are fields, double-quoted text is a string", async () => {
    assert.equal(await ev("'server-1'", { "server-1": "x" }), "x");
    assert.equal(await ev('"server-1"'), "server-1");
    assert.equal(await where("a=b", { a: "x", b: "x" }), true);
    assert.equal(await where('a="b"', { a: "x", b: "x" }), false);
  });

  test("§2.1 arithmetic + - * / %, + concatenates two strings, . concatenates", async () => {
    assert.equal(await ev("7 + 3 * 2"), "13");
    assert.equal(await ev("(7 + 3) * 2"), "20");
    assert.equal(await ev("7 % 3"), "1");
    assert.equal(await ev("7 / 2"), "3.5");
    assert.equal(await ev("n + 1", { n: "41" }), "42");
    assert.equal(await ev('"a" + "b"'), "ab");
    assert.equal(await ev('"a" . 1 . "b"'), "a1b");
    assert.equal(await ev("0.1 + 0.2"), "0.3");
  });

  test("§2.1 division by zero is null", async () => {
    assert.equal(await ev("1/0"), null);
  });

  test("§2.1 boolean precedence in eval: NOT > AND > OR > XOR (the usual order)", async () => {
    // Under search precedence (OR before AND) this would be false.
    assert.equal(await where("1=1 OR 1=2 AND 1=2"), true);
    assert.equal(await where("NOT 1=2 AND 1=1"), true);
    assert.equal(await where("1=1 XOR 1=1 OR 1=1"), false);
  });

  test("§2.1 = and == are synonyms; comparisons take numbers or strings", async () => {
    assert.equal(await where("n==10", { n: "10" }), true);
    assert.equal(await where("n=10.0", { n: "10" }), true);
    assert.equal(await where("n>9", { n: "10" }), true);
    assert.equal(await where('s<"b"', { s: "a" }), true);
    assert.equal(await where('EventCode=="1"'), true);
  });

  test("§2.1 eval is case-sensitive (string comparison)", async () => {
    assert.equal(await where('s="ABC"', { s: "abc" }), false);
  });

  test("§2.1 LIKE with % and _", async () => {
    assert.equal(await where('s LIKE "c%.e_e"', { s: "cmd.exe" }), true);
    assert.equal(await where('s LIKE "C%"', { s: "cmd.exe" }), false);
    assert.equal(await where('like(s, "%md%")', { s: "cmd.exe" }), true);
  });

  test("§2.2 case() returns the value of the first TRUE condition, NULL when none", async () => {
    assert.equal(await ev('case(1=2, "a", 1=1, "b", 2=2, "c")'), "b");
    assert.equal(await ev('case(1=2, "a")'), null);
    assert.equal(await ev('case(1=2, "a", true(), "Other")'), "Other");
  });

  test("§2.2 match() is unanchored, case-sensitive PCRE; (?i) makes it insensitive", async () => {
    const d = { p: "C:\\Office16\\EXCEL.EXE" };
    assert.equal(await ev('if(match(p, "excel"), "y", "n")', d), "n");
    assert.equal(await ev('if(match(p, "EXCEL"), "y", "n")', d), "y");
    assert.equal(await ev('if(match(p, "(?i)excel"), "y", "n")', d), "y");
    assert.equal(await ev('if(match(p, "^EXCEL"), "y", "n")', d), "n");
  });

  test("§2.2 null propagation: match() on a missing field is null, which case()/if()/where do not take", async () => {
    assert.equal(await ev('if(match(missing, "x"), "y", "n")'), "n");
    assert.equal(await ev('if(NOT match(missing, "x"), "y", "n")'), "n");
    assert.equal(await ev('if(isnull(match(missing, "x")), "y", "n")'), "y");
    assert.equal(await where("missing=1 OR 1=2"), false);
    assert.equal(await where("NOT missing=1"), false);
    assert.equal(await where("missing=1 OR 1=1"), true);
    assert.equal(await ev("missing + 1"), null);
    assert.equal(await ev('missing . "x"'), null);
  });

  test("§2.2 true()/false(), if(), coalesce(), null(), nullif(), in(), isnull/isnotnull", async () => {
    assert.equal(await ev('if(true(), "t", "f")'), "t");
    assert.equal(await ev('if(false(), "t", "f")'), "f");
    assert.equal(await ev('coalesce(missing, b, "z")', { b: "B" }), "B");
    assert.deepEqual(await column("* | eval Image=null()", one({ Image: "x" }), "Image"), [null]);
    assert.equal(await ev('nullif(a, "x")', { a: "x" }), null);
    assert.equal(await ev('nullif(a, "y")', { a: "x" }), "x");
    assert.equal(await ev('if(in(a, "x", "y"), 1, 0)', { a: "y" }), "1");
    assert.equal(await ev('if(in(a, "x*"), 1, 0)', { a: "xy" }), "0");
    assert.equal(await ev('if(a IN ("x", "y"), 1, 0)', { a: "x" }), "1");
    assert.equal(await ev("if(isnull(a), 1, 0)"), "1");
    assert.equal(await ev("if(isnotnull(a), 1, 0)", { a: "" }), "1");
  });

  test("§2.2 searchmatch() runs a search string against the event", async () => {
    assert.equal(await ev('if(searchmatch("Image=*cmd.exe"), 1, 0)', { Image: "C:\\CMD.EXE" }), "1");
  });

  test("§2.3 text functions: lower, upper, len, substr (1-based), replace, trim family, split, urldecode", async () => {
    assert.equal(await ev("lower(s)", { s: "AbC" }), "abc");
    assert.equal(await ev("upper(s)", { s: "AbC" }), "ABC");
    assert.equal(await ev("len(s)", { s: "héllo" }), "5");
    assert.equal(await ev("substr(s, 2, 3)", { s: "splunk" }), "plu");
    assert.equal(await ev("substr(s, -3)", { s: "splunk" }), "unk");
    assert.equal(await ev("substr(s, 3)", { s: "splunk" }), "lunk");
    assert.equal(await ev('replace(s, "(\\d+)-(\\d+)", "\\2/\\1")', { s: "a 12-34 b 5-6" }), "a 34/12 b 6/5");
    assert.equal(await ev("trim(s)", { s: "  x  " }), "x");
    assert.equal(await ev("ltrim(s)", { s: "  x  " }), "x  ");
    assert.equal(await ev('rtrim(s, "z")', { s: "xzz" }), "x");
    assert.deepEqual(await ev('split(s, ",")', { s: "a,b,c" }), ["a", "b", "c"]);
    assert.equal(await ev("urldecode(s)", { s: "a%20b%2Fc" }), "a b/c");
  });

  test("§2.3 multivalue: mvindex (0-based, negative from the end), mvcount, mvjoin, mvfilter, mvappend", async () => {
    const d = { m: ["a", "b", "c"] };
    assert.equal(await ev("mvindex(m, 0)", d), "a");
    assert.equal(await ev("mvindex(m, -1)", d), "c");
    assert.deepEqual(await ev("mvindex(m, 1, 2)", d), ["b", "c"]);
    assert.equal(await ev("mvcount(m)", d), "3");
    assert.equal(await ev('mvjoin(m, ";")', d), "a;b;c");
    assert.deepEqual(await ev('mvfilter(m!="b")', d), ["a", "c"]);
    assert.deepEqual(await ev('mvappend(m, "d")', d), ["a", "b", "c", "d"]);
  });

  test("§2.3 conversion and math: tonumber, tostring, round, abs, floor, ceil, min, max", async () => {
    assert.equal(await ev('tonumber("0x1F", 16)'), "31");
    assert.equal(await ev('tonumber("ff", 16)'), "255");
    assert.equal(await ev('tonumber("abc")'), null);
    assert.equal(await ev("tostring(1=1)"), "True");
    assert.equal(await ev('tostring(1234567, "commas")'), "1,234,567");
    assert.equal(await ev('tostring(3725, "duration")'), "01:02:05");
    assert.equal(await ev('tostring(255, "hex")'), "0xFF");
    assert.equal(await ev("round(2.5)"), "3");
    assert.equal(await ev("round(3.14159, 2)"), "3.14");
    assert.equal(await ev("abs(-3)"), "3");
    assert.equal(await ev("floor(2.7)"), "2");
    assert.equal(await ev("ceil(2.1)"), "3");
    assert.equal(await ev("min(3, 1, 2)"), "1");
    assert.equal(await ev('max(3, 10, "2")'), "10");
  });

  test("§2.3 time: strftime, strptime, now, relative_time", async () => {
    assert.equal(await ev('strftime(_time, "%Y-%m-%d %H:%M:%S.%3N %z")'), "2020-10-08 11:03:46.617 +0000");
    assert.equal(await ev('strptime("2020-10-08 11:03:46", "%Y-%m-%d %H:%M:%S")'), "1602155026");
    assert.equal(
      await ev('strptime("08/10/2020 11:03 +0200", "%d/%m/%Y %H:%M %z")'),
      String(1602155026 - 46 - 7200),
    );
    assert.equal(await ev("now()"), String(Date.parse("2020-10-09T00:00:00Z") / 1000));
    assert.equal(
      await ev('relative_time(_time, "-1d@d")'),
      String(Date.parse("2020-10-07T00:00:00Z") / 1000),
    );
  });

  test("§2.3 hashes, printf, cidrmatch", async () => {
    assert.equal(await ev('md5("abc")'), "900150983cd24fb0d6963f7d28e17f72");
    assert.equal(
      await ev('sha256("abc")'),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(await ev('printf("%05d|%-4s|%.2f|%x", 42, "ab", 3.14159, 255)'), "00042|ab  |3.14|ff");
    assert.equal(await ev('if(cidrmatch("10.0.0.0/8", ip), 1, 0)', { ip: "10.1.2.3" }), "1");
    assert.equal(await ev('if(cidrmatch("10.0.0.0/8", ip), 1, 0)', { ip: "11.1.2.3" }), "0");
  });

  test("§2 an unsupported function is a clear error naming it", async () => {
    await assert.rejects(
      () => run("* | eval r=frobnicate(1)", one()),
      (e: Error) =>
        e instanceof SplError &&
        /unsupported eval function 'frobnicate\(\)'/.test(e.message) &&
        e.line === 1 &&
        e.col === 12,
    );
    await assert.rejects(() => run("* | eval r=if(1=1, 2)", one()), /if\(\) takes 3 argument/);
  });
});
