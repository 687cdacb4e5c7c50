/**
 * BinXML tokens and value types the corpus rarely or never holds, on hand-built records:
 * character and entity references, CDATA, processing instructions, optional substitutions that
 * are null, arrays, nested BinXML values, and every scalar value type's rendering.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32 } from "../../../src/readers/evtx/crc32.js";
import { arrayItems, scalarText } from "../../../src/readers/evtx/values.js";
import { collect, collectXml } from "./helpers.js";

/** A tiny BinXML encoder writing into one chunk at absolute chunk offsets. */
class Enc {
  readonly b = Buffer.alloc(65536);
  p = 0;
  u8(v: number) {
    this.b[this.p++] = v;
    return this;
  }
  u16(v: number) {
    this.b.writeUInt16LE(v, this.p);
    this.p += 2;
    return this;
  }
  u32(v: number) {
    this.b.writeUInt32LE(v >>> 0, this.p);
    this.p += 4;
    return this;
  }
  utf16(s: string) {
    this.p += this.b.write(s, this.p, "utf16le");
    return this;
  }
  /** Name offset field followed by the inline name. */
  name(s: string) {
    this.u32(this.p + 4)
      .u32(0)
      .u16(0)
      .u16(s.length)
      .utf16(s)
      .u16(0);
    return this;
  }
  open(name: string, attrs: [string, (e: Enc) => void][] = [], nested = false) {
    this.u8(attrs.length ? 0x41 : 0x01);
    if (!nested) this.u16(0xffff);
    this.u32(0).name(name);
    if (attrs.length) {
      const at = this.p;
      this.u32(0);
      attrs.forEach(([n, value], i) => {
        this.u8(i === attrs.length - 1 ? 0x06 : 0x46).name(n);
        value(this);
      });
      this.b.writeUInt32LE(this.p - at - 4, at);
    }
    return this;
  }
  text(s: string) {
    return this.u8(0x05).u8(0x01).u16(s.length).utf16(s);
  }
  sub(index: number, type: number, optional = false) {
    return this.u8(optional ? 0x0e : 0x0d)
      .u16(index)
      .u8(type);
  }
}

/** A one-chunk EVTX file holding the records that `body` writes (each returns its BinXML). */
function evtx(records: ((e: Enc) => void)[]): Buffer {
  const e = new Enc();
  e.b.write("ElfChnk\0", 0, "latin1");
  e.p = 512;
  let id = 1n;
  let last = 512;
  for (const rec of records) {
    const start = e.p;
    last = start;
    e.u32(0x2a2a).u32(0);
    e.b.writeBigUInt64LE(id++, e.p);
    e.p += 16;
    e.u8(0x0f).u8(1).u8(1).u8(0);
    rec(e);
    e.u8(0x00);
    const size = e.p + 4 - start;
    e.u32(size);
    e.b.writeUInt32LE(size, start + 4);
  }
  e.b.writeBigUInt64LE(1n, 8);
  e.b.writeBigUInt64LE(id - 1n, 16);
  e.b.writeBigUInt64LE(1n, 24);
  e.b.writeBigUInt64LE(id - 1n, 32);
  e.b.writeUInt32LE(128, 40);
  e.b.writeUInt32LE(last, 44);
  e.b.writeUInt32LE(e.p, 48);
  e.b.writeUInt32LE(crc32(e.b, 512, e.p), 52);
  e.b.writeUInt32LE(crc32(e.b, 128, 512, crc32(e.b, 0, 120)), 124);
  const h = Buffer.alloc(4096);
  h.write("ElfFile\0", 0, "latin1");
  h.writeUInt32LE(128, 32);
  h.writeUInt16LE(1, 36);
  h.writeUInt16LE(3, 38);
  h.writeUInt16LE(4096, 40);
  h.writeUInt16LE(1, 42);
  h.writeUInt32LE(crc32(h, 0, 120), 124);
  return Buffer.concat([h, e.b]);
}

const NS = "http://schemas.microsoft.com/win/2004/08/events/event";

