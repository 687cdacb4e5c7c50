/**
 * Normalized identities for joining events from different logs, shippers and Windows versions:
 * host names (`WORKSTATION6` = `workstation6.theshire.local`) and join-key values (LogonIds and PIDs
 * written as `0x3ade94`, `0x00000000003ade94` or decimal; GUIDs with any case).
 */
import type { FieldValue, SplunkEvent } from "../events/fields.js";

export function firstValue(v: FieldValue | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function fieldOf(ev: SplunkEvent, name: string): string | undefined {
  return firstValue(ev.fields.get(name));
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The host an event was logged on, for joining: its Computer (or `host`, or NXLog's Hostname), case
 * folded, reduced to the short name unless it is an IP address. Splunk's host may be a forwarder
 * override, so Computer comes first.
 */
export function eventHost(ev: SplunkEvent): string {
  const raw = fieldOf(ev, "Computer") ?? fieldOf(ev, "Hostname") ?? fieldOf(ev, "host") ?? "";
  return normalizeHost(raw);
}

export function normalizeHost(name: string): string {
  const h = name.trim().toLowerCase();
  if (h === "" || IPV4.test(h) || h.includes(":")) return h;
  const dot = h.indexOf(".");
  return dot > 0 ? h.slice(0, dot) : h;
}

/** Values that identify nothing: never bind a join key. */
const NULL_VALUES = new Set(["", "-", "0", "null", "n/a", "{00000000-0000-0000-0000-000000000000}"]);

/**
 * A join-key value as compared: trimmed and case folded; `0x` hex and plain decimal numbers become
 * decimal text (so the LogonId and PID spellings of Sysmon, Security and NXLog agree). Null-like
 * values (`-`, `0x0`, the zero GUID) give undefined: they never join anything.
 */
export function normalizeKeyValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let v = value.trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(v)) v = BigInt(v).toString(10);
  else if (/^[0-9]+$/.test(v)) v = BigInt(v).toString(10);
  return NULL_VALUES.has(v) ? undefined : v;
}
