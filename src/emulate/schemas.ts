/**
 * Event builders per provider / EventID / Version. Each kind lists its EventData field names in
 * the exact order real events have, and a builder takes the values BY NAME, so a scenario can
 * never put a field out of place. Where the order comes from is stated per kind:
 *  - "corpus": the golden XML in ../shared/corpus/golden (real events; ordered); test/emulate checks it.
 *  - "corpus-json+manifest": the NXLog JSON in ../shared/corpus/attacks has the kind but NXLog
 *    loses the order (and drops empty values), so the names are checked against it and the
 *    order follows the provider's published manifest (named in the kind's comment).
 *  - "manifest": not in the corpus; follows the provider's published schema (named in the comment).
 *
 * System blocks copy what real events of the kind carry (see the golden XML): Sysmon carries
 * Security/@UserID S-1-5-18 and no ActivityID; Security-Auditing has an empty <Security/>, and
 * 4624 an ActivityID; classic DistributedCOM events have EventSourceName "DCOM" and Qualifiers.
 */
import type { EventDataItem, WinEvent } from "../events/model.js";
import { systemTime } from "./values.js";

export type OrderSource = "corpus" | "corpus-json+manifest" | "manifest";

export interface EventKind<N extends string = string> {
  providerName: string;
  providerGuid: string;
  eventSourceName?: string;
  eventID: string;
  qualifiers?: string;
  version: string;
  level: string;
  task: string;
  opcode: string;
  keywords: string;
  channel: string;
  fields: readonly N[];
  orderSource: OrderSource;
}

const SYSMON = {
  providerName: "Microsoft-Windows-Sysmon",
  providerGuid: "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
  level: "4",
  opcode: "0",
  keywords: "0x8000000000000000",
  channel: "Microsoft-Windows-Sysmon/Operational",
} as const;

const SECURITY = {
  providerName: "Microsoft-Windows-Security-Auditing",
  providerGuid: "{54849625-5478-4994-a5ba-3e3b0328c30d}",
  level: "0",
  opcode: "0",
  keywords: "0x8020000000000000",
  channel: "Security",
} as const;

const POWERSHELL = {
  providerName: "Microsoft-Windows-PowerShell",
  providerGuid: "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
  keywords: "0x0",
  channel: "Microsoft-Windows-PowerShell/Operational",
} as const;

const DCOM = {
  providerName: "Microsoft-Windows-DistributedCOM",
  providerGuid: "{1b562e86-b7aa-4131-badc-b6f3a001407e}",
  eventSourceName: "DCOM",
  qualifiers: "0",
  version: "0",
  task: "0",
  opcode: "0",
  keywords: "0x8080000000000000",
  channel: "System",
} as const;

function kind<const N extends string>(k: EventKind<N>): EventKind<N> {
  return k;
}

// ---- Sysmon 9.x, schema 4.1x (RuleName first; no OriginalFileName, which Sysmon 10 added) ----

/** Sysmon 1 Version 5, schema 4.1x. Order: corpus (PanacheSysmon_vs_AtomicRedTeam01). */
export const SYSMON_1 = kind({
  ...SYSMON,
  eventID: "1",
  version: "5",
  task: "1",
  orderSource: "corpus",
  fields: [
    "RuleName",
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "FileVersion",
    "Description",
    "Product",
    "Company",
    "CommandLine",
    "CurrentDirectory",
    "User",
    "LogonGuid",
    "LogonId",
    "TerminalSessionId",
    "IntegrityLevel",
    "Hashes",
    "ParentProcessGuid",
    "ParentProcessId",
    "ParentImage",
    "ParentCommandLine",
  ],
});

/** Sysmon 3 Version 5. Order: corpus (PanacheSysmon, LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows). */
export const SYSMON_3 = kind({
  ...SYSMON,
  eventID: "3",
  version: "5",
  task: "3",
  orderSource: "corpus",
  fields: [
    "RuleName",
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "User",
    "Protocol",
    "Initiated",
    "SourceIsIpv6",
    "SourceIp",
    "SourceHostname",
    "SourcePort",
    "SourcePortName",
    "DestinationIsIpv6",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
    "DestinationPortName",
  ],
});

/** Sysmon 5 Version 3. Order: corpus. */
export const SYSMON_5 = kind({
  ...SYSMON,
  eventID: "5",
  version: "3",
  task: "5",
  orderSource: "corpus",
  fields: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image"],
});

/** Sysmon 7 Version 3, schema 4.1x. Order: corpus (PanacheSysmon, panache_sysmon_vs_EDRTestingScript). */
export const SYSMON_7 = kind({
  ...SYSMON,
  eventID: "7",
  version: "3",
  task: "7",
  orderSource: "corpus",
  fields: [
    "RuleName",
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "ImageLoaded",
    "FileVersion",
    "Description",
    "Product",
    "Company",
    "Hashes",
    "Signed",
    "Signature",
    "SignatureStatus",
  ],
});

