/**
 * bench/scan: end-to-end `dcomhunt scan --rules seed` throughput and peak RSS on a ~200 MB EVTX and on
 * the 49 MB corpus NXLog JSON, against peers run in the same script:
 * - DuckDB (`@duckdb/node-api`): a hand-written SQL equivalent of the seed query with read_json_auto
 *   over the same JSON file;
 * - libevtx's `evtxexport -f xml` (plain XML dump of the EVTX, no detection at all), where installed.
 *
 * Run: npm run build && node --import tsx bench/scan/run.ts [--evtx-mb 200] [--repeat 3]
 * Inputs are made in bench/out/ (ignored by git). The EVTX is written by our EvtxWriter with distinct
 * records (a Sysmon mix with some seed hits); when the writer is unavailable, it falls back to
 * ../shared/tools/evtx-replicate.py and scans with --no-dedup (replicated chunks repeat record ids).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = path.join(root, "bench", "out");
const corpus = path.resolve(root, "..", "shared", "corpus");
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const evtxMb = opt("evtx-mb", 200);
const repeat = opt("repeat", 3);

interface Measure {
  seconds: number;
  maxRssMb: number;
  rows?: number;
}

/**
 * Run a command `repeat` times: best wall time, peak RSS of the child (getrusage(RUSAGE_CHILDREN),
 * through python3, which waits for nothing else) and the number of output lines.
 */
function timeCommand(cmd: string, cmdArgs: string[]): Measure {
  const py = `
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
t1 = time.perf_counter()
print(json.dumps({"status": r.returncode, "seconds": t1 - t0,
  "maxRssKb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
  "lines": len([l for l in r.stdout.split(b"\\n") if l])}))
`;
  let best = Number.POSITIVE_INFINITY;
  let rss = 0;
  let rows = 0;
  for (let i = 0; i < repeat; i++) {
    const res = spawnSync("python3", ["-c", py, cmd, ...cmdArgs], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (res.status !== 0) throw new Error(`timing wrapper failed: ${res.stderr}`);
    const m = JSON.parse(res.stdout) as { status: number; seconds: number; maxRssKb: number; lines: number };
    if (m.status !== 0 && m.status !== 3) throw new Error(`${cmd} ${cmdArgs.join(" ")} exited ${m.status}`);
    best = Math.min(best, m.seconds);
    rss = Math.max(rss, m.maxRssKb / 1024);
    rows = m.lines;
  }
  return { seconds: best, maxRssMb: rss, rows };
}

function have(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
}

async function makeEvtx(): Promise<{ file: string; distinct: boolean }> {
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `scan-${evtxMb}mb.evtx`);
  if (existsSync(file)) return { file, distinct: !existsSync(`${file}.replicated`) };
  try {
    const gen = await import("../evtx/generate.js");
    await gen.writeSysmonMix(file, evtxMb * 1048576, { seedHitsEvery: 5000 });
    return { file, distinct: true };
  } catch (err) {
    console.error(
      `(our writer's generator unavailable: ${(err as Error).message}; replicating corpus chunks)`,
    );
    execFileSync("python3", [
      path.join(root, "..", "shared", "tools", "evtx-replicate.py"),
      file,
      String(evtxMb),
      ...[
        "sysmon.evtx",
        "PanacheSysmon_vs_AtomicRedTeam01.evtx",
        "panache_sysmon_vs_EDRTestingScript.evtx",
      ].map((f) => path.join(corpus, "benign", f)),
      path.join(corpus, "attacks", "LM_impacket_docmexec_mmc_sysmon_01.evtx"),
    ]);
    execFileSync("touch", [`${file}.replicated`]);
    return { file, distinct: false };
  }
}

/** The seed query by hand in DuckDB SQL over the NXLog JSON (fields as NXLog writes them). */
const SEED_SQL = (file: string) => `
WITH ev AS (
  SELECT * FROM read_json_auto('${file}', format = 'newline_delimited', union_by_name = true, sample_size = -1)
)
SELECT EventTime AS _time, Hostname AS host, "User", Image, CommandLine, ParentImage, ParentCommandLine,
  CASE
    WHEN regexp_matches(ParentImage, '(mmc|excel|winword|outlook|powerpnt)') AND regexp_matches(Image, '(cmd|powershell|wscript|cscript|mshta|rundll32)') THEN 'COM_SuspiciousChild'
    WHEN regexp_matches(Image, 'dcomcnfg') THEN 'DCOM_ConfigTool'
    WHEN regexp_matches(CommandLine, 'DCOM') THEN 'DCOM_CommandLineRef'
    ELSE 'DCOM_Other'
  END AS DetectionPattern
FROM ev
WHERE lower(Channel) = 'microsoft-windows-sysmon/operational' AND CAST(EventID AS VARCHAR) = '1'
  AND (
    ((lower(ParentImage) LIKE '%\\mmc.exe' OR lower(ParentImage) LIKE '%\\excel.exe' OR lower(ParentImage) LIKE '%\\winword.exe'
      OR lower(ParentImage) LIKE '%\\outlook.exe' OR lower(ParentImage) LIKE '%\\powerpnt.exe')
     AND (lower(Image) LIKE '%\\cmd.exe' OR lower(Image) LIKE '%\\powershell.exe' OR lower(Image) LIKE '%\\wscript.exe'
      OR lower(Image) LIKE '%\\cscript.exe' OR lower(Image) LIKE '%\\mshta.exe' OR lower(Image) LIKE '%\\rundll32.exe'))
    OR lower(Image) LIKE '%\\dcomcnfg.exe'
    OR (lower(CommandLine) LIKE '%-exec%' AND lower(CommandLine) LIKE '%dcom%')
  )
ORDER BY UtcTime DESC
LIMIT 10000`;

