/**
 * The running state of an emulation: per-host process tables, logon sessions and the event list,
 * plus one emitter per kind of trace (process start -> Sysmon 1 + Security 4688, connection ->
 * Sysmon 3 + Security 5156, ...). Scenarios describe behaviour with these emitters; the field
 * layouts live in schemas.ts and the value layouts in values.ts.
 */
import type { WinEvent } from "../events/model.js";
import { type Account, type HostSpec, imageInfo, PATHS } from "./estate.js";
import {
  buildEvent,
  DCOM_10016,
  DCOM_10028,
  POWERSHELL_4103,
  POWERSHELL_4104,
  SECURITY_4624,
  SECURITY_4634,
  SECURITY_4672,
  SECURITY_4674,
  SECURITY_4688,
  SECURITY_5145,
  SECURITY_5156,
  SECURITY_5157,
  SYSMON_1,
  SYSMON_3,
  SYSMON_5,
  SYSMON_7,
  SYSMON_11,
  SYSMON_13,
} from "./schemas.js";
import {
  ephemeralPort,
  hexId,
  type Rng,
  sysmonHashes,
  sysmonLogonGuid,
  sysmonProcessGuid,
  sysmonUtcTime,
} from "./values.js";

/** Who a token belongs to. */
export interface Principal {
  domain: string;
  name: string;
  sid: string;
}

export interface LogonSession {
  host: HostState;
  principal: Principal;
  logonId: number;
  /** Sysmon's LogonGuid for this session. */
  logonGuid: string;
  logonType: number;
  terminalSessionId: number;
}

export type Integrity = "System" | "High" | "Medium" | "Low";

export interface Proc {
  host: HostState;
  pid: number;
  guid: string;
  image: string;
  commandLine: string;
  currentDirectory: string;
  logon: LogonSession;
  integrity: Integrity;
  startTicks: bigint;
  parent?: Proc;
}

const MANDATORY_LABEL: Record<Integrity, string> = {
  System: "S-1-16-16384",
  High: "S-1-16-12288",
  Medium: "S-1-16-8192",
  Low: "S-1-16-4096",
};

/** Lower-cased NT device path, the way WFP events name the application. */
export function devicePath(image: string): string {
  return `\\device\\harddiskvolume2${image.slice(2)}`.toLowerCase();
}

const PORT_NAMES: Record<number, string> = {
  135: "epmap",
  445: "microsoft-ds",
  80: "http",
  443: "https",
  53: "domain",
  88: "kerberos",
  389: "ldap",
};

/** How many recently started processes keep their PIDs reserved (well under the 3,250 PIDs of the range). */
const RECENT_PIDS = 1024;

export class HostState {
  readonly bootTicks: bigint;
  /** PIDs of long-running processes (never reused) and of recently started ones (not yet reused). */
  private readonly usedPids = new Set<number>();
  private readonly recentPids: number[] = [];
  private processKey: number;
  private nextLogonId: number;
  readonly sysmonPid: number;
  readonly lsassPid: number;
  readonly system: Principal;
  private readonly baseline = new Map<string, Proc>();
  private readonly sessions = new Map<string, LogonSession>();
  readonly systemLogon: LogonSession;
  readonly networkServiceLogon: LogonSession;
  readonly localServiceLogon: LogonSession;

  constructor(
    readonly spec: HostSpec,
    readonly rng: Rng,
    startTicks: bigint,
  ) {
    // Booted 1-5 days before the emulated window.
    this.bootTicks = startTicks - BigInt(rng.int(86400, 5 * 86400)) * 10000000n - BigInt(rng.int(0, 9999999));
    this.processKey = rng.int(0x00060000, 0x00200000);
    this.nextLogonId = rng.int(0x00400000, 0x02000000);
    this.system = { domain: "NT AUTHORITY", name: "SYSTEM", sid: "S-1-5-18" };
    this.systemLogon = this.fixedSession(this.system, 0x3e7);
    this.networkServiceLogon = this.fixedSession(
      { domain: "NT AUTHORITY", name: "NETWORK SERVICE", sid: "S-1-5-20" },
      0x3e4,
    );
    this.localServiceLogon = this.fixedSession(
      { domain: "NT AUTHORITY", name: "LOCAL SERVICE", sid: "S-1-5-19" },
      0x3e5,
    );
    this.usedPids.add(4);
    this.lsassPid = this.newPid(560, 760);
    this.sysmonPid = this.newPid(2000, 3600);
  }

