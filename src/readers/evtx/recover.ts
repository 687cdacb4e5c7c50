/**
 * `--recover`: forensic reading of an EVTX file that also returns the records that are not live -
 * stale records left in a chunk's slack past its free-space offset (an earlier use of the chunk), and
 * records whose ids fall outside the chunk header's first..last range (a torn chunk). Event Viewer,
 * python-evtx and libevtx show neither; by default dcomhunt leaves them out too and says how many.
 *
 * Each recovered record is flagged `_recovered` = slack|torn (`extra._recovered` of the WinEvent, a
 * field of the Splunk view) and counted in the summary. A recovered record never duplicates a live one:
 * recovered records are held until the end of the file and dropped when a live record of the file (or
 * an earlier recovered one) has the same record id. Memory: the recovered records of one file and the
 * ids of its live records (one bigint each) are held until the file ends.
 */

import type { ReadIssue, WinEvent } from "../../events/model.js";
import {
  type ChunkInput,
  type ChunkOptions,
  type RecoveredRecord,
  readChunk,
  type XmlRecord,
} from "./chunk.js";

export type RecoveredXmlRecord = XmlRecord & { recovered?: string };

/** Marks a recovered record: `_recovered` on a WinEvent, `recovered` on an XML record. */
function flag(r: RecoveredRecord): XmlRecord | WinEvent {
  const rec = r.record;
  if ("xml" in rec) (rec as RecoveredXmlRecord).recovered = r.kind;
  else rec.extra = { ...rec.extra, _recovered: r.kind };
  return rec;
}

/** The records of the chunks, one array per chunk, then the recovered records of the file at its end. */
export async function* recoverBatches(
  chunks: AsyncIterable<ChunkInput>,
  opts: ChunkOptions,
  report: (issue: ReadIssue) => void,
): AsyncGenerator<(XmlRecord | WinEvent)[]> {
  const live = new Set<bigint>();
  const held: RecoveredRecord[] = [];
  let file = "";
  for await (const input of chunks) {
    file = input.file;
    const res = readChunk(input, { ...opts, recover: true });
    for (const issue of res.issues) report(issue);
    for (const id of res.liveIds ?? []) live.add(id);
    for (const r of res.recovered ?? []) held.push(r);
    if (res.records.length > 0) yield res.records;
  }
  const seen = new Set<bigint>();
  const out: (XmlRecord | WinEvent)[] = [];
  let duplicates = 0;
  for (const r of held) {
    if (live.has(r.recordId) || seen.has(r.recordId)) {
      duplicates++;
      continue;
    }
    seen.add(r.recordId);
    out.push(flag(r));
  }
  if (duplicates > 0)
    report({
      file,
      location: "file",
      reason: "recovered records that repeat a record id already read, left out",
      lost: "none",
      notLive: duplicates,
    });
  if (out.length > 0) yield out;
}
