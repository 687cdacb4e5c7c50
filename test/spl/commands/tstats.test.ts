/**
 * Conformance: tstats over CIM data models (Search Reference, tstats; CIM Endpoint, Network_Traffic,
 * Authentication, Change data models), datamodel and from datamodel:, drop_dm_object_name through macros.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileSearch, parseMacros, SplError } from "../../../src/spl/index.js";
import { column, run, runStrings, SYSMON, view, winEvent } from "../helpers.js";

const macros = parseMacros(`
[drop_dm_object_name(1)]
args = object
definition = rename $object$.* AS *

[security_content_summariesonly]
definition = summariesonly=false allow_old_summaries=true

[security_content_ctime(1)]
args = field
definition = convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)
`);

const proc = (
  time: string,
  image: string,
  cmd: string,
  parent = "C:\\Windows\\explorer.exe",
  computer = "ws01",
) =>
  winEvent({
    eventID: "1",
    time,
    computer,
    data: {
      Image: image,
      CommandLine: cmd,
      ParentImage: parent,
      User: "CORP\\bob",
      ProcessGuid: `{${time}}`,
      OriginalFileName: "Cmd.Exe",
    },
  });

const list = [
  proc("2020-10-08T11:00:00Z", "C:\\Windows\\System32\\cmd.exe", "cmd /c whoami"),
  proc(
    "2020-10-08T11:30:00Z",
    "C:\\Windows\\System32\\cmd.exe",
    "cmd /c dir",
    "C:\\Windows\\System32\\mmc.exe",
  ),
  proc("2020-10-08T12:10:00Z", "C:\\Windows\\notepad.exe", "notepad"),
  winEvent({
    eventID: "3",
    time: "2020-10-08T11:00:00Z",
    data: {
      Image: "C:\\x\\a.exe",
      SourceIp: "10.0.0.5",
      DestinationIp: "10.0.0.9",
      DestinationPort: "135",
      Protocol: "tcp",
      Initiated: "true",
    },
  }),
  winEvent({
    eventID: "13",
    time: "2020-10-08T11:00:00Z",
    data: {
      Image: "C:\\x\\reg.exe",
      EventType: "SetValue",
      TargetObject: "HKLM\\SOFTWARE\\Run\\evil",
      Details: "c:\\evil.exe",
    },
  }),
  winEvent({
    eventID: "4624",
    channel: "Security",
    time: "2020-10-08T11:00:00Z",
    data: { TargetUserName: "alice", IpAddress: "10.0.0.7", LogonType: "3" },
  }),
  winEvent({
    eventID: "4625",
    channel: "Security",
    time: "2020-10-08T11:01:00Z",
    data: { TargetUserName: "alice", IpAddress: "10.0.0.7", LogonType: "3" },
  }),
  winEvent({
    eventID: "7045",
    channel: "System",
    provider: "Service Control Manager",
    time: "2020-10-08T11:02:00Z",
    data: {
      ServiceName: "evilsvc",
      ImagePath: "C:\\evil.exe",
      StartType: "auto start",
      AccountName: "LocalSystem",
    },
  }),
  winEvent({
    eventID: "11",
    time: "2020-10-08T11:03:00Z",
    data: { Image: "C:\\x\\a.exe", TargetFilename: "C:\\Users\\Public\\x.dll" },
  }),
  winEvent({
    eventID: "4720",
    channel: "Security",
    time: "2020-10-08T11:04:00Z",
    data: { TargetUserName: "newguy", SubjectUserName: "admin" },
  }),
];

describe("tstats over CIM data models", () => {
  test("the ESCU shape: tstats from Endpoint.Processes where ... by ... | drop_dm_object_name | ctime", async () => {
    const spl =
      "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.dest Processes.user Processes.parent_process_name Processes.process | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)`";
    const rows = await runStrings(spl, list, undefined, { macros });
    assert.deepEqual(
      rows.map((r) => [r.dest, r.user, r.parent_process_name, r.process, r.count, r.firstTime]),
      [
        ["ws01", "bob", "explorer.exe", "cmd /c whoami", "1", "2020-10-08T11:00:00"],
        ["ws01", "bob", "mmc.exe", "cmd /c dir", "1", "2020-10-08T11:30:00"],
      ],
    );
  });

  test("count, dc, values, min, max; where with IN and NOT on data-model names", async () => {
    const rows = await runStrings(
      '| tstats count dc(Processes.process_path) as paths values(Processes.process_name) as names from datamodel=Endpoint.Processes where NOT Processes.process_name IN ("notepad.exe") by Processes.dest',
      list,
    );
    assert.deepEqual(rows, [{ "Processes.dest": "ws01", count: "2", paths: "1", names: "cmd.exe" }]);
  });

  test("by _time span=1h buckets time", async () => {
    const counts = await column(
      "| tstats count from datamodel=Endpoint.Processes by _time span=1h",
      list,
      "count",
    );
    assert.deepEqual(counts, ["2", "1"]);
  });

  test("prestats=t passes dataset rows to the next stats", async () => {
    const rows = await runStrings(
      "| tstats prestats=t count from datamodel=Endpoint.Processes by Processes.process_name | stats count by Processes.process_name",
      list,
    );
    assert.deepEqual(rows, [
      { "Processes.process_name": "cmd.exe", count: "2" },
      { "Processes.process_name": "notepad.exe", count: "1" },
    ]);
  });

  test("Network_Traffic, Registry, Filesystem, Services, Authentication, Change map their events", async () => {
    const one = async (spl: string) => (await runStrings(spl, list))[0];
    assert.deepEqual(
      await one(
        "| tstats count from datamodel=Network_Traffic where All_Traffic.dest_port=135 by All_Traffic.src All_Traffic.dest All_Traffic.direction All_Traffic.transport",
      ),
      {
        "All_Traffic.src": "10.0.0.5",
        "All_Traffic.dest": "10.0.0.9",
        "All_Traffic.direction": "outbound",
        "All_Traffic.transport": "tcp",
        count: "1",
      },
    );
    assert.deepEqual(
      await one(
        "| tstats count from datamodel=Endpoint.Registry by Registry.registry_path Registry.registry_value_name Registry.registry_value_data Registry.action",
      ),
      {
        "Registry.registry_path": "HKLM\\SOFTWARE\\Run\\evil",
        "Registry.registry_value_name": "evil",
        "Registry.registry_value_data": "c:\\evil.exe",
        "Registry.action": "modified",
        count: "1",
      },
    );
    assert.deepEqual(
      await one(
        "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name Filesystem.action",
      ),
      { "Filesystem.file_name": "x.dll", "Filesystem.action": "created", count: "1" },
    );
    assert.deepEqual(
      await one(
        "| tstats count from datamodel=Endpoint.Services by Services.service_name Services.service_path",
      ),
      { "Services.service_name": "evilsvc", "Services.service_path": "C:\\evil.exe", count: "1" },
    );
    assert.deepEqual(
      await runStrings(
        "| tstats count from datamodel=Authentication by Authentication.action Authentication.user Authentication.src",
        list,
      ),
      [
        {
          "Authentication.action": "failure",
          "Authentication.user": "alice",
          "Authentication.src": "10.0.0.7",
          count: "1",
        },
        {
          "Authentication.action": "success",
          "Authentication.user": "alice",
          "Authentication.src": "10.0.0.7",
          count: "1",
        },
      ],
    );
    assert.equal(
      (await one("| tstats count from datamodel=Authentication.Failed_Authentication")).count,
      "1",
    );
    assert.deepEqual(
      await one(
        "| tstats count from datamodel=Change.All_Changes by All_Changes.action All_Changes.object_category All_Changes.user",
      ),
      {
        "All_Changes.action": "created",
        "All_Changes.object_category": "user",
        "All_Changes.user": "newguy",
        count: "1",
      },
    );
  });

  test("push-down by data model: the reader predicate keeps only the dataset's channel and event IDs", () => {
    const c = compileSearch("| tstats count from datamodel=Endpoint.Processes", { fieldView: view });
    const p = c.pushdown;
    assert.ok(p);
    assert.equal(p({ eventID: "1", channel: SYSMON }, undefined), true);
    assert.equal(p({ eventID: "3", channel: SYSMON }, undefined), false);
    assert.equal(p({ eventID: "4688", channel: "Security" }, undefined), true);
    assert.equal(p({ eventID: "4624", channel: "Security" }, undefined), false);
  });

  test("| from datamodel: and | datamodel ... search give the dataset's events with prefixed fields", async () => {
    assert.deepEqual(
      await column(
        '| from datamodel:"Endpoint.Processes" | search Processes.parent_process_name=mmc.exe',
        list,
        "Processes.original_file_name",
      ),
      ["Cmd.Exe"],
    );
    assert.deepEqual(
      await column(
        "| datamodel Endpoint Processes flat | search parent_process_name=mmc.exe",
        list,
        "process",
      ),
      ["cmd /c dir"],
    );
  });

  test("an unknown data model is a clear error at its position", async () => {
    await assert.rejects(
      () => run("| tstats count from datamodel=Nope.Things", list),
      (e: Error) => e instanceof SplError && /unknown data model 'Nope.Things'/.test(e.message),
    );
  });
});
