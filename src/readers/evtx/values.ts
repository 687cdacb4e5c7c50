/**
 * EVTX substitution value types and their text, as Windows renders them into the event XML
 * (which is what Splunk indexes): GUIDs `{UPPERCASE}`, SIDs `S-1-5-18`, hex `0x3e7` (no padding),
 * FILETIME/SYSTEMTIME `2019-04-30T20:35:11.8560890Z` (7 fractional digits), booleans `true`/`false`,
 * binary as uppercase hex. 64-bit integers keep full precision.
 *
 * All readers work on a Node Buffer holding one 64 KiB chunk; offsets are chunk-relative.
 */

export enum ValueType {
  Null = 0x00,
  String = 0x01,
  AnsiString = 0x02,
  Int8 = 0x03,
  UInt8 = 0x04,
  Int16 = 0x05,
  UInt16 = 0x06,
  Int32 = 0x07,
  UInt32 = 0x08,
  Int64 = 0x09,
  UInt64 = 0x0a,
  Real32 = 0x0b,
  Real64 = 0x0c,
  Bool = 0x0d,
  Binary = 0x0e,
  Guid = 0x0f,
  SizeT = 0x10,
  FileTime = 0x11,
  SysTime = 0x12,
  Sid = 0x13,
  HexInt32 = 0x14,
  HexInt64 = 0x15,
  EvtHandle = 0x20,
  BinXml = 0x21,
  EvtXml = 0x23,
  ArrayFlag = 0x80,
}

/** Byte size of one item of a fixed-size type (0 = variable). */
export function fixedSize(type: number): number {
  switch (type & 0x7f) {
    case ValueType.Int8:
    case ValueType.UInt8:
      return 1;
    case ValueType.Int16:
    case ValueType.UInt16:
      return 2;
    case ValueType.Int32:
    case ValueType.UInt32:
    case ValueType.Real32:
    case ValueType.Bool:
    case ValueType.HexInt32:
      return 4;
    case ValueType.Int64:
    case ValueType.UInt64:
    case ValueType.Real64:
    case ValueType.FileTime:
    case ValueType.HexInt64:
      return 8;
    case ValueType.Guid:
    case ValueType.SysTime:
      return 16;
    default:
      return 0;
  }
}

const HEX_UPPER: string[] = [];
for (let i = 0; i < 256; i++) HEX_UPPER.push(i.toString(16).toUpperCase().padStart(2, "0"));

export function u16(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}
export function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** UTF-16LE text of `chars` code units at p (lone surrogates are kept as they are). */
export function utf16(b: Buffer, p: number, chars: number): string {
  if (chars < 24) {
    let s = "";
    for (let i = 0; i < chars; i++) s += String.fromCharCode(b[p + 2 * i] | (b[p + 2 * i + 1] << 8));
    return s;
  }
  return b.toString("utf16le", p, p + 2 * chars);
}

/** `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` from 16 little-endian bytes. */
export function guidText(b: Uint8Array, p: number): string {
  const h = HEX_UPPER;
  return (
    "{" +
    h[b[p + 3]] +
    h[b[p + 2]] +
    h[b[p + 1]] +
    h[b[p]] +
    "-" +
    h[b[p + 5]] +
    h[b[p + 4]] +
    "-" +
    h[b[p + 7]] +
    h[b[p + 6]] +
    "-" +
    h[b[p + 8]] +
    h[b[p + 9]] +
    "-" +
    h[b[p + 10]] +
    h[b[p + 11]] +
    h[b[p + 12]] +
    h[b[p + 13]] +
    h[b[p + 14]] +
    h[b[p + 15]] +
    "}"
  );
}

/** `S-1-5-21-...` from a binary SID of `size` bytes; undefined when malformed. */
export function sidText(b: Uint8Array, p: number, size: number): string | undefined {
  if (size < 8) return undefined;
  const count = b[p + 1];
  if (8 + 4 * count > size) return undefined;
  // The 48-bit authority is big-endian.
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + b[p + i];
  let s = "S-" + b[p] + "-" + authority;
  for (let i = 0; i < count; i++) s += "-" + u32(b, p + 8 + 4 * i);
  return s;
}

