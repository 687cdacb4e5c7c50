/**
 * Realistic value generators for emulated telemetry: a seeded PRNG (never Math.random), and the
 * exact text layouts Windows and Sysmon render (ProcessGuid, LogonGuid, hex LogonIds and PIDs,
 * SIDs, hashes, ephemeral ports, 100-ns timestamps).
 */
import { createHash } from "node:crypto";
import { EPOCH_DIFF_TICKS, isoFromTicks, TICKS_PER_SECOND } from "../events/time.js";

/** FNV-1a 32-bit hash of a label: used to derive independent PRNG streams from names. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A small seeded PRNG (mulberry32). `fork(label)` derives an independent stream, so adding a
 * scenario or an event to one scenario never changes the values of another.
 */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Float in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }
  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty list");
    return items[this.int(0, items.length - 1)];
  }
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string {
    let out = "";
    for (let i = 0; i < bytes; i++) out += (this.nextU32() & 0xff).toString(16).padStart(2, "0");
    return out;
  }
  /** A random (version 4) GUID, lowercase, in braces (the way Windows renders GUID values in EventData). */
  guid(): string {
    const h = this.hex(16);
    const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `{${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}}`;
  }
  fork(label: string): Rng {
    return new Rng((Math.imul(this.seed ^ fnv1a(label), 0x9e3779b1) ^ fnv1a(`${label}#${this.seed}`)) >>> 0);
  }
}

/** Ephemeral (dynamic) port range used by Windows Vista+ for client sockets and DCOM/RPC servers. */
export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;

export function ephemeralPort(rng: Rng): number {
  return rng.int(EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX);
}

/** Windows renders HexInt32/HexInt64 values as `0x` + lowercase hex without padding ("0x3e7"). */
export function hexId(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/** 4-byte little-endian hex of a 32-bit value ("0x1ea3c6" -> "c6a31e00"). */
function le32(value: number): string {
  const v = value >>> 0;
  let out = "";
  for (let i = 0; i < 4; i++) out += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  return out;
}

/** Epoch seconds of a FILETIME. */
export function epochSecondsOf(ticks: bigint): number {
  return Number((ticks - EPOCH_DIFF_TICKS) / TICKS_PER_SECOND);
}

/**
 * Sysmon 9.x (schema 4.1x) ProcessGuid layout, as in the corpus (e.g.
 * `{747F3D96-D6ED-5D31-0000-0010C88A2500}` on Windows 10 1809):
 * `{machine(4 bytes)-startLo16-startHi16-0000-0010 + processKey(4 bytes LE)}` where start is
 * the process start time in epoch seconds and processKey a per-boot unique kernel value.
 */
export function sysmonProcessGuid(machinePrefix: string, startTicks: bigint, processKey: number): string {
  const secs = epochSecondsOf(startTicks) >>> 0;
  const lo = (secs & 0xffff).toString(16).padStart(4, "0");
  const hi = (secs >>> 16).toString(16).padStart(4, "0");
  return `{${machinePrefix}-${lo}-${hi}-0000-0010${le32(processKey)}}`;
}

/**
 * Sysmon 9.x LogonGuid: same machine/time prefix, then `0020` + the LogonId as 4 bytes little-endian
 * (`{365abb72-b17f-5cc8-0000-0020c6a31e00}` carries LogonId 0x1ea3c6; SYSTEM's ends in 0020e7030000).
 */
export function sysmonLogonGuid(machinePrefix: string, logonTicks: bigint, logonId: number): string {
  const secs = epochSecondsOf(logonTicks) >>> 0;
  const lo = (secs & 0xffff).toString(16).padStart(4, "0");
  const hi = (secs >>> 16).toString(16).padStart(4, "0");
  return `{${machinePrefix}-${lo}-${hi}-0000-0020${le32(logonId)}}`;
}

/** A domain SID `S-1-5-21-a-b-c` from the seed. */
export function domainSid(rng: Rng): string {
  return `S-1-5-21-${rng.int(1000000000, 4294967295)}-${rng.int(1000000000, 4294967295)}-${rng.int(1000000000, 4294967295)}`;
}

/**
 * Sysmon `Hashes` text for a binary (SHA1, MD5, SHA256, IMPHASH as Sysmon configs commonly log
 * them). The same path gives the same hashes on every host, as the same binary would; `variant`
 * distinguishes attacker-built files.
 */
export function sysmonHashes(imagePath: string, variant = ""): string {
  const key = `${imagePath.toLowerCase()}|${variant}`;
  const h = (algo: string, salt: string) =>
    createHash(algo)
      .update(salt + key)
      .digest("hex")
      .toUpperCase();
  return `SHA1=${h("sha1", "")},MD5=${h("md5", "")},SHA256=${h("sha256", "")},IMPHASH=${h("md5", "imphash:")}`;
}

/** Sysmon `UtcTime` text: "2024-03-12 09:14:07.123" (milliseconds). */
export function sysmonUtcTime(ticks: bigint): string {
  return isoFromTicks(ticks, 3).replace("T", " ").replace("Z", "");
}

/** `TimeCreated/@SystemTime` as modern Windows renders it: 7 fractional digits and Z. */
export function systemTime(ticks: bigint): string {
  return isoFromTicks(ticks, 7);
}
