/** Conformance: convert (Search Reference, convert command: "Convert functions"). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSpl, SplError } from "../../../src/spl/index.js";
import { column, run, winEvent } from "../helpers.js";

const T = "2020-10-08T11:03:46Z";
const one = (data: Record<string, string | string[]>) => [winEvent({ eventID: "1", time: T, data })];
const conv = async (spl: string, data: Record<string, string | string[]>, field: string) =>
  (await column(`* | ${spl}`, one(data), field))[0];

describe("convert", () => {
  test("ctime with timeformat, as security_content_ctime expands (stats min(_time) then ctime)", async () => {
    const rows = await run(
      '* | stats min(_time) as firstTime max(_time) as lastTime | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)',
      one({}),
    );
    assert.equal(rows[0].fields.get("firstTime"), "2020-10-08T11:03:46");
    assert.equal(rows[0].fields.get("lastTime"), "2020-10-08T11:03:46");
  });

  test("ctime default format is %m/%d/%Y %H:%M:%S; AS keeps the original field", async () => {
    const rows = await run("* | eval t=1602155026 | convert ctime(t) AS c", one({}));
    assert.equal(rows[0].fields.get("c"), "10/08/2020 11:03:46");
    assert.equal(rows[0].fields.get("t"), 1602155026);
  });

  test("mktime parses with timeformat; a value that does not parse is left as it was", async () => {
    assert.equal(
      await conv('convert timeformat="%Y-%m-%d %H:%M:%S" mktime(d)', { d: "2020-10-08 11:03:46" }, "d"),
      "1602155026",
    );
    assert.equal(
      await conv('convert timeformat="%Y-%m-%d" mktime(d)', { d: "not a date" }, "d"),
      "not a date",
    );
  });

  test("dur2sec, mstime, memk, rmcomma, rmunit", async () => {
    assert.equal(await conv("convert dur2sec(d)", { d: "1+02:03:04" }, "d"), String(86400 + 7384));
    assert.equal(await conv("convert dur2sec(d)", { d: "00:01:30" }, "d"), "90");
    assert.equal(await conv("convert mstime(d)", { d: "02:03.5" }, "d"), "123.5");
    assert.equal(await conv("convert memk(d)", { d: "2m" }, "d"), "2048");
    assert.equal(await conv("convert rmcomma(d)", { d: "1,234,567" }, "d"), "1234567");
    assert.equal(await conv("convert rmunit(d)", { d: "42kb" }, "d"), "42");
  });

  test("num removes what does not convert; auto leaves it", async () => {
    assert.equal(await conv("convert num(d)", { d: "12abc" }, "d"), "12");
    assert.equal(await conv("convert num(d)", { d: "abc" }, "d"), null);
    assert.equal(await conv("convert auto(d)", { d: "abc" }, "d"), "abc");
    assert.equal(await conv("convert auto(d)", { d: "1,000" }, "d"), "1000");
  });

  test("wildcards and none(): auto(*) none(keep)", async () => {
    const rows = await run("* | convert auto(n*) none(nkeep)", one({ n1: "1,5", n2: "3k", nkeep: "4,0" }));
    assert.equal(rows[0].fields.get("n1"), 15);
    assert.equal(rows[0].fields.get("n2"), 3);
    assert.equal(rows[0].fields.get("nkeep"), "4,0");
  });

  test("multivalue fields convert value by value", async () => {
    const rows = await run("* | convert rmcomma(m)", one({ m: ["1,0", "2,0"] }));
    assert.deepEqual(rows[0].fields.get("m"), [10, 20]);
  });

  test("errors: unknown function, missing conversion", () => {
    assert.throws(
      () => parseSpl("* | convert foo(x)"),
      (e: Error) => e instanceof SplError && /unsupported convert function 'foo'/.test(e.message),
    );
    assert.throws(() => parseSpl("* | convert timeformat=x"), /convert needs a conversion/);
  });
});
