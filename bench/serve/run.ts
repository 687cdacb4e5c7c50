/**
 * bench/serve: `dcomhunt serve` (the built CLI, a separate process) under a sustained HEC load with
 * indexer acknowledgement on: events/s, p99 alert latency (the server's own histogram: request
 * received -> alert durable), and the server's RSS sampled every second (start, peak, slope per minute).
 *
 * The load is the emulated estate (every scenario plus background noise, Sysmon and Security events),
 * rendered once as XmlWinEventLog HEC envelopes and sent again and again with EventRecordID and
 * TimeCreated shifted per pass (so nothing is a duplicate and time moves forward). The client sends
 * batches in order, each once the previous one is taken, and waits for acknowledgements of up to
 * `--inflight` batches, like `dcomhunt replay`.
 *
 * A second figure runs the whole path through the CLI: `dcomhunt replay` of an EVTX file (reading,
 * rendering and sending included).
 *
 * `--cluster`: the same load against `serve --cluster` (nats-server with JetStream in a temp folder, one
 * ingest node, two `serve --worker` processes): events/s acknowledged (published to JetStream) and
 * events/s processed (until every partition's consumer has acknowledged everything), CPU time of each
 * process.
 *
 * Run: npm run build && node --import tsx bench/serve/run.ts [--seconds 30] [--batch 500] [--inflight 8]
 *      [--cluster [--partitions 8]]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { renderEvtx } from "../../src/emulate/output.js";
import { defaultFieldViewOptions, toSplunkEvent } from "../../src/events/fields.js";
import { EVENTS_STREAM } from "../../src/ingest/cluster.js";
import { envelopeOf } from "../../src/ingest/replay.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = path.join(root, "bin", "dcomhunt.js");
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = opt("seconds", 30);
const batchSize = opt("batch", 500);
const inflight = opt("inflight", 8);
const noise = opt("noise", 6000);

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-bench-serve-"));
const token = randomUUID();
const read = randomUUID();
writeFileSync(path.join(tmp, "tokens"), `${token} ack\n${read} read\n`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(
  url: string,
  body: string,
  auth: string,
  channel: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { authorization: `Splunk ${auth}`, "x-splunk-request-channel": channel },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { authorization: `Splunk ${read}` } }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
}

function startServe(): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    process.execPath,
    [
      bin,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--data",
      path.join(tmp, "data"),
      "--tokens",
      path.join(tmp, "tokens"),
      "--no-stdout",
      "--idle-flush",
      "2",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ proc, url: m[1] });
    });
    proc.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Least-squares slope of (t, y). */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /, "")
      .split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function waitFor(proc: ChildProcess, ready: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
      const m = ready.exec(err);
      if (m) resolve(m);
    });
    proc.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

