/**
 * Format detection from the first bytes of a (decompressed) file; the name's extension is only a
 * tie-breaker for content that says nothing (e.g. an empty file).
 */

import { encodingFromBom } from "./stream.js";

export type DetectedFormat = "evtx" | "xml" | "json" | "csv" | "unknown";

/** Containers handled before format detection. */
export type Compression = "gzip" | "zip" | "none";

const EVTX_MAGIC = [0x45, 0x6c, 0x66, 0x46, 0x69, 0x6c, 0x65, 0x00]; // "ElfFile\0"

export function compressionOf(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    (head[2] === 3 || head[2] === 5) &&
    (head[3] === 4 || head[3] === 6)
  )
    return "zip";
  return "none";
}

function extensionFormat(name: string | undefined): DetectedFormat {
  if (name === undefined) return "unknown";
  const n = name.toLowerCase().replace(/\.gz$/, "");
  if (n.endsWith(".evtx")) return "evtx";
  if (n.endsWith(".xml")) return "xml";
  if (n.endsWith(".json") || n.endsWith(".ndjson") || n.endsWith(".jsonl")) return "json";
  if (n.endsWith(".csv")) return "csv";
  return "unknown";
}

/** Decode the head as text (BOM/UTF-16 aware); a trailing partial character is harmless here. */
function headText(head: Uint8Array): string {
  const { encoding, bomLength } = encodingFromBom(head);
  return new TextDecoder(encoding).decode(head.subarray(bomLength));
}

/** Share of bytes that cannot be in a text log (NUL and C0 controls other than TAB/LF/CR/FF). */
function binaryShare(text: string): number {
  let bad = 0;
  const n = Math.min(text.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if ((c < 9 || (c > 13 && c < 32)) && c !== 27) bad++;
    if (c === 0xfffd) bad++;
  }
  return n === 0 ? 0 : bad / n;
}

/**
 * The format of a log from its first bytes (a few KB is plenty), content first:
 * EVTX magic; then, skipping a BOM and whitespace, "<" -> xml, "{" or "[" -> json; a first line
 * with commas and no markup -> csv; a non-XML banner followed by "<Event" (libevtx's evtxexport)
 * -> xml; evtx_dump's "Record 1" followed by "{" -> json. Only when the content is empty or
 * says nothing does the extension decide.
 */
export function detectFormat(head: Uint8Array, name?: string): DetectedFormat {
  if (head.length >= 8 && EVTX_MAGIC.every((b, i) => head[i] === b)) return "evtx";
  const text = headText(head);
  const trimmed = text.replace(/^[\s\u0000]+/, "");
  if (trimmed.length === 0) return extensionFormat(name);
  if (binaryShare(trimmed) > 0.1) return "unknown";
  const first = trimmed[0];
  if (first === "<") return "xml";
  if (first === "{" || first === "[") return "json";
  const nl = trimmed.indexOf("\n");
  const firstLine = nl < 0 ? trimmed : trimmed.slice(0, nl);
  const rest = nl < 0 ? "" : trimmed.slice(nl + 1).trimStart();
  // evtx_dump: "Record 1\n{...}"
  if (/^Record \d+\s*$/.test(firstLine) && rest.startsWith("{")) return "json";
  // NDJSON whose first line is cut (`tail -c` of a log): the next lines are one JSON object each
  if (rest.startsWith("{") && /^\{[^\n]*\}\s*$/m.test(rest.split("\n", 1)[0] ?? "")) return "json";
  // evtxexport banner, or any text line before the first event
  if (!firstLine.includes("<") && /^(?:[^\n]*\n){0,5}\s*<(?:\w+:)?Event[\s>]/.test(trimmed)) return "xml";
  // CSV: a header line of delimited names (unquoted names have no spaces; quoted ones may)
  const field = '(?:"[^"\\n]*"|[\\w@.:#-]+)';
  if (new RegExp(`^${field}(?:,${field})+\\s*$`).test(firstLine)) return "csv";
  return extensionFormat(name) === "csv" && firstLine.includes(",") ? "csv" : "unknown";
}
