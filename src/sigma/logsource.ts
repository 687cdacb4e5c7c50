/**
 * Sigma logsources -> the Windows channels and event ids dcomhunt's field view has, and the field names
 * each source uses. Which mappings exist follows the common Sigma processing pipelines for Windows
 * (the `windows` service-to-channel pipeline and the `sysmon` category-to-EventID pipeline); the
 * process_creation category also reads Security 4688, with its field names mapped.
 */

export interface LogSource {
  product?: string;
  category?: string;
  service?: string;
}

/** One place a logsource's events come from. */
export interface MappedSource {
  /** undefined: any channel (`product: windows` alone). */
  channel?: string;
  /** Event ids (any of); undefined: every event of the channel. */
  eventIDs?: string[];
  /** Sigma field name -> the field name in this source's events (only where they differ). */
  fieldMap?: Record<string, string>;
}

const SYSMON = "Microsoft-Windows-Sysmon/Operational";

/** Sysmon event ids per Sigma category. */
const SYSMON_CATEGORIES: Record<string, string[]> = {
  process_creation: ["1"],
  file_change: ["2"],
  network_connection: ["3"],
  sysmon_status: ["4", "16"],
  process_termination: ["5"],
  driver_load: ["6"],
  image_load: ["7"],
  create_remote_thread: ["8"],
  raw_access_thread: ["9"],
  process_access: ["10"],
  file_event: ["11"],
  registry_add: ["12"],
  registry_delete: ["12"],
  registry_set: ["13"],
  registry_rename: ["14"],
  registry_event: ["12", "13", "14"],
  create_stream_hash: ["15"],
  pipe_created: ["17", "18"],
  wmi_event: ["19", "20", "21"],
  dns_query: ["22"],
  file_delete: ["23", "26"],
  clipboard_change: ["24"],
  process_tampering: ["25"],
  file_delete_detected: ["26"],
  file_block_executable: ["27"],
  file_block_shredding: ["28"],
  file_executable_detected: ["29"],
  sysmon_error: ["255"],
};

/** Security 4688 field names for the process_creation fields (Sysmon name -> 4688 name). */
const SECURITY_4688_FIELDS: Record<string, string> = {
  Image: "NewProcessName",
  ParentImage: "ParentProcessName",
  ProcessId: "NewProcessId",
  ParentProcessId: "ProcessId",
  User: "SubjectUserName",
  IntegrityLevel: "MandatoryLabel",
  LogonId: "SubjectLogonId",
};

/** `service:` -> channel (product windows). */
const WINDOWS_SERVICES: Record<string, string> = {
  security: "Security",
  system: "System",
  application: "Application",
  sysmon: SYSMON,
  powershell: "Microsoft-Windows-PowerShell/Operational",
  "powershell-classic": "Windows PowerShell",
  taskscheduler: "Microsoft-Windows-TaskScheduler/Operational",
  wmi: "Microsoft-Windows-WMI-Activity/Operational",
  "dns-server": "DNS Server",
  "dns-server-analytic": "Microsoft-Windows-DNS-Server/Analytical",
  "dns-client": "Microsoft-Windows-DNS Client Events/Operational",
  "driver-framework": "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
  windefend: "Microsoft-Windows-Windows Defender/Operational",
  "firewall-as": "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
  "bits-client": "Microsoft-Windows-Bits-Client/Operational",
  "codeintegrity-operational": "Microsoft-Windows-CodeIntegrity/Operational",
  ntlm: "Microsoft-Windows-NTLM/Operational",
  "msexchange-management": "MSExchange Management",
  "terminalservices-localsessionmanager":
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
  "printservice-admin": "Microsoft-Windows-PrintService/Admin",
  "printservice-operational": "Microsoft-Windows-PrintService/Operational",
  "smbclient-security": "Microsoft-Windows-SmbClient/Security",
  "smbclient-connectivity": "Microsoft-Windows-SmbClient/Connectivity",
  openssh: "OpenSSH/Operational",
  "security-mitigations": "Microsoft-Windows-Security-Mitigations/KernelMode",
  "shell-core": "Microsoft-Windows-Shell-Core/Operational",
  "lsa-server": "Microsoft-Windows-LSA/Operational",
  capi2: "Microsoft-Windows-CAPI2/Operational",
  "certificateservicesclient-lifecycle-system":
    "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
  "appmodel-runtime": "Microsoft-Windows-AppModel-Runtime/Admin",
  "appxdeployment-server": "Microsoft-Windows-AppXDeploymentServer/Operational",
  "appxpackaging-om": "Microsoft-Windows-AppxPackaging/Operational",
  "diagnosis-scripted": "Microsoft-Windows-Diagnosis-Scripted/Operational",
  vhdmp: "Microsoft-Windows-VHDMP/Operational",
  ldap_debug: "Microsoft-Windows-LDAP-Client/Debug",
  "microsoft-servicebus-client": "Microsoft-ServiceBus-Client",
  bitlocker: "Microsoft-Windows-BitLocker/BitLocker Management",
  "hyper-v-worker": "Microsoft-Windows-Hyper-V-Worker",
  "kernel-shimengine": "Microsoft-Windows-Kernel-ShimEngine/Operational",
  "iis-configuration": "Microsoft-IIS-Configuration/Operational",
  sense: "Microsoft-Windows-SENSE/Operational",
  dhcp: "Microsoft-Windows-DHCP-Server/Operational",
};

