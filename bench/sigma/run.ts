/**
 * bench/sigma: a large folder of Sigma rules, as a user with the SigmaHQ Windows rule base would run it.
 * The rules are generated here (N of them, SigmaHQ-shaped: process_creation with contains/endswith
 * lists and filters, registry, network, image load, file event, PowerShell script blocks, Security and
 * System services, some regexes, some keywords), never copied from elsewhere.
 *
 * Measures, in-process: load + compile of every rule (YAML, Sigma -> SPL AST -> SPL text -> parse ->
 * plan); and through the built CLI: `rules list` (load + compile) and `scan` of all rules over the
 * corpus in one pass, each with wall time and peak RSS, against `scan --rules seed` over the same input
 * (one rule) in the same run.
 *
 * Run: npm run build && node --import tsx bench/sigma/run.ts [--rules 2400] [--repeat 3]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultFieldViewOptions } from "../../src/events/fields.js";
import { loadRuleFiles } from "../../src/rules/loader.js";
import { compileRules } from "../../src/rules/run.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpus = path.resolve(root, "..", "shared", "corpus");
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const n = opt("rules", 2400);
const repeat = opt("repeat", 3);
const dir = path.join(root, "bench", "out", `sigma-${n}`);

const tools = [
  "cmd",
  "powershell",
  "rundll32",
  "regsvr32",
  "mshta",
  "wscript",
  "certutil",
  "bitsadmin",
  "msbuild",
  "wmic",
];
const words = [
  "-enc",
  "downloadstring",
  "hidden",
  "bypass",
  "invoke-",
  "frombase64",
  "/transfer",
  "-urlcache",
  "scrobj",
  "javascript:",
];
const pick = <T>(a: T[], i: number, k: number) => a[(i * 7 + k * 3) % a.length];

function rule(i: number): string {
  const id = `7e57${String(i).padStart(4, "0")}-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const head = `title: Bench rule ${i}\nid: ${id}\nstatus: test\nlevel: ${["low", "medium", "high", "critical"][i % 4]}\ntags:\n    - attack.execution\n    - attack.t1059.00${(i % 9) + 1}\n`;
  const kind = i % 10;
  const t = pick(tools, i, 1);
  const w = pick(words, i, 2);
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return `${head}logsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection_img:\n        - Image|endswith: '\\${t}.exe'\n        - OriginalFileName: '${t.toUpperCase()}.EXE'\n    selection_cli:\n        CommandLine|contains:\n            - '${w}'\n            - '${pick(words, i, 5)}'\n    filter_main:\n        ParentImage|startswith: 'C:\\Program Files\\'\n    condition: all of selection_* and not 1 of filter_*\n`;
    case 3:
      return `${head}logsource:\n    category: registry_set\n    product: windows\ndetection:\n    selection:\n        TargetObject|contains: '\\CurrentVersion\\Run${i}'\n        Details|contains: '${t}'\n    condition: selection\n`;
    case 4:
      return `${head}logsource:\n    category: network_connection\n    product: windows\ndetection:\n    selection:\n        Image|endswith: '\\${t}.exe'\n        Initiated: 'true'\n    filter:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - '192.168.0.0/16'\n    condition: selection and not filter\n`;
    case 5:
      return `${head}logsource:\n    category: image_load\n    product: windows\ndetection:\n    selection:\n        ImageLoaded|endswith: '\\bench${i}.dll'\n    condition: selection\n`;
    case 6:
      return `${head}logsource:\n    category: ps_script\n    product: windows\ndetection:\n    selection:\n        ScriptBlockText|contains|all:\n            - '${w}'\n            - 'Net.WebClient${i}'\n    condition: selection\n`;
    case 7:
      return `${head}logsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: ${[4624, 4625, 4688, 4672][i % 4]}\n        TargetUserName|endswith: '$${i}'\n    condition: selection\n`;
    case 8:
      return `${head}logsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection:\n        CommandLine|re: '(?i)${t}\\.exe\\s+.*${i}'\n    condition: selection\n`;
    default:
      return `${head}logsource:\n    category: file_event\n    product: windows\ndetection:\n    selection:\n        TargetFilename|endswith:\n            - '\\bench${i}.ps1'\n            - '\\bench${i}.hta'\n    condition: selection\n`;
  }
}

function writeRules(): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `rule_${String(i).padStart(5, "0")}.yml`);
    writeFileSync(f, rule(i));
    files.push(f);
  }
  return files;
}

interface Measure {
  seconds: number;
  maxRssMb: number;
  status: number;
}

/** Best wall time and peak RSS of a command (getrusage of the child through python3). */
function timeCommand(cmd: string, cmdArgs: string[]): Measure {
  const py = `
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t1 = time.perf_counter()
print(json.dumps({"status": r.returncode, "seconds": t1 - t0, "maxRssKb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
`;
  let best: Measure | undefined;
  for (let i = 0; i < repeat; i++) {
    const r = spawnSync("python3", ["-c", py, cmd, ...cmdArgs], { encoding: "utf8" });
    const m = JSON.parse(r.stdout) as { status: number; seconds: number; maxRssKb: number };
    const cur = { seconds: m.seconds, maxRssMb: m.maxRssKb / 1024, status: m.status };
    if (!best || cur.seconds < best.seconds) best = cur;
  }
  return best as Measure;
}

const files = writeRules();
console.log(
  `bench/sigma: ${n} generated Sigma rules in ${path.relative(root, dir)}; load ${(await import("node:os")).loadavg()[0].toFixed(1)}`,
);

let bestLoad = Number.POSITIVE_INFINITY;
let compiledCount = 0;
for (let i = 0; i < repeat; i++) {
  const t0 = performance.now();
  const rules = loadRuleFiles(files, { onSkip: () => {} });
  const compiled = compileRules(rules, { fieldView: defaultFieldViewOptions });
  bestLoad = Math.min(bestLoad, (performance.now() - t0) / 1000);
  compiledCount = compiled.length;
}
console.log(
  `in-process: load + compile ${compiledCount} rules: ${bestLoad.toFixed(2)} s (best of ${repeat})`,
);

const cli = path.join(root, "bin", "dcomhunt.js");
const list = timeCommand(process.execPath, [cli, "rules", "list", "--rules", dir]);
console.log(
  `CLI rules list --rules DIR (load + compile): ${list.seconds.toFixed(2)} s, peak RSS ${list.maxRssMb.toFixed(0)} MB`,
);

if (existsSync(corpus)) {
  const inputs = ["attacks", "negatives", "benign"].map((d) => path.join(corpus, d));
  const all = timeCommand(process.execPath, [cli, "scan", "--rules", dir, ...inputs, "-q", "-f", "ndjson"]);
  const seed = timeCommand(process.execPath, [
    cli,
    "scan",
    "--rules",
    "seed",
    ...inputs,
    "-q",
    "-f",
    "ndjson",
  ]);
  console.log(
    `CLI scan of the corpus (${inputs.length} folders), all ${n} rules in one pass: ${all.seconds.toFixed(2)} s, peak RSS ${all.maxRssMb.toFixed(0)} MB (exit ${all.status})`,
  );
  console.log(
    `CLI scan of the corpus, the seed rule alone: ${seed.seconds.toFixed(2)} s, peak RSS ${seed.maxRssMb.toFixed(0)} MB`,
  );
  console.log(`ratio: ${n} Sigma rules cost ${(all.seconds / seed.seconds).toFixed(1)}x one rule's run`);
} else console.log(`corpus absent (${corpus}): scan not measured`);