  get computer(): string {
    return this.spec.computer;
  }

  private fixedSession(principal: Principal, logonId: number): LogonSession {
    return {
      host: this,
      principal,
      logonId,
      logonGuid: sysmonLogonGuid(this.spec.machinePrefix, this.bootTicks + 60000000n, logonId),
      logonType: 5,
      terminalSessionId: 0,
    };
  }

  /**
   * A fresh PID (multiple of 4) not in use on this host. Windows reuses the PIDs of exited
   * processes, so a started process's PID becomes available again after RECENT_PIDS later starts
   * (long runs never run out); `permanent` ones (services, baseline processes) stay taken.
   */
  newPid(min = 1000, max = 14000, permanent = true): number {
    for (;;) {
      const pid = this.rng.int(min / 4, max / 4) * 4;
      if (this.usedPids.has(pid)) continue;
      this.usedPids.add(pid);
      if (!permanent) {
        this.recentPids.push(pid);
        if (this.recentPids.length > RECENT_PIDS) this.usedPids.delete(this.recentPids.shift()!);
      }
      return pid;
    }
  }

  newLogonId(): number {
    this.nextLogonId += this.rng.int(0x200, 0x9000);
    return this.nextLogonId;
  }

  nextProcessKey(): number {
    this.processKey += this.rng.int(0x100, 0x3000);
    return this.processKey;
  }

  /** A process that was already running before the window (no creation event). `pid` may be fixed (System is 4). */
  existing(
    key: string,
    make: () => Omit<Proc, "host" | "pid" | "guid" | "startTicks">,
    pid?: number | [number, number],
  ): Proc {
    const found = this.baseline.get(key);
    if (found) return found;
    const startTicks = this.bootTicks + BigInt(this.rng.int(5, 600)) * 10000000n;
    const proc: Proc = {
      host: this,
      pid: typeof pid === "number" ? pid : this.newPid(...(pid ?? [400, 9000])),
      guid: sysmonProcessGuid(this.spec.machinePrefix, startTicks, this.nextProcessKey()),
      startTicks,
      ...make(),
    };
    this.baseline.set(key, proc);
    return proc;
  }

  services(): Proc {
    return this.existing(
      "services",
      () => ({
        image: "C:\\Windows\\System32\\services.exe",
        commandLine: "C:\\Windows\\system32\\services.exe",
        currentDirectory: "C:\\Windows\\system32\\",
        logon: this.systemLogon,
        integrity: "System",
      }),
      [600, 800],
    );
  }

  private svchost(key: string, group: string, logon: LogonSession): Proc {
    return this.existing(key, () => ({
      image: PATHS.svchost,
      commandLine: `C:\\Windows\\system32\\svchost.exe -k ${group}`,
      currentDirectory: "C:\\Windows\\system32\\",
      logon,
      integrity: "System",
      parent: this.services(),
    }));
  }

  /** `svchost.exe -k DcomLaunch -p`: starts COM servers (mmc.exe -Embedding, EXCEL.EXE /automation -Embedding ...). */
  dcomLaunch(): Proc {
    return this.svchost("dcomlaunch", "DcomLaunch -p", this.systemLogon);
  }

  /** `svchost.exe -k RPCSS -p`: the RPC endpoint mapper listening on TCP 135. */
  rpcss(): Proc {
    return this.svchost("rpcss", "RPCSS -p", this.networkServiceLogon);
  }

  netsvcs(): Proc {
    return this.svchost("netsvcs", "netsvcs -p -s Schedule", this.systemLogon);
  }

