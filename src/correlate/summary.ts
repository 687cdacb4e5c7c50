/**
 * One-line evidence summaries an analyst reads: what the event says, by event kind, in the field's
 * words. Rules can override them per step with a template (see `renderTemplate`).
 */
import type { SplunkEvent } from "../events/fields.js";
import { fieldOf } from "./keys.js";
import { isSysmon } from "./network.js";

export interface DerivedValues {
  peer_ip?: string;
  peer_host?: string;
  /** This host's end of a connection. */
  local_ip?: string;
  host?: string;
  /** The connection's endpoints, order-free ("ip:port|ip:port"): the same text on both hosts' records. */
  conn?: string;
}

function base(path: string | undefined): string {
  if (!path) return "?";
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

function clip(text: string | undefined, max = 160): string {
  if (!text) return "";
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}

/**
 * Replace `{Field}` with the event's value and `$peer_ip`, `$peer_host`, `$host` with derived values.
 * Returns undefined when the template references values and every one of them is empty.
 */
export function renderTemplate(
  template: string,
  ev: SplunkEvent,
  derived: DerivedValues,
): string | undefined {
  let refs = 0;
  let filled = 0;
  const use = (v: string | undefined): string => {
    refs++;
    if (v === undefined || v === "" || v === "-") return "";
    filled++;
    return v;
  };
  const out = template
    .replace(/\{([A-Za-z_][A-Za-z0-9_.@-]*)\}/g, (_, name: string) => use(fieldOf(ev, name)))
    .replace(/\$(peer_ip|peer_host|local_ip|host)\b/g, (_, name: keyof DerivedValues) => use(derived[name]));
  if (refs > 0 && filled === 0) return undefined;
  return out;
}

export function defaultSummary(ev: SplunkEvent, derived: DerivedValues): string {
  const f = (n: string) => fieldOf(ev, n);
  const code = f("EventCode") ?? "?";
  const sysmon = isSysmon(ev);
  if (sysmon && code === "1") {
    return `process ${base(f("ParentImage"))} -> ${base(f("Image"))} as ${f("User") ?? "?"}: ${clip(f("CommandLine"))}`;
  }
  if (code === "4688") {
    const user =
      f("TargetUserName") && f("TargetUserName") !== "-" ? f("TargetUserName") : f("SubjectUserName");
    return `process ${base(f("ParentProcessName"))} -> ${base(f("NewProcessName"))} as ${user ?? "?"} (logon ${f("TargetLogonId") ?? "?"}): ${clip(f("CommandLine"))}`;
  }
  if (sysmon && code === "3") {
    const inbound = (f("Initiated") ?? "").toLowerCase() !== "true";
    return `network ${base(f("Image"))} ${inbound ? "inbound from" : "outbound to"} ${derived.peer_ip ?? "?"} (${f("SourceIp")}:${f("SourcePort")} -> ${f("DestinationIp")}:${f("DestinationPort")})`;
  }
  if (sysmon && code === "7") {
    return `${base(f("Image"))} loaded ${f("ImageLoaded") ?? "?"} (signed: ${f("Signed") ?? "?"}, ${f("SignatureStatus") ?? "?"})`;
  }
  if (sysmon && code === "11") return `${base(f("Image"))} created ${f("TargetFilename") ?? "?"}`;
  if (sysmon && code === "5") return `${base(f("Image"))} ended`;
  if (code === "4624") {
    return `logon type ${f("LogonType") ?? "?"} ${f("TargetDomainName") ?? ""}\\${f("TargetUserName") ?? "?"} from ${f("IpAddress") ?? "?"} (${f("WorkstationName") ?? "-"}), LogonId ${f("TargetLogonId") ?? "?"}`;
  }
  if (code === "4674")
    return `privilege ${clip(f("PrivilegeList"), 60)} used by ${base(f("ProcessName"))} (${f("SubjectUserName") ?? "?"})`;
  if (code === "5145") {
    return `share ${f("ShareName") ?? "?"}\\${f("RelativeTargetName") ?? "?"} accessed from ${f("IpAddress") ?? "?"} by ${f("SubjectUserName") ?? "?"} (${f("AccessMask") ?? "?"})`;
  }
  if (code === "5156" || code === "5157") {
    return `WFP ${code === "5157" ? "blocked" : "allowed"} ${base(f("Application"))} ${f("SourceAddress")}:${f("SourcePort")} -> ${f("DestAddress")}:${f("DestPort")}`;
  }
  if (code === "10016") {
    return `DCOM ${f("param2") ?? "?"} ${f("param3") ?? "?"} denied: CLSID ${f("param4") ?? "?"} APPID ${f("param5") ?? "?"} for ${f("param6") ?? ""}\\${f("param7") ?? "?"} from ${f("param9") ?? "?"}`;
  }
  if (code === "10028") {
    // "DCOM was unable to communicate with the computer %1 ... requested by PID %2 (%3), while activating CLSID %4."
    return `DCOM could not reach ${f("param1") ?? "?"} for ${f("param3") ?? "?"} (PID ${f("param2") ?? "?"}), CLSID ${f("param4") ?? "?"}`;
  }
  if (code === "4104") return `PowerShell script block: ${clip(f("ScriptBlockText"))}`;
  if (code === "4103") return `PowerShell pipeline: ${clip(f("Payload"))}`;
  return `EventCode ${code}`;
}
