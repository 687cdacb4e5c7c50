/**
 * Parity with the reference parsers (python-evtx and libevtx) on every corpus EVTX: our XML goes
 * through ../shared/tools/evtxcmp.py against the golden dumps, and our event model is compared
 * field by field with libevtx's dump (Level, Task, Opcode, Keywords, Execution, Security UserID,
 * record set). Also: the compiled fast paths give exactly what the reference tree walk gives.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { SaxesParser } from "saxes";
import { readChunk } from "../../../src/readers/evtx/chunk.js";
import { evtxChunks } from "../../../src/readers/evtx/file.js";
import { skipUnless } from "../../helpers/env.js";
import { CORPUS, collect, collectXml, corpusEvtx, corpusSkip, EVTXCMP, hasCommand } from "./helpers.js";

const pythonSkip = corpusSkip || skipUnless(hasCommand("python3"), "python3 absent");

function golden(file: string, kind: "evtx_dump" | "evtxexport"): string {
  return path.join(CORPUS, "golden", `${path.basename(file, ".evtx")}.${kind}.xml`);
}

interface GoldenRecord {
  level?: string;
  task?: string;
  opcode?: string;
  keywords?: string;
  processID?: string;
  threadID?: string;
  userID?: string;
}

/** libevtx's dump, per EventRecordID (its System block only). */
function parseEvtxexport(file: string): Map<string, GoldenRecord> {
  const text = readFileSync(file, "utf8");
  const out = new Map<string, GoldenRecord>();
  for (const block of text.split("<Event xmlns").slice(1)) {
    const sys = block.slice(0, block.indexOf("</System>"));
    const el = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(sys)?.[1];
    const at = (elName: string, name: string) =>
      new RegExp(`<${elName}\\b[^>]*\\s${name}="([^"]*)"`).exec(sys)?.[1];
    const id = el("EventRecordID");
    if (id === undefined) continue;
    out.set(id, {
      level: el("Level"),
      task: el("Task"),
      opcode: el("Opcode"),
      keywords: el("Keywords"),
      processID: at("Execution", "ProcessID"),
      threadID: at("Execution", "ThreadID"),
      userID: at("Security", "UserID"),
    });
  }
  return out;
}

function num(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return /^0x[0-9a-f]+$/i.test(v) ? BigInt(v).toString() : v;
}

describe("EVTX parity with python-evtx and libevtx", { skip: corpusSkip }, () => {
  const files = corpusEvtx();

  test("the corpus has EVTX files and golden dumps for each", () => {
    assert.ok(files.length >= 14, `found ${files.length} EVTX files`);
    for (const f of files) assert.ok(existsSync(golden(f, "evtxexport")), golden(f, "evtxexport"));
  });

  test("evtxcmp.py: every record of every corpus EVTX agrees with the references", {
    skip: pythonSkip,
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "evtx-parity-"));
    try {
      for (const f of files) {
        const { records } = await collectXml(f);
        const ours = path.join(dir, path.basename(f) + ".xml");
        writeFileSync(ours, records.map((r) => r.xml).join("\n"));
        const r = spawnSync("python3", [EVTXCMP, ours, golden(f, "evtx_dump"), golden(f, "evtxexport")], {
          encoding: "utf8",
        });
        assert.equal(r.status, 0, `${path.basename(f)}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /: (\d+)\/\1$/m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the event model agrees with libevtx on System fields, record by record, with no extra records", async () => {
    for (const f of files) {
      const ref = parseEvtxexport(golden(f, "evtxexport"));
      const { events } = await collect(f);
      assert.equal(events.length, ref.size, `${path.basename(f)}: record count`);
      const seen = new Set<string>();
      for (const ev of events) {
        const id = ev.system.eventRecordID!;
        const g = ref.get(id);
        assert.ok(g, `${path.basename(f)}: record ${id} is not in libevtx's dump`);
        seen.add(id);
        const where = `${path.basename(f)} record ${id}`;
        assert.equal(ev.system.level, g.level, `${where} Level`);
        assert.equal(ev.system.task, g.task, `${where} Task`);
        assert.equal(ev.system.opcode, g.opcode, `${where} Opcode`);
        assert.equal(num(ev.system.keywords), num(g.keywords), `${where} Keywords`);
        assert.equal(ev.system.processID, g.processID, `${where} Execution/@ProcessID`);
        assert.equal(ev.system.threadID, g.threadID, `${where} Execution/@ThreadID`);
        assert.equal(ev.system.userID, g.userID, `${where} Security/@UserID`);
        assert.equal(ev.provenance.format, "evtx");
        assert.equal(typeof ev.provenance.offset, "number");
      }
      assert.equal(seen.size, ref.size, `${path.basename(f)}: distinct records`);
    }
  });

  test("known values render as Windows renders them", async () => {
    const { events } = await collect(path.join(CORPUS, "attacks", "LM_impacket_docmexec_mmc_sysmon_01.evtx"));
    const ev = events[0];
    assert.match(ev.system.systemTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    assert.match(
      ev.system.providerGuid!,
      /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/,
    );
    assert.equal(ev.system.userID, "S-1-5-18");
    assert.equal(typeof ev.timeTicks, "bigint");
    const sec = await collect(path.join(CORPUS, "benign", "security.evtx"));
    const logon = sec.events.find((e) => e.system.eventID === "4624")!;
    const logonId = logon.eventData.find((d) => d.name === "TargetLogonId")!.value;
    assert.match(logonId, /^0x[0-9a-f]+$/);
    assert.ok(!logonId.startsWith("0x0"), `hex without padding: ${logonId}`);
    const sys = await collect(path.join(CORPUS, "benign", "system.evtx"));
    assert.ok(
      sys.events.some((e) => e.userData !== undefined),
      "UserData kept as a tree",
    );
    assert.ok(
      sys.events.some((e) => e.eventData.some((d) => d.name === undefined)),
      "unnamed Data kept",
    );
    assert.ok(
      sys.events.some((e) => /^[0-9A-F]+$/.test(e.binary ?? "")),
      "Binary as uppercase hex",
    );
    assert.ok(
      sys.events.some((e) => e.system.qualifiers !== undefined) &&
        sys.events.some((e) => !("qualifiers" in e.system)),
      "optional Qualifiers left out when null",
    );
  });

  test("every record's XML is well-formed, one Event element in the event namespace", async () => {
    for (const f of files.slice(0, 4).concat(path.join(CORPUS, "benign", "system.evtx"))) {
      const { records } = await collectXml(f);
      for (const r of records) {
        const parser = new SaxesParser({ xmlns: true });
        let roots = 0;
        let depth = 0;
        parser.on("opentag", (t) => {
          if (depth++ === 0) {
            roots++;
            assert.equal(t.local, "Event");
            assert.equal(t.uri, "http://schemas.microsoft.com/win/2004/08/events/event");
          }
        });
        parser.on("closetag", () => depth--);
        parser.write(r.xml).close();
        assert.equal(roots, 1);
      }
    }
  });

  test("the compiled paths (XML program, model plan) give what the tree walk gives", async () => {
    let compared = 0;
    for (const f of files) {
      for await (const chunk of evtxChunks(f, f, () => {})) {
        for (const mode of ["xml", "event"] as const) {
          const fast = readChunk(chunk, { mode });
          const slow = readChunk(chunk, { mode, slowPath: true });
          assert.deepEqual(fast, slow);
          compared += fast.records.length;
        }
      }
    }
    assert.ok(compared > 10000, `compared ${compared}`);
  });
});
