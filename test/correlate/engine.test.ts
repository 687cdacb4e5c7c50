import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Alert,
  alertToJson,
  type CorrelationContext,
  compileSequenceRule,
  formatAlertsTable,
  runSequenceRules,
  type SequenceRule,
  type SequenceSpec,
} from "../../src/correlate/index.js";
import type { SplunkEvent } from "../../src/events/fields.js";

/** A SplunkEvent from plain fields (the engine only reads `time` and `fields`). */
function ev(time: number, fields: Record<string, string>): SplunkEvent {
  return { time, fields: new Map(Object.entries(fields)), raw: () => "" };
}

/**
 * Hand-written predicates standing in for the SPL compiler: a search text "F=V F2=V2" matches when
 * every field equals (case-insensitively) or, for a value starting with `*`, ends with the rest.
 */
const ctx: CorrelationContext = {
  tz: "UTC",
  compilePredicate(text: string) {
    const terms = text.split(/\s+/).map((t) => t.split("=") as [string, string]);
    return (e) =>
      terms.every(([f, v]) => {
        const got = e.fields.get(f);
        const s = (Array.isArray(got) ? got[0] : got)?.toLowerCase();
        if (s === undefined) return false;
        const want = v.toLowerCase();
        return want.startsWith("*") ? s.endsWith(want.slice(1)) : s === want;
      });
  },
};

const sysmon = "Microsoft-Windows-Sysmon/Operational";

const mmcSpec: SequenceSpec = {
  maxspan: "2m",
  ordered: false,
  steps: [
    { name: "logon", search: "EventCode=4624 LogonType=3", keys: { logon: "TargetLogonId" } },
    {
      name: "server",
      search: "EventCode=1 Image=*\\mmc.exe ParentImage=*\\svchost.exe",
      keys: { proc: "ProcessGuid", logon: "LogonId" },
    },
    {
      name: "inbound",
      search: "EventCode=3 Initiated=false Image=*\\mmc.exe",
      keys: { proc: "ProcessGuid" },
    },
    {
      name: "child",
      search: "EventCode=1 ParentImage=*\\mmc.exe",
      keys: { proc: "ParentProcessGuid" },
      start: false,
    },
  ],
  complete: [
    ["server", "inbound"],
    ["server", "logon"],
    ["server", "child"],
  ],
  until: [{ search: "EventCode=5 Image=*\\mmc.exe", keys: { proc: "ProcessGuid" } }],
  variant: "MMC20",
  classify: [
    { when: { steps: ["child"], remote: true }, severity: "critical", confidence: "high" },
    { when: { remote: true }, severity: "high" },
  ],
  attribution: {
    source_ip: [
      { step: "logon", value: "{IpAddress}" },
      { step: "inbound", value: "$peer_ip" },
    ],
    account: [{ step: "logon", value: "{TargetDomainName}\\{TargetUserName}" }],
  },
};

const rule = (sequence: SequenceSpec, severity = "medium") => ({
  id: "r-1",
  name: "test rule",
  severity,
  sequence,
});

function run(spec: SequenceSpec, events: SplunkEvent[], severity?: string): Alert[] {
  const engine = compileSequenceRule(rule(spec, severity), ctx);
  const alerts: Alert[] = [];
  for (const e of events) alerts.push(...engine.push(e));
  alerts.push(...engine.flush());
  return alerts;
}

const server = (t: number, computer: string, guid = "{AAA-1}", logon = "0x3ade94") =>
  ev(t, {
    EventCode: "1",
    Channel: sysmon,
    Computer: computer,
    Image: "C:\\Windows\\System32\\mmc.exe",
    ParentImage: "C:\\Windows\\System32\\svchost.exe",
    CommandLine: "C:\\Windows\\system32\\mmc.exe -Embedding",
    ProcessGuid: guid,
    LogonId: logon,
    EventRecordID: String(1000 + t),
  });
const inbound = (t: number, computer: string, guid = "{aaa-1}", src = "172.18.39.5") =>
  ev(t, {
    EventCode: "3",
    Channel: sysmon,
    Computer: computer,
    Image: "C:\\Windows\\System32\\mmc.exe",
    Initiated: "false",
    SourceIp: src,
    SourcePort: "58406",
    DestinationIp: "172.18.39.6",
    DestinationPort: "49913",
    SourceHostname: "-",
    ProcessGuid: guid,
    EventRecordID: String(2000 + t),
  });
const child = (t: number, computer: string, parentGuid = "{AAA-1}") =>
  ev(t, {
    EventCode: "1",
    Channel: sysmon,
    Computer: computer,
    Image: "C:\\Windows\\System32\\cmd.exe",
    ParentImage: "C:\\Windows\\System32\\mmc.exe",
    CommandLine: "cmd.exe /Q /c whoami",
    ParentProcessGuid: parentGuid,
    ProcessGuid: `{child-${t}}`,
    EventRecordID: String(3000 + t),
  });
