/**
 * Building blocks shared by the scenarios: the traces of a DCOM activation (endpoint mapper on
 * TCP 135, network logon, server process started by DcomLaunch, then the call on a dynamic port),
 * locally against 127.0.0.1 or from one host to another.
 */
import type { HostState, LogonSession, Proc } from "./context.js";
import { type Account, type HostSpec, PATHS } from "./estate.js";
import type { ScenarioContext } from "./scenario.js";
import { ephemeralPort } from "./values.js";

export interface RemoteActivation {
  /** The network logon the target created for the caller (its TargetLogonId ties the server process to the source). */
  logon: LogonSession;
  target: HostState;
}

/**
 * `client` (on its host) asks `target`'s endpoint mapper for a COM object: Sysmon 3 / 5156 on both
 * sides for TCP 135, and on the target a 4624 LogonType 3 (+4672) from the source's IP.
 */
export function remoteActivate(
  ctx: ScenarioContext,
  client: Proc,
  target: HostState,
  account: Account,
  atMs: number,
  auth: "Kerberos" | "NTLM" = "Kerberos",
): RemoteActivation {
  const src = client.host.spec;
  const srcPort = ephemeralPort(ctx.rng);
  const link = {
    sourceIp: src.ip,
    sourcePort: srcPort,
    sourceHostname: src.computer,
    destinationIp: target.spec.ip,
    destinationPort: 135,
    destinationHostname: target.spec.computer,
  };
  ctx.emu.connection({ proc: client, initiated: true, ...link }, ctx.at(atMs));
  ctx.emu.connection({ proc: target.rpcss(), initiated: false, ...link }, ctx.at(atMs + 2));
  const logon = ctx.emu.networkLogon(
    target,
    ctx.principal(account),
    account.admin,
    { ip: src.ip, netbios: src.netbios },
    ctx.at(atMs + 9),
    auth,
  );
  return { logon, target };
}

/** The client talks to the COM server on the dynamic port the endpoint mapper gave (both sides). */
export function callServer(ctx: ScenarioContext, client: Proc, server: Proc, atMs: number): number {
  const src = client.host.spec;
  const loop = client.host === server.host;
  const port = ephemeralPort(ctx.rng);
  const link = {
    sourceIp: loop ? "127.0.0.1" : src.ip,
    sourcePort: ephemeralPort(ctx.rng),
    sourceHostname: src.computer,
    destinationIp: loop ? "127.0.0.1" : server.host.spec.ip,
    destinationPort: port,
    destinationHostname: server.host.spec.computer,
  };
  ctx.emu.connection({ proc: client, initiated: true, ...link }, ctx.at(atMs));
  ctx.emu.connection({ proc: server, initiated: false, ...link }, ctx.at(atMs + 1));
  return port;
}

/** A local activation through the loopback endpoint mapper (Sysmon 3 to 127.0.0.1:135). */
export function loopbackActivate(ctx: ScenarioContext, client: Proc, atMs: number): void {
  const spec = client.host.spec;
  ctx.emu.connection(
    {
      proc: client,
      initiated: true,
      sourceIp: "127.0.0.1",
      sourcePort: ephemeralPort(ctx.rng),
      sourceHostname: spec.computer,
      destinationIp: "127.0.0.1",
      destinationPort: 135,
      destinationHostname: spec.computer,
    },
    ctx.at(atMs),
    { wfp: false },
  );
}

/** DcomLaunch starts a COM server as the caller (`mmc.exe -Embedding`, `EXCEL.EXE /automation -Embedding` ...). */
export function launchServer(
  ctx: ScenarioContext,
  host: HostState,
  logon: LogonSession,
  image: string,
  commandLine: string,
  atMs: number,
): Proc {
  return ctx.emu.startProcess(
    {
      parent: host.dcomLaunch(),
      image,
      commandLine,
      logon,
      integrity: logon.logonType === 3 || logon.principal.sid === "S-1-5-18" ? "High" : "Medium",
      currentDirectory: "C:\\Windows\\system32\\",
    },
    ctx.at(atMs),
  );
}