interface Target {
  url: string;
  /** The processes doing the work, by role (RSS and CPU time are sampled from /proc). */
  pids: Record<string, number>;
  /** Resolves once every accepted event went through the rules (cluster: every partition drained). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

async function startOne(): Promise<Target> {
  const { proc, url } = await startServe();
  return {
    url,
    pids: { serve: proc.pid as number },
    drained: async () => {},
    stop: async () => {
      proc.kill("SIGTERM");
    },
  };
}

/** nats-server (JetStream, temp store), one ingest node and two workers, all on loopback. */
async function startCluster(): Promise<Target> {
  const port = await freePort();
  const procs: ChildProcess[] = [];
  const nats = spawn(
    "/usr/sbin/nats-server",
    ["-js", "-sd", path.join(tmp, "js"), "-a", "127.0.0.1", "-p", String(port)],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  procs.push(nats);
  await waitFor(nats, /Server is ready/);
  const url = `nats://127.0.0.1:${port}`;
  const common = ["--cluster", url, "--no-stdout", "--partitions", String(opt("partitions", 8))];
  const ingest = spawn(
    process.execPath,
    [
      bin,
      "serve",
      ...common,
      "--listen",
      "127.0.0.1:0",
      "--data",
      path.join(tmp, "ingest"),
      "--tokens",
      path.join(tmp, "tokens"),
      "--node",
      "ingest",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  procs.push(ingest);
  const workers = [1, 2].map((n) =>
    spawn(
      process.execPath,
      [
        bin,
        "serve",
        "--worker",
        ...common,
        "--data",
        path.join(tmp, `w${n}`),
        "--node",
        `w${n}`,
        "--idle-flush",
        "2",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    ),
  );
  procs.push(...workers);
  const [m] = await Promise.all([
    waitFor(ingest, /listening on (\S+)/),
    ...workers.map((w) => waitFor(w, /joined/)),
  ]);
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  return {
    url: m[1],
    pids: {
      "nats-server": nats.pid as number,
      ingest: ingest.pid as number,
      w1: workers[0].pid as number,
      w2: workers[1].pid as number,
    },
    async drained() {
      for (;;) {
        let left = 0;
        for await (const c of jsm.consumers.list(EVENTS_STREAM))
          if (c.name.startsWith("p-")) left += c.num_pending + c.num_ack_pending;
        if (left === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await nc.close();
      for (const p of procs.reverse()) {
        p.kill("SIGTERM");
        await new Promise((r) => setTimeout(r, 200));
        if (p.exitCode === null) p.kill("SIGKILL");
      }
    },
  };
}

async function sustained(mode: "one" | "cluster"): Promise<void> {
  const events = emulate(
    scenarios.map((s) => s.name),
    { seed: 3, noise },
  );
  const envelopes = events.map((ev) => envelopeOf(ev, toSplunkEvent(ev, defaultFieldViewOptions).time));
  const bytes = envelopes.reduce((n, e) => n + e.length, 0);
  const times = events.map((e) => toSplunkEvent(e, defaultFieldViewOptions).time ?? 0);
  const span = Math.ceil(Math.max(...times) - Math.min(...times)) + 3600;
  console.log(
    `load: ${envelopes.length} distinct events per pass (${Math.round(bytes / envelopes.length)} bytes per HEC envelope on average), passes shifted by ${span} s`,
  );
  const target = mode === "cluster" ? await startCluster() : await startOne();
  const { url } = target;
  const pid = target.pids.ingest ?? target.pids.serve;
  const cpu0 = Object.fromEntries(Object.entries(target.pids).map(([k, p]) => [k, cpuSeconds(p)]));
  const channel = randomUUID();
  const eventUrl = `${url}/services/collector/event`;
  const ackUrl = `${url}/services/collector/ack`;
  const pending = new Map<number, number>();
  let acked = 0;
  let sent = 0;
  let busy = 0;
  const started = performance.now();
  const rss: [number, number][] = [];
  const sampler = setInterval(() => rss.push([(performance.now() - started) / 1000, rssMb(pid)]), 1000);
  const shift = (text: string, pass: number) =>
    pass === 0
      ? text
      : text
          .replace(
            /<EventRecordID>(\d+)<\/EventRecordID>/,
            (_m, id) => `<EventRecordID>${Number(id) + pass * 10_000_000}</EventRecordID>`,
          )
          .replace(
            /SystemTime=\\"([^"\\]+)\\"/,
            (_m, iso) => `SystemTime=\\"${new Date(Date.parse(iso) + pass * span * 1000).toISOString()}\\"`,
          );
  const poller = (async () => {
    while (performance.now() - started < seconds * 1000 || pending.size > 0) {
      await new Promise((r) => setTimeout(r, 50));
      if (pending.size === 0) continue;
      const ids = [...pending.keys()];
      const r = await post(ackUrl, JSON.stringify({ acks: ids }), token, channel);
      const acks = (JSON.parse(r.body) as { acks: Record<string, boolean> }).acks;
      for (const id of ids)
        if (acks[String(id)]) {
          acked += pending.get(id) ?? 0;
          pending.delete(id);
        }
    }
  })();
  let pass = 0;
  let i = 0;
  while (performance.now() - started < seconds * 1000) {
    while (pending.size >= inflight) await new Promise((r) => setTimeout(r, 5));
    const lines: string[] = [];
    for (let k = 0; k < batchSize; k++) {
      lines.push(shift(envelopes[i], pass));
      if (++i === envelopes.length) {
        i = 0;
        pass++;
      }
    }
    const r = await post(eventUrl, lines.join("\n"), token, channel);
    if (r.status === 503) {
      busy++;
      await new Promise((res) => setTimeout(res, 20));
      continue;
    }
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body}`);
    pending.set((JSON.parse(r.body) as { ackId: number }).ackId, lines.length);
    sent += lines.length;
  }
  await poller;
  const elapsed = (performance.now() - started) / 1000;
  await target.drained();
  const processedIn = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const cpu = Object.entries(target.pids).map(([k, p]) => `${k} ${(cpuSeconds(p) - cpu0[k]).toFixed(1)} s`);
  const rssAll = Object.entries(target.pids).map(([k, p]) => `${k} ${rssMb(p).toFixed(0)} MB`);
  const text = await get(`${url}/metrics`);
  const mb = (name: string) => (metric(text, name) / 1048576).toFixed(0);
  console.log(
    `server memory at the end: RSS ${mb("dcomhunt_process_resident_memory_bytes")} MB, V8 heap used ${mb("dcomhunt_process_heap_used_bytes")} MB of ${mb("dcomhunt_process_heap_total_bytes")} MB, external ${mb("dcomhunt_process_external_memory_bytes")} MB`,
  );
  await target.stop();
  const peak = Math.max(...rss.map((p) => p[1]));
  const tail = rss.filter((p) => p[0] >= 5);
  console.log(
    `${mode === "cluster" ? "cluster (nats-server, ingest node, 2 workers)" : "one process"}, acks on: ${acked} events acknowledged in ${elapsed.toFixed(1)} s = ${Math.round(acked / elapsed)} events/s ` +
      `(${sent} sent, ${busy} busy answers, ${pass} passes)` +
      (mode === "cluster"
        ? `; every partition drained (all events through the rules) after ${processedIn.toFixed(1)} s = ${Math.round(acked / processedIn)} events/s processed`
        : ""),
  );
  console.log(`CPU time (user+sys) during the run: ${cpu.join(", ")}; RSS at the end: ${rssAll.join(", ")}`);
  console.log(
    `alerts stored${mode === "cluster" ? " (gathered by the ingest node)" : ""}: ${metric(text, "dcomhunt_alerts_stored")}${mode === "one" ? `, p99 alert latency ${metric(text, "dcomhunt_alert_latency_p99_seconds").toFixed(3)} s` : ""}`,
  );
  console.log(
    `server RSS: ${rss[0]?.[1].toFixed(0)} MB at 1 s, peak ${peak.toFixed(0)} MB, slope after 5 s ${(slope(tail) * 60).toFixed(1)} MB/min`,
  );
  // The first half includes warm-up (V8 growing its heap, the duplicate filter filling up to its bound);
  // the second half's slope is the one an hour-long run continues with.
  const half = rss.filter((p) => p[0] >= elapsed / 2);
  const at = (f: number) =>
    rss[Math.min(rss.length - 1, Math.max(0, Math.round(f * rss.length) - 1))]?.[1].toFixed(0);
  console.log(
    `server RSS at 25/50/75/100 % of the run: ${at(0.25)} / ${at(0.5)} / ${at(0.75)} / ${at(1)} MB; slope over the second half ${(slope(half) * 60).toFixed(1)} MB/min`,
  );
}

async function throughCli(): Promise<void> {
  const file = path.join(tmp, "estate.evtx");
  const events = emulate(
    scenarios.map((s) => s.name),
    { seed: 5, noise },
  );
  writeFileSync(file, renderEvtx(events));
  rmSync(path.join(tmp, "data"), { recursive: true, force: true });
  const { proc, url } = await startServe();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, "replay", file, "--to", url, "--token", token, "--quiet"], {
    encoding: "utf8",
  });
  const s = (performance.now() - t0) / 1000;
  proc.kill("SIGTERM");
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
  console.log(
    `CLI: dcomhunt replay of ${events.length} events (EVTX read, rendered, sent, acknowledged): ${s.toFixed(1)} s = ${Math.round(events.length / s)} events/s`,
  );
}

try {
  console.log(`uptime: ${spawnSync("uptime", { encoding: "utf8" }).stdout.trim()}`);
  if (args.includes("--cluster")) await sustained("cluster");
  else {
    await sustained("one");
    await throughCli();
  }
  console.log(`uptime: ${spawnSync("uptime", { encoding: "utf8" }).stdout.trim()}`);
} finally {
  agent.destroy();
  rmSync(tmp, { recursive: true, force: true });
}
