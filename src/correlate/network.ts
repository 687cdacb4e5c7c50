/**
 * The remote peer of a network event, and whether an address is this host's own.
 *
 * Sysmon EID 3 does not say which end is local, and its convention changed: on the 2019 Windows 7
 * recordings (EVTX-ATTACK-SAMPLES) an inbound connection (`Initiated=false`) has the **local** host as
 * Source (SourceHostname = the computer), on the 2020 Windows 10 recordings (Mordor) the **remote**
 * host is Source. So the peer is decided from evidence, in this order: a hostname that names this
 * computer; an address this host is known to own (learned from its outbound connections, whose Source
 * is always local); otherwise the newer convention (Source is the remote end of an inbound connection).
 * When neither tells, a service port (135, 445: below the dynamic range) facing a dynamic port marks
 * the local listener. Security 5156/5157 (WFP): the peer of an outbound (`%%14593`) record is DestAddress;
 * for an inbound one (`%%14592`) the same evidence decides, falling back to SourceAddress (the Mordor
 * recordings name the initiator Source). 4624/5145 carry the caller in IpAddress.
 */
import type { SplunkEvent } from "../events/fields.js";
import { fieldOf, normalizeHost } from "./keys.js";

/** Addresses each host is known to own, learned as events stream by (bounded per host). */
export class LocalAddressBook {
  private readonly byHost = new Map<string, Set<string>>();
  constructor(private readonly maxPerHost = 16) {}

  learn(host: string, ev: SplunkEvent): void {
    const code = fieldOf(ev, "EventCode");
    if (code !== "3" || !isSysmon(ev)) return;
    if (isTrue(fieldOf(ev, "Initiated"))) this.add(host, fieldOf(ev, "SourceIp"));
  }

  add(host: string, ip: string | undefined): void {
    if (!ip || isLoopback(ip)) return;
    let set = this.byHost.get(host);
    if (!set) this.byHost.set(host, (set = new Set()));
    if (set.size < this.maxPerHost) set.add(ip.toLowerCase());
  }

  owns(host: string, ip: string): boolean {
    return this.byHost.get(host)?.has(ip.toLowerCase()) ?? false;
  }
}

export function isSysmon(ev: SplunkEvent): boolean {
  const channel = (fieldOf(ev, "Channel") ?? "").toLowerCase();
  return (
    channel === "microsoft-windows-sysmon/operational" ||
    (fieldOf(ev, "Name") ?? "").toLowerCase() === "microsoft-windows-sysmon"
  );
}

function isTrue(v: string | undefined): boolean {
  return (v ?? "").toLowerCase() === "true";
}

/** 127.0.0.0/8, ::1 (any spelling), ::ffff:127.x, and the "LocalHost (Using LRPC)" of DCOM errors. */
export function isLoopback(ip: string): boolean {
  const v = ip.trim().toLowerCase();
  if (v.startsWith("127.") || v.startsWith("::ffff:127.")) return true;
  if (v === "::1" || v === "0:0:0:0:0:0:0:1" || v === "localhost" || v.startsWith("localhost ")) return true;
  return false;
}

const usable = (v: string | undefined): v is string => v !== undefined && v !== "" && v !== "-";