const logon = (t: number, computer: string, logonId: string, ip = "172.18.39.5") =>
  ev(t, {
    EventCode: "4624",
    Channel: "Security",
    Computer: computer,
    LogonType: "3",
    TargetLogonId: logonId,
    TargetUserName: "pgustavo",
    TargetDomainName: "THESHIRE",
    IpAddress: ip,
    EventRecordID: String(4000 + t),
  });

describe("sequence engine", () => {
  test("joins an inbound connection logged before the process start, and its child, into one alert", () => {
    const alerts = run(mmcSpec, [
      inbound(100, "WKS6"),
      server(101, "WKS6"),
      child(102, "WKS6"),
      child(103, "WKS6"),
    ]);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.variant, "MMC20");
    assert.equal(a.evidence.length, 4);
    assert.deepEqual(
      a.evidence.map((e) => e._record_id),
      ["2100", "1101", "3102", "3103"],
    );
    assert.equal(a.source_ip, "172.18.39.5");
    assert.equal(a.loopback, false);
    assert.equal(a.severity, "critical");
    assert.equal(a.confidence, "high");
    assert.equal(a.first_time, 100);
    assert.equal(a.last_time, 103);
    assert.match(a.explain.join("\n"), /joined on proc=\{aaa-1\}/);
  });

  test("normalizes host identity: short name and FQDN, any case, are one host", () => {
    const alerts = run(mmcSpec, [server(10, "WORKSTATION6"), inbound(11, "workstation6.theshire.local")]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].evidence.length, 2);
    const other = run(mmcSpec, [server(10, "WORKSTATION6"), inbound(11, "WORKSTATION7.theshire.local")]);
    assert.equal(other.length, 0);
  });

  test("joins 4624 to the process on TargetLogonId whatever its spelling, and attributes the caller", () => {
    const alerts = run(mmcSpec, [
      logon(50, "SRV", "0x000000000542957e", "10.23.123.11"),
      logon(50.5, "SRV", "0x5429550", "10.9.9.9"),
      server(51, "SRV", "{g}", "0x542957E"),
    ]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].source_ip, "10.23.123.11");
    assert.equal(alerts[0].account, "THESHIRE\\pgustavo");
    assert.equal(alerts[0].evidence.length, 2);
    // a logon with another id never joins
    assert.equal(run(mmcSpec, [logon(50, "SRV", "0x1"), server(51, "SRV", "{g}", "0x2")]).length, 0);
  });

  test("maxspan bounds an incident and alerts stream out once its window has passed", () => {
    const engine = compileSequenceRule(rule(mmcSpec), ctx);
    assert.deepEqual(engine.push(server(0, "H")), []);
    assert.deepEqual(engine.push(inbound(119, "H", "{AAA-1}")), []);
    // a child 200 s after the start is outside the 2-minute window: it cannot join
    const out = engine.push(child(200, "H"));
    assert.equal(out.length, 1, "the incident closed when time passed first + maxspan");
    assert.equal(out[0].evidence.length, 2);
    assert.deepEqual(engine.flush(), []);
    assert.equal(engine.stats().partials, 0);
  });

  test("until closes an incident early", () => {
    const engine = compileSequenceRule(rule(mmcSpec), ctx);
    engine.push(server(0, "H"));
    engine.push(inbound(1, "H"));
    const end = ev(2, {
      EventCode: "5",
      Channel: sysmon,
      Computer: "H",
      Image: "C:\\x\\mmc.exe",
      ProcessGuid: "{AAA-1}",
    });
    const out = engine.push(end);
    assert.equal(out.length, 1);
    assert.equal(engine.stats().partials, 0);
    // a child after the end starts nothing (child may not start an incident)
    engine.push(child(3, "H"));
    assert.deepEqual(engine.flush(), []);
  });

  test("ordered sequences reject a step logged before an earlier step", () => {
    const ordered: SequenceSpec = { ...mmcSpec, ordered: true, complete: [["server", "inbound"]] };
    // inbound (index 2) first, then server (index 1): not in order
    assert.equal(run(ordered, [inbound(0, "H"), server(1, "H")]).length, 0);
    assert.equal(run(ordered, [server(0, "H"), inbound(1, "H")]).length, 1);
  });

  test("a loopback source marks the alert loopback and lowers severity one level", () => {
    const alerts = run(
      mmcSpec,
      [server(0, "H"), inbound(1, "H", "{AAA-1}", "127.0.0.1"), child(2, "H")],
      "high",
    );
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].loopback, true);
    assert.equal(alerts[0].source_ip, "127.0.0.1");
    // classify entries need remote: true, so the rule severity (high) applies, lowered to medium
    assert.equal(alerts[0].severity, "medium");
  });

  test("two processes from one logon fork (each joins its own children) and close as one incident", () => {
    const engine = compileSequenceRule(rule(mmcSpec), ctx);
    for (const e of [logon(0, "H", "0x10"), server(1, "H", "{p1}", "0x10"), server(2, "H", "{p2}", "0x10")])
      engine.push(e);
    assert.equal(engine.stats().partials, 3, "the logon alone, and one branch per process");
    engine.push(child(3, "H", "{p2}"));
    // the child joins the p2 branch only: no key in common with the bare logon, a conflicting one with p1
    assert.equal(engine.stats().partials, 3);
    const alerts = engine.flush();
    assert.equal(alerts.length, 1, "branches sharing the logon event are one incident");
    assert.deepEqual(
      alerts[0].evidence.map((e) => e._record_id),
      ["4000", "1001", "1002", "3003"],
    );
    assert.match(alerts[0].explain.join("\n"), /step child: .* EventCode 1/);
  });

  test("state stays bounded on a long input: partials expire and the cap evicts the oldest", () => {
    const engine = compileSequenceRule(rule(mmcSpec), ctx);
    let peak = 0;
    for (let i = 0; i < 50000; i++) {
      engine.push(logon(i * 0.5, `H${i % 7}`, `0x${(i + 1).toString(16)}`));
      peak = Math.max(peak, engine.stats().partials);
    }
    assert.ok(peak <= 245, `peak partials ${peak}`);
    const capped = compileSequenceRule(rule({ ...mmcSpec, max_partials: 100 }), ctx);
    for (let i = 0; i < 1000; i++) capped.push(logon(i * 0.01, "H", `0x${(i + 1).toString(16)}`));
    assert.equal(capped.stats().partials, 100);
    assert.equal(capped.stats().evicted, 900);
  });

  test("rejects a rule naming an unknown step", () => {
    assert.throws(
      () => compileSequenceRule(rule({ ...mmcSpec, complete: [["server", "nope"]] }), ctx),
      /unknown step "nope"/,
    );
  });

  test("json and table renderings carry the fixed fields and the evidence", () => {
    const [a] = run(mmcSpec, [server(1600000000, "WKS6"), inbound(1600000001, "WKS6")]);
    const j = alertToJson(a);
    assert.equal(j.variant, "MMC20");
    assert.equal(j.first_time, "2020-09-13T12:26:40.000Z");
    assert.equal(j.loopback, "false");
    assert.equal(j._rule_id, "r-1");
    for (const k of [
      "severity",
      "confidence",
      "target_host",
      "source_ip",
      "source_host",
      "account",
      "last_time",
    ])
      assert.equal(typeof j[k], "string", k);
    const evidence = j.evidence as Record<string, string>[];
    assert.deepEqual(Object.keys(evidence[0]), [
      "_file",
      "_record_id",
      "_channel",
      "_computer",
      "_time",
      "EventCode",
      "summary",
      "side",
    ]);
    assert.equal(evidence[0].side, "target");
    // the incident model's fields (src/correlate/incident.ts), added after the fixed ones
    assert.equal(j.object, "MMC20");
    assert.equal(j.outcome, "activated");
    assert.equal(j.observed_on, "target");
    assert.match(evidence[1].summary, /\[inbound\] network mmc\.exe inbound from 172\.18\.39\.5/);
    const table = formatAlertsTable([a], { explain: true });
    const lines = table.trimEnd().split("\n");
    assert.match(lines[0], /MMC20 {2}activated \(seen on target\) {2}WKS6 <- 172\.18\.39\.5/);
    assert.match(
      lines[1],
      /^ {4}2020-09-13T12:26:40\.000Z {2}#1\d+ {2}1 {2}\[server\] process svchost\.exe -> mmc\.exe/,
    );
    assert.match(table, /why: complete: \[server, inbound\]/);
    assert.match(lines.at(-1) ?? "", /^ {6}why: /);
  });
  test("max_events caps a step's evidence per incident", () => {
    const spec: SequenceSpec = {
      ...mmcSpec,
      steps: mmcSpec.steps.map((s) => (s.name === "child" ? { ...s, max_events: 2 } : s)),
    };
    const alerts = run(spec, [server(0, "H"), child(1, "H"), child(2, "H"), child(3, "H"), inbound(4, "H")]);
    assert.equal(alerts.length, 1);
    assert.deepEqual(
      alerts[0].evidence.map((e) => e._record_id),
      ["1000", "3001", "3002", "2004"],
    );
  });

  test("records far out of order do not pile up: their partials close even when time stands still", () => {
    const engine = compileSequenceRule(rule(mmcSpec), ctx);
    engine.push(server(1_000_000, "H", "{now}"));
    for (let i = 0; i < 5000; i++) engine.push(logon(i, "H", `0x${(i + 1).toString(16)}`));
    assert.ok(engine.stats().partials < 1100, `partials ${engine.stats().partials}`);
  });
});

