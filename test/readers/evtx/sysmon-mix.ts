/**
 * A deterministic, realistic Sysmon event mix (EID 1, 3, 5, 7, 10, 11, 12, 13, 22) as WinEvents,
 * every record distinct. Used by the EVTX tests and by bench/evtx (writer input).
 */

import type { EventDataItem, WinEvent } from "../../../src/events/model.js";
import { isoFromTicks } from "../../../src/events/time.js";

/** Small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IMAGES = [
  "C:\\Windows\\System32\\svchost.exe",
  "C:\\Windows\\System32\\cmd.exe",
  "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
  "C:\\Windows\\explorer.exe",
  "C:\\Windows\\System32\\mmc.exe",
  "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
  "C:\\Windows\\System32\\rundll32.exe",
  "C:\\Windows\\System32\\conhost.exe",
];
/** Parents of ordinary process creations: none of them is an Office/MMC parent the seed query looks for. */
const PARENTS = [
  "C:\\Windows\\System32\\svchost.exe",
  "C:\\Windows\\explorer.exe",
  "C:\\Windows\\System32\\services.exe",
  "C:\\Windows\\System32\\userinit.exe",
];
const USERS = ["NT AUTHORITY\\SYSTEM", "CORP\\alice", "CORP\\bob", "NT AUTHORITY\\NETWORK SERVICE"];
const HOSTS = ["WKS-0142.corp.local", "WKS-0173.corp.local", "SRV-FILE01.corp.local"];
const MIX = [1, 3, 3, 5, 7, 7, 7, 10, 11, 12, 13, 13, 22];

function hexn(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s.toUpperCase();
}
function guid(r: () => number): string {
  return `{${hexn(r, 8)}-${hexn(r, 4)}-${hexn(r, 4)}-${hexn(r, 4)}-${hexn(r, 12)}}`;
}
function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}
function utc(ticks: bigint): string {
  // Sysmon's UtcTime: "2019-04-30 20:35:11.856" (a string, not a typed time).
  return isoFromTicks(ticks, 3).replace("T", " ").slice(0, 23);
}

/**
 * Event i of the mix (same seed and i give the same event). With `dcomHit`, a Sysmon EID 1 of
 * impacket dcomexec through MMC20.Application (mmc.exe -Embedding spawning cmd.exe), which the
 * seed query finds; the ordinary mix never matches it.
 */
