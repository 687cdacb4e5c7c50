/**
 * Deterministic alert ids: the same detection over the same events gets the same id whichever way the
 * events arrived (a file scan, HEC, a replay after a crash), so a store can drop what it already holds.
 *
 * Identity of a search result row: its rule and the event behind it (Computer, Channel, EventRecordID)
 * plus the row's own fields. Identity of a correlation alert: its rule and its evidence events
 * (Computer, Channel, EventRecordID, time). File names and offsets are not part of either: a replayed
 * event arrives under another source name.
 */
import { createHash } from "node:crypto";

type Flat = Record<string, unknown>;

function text(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(text).join("\u0001");
  return String(v);
}

/** The identity string of a result row or an alert in its json shape (flattenRow / alertToJson). */
export function alertIdentity(rec: Flat): string {
  const rule = text(rec._rule_id);
  if (Array.isArray(rec.evidence)) {
    const keys = (rec.evidence as Flat[])
      .map((e) =>
        [
          text(e._computer).toLowerCase(),
          text(e._channel).toLowerCase(),
          text(e._record_id),
          text(e._time),
        ].join("\u0000"),
      )
      .sort();
    return `alert\u0002${rule}\u0002${keys.join("\u0002")}`;
  }
  const own = Object.keys(rec)
    .filter((k) => !k.startsWith("_") && k !== "id" && k !== "received")
    .sort()
    .map((k) => `${k}=${text(rec[k])}`);
  const event = [text(rec._computer).toLowerCase(), text(rec._channel).toLowerCase(), text(rec._record_id)];
  return `row\u0002${rule}\u0002${event.join("\u0000")}\u0002${own.join("\u0000")}`;
}

/** A 128-bit hex id of the identity. */
export function alertId(rec: Flat): string {
  return createHash("sha256").update(alertIdentity(rec)).digest("hex").slice(0, 32);
}
