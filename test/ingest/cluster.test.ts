/**
 * `serve --cluster`: nats-server (JetStream), one ingest node and two workers, each a separate process
 * on loopback. A known estate is replayed with acknowledgement on while a worker, nats-server (restarted
 * on the same store folder) and the ingest node are SIGKILLed at seeded random moments and restarted.
 * Afterwards the alerts gathered by the ingest node (deduplicated by id) must equal the ones `scan`
 * finds on the same file, every event the client saw acknowledged must be in the stream, and every
 * partition's consumer must have acknowledged everything. Duplicates are reported, loss fails.
 * Seed: DCOMHUNT_KILL_SEED, else the clock (printed).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { alertId } from "../../src/alerts/id.js";
import { alertToJson } from "../../src/correlate/index.js";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { renderEvtx } from "../../src/emulate/output.js";
import { EVENTS_STREAM, partitions } from "../../src/ingest/cluster.js";
import { replay } from "../../src/ingest/replay.js";
import { readInputs } from "../../src/readers/index.js";
import { flattenRow } from "../../src/report/results.js";
import { combinedPushdown, runRules } from "../../src/rules/run.js";
import { allRules, call, runOptions } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

/**
 * How to run the CLI in a child process: the built one when dist/ is newer than every source file
 * (CI builds it at `npm ci`; it starts in a quarter of the time), else from source through tsx.
 */
function cliCommand(): string[] {
  const built = path.join(root, "dist", "cli", "main.js");
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const f = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(f) : statSync(f).mtimeMs);
    }, 0);
  if (existsSync(built) && statSync(built).mtimeMs >= newest(path.join(root, "src")))
    return [path.join(root, "bin", "dcomhunt.js")];
  return ["--import", "tsx", path.join(here, "cli-child.ts")];
}
const NATS = "/usr/sbin/nats-server";
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-cluster-test-"));
const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, "SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback port free right now (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start a process and resolve once its standard error matches `ready`. */
function start(
  cmd: string,
  args: string[],
  ready: RegExp,
): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], cwd: root });
  live.add(proc);
  return new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`${path.basename(cmd)} not ready after 60 s: ${err}`)),
      60000,
    );
    proc.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, match: m });
      }
    });
    proc.on("exit", (code) =>
      reject(new Error(`${path.basename(cmd)} ${args[2] ?? ""} exited (${code}): ${err}`)),
    );
  });
}

async function sigkill(proc: ChildProcess): Promise<void> {
  live.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once("exit", r));
  process.kill(proc.pid as number, "SIGKILL");
  await gone;
}

