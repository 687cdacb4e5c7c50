/** Regular expressions: PCRE syntax on a linear-time engine; unsupported features are clear errors. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileRegex, RegexError, SplError } from "../../src/spl/index.js";
import { column, run, winEvent } from "./helpers.js";

const one = (data: Record<string, string>) => [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data }),
];

describe("regular expressions", () => {
  test("inline (?i), named groups (?<n>) and (?P<n>) work", async () => {
    assert.deepEqual(await column('* | eval r=if(match(s, "(?i)^dcom"), 1, 0)', one({ s: "DCOM!" }), "r"), [
      "1",
    ]);
    assert.deepEqual(await column('* | rex field=s "(?<a>\\d+)-(?P<b>\\d+)"', one({ s: "x 12-34" }), "b"), [
      "34",
    ]);
  });

  test("a classic catastrophic pattern on hostile input completes quickly (match, rex, regex, replace)", async () => {
    const hostile = `${"a".repeat(30000)}!`;
    const t0 = performance.now();
    assert.deepEqual(await column('* | eval r=if(match(s, "^(a+)+$"), 1, 0)', one({ s: hostile }), "r"), [
      "0",
    ]);
    assert.equal((await run('* | regex s="^(a|aa)+$"', one({ s: hostile }))).length, 0);
    assert.deepEqual(await column('* | rex field=s "^(?<x>(a*)*)b"', one({ s: hostile }), "x"), [null]);
    assert.deepEqual(await column('* | eval r=len(replace(s, "(a+)+b", "x"))', one({ s: hostile }), "r"), [
      "30001",
    ]);
    const elapsed = performance.now() - t0;
    // A backtracking engine needs astronomically long here; RE2 is linear.
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });

  test("PCRE features RE2 lacks are rejected with an error naming them", () => {
    const cases: [string, RegExp][] = [
      ["(a)\\1", /backreferences/],
      ["a(?=b)", /lookahead/],
      ["a(?!b)", /negative lookahead/],
      ["(?<=a)b", /lookbehind/],
      ["(?<!a)b", /negative lookbehind/],
      ["(?>a+)", /atomic groups/],
      ["a++", /possessive/],
      ["(?(1)a|b)", /conditionals/],
      ["(?R)", /recursion/],
    ];
    for (const [pattern, message] of cases)
      assert.throws(
        () => compileRegex(pattern),
        (e: Error) => e instanceof RegexError && message.test(e.message),
        pattern,
      );
    // Escaped or bracketed look-alikes are fine.
    compileRegex("\\(\\?=x\\)");
    compileRegex("[(?=]");
    compileRegex("\\\\1");
  });

  test("a bad regex in a search is an SplError at the pattern's position", async () => {
    await assert.rejects(
      () => run('* | eval r=if(match(s, "(a)\\\\1"), 1, 0)', one({ s: "aa" })),
      (e: Error) => e instanceof SplError && e.col === 24 && /backreferences/.test(e.message),
    );
    await assert.rejects(
      () => run('* | rex "(?<x>a"', one({ s: "a" })),
      (e: Error) => e instanceof SplError && /bad regular expression/.test(e.message),
    );
  });
});
