/**
 * The small fixed estate every scenario (attack and benign) runs on, so a detection cannot key on
 * a host or account name: a workstation and two servers in one domain, two people.
 * Windows 10 / Server 2019 build 17763 with Sysmon 9.x (schema 4.1x), the combination the
 * corpus's Sysmon telemetry (PanacheSysmon, Windows 10 1809) shows.
 */

export interface HostSpec {
  /** FQDN as `<Computer>` renders it. */
  computer: string;
  /** NetBIOS name, e.g. "WKS01" (machine account "WKS01$"). */
  netbios: string;
  ip: string;
  /** Sysmon installed (Microsoft-Windows-Sysmon/Operational)? */
  sysmon: boolean;
  /** First group of every Sysmon ProcessGuid on this host (derived from the machine GUID). */
  machinePrefix: string;
  os: "Windows 10" | "Windows Server 2019";
  /** Windows Firewall (WFP) connection auditing, Security 5156/5157. */
  wfpAudit: boolean;
  /** Detailed file share auditing, Security 5145. */
  fileShareAudit: boolean;
}

export interface Account {
  domain: string;
  name: string;
  /** Relative id appended to the domain SID. */
  rid: number;
  admin: boolean;
}

export const DOMAIN = "CORP";

export const WKS01: HostSpec = {
  computer: "WKS01.corp.example",
  netbios: "WKS01",
  ip: "10.0.10.21",
  sysmon: true,
  machinePrefix: "5e1a7c33",
  os: "Windows 10",
  wfpAudit: true,
  fileShareAudit: false,
};

export const SRV_APP02: HostSpec = {
  computer: "SRV-APP02.corp.example",
  netbios: "SRV-APP02",
  ip: "10.0.20.12",
  sysmon: true,
  machinePrefix: "a4c1d09e",
  os: "Windows Server 2019",
  wfpAudit: true,
  fileShareAudit: true,
};

/** A server with the Security log only (no Sysmon): process creation auditing with command lines. */
export const SRV_FILE03: HostSpec = {
  computer: "SRV-FILE03.corp.example",
  netbios: "SRV-FILE03",
  ip: "10.0.20.15",
  sysmon: false,
  machinePrefix: "0f3b92d7",
  os: "Windows Server 2019",
  wfpAudit: true,
  fileShareAudit: true,
};

export const HOSTS: readonly HostSpec[] = [WKS01, SRV_APP02, SRV_FILE03];

export const ALICE_ADMIN: Account = { domain: DOMAIN, name: "alice.admin", rid: 1105, admin: true };
export const BOB: Account = { domain: DOMAIN, name: "bob", rid: 1107, admin: false };

/** Version resource of the binaries we start (Windows 10 1809 / Office 16 values). */
export interface ImageInfo {
  FileVersion: string;
  Description: string;
  Product: string;
  Company: string;
}

const WIN = "Microsoft® Windows® Operating System";
const MS = "Microsoft Corporation";
const winVer = "10.0.17763.1 (WinBuild.160101.0800)";
const OFFICE_VER = "16.0.13127.20408";

