/**
 * Fidelity to real logs: every (Provider, EventID, Version) we emit has the EventData names in the
 * order real events of that kind have in ../shared/corpus, and the same System block shape.
 * Ordered shapes come from the golden XML (libevtx's evtxexport rendering of real EVTX files);
 * kinds only in the NXLog JSON (which loses order and drops empty values) are checked by name set;
 * kinds absent from the corpus must say so (orderSource "manifest").
 */
import assert from "node:assert/strict";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { EVENT_KINDS, type EventKind } from "../../src/emulate/schemas.js";
import type { WinEvent } from "../../src/events/model.js";
import { skipUnless } from "../helpers/env.js";

const CORPUS = path.resolve(fileURLToPath(import.meta.url), "../../../../shared/corpus");
const skip = skipUnless(existsSync(CORPUS), `corpus absent: ${CORPUS}`);

const kindKey = (provider: string, eventID: string, version: string) => `${provider}|${eventID}|${version}`;

interface GoldenKind {
  /** Distinct EventData name sequences seen. */
  orders: Set<string>;
  /** Distinct System shapes seen (which SystemFields carry a value). */
  systemShapes: Set<string>;
}

/** SystemFields keys that a real `<System>` block carries a value for. */
function goldenSystemShape(system: string): string {
  const keys: string[] = [];
  const attr = (el: string, name: string) =>
    new RegExp(`<${el}\\b[^>]*\\b${name}="([^"]*)"`).exec(system)?.[1];
  const text = (el: string) => new RegExp(`<${el}\\b[^>]*>([^<]*)</${el}>`).exec(system)?.[1];
  const add = (key: string, v: string | undefined) => {
    if (v !== undefined && v !== "") keys.push(key);
  };
  add("providerName", attr("Provider", "Name"));
  add("providerGuid", attr("Provider", "Guid"));
  add("eventSourceName", attr("Provider", "EventSourceName"));
  add("eventID", text("EventID"));
  add("qualifiers", attr("EventID", "Qualifiers"));
  for (const el of [
    "Version",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "EventRecordID",
    "Channel",
    "Computer",
  ]) {
    add(el === "EventRecordID" ? "eventRecordID" : el.toLowerCase(), text(el));
  }
  add("systemTime", attr("TimeCreated", "SystemTime"));
  add("activityID", attr("Correlation", "ActivityID"));
  add("relatedActivityID", attr("Correlation", "RelatedActivityID"));
  add("processID", attr("Execution", "ProcessID"));
  add("threadID", attr("Execution", "ThreadID"));
  add("userID", attr("Security", "UserID"));
  return keys.sort().join(",");
}

/** The shape without the parts that vary with the Windows version (ActivityID, UserID). */
function coreShape(shape: string): string {
  return shape
    .split(",")
    .filter((k) => k !== "activityID" && k !== "userID")
    .join(",");
}

function optionalFlags(shape: string): string {
  const keys = shape.split(",");
  return `activityID=${keys.includes("activityID")},userID=${keys.includes("userID")}`;
}

function emittedSystemShape(ev: WinEvent): string {
  return Object.entries(ev.system)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k]) => k)
    .sort()
    .join(",");
}

/** Scan the golden evtxexport XML (real events) into kinds -> orders and System shapes. */
function loadGolden(): Map<string, GoldenKind> {
  const golden = new Map<string, GoldenKind>();
  const dir = path.join(CORPUS, "golden");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".evtxexport.xml"))) {
    const text = readFileSync(path.join(dir, file), "utf8");
    for (const m of text.matchAll(/<Event xmlns[\s\S]*?<\/Event>/g)) {
      const ev = m[0];
      const system = /<System>([\s\S]*?)<\/System>/.exec(ev)?.[1] ?? "";
      const provider = /<Provider Name="([^"]*)"/.exec(system)?.[1] ?? "";
      const eventID = /<EventID[^>]*>(\d+)</.exec(system)?.[1] ?? "";
      const version = /<Version>(\d+)</.exec(system)?.[1] ?? "";
      const eventData = /<EventData>([\s\S]*?)<\/EventData>/.exec(ev)?.[1];
      const names = eventData ? [...eventData.matchAll(/<Data Name="([^"]*)"/g)].map((d) => d[1]) : [];
      const key = kindKey(provider, eventID, version);
      let k = golden.get(key);
      if (!k) {
        k = { orders: new Set(), systemShapes: new Set() };
        golden.set(key, k);
      }
      k.orders.add(names.join(","));
      k.systemShapes.add(goldenSystemShape(system));
    }
  }
  return golden;
}

