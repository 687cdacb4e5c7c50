/** Every scenario produces what its description says. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PATHS, SRV_APP02, SRV_FILE03, WKS01 } from "../../src/emulate/estate.js";
import { emulate, findScenario, scenarios } from "../../src/emulate/index.js";
import { sysmonHashes } from "../../src/emulate/values.js";
import { eventDataValue, type WinEvent } from "../../src/events/model.js";

const SYSMON = "Microsoft-Windows-Sysmon";
const SECURITY = "Microsoft-Windows-Security-Auditing";

const v = (ev: WinEvent, name: string) => eventDataValue(ev, name) ?? "";
const is = (ev: WinEvent, provider: string, eventID: string, computer?: string) =>
  ev.system.providerName === provider &&
  ev.system.eventID === eventID &&
  (computer === undefined || ev.system.computer === computer);
const base = (p: string) => p.slice(p.lastIndexOf("\\") + 1).toLowerCase();

function procCreates(evs: WinEvent[], computer?: string): WinEvent[] {
  return evs.filter((e) => is(e, SYSMON, "1", computer));
}
function one(evs: WinEvent[], what: string, pred: (e: WinEvent) => boolean): WinEvent {
  const found = evs.filter(pred);
  assert.equal(found.length, 1, `expected exactly one ${what}, found ${found.length}`);
  return found[0];
}
function childOf(evs: WinEvent[], parent: WinEvent, image: string): WinEvent {
  return one(
    evs,
    `${image} child of ${v(parent, "Image")}`,
    (e) =>
      is(e, SYSMON, "1") &&
      v(e, "ParentProcessGuid") === v(parent, "ProcessGuid") &&
      base(v(e, "Image")) === image,
  );
}
function dcomLaunched(evs: WinEvent[], image: string, computer: string): WinEvent {
  const ev = one(
    evs,
    `${image} on ${computer}`,
    (e) => is(e, SYSMON, "1", computer) && base(v(e, "Image")) === image,
  );
  assert.equal(base(v(ev, "ParentImage")), "svchost.exe");
  assert.match(v(ev, "ParentCommandLine"), /-k DcomLaunch/);
  assert.match(v(ev, "CommandLine"), /-Embedding/);
  return ev;
}
function connections(evs: WinEvent[], computer: string, pred: (e: WinEvent) => boolean): WinEvent[] {
  return evs.filter((e) => is(e, SYSMON, "3", computer) && pred(e));
}

test("one file per scenario under src/emulate/scenarios, names unique, attacks carry a variant", () => {
  const dir = path.resolve(fileURLToPath(import.meta.url), "../../../src/emulate/scenarios");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.equal(files.length, scenarios.length);
  assert.deepEqual(files.map((f) => f.replace(/\.ts$/, "")).sort(), scenarios.map((s) => s.name).sort());
  assert.equal(new Set(scenarios.map((s) => s.name)).size, scenarios.length);
  for (const s of scenarios) {
    if (s.kind === "attack") assert.ok(s.variant, `${s.name} has no variant`);
    else assert.equal(s.variant, undefined);
    assert.ok(s.description.length > 20);
    assert.equal(findScenario(s.name), s);
  }
});

test("each scenario only writes to its declared hosts; loopback ones to one host", () => {
  for (const s of scenarios) {
    const computers = new Set(emulate([s.name]).map((e) => e.system.computer));
    const declared = new Set(s.hosts.map((h) => h.computer));
    for (const c of computers) assert.ok(declared.has(c ?? ""), `${s.name} wrote to ${c}`);
    if (s.loopback) assert.equal(computers.size, 1, s.name);
  }
});

describe("seed tests, run locally as published", () => {
  test("seed-1-mmc20", () => {
    const evs = emulate(["seed-1-mmc20"]);
    const ps = one(
      evs,
      "powershell with MMC20.Application",
      (e) =>
        is(e, SYSMON, "1") &&
        base(v(e, "Image")) === "powershell.exe" &&
        v(e, "CommandLine").includes("MMC20.Application"),
    );
    const out = connections(
      evs,
      WKS01.computer,
      (e) => v(e, "ProcessGuid") === v(ps, "ProcessGuid") && v(e, "DestinationIp") === "127.0.0.1",
    );
    assert.deepEqual(
      out.map((e) => Number(v(e, "DestinationPort")) === 135 || Number(v(e, "DestinationPort")) >= 49152),
      [true, true],
    );
    assert.ok(out.some((e) => v(e, "DestinationPort") === "135"));
    assert.ok(out.some((e) => Number(v(e, "DestinationPort")) >= 49152));
    const mmc = dcomLaunched(evs, "mmc.exe", WKS01.computer);
    assert.equal(v(mmc, "CommandLine"), "C:\\Windows\\system32\\mmc.exe -Embedding");
    const cmd = childOf(evs, mmc, "cmd.exe");
    const file = one(evs, "Sysmon 11 dcom_test.txt", (e) => is(e, SYSMON, "11"));
    assert.equal(v(file, "TargetFilename"), "C:\\Windows\\Temp\\dcom_test.txt");
    assert.equal(v(file, "ProcessGuid"), v(cmd, "ProcessGuid"));
  });

  test("seed-2-shellwindows", () => {
    const evs = emulate(["seed-2-shellwindows"]);
    const ps = one(
      evs,
      "powershell with the ShellWindows CLSID",
      (e) =>
        is(e, SYSMON, "1") &&
        base(v(e, "Image")) === "powershell.exe" &&
        v(e, "CommandLine").includes("9BA05972"),
    );
    assert.equal(
      connections(
        evs,
        WKS01.computer,
        (e) =>
          v(e, "ProcessGuid") === v(ps, "ProcessGuid") &&
          v(e, "DestinationIp") === "127.0.0.1" &&
          v(e, "DestinationPort") === "135",
      ).length,
      1,
    );
    const cmd = one(evs, "cmd.exe", (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "cmd.exe");
    assert.equal(base(v(cmd, "ParentImage")), "explorer.exe");
    assert.equal(
      procCreates(evs).filter((e) => v(e, "CommandLine").includes("-Embedding")).length,
      0,
      "ShellWindows starts no server",
    );
  });

  test("seed-3-dcomcnfg", () => {
    const evs = emulate(["seed-3-dcomcnfg"]);
    const dcomcnfg = one(
      evs,
      "Sysmon 1 dcomcnfg.exe",
      (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "dcomcnfg.exe",
    );
    one(
      evs,
      "4688 dcomcnfg.exe",
      (e) => is(e, SECURITY, "4688") && base(v(e, "NewProcessName")) === "dcomcnfg.exe",
    );
    childOf(evs, dcomcnfg, "mmc.exe");
  });
});

describe("Atomic Red Team tests", () => {
  test("art-1-mmc20-calc", () => {
    const evs = emulate(["art-1-mmc20-calc"]);
    one(
      evs,
      "powershell with MMC20",
      (e) =>
        is(e, SYSMON, "1") &&
        /GetTypeFromProgID\("MMC20\.application","localhost"\)/.test(v(e, "CommandLine")),
    );
    childOf(evs, dcomLaunched(evs, "mmc.exe", WKS01.computer), "calc.exe");
  });
  test("art-2-excel-activatemicrosoftapp", () => {
    const evs = emulate(["art-2-excel-activatemicrosoftapp"]);
    const excel = dcomLaunched(evs, "excel.exe", WKS01.computer);
    assert.match(v(excel, "CommandLine"), /EXCEL\.EXE" \/automation -Embedding$/);
    const fox = childOf(evs, excel, "foxprow.exe");
    assert.ok(
      evs.some((e) => is(e, SYSMON, "11") && v(e, "TargetFilename") === v(fox, "Image")),
      "the copy is written first",
    );
    // foxprow.exe is calc.exe copied: calc.exe's hashes and version resource.
    assert.equal(v(fox, "Hashes"), sysmonHashes(PATHS.calc));
    assert.notEqual(v(fox, "Hashes"), sysmonHashes(v(fox, "Image")));
    assert.equal(v(fox, "Description"), "Windows Calculator");
  });
});

/** The remote pattern: 4624 type 3 from the source, the server's 4688 on that logon, Sysmon 3 inbound from the source. */
function checkRemote(name: string, server: string | undefined, target = SRV_APP02) {
  const evs = emulate([name]);
  // The DCOM activation's network logon (an SMB copy before it may add another one).
  const logons = evs.filter(
    (e) =>
      is(e, SECURITY, "4624", target.computer) && v(e, "LogonType") === "3" && v(e, "IpAddress") === WKS01.ip,
  );
  assert.ok(logons.length >= 1, "4624 type 3 from WKS01");
  for (const l of logons) assert.equal(v(l, "TargetUserName"), "alice.admin");
  const logonIds = logons.map((l) => v(l, "TargetLogonId"));
  let logonId = logonIds[logonIds.length - 1];
  if (server) {
    const p4688 = one(
      evs,
      `4688 ${server}`,
      (e) => is(e, SECURITY, "4688", target.computer) && base(v(e, "NewProcessName")) === server,
    );
    assert.ok(
      logonIds.includes(v(p4688, "TargetLogonId")),
      "server process runs on a network logon from the source",
    );
    logonId = v(p4688, "TargetLogonId");
    assert.equal(v(p4688, "SubjectLogonId"), "0x3e7", "created by DcomLaunch (SYSTEM)");
    assert.match(v(p4688, "ParentProcessName"), /svchost\.exe$/);
    // Its children carry the logon as SubjectLogonId.
    for (const child of evs.filter(
      (e) =>
        is(e, SECURITY, "4688", target.computer) && v(e, "ParentProcessName") === v(p4688, "NewProcessName"),
    )) {
      assert.equal(v(child, "SubjectLogonId"), logonId);
    }
    if (target.sysmon) {
      const s1 = dcomLaunched(evs, server, target.computer);
      assert.equal(v(s1, "LogonId"), logonId);
      assert.ok(
        connections(
          evs,
          target.computer,
          (e) =>
            v(e, "ProcessGuid") === v(s1, "ProcessGuid") &&
            v(e, "Initiated") === "false" &&
            v(e, "SourceIp") === WKS01.ip,
        ).length >= 1,
        "inbound TCP to the server",
      );
    }
  }
  if (target.sysmon) {
    assert.ok(
      connections(
        evs,
        target.computer,
        (e) =>
          v(e, "Initiated") === "false" && v(e, "SourceIp") === WKS01.ip && v(e, "DestinationPort") === "135",
      ).length === 1,
      "inbound 135 on the target",
    );
  }
  assert.ok(
    connections(
      evs,
      WKS01.computer,
      (e) =>
        v(e, "Initiated") === "true" &&
        v(e, "DestinationIp") === target.ip &&
        v(e, "DestinationPort") === "135",
    ).length === 1,
    "outbound 135 on the source",
  );
  return { evs, logonId, logonIds };
}