export function sysmonEvent(i: number, seed = 1, dcomHit = false): WinEvent {
  const r = prng(seed * 1000003 + i);
  const eid = dcomHit ? 1 : MIX[i % MIX.length];
  const ticks = 132000000000000000n + BigInt(i) * 1234567n + BigInt(Math.floor(r() * 9999));
  const image = dcomHit
    ? "C:\\Windows\\System32\\cmd.exe"
    : pick(
        r,
        IMAGES.filter((x) => !x.endsWith("mmc.exe") || eid !== 1),
      );
  const pid = String(1000 + Math.floor(r() * 60000));
  const base: EventDataItem[] = [
    { name: "RuleName", value: r() < 0.2 ? "technique_id=T1021.003" : "-" },
    { name: "UtcTime", value: utc(ticks) },
    { name: "ProcessGuid", value: guid(r) },
    { name: "ProcessId", value: pid },
    { name: "Image", value: image },
  ];
  let data: EventDataItem[];
  switch (eid) {
    case 1:
      data = [
        ...base,
        { name: "FileVersion", value: "10.0.17763.1" },
        { name: "Description", value: "Windows Command Processor" },
        { name: "Product", value: "Microsoft® Windows® Operating System" },
        { name: "Company", value: "Microsoft Corporation" },
        { name: "OriginalFileName", value: "Cmd.Exe" },
        {
          name: "CommandLine",
          value: dcomHit
            ? `cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__${hexn(r, 10)} 2>&1`
            : `"${image}" /c echo ${hexn(r, 10)} > C:\\Temp\\out-${i}.txt & whoami`,
        },
        { name: "CurrentDirectory", value: "C:\\Windows\\system32\\" },
        { name: "User", value: pick(r, USERS) },
        { name: "LogonGuid", value: guid(r) },
        { name: "LogonId", value: "0x" + (0x3e7 + Math.floor(r() * 1e6)).toString(16) },
        { name: "TerminalSessionId", value: String(Math.floor(r() * 3)) },
        { name: "IntegrityLevel", value: pick(r, ["High", "Medium", "System"]) },
        { name: "Hashes", value: `SHA1=${hexn(r, 40)},MD5=${hexn(r, 32)},IMPHASH=${hexn(r, 32)}` },
        { name: "ParentProcessGuid", value: guid(r) },
        { name: "ParentProcessId", value: String(500 + Math.floor(r() * 9000)) },
        { name: "ParentImage", value: dcomHit ? "C:\\Windows\\System32\\mmc.exe" : pick(r, PARENTS) },
        {
          name: "ParentCommandLine",
          value: dcomHit
            ? "C:\\Windows\\system32\\mmc.exe -Embedding"
            : "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
        },
      ];
      break;
    case 3:
      data = [
        ...base,
        { name: "User", value: pick(r, USERS) },
        { name: "Protocol", value: "tcp" },
        { name: "Initiated", value: r() < 0.5 ? "true" : "false" },
        { name: "SourceIsIpv6", value: "false" },
        { name: "SourceIp", value: `10.0.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}` },
        { name: "SourceHostname", value: pick(r, HOSTS) },
        { name: "SourcePort", value: String(49152 + Math.floor(r() * 16000)) },
        { name: "SourcePortName", value: "-" },
        { name: "DestinationIsIpv6", value: "false" },
        { name: "DestinationIp", value: `10.0.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}` },
        { name: "DestinationHostname", value: pick(r, HOSTS) },
        { name: "DestinationPort", value: pick(r, ["135", "445", "443", "5985"]) },
        { name: "DestinationPortName", value: pick(r, ["epmap", "microsoft-ds", "https", "-"]) },
      ];
      break;
    case 7:
      data = [
        ...base,
        {
          name: "ImageLoaded",
          value: `C:\\Windows\\System32\\${pick(r, ["combase", "ole32", "rpcrt4", "kernel32"])}.dll`,
        },
        { name: "FileVersion", value: "10.0.17763.1" },
        { name: "Description", value: "Microsoft COM for Windows" },
        { name: "Product", value: "Microsoft® Windows® Operating System" },
        { name: "Company", value: "Microsoft Corporation" },
        { name: "OriginalFileName", value: "combase.dll" },
        { name: "Hashes", value: `SHA1=${hexn(r, 40)},MD5=${hexn(r, 32)}` },
        { name: "Signed", value: "true" },
        { name: "Signature", value: "Microsoft Windows" },
        { name: "SignatureStatus", value: "Valid" },
        { name: "User", value: pick(r, USERS) },
      ];
      break;
    case 10:
      data = [
        { name: "RuleName", value: "-" },
        { name: "UtcTime", value: utc(ticks) },
        { name: "SourceProcessGUID", value: guid(r) },
        { name: "SourceProcessId", value: pid },
        { name: "SourceThreadId", value: String(Math.floor(r() * 20000)) },
        { name: "SourceImage", value: image },
        { name: "TargetProcessGUID", value: guid(r) },
        { name: "TargetProcessId", value: String(600 + Math.floor(r() * 9000)) },
        { name: "TargetImage", value: "C:\\Windows\\system32\\lsass.exe" },
        { name: "GrantedAccess", value: "0x" + Math.floor(r() * 0x1fffff).toString(16) },
        {
          name: "CallTrace",
          value: `C:\\Windows\\SYSTEM32\\ntdll.dll+${hexn(r, 5).toLowerCase()}|UNKNOWN(${hexn(r, 16)})`,
        },
        { name: "SourceUser", value: pick(r, USERS) },
        { name: "TargetUser", value: "NT AUTHORITY\\SYSTEM" },
      ];
      break;
    case 12:
    case 13:
      data = [
        ...base.slice(0, 1),
        { name: "EventType", value: eid === 12 ? "CreateKey" : "SetValue" },
        ...base.slice(1),
        { name: "TargetObject", value: `HKLM\\SOFTWARE\\Classes\\CLSID\\${guid(r)}\\LocalServer32` },
        ...(eid === 13 ? [{ name: "Details", value: `DWORD (0x${hexn(r, 8).toLowerCase()})` }] : []),
        { name: "User", value: pick(r, USERS) },
      ];
      break;
    case 22:
      data = [
        ...base,
        {
          name: "QueryName",
          value: `host${i}.${pick(r, ["corp.local", "example.com", "windowsupdate.com"])}`,
        },
        { name: "QueryStatus", value: "0" },
        { name: "QueryResults", value: `::ffff:10.1.${Math.floor(r() * 255)}.${Math.floor(r() * 255)};` },
        { name: "User", value: pick(r, USERS) },
      ];
      break;
    default:
      data = [
        ...base,
        { name: "TargetFilename", value: `C:\\Users\\alice\\AppData\\Local\\Temp\\${hexn(r, 8)}.tmp` },
        { name: "CreationUtcTime", value: utc(ticks - 100000n) },
        { name: "User", value: pick(r, USERS) },
      ];
  }
  return {
    system: {
      providerName: "Microsoft-Windows-Sysmon",
      providerGuid: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
      eventID: String(eid),
      version: eid === 1 ? "5" : "3",
      level: "4",
      task: String(eid),
      opcode: "0",
      keywords: "0x8000000000000000",
      systemTime: isoFromTicks(ticks),
      eventRecordID: String(i + 1),
      processID: "2964",
      threadID: String(3000 + (i % 500)),
      channel: "Microsoft-Windows-Sysmon/Operational",
      computer: HOSTS[i % HOSTS.length],
      userID: "S-1-5-18",
    },
    eventData: data,
    timeTicks: ticks,
    provenance: { file: "generated", format: "evtx" },
  };
}

/** Events 0..n-1 of the mix; with `hitsEvery` = k, every k-th event is a DCOM seed hit. */
export function* sysmonMix(n: number, seed = 1, hitsEvery = 0): Generator<WinEvent> {
  for (let i = 0; i < n; i++) yield sysmonEvent(i, seed, hitsEvery > 0 && i % hitsEvery === hitsEvery - 1);
}
