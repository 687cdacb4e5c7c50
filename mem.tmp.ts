import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { emulate, scenarios } from "./src/emulate/index.js";
import { defaultFieldViewOptions, toSplunkEvent } from "./src/events/fields.js";
import { envelopeOf } from "./src/ingest/replay.js";
import { Metrics } from "./src/ingest/metrics.js";
import { LivePipeline } from "./src/ingest/pipeline.js";
import { parseEventBody, decodeEnvelopes } from "./src/ingest/payload.js";
import { allRules, runOptions } from "./test/ingest/helpers.js";
const events = emulate(scenarios.map((s) => s.name), { seed: 3, noise: 6000 });
const envelopes = events.map((ev) => envelopeOf(ev, toSplunkEvent(ev, defaultFieldViewOptions).time));
const times = events.map((e) => toSplunkEvent(e, defaultFieldViewOptions).time ?? 0);
const span = Math.ceil(Math.max(...times) - Math.min(...times)) + 3600;
const shift = (text: string, pass: number) => pass === 0 ? text : text.replace(/<EventRecordID>(\d+)<\/EventRecordID>/, (_m, id) => `<EventRecordID>${Number(id) + pass * 10_000_000}</EventRecordID>`).replace(/SystemTime=\\"([^"\\]+)\\"/, (_m, iso) => `SystemTime=\\"${new Date(Date.parse(iso) + pass * span * 1000).toISOString()}\\"`);
const p = await LivePipeline.open({ dataDir: mkdtempSync(path.join(tmpdir(), "memt-")), compiled: allRules(), runOptions, metrics: new Metrics(), outputs: [], maxQueuedEvents: 100000, idleFlushMs: 2000, fieldView: runOptions.fieldView, reorderWindowSeconds: 10, windowSeconds: 60 });
let i = 0, pass = 0, n = 0; const inflight: Promise<void>[] = [];
const t0 = performance.now(); const c0 = process.cpuUsage();
while (n < Number(process.argv[2] ?? 150000)) {
  const lines: string[] = [];
  for (let k = 0; k < 500; k++) { lines.push(shift(envelopes[i], pass)); if (++i === envelopes.length) { i = 0; pass++; } }
  const acc = await p.accept(decodeEnvelopes(parseEventBody(lines.join("\n"), 1 << 20), p.filter));
  inflight.push(acc.processed);
  if (inflight.length >= 8) await inflight.shift();
  n += 500;
  if (n % 25000 === 0) { global.gc?.(); const d = (p as any).detector; console.log(n, Math.round(process.memoryUsage().heapUsed/1e6), "MB heap", Math.round(process.memoryUsage().rss/1e6), "MB rss", "heap", d.heap.size, "seen", d.seen.size, d.stats, "queue", (p as any).queue.length); }
}
const cpu = process.cpuUsage(c0);
console.log(`${n} events ${(n / ((performance.now() - t0) / 1000)).toFixed(0)} ev/s wall, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s => ${(n / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} ev/cpu-s`);
await p.close();
