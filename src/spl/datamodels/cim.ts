/**
 * CIM data models over Windows events, offline: which events belong to a dataset and the CIM fields
 * they give, as the Splunk add-ons for Sysmon and Windows map them. `tstats`, `from datamodel:` and
 * `datamodel` read events through these mappings. Offline every event counts as summarized
 * (`summariesonly=t` changes nothing). The table with the source of each mapping is in
 * docs/datamodels.md.
 *
 * A dataset row has the CIM fields prefixed with the dataset's object name (`Processes.process_name`,
 * `All_Traffic.dest_port`), `_time`, and `nodename` (the dataset path, e.g. `All_Traffic`).
 */
import type { SystemPredicate } from "../../events/model.js";
import type { Row } from "../row.js";
import type { SplScalar, SplValue } from "../values.js";

type Get = (name: string) => string | undefined;
/** A CIM field's value from an event's fields (undefined = the event has no such value). */
type FieldRule = (get: Get, code: string) => string | undefined;

interface Source {
  /** Windows event log channel, compared case-insensitively. */
  channel: string;
  eventIDs: string[];
  fields: Record<string, FieldRule>;
}

export interface Dataset {
  /** Data model name: Endpoint, Network_Traffic, Authentication, Change. */
  model: string;
  /** Root dataset (object) name: the field prefix. */
  object: string;
  /** Child datasets by name, with the condition an event must meet. */
  children: Record<string, (fields: Map<string, SplValue>) => boolean>;
  sources: Source[];
}

const SYSMON = "microsoft-windows-sysmon/operational";
const SECURITY = "security";
const SYSTEM = "system";

const basename = (p: string | undefined) => (p === undefined ? undefined : p.replace(/^.*[\\/]/, ""));
const field =
  (name: string): FieldRule =>
  (get) =>
    get(name);
const constant =
  (v: string): FieldRule =>
  () =>
    v;
const base =
  (name: string): FieldRule =>
  (get) =>
    basename(get(name));
/** `DOMAIN\user` -> `user` (the Sysmon add-on's user field). */
const userOf =
  (name: string): FieldRule =>
  (get) =>
    get(name)?.replace(/^[^\\]+\\/, "");
const byCode =
  (map: Record<string, string>): FieldRule =>
  (_get, code) =>
    map[code];

/** Fields every Sysmon dataset row has. */
const sysmonCommon: Record<string, FieldRule> = {
  dest: field("Computer"),
  dvc: field("Computer"),
  process_path: field("Image"),
  process_name: base("Image"),
  process_id: field("ProcessId"),
  process_guid: field("ProcessGuid"),
  user: userOf("User"),
  signature_id: field("EventCode"),
  vendor_product: constant("Microsoft Sysmon"),
};

const PROCESSES: Dataset = {
  model: "Endpoint",
  object: "Processes",
  children: {},
  sources: [
    {
      channel: SYSMON,
      eventIDs: ["1"],
      fields: {
        ...sysmonCommon,
        action: constant("allowed"),
        process: field("CommandLine"),
        process_exec: base("Image"),
        process_hash: field("Hashes"),
        process_integrity_level: field("IntegrityLevel"),
        process_current_directory: field("CurrentDirectory"),
        original_file_name: field("OriginalFileName"),
        parent_process: field("ParentCommandLine"),
        parent_process_path: field("ParentImage"),
        parent_process_name: base("ParentImage"),
        parent_process_exec: base("ParentImage"),
        parent_process_id: field("ParentProcessId"),
        parent_process_guid: field("ParentProcessGuid"),
        user_id: field("UserID"),
      },
    },
    {
      channel: SECURITY,
      eventIDs: ["4688"],
      fields: {
        action: constant("allowed"),
        dest: field("Computer"),
        dvc: field("Computer"),
        process: field("CommandLine"),
        process_path: field("NewProcessName"),
        process_name: base("NewProcessName"),
        process_exec: base("NewProcessName"),
        process_id: field("NewProcessId"),
        parent_process_path: field("ParentProcessName"),
        parent_process_name: base("ParentProcessName"),
        parent_process_exec: base("ParentProcessName"),
        parent_process_id: field("ProcessId"),
        process_integrity_level: (get) =>
          ({
            "S-1-16-4096": "low",
            "S-1-16-8192": "medium",
            "S-1-16-12288": "high",
            "S-1-16-16384": "system",
          })[get("MandatoryLabel") ?? ""],
        user: (get) => get("TargetUserName") ?? get("SubjectUserName"),
        user_id: (get) => get("TargetUserSid") ?? get("SubjectUserSid"),
        signature_id: field("EventCode"),
        vendor_product: constant("Microsoft Windows"),
      },
    },
  ],
};