/** A template instance: the template body (elements) and typed values. */
function instance(e: Enc, body: (e: Enc) => void, values: [number, Buffer][]): void {
  e.u8(0x0c).u8(1).u32(7);
  e.u32(e.p + 4);
  e.u32(0);
  e.p += 16;
  const sizeAt = e.p;
  e.u32(0);
  const start = e.p;
  e.u8(0x0f).u8(1).u8(1).u8(0);
  body(e);
  e.u8(0x00);
  e.b.writeUInt32LE(e.p - start, sizeAt);
  e.u32(values.length);
  for (const [type, data] of values) e.u16(data.length).u8(type).u8(0);
  for (const [, data] of values) {
    data.copy(e.b, e.p);
    e.p += data.length;
  }
}

const utf16z = (s: string) => Buffer.from(s + "\0", "utf16le");

describe("BinXML tokens", () => {
  test("character and entity references, CDATA and processing instructions", async () => {
    // Elements directly in a record (no template instance) carry no dependency id: only the
    // elements of a template definition do.
    const file = evtx([
      (e) => {
        e.open("Event", [["xmlns", (x) => x.text(NS)]], true).u8(0x02);
        e.open("Comment", [], true).u8(0x02).text("x");
        e.u8(0x08).u16(65); // &#65;
        e.u8(0x09).name("amp"); // &amp;
        e.u8(0x07).u16(3).utf16("a<b"); // CDATA
        e.u8(0x0a).name("pi").u8(0x0b).u16(1).utf16("d");
        e.u8(0x04).u8(0x04);
      },
    ]);
    const { records, issues } = await collectXml(file);
    assert.deepEqual(issues, []);
    assert.equal(
      records[0].xml,
      `<Event xmlns="${NS}"><Comment>x&#65;&amp;<![CDATA[a<b]]><?pi d?></Comment></Event>`,
    );
    assert.equal(records[0].recordId, 1n);
  });

  test("optional substitutions that are null leave their attribute or element out; arrays repeat the element", async () => {
    const body = (e: Enc) => {
      e.open("Event", [["xmlns", (x) => x.text(NS)]]).u8(0x02);
      e.open("System").u8(0x02);
      e.open("EventID", [["Qualifiers", (x) => x.sub(0, 0x06, true)]])
        .u8(0x02)
        .sub(1, 0x06, true)
        .u8(0x04);
      e.open("Computer").u8(0x02).sub(2, 0x01, true).u8(0x04);
      e.u8(0x04);
      e.open("EventData").u8(0x02);
      e.open("Data", [["Name", (x) => x.text("List")]])
        .u8(0x02)
        .sub(3, 0x81)
        .u8(0x04);
      e.open("Data").u8(0x02).sub(4, 0x21).u8(0x04);
      e.u8(0x04).u8(0x04);
    };
    const file = evtx([
      (e) => {
        const values: [number, Buffer][] = [
          [0x00, Buffer.alloc(0)],
          [0x06, Buffer.from([0x01, 0x10])],
          [0x00, Buffer.alloc(0)],
          [0x81, Buffer.concat([utf16z("a&b"), utf16z("c")])],
          [0x21, Buffer.alloc(0)],
        ];
        instance(e, body, values);
        // Value 4, the last one: nested BinXML holding an element (no dependency identifier),
        // written in place (its inline name needs its chunk offset), then its size is set.
        const descriptors = e.p - values.reduce((n, [, d]) => n + d.length, 0) - 4 * values.length;
        const start = e.p;
        e.open("Inner", [], true).u8(0x02).text("deep").u8(0x04).u8(0x00);
        e.b.writeUInt16LE(e.p - start, descriptors + 4 * 4);
      },
    ]);
    const { records, issues } = await collectXml(file);
    assert.deepEqual(issues, []);
    assert.equal(
      records[0].xml,
      `<Event xmlns="${NS}"><System><EventID>4097</EventID></System>` +
        `<EventData><Data Name="List">a&amp;b</Data><Data Name="List">c</Data><Data><Inner>deep</Inner></Data></EventData></Event>`,
    );
    const { events } = await collect(file);
    assert.deepEqual(events[0].system, { eventID: "4097" });
    assert.deepEqual(events[0].eventData, [
      { name: "List", value: "a&b" },
      { name: "List", value: "c" },
      { name: undefined, value: "" },
    ]);
  });
});

