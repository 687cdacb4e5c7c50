/**
 * The Splunk field view of a WinEvent: what a search over XmlWinEventLog data indexed by a Universal
 * Forwarder, with Splunk_TA_windows and the Sysmon add-on, sees (reference/spl-semantics.md §4-5).
 *
 * Two deliberate differences from a Splunk deployment, each with an option for Splunk's behaviour:
 * - `host` is the event's Computer (file input has no forwarder). `--host-from NAME` sets a fixed
 *   host like a forwarder would; `computer-short` keeps the name before the first dot, as
 *   Splunk_TA_windows' WEF override (`WinEventXmlHostOverride`) does.
 * - field values have XML entities decoded (`&` not `&amp;`). Splunk's regex extraction keeps
 *   `&amp;`, `&lt;`, `&gt;`; `decodeEntities: false` reproduces that.
 */
import type { SystemFields, WinEvent, XmlElement } from "./model.js";
import { epochSecondsFromTicks, ticksFromIso } from "./time.js";
import { renderEventXml } from "./xml.js";
import { zoneOffsetMinutes } from "./zone.js";

/** Splunk field values are strings; a multivalue field is an array of strings. */
export type FieldValue = string | string[];

export type HostFrom = { from: "computer" } | { from: "computer-short" } | { name: string };

export interface FieldViewOptions {
  /** `index` of every event. Default "wineventlog" (what the seed query searches). */
  index: string;
  /**
   * legacy (default): sourcetype=XmlWinEventLog:<Channel>, source=WinEventLog:<Channel> (the naming the
   * seed query was written for, §5.3). modern: sourcetype=XmlWinEventLog, source=XmlWinEventLog:<Channel>.
   */
  sourcetypeStyle: "legacy" | "modern";
  host: HostFrom;
  /** Decode XML entities in field values (default true); false = Splunk's extraction (`&amp;` kept). */
  decodeEntities: boolean;
  /** Zone for local timestamps without offset (NXLog EventTime) and for display. IANA name or "UTC". */
  tz: string;
}

export const defaultFieldViewOptions: FieldViewOptions = Object.freeze({
  index: "wineventlog",
  sourcetypeStyle: "legacy",
  host: { from: "computer" },
  decodeEntities: true,
  tz: "UTC",
}) as FieldViewOptions;

export interface SplunkMetadata {
  index: string;
  sourcetype: string;
  source: string;
  host: string;
}

/** index, sourcetype, source and host of an event with these System fields. */
export function metadataFor(system: Readonly<SystemFields>, opts: FieldViewOptions): SplunkMetadata {
  const channel = system.channel ?? "";
  const legacy = opts.sourcetypeStyle === "legacy";
  return {
    index: opts.index,
    sourcetype: legacy ? `XmlWinEventLog:${channel}` : "XmlWinEventLog",
    source: legacy ? `WinEventLog:${channel}` : `XmlWinEventLog:${channel}`,
    host: hostFor(system.computer, opts.host),
  };
}

export function hostFor(computer: string | undefined, from: HostFrom): string {
  if ("name" in from) return from.name;
  const c = computer ?? "";
  if (from.from === "computer-short") {
    const dot = c.indexOf(".");
    return dot > 0 ? c.slice(0, dot) : c;
  }
  return c;
}

/** One event as the SPL engine sees it. */
export interface SplunkEvent {
  /** `_time`: epoch seconds with sub-second precision, undefined when the event has no usable time. */
  time: number | undefined;
  /**
   * Every field except `_raw`, by exact (case-sensitive) name. `_time` is not set by the field view;
   * the SPL engine adds it (the same value as `time`) when it first evaluates the event.
   */
  fields: Map<string, FieldValue>;
  /** `_raw`: the event XML in Splunk's XmlWinEventLog style (built on first use). */
  raw(): string;
  event?: WinEvent;
}

/**
 * The event's time in ticks: System/TimeCreated; else (NXLog, flat JSON/CSV records) Sysmon's UtcTime
 * (UTC by definition); else an ISO timestamp with an offset (Splunk export `_time`, Winlogbeat or NXLog
 * `@timestamp`, which for NXLog is the receive time); else a zone-less local time (NXLog `EventTime`)
 * read in `tz`.
 */
export function resolveEventTime(ev: WinEvent, tz: string): bigint | undefined {
  if (ev.timeTicks !== undefined) return ev.timeTicks;
  if (ev.system.systemTime) {
    const t = ticksFromIso(ev.system.systemTime, 0);
    if (t !== undefined) return t;
  }
  for (const item of ev.eventData) {
    if (item.name === "UtcTime") {
      const t = ticksFromIso(item.value, 0);
      if (t !== undefined) return t;
    }
  }
  const extra = ev.extra ?? {};
  for (const key of ["_time", "@timestamp", "TimeCreated", "timestamp"]) {
    const v = extra[key];
    if (typeof v === "string") {
      const t = ticksFromIso(v, null);
      if (t !== undefined) return t;
    }
  }
  for (const key of ["EventTime", "EventReceivedTime"]) {
    const v = extra[key];
    if (typeof v === "string") {
      const utcGuess = ticksFromIso(v, 0);
      if (utcGuess === undefined) continue;
      if (tz === "UTC") return utcGuess;
      const guessMs = Number((utcGuess - 116444736000000000n) / 10000n);
      const offset = zoneOffsetMinutes(tz, guessMs - zoneOffsetMinutes(tz, guessMs) * 60000);
      return utcGuess - BigInt(offset) * 600000000n;
    }
  }
  return undefined;
}