const FILESYSTEM: Dataset = {
  model: "Endpoint",
  object: "Filesystem",
  children: {},
  sources: [
    {
      channel: SYSMON,
      eventIDs: ["2", "11", "23", "26"],
      fields: {
        ...sysmonCommon,
        action: byCode({ "2": "modified", "11": "created", "23": "deleted", "26": "deleted" }),
        file_path: field("TargetFilename"),
        file_name: base("TargetFilename"),
        file_create_time: field("CreationUtcTime"),
        file_hash: field("Hashes"),
      },
    },
  ],
};

/** `HKLM\SOFTWARE\X\Value` -> key `HKLM\SOFTWARE\X`, value name `Value`. */
const registryKey: FieldRule = (get, code) => {
  const p = get("TargetObject");
  if (p === undefined) return undefined;
  return code === "13" ? p.replace(/\\[^\\]*$/, "") : p;
};
const REGISTRY: Dataset = {
  model: "Endpoint",
  object: "Registry",
  children: {},
  sources: [
    {
      channel: SYSMON,
      eventIDs: ["12", "13", "14"],
      fields: {
        ...sysmonCommon,
        action: (get, code) => {
          const t = get("EventType") ?? "";
          if (/^DeleteKey|^DeleteValue/i.test(t)) return "deleted";
          if (/^CreateKey|^CreateValue/i.test(t)) return "created";
          return code === "12" ? "created" : "modified";
        },
        registry_path: field("TargetObject"),
        registry_key_name: registryKey,
        registry_value_name: (get, code) => (code === "13" ? basename(get("TargetObject")) : undefined),
        registry_value_data: field("Details"),
        registry_hive: (get) => get("TargetObject")?.split("\\")[0],
        status: constant("success"),
      },
    },
  ],
};

const SERVICES: Dataset = {
  model: "Endpoint",
  object: "Services",
  children: {},
  sources: [
    {
      channel: SYSTEM,
      eventIDs: ["7045"],
      fields: {
        dest: field("Computer"),
        service_name: field("ServiceName"),
        service: field("ServiceName"),
        service_path: field("ImagePath"),
        service_exec: base("ImagePath"),
        start_mode: field("StartType"),
        service_type: field("ServiceType"),
        user: field("AccountName"),
        status: constant("created"),
        signature_id: field("EventCode"),
        vendor_product: constant("Microsoft Windows"),
      },
    },
    {
      channel: SECURITY,
      eventIDs: ["4697"],
      fields: {
        dest: field("Computer"),
        service_name: field("ServiceName"),
        service: field("ServiceName"),
        service_path: field("ServiceFileName"),
        service_exec: base("ServiceFileName"),
        start_mode: field("ServiceStartType"),
        service_type: field("ServiceType"),
        user: field("ServiceAccount"),
        status: constant("created"),
        signature_id: field("EventCode"),
        vendor_product: constant("Microsoft Windows"),
      },
    },
  ],
};

const PROTOCOLS: Record<string, string> = { "1": "icmp", "6": "tcp", "17": "udp", "58": "icmp" };
const ALL_TRAFFIC: Dataset = {
  model: "Network_Traffic",
  object: "All_Traffic",
  children: {},
  sources: [
    {
      channel: SYSMON,
      eventIDs: ["3"],
      fields: {
        ...sysmonCommon,
        dest: field("DestinationIp"),
        action: constant("allowed"),
        app: field("Image"),
        src: field("SourceIp"),
        src_ip: field("SourceIp"),
        src_host: field("SourceHostname"),
        src_port: field("SourcePort"),
        dest_ip: field("DestinationIp"),
        dest_host: field("DestinationHostname"),
        dest_port: field("DestinationPort"),
        transport: (get) => get("Protocol")?.toLowerCase(),
        direction: (get) => {
          const i = get("Initiated")?.toLowerCase();
          return i === "true" ? "outbound" : i === "false" ? "inbound" : undefined;
        },
      },
    },
    {
      channel: SECURITY,
      eventIDs: ["5156", "5157"],
      fields: {
        action: byCode({ "5156": "allowed", "5157": "blocked" }),
        app: field("Application"),
        dvc: field("Computer"),
        src: field("SourceAddress"),
        src_ip: field("SourceAddress"),
        src_port: field("SourcePort"),
        dest: field("DestAddress"),
        dest_ip: field("DestAddress"),
        dest_port: field("DestPort"),
        process_id: field("ProcessID"),
        transport: (get) => PROTOCOLS[get("Protocol") ?? ""] ?? get("Protocol"),
        direction: (get) =>
          ({ "%%14592": "inbound", "%%14593": "outbound", Inbound: "inbound", Outbound: "outbound" })[
            get("Direction") ?? ""
          ],
        signature_id: field("EventCode"),
        vendor_product: constant("Microsoft Windows"),
      },
    },
  ],
};

