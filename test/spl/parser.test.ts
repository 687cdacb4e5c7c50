/** Parser: positions and error messages, print -> parse round trips (property tests), the wildcard matcher. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { EvalExpr, SearchExpr } from "../../src/spl/ast.js";
import {
  compileWildcard,
  EVAL_FUNCTIONS,
  parseSpl,
  printEvalExpr,
  printSearchExpr,
  printSpl,
  SplError,
} from "../../src/spl/index.js";

function errorOf(f: () => unknown): SplError {
  try {
    f();
  } catch (e) {
    if (e instanceof SplError) return e;
    throw e;
  }
  assert.fail("expected an SplError");
}

describe("parser errors", () => {
  test("an unclosed '(' is reported where the ')' was expected, naming the '(' and showing a caret", () => {
    const e = errorOf(() => parseSpl("abc (x=1\ny=2\nzzzzzzzzzzzzzzzz"));
    assert.equal(
      e.message,
      "spl:3:17: expected ')' to close '(' at 1:5\nzzzzzzzzzzzzzzzz\n                ^",
    );
    assert.equal(e.line, 3);
    assert.equal(e.col, 17);
    assert.equal(e.file, "spl");
  });

  test("the file name is used in messages", () => {
    const e = errorOf(() => parseSpl("* | eval x=(1+2", { file: "rules/dcom.spl" }));
    assert.match(e.message, /^rules\/dcom\.spl:1:16: expected '\)' to close '\(' at 1:12/);
  });

  test("other syntax errors point at the offending token", () => {
    assert.equal(errorOf(() => parseSpl("a=1 OR")).col, 7);
    assert.match(errorOf(() => parseSpl("a=1 OR")).message, /expected a search term after 'OR'/);
    assert.match(errorOf(() => parseSpl("a=1 | eval = 2")).message, /1:12: expected a field name to assign/);
    assert.match(errorOf(() => parseSpl('a="unterminated')).message, /unterminated string/);
    assert.match(errorOf(() => parseSpl("a=1 |")).message, /expected a command after '\|'/);
    assert.match(errorOf(() => parseSpl("a=1 | sort")).message, /sort needs at least one field/);
    assert.match(errorOf(() => parseSpl("a=1 | stats foo(x)")).message, /unsupported stats function 'foo'/);
    assert.match(
      errorOf(() => parseSpl("a=1 [search b=2")).message,
      /1:5: expected '\]' to close the subsearch/,
    );
    assert.match(errorOf(() => parseSpl("a=1 | stats count [search b]")).message, /not supported in 'stats'/);
  });

  test("AST nodes carry positions (offsets into the text)", () => {
    const p = parseSpl('index=x (Image="*\\\\cmd.exe" OR CommandLine=*DCOM*)');
    const s = p.commands[0];
    assert.equal(s.name, "search");
    if (s.name !== "search" || s.expr?.kind !== "and") assert.fail("expected an AND");
    const group = s.expr.items[1];
    assert.equal(group.kind, "group");
    assert.equal(group.pos, 8);
    if (group.kind !== "group" || group.expr.kind !== "or") assert.fail("expected an OR group");
    const img = group.expr.items[0];
    assert.deepEqual(img, {
      kind: "compare",
      pos: 9,
      field: "Image",
      op: "=",
      raw: '"*\\\\cmd.exe"',
      value: "*\\cmd.exe",
      quoted: true,
      caseSensitive: false,
      term: false,
    });
  });

  test("the seed query parses to AND(index, sourcetype, EventCode, OR(group, group, group))", () => {
    const p = parseSpl(
      'index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 ((P=a OR P=b) AND (I=c OR I=d)) OR (I=e) OR (C=f AND C=g)',
    );
    const s = p.commands[0];
    if (s.name !== "search" || s.expr?.kind !== "and") assert.fail("expected an AND");
    assert.deepEqual(
      s.expr.items.map((i) => i.kind),
      ["compare", "compare", "compare", "or"],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// round trips

/** Drops positions, raw text and parentheses; flattens nested AND/OR. */
function normSearch(e: SearchExpr): unknown {
  switch (e.kind) {
    case "group":
      return normSearch(e.expr);
    case "and":
    case "or": {
      const items = e.items
        .map(normSearch)
        .flatMap((i) => ((i as { kind: string }).kind === e.kind ? (i as { items: unknown[] }).items : [i]));
      return { kind: e.kind, items };
    }
    case "not":
      return { kind: "not", expr: normSearch(e.expr) };
    case "compare":
      return { kind: e.kind, field: e.field, op: e.op, value: e.value, cs: e.caseSensitive, term: e.term };
    case "in":
      return {
        kind: e.kind,
        field: e.field,
        values: e.values.map((v) => [v.value, v.caseSensitive, v.term]),
      };
    case "term":
      return { kind: e.kind, value: e.value, cs: e.caseSensitive, term: e.term };
    case "time":
      return { kind: e.kind, modifier: e.modifier, value: e.value };
  }
}

