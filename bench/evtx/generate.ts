/**
 * Large EVTX inputs for benchmarks: a realistic Sysmon mix (EID 1, 3, 5, 7, 10, 11, 12, 13, 22),
 * every record distinct, written by our EvtxWriter chunk by chunk (bounded memory).
 */

import { open } from "node:fs/promises";
import { EvtxWriter } from "../../src/readers/evtx/index.js";
import { sysmonEvent } from "../../test/readers/evtx/sysmon-mix.js";

export interface SysmonMixOptions {
  /** Every k-th event is an impacket-dcomexec-like Sysmon EID 1 the seed query finds (0 = none). */
  seedHitsEvery?: number;
  seed?: number;
}

/** Writes Sysmon events to `file` until it holds at least `bytes` bytes; returns the counts. */
export async function writeSysmonMix(
  file: string,
  bytes: number,
  opts: SysmonMixOptions = {},
): Promise<{ events: number; hits: number; chunks: number }> {
  const every = opts.seedHitsEvery ?? 0;
  const fh = await open(file, "w");
  try {
    const done: Uint8Array[] = [];
    const writer = new EvtxWriter({ onChunk: (c) => done.push(c) });
    let position = 4096;
    let chunks = 0;
    let events = 0;
    let hits = 0;
    await fh.write(Buffer.alloc(4096), 0, 4096, 0);
    while (position < bytes) {
      const hit = every > 0 && events % every === every - 1;
      writer.add(sysmonEvent(events, opts.seed ?? 1, hit));
      events++;
      if (hit) hits++;
      for (const c of done.splice(0)) {
        await fh.write(c, 0, c.length, position);
        position += c.length;
        chunks++;
      }
    }
    const header = writer.finish();
    for (const c of done.splice(0)) {
      await fh.write(c, 0, c.length, position);
      position += c.length;
      chunks++;
    }
    await fh.write(header, 0, header.length, 0);
    return { events, hits, chunks };
  } finally {
    await fh.close();
  }
}
