import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compressionOf, detectFormat } from "../../src/readers/detect.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../fixtures/readers");
const bytes = (s: string) => Buffer.from(s, "utf8");

describe("detectFormat: content first", () => {
  test("every fixture is detected from its content, whatever its name", () => {
    const expected: Record<string, string> = {
      "windows-events.xml": "xml",
      "python-evtx-style.xml": "xml",
      "splunk-raw.xml": "xml",
      "evtx_dump.json": "json",
      "evtx_dump.jsonl": "json",
      "chainsaw-hunt.json": "json",
      "winlogbeat.ndjson": "json",
      "nxlog.ndjson": "json",
      "splunk-export.json": "json",
      "splunk-raw.csv": "csv",
      "splunk-flat.csv": "csv",
    };
    for (const [file, format] of Object.entries(expected)) {
      const head = readFileSync(path.join(fixtures, file)).subarray(0, 65536);
      assert.equal(detectFormat(head, "renamed.log"), format, file);
      assert.equal(detectFormat(head), format, file);
    }
  });

  test("EVTX magic, BOMs, UTF-16, banners", () => {
    assert.equal(detectFormat(Buffer.concat([bytes("ElfFile\0"), Buffer.alloc(120)]), "x.json"), "evtx");
    assert.equal(detectFormat(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"a":1}')])), "json");
    assert.equal(
      detectFormat(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("<Event>", "utf16le")])),
      "xml",
    );
    assert.equal(detectFormat(Buffer.from("  <Events>", "utf16le")), "xml", "UTF-16 without BOM");
    assert.equal(detectFormat(bytes("evtxexport 20181227\n\n<Event xmlns='x'>")), "xml");
    assert.equal(detectFormat(bytes("Record 1\n{\n")), "json");
    assert.equal(detectFormat(bytes('\n\n[{"Event":{}}]')), "json");
  });

  test("plain text and binary are unknown; the extension only decides for empty content", () => {
    assert.equal(detectFormat(bytes("Hello, this is a README.\nNothing to see.\n"), "notes.xml"), "unknown");
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 37) & 0xff;
    assert.equal(detectFormat(junk, "x.json"), "unknown");
    assert.equal(detectFormat(new Uint8Array(0), "empty.json"), "json");
    assert.equal(detectFormat(new Uint8Array(0), "empty.bin"), "unknown");
    assert.equal(detectFormat(bytes("EventCode,host\n4688,h\n")), "csv");
  });

  test("compressionOf: gzip and zip magics", () => {
    assert.equal(compressionOf(Buffer.from([0x1f, 0x8b, 8, 0])), "gzip");
    assert.equal(compressionOf(Buffer.from([0x50, 0x4b, 3, 4])), "zip");
    assert.equal(compressionOf(bytes("<Event")), "none");
  });
});