/**
 * One in-process measurement, run in a child process of its own so that its peak RSS is its own:
 * `--child duckdb FILE` (cold: instance creation, read_json_auto, the query) or `--child ours FILE`
 * (dcomhunt's runner in-process: rule selection and compilation, reading, the SPL pipeline), printing
 * {seconds, rows, maxRssMb} as JSON. Neither includes Node's own start-up or module loading.
 */
async function child(kind: string, file: string): Promise<void> {
  let seconds: number;
  let rows = 0;
  if (kind === "duckdb") {
    const mod = await import("@duckdb/node-api");
    const t0 = performance.now();
    const instance = await mod.DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    const reader = await conn.runAndReadAll(SEED_SQL(file));
    rows = reader.getRows().length;
    seconds = (performance.now() - t0) / 1000;
    conn.closeSync();
  } else {
    const { selectRules } = await import("../../src/rules/loader.js");
    const { compileRules, runRules } = await import("../../src/rules/run.js");
    const { defaultFieldViewOptions } = await import("../../src/events/fields.js");
    const t0 = performance.now();
    const opts = { fieldView: defaultFieldViewOptions };
    const compiled = compileRules(selectRules(["seed"]), opts);
    await runRules(compiled, [file], opts, {
      row: () => {
        rows++;
      },
      alert: () => {},
    });
    seconds = (performance.now() - t0) / 1000;
  }
  process.stdout.write(JSON.stringify({ seconds, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

function inProcess(kind: string, file: string): Measure {
  let best: Measure | undefined;
  let rss = 0;
  for (let i = 0; i < repeat; i++) {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--child", kind, file],
      {
        encoding: "utf8",
        cwd: root,
      },
    );
    if (r.status !== 0) throw new Error(`${kind} child failed: ${r.stderr}`);
    const m = JSON.parse(r.stdout) as Measure;
    rss = Math.max(rss, m.maxRssMb);
    if (!best || m.seconds < best.seconds) best = m;
  }
  return { ...best!, maxRssMb: rss };
}

function line(label: string, bytes: number, m: Measure, records?: number): string {
  const mb = bytes / 1048576;
  const rate = `${(mb / m.seconds).toFixed(1)} MB/s`;
  const rec = records ? `, ${Math.round(records / m.seconds).toLocaleString("en-US")} records/s` : "";
  return `${label.padEnd(44)} ${m.seconds.toFixed(2).padStart(7)} s  ${rate.padStart(11)}${rec}  peak RSS ${m.maxRssMb.toFixed(0)} MB${m.rows !== undefined ? `  rows ${m.rows}` : ""}`;
}

async function main() {
  const cli = path.join(root, "bin", "dcomhunt.js");
  if (!existsSync(path.join(root, "dist", "cli", "main.js"))) throw new Error("run 'npm run build' first");
  console.log(
    `bench/scan on ${process.platform} ${process.arch}, node ${process.version}, best of ${repeat}`,
  );

  const json = path.join(corpus, "attacks", "empire_dcom_shellwindows_stager_2020-09-18130751.json");
  if (existsSync(json)) {
    const size = statSync(json).size;
    const ours = timeCommand(process.execPath, [
      cli,
      "scan",
      "--rules",
      "seed",
      "-f",
      "ndjson",
      "--quiet",
      "--threads",
      "1",
      json,
    ]);
    console.log(line("dcomhunt scan --rules seed (NXLog JSON)", size, ours));
    const oursIn = inProcess("ours", json);
    console.log(line("dcomhunt runner in-process (no start-up)", size, oursIn));
    const duck = inProcess("duckdb", json);
    console.log(line("DuckDB read_json_auto + seed SQL (cold)", size, duck));
    console.log(
      `ratio on the JSON, in-process (like for like): dcomhunt at ${(duck.seconds / oursIn.seconds).toFixed(2)}x DuckDB's speed; ` +
        `whole CLI run incl. Node start-up: ${(duck.seconds / ours.seconds).toFixed(2)}x (above 1 = dcomhunt faster)`,
    );
  } else {
    console.log(`(corpus JSON absent: ${json})`);
  }

  const { file: evtx, distinct } = await makeEvtx();
  const size = statSync(evtx).size;
  const extra = distinct ? [] : ["--no-dedup"];
  for (const threads of ["1", "2"]) {
    const ours = timeCommand(process.execPath, [
      cli,
      "scan",
      "--rules",
      "seed",
      "-f",
      "ndjson",
      "--quiet",
      "--threads",
      threads,
      ...extra,
      evtx,
    ]);
    console.log(
      line(`dcomhunt scan --rules seed (EVTX, ${threads} thread${threads === "1" ? "" : "s"})`, size, ours),
    );
  }
  if (have("evtxexport")) {
    const peer = timeCommand("evtxexport", ["-f", "xml", evtx]);
    peer.rows = undefined;
    console.log(line("evtxexport -f xml (dump only, no detection)", size, peer));
  } else {
    console.log("(evtxexport not installed: apt-get install libevtx-utils)");
  }
}

const childAt = args.indexOf("--child");
if (childAt >= 0) await child(args[childAt + 1], args[childAt + 2]);
else await main();