  /** The `System` process (PID 4), which serves SMB. */
  systemProcess(): Proc {
    return this.existing(
      "system",
      () => ({
        image: "System",
        commandLine: "",
        currentDirectory: "",
        logon: this.systemLogon,
        integrity: "System",
      }),
      4,
    );
  }

  /** An interactive (console/RDP) logon session of `account`, established before the window. */
  interactiveSession(account: Principal, terminalSessionId = 1): LogonSession {
    const key = `${account.domain}\\${account.name}`;
    const found = this.sessions.get(key);
    if (found) return found;
    const logonId = this.newLogonId();
    const logonTicks = this.bootTicks + BigInt(this.rng.int(120, 3600)) * 10000000n;
    const session: LogonSession = {
      host: this,
      principal: account,
      logonId,
      logonGuid: sysmonLogonGuid(this.spec.machinePrefix, logonTicks, logonId),
      logonType: 2,
      terminalSessionId,
    };
    this.sessions.set(key, session);
    return session;
  }

  /** The explorer.exe of an interactive user (already running). */
  explorer(account: Principal): Proc {
    const session = this.interactiveSession(account);
    return this.existing(`explorer:${account.name}`, () => ({
      image: PATHS.explorer,
      commandLine: "C:\\Windows\\Explorer.EXE",
      currentDirectory: "C:\\Windows\\system32\\",
      logon: session,
      integrity: "Medium",
    }));
  }
}

export interface ProcessStart {
  parent: Proc;
  image: string;
  commandLine: string;
  /** Token of the new process; default: the parent's. */
  logon?: LogonSession;
  integrity?: Integrity;
  currentDirectory?: string;
  /** Distinguishes an attacker-built binary at a system path (different hashes). */
  hashVariant?: string;
  /** The file is a copy of this binary (same hashes and version resource), e.g. calc.exe renamed foxprow.exe. */
  sameBinaryAs?: string;
}

export interface Connection {
  proc: Proc;
  initiated: boolean;
  protocol?: "tcp" | "udp";
  sourceIp: string;
  sourcePort: number;
  sourceHostname: string;
  destinationIp: string;
  destinationPort: number;
  destinationHostname: string;
}

/** Collects the events of one emulation run; shared by all scenarios of the run. */
export class Emulation {
  readonly events: WinEvent[] = [];
  private readonly hosts = new Map<string, HostState>();
  readonly domainSid: string;

  constructor(
    readonly rng: Rng,
    readonly startTicks: bigint,
    domainSid: string,
  ) {
    this.domainSid = domainSid;
  }

  host(spec: HostSpec): HostState {
    let h = this.hosts.get(spec.computer);
    if (!h) {
      h = new HostState(spec, this.rng.fork(`host:${spec.computer}`), this.startTicks);
      this.hosts.set(spec.computer, h);
    }
    return h;
  }

  principal(account: Account): Principal {
    return { domain: account.domain, name: account.name, sid: `${this.domainSid}-${account.rid}` };
  }

  machineAccount(host: HostState): Principal {
    return { domain: "CORP", name: `${host.spec.netbios}$`, sid: "S-1-5-18" };
  }

  private push(ev: WinEvent, label: string): void {
    ev.provenance = { file: `emulate:${label}`, format: "xml", dialect: "emulate" };
    this.events.push(ev);
  }

  /** Label of the scenario currently generating (provenance of its events). */
  current = "";

  private sysmonSystem(host: HostState, at: bigint) {
    return {
      computer: host.computer,
      // Sysmon writes the record a moment after the UtcTime it reports.
      timeTicks: at + BigInt(host.rng.int(3000, 40000)),
      processID: host.sysmonPid,
      threadID: host.rng.pick([host.sysmonPid + 1012, host.sysmonPid + 1016, host.sysmonPid + 2320]),
      userID: "S-1-5-18",
    };
  }

