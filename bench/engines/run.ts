/**
 * bench/engines: `dcomhunt load` rate (MB/s of EVTX) into DuckDB and into a 3-node ClickHouse 18.16
 * cluster on loopback, peak RSS of `load`, and the time of the rules in each engine against `scan`
 * re-reading the files, all through the built CLI.
 *
 * Input: the corpus (../shared/corpus attacks, negatives, benign) plus the emulated estate, read once and
 * written again as EVTX copies with renamed hosts (`WORKSTATION6` -> `WORKSTATION6-R7`), one file per
 * copy, until the total reaches --mb (default 100; `--mb 2048` for the 2 GB run).
 *
 * Run: npm run build && node --import tsx bench/engines/run.ts [--mb 100] [--repeat 3] [--no-clickhouse]
 * Outputs in bench/out/engines (ignored by git); the ClickHouse nodes run in a temp dir, stopped by PID.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { emulate, scenarios } from "../../src/emulate/index.js";
import type { WinEvent } from "../../src/events/model.js";
import { writeEvtxFile } from "../../src/readers/evtx/index.js";
import { readInputs } from "../../src/readers/index.js";
import { startCluster } from "../../test/engines/cluster.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = path.join(root, "bench", "out", "engines");
const corpus = path.resolve(root, "..", "shared", "corpus");
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const targetMb = opt("mb", 100);
const repeat = opt("repeat", 3);
const withClickHouse = !args.includes("--no-clickhouse");
const cli = path.join(root, "bin", "dcomhunt.js");

interface Measure {
  seconds: number;
  /** user + system CPU of the dcomhunt process (DuckDB included; ClickHouse servers not). */
  cpu: number;
  maxRssMb: number;
  status: number;
}

/** One run of the CLI: wall time and the child's peak RSS (getrusage through python3). */
function time1(cmdArgs: string[]): Measure {
  const py = `
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
t1 = time.perf_counter()
sys.stderr.write(r.stderr.decode()[-2000:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"status": r.returncode, "seconds": t1 - t0, "cpu": ru.ru_utime + ru.ru_stime,
  "maxRssKb": ru.ru_maxrss}))
`;
  const res = spawnSync("python3", ["-c", py, process.execPath, cli, ...cmdArgs], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (res.status !== 0) throw new Error(`timing wrapper failed: ${res.stderr}`);
  const m = JSON.parse(res.stdout) as { status: number; seconds: number; cpu: number; maxRssKb: number };
  if (m.status !== 0) throw new Error(`dcomhunt ${cmdArgs.join(" ")} exited ${m.status}:\n${res.stderr}`);
  return { seconds: m.seconds, cpu: m.cpu, maxRssMb: m.maxRssKb / 1024, status: m.status };
}

function best(cmdArgs: string[], n = repeat): Measure {
  let b: Measure | undefined;
  for (let i = 0; i < n; i++) {
    const m = time1(cmdArgs);
    if (!b || m.seconds < b.seconds) b = { ...m, maxRssMb: Math.max(m.maxRssMb, b?.maxRssMb ?? 0) };
  }
  return b as Measure;
}

function renamed(ev: WinEvent, copy: number): WinEvent {
  const c = ev.system.computer ?? "host";
  const dot = c.indexOf(".");
  const computer = dot > 0 ? `${c.slice(0, dot)}-R${copy}${c.slice(dot)}` : `${c}-R${copy}`;
  return { ...ev, system: { ...ev.system, computer } };
}

async function makeInput(
  dir: string,
): Promise<{ bytes: number; files: number; hosts: number; copies: number }> {
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir).filter((f) => f.endsWith(".evtx"));
  const sizeOf = (files: string[]) => files.reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
  const base: WinEvent[] = [];
  if (existsSync(corpus)) {
    for await (const ev of readInputs(["attacks", "negatives", "benign"].map((d) => path.join(corpus, d))))
      base.push(ev);
  }
  base.push(
    ...emulate(
      scenarios.map((s) => s.name),
      { seed: 7, noise: 300 },
    ),
  );
  const baseHosts = new Set(base.map((e) => (e.system.computer ?? "").toLowerCase().split(".")[0]));
  let copies = existing.length;
  let bytes = sizeOf(existing);
  while (bytes < targetMb * 1048576) {
    const file = path.join(dir, `copy-${String(copies).padStart(4, "0")}.evtx`);
    const c = copies;
    await writeEvtxFile(
      file,
      base.map((e) => renamed(e, c)),
    );
    bytes += statSync(file).size;
    copies++;
  }
  return { bytes, files: copies, hosts: baseHosts.size * copies, copies };
}

