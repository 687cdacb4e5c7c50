/**
 * bench/cli: what a user waits for, through the built command (bin/dcomhunt.js), against peers in the
 * same run (issue 15's table):
 *   1. `convert --format xml` of a ~40 MB Sysmon+Panache EVTX      vs libevtx's `evtxexport -f xml`
 *   2. `scan --rules seed` of a ~200 MB EVTX                       vs `evtxexport -f xml`
 *   3. `scan --rules seed` of the 49 MB NXLog JSON (corpus)        vs DuckDB read_json_auto + the seed
 *      filter in SQL, as a whole process of its own (node + @duckdb/node-api; no duckdb CLI here)
 *   4. start-up: `scan --rules seed` and `--rules all` of a ~1 MB EVTX, median of --startup-runs, with
 *      `node -e 0` measured interleaved as the floor.
 * Every command runs as a child of one python3 wrapper that reports wall time, CPU time (user+sys) and
 * peak RSS (getrusage of its children); output goes to /dev/null for ours and the peers alike. The EVTX
 * inputs are made on the fly by ../shared/tools/evtx-replicate.py from corpus chunks (record ids repeat
 * across copies, so scans use --no-dedup) in a temp folder removed at the end.
 *
 * Run: npm run build && node --import tsx bench/cli/run.ts [--convert-mb 40] [--scan-mb 200] [--repeat 3]
 *      [--startup-runs 10] [--only convert,scan-evtx,scan-json,startup] [--cli OTHER/bin/dcomhunt.js]
 *      [--baseline OLD/bin/dcomhunt.js]
 * Ours: best of --repeat (rows 1-3); peers run once (evtxexport on 200 MB takes tens of seconds) except
 * DuckDB (best of --repeat). The machine may be shared: CPU time is the steadier figure; the load
 * average is printed before and after.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpus = path.resolve(root, "..", "shared", "corpus");
const replicate = path.resolve(root, "..", "shared", "tools", "evtx-replicate.py");
const args = process.argv.slice(2);
// --cli PATH: measure another build of the command (e.g. an older commit's bin/dcomhunt.js) instead.
const cliAt = args.indexOf("--cli");
const cli = cliAt >= 0 ? path.resolve(args[cliAt + 1]) : path.join(root, "bin", "dcomhunt.js");
// --baseline PATH: in the start-up row, also run another build (interleaved) for a before/after.
const baselineAt = args.indexOf("--baseline");
const baseline = baselineAt >= 0 ? path.resolve(args[baselineAt + 1]) : undefined;
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const onlyAt = args.indexOf("--only");
const only = new Set(
  onlyAt >= 0 ? args[onlyAt + 1].split(",") : ["convert", "scan-evtx", "scan-json", "startup"],
);
const convertMb = opt("convert-mb", 40);
const scanMb = opt("scan-mb", 200);
const repeat = opt("repeat", 3);
const startupRuns = opt("startup-runs", 10);
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

interface Run {
  wall: number;
  cpu: number;
  rssMb: number;
  status: number;
}

const WRAPPER = `
import json, resource, subprocess, sys, time
runs = []
cmds = json.loads(sys.argv[1])
for cmd in cmds:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append({"wall": t1 - t0, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                 "rssMb": after.ru_maxrss / 1024, "status": r.returncode, "stderr": r.stderr.decode(errors="replace")[-400:]})
print(json.dumps(runs))
`;

/**
 * Run the commands in order in one wrapper. Peak RSS is the wrapper's children high-water mark, so
 * each distinct command gets its own wrapper (see measure()).
 */