/** A shell command run by a process: cmd.exe (+ conhost.exe), returning the cmd process. */
export function runCmd(ctx: ScenarioContext, parent: Proc, args: string, atMs: number, endMs?: number): Proc {
  const cmd = ctx.emu.startProcess(
    { parent, image: PATHS.cmd, commandLine: `"C:\\Windows\\system32\\cmd.exe" ${args}` },
    ctx.at(atMs),
  );
  ctx.emu.conhost(cmd, ctx.at(atMs + 4));
  if (endMs !== undefined) ctx.emu.endProcess(cmd, ctx.at(endMs));
  return cmd;
}

/** An interactive PowerShell of `account` on `host` (child of its explorer.exe). */
export function interactivePowerShell(
  ctx: ScenarioContext,
  host: HostState,
  account: Account,
  commandLine: string,
  atMs: number,
  elevated = true,
  image: string = PATHS.powershell,
): Proc {
  const principal = ctx.principal(account);
  const explorer = host.explorer(principal);
  const ps = ctx.emu.startProcess(
    {
      parent: explorer,
      image,
      commandLine,
      integrity: elevated ? "High" : "Medium",
      currentDirectory: `C:\\Users\\${account.name}\\`,
    },
    ctx.at(atMs),
  );
  ctx.emu.conhost(ps, ctx.at(atMs + 5));
  return ps;
}

export const CLSID = {
  MMC20: "{49B2791A-B1AE-4C90-9B8E-E860BA07F889}",
  ShellWindows: "{9BA05972-F6A8-11CF-A442-00A0C90A8F39}",
  ShellBrowserWindow: "{C08AFD90-F2A1-11D1-8455-00A0C91F3880}",
  Excel: "{00024500-0000-0000-C000-000000000046}",
  Outlook: "{0006F03A-0000-0000-C000-000000000046}",
  InternetExplorer: "{0002DF01-0000-0000-C000-000000000046}",
  htafile: "{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}",
} as const;

/** AppIDs (param5 of 10016). */
export const APPID = {
  MMC20: "{7E0423CD-1119-0928-900C-E6D4A52A0715}",
} as const;

export interface RemoteSetup {
  source: HostState;
  target: HostState;
  /** The attacker's PowerShell on the source. */
  client: Proc;
  activation: RemoteActivation;
}

/**
 * The common start of a remote variant: alice.admin's PowerShell on WKS01 running `script`
 * against `target`, and the activation traces on both hosts (TCP 135, 4624 type 3).
 */
export function remoteStart(
  ctx: ScenarioContext,
  sourceSpec: HostSpec,
  targetSpec: HostSpec,
  account: Account,
  commandLine: string,
  auth: "Kerberos" | "NTLM" = "Kerberos",
  image: string = PATHS.powershell,
): RemoteSetup {
  const source = ctx.host(sourceSpec);
  const target = ctx.host(targetSpec);
  const client = interactivePowerShell(ctx, source, account, commandLine, 0, true, image);
  const activation = remoteActivate(ctx, client, target, account, 400, auth);
  return { source, target, client, activation };
}

/** PowerShell command line as `powershell.exe -NoP -C "<script>"`. */
export function psCommand(script: string): string {
  return `"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoProfile -Command "${script}"`;
}

/** An SMB session from `client` to `target` (TCP 445, served by the System process); returns the client port. */
export function smbConnect(ctx: ScenarioContext, client: Proc, target: HostState, atMs: number): number {
  const src = client.host.spec;
  const port = ephemeralPort(ctx.rng);
  const link = {
    sourceIp: src.ip,
    sourcePort: port,
    sourceHostname: src.computer,
    destinationIp: target.spec.ip,
    destinationPort: 445,
    destinationHostname: target.spec.computer,
  };
  ctx.emu.connection({ proc: client, initiated: true, ...link }, ctx.at(atMs));
  ctx.emu.connection({ proc: target.systemProcess(), initiated: false, ...link }, ctx.at(atMs + 1));
  return port;
}