  private securitySystem(host: HostState, at: bigint, processID: number, activityID?: string) {
    return {
      computer: host.computer,
      timeTicks: at,
      processID,
      threadID: host.rng.int(20, 2000) * 4,
      ...(activityID ? { activityID } : {}),
    };
  }

  userText(p: Principal): string {
    return `${p.domain}\\${p.name}`;
  }

  /** Start a process: Sysmon 1 (when Sysmon runs) and Security 4688 (process creation auditing with command lines). */
  startProcess(start: ProcessStart, at: bigint): Proc {
    const host = start.parent.host;
    const logon = start.logon ?? start.parent.logon;
    const integrity = start.integrity ?? start.parent.integrity;
    const proc: Proc = {
      host,
      pid: host.newPid(1000, 14000, false),
      guid: sysmonProcessGuid(host.spec.machinePrefix, at, host.nextProcessKey()),
      image: start.image,
      commandLine: start.commandLine,
      currentDirectory: start.currentDirectory ?? start.parent.currentDirectory,
      logon,
      integrity,
      startTicks: at,
      parent: start.parent,
    };
    if (host.spec.sysmon) {
      const info = imageInfo(start.sameBinaryAs ?? start.image);
      this.push(
        buildEvent(SYSMON_1, this.sysmonSystem(host, at), {
          RuleName: "",
          UtcTime: sysmonUtcTime(at),
          ProcessGuid: proc.guid,
          ProcessId: String(proc.pid),
          Image: proc.image,
          FileVersion: info.FileVersion,
          Description: info.Description,
          Product: info.Product,
          Company: info.Company,
          CommandLine: proc.commandLine,
          CurrentDirectory: proc.currentDirectory,
          User: this.userText(logon.principal),
          LogonGuid: logon.logonGuid,
          LogonId: hexId(logon.logonId),
          TerminalSessionId: String(logon.terminalSessionId),
          IntegrityLevel: integrity,
          Hashes: sysmonHashes(start.sameBinaryAs ?? proc.image, start.hashVariant),
          ParentProcessGuid: start.parent.guid,
          ParentProcessId: String(start.parent.pid),
          ParentImage: start.parent.image,
          ParentCommandLine: start.parent.commandLine,
        }),
        this.current,
      );
    }
    // 4688: the Subject is the creator's token; the Target is the new process's token when it
    // differs (DcomLaunch starting a server as the remote caller), else empty.
    const creator = start.parent.logon;
    const creatorPrincipal =
      creator.principal.sid === "S-1-5-18" ? this.machineAccount(host) : creator.principal;
    const sameToken = logon === creator;
    const elevated = integrity === "High" || integrity === "System";
    this.push(
      buildEvent(SECURITY_4688, this.securitySystem(host, at + BigInt(host.rng.int(1000, 9000)), 4), {
        SubjectUserSid: creator.principal.sid,
        SubjectUserName: creatorPrincipal.name,
        SubjectDomainName: creatorPrincipal.domain,
        SubjectLogonId: hexId(creator.logonId),
        NewProcessId: hexId(proc.pid),
        NewProcessName: proc.image,
        TokenElevationType: elevated
          ? logon.principal.sid === "S-1-5-18" || logon.logonType === 3
            ? "%%1936"
            : "%%1937"
          : "%%1938",
        ProcessId: hexId(start.parent.pid),
        CommandLine: proc.commandLine,
        TargetUserSid: sameToken ? "S-1-0-0" : logon.principal.sid,
        TargetUserName: sameToken ? "-" : logon.principal.name,
        TargetDomainName: sameToken ? "-" : logon.principal.domain,
        TargetLogonId: sameToken ? "0x0" : hexId(logon.logonId),
        ParentProcessName: start.parent.image,
        MandatoryLabel: MANDATORY_LABEL[integrity],
      }),
      this.current,
    );
    return proc;
  }

