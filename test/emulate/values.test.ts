import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HostState } from "../../src/emulate/context.js";
import { WKS01 } from "../../src/emulate/estate.js";
import {
  EPHEMERAL_PORT_MAX,
  EPHEMERAL_PORT_MIN,
  ephemeralPort,
  epochSecondsOf,
  hexId,
  Rng,
  sysmonHashes,
  sysmonLogonGuid,
  sysmonProcessGuid,
  sysmonUtcTime,
  systemTime,
} from "../../src/emulate/values.js";
import { ticksFromIso } from "../../src/events/time.js";

test("Rng: same seed, same stream; different seeds and forks differ", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const sa = Array.from({ length: 20 }, () => a.nextU32());
  assert.deepEqual(
    sa,
    Array.from({ length: 20 }, () => b.nextU32()),
  );
  const c = new Rng(43);
  assert.notDeepEqual(
    sa,
    Array.from({ length: 20 }, () => c.nextU32()),
  );
  const f1 = new Rng(42).fork("x");
  const f2 = new Rng(42).fork("y");
  assert.notEqual(f1.nextU32(), f2.nextU32());
});

test("Rng.int stays in range (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: -1000, max: 1000 }),
      fc.integer({ min: 0, max: 5000 }),
      (seed, min, span) => {
        const r = new Rng(seed);
        for (let i = 0; i < 20; i++) {
          const n = r.int(min, min + span);
          if (n < min || n > min + span || !Number.isInteger(n)) return false;
        }
        return true;
      },
    ),
  );
});

test("ephemeral ports are in 49152-65535", () => {
  const r = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const p = ephemeralPort(r);
    assert.ok(p >= EPHEMERAL_PORT_MIN && p <= EPHEMERAL_PORT_MAX);
  }
});

test("hex ids render as Windows does (0x + lowercase, no padding)", () => {
  assert.equal(hexId(0x3e7), "0x3e7");
  assert.equal(hexId(0x5429550), "0x5429550");
  assert.equal(hexId(0n), "0x0");
});

test("ProcessGuid and LogonGuid follow Sysmon 9's layout (corpus examples)", () => {
  // {365abb72-b17f-5cc8-0000-001082a51e00}: started 2019-04-30 20:35:11 UTC, key 0x001ea582.
  const t = ticksFromIso("2019-04-30T20:35:11.856Z")!;
  assert.equal(sysmonProcessGuid("365abb72", t, 0x001ea582), "{365abb72-b17f-5cc8-0000-001082a51e00}");
  // {365abb72-b17f-5cc8-0000-0020c6a31e00} carries LogonId 0x1ea3c6.
  assert.equal(sysmonLogonGuid("365abb72", t, 0x1ea3c6), "{365abb72-b17f-5cc8-0000-0020c6a31e00}");
  assert.match(
    sysmonProcessGuid("5e1a7c33", t, 0xffffffff),
    /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/,
  );
  assert.equal(epochSecondsOf(t), 0x5cc8b17f);
});

test("hashes are stable per binary and in Sysmon's text form", () => {
  const h = sysmonHashes("C:\\Windows\\System32\\cmd.exe");
  assert.match(h, /^SHA1=[0-9A-F]{40},MD5=[0-9A-F]{32},SHA256=[0-9A-F]{64},IMPHASH=[0-9A-F]{32}$/);
  assert.equal(h, sysmonHashes("c:\\windows\\system32\\CMD.EXE"));
  assert.notEqual(h, sysmonHashes("C:\\Windows\\System32\\cmd.exe", "trojan"));
});

test("timestamps: Sysmon UtcTime in ms, SystemTime with 7 digits", () => {
  const t = ticksFromIso("2024-03-12T09:00:17.9868343Z")!;
  assert.equal(sysmonUtcTime(t), "2024-03-12 09:00:17.986");
  assert.equal(systemTime(t), "2024-03-12T09:00:17.9868343Z");
});

test("PIDs: started processes' PIDs are reused only after 1024 later starts; long runs never run out", () => {
  const host = new HostState(WKS01, new Rng(3), ticksFromIso("2024-03-12T09:00:00Z")!);
  const permanent = new Set([4, host.lsassPid, host.sysmonPid]);
  const seen: number[] = [];
  for (let i = 0; i < 10000; i++) {
    const pid = host.newPid(1000, 14000, false);
    assert.equal(pid % 4, 0);
    assert.ok(!permanent.has(pid));
    assert.ok(!seen.slice(-1024).includes(pid), `pid ${pid} reused too soon`);
    seen.push(pid);
  }
  assert.ok(new Set(seen).size < seen.length, "PIDs are reused, as on Windows");
});

test("random GUIDs are version 4 GUIDs in braces", () => {
  const r = new Rng(11);
  for (let i = 0; i < 200; i++)
    assert.match(r.guid(), /^\{[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$/);
});