describe("remote variants (WKS01 -> target)", () => {
  test("remote-mmc20", () => {
    const { evs } = checkRemote("remote-mmc20", "mmc.exe");
    childOf(evs, dcomLaunched(evs, "mmc.exe", SRV_APP02.computer), "cmd.exe");
  });
  for (const [name, clsid] of [
    ["remote-shellwindows", "9BA05972"],
    ["remote-shellbrowserwindow", "C08AFD90"],
  ] as const) {
    test(name, () => {
      const { evs } = checkRemote(name, undefined);
      assert.ok(procCreates(evs, WKS01.computer).some((e) => v(e, "CommandLine").includes(clsid)));
      const cmd = one(
        evs,
        "cmd.exe on the target",
        (e) => is(e, SYSMON, "1", SRV_APP02.computer) && base(v(e, "Image")) === "cmd.exe",
      );
      assert.equal(base(v(cmd, "ParentImage")), "explorer.exe");
      assert.ok(
        connections(
          evs,
          SRV_APP02.computer,
          (e) =>
            v(e, "ProcessGuid") === v(cmd, "ParentProcessGuid") &&
            v(e, "Initiated") === "false" &&
            v(e, "SourceIp") === WKS01.ip,
        ).length === 1,
        "inbound TCP to explorer.exe",
      );
    });
  }
  test("remote-excel-dde", () => {
    const { evs } = checkRemote("remote-excel-dde", "excel.exe");
    childOf(evs, dcomLaunched(evs, "excel.exe", SRV_APP02.computer), "cmd.exe");
  });
  test("remote-excel-xll", () => {
    const { evs, logonIds } = checkRemote("remote-excel-xll", "excel.exe");
    const excel = dcomLaunched(evs, "excel.exe", SRV_APP02.computer);
    const load = one(evs, "Sysmon 7 .xll", (e) => is(e, SYSMON, "7") && v(e, "ImageLoaded").endsWith(".xll"));
    assert.equal(v(load, "ProcessGuid"), v(excel, "ProcessGuid"));
    assert.equal(v(load, "Signed"), "false");
    assert.equal(
      procCreates(evs, SRV_APP02.computer).filter(
        (e) => v(e, "ParentProcessGuid") === v(excel, "ProcessGuid"),
      ).length,
      0,
    );
    assert.ok(
      logonIds.includes(
        v(
          one(evs, "5145", (e) => is(e, SECURITY, "5145")),
          "SubjectLogonId",
        ),
      ),
    );
  });
  test("remote-excel-macro: no payload child, only Office's AppV surrogate", () => {
    const { evs } = checkRemote("remote-excel-macro", "excel.exe");
    const excel = dcomLaunched(evs, "excel.exe", SRV_APP02.computer);
    assert.deepEqual(
      procCreates(evs, SRV_APP02.computer)
        .filter((e) => v(e, "ParentProcessGuid") === v(excel, "ProcessGuid"))
        .map((e) => base(v(e, "Image"))),
      ["appvdllsurrogate64.exe"],
    );
  });
  test("remote-outlook", () => {
    const { evs } = checkRemote("remote-outlook", "outlook.exe");
    childOf(evs, dcomLaunched(evs, "outlook.exe", SRV_APP02.computer), "cmd.exe");
  });
  test("remote-ie-iertutil: 5145, Sysmon 11, unsigned Sysmon 7", () => {
    const { evs, logonIds } = checkRemote("remote-ie-iertutil", "iexplore.exe");
    const share = one(evs, "5145", (e) => is(e, SECURITY, "5145"));
    assert.equal(v(share, "RelativeTargetName"), "Program Files\\Internet Explorer\\iertutil.dll");
    assert.equal(v(share, "IpAddress"), WKS01.ip);
    assert.ok(logonIds.includes(v(share, "SubjectLogonId")), "written on a network logon from the source");
    // The share write's IpPort is the source's SMB connection.
    assert.ok(
      connections(
        evs,
        WKS01.computer,
        (e) => v(e, "SourcePort") === v(share, "IpPort") && v(e, "DestinationPort") === "445",
      ).length === 1,
    );
    const write = one(
      evs,
      "Sysmon 11 iertutil.dll",
      (e) => is(e, SYSMON, "11") && v(e, "TargetFilename").endsWith("\\iertutil.dll"),
    );
    assert.deepEqual(
      [v(write, "Image"), v(write, "ProcessId")],
      ["System", "4"],
      "written over SMB by the System process",
    );
    const ie = dcomLaunched(evs, "iexplore.exe", SRV_APP02.computer);
    const load = one(evs, "Sysmon 7", (e) => is(e, SYSMON, "7"));
    assert.equal(v(load, "ProcessGuid"), v(ie, "ProcessGuid"));
    assert.equal(v(load, "Signed"), "false");
  });
  test("remote-lethalhta: mshta.exe -Embedding; inbound record before the process start", () => {
    const { evs } = checkRemote("remote-lethalhta", "mshta.exe");
    const mshta = dcomLaunched(evs, "mshta.exe", SRV_APP02.computer);
    assert.equal(v(mshta, "CommandLine"), "C:\\Windows\\System32\\mshta.exe -Embedding");
    const inbound = connections(
      evs,
      SRV_APP02.computer,
      (e) => v(e, "ProcessGuid") === v(mshta, "ProcessGuid") && v(e, "Initiated") === "false",
    );
    assert.equal(inbound.length, 1);
    assert.ok(v(inbound[0], "UtcTime") < v(mshta, "UtcTime"));
  });
  test("remote-security-only: no Sysmon on the target, 4624 + 4688 + 4674 share the logon", () => {
    const { evs, logonId } = checkRemote("remote-security-only", "mmc.exe", SRV_FILE03);
    assert.equal(
      evs.filter((e) => e.system.computer === SRV_FILE03.computer && e.system.providerName === SYSMON).length,
      0,
    );
    const p4674 = evs.filter((e) => is(e, SECURITY, "4674", SRV_FILE03.computer));
    assert.ok(p4674.length >= 1);
    for (const e of p4674) {
      assert.equal(v(e, "SubjectLogonId"), logonId);
      assert.equal(base(v(e, "ProcessName")), "mmc.exe");
    }
    one(
      evs,
      "4688 cmd.exe",
      (e) => is(e, SECURITY, "4688", SRV_FILE03.computer) && base(v(e, "NewProcessName")) === "cmd.exe",
    );
  });
});

