/** CRC-32 (IEEE 802.3, the zlib one) used by EVTX file and chunk headers. */

import * as zlib from "node:zlib";

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

function crc32Table(b: Uint8Array, start: number, end: number, previous: number): number {
  let c = ~previous;
  for (let i = start; i < end; i++) c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// Node >= 20.15 has a native zlib.crc32 (an order of magnitude faster than the table loop).
const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of b[start, end), optionally continuing a previous CRC. */
export function crc32(b: Uint8Array, start = 0, end = b.length, previous = 0): number {
  if (end <= start) return previous >>> 0;
  if (native) return native(b.subarray(start, end), previous) >>> 0;
  return crc32Table(b, start, end, previous);
}
