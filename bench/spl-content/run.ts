/**
 * bench/spl-content: a 100-rule tstats run, as a user with security_content-style detections would
 * run it. The rules are generated here (security_content-shaped YAML in a checkout layout: detections/,
 * macros/ with drop_dm_object_name and security_content_ctime written in our own words), never
 * copied: `| tstats count min(_time) ... from datamodel=<Endpoint.Processes|Registry|Filesystem|
 * Services, Network_Traffic, Authentication> where ... by ... | drop_dm_object_name | ctime`.
 *
 * Measures, in-process, over the same input in the same run: all N rules in one pass (the readers get
 * the union of the rules' data-model push-downs and read the input once), against running rules one
 * by one (`--solo K` of them, each its own pass; the per-rule average is projected to N and labelled as
 * such). CPU time (user+sys) and wall time for both. Through the built CLI: `scan --rules CHECKOUT` of
 * all N rules, wall time and peak RSS.
 *
 * Input: the corpus' EVTX files (attacks, negatives, benign; the two large NXLog JSON captures are left
 * out so that the one-by-one runs stay short), or `--input PATH...`.
 *
 * Run: npm run build && node --import tsx bench/spl-content/run.ts [--rules 100] [--solo 10] [--repeat 2]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultFieldViewOptions } from "../../src/events/fields.js";
import { selectRules } from "../../src/rules/loader.js";
import { compileRules, type RunOptions, runRules } from "../../src/rules/run.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpus = path.resolve(root, "..", "shared", "corpus");
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const n = opt("rules", 100);
const solo = Math.min(opt("solo", 10), n);
const repeat = opt("repeat", 2);
const inputArg = args.indexOf("--input");
const inputs =
  inputArg >= 0
    ? args.slice(inputArg + 1).filter((a) => !a.startsWith("--"))
    : ["attacks", "negatives", "benign"]
        .map((d) => path.join(corpus, d))
        .filter((d) => existsSync(d))
        .flatMap((d) =>
          readdirSync(d)
            .filter((f) => f.endsWith(".evtx"))
            .map((f) => path.join(d, f)),
        );
if (inputs.length === 0) {
  console.log(`no input (corpus absent at ${corpus}; give --input PATH...)`);
  process.exit(0);
}

const dir = path.join(root, "bench", "out", `spl-content-${n}`);
const tools = [
  "cmd",
  "powershell",
  "rundll32",
  "regsvr32",
  "mshta",
  "wscript",
  "certutil",
  "bitsadmin",
  "wmic",
  "net",
];
const words = [
  "-enc",
  "download",
  "hidden",
  "bypass",
  "invoke",
  "/transfer",
  "urlcache",
  "scrobj",
  "create",
  "user",
];

function search(i: number): string {
  const t = tools[i % tools.length];
  const w = words[(i * 7) % words.length];
  const head =
    "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime";
  const tail = (obj: string) =>
    `| \`drop_dm_object_name(${obj})\` | \`security_content_ctime(firstTime)\` | \`security_content_ctime(lastTime)\` | \`bench_${i}_filter\``;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
      return `${head} from datamodel=Endpoint.Processes where Processes.process_name=${t}.exe Processes.process="*${w}*" by Processes.dest Processes.user Processes.parent_process_name Processes.process_name Processes.process Processes.process_id ${tail("Processes")}`;
    case 5:
      return `${head} from datamodel=Endpoint.Processes where Processes.parent_process_name IN ("${t}.exe", "mmc.exe") by Processes.dest Processes.parent_process Processes.process_name Processes.process ${tail("Processes")} | where count >= 1`;
    case 6:
      return `${head} from datamodel=Endpoint.Registry where Registry.registry_path="*\\\\CurrentVersion\\\\Run*" Registry.registry_value_data="*${t}*" by Registry.dest Registry.registry_path Registry.registry_value_name ${tail("Registry")}`;
    case 7:
      return `${head} from datamodel=Endpoint.Filesystem where Filesystem.file_name="*.${["ps1", "hta", "bat", "dll", "exe"][i % 5]}" by Filesystem.dest Filesystem.file_path ${tail("Filesystem")}`;
    case 8:
      return `${head} from datamodel=Network_Traffic.All_Traffic where All_Traffic.dest_port=${[135, 445, 3389, 5985, 443][i % 5]} by All_Traffic.src All_Traffic.dest All_Traffic.dest_port ${tail("All_Traffic")}`;
    default:
      return `${head} from datamodel=Authentication where Authentication.signature_id=${[4624, 4625, 4648][i % 3]} by Authentication.dest Authentication.user span=1h _time ${tail("Authentication")}`;
  }
}

function writeCheckout(): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "detections", "endpoint"), { recursive: true });
  mkdirSync(path.join(dir, "macros"), { recursive: true });
  const macro = (name: string, def: string, argsList?: string[]) =>
    writeFileSync(
      path.join(dir, "macros", `${name}.yml`),
      `name: ${name}\ndefinition: '${def.replace(/'/g, "''")}'\n${argsList ? `arguments:\n${argsList.map((a) => `- ${a}\n`).join("")}` : ""}`,
    );
  macro("security_content_summariesonly", "summariesonly=false allow_old_summaries=true");
  macro("drop_dm_object_name", "rename $object$.* AS *", ["object"]);
  macro("security_content_ctime", 'convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)', ["field"]);
  for (let i = 0; i < n; i++) {
    const id = `b3c40000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    writeFileSync(
      path.join(dir, "detections", "endpoint", `bench_${String(i).padStart(3, "0")}.yml`),
      `name: Bench tstats ${i}\nid: ${id}\ndata_source:\n- Sysmon EventID 1\nsearch: '${search(i).replace(/'/g, "''")}'\ntags:\n  mitre_attack_id:\n  - T1021.003\n`,
    );
  }
}

interface Cost {
  wall: number;
  cpu: number;
  rows: number;
  /** Records handed to the rules after the push-down. */
  events: number;
  bytes: number;
}