function normEval(e: EvalExpr): unknown {
  switch (e.kind) {
    case "group":
      return normEval(e.expr);
    case "string":
      return { s: e.value };
    case "number":
      return { n: e.raw };
    case "field":
      return { f: e.name };
    case "call":
      return { call: e.name, args: e.args.map(normEval) };
    case "unary":
      return { u: e.op, e: normEval(e.expr) };
    case "binary":
      return { b: e.op, l: normEval(e.left), r: normEval(e.right) };
    case "in":
      return { in: normEval(e.expr), list: e.list.map(normEval) };
  }
}

const fieldName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,7}$/)
  .filter(
    (n) => !["AND", "OR", "NOT", "IN", "XOR", "LIKE", "earliest", "latest", "CASE", "TERM"].includes(n),
  );
const anyText = fc.string({
  unit: fc.constantFrom("a", "B", "*", "\\", '"', " ", "|", "(", ")", "=", ",", "é", "\t", "'", "x"),
  maxLength: 8,
});
const bareText = fc
  .stringMatching(/^[A-Za-z0-9_.:*-]{1,8}$/)
  .filter((v) => !["AND", "OR", "NOT", "IN"].includes(v));

const searchValue = fc.record({
  value: fc.oneof(anyText, bareText),
  directive: fc.constantFrom("none", "case", "term"),
});
const mkValue = (v: { value: string; directive: string }) => ({
  raw: "",
  value: v.value,
  quoted: true,
  caseSensitive: v.directive === "case",
  term: v.directive === "term",
});

const searchArb: fc.Arbitrary<SearchExpr> = fc.letrec<{ expr: SearchExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc
      .record({ field: fieldName, op: fc.constantFrom("=", "!=", "<", "<=", ">", ">="), v: searchValue })
      .map(({ field, op, v }) => ({ kind: "compare", pos: 0, field, op, ...mkValue(v) }) as SearchExpr),
    fc
      .record({ field: fieldName, vs: fc.array(searchValue, { minLength: 1, maxLength: 3 }) })
      .map(({ field, vs }) => ({ kind: "in", pos: 0, field, values: vs.map(mkValue) }) as SearchExpr),
    searchValue
      .filter((v) => v.value !== "")
      .map((v) => ({ kind: "term", pos: 0, ...mkValue(v) }) as SearchExpr),
    fc
      .array(tie("expr"), { minLength: 2, maxLength: 3 })
      .map((items) => ({ kind: "and", pos: 0, items }) as SearchExpr),
    fc
      .array(tie("expr"), { minLength: 2, maxLength: 3 })
      .map((items) => ({ kind: "or", pos: 0, items }) as SearchExpr),
    tie("expr").map((expr) => ({ kind: "not", pos: 0, expr }) as SearchExpr),
  ),
})).expr;

const evalArb: fc.Arbitrary<EvalExpr> = fc.letrec<{ expr: EvalExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyText.map((value) => ({ kind: "string", pos: 0, value }) as EvalExpr),
    fc
      .oneof(fc.nat(1000).map(String), fc.stringMatching(/^[0-9]{1,3}\.[0-9]{1,2}$/))
      .map((raw) => ({ kind: "number", pos: 0, value: Number(raw), raw }) as EvalExpr),
    fc
      .oneof(
        fieldName,
        anyText.filter((s) => s !== ""),
      )
      .map((name) => ({ kind: "field", pos: 0, name, quoted: false }) as EvalExpr),
    fc
      .record({ name: fc.constantFrom(...EVAL_FUNCTIONS), args: fc.array(tie("expr"), { maxLength: 3 }) })
      .map(({ name, args }) => ({ kind: "call", pos: 0, name, args }) as EvalExpr),
    fc
      .record({
        op: fc.constantFrom(
          "OR",
          "XOR",
          "AND",
          "=",
          "==",
          "!=",
          "<",
          "<=",
          ">",
          ">=",
          "LIKE",
          "+",
          "-",
          ".",
          "*",
          "/",
          "%",
        ),
        left: tie("expr"),
        right: tie("expr"),
      })
      .map(({ op, left, right }) => ({ kind: "binary", pos: 0, op, left, right }) as EvalExpr),
    fc
      .record({ op: fc.constantFrom("NOT", "-"), expr: tie("expr") })
      .map(({ op, expr }) => ({ kind: "unary", pos: 0, op, expr }) as EvalExpr),
    fc
      .record({ expr: tie("expr"), list: fc.array(tie("expr"), { minLength: 1, maxLength: 3 }) })
      .map(({ expr, list }) => ({ kind: "in", pos: 0, expr, list }) as EvalExpr),
  ),
})).expr;

