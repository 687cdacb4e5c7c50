/** Shared helpers of the EVTX tests: corpus location, tool detection, collecting reader output. */

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ReadIssue, WinEvent } from "../../../src/events/model.js";
import { readEvtx, readEvtxXml } from "../../../src/readers/evtx/index.js";
import { inCI, skipUnless } from "../../helpers/env.js";

export const REPO = path.resolve(fileURLToPath(import.meta.url), "../../../..");
export const CORPUS = path.resolve(REPO, "../shared/corpus");
export const EVTXCMP = path.resolve(REPO, "../shared/tools/evtxcmp.py");
export const corpusSkip = skipUnless(existsSync(CORPUS), `corpus absent: ${CORPUS}`);

/** Every EVTX of the corpus (attacks/, negatives/, benign/). */
export function corpusEvtx(): string[] {
  // Under CI a missing corpus fails here (readdirSync) instead of yielding no test at all.
  if (!existsSync(CORPUS) && !inCI) return [];
  return ["attacks", "negatives", "benign"].flatMap((dir) =>
    readdirSync(path.join(CORPUS, dir))
      .filter((f) => f.endsWith(".evtx"))
      .sort()
      .map((f) => path.join(CORPUS, dir, f)),
  );
}

/** A command on PATH (for python3, evtxexport, evtx_dump.py)? */
export function hasCommand(cmd: string, arg = "--version"): boolean {
  const r = spawnSync(cmd, [arg], { stdio: "ignore" });
  return r.error === undefined;
}

type Source = string | AsyncIterable<Uint8Array> | Uint8Array;
function asSource(source: Source): string | AsyncIterable<Uint8Array> {
  return source instanceof Uint8Array ? streamOf(source) : source;
}

export async function collect(
  source: Source,
  opts: Parameters<typeof readEvtx>[1] = {},
): Promise<{ events: WinEvent[]; issues: ReadIssue[] }> {
  const issues: ReadIssue[] = [];
  const events: WinEvent[] = [];
  for await (const ev of readEvtx(asSource(source), { ...opts, onIssue: (i) => issues.push(i) }))
    events.push(ev);
  return { events, issues };
}

export async function collectXml(
  source: Source,
  opts: Parameters<typeof readEvtxXml>[1] = {},
): Promise<{ records: { xml: string; recordId: bigint }[]; issues: ReadIssue[] }> {
  const issues: ReadIssue[] = [];
  const records: { xml: string; recordId: bigint }[] = [];
  for await (const r of readEvtxXml(asSource(source), { ...opts, onIssue: (i) => issues.push(i) }))
    records.push(r);
  return { records, issues };
}

/** Events without provenance (for comparing a read-back with what was written). */
export function withoutProvenance(events: WinEvent[]): Omit<WinEvent, "provenance">[] {
  return events.map(({ provenance: _p, ...rest }) => rest);
}

/** The bytes as an async stream in pieces of `size` (stdin / decompressed member). */
export async function* streamOf(bytes: Uint8Array, size = 7001): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