/** AppLocker writes to four channels. */
const APPLOCKER = [
  "Microsoft-Windows-AppLocker/MSI and Script",
  "Microsoft-Windows-AppLocker/EXE and DLL",
  "Microsoft-Windows-AppLocker/Packaged app-Deployment",
  "Microsoft-Windows-AppLocker/Packaged app-Execution",
];

/** PowerShell categories -> channel and event ids. */
const POWERSHELL_CATEGORIES: Record<string, MappedSource> = {
  ps_module: { channel: "Microsoft-Windows-PowerShell/Operational", eventIDs: ["4103"] },
  ps_script: { channel: "Microsoft-Windows-PowerShell/Operational", eventIDs: ["4104"] },
  ps_classic_start: { channel: "Windows PowerShell", eventIDs: ["400"] },
  ps_classic_provider_start: { channel: "Windows PowerShell", eventIDs: ["600"] },
  ps_classic_script: { channel: "Windows PowerShell", eventIDs: ["800"] },
};

/**
 * Where a logsource's events come from, or a reason it cannot be mapped. Service and category narrow
 * each other when both are given (e.g. `service: sysmon` + `category: process_creation`).
 */
export function mapLogSource(ls: LogSource): { sources: MappedSource[] } | { unsupported: string } {
  const product = ls.product?.toLowerCase();
  const category = ls.category?.toLowerCase();
  const service = ls.service?.toLowerCase();
  if (product !== undefined && product !== "windows")
    return { unsupported: `product '${ls.product}' (only windows logs are read)` };
  if (category !== undefined) {
    if (category in POWERSHELL_CATEGORIES) return { sources: [POWERSHELL_CATEGORIES[category]] };
    const ids = SYSMON_CATEGORIES[category];
    if (ids === undefined) return { unsupported: `category '${ls.category}' has no Windows mapping` };
    const sources: MappedSource[] = [{ channel: SYSMON, eventIDs: ids }];
    if (category === "process_creation" && service !== "sysmon")
      sources.push({ channel: "Security", eventIDs: ["4688"], fieldMap: SECURITY_4688_FIELDS });
    if (service !== undefined && service !== "sysmon" && service !== "security")
      return { unsupported: `category '${ls.category}' with service '${ls.service}'` };
    return { sources: service === "security" ? sources.filter((s) => s.channel === "Security") : sources };
  }
  if (service !== undefined) {
    if (service === "applocker") return { sources: APPLOCKER.map((channel) => ({ channel })) };
    const channel = WINDOWS_SERVICES[service];
    if (channel === undefined) return { unsupported: `service '${ls.service}' has no channel mapping` };
    return { sources: [{ channel }] };
  }
  // `product: windows` alone: every Windows log; the detection itself narrows it (EventID ...).
  if (product === "windows") return { sources: [{}] };
  return { unsupported: "logsource names no product, category or service" };
}

/** The documented mapping, for `docs/sigma.md` and tests. */
export const LOGSOURCE_TABLE = {
  SYSMON_CATEGORIES,
  WINDOWS_SERVICES,
  POWERSHELL_CATEGORIES,
  SECURITY_4688_FIELDS,
  APPLOCKER,
};