  /** A console program gets its conhost.exe (Sysmon 1 + 4688), as on real hosts. */
  conhost(proc: Proc, at: bigint): Proc {
    return this.startProcess(
      {
        parent: proc,
        image: PATHS.conhost,
        commandLine: "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        currentDirectory: "C:\\Windows\\system32\\",
      },
      at,
    );
  }

  /** Sysmon 5. */
  endProcess(proc: Proc, at: bigint): void {
    if (!proc.host.spec.sysmon) return;
    this.push(
      buildEvent(SYSMON_5, this.sysmonSystem(proc.host, at), {
        RuleName: "",
        UtcTime: sysmonUtcTime(at),
        ProcessGuid: proc.guid,
        ProcessId: String(proc.pid),
        Image: proc.image,
      }),
      this.current,
    );
  }

  /** Sysmon 3 for one side of a TCP connection, and Security 5156 when WFP auditing is on. */
  connection(c: Connection, at: bigint, opts: { wfp?: boolean } = {}): void {
    const host = c.proc.host;
    if (host.spec.sysmon) {
      this.push(
        buildEvent(SYSMON_3, this.sysmonSystem(host, at), {
          RuleName: "",
          UtcTime: sysmonUtcTime(at),
          ProcessGuid: c.proc.guid,
          ProcessId: String(c.proc.pid),
          Image: c.proc.image,
          User: this.userText(c.proc.logon.principal),
          Protocol: c.protocol ?? "tcp",
          Initiated: c.initiated ? "true" : "false",
          SourceIsIpv6: "false",
          SourceIp: c.sourceIp,
          SourceHostname: c.sourceHostname,
          SourcePort: String(c.sourcePort),
          SourcePortName: PORT_NAMES[c.sourcePort] ?? "",
          DestinationIsIpv6: "false",
          DestinationIp: c.destinationIp,
          DestinationHostname: c.destinationHostname,
          DestinationPort: String(c.destinationPort),
          DestinationPortName: PORT_NAMES[c.destinationPort] ?? "",
        }),
        this.current,
      );
    }
    if (host.spec.wfpAudit && opts.wfp !== false) {
      this.push(
        buildEvent(
          SECURITY_5156,
          this.securitySystem(host, at - BigInt(host.rng.int(2000, 20000)), 4),
          this.wfpValues(c),
        ),
        this.current,
      );
    }
  }

  private wfpValues(c: Connection) {
    // WFP reports the connection's initiator as Source whatever the direction: the corpus' inbound 5156
    // on MORDORDC (Direction %%14592) has the remote client in SourceAddress and the DC in DestAddress.
    // Direction %%14592 inbound (layer %%14610 Receive/Accept, id 44), %%14593 outbound (layer %%14611
    // Connect, id 48).
    const inbound = !c.initiated;
    return {
      ProcessID: String(c.proc.pid),
      Application: c.proc.image === "System" ? "System" : devicePath(c.proc.image),
      Direction: inbound ? "%%14592" : "%%14593",
      SourceAddress: c.sourceIp,
      SourcePort: String(c.sourcePort),
      DestAddress: c.destinationIp,
      DestPort: String(c.destinationPort),
      Protocol: c.protocol === "udp" ? "17" : "6",
      FilterRTID: String(c.proc.host.rng.int(60000, 90000)),
      LayerName: inbound ? "%%14610" : "%%14611",
      LayerRTID: inbound ? "44" : "48",
      RemoteUserID: "S-1-0-0",
      RemoteMachineID: "S-1-0-0",
    };
  }

  /** Security 5157: WFP blocked an inbound connection to `listener` (e.g. RPCSS on 135). */
  wfpBlocked(c: Connection, at: bigint): void {
    this.push(
      buildEvent(SECURITY_5157, this.securitySystem(c.proc.host, at, 4), {
        ...this.wfpValues(c),
        FilterRTID: String(c.proc.host.rng.int(60000, 90000)),
      }),
      this.current,
    );
  }