test("cluster: kill -9 of a worker, nats-server and the ingest node during a replay loses nothing", async (t) => {
  if (!existsSync(NATS)) {
    if (process.env.CI === "true") assert.fail(`${NATS} is missing (apt install nats-server)`);
    t.skip(`${NATS} is missing`);
    return;
  }
  const seed = Number(process.env.DCOMHUNT_KILL_SEED ?? Date.now() % 1_000_000);
  console.log(`# cluster kill matrix seed ${seed} (DCOMHUNT_KILL_SEED=${seed} reproduces the schedule)`);
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
  const filter = combinedPushdown(compiled, runOptions);
  const mustKeep = new Set<string>();
  let events = 0;
  for await (const ev of readInputs([estate])) {
    events++;
    if (filter && !filter(ev.system, ev.timeTicks)) continue;
    mustKeep.add(`${ev.system.computer}|${ev.system.channel}|${ev.system.eventRecordID}`);
  }

  const t0 = performance.now();
  const phase: string[] = [];
  const mark = (name: string) => phase.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // nats-server with JetStream, its store in the temp folder.
  const natsPort = await freePort();
  const natsArgs = ["-js", "-sd", path.join(tmp, "js"), "-a", "127.0.0.1", "-p", String(natsPort)];
  const startNats = async () => (await start(NATS, natsArgs, /Server is ready/)).proc;
  let nats = await startNats();
  const url = `nats://127.0.0.1:${natsPort}`;

  const token = "cluster-token-0123456789";
  const read = "cluster-read-0123456789";
  const tokens = path.join(tmp, "tokens");
  writeFileSync(tokens, `${token} ack\n${read} read\n`);
  const layout = ["--partitions", "4"];
  const cliArgs = cliCommand();
  const cli = (args: string[]) => [...cliArgs, "serve", ...args];
  const startIngest = async (listen: string) => {
    const { proc, match } = await start(
      process.execPath,
      cli([
        "--cluster",
        url,
        "--listen",
        listen,
        "--data",
        path.join(tmp, "ingest"),
        "--tokens",
        tokens,
        "--no-stdout",
        "--node",
        "ingest1",
        ...layout,
      ]),
      /listening on (\S+)/,
    );
    return { proc, url: match[1] };
  };
  const startWorker = async (name: string) =>
    (
      await start(
        process.execPath,
        cli([
          "--worker",
          "--cluster",
          url,
          "--data",
          path.join(tmp, name),
          "--no-stdout",
          "--node",
          name,
          "--idle-flush",
          "0",
          "--lease-ttl",
          "3",
          "--ack-wait",
          "4",
          ...layout,
        ]),
        /joined/,
      )
    ).proc;
  let [ingest, w1, w2] = await Promise.all([
    startIngest("127.0.0.1:0"),
    startWorker("w1"),
    startWorker("w2"),
  ]);
  const ingestPort = new URL(ingest.url).port;
  mark(`started (${cliArgs.length === 1 ? "built CLI" : "CLI from source"})`);

  // Seeded schedule: the three victims in a random order, each after a random number of acknowledged
  // batches and a random delay, restarted after another random delay.
  const batchEvents = 20;
  const batches = Math.ceil(events / batchEvents);
  const victims = ["worker", "nats-server", "ingest"].sort(() => random() - 0.5);
  const points = victims.map(() => Math.max(1, Math.floor((0.1 + 0.6 * random()) * batches)));
  let delivered = 0;
  let progressed: (() => void) | undefined;
  let replayDone = false;
  const log: string[] = [];
  const waitFor = async (point: number) => {
    while (delivered < point && !replayDone)
      await new Promise<void>((r) => {
        const prev = progressed;
        progressed = () => {
          prev?.();
          r();
        };
      });
  };
  // Each victim on its own schedule: a restart does not hold back the next kill.
  const plan = victims.map((victim, i) => ({
    victim,
    point: points[i],
    delay: random() * 150,
    pause: random() * 700,
    coin: random(),
  }));
  const chaos = Promise.all(
    plan.map(async ({ victim, point, delay, pause, coin }) => {
      await waitFor(point);
      await sleep(delay);
      log.push(`${victim} after batch ${delivered}${replayDone ? " (replay over)" : ""}`);
      if (victim === "worker") {
        const which = coin < 0.5 ? "w1" : "w2";
        await sigkill(which === "w1" ? w1 : w2);
        await sleep(pause);
        if (which === "w1") w1 = await startWorker("w1");
        else w2 = await startWorker("w2");
      } else if (victim === "nats-server") {
        await sigkill(nats);
        await sleep(pause);
        nats = await startNats();
      } else {
        await sigkill(ingest.proc);
        await sleep(pause);
        ingest = await startIngest(`127.0.0.1:${ingestPort}`);
      }
    }),
  );
  const report = await replay([estate], {
    to: ingest.url,
    token,
    batchEvents,
    concurrency: 2,
    ackTimeoutMs: 2000,
    giveUpMs: 60000,
    onProgress: (r) => {
      delivered = r.delivered;
      const p = progressed;
      progressed = undefined;
      p?.();
    },
  });
  replayDone = true;
  const p = progressed;
  progressed = undefined;
  p?.();
  await chaos;
  assert.equal(report.delivered, report.batches, "every batch acknowledged");
  mark("replayed");

  // End of the recording: a flush marker into every partition; then wait for the gathered store.
  process.kill(ingest.proc.pid as number, "SIGUSR2");
  let stored: string[] = [];
  for (let i = 0; i < 150; i++) {
    await sleep(200);
    const r = await call(ingest.url, "/alerts", { token: read });
    stored = ((r.body.alerts ?? []) as { id: string }[]).map((a) => a.id);
    if (stored.length >= expected.size && [...expected].every((id) => stored.includes(id))) break;
  }

  mark("alerts gathered");
  // Every kept event is in the stream, and every partition consumer has acknowledged everything.
  const nc = await connect({ servers: url });
  let streamEvents = 0;
  const inStream = new Set<string>();
  /** Messages per (partition kind, event): more than one is a duplicate in the stream. */
  const perKind = new Map<string, number>();
  const unacked: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const eph = await jsm.consumers.add(EVENTS_STREAM, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: "dcomhunt.events.>",
    });
    const consumer = await js.consumers.get(EVENTS_STREAM, eph.name);
    for (;;) {
      const msgs = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let got = 0;
      for await (const m of msgs) {
        got++;
        for (const { e } of m.json<{ b?: { e?: unknown }[] }>().b ?? []) {
          streamEvents++;
          const xml = String(e);
          const key = ["Computer", "Channel", "EventRecordID"]
            .map((tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1])
            .join("|");
          inStream.add(key);
          const kindKey = `${m.subject.split(".")[2]}|${key}`;
          perKind.set(kindKey, (perKind.get(kindKey) ?? 0) + 1);
        }
      }
      if (got === 0) break;
    }
    for (let i = 0; i < 40; i++) {
      unacked.length = 0;
      for (const p of partitions({ search: 4, correlation: 1 })) {
        const info = await jsm.consumers.info(EVENTS_STREAM, `p-${p}`);
        if (info.num_pending > 0 || info.num_ack_pending > 0)
          unacked.push(`${p}: ${info.num_pending} pending, ${info.num_ack_pending} unacked`);
      }
      if (unacked.length === 0) break;
      await sleep(250);
    }
  } finally {
    await nc.close();
  }
  mark("stream checked");
  for (const p of [ingest.proc, w1, w2]) p.kill("SIGTERM");
  await sleep(300);
  for (const p of [ingest.proc, w1, w2, nats]) await sigkill(p);

  const lines = readFileSync(path.join(tmp, "ingest", "alerts.ndjson"), "utf8")
    .split("\n")
    .filter(Boolean);
  const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id);
  const unique = new Set(ids);
  const workerLines = ["w1", "w2"]
    .map((w) => path.join(tmp, w, "alerts.ndjson"))
    .filter(existsSync)
    .flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean));
  const lostEvents = [...mustKeep].filter((k) => !inStream.has(k));
  const twice = [...perKind.values()].reduce((n, c) => n + c - 1, 0);
  const missing = [...expected].filter((id) => !unique.has(id));
  const extra = [...unique].filter((id) => !expected.has(id));
  console.log(
    `# seed ${seed}: SIGKILLs: ${log.join("; ")}; ${report.events} events in ${report.batches} batches, ${report.resent} resent; ` +
      `${streamEvents} events in the stream (search and correlation partitions), ${twice} duplicates; ` +
      `${expected.size} alerts expected, ${unique.size} gathered, ${ids.length - unique.size} duplicate lines; ` +
      `${workerLines.length} lines in the workers' stores; ${phase.join(", ")}`,
  );
  assert.deepEqual(lostEvents, [], "acknowledged events missing from the stream");
  assert.deepEqual(unacked, [], "messages never processed and acknowledged");
  if (extra.length > 0 || missing.length > 0) {
    const byId = new Map(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((r) => [r.id, r]));
    for (const id of extra) {
      const r = byId.get(id) as { _rule?: string; evidence?: { _computer?: string; _record_id?: unknown }[] };
      console.log(
        `# extra ${id}: ${r?._rule}, evidence ${(r?.evidence ?? []).map((e) => `${e._computer}#${e._record_id}`).join(" ")}`,
      );
    }
  }
  // Every expected alert must be there (no loss). Extra alerts are reported, not failed: with some kill
  // schedules (DCOMHUNT_KILL_SEED=259174) a correlation partition's rebuild gives the same incidents a
  // second time under other ids, their evidence listing each record twice (issue 13, open: not yet
  // diagnosed). The issue asks to report duplicates and fail on any loss.
  if (extra.length > 0)
    console.log(`# seed ${seed}: ${extra.length} extra alerts (duplicate incidents after a rebuild)`);
  assert.deepEqual(missing, [], "expected alerts missing from the gathered store");
  assert.equal(ids.length, unique.size, "the gathered store holds each alert once");
});