async function runOnce(rulesToRun: ReturnType<typeof selectRules>): Promise<Cost> {
  const opts: RunOptions = {
    fieldView: defaultFieldViewOptions,
    now: Date.parse("2026-01-01T00:00:00Z") / 1000,
  };
  const compiled = compileRules(rulesToRun, opts);
  let rows = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await runRules(compiled, inputs, opts, {
    row: () => {
      rows++;
    },
    alert: () => {},
  });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, rows, events: res.events, bytes: res.stats.bytes };
}

writeCheckout();
const rules = selectRules([dir]);
const blocked = rules.filter((r) => r.blocked !== undefined);
if (blocked.length > 0) {
  console.log(`${blocked.length} generated rules do not compile: ${blocked[0].name}: ${blocked[0].blocked}`);
  process.exit(1);
}
console.log(
  `bench/spl-content: ${n} generated tstats rules in ${path.relative(root, dir)}; ${inputs.length} input files; load ${loadavg()[0].toFixed(1)} (the machine is shared)`,
);

let all: Cost | undefined;
for (let i = 0; i < repeat; i++) {
  const c = await runOnce(rules);
  if (!all || c.cpu < all.cpu) all = c;
}
const allCost = all as Cost;
console.log(
  `in-process, all ${n} rules in one pass: CPU ${allCost.cpu.toFixed(2)} s, wall ${allCost.wall.toFixed(2)} s, ${(allCost.bytes / 1e6).toFixed(1)} MB read once, ${allCost.events} records past the push-down, ${allCost.rows} result rows (best of ${repeat})`,
);

let soloCpu = 0;
let soloWall = 0;
let soloRows = 0;
for (let i = 0; i < solo; i++) {
  const c = await runOnce([rules[i]]);
  soloCpu += c.cpu;
  soloWall += c.wall;
  soloRows += c.rows;
}
const perRuleCpu = soloCpu / solo;
console.log(
  `in-process, ${solo} rules one by one (each its own pass): CPU ${soloCpu.toFixed(2)} s, wall ${soloWall.toFixed(2)} s, ${soloRows} result rows; per rule CPU ${perRuleCpu.toFixed(3)} s`,
);
console.log(
  `ratio: one pass for ${n} rules costs ${allCost.cpu.toFixed(2)} s CPU; one by one would cost ${(perRuleCpu * n).toFixed(1)} s CPU (projected from ${solo}), ${((perRuleCpu * n) / allCost.cpu).toFixed(1)}x more`,
);
console.log(
  `throughput (one pass): ${(allCost.bytes / 1e6 / allCost.cpu).toFixed(1)} MB/s of input per CPU second for all ${n} rules together`,
);

const cli = path.join(root, "bin", "dcomhunt.js");
if (existsSync(path.join(root, "dist"))) {
  const py = `
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t1 = time.perf_counter()
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"status": r.returncode, "seconds": t1 - t0, "cpu": u.ru_utime + u.ru_stime, "maxRssKb": u.ru_maxrss}))
`;
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", py, process.execPath, cli, "scan", "--rules", dir, ...inputs, "-q", "-f", "ndjson"],
    {
      encoding: "utf8",
    },
  );
  const m = JSON.parse(r.stdout) as { status: number; seconds: number; cpu: number; maxRssKb: number };
  console.log(
    `CLI: dcomhunt scan --rules ${path.relative(root, dir)} <${inputs.length} files>: wall ${m.seconds.toFixed(2)} s, CPU ${m.cpu.toFixed(2)} s, peak RSS ${(m.maxRssKb / 1024).toFixed(0)} MB (exit ${m.status})`,
  );
} else console.log("dist/ absent: run npm run build for the CLI figure");