describe("print -> parse round trip (property)", () => {
  test("random search expressions", () => {
    fc.assert(
      fc.property(searchArb, (expr) => {
        const text = printSearchExpr(expr);
        const p = parseSpl(text);
        const s = p.commands[0];
        assert.equal(s.name, "search");
        if (s.name !== "search" || s.expr === undefined) assert.fail(`no expression from ${text}`);
        assert.deepEqual(normSearch(s.expr), normSearch(expr), text);
      }),
      { numRuns: 500 },
    );
  });

  test("random eval expressions", () => {
    fc.assert(
      fc.property(evalArb, (expr) => {
        const text = `* | eval r=${printEvalExpr(expr)}`;
        const p = parseSpl(text);
        const c = p.commands[1];
        if (c.name !== "eval") assert.fail(text);
        assert.deepEqual(normEval(c.assignments[0].expr), normEval(expr), text);
      }),
      { numRuns: 500 },
    );
  });

  test("every command prints back to an equivalent pipeline", () => {
    const pipelines = [
      'index=wineventlog EventCode=1 (Image="*\\\\cmd.exe" OR CommandLine=*DCOM*) NOT User=CASE(SYSTEM) c IN (a, "b c") earliest=-24h@h',
      "| inputlookup append=t parents.csv where category=office",
      '* | where x LIKE "a%" AND NOT y=1 | regex Image!="\\\\cmd\\.exe$" | eval a=1, \'b-c\'=if(x>1, "y", null())',
      "* | table _time, host, Image | fields - host | rename Image AS process, Parent* AS p_*",
      "* | sort 0 - _time, num(n), +str(s) desc | head 5 | tail 3 | head (x<3)",
      "* | dedup 2 a, b keepempty=true consecutive=true sortby -_time",
      "* | stats count, dc(u) AS users, values(x) BY h, k | eventstats max(n) | streamstats window=3 current=f sum(n) AS s",
      "* | top limit=3 showperc=f Image BY host | rare u",
      '* | rex field=CommandLine max_match=0 "(?<user>\\w+)" | rex mode=sed field=x "s/a/b/g"',
      "* | lookup local=t parents parent AS ParentImage OUTPUTNEW category AS cat, note",
      '* | fillnull value="n/a" a b | mvexpand m limit=3 | bin span=1h _time AS hour | bucket span=10 n',
      '* | transaction host, ProcessGuid maxspan=5m maxpause=30s startswith="EventCode=1" endswith=eval(EventCode=5)',
    ];
    for (const text of pipelines) {
      const once = printSpl(parseSpl(text));
      const twice = printSpl(parseSpl(once));
      assert.equal(twice, once, text);
      const strip = (k: string, v: unknown) => (k === "pos" || k === "raw" || k === "text" ? undefined : v);
      assert.equal(
        JSON.stringify(parseSpl(once).commands, strip),
        JSON.stringify(parseSpl(text).commands, strip),
        text,
      );
    }
  });
});

describe("wildcard matcher (property)", () => {
  test("agrees with a reference regex: anchored, * only, case-insensitive", () => {
    const unit = fc.constantFrom("a", "b", "A", "\\", ".", "?", "*");
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom("a", "b", "A", "B", "\\", ".", "?", "*"), maxLength: 10 }),
        (pattern, value) => {
          const re = new RegExp(
            `^${pattern
              .split("*")
              .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
              .join("[\\s\\S]*")}$`,
            "i",
          );
          assert.equal(compileWildcard(pattern)(value), re.test(value), `${pattern} vs ${value}`);
          const cs = new RegExp(re.source);
          assert.equal(compileWildcard(pattern, true)(value), cs.test(value), `CASE ${pattern} vs ${value}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("is linear: many stars on a long hostile value finish fast", () => {
    const t0 = performance.now();
    const m = compileWildcard("*a*a*a*a*a*a*a*a*a*a*b");
    assert.equal(m("a".repeat(200000)), false);
    assert.ok(performance.now() - t0 < 500);
  });
});