/** NXLog's own fields (not EventData) in the corpus JSON lines. */
const NXLOG_META = new Set(
  (
    "Keywords SeverityValue EventID ProviderGuid ExecutionProcessID Channel host EventReceivedTime ThreadID EventType " +
    "Opcode EventTime Message @timestamp SourceModuleType port RecordNumber Task @version OpcodeValue SourceModuleName " +
    "Severity SourceName Version Category tags Hostname Domain AccountName UserID AccountType ActivityID " +
    "RelatedActivityID ERROR_EVT_UNRESOLVED"
  ).split(" "),
);

/**
 * NXLog name set, normalised for its known losses: names lower-cased (it spells 5156's ProcessID
 * "ProcessId") and ProcessId dropped (it collides with NXLog's own process id field and is missing
 * from many of its records).
 */
function nxlogNameSet(names: Iterable<string>): string {
  return [...new Set([...names].map((n) => n.toLowerCase()).filter((n) => n !== "processid"))]
    .sort()
    .join(",");
}

let nxlogFlags: Promise<Map<string, Set<string>>> | undefined;

/** Per kind, the (ActivityID present, UserID present) pairs the NXLog JSON records show. */
function nxlogSystemFlags(): Promise<Map<string, Set<string>>> {
  nxlogFlags ??= (async () => {
    const out = new Map<string, Set<string>>();
    const wanted = new Set(EVENT_KINDS.map((k) => kindKey(k.providerName, k.eventID, k.version)));
    await scanNxlog(wanted, (key, rec) => {
      let flags = out.get(key);
      if (!flags) {
        flags = new Set();
        out.set(key, flags);
      }
      flags.add(`activityID=${"ActivityID" in rec},userID=${"UserID" in rec}`);
    });
    return out;
  })();
  return nxlogFlags;
}

async function scanNxlog(
  wanted: Set<string>,
  visit: (key: string, rec: Record<string, unknown>) => void,
): Promise<void> {
  const dir = path.join(CORPUS, "attacks");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const lines = createInterface({
      input: createReadStream(path.join(dir, file), "utf8"),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      const eid = /"EventID":(\d+)/.exec(line)?.[1];
      const provider = /"SourceName":"([^"]*)"/.exec(line)?.[1];
      const version = /"Version":(\d+)/.exec(line)?.[1];
      if (!eid || !provider || !version) continue;
      const key = kindKey(provider, eid, version);
      if (wanted.has(key)) visit(key, JSON.parse(line) as Record<string, unknown>);
    }
  }
}

async function loadNxlogNameSets(wanted: Set<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  await scanNxlog(wanted, (key, rec) => {
    let sets = out.get(key);
    if (!sets) {
      sets = new Set();
      out.set(key, sets);
    }
    sets.add(nxlogNameSet(Object.keys(rec).filter((k) => !NXLOG_META.has(k))));
  });
  return out;
}

const allEvents = emulate(
  scenarios.map((s) => s.name),
  { noise: 300 },
);

function kindOf(ev: WinEvent): EventKind | undefined {
  return EVENT_KINDS.find(
    (k) =>
      k.providerName === ev.system.providerName &&
      k.eventID === ev.system.eventID &&
      k.version === ev.system.version,
  );
}

describe("emitted kinds", () => {
  test("every emitted event is a declared kind, with its EventData in the kind's order", () => {
    const seen = new Set<string>();
    for (const ev of allEvents) {
      const k = kindOf(ev);
      assert.ok(k, `undeclared kind ${ev.system.providerName} ${ev.system.eventID} v${ev.system.version}`);
      assert.deepEqual(
        ev.eventData.map((d) => d.name),
        [...k.fields],
      );
      seen.add(kindKey(k.providerName, k.eventID, k.version));
    }
    // The full run exercises every declared kind, so the corpus checks below cover what we emit.
    assert.deepEqual(
      [...seen].sort(),
      EVENT_KINDS.map((k) => kindKey(k.providerName, k.eventID, k.version)).sort(),
    );
  });
});