  /** Sysmon 11. */
  fileCreate(proc: Proc, targetFilename: string, at: bigint): void {
    if (!proc.host.spec.sysmon) return;
    this.push(
      buildEvent(SYSMON_11, this.sysmonSystem(proc.host, at), {
        RuleName: "",
        UtcTime: sysmonUtcTime(at),
        ProcessGuid: proc.guid,
        ProcessId: String(proc.pid),
        Image: proc.image,
        TargetFilename: targetFilename,
        CreationUtcTime: sysmonUtcTime(at),
      }),
      this.current,
    );
  }

  /** Sysmon 7. Unsigned images carry Signature "" and SignatureStatus "Unavailable". */
  imageLoad(proc: Proc, imageLoaded: string, at: bigint, signed = true, hashVariant?: string): void {
    if (!proc.host.spec.sysmon) return;
    const info = signed
      ? imageInfo(imageLoaded)
      : { FileVersion: "?", Description: "?", Product: "?", Company: "?" };
    this.push(
      buildEvent(SYSMON_7, this.sysmonSystem(proc.host, at), {
        RuleName: "",
        UtcTime: sysmonUtcTime(at),
        ProcessGuid: proc.guid,
        ProcessId: String(proc.pid),
        Image: proc.image,
        ImageLoaded: imageLoaded,
        FileVersion: info.FileVersion,
        Description: info.Description,
        Product: info.Product,
        Company: info.Company,
        Hashes: sysmonHashes(imageLoaded, hashVariant),
        Signed: signed ? "true" : "false",
        Signature: signed ? "Microsoft Windows" : "",
        SignatureStatus: signed ? "Valid" : "Unavailable",
      }),
      this.current,
    );
  }

  /** Sysmon 13 (SetValue). */
  registrySet(proc: Proc, targetObject: string, details: string, at: bigint): void {
    if (!proc.host.spec.sysmon) return;
    this.push(
      buildEvent(SYSMON_13, this.sysmonSystem(proc.host, at), {
        RuleName: "",
        EventType: "SetValue",
        UtcTime: sysmonUtcTime(at),
        ProcessGuid: proc.guid,
        ProcessId: String(proc.pid),
        Image: proc.image,
        TargetObject: targetObject,
        Details: details,
      }),
      this.current,
    );
  }

  /**
   * A network logon (4624 LogonType 3) on `host` from `sourceIp`, plus 4672 for administrators.
   * Kerberos when the target was named, NTLM when it was addressed by IP.
   */
  networkLogon(
    host: HostState,
    account: Principal,
    admin: boolean,
    source: { ip: string; netbios: string },
    at: bigint,
    auth: "Kerberos" | "NTLM" = "Kerberos",
  ): LogonSession {
    const logonId = host.newLogonId();
    const session: LogonSession = {
      host,
      principal: account,
      logonId,
      logonGuid: sysmonLogonGuid(host.spec.machinePrefix, at, logonId),
      logonType: 3,
      terminalSessionId: 0,
    };
    const activityID = host.rng.guid().toUpperCase();
    const kerberos = auth === "Kerberos";
    this.push(
      buildEvent(SECURITY_4624, this.securitySystem(host, at, host.lsassPid, activityID), {
        SubjectUserSid: "S-1-0-0",
        SubjectUserName: "-",
        SubjectDomainName: "-",
        SubjectLogonId: "0x0",
        TargetUserSid: account.sid,
        TargetUserName: account.name,
        TargetDomainName: kerberos ? "CORP.EXAMPLE" : account.domain,
        TargetLogonId: hexId(logonId),
        LogonType: "3",
        LogonProcessName: kerberos ? "Kerberos" : "NtLmSsp ",
        AuthenticationPackageName: kerberos ? "Kerberos" : "NTLM",
        WorkstationName: kerberos ? "-" : source.netbios,
        LogonGuid: kerberos ? host.rng.guid() : "{00000000-0000-0000-0000-000000000000}",
        TransmittedServices: "-",
        LmPackageName: kerberos ? "-" : "NTLM V2",
        KeyLength: kerberos ? "0" : "128",
        ProcessId: "0x0",
        ProcessName: "-",
        IpAddress: source.ip,
        IpPort: String(ephemeralPort(host.rng)),
        ImpersonationLevel: "%%1833",
        RestrictedAdminMode: "-",
        TargetOutboundUserName: "-",
        TargetOutboundDomainName: "-",
        VirtualAccount: "%%1843",
        TargetLinkedLogonId: "0x0",
        ElevatedToken: admin ? "%%1842" : "%%1843",
      }),
      this.current,
    );
    if (admin) {
      this.push(
        buildEvent(SECURITY_4672, this.securitySystem(host, at + 1n, host.lsassPid, activityID), {
          SubjectUserSid: account.sid,
          SubjectUserName: account.name,
          SubjectDomainName: account.domain,
          SubjectLogonId: hexId(logonId),
          PrivilegeList:
            "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege\r\n\t\t\tSeEnableDelegationPrivilege",
        }),
        this.current,
      );
    }
    return session;
  }