describe("failed attempts and the source side", () => {
  test("remote-blocked: 5157 inbound 135 on the target, 10028 on the source, no logon", () => {
    const evs = emulate(["remote-blocked"]);
    const blocked = evs.filter((e) => is(e, SECURITY, "5157", SRV_FILE03.computer));
    assert.ok(blocked.length >= 1);
    for (const e of blocked) {
      // WFP names the initiator as Source (as the corpus' inbound 5156 does): the remote caller
      assert.equal(v(e, "SourceAddress"), WKS01.ip, "remote side of an inbound drop");
      assert.equal(v(e, "DestPort"), "135");
      assert.equal(v(e, "Direction"), "%%14592");
      assert.equal(e.system.keywords, "0x8010000000000000");
    }
    const e10028 = one(
      evs,
      "System 10028",
      (e) => e.system.eventID === "10028" && e.system.computer === WKS01.computer,
    );
    assert.equal(v(e10028, "param1"), "SRV-FILE03");
    assert.equal(v(e10028, "param4"), "{49B2791A-B1AE-4C90-9B8E-E860BA07F889}");
    assert.equal(evs.filter((e) => is(e, SECURITY, "4624")).length, 0);
  });
  test("remote-denied: 10016 Remote Launch naming the CLSID, the user and the source address", () => {
    const evs = emulate(["remote-denied"]);
    const e = one(evs, "System 10016", (x) => x.system.eventID === "10016");
    assert.equal(e.system.computer, SRV_APP02.computer);
    assert.equal(v(e, "param2"), "Remote");
    assert.equal(v(e, "param3"), "Launch");
    assert.equal(v(e, "param4"), "{49B2791A-B1AE-4C90-9B8E-E860BA07F889}");
    assert.equal(`${v(e, "param6")}\\${v(e, "param7")}`, "CORP\\bob");
    assert.match(v(e, "param9"), /^10\.0\.10\.21 /);
    assert.equal(procCreates(evs, SRV_APP02.computer).length, 0, "nothing starts");
  });
  test("source-side: 4103/4104 on WKS01 only, then outbound 135 and a dynamic port", () => {
    const evs = emulate(["source-side"]);
    assert.deepEqual([...new Set(evs.map((e) => e.system.computer))], [WKS01.computer]);
    const blocks = evs.filter((e) => e.system.eventID === "4104");
    assert.ok(
      blocks.some(
        (e) =>
          /GetTypeFromCLSID\('9BA05972/.test(v(e, "ScriptBlockText")) &&
          /Activator\]::CreateInstance/.test(v(e, "ScriptBlockText")),
      ),
    );
    assert.ok(blocks.some((e) => v(e, "ScriptBlockText").startsWith("Invoke-DCOM -ComputerName SRV-APP02")));
    one(evs, "4103", (e) => e.system.eventID === "4103" && v(e, "Payload").includes("Invoke-DCOM"));
    const out = connections(evs, WKS01.computer, (e) => v(e, "DestinationIp") === SRV_APP02.ip);
    assert.deepEqual(
      out.map((e) => v(e, "DestinationPort") === "135"),
      [true, false],
    );
  });
});