describe("cross-host joins (scope: global)", () => {
  const conn = (t: number, computer: string, initiated: boolean, guid: string) =>
    ev(t, {
      EventCode: "3",
      Channel: sysmon,
      Computer: computer,
      Image: initiated ? "C:\\x\\powershell.exe" : "C:\\Windows\\explorer.exe",
      Initiated: initiated ? "true" : "false",
      // the caller's record names itself Source; the 2019 target record names the target Source
      SourceIp: initiated ? "10.0.0.5" : "10.0.0.9",
      SourcePort: initiated ? "58406" : "49913",
      DestinationIp: initiated ? "10.0.0.9" : "10.0.0.5",
      DestinationPort: initiated ? "49913" : "58406",
      SourceHostname: initiated ? "SRC" : "TGT",
      ProcessGuid: guid,
      EventRecordID: String(t),
    });
  const request = (t: number, computer: string, guid: string) =>
    ev(t, {
      EventCode: "1",
      Channel: sysmon,
      Computer: computer,
      Image: "C:\\x\\powershell.exe",
      CommandLine: "GetTypeFromCLSID(x, tgt)",
      ProcessGuid: guid,
      EventRecordID: String(t),
    });
  const spec: SequenceSpec = {
    maxspan: "20s",
    scope: "global",
    steps: [
      {
        name: "inbound",
        search: "EventCode=3 Initiated=false",
        keys: { th: "$host", proc: "ProcessGuid", conn: "$conn" },
      },
      {
        name: "source_connection",
        search: "EventCode=3 Initiated=true",
        keys: { sh: "$host", sproc: "ProcessGuid", conn: "$conn" },
        start: false,
        after: ["inbound", "source_request"],
      },
      {
        name: "source_request",
        search: "EventCode=1 Image=*\\powershell.exe",
        keys: { sh: "$host", sproc: "ProcessGuid" },
        after: ["source_connection"],
      },
    ],
    complete: [["inbound"]],
    attribution: {
      target_host: [{ step: "inbound", value: "{Computer}" }],
      source_host: [{ step: "source_connection", value: "{Computer}" }],
      source_ip: [{ step: "inbound", value: "$peer_ip" }],
    },
  };

  test("the caller's request and connection join the target's inbound record through the endpoints", () => {
    const alerts = run(spec, [
      request(1, "SRC", "{ps}"),
      conn(2, "TGT", false, "{explorer}"),
      conn(3, "SRC", true, "{ps}"),
    ]);
    assert.equal(alerts.length, 1);
    assert.deepEqual(
      alerts[0].evidence.map((e) => `${e._computer}#${e._record_id}`),
      ["SRC#1", "TGT#2", "SRC#3"],
    );
    assert.equal(alerts[0].target_host, "TGT");
    assert.equal(alerts[0].source_host, "SRC");
    assert.equal(alerts[0].source_ip, "10.0.0.5");
  });

  test("without the connection, a request elsewhere never joins (no key in common)", () => {
    const alerts = run(spec, [request(1, "SRC", "{ps}"), conn(2, "TGT", false, "{explorer}")]);
    assert.equal(alerts.length, 1);
    assert.deepEqual(
      alerts[0].evidence.map((e) => e._computer),
      ["TGT"],
    );
  });
});

