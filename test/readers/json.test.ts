import assert from "node:assert/strict";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventDataValue, type ReadIssue, type WinEvent } from "../../src/events/model.js";
import { keywordsText } from "../../src/readers/flat.js";
import { parseJsonExact, readJson } from "../../src/readers/json.js";
import { readXml } from "../../src/readers/xml.js";
import { skipUnless } from "../helpers/env.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../fixtures/readers");
const attacks = path.resolve(here, "../../../shared/corpus/attacks");
const attacksSkip = skipUnless(existsSync(attacks), `corpus absent: ${attacks}`);

async function collect(gen: AsyncIterable<WinEvent>): Promise<WinEvent[]> {
  const out: WinEvent[] = [];
  for await (const ev of gen) out.push(ev);
  return out;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function withIssues() {
  const issues: ReadIssue[] = [];
  return { issues, onIssue: (i: ReadIssue) => issues.push(i) };
}

function content(ev: WinEvent) {
  const { provenance: _p, ...rest } = ev;
  return rest;
}

describe("JSON dialects", () => {
  test("evtx_dump pretty output ('Record N' + JSON) equals the same events read from XML", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readJson(path.join(fixtures, "evtx_dump.json"), { onIssue }));
    assert.deepEqual(issues, []);
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.provenance.dialect === "evtx_dump" && e.provenance.format === "json"));
    assert.deepEqual(
      events.map((e) => e.provenance.line),
      [2, 54, 103],
    );
    const xml = await collect(readXml(path.join(fixtures, "windows-events.xml")));
    // same System and UserData as the XML rendering (the XML has more EventData items)
    const [sysmon, scm, cleared] = events;
    assert.equal(sysmon.system.eventRecordID, "9832");
    assert.equal(sysmon.timeTicks, xml[0].timeTicks);
    assert.equal(eventDataValue(sysmon, "ProcessId"), "3572", "numbers become text");
    assert.equal(eventDataValue(sysmon, "RuleName"), "");
    assert.equal(scm.system.qualifiers, "16384");
    assert.equal(scm.system.eventSourceName, "Service Control Manager");
    assert.equal(scm.binary, xml[2].binary);
    assert.deepEqual(scm.eventData, xml[2].eventData);
    assert.deepEqual(cleared.userData, xml[3].userData);
    assert.deepEqual(
      { ...cleared.system, systemTime: undefined },
      { ...xml[3].system, systemTime: undefined },
    );
  });

  test("evtx_dump JSON lines, separate-attributes mode and unnamed Data", async () => {
    const events = await collect(readJson(path.join(fixtures, "evtx_dump.jsonl")));
    assert.equal(events.length, 2);
    assert.equal(events[1].system.providerName, "EventLog");
    assert.equal(events[1].system.qualifiers, "32768");
    assert.equal(events[1].system.systemTime, "2020-09-18T17:31:00Z");
    assert.deepEqual(events[1].eventData, [{ value: "5:07:50 PM" }, { value: "9/18/2020" }, { value: "" }]);
  });

  test("Chainsaw hunt output (JSON array of documents)", async () => {
    const events = await collect(readJson(path.join(fixtures, "chainsaw-hunt.json")));
    assert.equal(events.length, 1);
    assert.equal(events[0].provenance.dialect, "chainsaw");
    assert.equal(events[0].system.userID, "S-1-5-18");
    assert.equal(events[0].system.processID, "1964");
    assert.equal(eventDataValue(events[0], "CommandLine"), "C:\\Windows\\system32\\mmc.exe -Embedding");
  });

  test("Winlogbeat 8 and 6: winlog.* to System, event_data in order, rendered text to RenderingInfo", async () => {
    const events = await collect(readJson(path.join(fixtures, "winlogbeat.ndjson")));
    assert.equal(events.length, 3);
    const [proc, cleared, old] = events;
    assert.equal(proc.provenance.dialect, "winlogbeat");
    assert.equal(proc.system.eventID, "4688");
    assert.equal(proc.system.eventRecordID, "428897");
    assert.equal(proc.system.processID, "4");
    assert.equal(proc.system.threadID, "8000");
    assert.equal(proc.system.computer, "WORKSTATION6.theshire.local");
    assert.equal(proc.system.task, undefined, "winlog.task is the rendered name, not the number");
    assert.equal(proc.renderingInfo?.Task, "Process Creation");
    assert.deepEqual(proc.renderingInfo?.Keywords, ["Audit Success"]);
    assert.equal(proc.timeTicks, 132449224701230000n);
    assert.deepEqual(
      proc.eventData.map((d) => d.name),
      [
        "SubjectUserSid",
        "SubjectUserName",
        "NewProcessName",
        "TokenElevationType",
        "CommandLine",
        "ParentProcessName",
      ],
    );
    assert.equal(eventDataValue(proc, "CommandLine"), 'cmd.exe /c "echo a & b > c"');
    assert.equal(proc.extra?.["host.name"], "WORKSTATION6.theshire.local");
    assert.equal(proc.extra?.["@timestamp"], "2020-09-18T17:07:50.123Z");
    assert.equal(proc.extra?.["winlog.event_id"], undefined, "mapped keys are not repeated in extra");
    assert.equal(cleared.userData?.name, "LogFileCleared");
    assert.equal(cleared.userData?.children.length, 4);
    assert.equal(old.system.channel, "Microsoft-Windows-Sysmon/Operational");
    assert.equal(old.system.eventRecordID, "9832");
    assert.equal(eventDataValue(old, "Image"), "C:\\Windows\\System32\\mmc.exe");
  });

  test("NXLog: System mapping, metadata to extra, Sysmon EventType kept, 64-bit Keywords exact, % not rewritten", async () => {
    const events = await collect(readJson(path.join(fixtures, "nxlog.ndjson")));
    assert.equal(events.length, 3);
    const [sysmon, proc, reg] = events;
    assert.equal(sysmon.provenance.dialect, "nxlog");
    assert.deepEqual(sysmon.system, {
      eventID: "1",
      providerName: "Microsoft-Windows-Sysmon",
      providerGuid: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
      version: "5",
      task: "1",
      opcode: "0",
      keywords: "0x8000000000000000",
      eventRecordID: "1701000",
      processID: "3392",
      threadID: "5552",
      channel: "Microsoft-Windows-Sysmon/Operational",
      computer: "WORKSTATION6.theshire.local",
      userID: "S-1-5-18",
    });
    assert.equal(sysmon.timeTicks, undefined, "no SystemTime-equivalent");
    assert.deepEqual(
      sysmon.eventData.map((d) => d.name),
      ["ProcessGuid", "CommandLine", "ParentProcessId", "Image", "UtcTime", "RuleName"],
    );
    assert.equal(sysmon.extra?.EventTime, "2020-09-18 13:05:52");
    assert.equal(sysmon.extra?.EventReceivedTime, "2020-09-18 13:07:52");
    assert.equal(sysmon.extra?.AccountName, "SYSTEM");
    assert.deepEqual(sysmon.extra?.tags, ["mordorDataset"]);
    assert.equal(proc.system.keywords, "0x8020000000000000", "-9214364837600034816 read exactly");
    assert.equal(proc.system.channel, "Security", '"security" restored');
    assert.equal(eventDataValue(proc, "ProcessId"), "0x3c0");
    assert.equal(eventDataValue(proc, "TokenElevationType"), "%%1936");
    assert.equal(eventDataValue(proc, "CommandLine"), "cmd.exe /c %COMSPEC% /C start");
    assert.equal(proc.extra?.Message, "A new process has been created.");
    assert.equal(eventDataValue(reg, "EventType"), "SetValue", "Sysmon's own EventType is event data");
    assert.equal(reg.extra?.EventTypeOrignal, "INFO");
    assert.equal(eventDataValue(reg, "Details"), "@%%SystemRoot%%\\system32\\x.dll,-101");
  });

  test("Splunk export: result._raw XML, bare _raw, flat EventCode records, messages", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readJson(path.join(fixtures, "splunk-export.json"), { onIssue }));
    assert.equal(events.length, 3);
    const [raw, bare, flat] = events;
    assert.equal(raw.provenance.dialect, "splunk");
    assert.equal(raw.system.eventRecordID, "1701000");
    assert.equal(eventDataValue(raw, "CommandLine"), "C:\\Windows\\system32\\mmc.exe -Embedding");
    assert.equal(raw.extra?.sourcetype, "XmlWinEventLog");
    assert.equal(raw.extra?._time, "2020-09-18T13:05:52.782-04:00");
    assert.deepEqual(raw.extra?._si, ["splunk", "main"]);
    assert.equal(raw.extra?._raw, undefined);
    assert.equal(bare.system.eventID, "4624");
    assert.equal(bare.extra?.index, "wineventlog");
    assert.equal(flat.system.eventID, "4688");
    assert.equal(flat.system.channel, "Security");
    assert.equal(flat.system.keywords, undefined, '"Audit Success" is not a Keywords mask');
    assert.equal(flat.extra?.Keywords, "Audit Success");
    assert.equal(eventDataValue(flat, "Process_Command_Line"), "cmd.exe /c whoami");
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location, "line 4");
  });

  test("broken NDJSON: each bad line reported with its number, the others read", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readJson(path.join(fixtures, "broken.ndjson"), { onIssue }));
    assert.deepEqual(
      events.map((e) => e.system.eventRecordID),
      ["1", "3", "5"],
    );
    assert.deepEqual(
      issues.map((i) => [i.location, i.lost, i.reason.split(":")[0]]),
      [
        ["line 2", "record", "invalid JSON"],
        ["line 5", "record", "unrecognised JSON record (no known log dialect)"],
        ["line 6", "record", "JSON value is not an object"],
        ["line 7", "record", "invalid JSON"],
      ],
    );
  });

  test("a JSON array with a truncated last record, read in 5-byte chunks", async () => {
    const rec = (n: number) =>
      `{"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon", "Hostname": "H", "RecordNumber": ${n}, "Image": "x{\\"]}.exe"}`;
    const text = `[\n  ${rec(1)},\n  ${rec(2)},\n  {"EventID": 1, "Image": "trunc`;
    const { issues, onIssue } = withIssues();
    const events = await collect(readJson(chunked(Buffer.from(text), 5), { onIssue }));
    assert.deepEqual(
      events.map((e) => e.system.eventRecordID),
      ["1", "2"],
    );
    assert.equal(
      eventDataValue(events[1], "Image"),
      'x{"]}.exe',
      "braces inside strings do not confuse the splitter",
    );
    assert.equal(events[1].provenance.line, 3);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location, "line 4");
  });

  test("an over-long NDJSON line is skipped and reported without being buffered", async () => {
    const good = '{"EventID":1,"SourceName":"S","Hostname":"H","RecordNumber":1}';
    const long = `{"EventID":1,"SourceName":"S","Hostname":"H","Pad":"${"x".repeat(10000)}"}`;
    const { issues, onIssue } = withIssues();
    const events = await collect(
      readJson(chunked(Buffer.from(`${good}\n${long}\n${good}\n`), 1000), { onIssue, maxRecordBytes: 2048 }),
    );
    assert.equal(events.length, 2);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location, "line 2");
    assert.match(issues[0].reason, /longer than 2048 bytes/);
  });

  test("NDJSON read in 3-byte chunks gives the same events", async () => {
    const bytes = readFileSync(path.join(fixtures, "nxlog.ndjson"));
    const a = await collect(readJson(path.join(fixtures, "nxlog.ndjson")));
    const b = await collect(readJson(chunked(bytes, 3)));
    assert.deepEqual(b.map(content), a.map(content));
  });

  test("parseJsonExact keeps 64-bit integers; keywordsText renders Windows' hex", () => {
    const v = parseJsonExact(
      '{"Keywords":-9214364837600034816,"n":12,"s":"\\":1234567890123456789,"}',
    ) as Record<string, unknown>;
    assert.equal(v.Keywords, "-9214364837600034816");
    assert.equal(v.n, 12);
    assert.equal(v.s, '":1234567890123456789,', "digits inside strings untouched");
    assert.equal(keywordsText("-9223372036854775808"), "0x8000000000000000");
    assert.equal(keywordsText("36028797018963968"), "0x0080000000000000");
    assert.equal(keywordsText("0x8020000000000000"), "0x8020000000000000");
  });

  test("JSON that is not a log (a config file) is one file-level issue, not one per record", async () => {
    const { issues, onIssue } = withIssues();
    const text = '{"positive": [1, 2]}\n{"seed": "x"}\n';
    assert.equal((await collect(readJson(chunked(Buffer.from(text), 8), { onIssue }))).length, 0);
    assert.deepEqual(
      issues.map((i) => [i.location, i.lost, i.reason]),
      [["line 1", "file", "not a JSON event log (2 JSON record(s), none in a known log dialect)"]],
    );
  });

  test("text that is not JSON at all is one file-level issue", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readJson(chunked(Buffer.from("hello\nworld\n"), 4), { onIssue }));
    assert.equal(events.length, 0);
    assert.deepEqual(
      issues.map((i) => i.lost),
      ["none", "file"],
    );
  });
});

