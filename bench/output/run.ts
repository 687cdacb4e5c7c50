/**
 * bench/output: peak RSS of `dcomhunt search 'index=* | table _time host EventCode ...'` writing every
 * event as a result row, for each result format, through the built CLI. Memory must stay flat in the
 * number of rows (the table format sizes its columns from a sample and spools the rest to disk).
 *
 * Run: npm run build && node --import tsx bench/output/run.ts [--events 1000000] [--formats table,csv,ndjson]
 *      [--max-old-space MB] (the child runs as `node --max-old-space-size=MB`: V8 then collects garbage
 *      before its heap passes MB, which shows the live memory is flat; without it V8 lets garbage grow)
 * The input (a small Sysmon-shaped NDJSON line per event, distinct EventRecordIDs) is made in bench/out/
 * (ignored by git); peak RSS and CPU time (user + sys) come from /usr/bin/time -f '%M %U %S' of the child.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = path.join(root, "bench", "out");
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const events = Number(opt("events", "1000000"));
const formats = opt("formats", "table,csv,ndjson").split(",");
const maxOldSpace = opt("max-old-space", "");

async function makeInput(file: string): Promise<void> {
  if (existsSync(file)) return;
  const ws = createWriteStream(file);
  const base = Date.UTC(2024, 2, 12, 9, 0, 0);
  for (let i = 0; i < events; i++) {
    const t = new Date(base + i * 37).toISOString();
    const line = JSON.stringify({
      Event: {
        System: {
          Provider: { "#attributes": { Name: "Microsoft-Windows-Sysmon" } },
          EventID: i % 3 === 0 ? 1 : 3,
          TimeCreated: { "#attributes": { SystemTime: t } },
          EventRecordID: i + 1,
          Channel: "Microsoft-Windows-Sysmon/Operational",
          Computer: `WKS${String(i % 500).padStart(3, "0")}.corp.example`,
        },
        EventData: {
          Image: `C:\\Windows\\System32\\proc${i % 97}.exe`,
          ParentImage: "C:\\Windows\\explorer.exe",
          CommandLine: `proc${i % 97}.exe --run ${i}`,
          User: "CORP\\alice",
        },
      },
    });
    if (!ws.write(`${line}\n`)) await new Promise<void>((r) => ws.once("drain", () => r()));
  }
  await new Promise<void>((r) => ws.end(() => r()));
}

mkdirSync(outDir, { recursive: true });
const input = path.join(outDir, `output-bench-${events}.ndjson`);
await makeInput(input);
console.log(`input: ${events} events, ${(statSync(input).size / 1e6).toFixed(0)} MB NDJSON (${input})`);
const spl = "index=* | table _time host EventCode Image CommandLine";
for (const format of formats) {
  const result = path.join(outDir, `output-bench.${format}`);
  const cmdArgs = [
    path.join(root, "bin", "dcomhunt.js"),
    "search",
    spl,
    input,
    "-f",
    format,
    "-o",
    result,
    "-q",
  ];
  const load = loadavg()[0].toFixed(2);
  const t0 = performance.now();
  const nodeFlags = maxOldSpace ? [`--max-old-space-size=${maxOldSpace}`] : [];
  const run = spawnSync("/usr/bin/time", ["-f", "%M %U %S", "node", ...nodeFlags, ...cmdArgs], {
    encoding: "utf8",
  });
  const seconds = (performance.now() - t0) / 1000;
  const [maxKb, user, sys] = (run.stderr.trim().split("\n").at(-1) ?? "").split(" ").map(Number);
  const rssMb = maxKb / 1024;
  const size = existsSync(result) ? statSync(result).size : 0;
  console.log(
    `${format.padEnd(6)} exit ${run.status}  wall ${seconds.toFixed(1)} s  CPU ${(user + sys).toFixed(1)} s ` +
      `(user ${user.toFixed(1)}, sys ${sys.toFixed(1)})  peak RSS ${rssMb.toFixed(0)} MB  ` +
      `output ${(size / 1e6).toFixed(0)} MB  (load ${load}, ${cpus().length} cores)`,
  );
  console.log(
    `  command: node ${[...nodeFlags, ...cmdArgs].map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}`,
  );
  rmSync(result, { force: true });
}
