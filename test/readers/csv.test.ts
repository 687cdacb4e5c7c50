import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventDataValue, type ReadIssue, type WinEvent } from "../../src/events/model.js";
import { readCsv } from "../../src/readers/csv.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../fixtures/readers");

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

describe("readCsv", () => {
  test("Splunk export with a _raw column: event XML parsed, other columns in extra, multi-line quoted fields", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readCsv(path.join(fixtures, "splunk-raw.csv"), { onIssue }));
    assert.deepEqual(issues, []);
    assert.equal(events.length, 2);
    const [a, b] = events;
    assert.deepEqual(a.provenance, {
      file: path.join(fixtures, "splunk-raw.csv"),
      format: "csv",
      line: 2,
      dialect: "splunk",
    });
    assert.equal(a.system.eventRecordID, "1701000");
    assert.equal(a.timeTicks, 132449223527820000n);
    assert.equal(eventDataValue(a, "CommandLine"), 'cmd.exe /c "echo a, b"', "CSV quote doubling undone");
    assert.equal(eventDataValue(a, "Message"), "line one\nline two");
    assert.deepEqual(a.extra, {
      _time: "2020-09-18T13:05:52.782-04:00",
      host: "WORKSTATION6",
      index: "main",
      source: "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
      sourcetype: "XmlWinEventLog",
    });
    assert.equal(b.provenance.line, 4, "the record after a two-line record starts on line 4");
    assert.equal(eventDataValue(b, "DestinationPort"), "135");
  });

  test("flat Splunk fields (EventCode): System mapped, empty cells dropped, metadata in extra", async () => {
    const events = await collect(readCsv(path.join(fixtures, "splunk-flat.csv")));
    assert.equal(events.length, 2);
    const [proc, logon] = events;
    assert.equal(proc.system.eventID, "4688");
    assert.equal(proc.system.channel, "Security");
    assert.equal(proc.system.computer, "WORKSTATION6.theshire.local");
    assert.equal(proc.system.eventRecordID, "428897");
    assert.equal(eventDataValue(proc, "Process_Command_Line"), "cmd.exe /c whoami");
    assert.equal(proc.extra?.Message, "A new process has been created.\n\nCreator Subject:");
    assert.equal(proc.extra?.sourcetype, "WinEventLog");
    assert.equal(logon.provenance.line, 5);
    assert.deepEqual(logon.eventData, [], "empty cells are absent fields");
  });

  test("a record that is not an event, a broken _raw, and an unclosed quote are reported", async () => {
    const csv = [
      "_raw,host",
      '"<Event><System><EventID>1</EventID></System></Event>",h1',
      "just text,h2",
      '"<Event><System><EventID>2</EventID></System>",h3',
      '"<Event><System><EventID>3</EventID></System></Event>",h4',
      '"unclosed,h5',
      "",
    ].join("\n");
    const { issues, onIssue } = withIssues();
    const events = await collect(readCsv(chunked(Buffer.from(csv), 7), { onIssue, displayName: "x.csv" }));
    assert.deepEqual(
      events.map((e) => [e.system.eventID, e.extra?.host]),
      [
        ["1", "h1"],
        ["3", "h4"],
      ],
    );
    assert.deepEqual(
      issues.map((i) => [i.location, i.reason.split(":")[0]]),
      [
        ["line 3", "CSV record is not an event (no _raw event XML, no EventCode/EventID column)"],
        ["line 4", "_raw"],
        ["line 6", "invalid CSV"],
      ],
    );
  });

  test("an over-long record is skipped and reported; the records after it are read", async () => {
    const csv = `EventCode,Pad\n4688,a\n4689,"${"x\n".repeat(3000)}"\n4690,b\n`;
    const { issues, onIssue } = withIssues();
    const events = await collect(readCsv(chunked(Buffer.from(csv), 100), { onIssue, maxRecordBytes: 1000 }));
    assert.deepEqual(
      events.map((e) => [e.system.eventID, e.provenance.line]),
      [
        ["4688", 2],
        ["4690", 3004],
      ],
    );
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location, "line 3");
    assert.match(issues[0].reason, /larger than 1000 bytes/);
  });

  test("a CSV that is not an event log is one file-level issue", async () => {
    const { issues, onIssue } = withIssues();
    const events = await collect(readCsv(chunked(Buffer.from("name,size\na,1\nb,2\n"), 5), { onIssue }));
    assert.equal(events.length, 0);
    assert.deepEqual(
      issues.map((i) => i.lost),
      ["file"],
    );
  });

  test("no push-down into Splunk-export records (their metadata is not in System fields)", async () => {
    const events = await collect(
      readCsv(path.join(fixtures, "splunk-flat.csv"), { filter: (s) => s.eventID === "4624" }),
    );
    // Splunk exports carry their own index/sourcetype/source/host, which a System-field predicate
    // cannot see: the readers do not push predicates into them (the search filters them instead).
    assert.deepEqual(
      events.map((e) => e.system.eventRecordID),
      ["428897", "428900"],
    );
  });
});