/** Sysmon 11 Version 2. Order: corpus. */
export const SYSMON_11 = kind({
  ...SYSMON,
  eventID: "11",
  version: "2",
  task: "11",
  orderSource: "corpus",
  fields: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename", "CreationUtcTime"],
});

/** Sysmon 13 Version 2. Order: corpus. */
export const SYSMON_13 = kind({
  ...SYSMON,
  eventID: "13",
  version: "2",
  task: "13",
  orderSource: "corpus",
  fields: [
    "RuleName",
    "EventType",
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "TargetObject",
    "Details",
  ],
});

// ---- Security auditing (Windows 10 1809 / Server 2019 versions) ----

/** Security 4624 Version 2. Order: corpus (ID4688,4674-DCOMexec process spawned). */
export const SECURITY_4624 = kind({
  ...SECURITY,
  eventID: "4624",
  version: "2",
  task: "12544",
  orderSource: "corpus",
  fields: [
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "TargetUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "LogonType",
    "LogonProcessName",
    "AuthenticationPackageName",
    "WorkstationName",
    "LogonGuid",
    "TransmittedServices",
    "LmPackageName",
    "KeyLength",
    "ProcessId",
    "ProcessName",
    "IpAddress",
    "IpPort",
    "ImpersonationLevel",
    "RestrictedAdminMode",
    "TargetOutboundUserName",
    "TargetOutboundDomainName",
    "VirtualAccount",
    "TargetLinkedLogonId",
    "ElevatedToken",
  ],
});

/** Security 4634 Version 0. Order: corpus (security.evtx). */
export const SECURITY_4634 = kind({
  ...SECURITY,
  eventID: "4634",
  version: "0",
  task: "12545",
  orderSource: "corpus",
  fields: ["TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId", "LogonType"],
});