  /** Security 4634. */
  logoff(session: LogonSession, at: bigint): void {
    this.push(
      buildEvent(SECURITY_4634, this.securitySystem(session.host, at, session.host.lsassPid), {
        TargetUserSid: session.principal.sid,
        TargetUserName: session.principal.name,
        TargetDomainName: session.principal.domain,
        TargetLogonId: hexId(session.logonId),
        LogonType: String(session.logonType),
      }),
      this.current,
    );
  }

  /** Security 4674 (privileged object operation), as mmc.exe started over DCOM produces. */
  privilegedOperation(proc: Proc, objectType: string, objectName: string, at: bigint): void {
    const host = proc.host;
    this.push(
      buildEvent(SECURITY_4674, this.securitySystem(host, at, 4), {
        SubjectUserSid: proc.logon.principal.sid,
        SubjectUserName: proc.logon.principal.name,
        SubjectDomainName: proc.logon.principal.domain,
        SubjectLogonId: hexId(proc.logon.logonId),
        ObjectServer: "Security",
        ObjectType: objectType,
        ObjectName: objectName,
        HandleId: hexId(host.rng.int(0xa0, 0x400) * 4),
        AccessMask:
          "%%1537\r\n\t\t\t\t%%1538\r\n\t\t\t\t%%1539\r\n\t\t\t\t%%1540\r\n\t\t\t\t%%4512\r\n\t\t\t\t%%4513\r\n\t\t\t\t%%4514\r\n\t\t\t\t",
        PrivilegeList: "SeTakeOwnershipPrivilege",
        ProcessId: hexId(proc.pid),
        ProcessName: proc.image,
      }),
      this.current,
    );
  }

  /** Security 5145: a file on a share was accessed from the network (AccessList %%4417 = WriteData). */
  shareAccess(
    host: HostState,
    session: LogonSession,
    source: { ip: string; port: number },
    share: { name: string; localPath: string; relativeTarget: string; write: boolean },
    at: bigint,
  ): void {
    if (!host.spec.fileShareAudit) return;
    this.push(
      buildEvent(SECURITY_5145, this.securitySystem(host, at, 4), {
        SubjectUserSid: session.principal.sid,
        SubjectUserName: session.principal.name,
        SubjectDomainName: session.principal.domain,
        SubjectLogonId: hexId(session.logonId),
        ObjectType: "File",
        IpAddress: source.ip,
        IpPort: String(source.port),
        ShareName: `\\\\*\\${share.name}`,
        ShareLocalPath: `\\??\\${share.localPath}`,
        RelativeTargetName: share.relativeTarget,
        AccessMask: share.write ? "0x100180" : "0x120089",
        AccessList: share.write
          ? "%%1541\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t"
          : "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4423\r\n\t\t\t\t",
        AccessReason: share.write
          ? "%%1541:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4423:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4424:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t"
          : "%%1538:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%1541:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4416:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4419:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4423:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t",
      }),
      this.current,
    );
  }

