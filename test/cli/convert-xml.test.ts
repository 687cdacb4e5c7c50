/**
 * `convert --format xml` (issue 15): the compact renderer (renderEventXml's path for events without
 * UserData/RenderingInfo) must give exactly the text of the general XmlWriter renderer, record by
 * record, on every corpus EVTX, on EVTX we write ourselves (with XML specials and control characters
 * in values) and on generated events; and the command's whole output must be the header, each event
 * rendered by the general renderer, and the footer (today's output, byte for byte).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { convertCommand } from "../../src/cli/convert.js";
import type { WinEvent } from "../../src/events/model.js";
import { renderEventXml, renderEventXmlWriter } from "../../src/events/xml.js";
import { readEvtx, writeEvtxFile } from "../../src/readers/evtx/index.js";
import { readInputs } from "../../src/readers/index.js";
import { skipUnlessExists } from "../helpers/env.js";
import { CORPUS, corpusEvtx } from "../readers/evtx/helpers.js";
import { sysmonMix } from "../readers/evtx/sysmon-mix.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-convert-xml-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const inCI = process.env.CI === "true";
if (inCI && !existsSync(CORPUS)) throw new Error(`CI: corpus absent: ${CORPUS}`);

function evtxFiles(): string[] {
  const edge = path.join(CORPUS, "evtx-edge");
  const extra = existsSync(edge)
    ? readdirSync(edge)
        .filter((f) => f.endsWith(".evtx"))
        .map((f) => path.join(edge, f))
    : [];
  return [...corpusEvtx(), ...extra];
}

/** Sysmon events with XML specials, control characters and empty values in EventData and System. */
function* awkwardEvents(): Generator<WinEvent> {
  let i = 0;
  for (const ev of sysmonMix(300, 7)) {
    if (i % 3 === 0) ev.eventData.push({ name: "Odd", value: `a&b<c>"d'\r\n\te\u0001${i}` });
    if (i % 5 === 0) ev.eventData.push({ name: "Empty", value: "" });
    if (i % 7 === 0) ev.system.computer = `host&<${i}>`;
    i++;
    yield ev;
  }
}

async function sameRendering(file: string): Promise<number> {
  let n = 0;
  for await (const ev of readEvtx(file)) {
    assert.equal(renderEventXml(ev), renderEventXmlWriter(ev), `${file} record ${ev.system.eventRecordID}`);
    n++;
  }
  return n;
}

describe("convert --format xml: compact renderer = general renderer", () => {
  test("record by record on every corpus EVTX", {
    skip: skipUnlessExists(CORPUS, "corpus"),
  }, async () => {
    const files = evtxFiles();
    assert.ok(files.length >= 8);
    let n = 0;
    for (const f of files) n += await sameRendering(f);
    assert.ok(n > 1000, `${n} records`);
  });

  test("record by record on EVTX written by our writer (specials, control characters, empties)", async () => {
    const file = path.join(tmp, "awkward.evtx");
    await writeEvtxFile(file, awkwardEvents());
    assert.equal(await sameRendering(file), 300);
  });

  test("property: generated events", () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom("&", "<", ">", '"', "'", "\r", "\n", "\t", "\u0000", "é"),
        fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
      ),
      maxLength: 10,
    });
    const opt = fc.option(text, { nil: undefined });
    const event = fc.record({
      system: fc.record({
        eventID: text,
        providerName: opt,
        providerGuid: opt,
        eventSourceName: opt,
        qualifiers: opt,
        version: opt,
        level: opt,
        task: opt,
        opcode: opt,
        keywords: opt,
        systemTime: opt,
        eventRecordID: opt,
        activityID: opt,
        relatedActivityID: opt,
        processID: opt,
        threadID: opt,
        channel: opt,
        computer: opt,
        userID: opt,
      }),
      eventData: fc.array(fc.record({ name: opt, value: text }), { maxLength: 4 }),
      binary: opt,
    });
    fc.assert(
      fc.property(event, (raw) => {
        const ev = { ...raw, provenance: { file: "x", format: "xml" } } as unknown as WinEvent;
        if (ev.binary === undefined) delete ev.binary;
        assert.equal(renderEventXml(ev), renderEventXmlWriter(ev));
      }),
      { numRuns: 500 },
    );
  });

  test("the command's output is today's: header, each event by the general renderer, footer", async () => {
    const file = path.join(tmp, "mix.evtx");
    await writeEvtxFile(file, awkwardEvents());
    const inputs = existsSync(CORPUS) ? [file, path.join(CORPUS, "benign", "security.evtx")] : [file];
    const out = path.join(tmp, "out.xml");
    assert.equal(await convertCommand([...inputs, "-f", "xml", "-q", "-o", out]), 0);
    let expected = '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n';
    for await (const ev of readInputs(inputs, {})) expected += `${renderEventXmlWriter(ev)}\n`;
    expected += "</Events>\n";
    assert.equal(readFileSync(out, "utf8"), expected);
  });
});
