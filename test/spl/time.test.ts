/** _time (spl-semantics §4): formatting for tables and exports, relative time, strftime/strptime. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatTimeForTable,
  formatTimeIso,
  resolveTimeSpec,
  rowToStrings,
  strftime,
  strptime,
} from "../../src/spl/index.js";
import { run, sysmon1 } from "./helpers.js";

const T = Date.parse("2020-10-08T11:03:46.617Z") / 1000;

describe("_time", () => {
  test("§4 _time comes from SystemTime with sub-second precision; tables show ms, exports ISO 8601 with offset", async () => {
    const rows = await run("* | table _time", [sysmon1("2020-10-08T11:03:46.6179203Z", {})]);
    const t = rows[0].fields.get("_time");
    assert.equal(typeof t, "number");
    assert.ok(Math.abs((t as number) - 1602155026.61792) < 1e-5);
    assert.deepEqual(rowToStrings(rows[0], ["_time"], "table", "UTC"), { _time: "2020-10-08 11:03:46.617" });
    assert.deepEqual(rowToStrings(rows[0], ["_time"], "export", "UTC"), {
      _time: "2020-10-08T11:03:46.617+00:00",
    });
  });

  test("§4 formatTimeForTable / formatTimeIso truncate to ms and render in the zone", () => {
    assert.equal(formatTimeForTable(T, "UTC"), "2020-10-08 11:03:46.617");
    assert.equal(formatTimeIso(T, "UTC"), "2020-10-08T11:03:46.617+00:00");
    assert.equal(formatTimeIso(T, "Europe/Paris"), "2020-10-08T13:03:46.617+02:00");
    assert.equal(formatTimeIso(T, "America/New_York"), "2020-10-08T07:03:46.617-04:00");
    assert.equal(formatTimeForTable(1602155026.9999, "UTC"), "2020-10-08 11:03:46.999");
    assert.equal(formatTimeIso(1602155026.618, "UTC"), "2020-10-08T11:03:46.618+00:00");
  });

  test("§4 every JSON value is a string; multivalue fields are arrays; missing = empty cell", async () => {
    const rows = await run('* | eval n=1.5, m=split("a,b", ",") | table n m x', [
      sysmon1("2020-10-08T11:00:00Z", {}),
    ]);
    assert.deepEqual(rowToStrings(rows[0], ["n", "m", "x"], "export", "UTC"), {
      n: "1.5",
      m: ["a", "b"],
      x: "",
    });
  });

  test("relative time: offsets, snaps, chains, now, epoch and absolute forms", () => {
    const now = Date.parse("2020-10-08T11:03:46Z") / 1000;
    const at = (s: string, tz = "UTC") =>
      new Date((resolveTimeSpec(s, now, tz) as number) * 1000).toISOString();
    assert.equal(at("-24h@h"), "2020-10-07T11:00:00.000Z");
    assert.equal(at("@d"), "2020-10-08T00:00:00.000Z");
    assert.equal(at("-1d@d+8h"), "2020-10-07T08:00:00.000Z");
    assert.equal(at("@w1"), "2020-10-05T00:00:00.000Z");
    assert.equal(at("@mon"), "2020-10-01T00:00:00.000Z");
    assert.equal(at("-1mon@mon"), "2020-09-01T00:00:00.000Z");
    assert.equal(at("@y"), "2020-01-01T00:00:00.000Z");
    assert.equal(at("@q"), "2020-10-01T00:00:00.000Z");
    assert.equal(at("-30m"), "2020-10-08T10:33:46.000Z");
    assert.equal(at("now"), "2020-10-08T11:03:46.000Z");
    assert.equal(at("@d", "America/New_York"), "2020-10-08T04:00:00.000Z");
    assert.equal(resolveTimeSpec("1602155026", now, "UTC"), 1602155026);
    assert.equal(at("10/08/2020:11:00:00"), "2020-10-08T11:00:00.000Z");
    assert.equal(resolveTimeSpec("-1x", now, "UTC"), undefined);
  });

  test("strftime/strptime with Splunk's format variables", () => {
    assert.equal(
      strftime(T, "%Y-%m-%dT%H:%M:%S.%3N%:z %b %a %j %p %I %s %6N", "UTC"),
      "2020-10-08T11:03:46.617+00:00 Oct Thu 282 AM 11 1602155026 617000",
    );
    assert.equal(strftime(T, "%F %T %Z", "Asia/Tokyo"), "2020-10-08 20:03:46 +0900");
    assert.equal(strptime("2020-10-08T11:03:46.617Z", "%Y-%m-%dT%H:%M:%S.%3N%z", "UTC"), T);
    assert.equal(strptime("Oct 8 2020 1:03:46 PM", "%b %d %Y %I:%M:%S %p", "UTC"), T - 0.617 + 7200);
    assert.equal(
      strptime("08/10/2020", "%d/%m/%Y", "Europe/Paris"),
      Date.parse("2020-10-07T22:00:00Z") / 1000,
    );
    assert.equal(strptime("garbage", "%Y", "UTC"), undefined);
  });
});
