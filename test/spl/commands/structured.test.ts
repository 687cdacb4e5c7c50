/**
 * Conformance: spath, xmlkv, fromjson, foreach, timechart, map, outputlookup (Search Reference), and
 * the commands that cannot run offline (iplocation, mstats).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { parseSpl } from "../../../src/spl/index.js";
import { run, sysmon1, winEvent } from "../helpers.js";

const one = (data: Record<string, string>) => [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data }),
];

describe("spath (Search Reference, spath)", () => {
  const json = '{"user":{"name":"bob","groups":["a","b"]},"items":[{"id":1},{"id":2}],"ok":true}';
  test("without a path every JSON leaf becomes a field named by its path; arrays as {}", async () => {
    const [r] = await run("* | spath input=j", one({ j: json }));
    assert.equal(r.fields.get("user.name"), "bob");
    assert.deepEqual(r.fields.get("user.groups{}"), ["a", "b"]);
    assert.deepEqual(r.fields.get("items{}.id"), ["1", "2"]);
    assert.equal(r.fields.get("ok"), "true");
  });
  test("path= (or the bare path) into output=; {N} counts from 1", async () => {
    const [r] = await run(
      "* | spath input=j output=n path=user.name | spath input=j items{2}.id",
      one({ j: json }),
    );
    assert.equal(r.fields.get("n"), "bob");
    assert.equal(r.fields.get("items{2}.id"), "2");
  });
  test("XML: elements by path, attributes as {@attr}", async () => {
    const xml = '<ev><user id="7">bob</user><user id="8">amy</user><k>v</k></ev>';
    const [r] = await run(
      "* | spath input=x output=u path=ev.user | spath input=x output=ids path=ev.user{@id} | spath input=x",
      one({ x: xml }),
    );
    assert.deepEqual(r.fields.get("u"), ["bob", "amy"]);
    assert.deepEqual(r.fields.get("ids"), ["7", "8"]);
    assert.equal(r.fields.get("ev.k"), "v");
    assert.deepEqual(r.fields.get("ev.user{@id}"), ["7", "8"]);
  });
  test("text that is neither JSON nor XML leaves the row unchanged", async () => {
    const [r] = await run("* | spath input=j output=n path=a", one({ j: "not json" }));
    assert.equal(r.fields.has("n"), false);
  });
});

describe("xmlkv and fromjson (Search Reference)", () => {
  test("xmlkv: text-only elements become fields; repeated tags multivalue", async () => {
    const [r] = await run("* | xmlkv x", one({ x: "<a><b>1</b><c k='z'>2</c><b>3</b><d><e>4</e></d></a>" }));
    assert.deepEqual(r.fields.get("b"), ["1", "3"]);
    assert.equal(r.fields.get("c"), "2");
    assert.equal(r.fields.get("e"), "4");
    assert.equal(r.fields.has("d"), false);
  });
  test("fromjson: top-level keys become fields (prefix=), arrays multivalue, objects JSON text", async () => {
    const [r] = await run(
      '* | fromjson j prefix="p_"',
      one({ j: '{"a":"x","n":2,"l":[1,"y"],"o":{"k":1}}' }),
    );
    assert.equal(r.fields.get("p_a"), "x");
    assert.equal(r.fields.get("p_n"), "2");
    assert.deepEqual(r.fields.get("p_l"), ["1", "y"]);
    assert.equal(r.fields.get("p_o"), '{"k":1}');
  });
});

describe("foreach (Search Reference, foreach)", () => {
  test("multifield: <<FIELD>> and <<MATCHSTR>> per matching field", async () => {
    const [r] = await run(
      "* | foreach c_* [eval <<FIELD>> = '<<FIELD>>' * 2, t_<<MATCHSTR>> = \"<<FIELD>>\"]",
      one({ c_a: "1", c_b: "5", other: "3" }),
    );
    assert.equal(r.fields.get("c_a"), 2);
    assert.equal(r.fields.get("c_b"), 10);
    assert.equal(r.fields.get("t_a"), "c_a");
    assert.equal(r.fields.get("other"), "3");
  });
  test("mode=multivalue: <<ITEM>> per value", async () => {
    const [r] = await run(
      '* | eval total=0 | makemv delim="," v | foreach mode=multivalue v [eval total = total + <<ITEM>>]',
      one({ v: "1,2,3" }),
    );
    assert.equal(r.fields.get("total"), 6);
    const [n] = await run(
      '* | eval s="" | makemv delim="," v | foreach mode=multivalue itemstr=<<N>> v [eval s = s . <<ITER>> . ":" . <<N>> . ";"]',
      one({ v: "5,7" }),
    );
    assert.equal(n.fields.get("s"), "0:5;1:7;");
  });
  test("a template with a non-streaming command is an error; a bad template a parse error", async () => {
    await assert.rejects(run("* | foreach c_* [stats count]", one({ c_a: "1" })), /streaming commands only/);
    assert.throws(() => parseSpl("* | foreach c_* [eval = 1]"), /expected a field name to assign/);
  });
});

describe("timechart (Search Reference, timechart)", () => {
  const evs = [
    sysmon1("2020-10-08T11:00:10Z", { Image: "a" }),
    sysmon1("2020-10-08T11:00:20Z", { Image: "b" }),
    sysmon1("2020-10-08T11:02:30Z", { Image: "a" }),
    sysmon1("2020-10-08T11:02:40Z", { Image: "c" }),
  ];
  test("span and BY: a column per value, empty buckets filled with 0 for count", async () => {
    const rows = await run("* | timechart span=1m count by Image", evs);
    assert.deepEqual(
      rows.map((r) => [r.fields.get("_time"), r.fields.get("a"), r.fields.get("b"), r.fields.get("c")]),
      [
        [1602154800, 1, 1, 0],
        [1602154860, 0, 0, 0],
        [1602154920, 1, 0, 1],
      ],
    );
  });
  test("limit with useother merges the rest into OTHER; without BY the aggregation names", async () => {
    const rows = await run("* | timechart span=1h limit=1 count by Image", evs);
    assert.deepEqual(
      [...rows[0].fields.keys()].filter((k) => !k.startsWith("_")),
      ["a", "OTHER"],
    );
    assert.equal(rows[0].fields.get("OTHER"), 2);
    const plain = await run("* | timechart span=1h count dc(Image) AS kinds", evs);
    assert.equal(plain[0].fields.get("count"), 4);
    assert.equal(plain[0].fields.get("kinds"), 3);
  });
});

describe("map, outputlookup; commands that cannot run offline", () => {
  test("outputlookup writes a CSV to the lookups dir (append adds rows); map runs a lookup per row", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-ol-"));
    await run("* | table Image User | outputlookup seen.csv", one({ Image: "a,b", User: "bob" }), {
      lookupsDir: dir,
    });
    await run("* | table Image | outputlookup append=t seen.csv", one({ Image: "c" }), { lookupsDir: dir });
    assert.equal(readFileSync(path.join(dir, "seen.csv"), "utf8"), 'Image,User\n"a,b",bob\nc,\n');
    writeFileSync(path.join(dir, "u.csv"), "User,role\nbob,admin\namy,user\n");
    const rows = await run(
      '* | map search="| inputlookup u.csv where User=$User$" maxsearches=5',
      one({ User: "bob" }),
      { lookupsDir: dir },
    );
    assert.deepEqual(
      rows.map((r) => r.fields.get("role")),
      ["admin"],
    );
  });
  test("lookup reads a security_content definition lookups/<name>.yml (filename, WILDCARD, case)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-lk-"));
    writeFileSync(
      path.join(dir, "svc_lookup.yml"),
      "name: svc_lookup\nfilename: svc.csv\nmatch_type:\n- WILDCARD(service)\ncase_sensitive_match: false\n",
    );
    writeFileSync(path.join(dir, "svc.csv"), "service,category\n*windefend*,security\n");
    const rows = await run(
      "* | lookup svc_lookup service AS s OUTPUT category",
      one({ s: "sc stop WinDefend" }),
      {
        lookupsDir: dir,
      },
    );
    assert.equal(rows[0].fields.get("category"), "security");
  });
  test("map over events, iplocation and mstats are refused with the reason", () => {
    assert.throws(() => parseSpl("| mstats avg(x) WHERE index=m"), /metrics index/);
    assert.throws(() => parseSpl("* | iplocation src"), /GeoLite2\/GeoIP2 City database/);
  });
  test("map over events: each substituted search runs over the events its fixed terms picked", async () => {
    const evs = [
      winEvent({
        eventID: "4662",
        channel: "Security",
        time: "2020-10-08T11:00:00Z",
        data: { LogonId: "0x1" },
      }),
      winEvent({
        eventID: "4662",
        channel: "Security",
        time: "2020-10-08T11:00:01Z",
        data: { LogonId: "0x2" },
      }),
      winEvent({
        eventID: "4624",
        channel: "Security",
        time: "2020-10-08T11:00:02Z",
        data: { TargetLogonId: "0x1", IpAddress: "10.0.0.5" },
      }),
      winEvent({
        eventID: "4624",
        channel: "Security",
        time: "2020-10-08T11:00:03Z",
        data: { TargetLogonId: "0x9", IpAddress: "10.0.0.9" },
      }),
    ];
    const rows = await run(
      'EventCode=4662 | stats count by LogonId | map maxsearches=5 search="search EventCode=4624 TargetLogonId=$LogonId$"',
      evs,
    );
    assert.deepEqual(
      rows.map((r) => r.fields.get("IpAddress")),
      ["10.0.0.5"],
    );
    await assert.rejects(run('* | map search="| tstats count"', one({ User: "bob" })), /second pass/);
  });
});