function escapeText(v: string): string {
  return v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function basename(path: string): string {
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

function add(fields: Map<string, FieldValue>, name: string, value: string): void {
  const prev = fields.get(name);
  if (prev === undefined) fields.set(name, value);
  else if (Array.isArray(prev)) prev.push(value);
  else fields.set(name, [prev, value]);
}

/** Fields toSplunkEvent sets before any other, in its order (metadata and System). */
export const SYSTEM_VIEW_FIELDS = [
  "index",
  "sourcetype",
  "source",
  "host",
  "EventCode",
  "EventID",
  "Name",
  "Guid",
  "Qualifiers",
  "Version",
  "Level",
  "Task",
  "Opcode",
  "Keywords",
  "SystemTime",
  "EventRecordID",
  "ActivityID",
  "RelatedActivityID",
  "ProcessID",
  "ThreadID",
  "Channel",
  "Computer",
  "UserID",
] as const;

/**
 * Every field name toSplunkEvent can give from something other than EventData `<Data Name>` items
 * (metadata, System, CIM aliases; names starting with `_` are outside the map). A field with any
 * other name comes from EventData, UserData, RenderingInfo or a reader's `extra` only: the push-down
 * may read it from the EventData values when the record has nothing else (spl/planner.ts).
 */
export const NON_DATA_FIELDS: ReadonlySet<string> = new Set([
  ...SYSTEM_VIEW_FIELDS,
  "signature_id",
  "dvc",
  "user_id",
  "vendor_product",
  "dest",
  "process",
  "process_path",
  "process_name",
  "process_exec",
  "process_id",
  "process_guid",
  "process_hash",
  "process_integrity_level",
  "process_current_directory",
  "parent_process",
  "parent_process_path",
  "parent_process_name",
  "parent_process_exec",
  "parent_process_id",
  "parent_process_guid",
  "user",
]);

/** Sysmon event codes whose `dest` is the Computer (Splunk Add-on for Sysmon). */
const SYSMON_DEST_IS_COMPUTER = new Set(["1", "11", "12", "13", "14"]);

/**
 * The Splunk field view of one event.
 *
 * Fields, as Splunk_TA_windows' XML extractions and the Sysmon add-on give them:
 * - System elements by element name: EventID, Version, Level, Task, Opcode, Keywords, EventRecordID,
 *   Channel, Computer; System attributes: Name and Guid (Provider), Qualifiers, SystemTime, ActivityID,
 *   RelatedActivityID, ProcessID, ThreadID, UserID; `EventCode` = EventID.
 * - every `<Data Name="X">` as field X (same case; a repeated name becomes multivalue, MV_ADD);
 *   UserData leaf elements by element name; RenderingInfo's Message etc. as `Message`, ...
 * - CIM aliases for process events (Sysmon 1, Security 4688) and the common ones (dest, dvc, user, ...).
 * - index, source, sourcetype, host (see FieldViewOptions); `_time` and `_raw` outside the map.
 * Fields from the reader's `extra` (NXLog metadata, a Splunk export's own fields) come last and never
 * replace an event field, except a Splunk export's index/sourcetype/source/host, which are the
 * event's real metadata.
 */
export function toSplunkEvent(ev: WinEvent, opts: FieldViewOptions): SplunkEvent {
  const fields = new Map<string, FieldValue>();
  const s = ev.system;
  const text = opts.decodeEntities ? (v: string) => v : escapeText;
  const meta = metadataFor(s, opts);
  const extra = ev.extra ?? {};
  const exportMeta = ev.provenance.dialect === "splunk";
  for (const key of ["index", "sourcetype", "source", "host"] as const) {
    const fromExport = exportMeta ? extra[key] : undefined;
    fields.set(key, typeof fromExport === "string" ? fromExport : meta[key]);
  }

  const system: [string, string | undefined][] = [
    ["EventCode", s.eventID],
    ["EventID", s.eventID],
    ["Name", s.providerName],
    ["Guid", s.providerGuid],
    ["Qualifiers", s.qualifiers],
    ["Version", s.version],
    ["Level", s.level],
    ["Task", s.task],
    ["Opcode", s.opcode],
    ["Keywords", s.keywords],
    ["SystemTime", s.systemTime],
    ["EventRecordID", s.eventRecordID],
    ["ActivityID", s.activityID],
    ["RelatedActivityID", s.relatedActivityID],
    ["ProcessID", s.processID],
    ["ThreadID", s.threadID],
    ["Channel", s.channel],
    ["Computer", s.computer],
    ["UserID", s.userID],
  ];
  for (const [name, value] of system) if (value !== undefined && value !== "") fields.set(name, text(value));

  for (const item of ev.eventData) {
    if (item.name !== undefined && item.name !== "") add(fields, item.name, text(item.value));
  }
  if (ev.userData) addUserDataLeaves(fields, ev.userData.children, text);
  if (ev.renderingInfo) {
    for (const [name, value] of Object.entries(ev.renderingInfo)) {
      if (fields.has(name)) continue;
      fields.set(name, Array.isArray(value) ? value.map(text) : text(value));
    }
  }
  addCimAliases(fields, s);
  for (const [name, value] of Object.entries(extra)) {
    if (!fields.has(name) && !name.startsWith("_")) fields.set(name, value);
  }
  // `--recover`: a record that is not live says so (slack|torn, readers/evtx/recover.ts).
  if (extra._recovered !== undefined) fields.set("_recovered", extra._recovered);

  const ticks = resolveEventTime(ev, opts.tz);
  let raw: string | undefined;
  return {
    time: ticks === undefined ? undefined : epochSecondsFromTicks(ticks),
    fields,
    raw: () => {
      if (raw === undefined) {
        const exportRaw = exportMeta ? extra._raw : undefined;
        raw = typeof exportRaw === "string" ? exportRaw : renderEventXml(ev, { style: "splunk" });
      }
      return raw;
    },
    event: ev,
  };
}

function addUserDataLeaves(
  fields: Map<string, FieldValue>,
  children: XmlElement["children"],
  text: (v: string) => string,
): void {
  for (const child of children) {
    if (typeof child === "string") continue;
    const elementChildren = child.children.filter((c) => typeof c !== "string");
    if (elementChildren.length === 0) {
      add(fields, child.name, text(child.children.filter((c) => typeof c === "string").join("")));
    } else {
      addUserDataLeaves(fields, child.children, text);
    }
  }
}

function first(fields: Map<string, FieldValue>, name: string): string | undefined {
  const v = fields.get(name);
  return Array.isArray(v) ? v[0] : v;
}

function alias(fields: Map<string, FieldValue>, to: string, value: string | undefined): void {
  if (value !== undefined && !fields.has(to)) fields.set(to, value);
}

/**
 * CIM aliases (§5.2): Sysmon add-on (process = CommandLine, process_path = Image, parent_process =
 * ParentCommandLine, ...; `user` strips the domain as the 10.x add-on's User_as_user does) and
 * Splunk_TA_windows for Security 4688 (process_path = NewProcessName, parent_process_path =
 * ParentProcessName, process = CommandLine). They never replace a field the event has.
 */
function addCimAliases(fields: Map<string, FieldValue>, s: Readonly<SystemFields>): void {
  const isSysmon = (s.providerName ?? "").toLowerCase() === "microsoft-windows-sysmon";
  const code = s.eventID;
  alias(fields, "signature_id", code);
  alias(fields, "dvc", s.computer);
  alias(fields, "user_id", s.userID);
  if (isSysmon) {
    alias(fields, "vendor_product", "Microsoft Sysmon");
    if (SYSMON_DEST_IS_COMPUTER.has(code)) alias(fields, "dest", s.computer);
    const image = first(fields, "Image");
    const parentImage = first(fields, "ParentImage");
    alias(fields, "process", first(fields, "CommandLine"));
    alias(fields, "process_path", image);
    alias(fields, "process_name", image === undefined ? undefined : basename(image));
    alias(fields, "process_exec", image === undefined ? undefined : basename(image));
    alias(fields, "process_id", first(fields, "ProcessId"));
    alias(fields, "process_guid", first(fields, "ProcessGuid"));
    alias(fields, "process_hash", first(fields, "Hashes"));
    alias(fields, "process_integrity_level", first(fields, "IntegrityLevel"));
    alias(fields, "process_current_directory", first(fields, "CurrentDirectory"));
    alias(fields, "parent_process", first(fields, "ParentCommandLine"));
    alias(fields, "parent_process_path", parentImage);
    alias(fields, "parent_process_name", parentImage === undefined ? undefined : basename(parentImage));
    alias(fields, "parent_process_exec", parentImage === undefined ? undefined : basename(parentImage));
    alias(fields, "parent_process_id", first(fields, "ParentProcessId"));
    alias(fields, "parent_process_guid", first(fields, "ParentProcessGuid"));
    const user = first(fields, "User");
    alias(fields, "user", user === undefined ? undefined : user.replace(/^[^\\]+\\/, ""));
  } else if (code === "4688") {
    alias(fields, "dest", s.computer);
    const image = first(fields, "NewProcessName");
    const parentImage = first(fields, "ParentProcessName");
    alias(fields, "process", first(fields, "CommandLine"));
    alias(fields, "process_path", image);
    alias(fields, "process_name", image === undefined ? undefined : basename(image));
    alias(fields, "process_id", first(fields, "NewProcessId"));
    alias(fields, "parent_process_path", parentImage);
    alias(fields, "parent_process_name", parentImage === undefined ? undefined : basename(parentImage));
    alias(fields, "parent_process_id", first(fields, "ProcessId"));
    alias(fields, "user", first(fields, "TargetUserName") ?? first(fields, "SubjectUserName"));
  } else {
    alias(fields, "dest", s.computer);
  }
}