describe("fidelity to the corpus", { skip }, () => {
  const golden = skip ? new Map<string, GoldenKind>() : loadGolden();

  for (const k of EVENT_KINDS) {
    const key = kindKey(k.providerName, k.eventID, k.version);
    const label = `${k.providerName} ${k.eventID} v${k.version}`;
    if (k.orderSource === "corpus") {
      test(`${label}: EventData names and order equal a real event's`, () => {
        const real = golden.get(key);
        assert.ok(real, `no ${label} in the golden XML`);
        assert.ok(
          real.orders.has(k.fields.join(",")),
          `order ${k.fields.join(",")} not among ${[...real.orders].join(" | ")}`,
        );
      });
    } else {
      test(`${label}: not in the golden XML (order from the published manifest)`, () => {
        assert.equal(golden.has(key), false, `${label} is in the golden XML: take its order from there`);
      });
    }
    test(`${label}: System block has the shape of real events`, async () => {
      const ours = allEvents.filter((ev) => kindOf(ev) === k);
      assert.ok(ours.length > 0);
      const real = golden.get(key);
      // Kinds missing from the golden XML take the shape of the same provider's golden events (same channel writer).
      const reference =
        real?.systemShapes ??
        new Set(
          [...golden.entries()]
            .filter(([gk]) => gk.startsWith(`${k.providerName}|`))
            .flatMap(([, g]) => [...g.systemShapes]),
        );
      // Whether a Correlation ActivityID and a Security UserID are present varies with the Windows
      // version (the golden Security log is older than the NXLog one): accept what either shows.
      const flags = new Set([...reference].map(optionalFlags));
      for (const f of (await nxlogSystemFlags()).get(key) ?? []) flags.add(f);
      const core = new Set([...reference].map(coreShape));
      for (const shape of new Set(ours.map(emittedSystemShape))) {
        if (reference.size === 0) {
          // Provider absent from the golden XML (PowerShell): a manifest provider's System block.
          assert.equal(
            coreShape(shape),
            "channel,computer,eventID,eventRecordID,keywords,level,opcode,processID,providerGuid,providerName,systemTime,task,threadID,version",
          );
        } else {
          assert.ok(
            core.has(coreShape(shape)),
            `${label}: System shape ${shape} not among ${[...reference].join(" | ")}`,
          );
        }
        assert.ok(
          flags.has(optionalFlags(shape)),
          `${label}: ${optionalFlags(shape)} not among ${[...flags].join(" | ")}`,
        );
      }
    });
  }

  const jsonKinds = EVENT_KINDS.filter((k) => k.orderSource === "corpus-json+manifest");
  test("kinds known only from the NXLog JSON: EventData names equal a real event's", async () => {
    const wanted = new Set(jsonKinds.map((k) => kindKey(k.providerName, k.eventID, k.version)));
    const sets = await loadNxlogNameSets(wanted);
    for (const k of jsonKinds) {
      const key = kindKey(k.providerName, k.eventID, k.version);
      const real = sets.get(key);
      assert.ok(real, `no ${key} in the NXLog JSON`);
      // NXLog drops empty values: compare each emitted event's non-empty names.
      for (const ev of allEvents.filter((e) => kindOf(e) === k)) {
        const ours = nxlogNameSet(ev.eventData.filter((d) => d.value !== "").map((d) => d.name ?? ""));
        assert.ok(real.has(ours), `${key}: names ${ours} not among ${[...real].join(" | ")}`);
      }
    }
  });

  test("kinds from the published manifest only are absent from the NXLog JSON too", async () => {
    const manifestKinds = EVENT_KINDS.filter((k) => k.orderSource === "manifest");
    assert.ok(manifestKinds.length > 0);
    const sets = await loadNxlogNameSets(
      new Set(manifestKinds.map((k) => kindKey(k.providerName, k.eventID, k.version))),
    );
    assert.deepEqual([...sets.keys()], []);
  });
});
