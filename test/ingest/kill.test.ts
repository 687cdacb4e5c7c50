/**
 * Kill matrix, one process: `dcomhunt serve` (a separate process) is SIGKILLed at seeded random moments
 * while `replay` sends a known estate with acknowledgement on, and restarted on the same port and data
 * folder. Afterwards the stored alert set must equal the set scan finds on the same file (by alert id),
 * and every event the client saw acknowledged must be in the journal. Duplicates are reported, loss
 * fails. Seed: DCOMHUNT_KILL_SEED, else the clock (printed).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { alertId } from "../../src/alerts/id.js";
import { alertToJson } from "../../src/correlate/index.js";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { renderEvtx } from "../../src/emulate/output.js";
import { replay } from "../../src/ingest/replay.js";
import { readInputs } from "../../src/readers/index.js";
import { flattenRow } from "../../src/report/results.js";
import { combinedPushdown, runRules } from "../../src/rules/run.js";
import { allRules, call, runOptions } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, "cli-child.ts");
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-kill-test-"));
const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, "SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Server {
  proc: ChildProcess;
  url: string;
}

function startServe(args: string[]): Promise<Server> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, "serve", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    cwd: path.resolve(here, "..", ".."),
  });
  live.add(proc);
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ proc, url: m[1] });
    });
    proc.on("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

async function sigkill(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const gone = new Promise((r) => s.proc.once("exit", r));
  process.kill(s.proc.pid as number, "SIGKILL");
  await gone;
  live.delete(s.proc);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("kill -9 of serve during a replay: no acknowledged event and no alert lost", async () => {
  const seed = Number(process.env.DCOMHUNT_KILL_SEED ?? Date.now() % 1_000_000);
  console.log(`# kill matrix seed ${seed} (DCOMHUNT_KILL_SEED=${seed} reproduces the schedule)`);
  const random = rng(seed);

  const estate = path.join(tmp, "estate.evtx");
  writeFileSync(
    estate,
    renderEvtx(
      emulate(
        scenarios.map((s) => s.name),
        { seed: 11, noise: 600 },
      ),
    ),
  );
  const compiled = allRules();
  const expected = new Set<string>();
  await runRules(compiled, [estate], runOptions, {
    row: (rule, row, columns) => {
      expected.add(alertId(flattenRow(rule, row, columns, "UTC", row.event === undefined)));
    },
    alert: (_rule, a) => {
      expected.add(alertId(alertToJson(a)));
    },
  });
  // The events the server must keep: those some rule can use (the others are acknowledged unkept).
  const filter = combinedPushdown(compiled, runOptions);
  const mustKeep = new Set<string>();
  let events = 0;
  for await (const ev of readInputs([estate])) {
    events++;
    if (filter && !filter(ev.system, ev.timeTicks)) continue;
    mustKeep.add(`${ev.system.computer}|${ev.system.channel}|${ev.system.eventRecordID}`);
  }

  const token = "kill-token-0123456789";
  const read = "kill-read-0123456789";
  const tokens = path.join(tmp, "tokens");
  writeFileSync(tokens, `${token} ack\n${read} read\n`);
  const data = path.join(tmp, "data");
  const common = ["--data", data, "--tokens", tokens, "--no-stdout", "--idle-flush", "0", "--keep-journal"];
  let server = await startServe(["--listen", "127.0.0.1:0", ...common]);
  const port = new URL(server.url).port;

  // Kill points, seeded: after a random number of acknowledged batches in the first and second half of
  // the replay, plus a random delay, so each SIGKILL lands somewhere in a request/journal/ack cycle.
  const batchEvents = 50;
  const batches = Math.ceil(events / batchEvents);
  const points = [0.15 + 0.3 * random(), 0.55 + 0.3 * random()].map((f) =>
    Math.max(1, Math.floor(f * batches)),
  );
  let delivered = 0;
  let progressed: (() => void) | undefined;
  let killed = 0;
  let replayDone = false;
  const chaos = (async () => {
    for (const point of points) {
      while (delivered < point && !replayDone)
        await new Promise<void>((r) => {
          progressed = r;
        });
      await sleep(random() * 100);
      if (replayDone) break;
      await sigkill(server);
      killed++;
      await sleep(random() * 500);
      server = await startServe(["--listen", `127.0.0.1:${port}`, ...common]);
    }
  })();
  const report = await replay([estate], {
    to: server.url,
    token,
    batchEvents,
    concurrency: 4,
    ackTimeoutMs: 2000,
    giveUpMs: 60000,
    onProgress: (r) => {
      delivered = r.delivered;
      progressed?.();
    },
  });
  replayDone = true;
  progressed?.();
  await chaos;
  assert.equal(report.delivered, report.batches, "every batch acknowledged");

  // End of the recording: close open incidents, then wait for the store to settle.
  process.kill(server.proc.pid as number, "SIGUSR2");
  let stored: string[] = [];
  for (let i = 0; i < 100; i++) {
    await sleep(200);
    const r = await call(server.url, "/alerts", { token: read });
    stored = (r.body.alerts as { id: string }[]).map((a) => a.id);
    if (stored.length >= expected.size) break;
  }
  await sigkill(server);

  const lines = readFileSync(path.join(data, "alerts.ndjson"), "utf8").split("\n").filter(Boolean);
  const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id);
  const unique = new Set(ids);
  const journaled = new Map<string, number>();
  const jdir = path.join(data, "journal");
  for (const f of readdirSync(jdir).filter((x) => x.endsWith(".ndjson"))) {
    for (const line of readFileSync(path.join(jdir, f), "utf8").split("\n").filter(Boolean)) {
      const xml = String((JSON.parse(line) as { e: unknown }).e);
      const key = ["Computer", "Channel", "EventRecordID"]
        .map((t) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(xml)?.[1])
        .join("|");
      journaled.set(key, (journaled.get(key) ?? 0) + 1);
    }
  }
  const lostEvents = [...mustKeep].filter((k) => !journaled.has(k));
  const redelivered = [...journaled.values()].reduce((n, c) => n + c - 1, 0);
  const missing = [...expected].filter((id) => !unique.has(id));
  const extra = [...unique].filter((id) => !expected.has(id));
  console.log(
    `# seed ${seed}: ${killed} SIGKILLs of serve (after batch ${points.join(" and ")} of ${batches}); ${report.events} events in ${report.batches} batches, ` +
      `${report.resent} resent; ${redelivered} events journaled twice (dropped as duplicates); ` +
      `${expected.size} alerts expected, ${unique.size} stored, ${ids.length - unique.size} duplicate lines`,
  );
  assert.deepEqual(lostEvents, [], "acknowledged events lost");
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
  assert.equal(ids.length, unique.size, "the store holds each alert once");
  assert.ok(killed >= 1, "the server was killed during the replay");
});
