/**
 * The one event model every reader produces and every consumer reads.
 *
 * Values are kept as the text Windows renders into the event XML (that is what Splunk indexes),
 * so no reader loses precision: 64-bit Keywords stay "0x8000000000000000", FILETIMEs stay
 * "2020-10-08T11:03:46.6179203Z". Times additionally carry an exact 100-ns tick count as bigint.
 */

/** Input formats a reader can produce events from. */
export type InputFormat = "evtx" | "xml" | "json" | "csv";

/** Where a record came from: enough to find it again in the original evidence. */
export interface Provenance {
  /** Path of the file as given by the user (inside an archive: "archive.zip!inner/path.evtx"). */
  file: string;
  format: InputFormat;
  /** Byte offset of the record in the (decompressed) file: EVTX records, XML elements. */
  offset?: number;
  /** 1-based line number: JSON lines, CSV rows, XML elements. */
  line?: number;
  /** EVTX chunk number (0-based). */
  chunk?: number;
  /** JSON dialect or other reader detail, e.g. "nxlog", "evtx_dump", "winlogbeat", "splunk". */
  dialect?: string;
}

/** The `<System>` block of an event. Every value is the text Windows renders. */
export interface SystemFields {
  providerName?: string;
  providerGuid?: string;
  /** `EventSourceName` attribute of `<Provider>` (classic event sources). */
  eventSourceName?: string;
  /** Text of `<EventID>`, e.g. "1" or "4688". */
  eventID: string;
  /** `Qualifiers` attribute of `<EventID>` (classic providers), e.g. "16384". */
  qualifiers?: string;
  version?: string;
  level?: string;
  task?: string;
  opcode?: string;
  /** Hex text, e.g. "0x8000000000000000". */
  keywords?: string;
  /** `TimeCreated/@SystemTime` text as rendered, e.g. "2020-10-08T11:03:46.617920300Z". */
  systemTime?: string;
  eventRecordID?: string;
  activityID?: string;
  relatedActivityID?: string;
  processID?: string;
  threadID?: string;
  channel?: string;
  computer?: string;
  /** `Security/@UserID`, a SID string such as "S-1-5-18". */
  userID?: string;
}

/** One `<Data>` of `<EventData>`; `name` is undefined for unnamed data kept by position. */
export interface EventDataItem {
  name?: string;
  value: string;
}

/** A generic XML element, used for UserData and other structures kept as they are. */
export interface XmlElement {
  name: string;
  attributes: [string, string][];
  children: (XmlElement | string)[];
}

export interface WinEvent {
  system: SystemFields;
  /** `<EventData>` `<Data>` items in document order (unnamed ones kept by position). */
  eventData: EventDataItem[];
  /** `<EventData><Binary>` hex text, when present. */
  binary?: string;
  /** `<UserData>`'s single child element, kept as a structure. */
  userData?: XmlElement;
  /** `<RenderingInfo>` (Message, Level, Task, Opcode, Channel, Provider, Keywords/Keyword...), by element name. */
  renderingInfo?: Record<string, string | string[]>;
  /**
   * The event's time as 100-ns ticks since 1601-01-01 UTC (a FILETIME), exact.
   * Readers set it from SystemTime; for records without SystemTime (NXLog, flat JSON/CSV)
   * see `events/time.ts` (`resolveEventTime`) which the field view uses.
   */
  timeTicks?: bigint;
  /**
   * Fields the source carried that are not part of a Windows event (NXLog's EventReceivedTime,
   * Winlogbeat's @timestamp, Splunk's index/source/sourcetype/host of an export). Kept by name.
   */
  extra?: Record<string, string | string[]>;
  provenance: Provenance;
}

/** A problem with the input data: reported, counted, and the run goes on. */
export interface ReadIssue {
  file: string;
  /** Human readable location: "chunk 3 at offset 0x11200", "line 17", "record 5512 at offset 0x2a10". */
  location: string;
  /** Short reason, e.g. "bad chunk CRC32", "truncated record", "invalid JSON". */
  reason: string;
  /**
   * What was lost: "none" (checksum only, still read), "record", "chunk", "file", or "rest" (the file
   * was read up to a point of damage, e.g. a cut .gz, and what follows it is lost).
   */
  lost: "none" | "record" | "chunk" | "file" | "rest";
  /** How many records were skipped, when known. */
  skippedRecords?: number;
  /** EVTX: records found that are not live (stale in a chunk's slack, torn ids), left out unless recovering. */
  notLive?: number;
}

/**
 * A predicate on System fields only, evaluated by readers BEFORE EventData or XML is built, so
 * records that cannot match cost almost nothing. Readers pass whatever System fields they have
 * already decoded; a predicate must return true when a field it needs is undefined (unknown),
 * unless the field is genuinely absent from the record.
 */
export type SystemPredicate = (
  system: Readonly<SystemFields>,
  timeTicks: bigint | undefined,
  data?: EventDataLookup,
) => boolean;

const TICKS_UNUSED = new WeakSet<SystemPredicate>();

/** Declares that `p` never reads its timeTicks argument (readers may skip decoding them); returns p. */
export function withoutTicks(p: SystemPredicate): SystemPredicate {
  TICKS_UNUSED.add(p);
  return p;
}

/** Does `p` read its timeTicks argument? (Not when declared so, or declared with one parameter.) */
export function readsTicks(p: SystemPredicate): boolean {
  return !TICKS_UNUSED.has(p) && p.length >= 2;
}

/**
 * The value of an EventData field (`<Data Name="X">`, as the Splunk field view would give field X,
 * entities not yet re-escaped) that a reader can read before building the event: a string when the
 * record holds exactly that one value, null when the field is certainly absent from the record's
 * field view, undefined when the reader cannot tell (the predicate then keeps the record). Only the
 * EVTX reader supplies it (from a template's substitution values); other readers pass nothing.
 */
export type EventDataLookup = (name: string) => string | null | undefined;

/** Options every reader accepts. */
export interface ReadOptions {
  /** Push-down predicate (see SystemPredicate). */
  filter?: SystemPredicate;
  /** Called for every problem with the input. Never throws from the reader. */
  onIssue?: (issue: ReadIssue) => void;
  /** A finding with the input is fatal (throws InputError after reporting it). */
  strict?: boolean;
  /** Max bytes for one record/line/element (hostile input guard). Default 16 MiB. */
  maxRecordBytes?: number;
  /** EVTX: worker threads for chunk parsing (0 or 1 = in-process). */
  threads?: number;
  /** Cancellation. */
  signal?: AbortSignal;
  /**
   * EVTX forensic recovery: also read records that are not live (stale slack, torn chunks), each
   * flagged in `extra._recovered` (slack|torn) and never duplicating a live record.
   */
  recover?: boolean;
}

/** Raised by readers only in strict mode, or for a whole input that cannot be opened. */
export class InputError extends Error {
  constructor(readonly issue: ReadIssue) {
    super(`${issue.file}: ${issue.location}: ${issue.reason}`);
    this.name = "InputError";
  }
}

/** Look up an EventData value by name (first match). */
export function eventDataValue(ev: WinEvent, name: string): string | undefined {
  for (const item of ev.eventData) if (item.name === name) return item.value;
  return undefined;
}