describe("runSequenceRules", () => {
  const single = (
    name: string,
    search: string,
    perspective?: "source",
  ): SequenceRule & { sequence: SequenceSpec } => ({
    id: name,
    name,
    severity: perspective ? "high" : "medium",
    sequence: {
      maxspan: "1m",
      steps: [{ name: "s", search }],
      perspective,
      variant: name,
      // a source-side alert about another host (not loopback, so its severity stays)
      attribution: perspective ? { target_host: [{ value: "OTHER-HOST" }] } : undefined,
    },
  });

  test("alerts of two rules sharing an event are one incident; the target-side rule leads", async () => {
    const events = [server(10, "H"), child(11, "H")];
    const rules = [
      single("target", "EventCode=1 Image=*\\mmc.exe"),
      single("source", "EventCode=1", "source"),
    ];
    const merged = await runSequenceRules(rules, events, ctx);
    assert.equal(merged.alerts.length, 1);
    assert.equal(merged.alerts[0].variant, "target");
    assert.equal(merged.alerts[0].severity, "high", "the higher severity of the two");
    assert.equal(merged.alerts[0].evidence.length, 2);
    assert.match(merged.alerts[0].explain.join("\n"), /merged with an alert of "source"/);
    const apart = await runSequenceRules(rules, events, ctx, { mergeAcrossRules: false });
    assert.equal(apart.alerts.length, 2);
  });
});