describe("benign scenarios: same hosts and accounts as the attacks", () => {
  test("they use only the estate's hosts and the attack accounts", () => {
    const attackHosts = new Set(
      scenarios.filter((s) => s.kind === "attack").flatMap((s) => s.hosts.map((h) => h.computer)),
    );
    const benign = scenarios.filter((s) => s.kind === "benign");
    assert.ok(benign.length >= 5);
    for (const s of benign) for (const h of s.hosts) assert.ok(attackHosts.has(h.computer));
    const users = new Set(
      emulate(benign.map((s) => s.name))
        .flatMap((e) => [v(e, "User")])
        .filter((u) => u.startsWith("CORP\\")),
    );
    assert.deepEqual([...users].sort(), ["CORP\\alice.admin", "CORP\\bob"]);
  });
  test("benign-admin-wmi: a remote DCOM logon and WmiPrvSE.exe -Embedding, no shell", () => {
    const evs = emulate(["benign-admin-wmi"]);
    one(
      evs,
      "4624 type 3",
      (e) => is(e, SECURITY, "4624", SRV_APP02.computer) && v(e, "IpAddress") === WKS01.ip,
    );
    dcomLaunched(evs, "wmiprvse.exe", SRV_APP02.computer);
    assert.equal(
      procCreates(evs, SRV_APP02.computer).filter((e) => base(v(e, "Image")) === "cmd.exe").length,
      0,
    );
  });
  test("benign-office-macro: EXCEL.EXE from explorer.exe runs cmd.exe and splwow64.exe", () => {
    const evs = emulate(["benign-office-macro"]);
    const excel = one(evs, "excel.exe", (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "excel.exe");
    assert.equal(base(v(excel, "ParentImage")), "explorer.exe");
    childOf(evs, excel, "cmd.exe");
    childOf(evs, excel, "splwow64.exe");
    // The share access: a network logon from WKS01 on SRV-APP02, as in the attacks, but no server process.
    const logon = one(evs, "4624", (e) => is(e, SECURITY, "4624", SRV_APP02.computer));
    assert.deepEqual(
      [v(logon, "IpAddress"), v(logon, "TargetUserName"), v(logon, "LogonType")],
      [WKS01.ip, "bob", "3"],
    );
    assert.equal(procCreates(evs, SRV_APP02.computer).length, 0);
  });
  test("benign-mmc-snapin-cmd: mmc.exe compmgmt.msc from explorer.exe runs cmd.exe", () => {
    const evs = emulate(["benign-mmc-snapin-cmd"]);
    const mmc = one(evs, "mmc.exe", (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "mmc.exe");
    assert.equal(base(v(mmc, "ParentImage")), "explorer.exe");
    assert.match(v(mmc, "CommandLine"), /compmgmt\.msc/);
    childOf(evs, mmc, "cmd.exe");
  });
  test("benign-dev-dcom-test: a local activation only (127.0.0.1), command line naming DCOM", () => {
    const evs = emulate(["benign-dev-dcom-test"]);
    assert.equal(evs.filter((e) => is(e, SECURITY, "4624")).length, 0);
    const ps = one(evs, "powershell", (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "powershell.exe");
    assert.match(v(ps, "CommandLine"), /-Exec.*DCOM/);
    dcomLaunched(evs, "reportsrv.exe", WKS01.computer);
    for (const c of connections(evs, WKS01.computer, () => true))
      assert.equal(v(c, "DestinationIp"), "127.0.0.1");
  });
  test("benign-monitoring-com: a SYSTEM agent's script and a COM surrogate, no network logon", () => {
    const evs = emulate(["benign-monitoring-com"]);
    assert.equal(evs.filter((e) => is(e, SECURITY, "4624")).length, 0);
    const cscript = one(
      evs,
      "cscript.exe",
      (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "cscript.exe",
    );
    assert.equal(v(cscript, "User"), "NT AUTHORITY\\SYSTEM");
    const surrogate = one(
      evs,
      "dllhost.exe",
      (e) => is(e, SYSMON, "1") && base(v(e, "Image")) === "dllhost.exe",
    );
    assert.match(v(surrogate, "ParentCommandLine"), /-k DcomLaunch/);
    assert.match(v(surrogate, "CommandLine"), /\/Processid:\{/);
  });
});