describe("value types render as Windows renders them", () => {
  const b = (...bytes: number[]) => Buffer.from(bytes);
  test("integers keep full precision, signed and unsigned", () => {
    assert.equal(scalarText(b(0xff), 0x03, 0, 1), "-1");
    assert.equal(scalarText(b(0xff), 0x04, 0, 1), "255");
    assert.equal(scalarText(b(0x00, 0x80), 0x05, 0, 2), "-32768");
    assert.equal(scalarText(b(0xff, 0xff, 0xff, 0xff), 0x07, 0, 4), "-1");
    assert.equal(scalarText(b(0xff, 0xff, 0xff, 0xff), 0x08, 0, 4), "4294967295");
    const max = Buffer.alloc(8, 0xff);
    assert.equal(scalarText(max, 0x0a, 0, 8), "18446744073709551615");
    assert.equal(scalarText(max, 0x09, 0, 8), "-1");
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(9007199254740993n);
    assert.equal(scalarText(big, 0x0a, 0, 8), "9007199254740993");
  });
  test("hex, size_t, bool, reals", () => {
    assert.equal(scalarText(b(0xe7, 0x03, 0, 0), 0x14, 0, 4), "0x3e7");
    const k = Buffer.alloc(8);
    k.writeBigUInt64LE(0x8020000000000000n);
    assert.equal(scalarText(k, 0x15, 0, 8), "0x8020000000000000");
    assert.equal(scalarText(b(0x10, 0, 0, 0, 1, 0, 0, 0), 0x10, 0, 8), "0x100000010");
    assert.equal(scalarText(b(1, 0, 0, 0), 0x0d, 0, 4), "true");
    assert.equal(scalarText(b(0, 0, 0, 0), 0x0d, 0, 4), "false");
    const r = Buffer.alloc(8);
    r.writeDoubleLE(1.5);
    assert.equal(scalarText(r, 0x0c, 0, 8), "1.5");
    r.writeFloatLE(0.25);
    assert.equal(scalarText(r, 0x0b, 0, 4), "0.25");
  });
  test("GUID, SID, FILETIME, SYSTEMTIME, binary, ANSI", () => {
    const g = Buffer.from("2596845478549449a5ba3e3b0328c30d", "hex");
    assert.equal(scalarText(g, 0x0f, 0, 16), "{54849625-5478-4994-A5BA-3E3B0328C30D}");
    const sid = b(1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0);
    assert.equal(scalarText(sid, 0x13, 0, sid.length), "S-1-5-18");
    const ft = Buffer.alloc(8);
    ft.writeBigUInt64LE(132000000000000000n + 8560890n);
    assert.equal(scalarText(ft, 0x11, 0, 8), "2019-04-17T18:40:00.8560890Z");
    const st = Buffer.alloc(16);
    [2019, 4, 3, 30, 20, 35, 11, 856].forEach((v, i) => {
      st.writeUInt16LE(v, 2 * i);
    });
    assert.equal(scalarText(st, 0x12, 0, 16), "2019-04-30T20:35:11.8560000Z");
    assert.equal(scalarText(b(0x00, 0xab, 0x10), 0x0e, 0, 3), "00AB10");
    assert.equal(scalarText(Buffer.from("caf\xe9\0", "latin1"), 0x02, 0, 5), "café");
  });
  test("arrays of each kind", () => {
    assert.deepEqual(arrayItems(Buffer.concat([utf16z("a"), utf16z("bc")]), 0x81, 0, 8), ["a", "bc"]);
    assert.deepEqual(arrayItems(Buffer.from("x\0yz\0", "latin1"), 0x82, 0, 5), ["x", "yz"]);
    assert.deepEqual(arrayItems(b(1, 0, 2, 0), 0x86, 0, 4), ["1", "2"]);
    assert.deepEqual(arrayItems(b(0xff, 1), 0x83, 0, 2), ["-1", "1"]);
    assert.deepEqual(arrayItems(b(1, 0, 0, 0, 2, 0, 0, 0), 0x94, 0, 8), ["0x1", "0x2"]);
    const sids = Buffer.concat([
      b(1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0),
      b(1, 1, 0, 0, 0, 0, 0, 5, 19, 0, 0, 0),
    ]);
    assert.deepEqual(arrayItems(sids, 0x93, 0, sids.length), ["S-1-5-18", "S-1-5-19"]);
    assert.equal(arrayItems(b(1, 2, 3), 0x88, 0, 3), undefined, "a size that is not a multiple of the item");
  });
});