const isLocal = (ip: string | undefined) =>
  ip === undefined || ip === "-" || ip === "::1" || ip === "127.0.0.1";
const AUTHENTICATION: Dataset = {
  model: "Authentication",
  object: "Authentication",
  children: {
    Failed_Authentication: (f) => f.get("Authentication.action") === "failure",
    Successful_Authentication: (f) => f.get("Authentication.action") === "success",
  },
  sources: [
    {
      channel: SECURITY,
      eventIDs: ["4624", "4625", "4648", "4768", "4771", "4776"],
      fields: {
        action: (get, code) => {
          if (code === "4625" || code === "4771") return "failure";
          const status = get("Status") ?? get("ErrorCode") ?? get("ResultCode");
          if ((code === "4776" || code === "4768") && status !== undefined && !/^0x0*$/i.test(status))
            return "failure";
          return "success";
        },
        app: (get) => (isLocal(get("IpAddress")) ? "win:local" : "win:remote"),
        dest: field("Computer"),
        user: (get, code) =>
          code === "4648"
            ? get("TargetUserName")
            : code === "4776"
              ? get("TargetUserName")
              : get("TargetUserName"),
        user_id: field("TargetUserSid"),
        src: (get) => {
          const ip = get("IpAddress")?.replace(/^::ffff:/, "");
          if (ip !== undefined && ip !== "-" && ip !== "") return ip;
          return get("WorkstationName") ?? get("Workstation");
        },
        src_user: field("SubjectUserName"),
        authentication_method: (get, code) =>
          code === "4776"
            ? "NTLM"
            : code === "4768" || code === "4771"
              ? "Kerberos"
              : get("AuthenticationPackageName"),
        signature_id: field("EventCode"),
        signature: byCode({
          "4624": "An account was successfully logged on",
          "4625": "An account failed to log on",
          "4648": "A logon was attempted using explicit credentials",
          "4768": "A Kerberos authentication ticket (TGT) was requested",
          "4771": "Kerberos pre-authentication failed",
          "4776": "The computer attempted to validate the credentials for an account",
        }),
        vendor_product: constant("Microsoft Windows"),
      },
    },
  ],
};

const CHANGE_ACTIONS: Record<string, [string, string]> = {
  "4720": ["created", "user"],
  "4722": ["modified", "user"],
  "4723": ["modified", "user"],
  "4724": ["modified", "user"],
  "4725": ["modified", "user"],
  "4726": ["deleted", "user"],
  "4738": ["modified", "user"],
  "4740": ["lockout", "user"],
  "4767": ["modified", "user"],
  "4727": ["created", "group"],
  "4731": ["created", "group"],
  "4754": ["created", "group"],
  "4728": ["modified", "group"],
  "4732": ["modified", "group"],
  "4756": ["modified", "group"],
  "4729": ["modified", "group"],
  "4733": ["modified", "group"],
  "4757": ["modified", "group"],
  "4719": ["modified", "audit policy"],
  "1102": ["cleared", "audit log"],
};
const CHANGE: Dataset = {
  model: "Change",
  object: "All_Changes",
  children: {
    Account_Management: (f) => ["user", "group"].includes(String(f.get("All_Changes.object_category"))),
    Auditing_Changes: (f) => String(f.get("All_Changes.object_category")).startsWith("audit"),
  },
  sources: [
    {
      channel: SECURITY,
      eventIDs: Object.keys(CHANGE_ACTIONS),
      fields: {
        action: (_get, code) => CHANGE_ACTIONS[code]?.[0],
        object_category: (_get, code) => CHANGE_ACTIONS[code]?.[1],
        change_type: (_get, code) => (CHANGE_ACTIONS[code]?.[1].startsWith("audit") ? "audit" : "AAA"),
        object: (get, code) =>
          CHANGE_ACTIONS[code]?.[1] === "group" ? get("TargetUserName") : get("TargetUserName"),
        object_id: field("TargetSid"),
        user: (get, code) =>
          CHANGE_ACTIONS[code]?.[1] === "group" ? get("MemberName") : get("TargetUserName"),
        src_user: field("SubjectUserName"),
        dest: field("Computer"),
        dvc: field("Computer"),
        status: constant("success"),
        result_id: field("EventCode"),
        vendor_product: constant("Microsoft Windows"),
      },
    },
  ],
};