function runAll(cmds: string[][]): Run[] {
  const r = spawnSync(python, ["-c", WRAPPER, JSON.stringify(cmds)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`timing wrapper failed: ${r.stderr}`);
  const runs = JSON.parse(r.stdout) as (Run & { stderr: string })[];
  for (const [i, run] of runs.entries())
    if (run.status !== 0 && run.status !== 3)
      throw new Error(`${cmds[i].join(" ")} exited ${run.status}: ${run.stderr}`);
  return runs;
}

/** Best wall (and its CPU), peak RSS over all runs. */
function measure(cmd: string[], times: number): Run {
  const runs = runAll(Array.from({ length: times }, () => cmd));
  const best = runs.reduce((a, b) => (b.wall < a.wall ? b : a));
  return { ...best, cpu: Math.min(...runs.map((r) => r.cpu)), rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function have(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
}

function fmt(r: Run): string {
  return `${r.wall.toFixed(3).padStart(8)} s wall ${r.cpu.toFixed(3).padStart(8)} s CPU  peak RSS ${r.rssMb.toFixed(0).padStart(4)} MB`;
}

function row(label: string, r: Run): void {
  console.log(`  ${label.padEnd(58)} ${fmt(r)}`);
}

function ratio(label: string, ours: Run, peer: Run, goal: number): void {
  const w = peer.wall / ours.wall;
  const c = peer.cpu / ours.cpu;
  console.log(
    `  => ${label}: ${w.toFixed(1)}x on wall time, ${c.toFixed(1)}x on CPU time (goal >= ${goal}x; above 1 = dcomhunt faster)`,
  );
}

function makeEvtx(dir: string, name: string, mb: number, inputs: string[]): string {
  const file = path.join(dir, name);
  execFileSync(python, [replicate, file, String(mb), ...inputs], { stdio: ["ignore", "ignore", "inherit"] });
  return file;
}

/** The seed query by hand in DuckDB SQL over the NXLog JSON (bench/scan's, fields as NXLog writes them). */
const seedSql = (file: string) => `
SELECT EventTime AS _time, Hostname AS host, "User", Image, CommandLine, ParentImage, ParentCommandLine
FROM read_json_auto('${file.replace(/'/g, "''")}', format = 'newline_delimited', union_by_name = true, sample_size = -1)
WHERE lower(Channel) = 'microsoft-windows-sysmon/operational' AND CAST(EventID AS VARCHAR) = '1'
  AND (
    ((lower(ParentImage) LIKE '%\\\\mmc.exe' OR lower(ParentImage) LIKE '%\\\\excel.exe' OR lower(ParentImage) LIKE '%\\\\winword.exe'
      OR lower(ParentImage) LIKE '%\\\\outlook.exe' OR lower(ParentImage) LIKE '%\\\\powerpnt.exe')
     AND (lower(Image) LIKE '%\\\\cmd.exe' OR lower(Image) LIKE '%\\\\powershell.exe' OR lower(Image) LIKE '%\\\\wscript.exe'
      OR lower(Image) LIKE '%\\\\cscript.exe' OR lower(Image) LIKE '%\\\\mshta.exe' OR lower(Image) LIKE '%\\\\rundll32.exe'))
    OR lower(Image) LIKE '%\\\\dcomcnfg.exe'
    OR (lower(CommandLine) LIKE '%-exec%' AND lower(CommandLine) LIKE '%dcom%')
  )
ORDER BY UtcTime DESC`;

/** A whole DuckDB process: node, @duckdb/node-api, instance, read_json_auto and the filter; prints rows. */
function duckdbCommand(file: string): string[] {
  const code = `
import { DuckDBInstance } from "@duckdb/node-api";
const instance = await DuckDBInstance.create(":memory:");
const conn = await instance.connect();
const reader = await conn.runAndReadAll(${JSON.stringify(seedSql(file))});
process.stdout.write(JSON.stringify(reader.getRowObjectsJson()) + "\\n");
conn.closeSync();`;
  // Run from the repository so that the package resolves.
  return [process.execPath, "--input-type=module", "-e", code];
}

async function main(): Promise<void> {
  if (!existsSync(path.join(root, "dist", "cli", "main.js"))) throw new Error("run 'npm run build' first");
  if (!existsSync(replicate)) throw new Error(`missing ${replicate}`);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  console.log(
    `bench/cli: node ${process.version}, ${process.platform} ${process.arch}, load average ${load()} (machine shared: repeat runs)`,
  );
  const cliRoot = path.resolve(path.dirname(cli), "..");
  console.log(
    `  command: ${cli} (${existsSync(path.join(cliRoot, "dist", "bundle", "main.js")) ? "dist/bundle/main.js" : "dist/cli/main.js"})`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-bench-cli-"));
  const sysmon = [
    "sysmon.evtx",
    "PanacheSysmon_vs_AtomicRedTeam01.evtx",
    "panache_sysmon_vs_EDRTestingScript.evtx",
  ].map((f) => path.join(corpus, "benign", f));
  const attack = path.join(corpus, "attacks", "LM_impacket_docmexec_mmc_sysmon_01.evtx");
  const ours = (...a: string[]) => [process.execPath, cli, ...a];
  try {
    if (only.has("convert")) {
      const file = makeEvtx(dir, "convert.evtx", convertMb, [...sysmon, attack]);
      const mb = statSync(file).size / 1048576;
      console.log(`\n1. convert --format xml, ${mb.toFixed(1)} MB EVTX (Sysmon + Panache corpus chunks)`);
      const a = measure(ours("convert", "-q", "--format", "xml", file), repeat);
      row("dcomhunt convert --format xml (best of repeat)", a);
      if (have("evtxexport")) {
        const p = measure(["evtxexport", "-f", "xml", file], 1);
        row("evtxexport -f xml", p);
        ratio("convert xml vs evtxexport", a, p, 10);
      } else console.log("  (evtxexport not installed: apt-get install libevtx-utils)");
    }
    if (only.has("scan-evtx")) {
      const file = makeEvtx(dir, "scan.evtx", scanMb, [...sysmon, attack]);
      const mb = statSync(file).size / 1048576;
      console.log(`\n2. scan --rules seed, ${mb.toFixed(1)} MB EVTX (corpus chunks replicated, --no-dedup)`);
      const a = measure(ours("scan", "-q", "--rules", "seed", "-f", "ndjson", "--no-dedup", file), repeat);
      row("dcomhunt scan --rules seed (best of repeat)", a);
      if (have("evtxexport")) {
        const p = measure(["evtxexport", "-f", "xml", file], 1);
        row("evtxexport -f xml (a dump, no detection)", p);
        ratio("seed scan vs evtxexport", a, p, 30);
      }
    }
    if (only.has("scan-json")) {
      const file = path.join(corpus, "attacks", "empire_dcom_shellwindows_stager_2020-09-18130751.json");
      if (!existsSync(file)) console.log(`\n3. (corpus JSON absent: ${file})`);
      else {
        console.log(
          `\n3. scan --rules seed, ${(statSync(file).size / 1048576).toFixed(1)} MB NXLog JSON (corpus)`,
        );
        const a = measure(ours("scan", "-q", "--rules", "seed", "-f", "ndjson", file), repeat);
        row("dcomhunt scan --rules seed (best of repeat)", a);
        const cmd = duckdbCommand(file);
        const cwd = process.cwd();
        process.chdir(root);
        const p = measure(cmd, repeat);
        process.chdir(cwd);
        row("DuckDB read_json_auto + seed filter, whole process", p);
        ratio("seed scan vs DuckDB", a, p, 1.5);
      }
    }
    if (only.has("startup")) {
      const file = makeEvtx(dir, "small.evtx", 1, [sysmon[0]]);
      console.log(
        `\n4. start-up: ${(statSync(file).size / 1048576).toFixed(1)} MB EVTX, median of ${startupRuns}, interleaved with node -e 0`,
      );
      const cmds: Record<string, string[]> = {
        floor: [process.execPath, "-e", "0"],
        seed: ours("scan", "-q", "--rules", "seed", file),
        all: ours("scan", "-q", "--rules", "all", file),
      };
      if (baseline) {
        cmds.baseSeed = [process.execPath, baseline, "scan", "-q", "--rules", "seed", file];
        cmds.baseAll = [process.execPath, baseline, "scan", "-q", "--rules", "all", file];
      }
      const keys = Object.keys(cmds);
      const runs = runAll(Array.from({ length: startupRuns }, () => keys.map((k) => cmds[k])).flat());
      const stat = (k: string): Run => {
        const rs = runs.filter((_, i) => keys[i % keys.length] === k);
        return {
          wall: median(rs.map((r) => r.wall)),
          cpu: median(rs.map((r) => r.cpu)),
          rssMb: Math.max(...rs.map((r) => r.rssMb)),
          status: 0,
        };
      };
      const floor = stat("floor");
      const seed = stat("seed");
      const all = stat("all");
      row("node -e 0 (floor)", floor);
      row("dcomhunt scan --rules seed", seed);
      row("dcomhunt scan --rules all", all);
      if (baseline) {
        row(`baseline scan --rules seed (${path.relative(process.cwd(), baseline)})`, stat("baseSeed"));
        row("baseline scan --rules all", stat("baseAll"));
      }
      console.log(
        `  => seed: ${(seed.wall * 1000).toFixed(0)} ms (goal <= 150 ms), ${(seed.wall / floor.wall).toFixed(1)}x node -e 0 on wall, ` +
          `${(seed.cpu / floor.cpu).toFixed(1)}x on CPU (goal <= 3x); all: ${(all.wall * 1000).toFixed(0)} ms (goal <= 250 ms)`,
      );
      console.log("  (peak RSS in row 4 is the high-water mark of all start-up runs)");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nload average at the end: ${load()}`);
}

await main();
