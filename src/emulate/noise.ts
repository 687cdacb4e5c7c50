/**
 * Everyday background activity on the estate's Sysmon hosts: browser and update traffic,
 * scheduled tasks, search indexing, OneDrive and Defender file writes, Explorer registry writes,
 * DLL loads. `noise(ctx, n, ...)` adds exactly n events.
 */
import type { Emulation, HostState, Proc } from "./context.js";
import { BOB, SRV_APP02, WKS01 } from "./estate.js";
import type { ScenarioContext } from "./scenario.js";
import { ephemeralPort, type Rng } from "./values.js";

const WEB_PEERS: readonly [string, string][] = [
  ["13.107.42.14", "onedrive.live.com"],
  ["20.190.159.2", "login.microsoftonline.com"],
  ["52.113.194.132", "teams.microsoft.com"],
  ["23.55.176.99", "a23-55-176-99.deploy.static.akamaitechnologies.com"],
  ["40.126.32.134", "login.live.com"],
  ["204.79.197.200", "www.bing.com"],
];

function msedge(host: HostState, user: ReturnType<Emulation["principal"]>): Proc {
  return host.existing(`msedge:${user.name}`, () => ({
    image: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    commandLine: '"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --no-startup-window',
    currentDirectory: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\",
    logon: host.interactiveSession(user),
    integrity: "Medium",
    parent: host.explorer(user),
  }));
}

function defender(host: HostState): Proc {
  return host.existing("msmpeng", () => ({
    image: "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.23090.2008-0\\MsMpEng.exe",
    commandLine: '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.23090.2008-0\\MsMpEng.exe"',
    currentDirectory: "C:\\Windows\\system32\\",
    logon: host.systemLogon,
    integrity: "System",
    parent: host.services(),
  }));
}

type NoiseAction = (emu: Emulation, rng: Rng, at: bigint) => number;

function actionsFor(ctx: ScenarioContext): { single: NoiseAction[]; double: NoiseAction[] } {
  const wks = ctx.host(WKS01);
  const srv = ctx.host(SRV_APP02);
  const bob = ctx.principal(BOB);
  const web =
    (host: HostState, proc: () => Proc): NoiseAction =>
    (emu, rng, at) => {
      const [ip, name] = rng.pick(WEB_PEERS);
      emu.connection(
        {
          proc: proc(),
          initiated: true,
          sourceIp: host.spec.ip,
          sourcePort: ephemeralPort(rng),
          sourceHostname: host.spec.computer,
          destinationIp: ip,
          destinationPort: 443,
          destinationHostname: name,
        },
        at,
        { wfp: false },
      );
      return 1;
    };
  const single: NoiseAction[] = [
    web(wks, () => msedge(wks, bob)),
    web(srv, () => srv.netsvcs()),
    (emu, rng, at) => {
      const name = `${rng.pick(["Budget", "Notes", "Q3-review", "Onboarding", "Minutes"])}-${rng.int(1, 99)}.docx`;
      emu.fileCreate(
        wks.existing("onedrive", () => ({
          image: "C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe",
          commandLine: '"C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background',
          currentDirectory: "C:\\Users\\bob\\AppData\\Local\\Microsoft\\OneDrive\\",
          logon: wks.interactiveSession(bob),
          integrity: "Medium",
          parent: wks.explorer(bob),
        })),
        `C:\\Users\\bob\\OneDrive - Corp\\Documents\\${name}`,
        at,
      );
      return 1;
    },
    (emu, rng, at) => {
      const host = rng.pick([wks, srv]);
      emu.fileCreate(
        defender(host),
        `C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\CacheManager\\${rng.hex(4).toUpperCase()}-0.bin`,
        at,
      );
      return 1;
    },
    (emu, rng, at) => {
      emu.registrySet(
        wks.explorer(bob),
        `HKU\\${bob.sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx\\${rng.int(0, 30)}`,
        "Binary Data",
        at,
      );
      return 1;
    },
    (emu, rng, at) => {
      const host = rng.pick([wks, srv]);
      const dll = rng.pick([
        "C:\\Windows\\System32\\taskschd.dll",
        "C:\\Windows\\System32\\wbem\\wbemprox.dll",
        "C:\\Windows\\System32\\samlib.dll",
      ]);
      emu.imageLoad(host.netsvcs(), dll, at, true);
      return 1;
    },
  ];
  const double: NoiseAction[] = [
    (emu, rng, at) => {
      const host = rng.pick([wks, srv]);
      const [image, cmd] = rng.pick([
        [
          "C:\\Windows\\System32\\taskhostw.exe",
          "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly",
        ],
        ["C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe Install $(Arg0)"],
        ["C:\\Windows\\System32\\gpupdate.exe", "gpupdate.exe /target:computer"],
      ] as const);
      emu.startProcess(
        { parent: host.netsvcs(), image, commandLine: cmd, currentDirectory: "C:\\Windows\\system32\\" },
        at,
      );
      return 2;
    },
    (emu, _rng, at) => {
      emu.startProcess(
        {
          parent: wks.existing("searchindexer", () => ({
            image: "C:\\Windows\\System32\\SearchIndexer.exe",
            commandLine: "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
            currentDirectory: "C:\\Windows\\system32\\",
            logon: wks.systemLogon,
            integrity: "System",
            parent: wks.services(),
          })),
          image: "C:\\Windows\\System32\\SearchProtocolHost.exe",
          commandLine:
            '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipeMssGthrPipe5_ Global\\UsGthrCtrlFltPipeMssGthrPipe5 1 -2147483646 "Software\\Microsoft\\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc" "DownLevelDaemon" ',
        },
        at,
      );
      return 2;
    },
  ];
  return { single, double };
}

/** Add exactly `count` background events between `from` and `to` (ticks). */
export function addNoise(ctx: ScenarioContext, count: number, from: bigint, to: bigint): void {
  if (count <= 0) return;
  const { single, double } = actionsFor(ctx);
  const span = Number(to - from);
  let made = 0;
  while (made < count) {
    const at = from + BigInt(Math.floor(ctx.rng.float() * span));
    const useDouble = count - made >= 2 && ctx.rng.float() < 0.3;
    made += (useDouble ? ctx.rng.pick(double) : ctx.rng.pick(single))(ctx.emu, ctx.rng, at);
  }
}