/** Uppercase hex of a byte range (how Windows renders binary values). */
export function hexBytes(b: Uint8Array, p: number, size: number): string {
  let s = "";
  for (let i = 0; i < size; i++) s += HEX_UPPER[b[p + i]];
  return s;
}

/** Lowercase `0x...` without padding (HexInt32/HexInt64/SizeT as Windows renders them). */
function hex64(lo: number, hi: number): string {
  if (hi === 0) return "0x" + lo.toString(16);
  return "0x" + hi.toString(16) + lo.toString(16).padStart(8, "0");
}

function uint64Text(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function int64Text(lo: number, hi: number): string {
  if (hi < 0x80000000) return uint64Text(lo, hi);
  return (((BigInt(hi) << 32n) | BigInt(lo)) - (1n << 64n)).toString();
}

const DAYS_1601_TO_1970 = 134774;

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** Civil date from days since 1970-01-01 (proleptic Gregorian). */
function civil(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** `YYYY-MM-DDTHH:MM:SS.fffffffZ` from a FILETIME split in 32-bit halves. */
export function fileTimeText(lo: number, hi: number): string {
  let secs: number;
  let frac: number;
  if (hi < 0x10000000) {
    // ticks < 2^60: ticks >> 7 fits a double exactly, and 1e7 = 2^7 * 78125.
    const t7 = hi * 33554432 + (lo >>> 7);
    secs = Math.floor(t7 / 78125);
    frac = (t7 - secs * 78125) * 128 + (lo & 127);
  } else {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    secs = Number(ticks / 10000000n);
    frac = Number(ticks % 10000000n);
  }
  const days = Math.floor(secs / 86400);
  const sod = secs - days * 86400;
  const [y, m, d] = civil(days - DAYS_1601_TO_1970);
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  return (
    String(y).padStart(4, "0") +
    "-" +
    pad2(m) +
    "-" +
    pad2(d) +
    "T" +
    pad2(hh) +
    ":" +
    pad2(mm) +
    ":" +
    pad2(ss) +
    "." +
    String(frac).padStart(7, "0") +
    "Z"
  );
}

/** FILETIME at p as exact bigint ticks. */
export function fileTimeTicks(b: Uint8Array, p: number): bigint {
  return (BigInt(u32(b, p + 4)) << 32n) | BigInt(u32(b, p));
}

function sysTimeText(b: Uint8Array, p: number): string {
  const y = u16(b, p);
  const mo = u16(b, p + 2);
  const d = u16(b, p + 6);
  const h = u16(b, p + 8);
  const mi = u16(b, p + 10);
  const s = u16(b, p + 12);
  const ms = u16(b, p + 14);
  return (
    String(y).padStart(4, "0") +
    "-" +
    pad2(mo) +
    "-" +
    pad2(d) +
    "T" +
    pad2(h) +
    ":" +
    pad2(mi) +
    ":" +
    pad2(s) +
    "." +
    String(ms).padStart(3, "0") +
    "0000Z"
  );
}

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

function realText(v: number): string {
  if (Number.isNaN(v)) return "-1.#IND";
  if (v === Number.POSITIVE_INFINITY) return "1.#INF";
  if (v === Number.NEGATIVE_INFINITY) return "-1.#INF";
  return String(v);
}

/** ANSI strings: Windows-1252 is the common code page; bytes < 0x80 are ASCII in every one of them. */
function ansiText(b: Buffer, p: number, size: number): string {
  let end = p + size;
  while (end > p && b[end - 1] === 0) end--;
  return b.toString("latin1", p, end);
}

/**
 * Text of one scalar value of `type` stored in b[p, p+size). Strings lose a trailing NUL.
 * Returns undefined for a value whose bytes do not fit its type (reported as damaged by callers).
 */
export function scalarText(b: Buffer, type: number, p: number, size: number): string | undefined {
  switch (type) {
    case ValueType.Null:
      return "";
    case ValueType.String: {
      let chars = size >>> 1;
      while (chars > 0 && b[p + 2 * chars - 2] === 0 && b[p + 2 * chars - 1] === 0) chars--;
      return utf16(b, p, chars);
    }
    case ValueType.AnsiString:
      return ansiText(b, p, size);
    case ValueType.Int8:
      return size < 1 ? undefined : String((b[p] << 24) >> 24);
    case ValueType.UInt8:
      return size < 1 ? undefined : String(b[p]);
    case ValueType.Int16:
      return size < 2 ? undefined : String((u16(b, p) << 16) >> 16);
    case ValueType.UInt16:
      return size < 2 ? undefined : String(u16(b, p));
    case ValueType.Int32:
      return size < 4 ? undefined : String(u32(b, p) | 0);
    case ValueType.UInt32:
      return size < 4 ? undefined : String(u32(b, p));
    case ValueType.Int64:
      return size < 8 ? undefined : int64Text(u32(b, p), u32(b, p + 4));
    case ValueType.UInt64:
      return size < 8 ? undefined : uint64Text(u32(b, p), u32(b, p + 4));
    case ValueType.Real32:
      if (size < 4) return undefined;
      for (let i = 0; i < 4; i++) f32b[i] = b[p + i];
      return realText(f32[0]);
    case ValueType.Real64:
      if (size < 8) return undefined;
      for (let i = 0; i < 8; i++) f64b[i] = b[p + i];
      return realText(f64[0]);
    case ValueType.Bool:
      if (size < 1) return undefined;
      return (size >= 4 ? u32(b, p) : b[p]) !== 0 ? "true" : "false";
    case ValueType.Guid:
      return size < 16 ? undefined : guidText(b, p);
    case ValueType.SizeT:
    case ValueType.HexInt32:
    case ValueType.HexInt64:
      if (size >= 8) return hex64(u32(b, p), u32(b, p + 4));
      if (size >= 4) return hex64(u32(b, p), 0);
      return undefined;
    case ValueType.FileTime:
      return size < 8 ? undefined : fileTimeText(u32(b, p), u32(b, p + 4));
    case ValueType.SysTime:
      return size < 16 ? undefined : sysTimeText(b, p);
    case ValueType.Sid:
      return sidText(b, p, size);
    default:
      // Binary, EvtHandle, EvtXml and unknown types: uppercase hex of the bytes.
      return hexBytes(b, p, size);
  }
}

/** Items of an array value (type has the 0x80 flag). Undefined when the bytes do not fit. */
export function arrayItems(b: Buffer, type: number, p: number, size: number): string[] | undefined {
  const base = type & 0x7f;
  const out: string[] = [];
  if (base === ValueType.String) {
    // NUL-separated UTF-16 strings.
    let start = p;
    const end = p + (size & ~1);
    for (let q = p; q < end; q += 2) {
      if (b[q] === 0 && b[q + 1] === 0) {
        out.push(utf16(b, start, (q - start) >>> 1));
        start = q + 2;
      }
    }
    if (start < end) out.push(utf16(b, start, (end - start) >>> 1));
    return out;
  }
  if (base === ValueType.AnsiString) {
    let start = p;
    for (let q = p; q < p + size; q++) {
      if (b[q] === 0) {
        out.push(b.toString("latin1", start, q));
        start = q + 1;
      }
    }
    if (start < p + size) out.push(b.toString("latin1", start, p + size));
    return out;
  }
  if (base === ValueType.Sid) {
    let q = p;
    while (q + 8 <= p + size) {
      const len = 8 + 4 * b[q + 1];
      const s = sidText(b, q, Math.min(len, p + size - q));
      if (s === undefined) return undefined;
      out.push(s);
      q += len;
    }
    return out;
  }
  let item = fixedSize(base);
  if (base === ValueType.SizeT) item = size % 8 === 0 ? 8 : 4;
  if (item === 0 || size % item !== 0) return undefined;
  for (let q = p; q < p + size; q += item) {
    const s = scalarText(b, base, q, item);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}
