/**
 * Flat records -> WinEvent: one object whose keys mix the event's System fields, its EventData
 * and the shipper's own metadata. Two dialects are seen in the field:
 *
 * NXLog im_msvistalog (OTRF Security-Datasets / Mordor JSON lines). Mapping decided on the real
 * files in ../shared/corpus/attacks (38,210 records):
 *
 * | NXLog key            | WinEvent                   | note                                                    |
 * |----------------------|----------------------------|---------------------------------------------------------|
 * | EventID              | system.eventID             | number -> text                                          |
 * | SourceName           | system.providerName        | "Microsoft-Windows-Sysmon"                              |
 * | ProviderGuid         | system.providerGuid        | absent for classic providers (PowerShell 400/800)       |
 * | Version              | system.version             |                                                         |
 * | Level                | system.level               | not present in the corpus; NXLog's Severity/SeverityValue are its own scale -> extra |
 * | Task                 | system.task                | numeric; "Category" is its rendered name -> extra       |
 * | OpcodeValue          | system.opcode              | numeric; "Opcode" is the rendered name -> extra         |
 * | Keywords             | system.keywords            | signed 64-bit decimal -> "0x%016x" as Windows renders   |
 * | RecordNumber         | system.eventRecordID       | unique only per (Hostname, Channel)                     |
 * | ExecutionProcessID   | system.processID           |                                                         |
 * | ThreadID             | system.threadID            |                                                         |
 * | Channel              | system.channel             | "security" (Mordor pipeline) -> "Security"; see CLASSIC_CHANNELS |
 * | Hostname             | system.computer            | "host" is the collector (wec...) -> extra               |
 * | UserID               | system.userID              | a SID; NXLog adds AccountName/AccountType/Domain resolved from it -> extra |
 * | ActivityID           | system.activityID          |                                                         |
 * | RelatedActivityID    | system.relatedActivityID   |                                                         |
 *
 * Metadata kept in `extra` (by original name): EventReceivedTime, EventTime, @timestamp,
 * SourceModuleName, SourceModuleType, Message, Severity, SeverityValue, EventType (when it is
 * NXLog's INFO/AUDIT_SUCCESS/... and not Sysmon's own EventType such as "SetValue"),
 * EventTypeOrignal (sic), Category, Opcode, @version, host, port, tags, ERROR_EVT_UNRESOLVED.
 * Every other key is EventData, in record order (Sysmon's ProcessId, Security's ProcessId...).
 *
 * Time: NXLog records carry no SystemTime. Candidates, kept in `extra` for the field view:
 * `EventTime` (local time of the source host, no zone), `EventReceivedTime` (local time of the
 * collector), `@timestamp` (ISO UTC, the *receive* time); the best is Sysmon's EventData
 * `UtcTime`. `timeTicks` is left undefined.
 *
 * `%` doubling: NOT undone. `%%1936` in Security events is Windows' own message-table reference
 * (the EVTX has it too), and Sysmon writes `%%windir%%` doubled in the EVTX itself (see the golden
 * XML of the same hosts); single `%COMSPEC%` also appears in these files. No rewrite is certain.
 *
 * Splunk flat records (a CSV/JSON export without `_raw`, classic WinEventLog field extractions or
 * XmlWinEventLog's auto-extracted fields): EventCode/EventID, LogName/Channel, ComputerName/Computer,
 * RecordNumber/EventRecordID/RecordID, SourceName, Guid, Sid/UserID, SystemTime... mapped as
 * in SPLUNK_SYSTEM below; `_*`, index, source, sourcetype, host, splunk_server, linecount, punct,
 * date_*, Type, TaskCategory, OpCode, Message, SidType, and a text Keywords ("Audit Success") are
 * metadata (extra). `_time` (ISO with
 * offset, or epoch seconds in CSV) is the time candidate for the field view.
 */

import type { EventDataItem, Provenance, SystemFields, SystemPredicate, WinEvent } from "../events/model.js";
import { ticksFromIso } from "../events/time.js";

type SystemKey = Exclude<keyof SystemFields, never>;