const DATASETS: Dataset[] = [PROCESSES, FILESYSTEM, REGISTRY, SERVICES, ALL_TRAFFIC, AUTHENTICATION, CHANGE];

/** A dataset reference resolved: the dataset and, for a child dataset, its condition. */
export interface DatasetRef {
  dataset: Dataset;
  /** Path as written after the model, e.g. "Processes", "Failed_Authentication". */
  node: string;
  child?: (fields: Map<string, SplValue>) => boolean;
}

/**
 * Resolves `Endpoint.Processes`, `Network_Traffic`, `Network_Traffic.All_Traffic`,
 * `Authentication.Failed_Authentication`, `Change.All_Changes.Account_Management`, ...
 */
export function resolveDataset(name: string): DatasetRef | undefined {
  const parts = name.replace(/^"|"$/g, "").split(".");
  const inModel = DATASETS.filter((d) => d.model === parts[0]);
  if (inModel.length === 0) return undefined;
  if (parts.length === 1)
    return inModel.length === 1 ? { dataset: inModel[0], node: inModel[0].object } : undefined;
  const last = parts[parts.length - 1];
  for (const d of inModel) if (d.object === last) return { dataset: d, node: last };
  for (const d of inModel) if (d.children[last]) return { dataset: d, node: last, child: d.children[last] };
  return undefined;
}

/** Names of the datasets this engine maps, for messages and docs. */
export function knownDatasets(): string[] {
  const out: string[] = [];
  for (const d of DATASETS) {
    out.push(`${d.model}.${d.object}`);
    for (const c of Object.keys(d.children)) out.push(`${d.model}.${c}`);
  }
  return out;
}

/** The reader push-down for a dataset: only its channels and event IDs. */
export function datasetPushdown(ref: DatasetRef): SystemPredicate {
  const wanted = new Map<string, Set<string>>();
  for (const s of ref.dataset.sources) wanted.set(s.channel, new Set(s.eventIDs));
  return (system) => {
    if (system.channel === undefined || system.eventID === undefined || system.eventID === "") return true;
    return wanted.get(system.channel.toLowerCase())?.has(system.eventID) ?? false;
  };
}

/**
 * The dataset row of an event row, or undefined when the event is not in the dataset. The event's
 * own fields stay (a `datamodel ... search` result is an event); CIM fields are added with the prefix.
 */
export function datasetRow(ref: DatasetRef, row: Row, keepEventFields: boolean): Row | undefined {
  const get: Get = (name) => {
    const v = row.fields.get(name);
    const s: SplScalar | undefined = Array.isArray(v) ? v[0] : v;
    return s === undefined ? undefined : String(s);
  };
  const channel = get("Channel")?.toLowerCase();
  const code = get("EventCode");
  if (channel === undefined || code === undefined) return undefined;
  const source = ref.dataset.sources.find((s) => s.channel === channel && s.eventIDs.includes(code));
  if (!source) return undefined;
  const fields = new Map<string, SplValue>();
  if (keepEventFields) for (const [k, v] of row.fields) fields.set(k, v);
  else {
    const t = row.fields.get("_time");
    if (t !== undefined) fields.set("_time", t);
    for (const k of ["index", "sourcetype", "source", "host"]) {
      const v = row.fields.get(k);
      if (v !== undefined) fields.set(k, v);
    }
  }
  const prefix = ref.dataset.object;
  for (const [name, rule] of Object.entries(source.fields)) {
    const v = rule(get, code);
    if (v !== undefined && v !== "") fields.set(`${prefix}.${name}`, v);
  }
  fields.set("nodename", ref.node === prefix ? prefix : `${prefix}.${ref.node}`);
  if (ref.child && !ref.child(fields)) return undefined;
  return { fields, raw: row.raw, event: row.event, seq: row.seq, searchTime: row.searchTime };
}