async function countLines(file: string): Promise<number> {
  let n = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line.trim() !== "") n++;
  return n;
}

describe("NXLog JSON in the corpus", { skip: attacksSkip }, () => {
  const files = [
    "covenant_dcom_registerxll_2020-09-18145959.json",
    "empire_dcom_shellwindows_stager_2020-09-18130751.json",
  ];

  test("every line accounted for (lines = records read + records reported skipped), fields spot-checked", async () => {
    let sysmon1 = 0;
    let first4688: WinEvent | undefined;
    for (const f of files) {
      const file = path.join(attacks, f);
      const { issues, onIssue } = withIssues();
      let records = 0;
      let withKeywords = 0;
      const channels = new Set<string>();
      for await (const ev of readJson(file, { onIssue })) {
        records++;
        channels.add(ev.system.channel ?? "");
        assert.equal(ev.provenance.dialect, "nxlog");
        if (ev.system.keywords?.startsWith("0x")) withKeywords++;
        if (
          f.startsWith("empire") &&
          ev.system.providerName === "Microsoft-Windows-Sysmon" &&
          ev.system.eventID === "1"
        ) {
          sysmon1++;
          assert.match(eventDataValue(ev, "UtcTime") ?? "", /^2020-09-18 \d\d:\d\d:\d\d\.\d{3}$/);
          assert.match(eventDataValue(ev, "ProcessGuid") ?? "", /^\{[0-9a-f-]{36}\}$/);
          assert.equal(ev.extra?.Category, "Process Create (rule: ProcessCreate)");
        }
        if (f.startsWith("empire") && first4688 === undefined && ev.system.eventID === "4688") first4688 = ev;
      }
      const skipped = issues.reduce((n, i) => n + (i.skippedRecords ?? 0), 0);
      assert.equal(records + skipped, await countLines(file), f);
      assert.equal(withKeywords, records, `${f}: every record has Keywords`);
      assert.ok(records > 5000, `${f}: ${records}`);
      assert.ok(!channels.has("security"), "channel case restored");
    }
    // the Empire ShellWindows stager's host
    assert.ok(sysmon1 > 50, `${sysmon1} Sysmon process creations`);
    assert.equal(first4688?.system.keywords, "0x8020000000000000");
    assert.equal(first4688?.system.eventRecordID, "428897");
    assert.equal(first4688?.system.computer, "WORKSTATION6.theshire.local");
    assert.equal(
      first4688 && eventDataValue(first4688, "NewProcessName"),
      "C:\\Windows\\System32\\RuntimeBroker.exe",
    );
  });
});