/** The remote end of a network-ish event: address and, when logged, host name; `local` is this host's end. */
export function peerOf(
  ev: SplunkEvent,
  host: string,
  book: LocalAddressBook,
): { ip?: string; host?: string; local?: string } {
  const code = fieldOf(ev, "EventCode");
  if (code === "3" && isSysmon(ev)) {
    const src = { ip: fieldOf(ev, "SourceIp"), host: fieldOf(ev, "SourceHostname") };
    const dst = { ip: fieldOf(ev, "DestinationIp"), host: fieldOf(ev, "DestinationHostname") };
    if (isTrue(fieldOf(ev, "Initiated"))) return pair(dst, src);
    const names = (h: string | undefined) => usable(h) && normalizeHost(h) === host;
    if (names(src.host)) return pair(dst, src);
    if (names(dst.host)) return pair(src, dst);
    if (usable(src.ip) && book.owns(host, src.ip)) return pair(dst, src);
    if (usable(dst.ip) && book.owns(host, dst.ip)) return pair(src, dst);
    const listener = listenerSide(fieldOf(ev, "SourcePort"), fieldOf(ev, "DestinationPort"));
    if (listener === "source") return pair(dst, src);
    return pair(src, dst);
  }
  if (code === "5156" || code === "5157" || code === "5158") {
    const src = { ip: fieldOf(ev, "SourceAddress") };
    const dst = { ip: fieldOf(ev, "DestAddress") };
    const inbound = /14592|inbound/i.test(fieldOf(ev, "Direction") ?? "");
    if (!inbound) return pair(dst, src);
    if (usable(src.ip) && book.owns(host, src.ip)) return pair(dst, src);
    if (usable(dst.ip) && book.owns(host, dst.ip)) return pair(src, dst);
    if (listenerSide(fieldOf(ev, "SourcePort"), fieldOf(ev, "DestPort")) === "source") return pair(dst, src);
    return pair(src, dst);
  }
  const ip = fieldOf(ev, "IpAddress") ?? fieldOf(ev, "ClientAddress");
  const workstation = fieldOf(ev, "WorkstationName");
  return clean({ ip, host: workstation });
}

/**
 * Which end of an inbound connection is the local listener, when the ports tell: a service port
 * (below the dynamic range 49152-65535, e.g. 135 or 445) facing a dynamic one.
 */
function listenerSide(
  sourcePort: string | undefined,
  destPort: string | undefined,
): "source" | "dest" | undefined {
  const sp = Number(sourcePort);
  const dp = Number(destPort);
  if (!Number.isInteger(sp) || !Number.isInteger(dp)) return undefined;
  if (sp < 49152 && dp >= 49152) return "source";
  if (dp < 49152 && sp >= 49152) return "dest";
  return undefined;
}

function pair(
  peer: { ip?: string; host?: string },
  local: { ip?: string; host?: string },
): { ip?: string; host?: string; local?: string } {
  return { ...clean(peer), local: clean(local).ip };
}

function clean(p: { ip?: string; host?: string }): { ip?: string; host?: string } {
  return {
    ip: usable(p.ip) ? p.ip.replace(/^::ffff:/i, "") : undefined,
    host: usable(p.host) ? p.host : undefined,
  };
}

/** Is this address the target itself (loopback, or an address the host owns)? */
export function isLocalAddress(ip: string, host: string, book: LocalAddressBook): boolean {
  return isLoopback(ip) || book.owns(host, ip);
}

/**
 * The connection a network record is about, as its two endpoints sorted ("10.0.0.1:5000|10.0.0.2:135"):
 * the source host's outbound record and the target host's inbound record of one TCP connection give the
 * same text whichever end each calls Source, so it joins the two hosts' views of one DCOM call.
 */
export function connectionOf(ev: SplunkEvent): string | undefined {
  const code = fieldOf(ev, "EventCode");
  let a: [string | undefined, string | undefined];
  let b: [string | undefined, string | undefined];
  if (code === "3" && isSysmon(ev)) {
    a = [fieldOf(ev, "SourceIp"), fieldOf(ev, "SourcePort")];
    b = [fieldOf(ev, "DestinationIp"), fieldOf(ev, "DestinationPort")];
  } else if (code === "5156" || code === "5157" || code === "5158") {
    a = [fieldOf(ev, "SourceAddress"), fieldOf(ev, "SourcePort")];
    b = [fieldOf(ev, "DestAddress"), fieldOf(ev, "DestPort")];
  } else return undefined;
  if (!usable(a[0]) || !usable(a[1]) || !usable(b[0]) || !usable(b[1])) return undefined;
  const end = (e: [string | undefined, string | undefined]) =>
    `${e[0]!.toLowerCase().replace(/^::ffff:/, "")}:${e[1]}`;
  return [end(a), end(b)].sort().join("|");
}