const NXLOG_SYSTEM: Record<string, SystemKey> = {
  EventID: "eventID",
  SourceName: "providerName",
  ProviderGuid: "providerGuid",
  Version: "version",
  Level: "level",
  Task: "task",
  OpcodeValue: "opcode",
  Keywords: "keywords",
  RecordNumber: "eventRecordID",
  ExecutionProcessID: "processID",
  ThreadID: "threadID",
  Channel: "channel",
  Hostname: "computer",
  UserID: "userID",
  ActivityID: "activityID",
  RelatedActivityID: "relatedActivityID",
};

const NXLOG_METADATA = new Set([
  "EventReceivedTime",
  "EventTime",
  "@timestamp",
  "SourceModuleName",
  "SourceModuleType",
  "Message",
  "Severity",
  "SeverityValue",
  "EventTypeOrignal",
  "EventTypeOriginal",
  "Category",
  "Opcode",
  "@version",
  "host",
  "port",
  "tags",
  "ERROR_EVT_UNRESOLVED",
]);

/** NXLog's EventType values (its own classification); anything else is the event's own data. */
const NXLOG_EVENT_TYPES = new Set([
  "INFO",
  "AUDIT_SUCCESS",
  "AUDIT_FAILURE",
  "ERROR",
  "WARNING",
  "VERBOSE",
  "CRITICAL",
]);

/** NXLog resolves UserID into these three; they are metadata only when UserID is present. */
const NXLOG_ACCOUNT_KEYS = new Set(["AccountName", "AccountType", "Domain"]);

const SPLUNK_SYSTEM: Record<string, SystemKey> = {
  EventCode: "eventID",
  EventID: "eventID",
  LogName: "channel",
  Channel: "channel",
  ComputerName: "computer",
  Computer: "computer",
  RecordNumber: "eventRecordID",
  EventRecordID: "eventRecordID",
  RecordID: "eventRecordID",
  SourceName: "providerName",
  Guid: "providerGuid",
  ProviderGuid: "providerGuid",
  Qualifiers: "qualifiers",
  Version: "version",
  Level: "level",
  Task: "task",
  Opcode: "opcode",
  Keywords: "keywords",
  SystemTime: "systemTime",
  ProcessID: "processID",
  ThreadID: "threadID",
  Sid: "userID",
  UserID: "userID",
  ActivityID: "activityID",
  RelatedActivityID: "relatedActivityID",
};

const SPLUNK_METADATA = new Set([
  "index",
  "source",
  "sourcetype",
  "host",
  "splunk_server",
  "splunk_server_group",
  "linecount",
  "punct",
  "eventtype",
  "tag",
  "timestartpos",
  "timeendpos",
  "Type",
  "TaskCategory",
  "OpCode",
  "Message",
  "SidType",
  "EventType",
  "action",
]);

/** Windows' classic channel names, restored when a pipeline changed their case ("security"). */
/** NXLog/Mordor spell classic channels in lower case ("security"): Windows' spelling back. */
export function normalizeChannel(channel: string): string {
  return CLASSIC_CHANNELS.get(channel) ?? channel;
}

const CLASSIC_CHANNELS = new Map(
  ["Security", "System", "Application", "Setup"].map((c) => [c.toLowerCase(), c]),
);

export type FlatDialect = "nxlog" | "splunk";

/** Is this flat record recognisably NXLog or Splunk? */
export function flatDialectOf(record: Record<string, unknown>): FlatDialect | undefined {
  if ("EventCode" in record) return "splunk";
  if ("EventID" in record && ("SourceModuleType" in record || "Hostname" in record || "SourceName" in record))
    return "nxlog";
  if ("EventID" in record && ("Channel" in record || "Computer" in record)) return "splunk";
  return undefined;
}

/** Text of a JSON/CSV value; undefined for null/undefined/objects. */
export function scalarText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return undefined;
}

/** Signed or unsigned 64-bit decimal (or hex) -> "0x%016x" as Windows renders Keywords. */
export function keywordsText(v: string): string {
  const t = v.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return t;
  if (!/^-?\d+$/.test(t)) return t;
  return `0x${BigInt.asUintN(64, BigInt(t)).toString(16).padStart(16, "0")}`;
}