const fmt = (n: number, d = 2) => n.toFixed(d);

async function main() {
  const inputDir = path.join(out, `input-${targetMb}mb`);
  const load0 = loadavg()[0];
  const input = await makeInput(inputDir);
  const mb = input.bytes / 1048576;
  console.log(
    `input: ${input.files} EVTX file(s), ${fmt(mb, 1)} MB, ${input.hosts} hosts (corpus + estate, hosts renamed per copy); load average ${fmt(load0)}`,
  );
  const lines: string[] = [];
  const row = (what: string, m: Measure, extra = "") => {
    const line = `${what.padEnd(44)} ${fmt(m.seconds).padStart(8)} s wall ${fmt(m.cpu).padStart(8)} s CPU  peak RSS ${fmt(m.maxRssMb, 0).padStart(5)} MB  ${extra}`;
    lines.push(line);
    console.log(line);
  };

  // Files: scan re-reads everything for each question.
  const scanSeed = best(["scan", inputDir, "-r", "seed", "-f", "csv", "-q"], Math.min(repeat, 2));
  row("scan -r seed (files)", scanSeed, `${fmt(mb / scanSeed.seconds, 1)} MB/s`);
  const scanDcom = best(["scan", inputDir, "-r", "dcom", "-f", "csv", "-q"], 1);
  row("scan -r dcom (files: the sequence rules)", scanDcom, `${fmt(mb / scanDcom.seconds, 1)} MB/s`);
  const scanAll = best(["scan", inputDir, "-r", "all", "-f", "csv", "-q"], 1);
  row("scan -r all (files: seed + dcom pack)", scanAll, `${fmt(mb / scanAll.seconds, 1)} MB/s`);

  // DuckDB
  const duck = path.join(out, "bench.duckdb");
  rmSync(duck, { force: true });
  rmSync(`${duck}.wal`, { force: true });
  const loadDuck = time1(["load", inputDir, "--into", `duckdb:${duck}`, "-q"]);
  row(
    "load --into duckdb",
    loadDuck,
    `${fmt(mb / loadDuck.seconds, 1)} MB/s of EVTX (${fmt(mb / loadDuck.cpu, 1)} MB per CPU-second)`,
  );
  const qDuck = best(["scan", "--engine", `duckdb:${duck}`, "-r", "seed", "-f", "csv", "-q"]);
  row(
    "scan --engine duckdb -r seed",
    qDuck,
    `${fmt(scanSeed.seconds / qDuck.seconds, 1)}x faster than files`,
  );
  const dDuck = best(["scan", "--engine", `duckdb:${duck}`, "-r", "dcom", "-f", "csv", "-q"]);
  row(
    "scan --engine duckdb -r dcom",
    dDuck,
    `${fmt(scanDcom.seconds / dDuck.seconds, 1)}x faster than files`,
  );

  if (withClickHouse) {
    const cluster = await startCluster(3, "dcom");
    try {
      const url = cluster.url("bench");
      const loadCh = time1(["load", inputDir, "--into", url, "--cluster", "dcom", "-q"]);
      row(
        "load --into clickhouse (3 nodes)",
        loadCh,
        `${fmt(mb / loadCh.seconds, 1)} MB/s of EVTX (${fmt(mb / loadCh.cpu, 1)} MB per client CPU-second)`,
      );
      const qCh = best(["scan", "--engine", url, "--cluster", "dcom", "-r", "seed", "-f", "csv", "-q"]);
      row(
        "scan --engine clickhouse -r seed (3 nodes)",
        qCh,
        `${fmt(scanSeed.seconds / qCh.seconds, 1)}x faster than files`,
      );
      const dCh = best(["scan", "--engine", url, "--cluster", "dcom", "-r", "dcom", "-f", "csv", "-q"]);
      row(
        "scan --engine clickhouse -r dcom (3 nodes)",
        dCh,
        `${fmt(scanDcom.seconds / dCh.seconds, 1)}x faster than files`,
      );
    } finally {
      await cluster.stop();
    }
  }
  console.log(`load average at the end ${fmt(loadavg()[0])} (2 cores, shared with other jobs)`);
}

await main();