/** Security 4672 Version 0. Order: corpus (security.evtx). */
export const SECURITY_4672 = kind({
  ...SECURITY,
  eventID: "4672",
  version: "0",
  task: "12548",
  orderSource: "corpus",
  fields: ["SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "PrivilegeList"],
});

/** Security 4688 Version 2. Order: corpus (ID4688,4674-DCOMexec process spawned). */
export const SECURITY_4688 = kind({
  ...SECURITY,
  eventID: "4688",
  version: "2",
  task: "13312",
  orderSource: "corpus",
  fields: [
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "NewProcessId",
    "NewProcessName",
    "TokenElevationType",
    "ProcessId",
    "CommandLine",
    "TargetUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "ParentProcessName",
    "MandatoryLabel",
  ],
});

/** Security 4674 Version 0. Order: corpus (ID4688,4674-DCOMexec process spawned). */
export const SECURITY_4674 = kind({
  ...SECURITY,
  eventID: "4674",
  version: "0",
  task: "13056",
  orderSource: "corpus",
  fields: [
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "ObjectServer",
    "ObjectType",
    "ObjectName",
    "HandleId",
    "AccessMask",
    "PrivilegeList",
    "ProcessId",
    "ProcessName",
  ],
});

/**
 * Security 5145 Version 0 (detailed file share). Names: corpus NXLog JSON; order: the
 * Microsoft-Windows-Security-Auditing manifest / Microsoft's "4.5145" event documentation.
 */
export const SECURITY_5145 = kind({
  ...SECURITY,
  eventID: "5145",
  version: "0",
  task: "12811",
  orderSource: "corpus-json+manifest",
  fields: [
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "ObjectType",
    "IpAddress",
    "IpPort",
    "ShareName",
    "ShareLocalPath",
    "RelativeTargetName",
    "AccessMask",
    "AccessList",
    "AccessReason",
  ],
});

/**
 * Security 5156 Version 1 (WFP permitted a connection). Names: corpus NXLog JSON (which spells the
 * first one "ProcessId"; the manifest and Microsoft's documentation name it "ProcessID", used here);
 * order: the manifest / Microsoft's "5156" documentation.
 */
export const SECURITY_5156 = kind({
  ...SECURITY,
  eventID: "5156",
  version: "1",
  task: "12810",
  orderSource: "corpus-json+manifest",
  fields: [
    "ProcessID",
    "Application",
    "Direction",
    "SourceAddress",
    "SourcePort",
    "DestAddress",
    "DestPort",
    "Protocol",
    "FilterRTID",
    "LayerName",
    "LayerRTID",
    "RemoteUserID",
    "RemoteMachineID",
  ],
});

/**
 * Security 5157 Version 1 (WFP blocked a connection): not in the corpus. Same template as 5156 per
 * the manifest / Microsoft's "5157" documentation; an audit FAILURE (keyword 0x8010000000000000).
 */
export const SECURITY_5157 = kind({
  ...SECURITY,
  eventID: "5157",
  version: "1",
  task: "12810",
  keywords: "0x8010000000000000",
  orderSource: "manifest",
  fields: SECURITY_5156.fields,
});

// ---- System log, DistributedCOM (classic event source "DCOM") ----

/** System 10016 Version 0 (permission denied for launch/activation). Order: corpus (system.evtx). */
export const DCOM_10016 = kind({
  ...DCOM,
  eventID: "10016",
  level: "3",
  orderSource: "corpus",
  fields: [
    "param1",
    "param2",
    "param3",
    "param4",
    "param5",
    "param6",
    "param7",
    "param8",
    "param9",
    "param10",
    "param11",
  ],
});

/**
 * System 10028 Version 0 ("DCOM was unable to communicate with the computer %1 using any of the
 * configured protocols; requested by PID %2 (%3), while activating CLSID %4."): not in the corpus;
 * insertion strings param1..param4 per the DCOM message table (Windows 10 1809+ wording).
 */
export const DCOM_10028 = kind({
  ...DCOM,
  eventID: "10028",
  level: "2",
  orderSource: "manifest",
  fields: ["param1", "param2", "param3", "param4"],
});

// ---- PowerShell (Microsoft-Windows-PowerShell/Operational) ----

/**
 * PowerShell 4103 Version 1 (module logging). Names: corpus NXLog JSON (ContextInfo, Payload;
 * NXLog drops the empty UserData); order: the Microsoft-Windows-PowerShell manifest.
 */
export const POWERSHELL_4103 = kind({
  ...POWERSHELL,
  eventID: "4103",
  version: "1",
  level: "4",
  task: "106",
  opcode: "20",
  orderSource: "corpus-json+manifest",
  fields: ["ContextInfo", "UserData", "Payload"],
});

/**
 * PowerShell 4104 Version 1 (script block logging). Names: corpus NXLog JSON; order: the
 * Microsoft-Windows-PowerShell manifest (MessageNumber, MessageTotal, ScriptBlockText, ScriptBlockId, Path).
 */
export const POWERSHELL_4104 = kind({
  ...POWERSHELL,
  eventID: "4104",
  version: "1",
  level: "5",
  task: "2",
  opcode: "15",
  orderSource: "corpus-json+manifest",
  fields: ["MessageNumber", "MessageTotal", "ScriptBlockText", "ScriptBlockId", "Path"],
});

export const EVENT_KINDS: readonly EventKind[] = [
  SYSMON_1,
  SYSMON_3,
  SYSMON_5,
  SYSMON_7,
  SYSMON_11,
  SYSMON_13,
  SECURITY_4624,
  SECURITY_4634,
  SECURITY_4672,
  SECURITY_4688,
  SECURITY_4674,
  SECURITY_5145,
  SECURITY_5156,
  SECURITY_5157,
  DCOM_10016,
  DCOM_10028,
  POWERSHELL_4103,
  POWERSHELL_4104,
];

/** What varies in a System block from event to event. */
export interface SystemValues {
  computer: string;
  timeTicks: bigint;
  /** `Execution/@ProcessID`: the process that wrote the event (Sysmon service, lsass/System, ...). */
  processID: number;
  threadID: number;
  /** `Security/@UserID`; Security-Auditing events have none. */
  userID?: string;
  /** `Correlation/@ActivityID`, when the kind carries one. */
  activityID?: string;
}

/**
 * Build a WinEvent of `kind` with its EventData in the kind's field order. `values` must name
 * every field (TypeScript enforces it); EventRecordID is assigned later, per host and channel,
 * once all events are merged in time order (see index.ts).
 */
export function buildEvent<N extends string>(
  k: EventKind<N>,
  sys: SystemValues,
  values: Readonly<Record<N, string>>,
): WinEvent {
  const eventData: EventDataItem[] = k.fields.map((name) => ({ name, value: values[name] }));
  return {
    system: {
      providerName: k.providerName,
      providerGuid: k.providerGuid,
      ...(k.eventSourceName !== undefined ? { eventSourceName: k.eventSourceName } : {}),
      eventID: k.eventID,
      ...(k.qualifiers !== undefined ? { qualifiers: k.qualifiers } : {}),
      version: k.version,
      level: k.level,
      task: k.task,
      opcode: k.opcode,
      keywords: k.keywords,
      systemTime: systemTime(sys.timeTicks),
      ...(sys.activityID !== undefined ? { activityID: sys.activityID } : {}),
      processID: String(sys.processID),
      threadID: String(sys.threadID),
      channel: k.channel,
      computer: sys.computer,
      ...(sys.userID !== undefined ? { userID: sys.userID } : {}),
    },
    eventData,
    timeTicks: sys.timeTicks,
    provenance: { file: "<emulate>", format: "xml", dialect: "emulate" },
  };
}