function metaValue(v: unknown): string | string[] | undefined {
  if (Array.isArray(v)) return v.map((x) => scalarText(x) ?? JSON.stringify(x));
  const s = scalarText(v);
  if (s !== undefined) return s;
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return undefined;
}

function isMetadata(
  dialect: FlatDialect,
  key: string,
  value: unknown,
  record: Record<string, unknown>,
): boolean {
  if (dialect === "nxlog") {
    if (NXLOG_METADATA.has(key)) return true;
    if (key === "EventType") return typeof value === "string" && NXLOG_EVENT_TYPES.has(value);
    if (NXLOG_ACCOUNT_KEYS.has(key)) return "UserID" in record;
    return false;
  }
  if (key.startsWith("_") || key.startsWith("date_") || key.startsWith("tag::")) return true;
  return SPLUNK_METADATA.has(key);
}

/**
 * Map a flat record. `skipEmpty` drops empty strings (CSV exports carry the union of all columns,
 * so an empty cell means "field absent"). Returns undefined when `filter` rejects the event.
 */
export function eventFromFlat(
  record: Record<string, unknown>,
  dialect: FlatDialect,
  provenance: Provenance,
  filter?: SystemPredicate,
  skipEmpty = false,
): WinEvent | undefined {
  const table = dialect === "nxlog" ? NXLOG_SYSTEM : SPLUNK_SYSTEM;
  const system: SystemFields = { eventID: "" };
  // System fields first (cheap), so the push-down filter runs before EventData is built.
  for (const key in table) {
    const v = scalarText(record[key]);
    if (v === undefined || (skipEmpty && v === "")) continue;
    const field = table[key];
    if (field === "userID" && dialect === "nxlog" && !v.startsWith("S-")) continue;
    if (field === "eventID" && system.eventID !== "") continue; // EventCode wins over EventID
    if (system[field] !== undefined && field !== "eventID") continue;
    if (field === "keywords") {
      // classic WinEventLog renders Keywords as text ("Audit Success"): that stays in extra
      if (!/^(0x[0-9a-f]+|-?\d+)$/i.test(v.trim())) continue;
      system.keywords = keywordsText(v);
    } else if (field === "channel") system.channel = normalizeChannel(v);
    else system[field] = v;
  }
  const timeTicks = system.systemTime !== undefined ? ticksFromIso(system.systemTime) : undefined;
  if (filter && !filter(system, timeTicks)) return undefined;

  const eventData: EventDataItem[] = [];
  const extra: Record<string, string | string[]> = {};
  for (const key in record) {
    const value = record[key];
    if (key in table) {
      // a system key whose value was not usable as such stays visible
      const field = table[key];
      if (dialect === "nxlog" && field === "userID" && typeof value === "string" && !value.startsWith("S-")) {
        eventData.push({ name: key, value });
      } else if (field === "keywords" && system.keywords === undefined) {
        const m = metaValue(value);
        if (m !== undefined && !(skipEmpty && m === "")) extra[key] = m;
      }
      continue;
    }
    if (isMetadata(dialect, key, value, record)) {
      const m = metaValue(value);
      if (m !== undefined && !(skipEmpty && m === "")) extra[key] = m;
      continue;
    }
    if (Array.isArray(value)) {
      // a multi-valued field: repeated items with the same name (Splunk's multivalue view)
      for (const x of value) {
        const s = scalarText(x) ?? JSON.stringify(x);
        eventData.push({ name: key, value: s });
      }
      continue;
    }
    let s = scalarText(value);
    if (s === undefined) {
      if (value === null || value === undefined) continue;
      s = JSON.stringify(value);
    }
    if (skipEmpty && s === "") continue;
    eventData.push({ name: key, value: s });
  }
  const ev: WinEvent = { system, eventData, provenance };
  if (timeTicks !== undefined) ev.timeTicks = timeTicks;
  if (Object.keys(extra).length > 0) ev.extra = extra;
  return ev;
}