const IMAGE_INFO: Record<string, ImageInfo> = {
  "cmd.exe": { FileVersion: winVer, Description: "Windows Command Processor", Product: WIN, Company: MS },
  "conhost.exe": { FileVersion: winVer, Description: "Console Window Host", Product: WIN, Company: MS },
  "powershell.exe": { FileVersion: winVer, Description: "Windows PowerShell", Product: WIN, Company: MS },
  "mmc.exe": { FileVersion: winVer, Description: "Microsoft Management Console", Product: WIN, Company: MS },
  "dcomcnfg.exe": { FileVersion: winVer, Description: "COM+ Configuration Tool", Product: WIN, Company: MS },
  "calc.exe": { FileVersion: winVer, Description: "Windows Calculator", Product: WIN, Company: MS },
  "svchost.exe": {
    FileVersion: winVer,
    Description: "Host Process for Windows Services",
    Product: WIN,
    Company: MS,
  },
  "explorer.exe": { FileVersion: winVer, Description: "Windows Explorer", Product: WIN, Company: MS },
  "mshta.exe": {
    FileVersion: "11.00.17763.1 (WinBuild.160101.0800)",
    Description: "Microsoft (R) HTML Application host",
    Product: "Internet Explorer",
    Company: MS,
  },
  "iexplore.exe": {
    FileVersion: "11.00.17763.1 (WinBuild.160101.0800)",
    Description: "Internet Explorer",
    Product: "Internet Explorer",
    Company: MS,
  },
  "rundll32.exe": {
    FileVersion: winVer,
    Description: "Windows host process (Rundll32)",
    Product: WIN,
    Company: MS,
  },
  "wscript.exe": {
    FileVersion: "5.812.10240.16384",
    Description: "Microsoft ® Windows Based Script Host",
    Product: WIN,
    Company: MS,
  },
  "cscript.exe": {
    FileVersion: "5.812.10240.16384",
    Description: "Microsoft ® Console Based Script Host",
    Product: WIN,
    Company: MS,
  },
  "wmiprvse.exe": { FileVersion: winVer, Description: "WMI Provider Host", Product: WIN, Company: MS },
  "whoami.exe": {
    FileVersion: winVer,
    Description: "whoami - displays logged on user information",
    Product: WIN,
    Company: MS,
  },
  "hostname.exe": { FileVersion: winVer, Description: "Hostname APP", Product: WIN, Company: MS },
  "ipconfig.exe": { FileVersion: winVer, Description: "IP Configuration Utility", Product: WIN, Company: MS },
  "net.exe": { FileVersion: winVer, Description: "Net Command", Product: WIN, Company: MS },
  "tasklist.exe": {
    FileVersion: winVer,
    Description: "Lists the current running tasks.",
    Product: WIN,
    Company: MS,
  },
  "taskhostw.exe": {
    FileVersion: winVer,
    Description: "Host Process for Windows Tasks",
    Product: WIN,
    Company: MS,
  },
  "backgroundtaskhost.exe": {
    FileVersion: winVer,
    Description: "Background Task Host",
    Product: WIN,
    Company: MS,
  },
  "searchprotocolhost.exe": {
    FileVersion: "7.0.17763.1 (WinBuild.160101.0800)",
    Description: "Microsoft Windows Search Protocol Host",
    Product: "Windows® Search",
    Company: MS,
  },
  "searchfilterhost.exe": {
    FileVersion: "7.0.17763.1 (WinBuild.160101.0800)",
    Description: "Microsoft Windows Search Filter Host",
    Product: "Windows® Search",
    Company: MS,
  },
  "gpupdate.exe": {
    FileVersion: winVer,
    Description: "Microsoft® Windows Group Policy Update Utility",
    Product: WIN,
    Company: MS,
  },
  "wuauclt.exe": { FileVersion: winVer, Description: "Windows Update", Product: WIN, Company: MS },
  "dllhost.exe": { FileVersion: winVer, Description: "COM Surrogate", Product: WIN, Company: MS },
  "excel.exe": {
    FileVersion: OFFICE_VER,
    Description: "Microsoft Excel",
    Product: "Microsoft Office",
    Company: MS,
  },
  "winword.exe": {
    FileVersion: OFFICE_VER,
    Description: "Microsoft Word",
    Product: "Microsoft Office",
    Company: MS,
  },
  "outlook.exe": {
    FileVersion: OFFICE_VER,
    Description: "Microsoft Outlook",
    Product: "Microsoft Outlook",
    Company: MS,
  },
  "splwow64.exe": {
    FileVersion: winVer,
    Description: "Print driver host for applications",
    Product: WIN,
    Company: MS,
  },
  "msedge.exe": {
    FileVersion: "118.0.2088.76",
    Description: "Microsoft Edge",
    Product: "Microsoft Edge",
    Company: MS,
  },
  "taskschd.dll": { FileVersion: winVer, Description: "Task Scheduler COM API", Product: WIN, Company: MS },
  "wbemprox.dll": { FileVersion: winVer, Description: "WMI", Product: WIN, Company: MS },
  "samlib.dll": { FileVersion: winVer, Description: "SAM Library DLL", Product: WIN, Company: MS },
  "onedrive.exe": {
    FileVersion: "23.214.1015.0002",
    Description: "Microsoft OneDrive",
    Product: "Microsoft OneDrive",
    Company: MS,
  },
  "msmpeng.exe": {
    FileVersion: "4.18.23090.2008 (WinBuild.160101.0800)",
    Description: "Antimalware Service Executable",
    Product: WIN,
    Company: MS,
  },
};

/** Version info of a binary; an unknown one (attacker tool, renamed file) renders as "?" like Sysmon does. */
export function imageInfo(image: string): ImageInfo {
  const base = image.slice(image.lastIndexOf("\\") + 1).toLowerCase();
  return IMAGE_INFO[base] ?? { FileVersion: "?", Description: "?", Product: "?", Company: "?" };
}

export const PATHS = {
  cmd: "C:\\Windows\\System32\\cmd.exe",
  conhost: "C:\\Windows\\System32\\conhost.exe",
  powershell: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
  mmc: "C:\\Windows\\System32\\mmc.exe",
  dcomcnfg: "C:\\Windows\\System32\\dcomcnfg.exe",
  svchost: "C:\\Windows\\System32\\svchost.exe",
  explorer: "C:\\Windows\\explorer.exe",
  calc: "C:\\Windows\\System32\\calc.exe",
  mshta: "C:\\Windows\\System32\\mshta.exe",
  rundll32: "C:\\Windows\\System32\\rundll32.exe",
  cscript: "C:\\Windows\\System32\\cscript.exe",
  wmiprvse: "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
  dllhost: "C:\\Windows\\System32\\dllhost.exe",
  iexplore: "C:\\Program Files\\Internet Explorer\\iexplore.exe",
  excel: "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
  winword: "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
  outlook: "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
  splwow64: "C:\\Windows\\splwow64.exe",
} as const;