describe("push-down before JSON parsing", () => {
  const files = [
    "empire_dcom_shellwindows_stager_2020-09-18130751.json",
    "covenant_dcom_registerxll_2020-09-18145959.json",
  ];
  const wanted = (eventID: string | undefined, channel: string | undefined) =>
    eventID === "1" && channel === "Microsoft-Windows-Sysmon/Operational";

  for (const name of files) {
    const file = path.join(attacks, name);
    test(`${name}: the raw pre-filter keeps exactly what parsing then filtering keeps`, {
      skip: skipUnless(existsSync(file), `corpus absent: ${file}`),
    }, async () => {
      const all = await collect(readJson(file));
      const expected = all
        .filter((e) => wanted(e.system.eventID, e.system.channel))
        .map((e) => e.provenance.line);
      const seen: string[] = [];
      const pushed = await collect(
        readJson(file, {
          filter: (s) => {
            seen.push(Object.keys(s).sort().join(","));
            return s.eventID === undefined || s.channel === undefined || wanted(s.eventID, s.channel);
          },
        }),
      );
      assert.ok(expected.length > 0);
      assert.deepEqual(
        pushed.filter((e) => wanted(e.system.eventID, e.system.channel)).map((e) => e.provenance.line),
        expected,
      );
      // most records were decided from the raw line alone (only EventID and Channel known)
      const rawOnly = seen.filter((k) => k === "channel,eventID").length;
      assert.ok(rawOnly > all.length / 2, `${rawOnly} of ${all.length} decided before parsing`);
    });
  }

  test("Splunk exports are never pre-filtered", async () => {
    const lines = await collect(readJson(path.join(fixtures, "splunk-export.json"), { filter: () => false }));
    assert.ok(lines.length > 0);
  });
});