  /**
   * System 10016: DCOM refused a launch/activation. `remote` gives the caller's address
   * (param2 "Remote", param9 "<ip> (Using LRPC)" as the local form is "LocalHost (Using LRPC)").
   */
  dcomPermissionDenied(
    host: HostState,
    v: {
      caller: Principal;
      clsid: string;
      appid: string;
      remoteIp?: string;
      activation: "Launch" | "Activation";
      setting: "application-specific" | "machine-default";
    },
    at: bigint,
  ): void {
    this.push(
      buildEvent(
        DCOM_10016,
        {
          computer: host.computer,
          timeTicks: at,
          processID: host.dcomLaunch().pid,
          threadID: host.rng.int(100, 2000) * 4,
          userID: v.caller.sid,
        },
        {
          param1: v.setting,
          param2: v.remoteIp ? "Remote" : "Local",
          param3: v.activation,
          param4: v.clsid,
          param5: v.appid,
          param6: v.caller.domain,
          param7: v.caller.name,
          param8: v.caller.sid,
          param9: v.remoteIp ? `${v.remoteIp} (Using LRPC)` : "LocalHost (Using LRPC)",
          param10: "Unavailable",
          param11: "Unavailable",
        },
      ),
      this.current,
    );
  }

  /** System 10028 on the source: the activation request could not reach the target. */
  dcomUnreachable(client: Proc, targetName: string, clsid: string, at: bigint): void {
    this.push(
      buildEvent(
        DCOM_10028,
        {
          computer: client.host.computer,
          timeTicks: at,
          processID: client.pid,
          threadID: client.host.rng.int(100, 2000) * 4,
          userID: client.logon.principal.sid,
        },
        { param1: targetName, param2: client.pid.toString(16), param3: client.image, param4: clsid },
      ),
      this.current,
    );
  }

  /** PowerShell 4104 script block (single part). */
  scriptBlock(ps: Proc, text: string, at: bigint): void {
    const host = ps.host;
    this.push(
      buildEvent(
        POWERSHELL_4104,
        {
          computer: host.computer,
          timeTicks: at,
          processID: ps.pid,
          threadID: host.rng.int(100, 3000) * 4,
          userID: ps.logon.principal.sid,
          activityID: host.rng.guid().toUpperCase(),
        },
        {
          MessageNumber: "1",
          MessageTotal: "1",
          ScriptBlockText: text,
          ScriptBlockId: host.rng.guid().slice(1, -1),
          Path: "",
        },
      ),
      this.current,
    );
  }

  /** PowerShell 4103 module logging for one command invocation. */
  pipelineExecution(
    ps: Proc,
    commandName: string,
    payload: string,
    at: bigint,
    commandType: "Cmdlet" | "Function" = "Cmdlet",
  ): void {
    const host = ps.host;
    const user = this.userText(ps.logon.principal);
    const context = [
      "Severity = Informational",
      "Host Name = ConsoleHost",
      "Host Version = 5.1.17763.1852",
      `Host ID = ${host.rng.guid().slice(1, -1)}`,
      `Host Application = ${ps.commandLine}`,
      "Engine Version = 5.1.17763.1852",
      `Runspace ID = ${host.rng.guid().slice(1, -1)}`,
      "Pipeline ID = 1",
      `Command Name = ${commandName}`,
      `Command Type = ${commandType}`,
      "Script Name = ",
      "Command Path = ",
      "Sequence Number = 17",
      `User = ${user}`,
      `Connected User = `,
      "Shell ID = Microsoft.PowerShell",
    ]
      .map((l) => `        ${l}\r\n`)
      .join("");
    this.push(
      buildEvent(
        POWERSHELL_4103,
        {
          computer: host.computer,
          timeTicks: at,
          processID: ps.pid,
          threadID: host.rng.int(100, 3000) * 4,
          userID: ps.logon.principal.sid,
          activityID: host.rng.guid().toUpperCase(),
        },
        { ContextInfo: context, UserData: "", Payload: payload },
      ),
      this.current,
    );
  }
}
