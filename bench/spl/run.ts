/**
 * SPL engine benchmark: the seed query over N generated Sysmon events (default 1,000,000), read from
 * an NDJSON file (evtx_dump dialect) and from an EVTX file, with push-down on and off; plus the engine
 * alone on in-memory events. Each measurement runs in its own process so peak memory (maxRSS) is its
 * own. Inputs are generated into a temporary directory (or --dir) and reused when present.
 * "engine" times the SPL engine alone: the field view of every event is built before the clock starts
 * (held in memory, so it uses --engine-events, default 200,000).
 *
 *   node --import tsx bench/spl/run.ts [--events 1000000] [--dir /tmp/dcomhunt-bench] [--only engine|memory|ndjson|evtx]
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { defaultFieldViewOptions, type SplunkEvent, toSplunkEvent } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import { isoFromTicks, ticksFromIso } from "../../src/events/time.js";
import { compileSearch } from "../../src/spl/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The seed query, verbatim, from the bundled seed rule. */
const SEED = (
  parseYaml(readFileSync(path.resolve(here, "../../rules/dcom_lateral_movement_seed.yml"), "utf8")) as {
    search: string;
  }
).search;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

// ------------------------------------------------------------------------------------------------
// deterministic generator

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYSMON = "Microsoft-Windows-Sysmon/Operational";
const PARENTS = [
  "C:\\Windows\\explorer.exe",
  "C:\\Windows\\System32\\svchost.exe",
  "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
  "C:\\Windows\\System32\\services.exe",
];
const IMAGES = [
  "C:\\Windows\\System32\\conhost.exe",
  "C:\\Windows\\System32\\taskhostw.exe",
  "C:\\Windows\\System32\\notepad.exe",
  "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
];
const HITS: [string, string, string][] = [
  ["C:\\Windows\\System32\\mmc.exe", "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami"],
  [
    "C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
    "C:\\Windows\\System32\\cmd.exe",
    "cmd.exe /c calc",
  ],
  ["C:\\Windows\\explorer.exe", "C:\\Windows\\System32\\dcomcnfg.exe", "dcomcnfg.exe"],
  [
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "powershell -ExecutionPolicy Bypass -c Invoke-DCOM",
  ],
];

/** Event `i` of the benchmark stream: Sysmon EID 1 (40%), 3 (30%), 11 (20%), 13 (10%); ~1% of EID 1 are DCOM hits. */
export function* generate(n: number): Generator<WinEvent> {
  const r = rng(42);
  const start = ticksFromIso("2020-10-08T00:00:00Z") as bigint;
  for (let i = 0; i < n; i++) {
    const ticks = start + BigInt(i) * 3_000_000n + BigInt(Math.floor(r() * 1_000_000));
    const time = isoFromTicks(ticks);
    const x = r();
    const eventID = x < 0.4 ? "1" : x < 0.7 ? "3" : x < 0.9 ? "11" : "13";
    const computer = `ws${String(Math.floor(r() * 200)).padStart(3, "0")}.corp.local`;
    const guid = `{${Math.floor(r() * 0xffffffff)
      .toString(16)
      .padStart(8, "0")}-5f7e-5f7f-0000-0010f2b84a00}`;
    const common = [
      { name: "RuleName", value: "-" },
      { name: "UtcTime", value: time.replace("T", " ").slice(0, 23) },
      { name: "ProcessGuid", value: guid },
      { name: "ProcessId", value: String(1000 + Math.floor(r() * 60000)) },
    ];
    let eventData: WinEvent["eventData"];
    if (eventID === "1") {
      const hit = r() < 0.01 ? HITS[Math.floor(r() * HITS.length)] : undefined;
      const parent = hit ? hit[0] : PARENTS[Math.floor(r() * PARENTS.length)];
      const image = hit ? hit[1] : IMAGES[Math.floor(r() * IMAGES.length)];
      eventData = [
        ...common,
        { name: "Image", value: image },
        { name: "FileVersion", value: "10.0.19041.1 (WinBuild.160101.0800)" },
        { name: "Description", value: "Windows Command Processor" },
        { name: "Product", value: "Microsoft® Windows® Operating System" },
        { name: "Company", value: "Microsoft Corporation" },
        { name: "OriginalFileName", value: path.win32.basename(image) },
        { name: "CommandLine", value: hit ? hit[2] : `"${image}" --type=renderer --id=${i}` },
        { name: "CurrentDirectory", value: "C:\\Windows\\system32\\" },
        { name: "User", value: "CORP\\alice" },
        { name: "LogonGuid", value: "{5f7e5f7f-0000-0000-0000-0020e7030000}" },
        { name: "LogonId", value: "0x3e7" },
        { name: "TerminalSessionId", value: "1" },
        { name: "IntegrityLevel", value: "High" },
        { name: "Hashes", value: "SHA256=9A7C58BD98D70631AA1473F7B57B426DB367D72429A5455B433A05EE251F3236" },
        { name: "ParentProcessGuid", value: guid },
        { name: "ParentProcessId", value: String(1000 + Math.floor(r() * 60000)) },
        { name: "ParentImage", value: parent },
        { name: "ParentCommandLine", value: `"${parent}" ` },
      ];
    } else if (eventID === "3") {
      eventData = [
        ...common,
        { name: "Image", value: "C:\\Windows\\System32\\dcomcnfg.exe" },
        { name: "User", value: "CORP\\alice" },
        { name: "Protocol", value: "tcp" },
        { name: "Initiated", value: "true" },
        { name: "SourceIp", value: `10.0.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}` },
        { name: "SourcePort", value: String(49152 + Math.floor(r() * 16000)) },
        { name: "DestinationIp", value: "10.0.0.5" },
        { name: "DestinationPort", value: "135" },
      ];
    } else {
      eventData = [
        ...common,
        { name: "Image", value: IMAGES[Math.floor(r() * IMAGES.length)] },
        {
          name: eventID === "11" ? "TargetFilename" : "TargetObject",
          value: `C:\\Users\\alice\\AppData\\Local\\Temp\\f${i}.tmp`,
        },
        { name: "CommandLine", value: "ps -Exec DCOM" },
      ];
    }
    yield {
      system: {
        providerName: "Microsoft-Windows-Sysmon",
        providerGuid: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
        eventID,
        version: "5",
        level: "4",
        task: eventID,
        opcode: "0",
        keywords: "0x8000000000000000",
        systemTime: time,
        eventRecordID: String(i + 1),
        processID: "2404",
        threadID: "3652",
        channel: SYSMON,
        computer,
        userID: "S-1-5-18",
      },
      eventData,
      timeTicks: ticks,
      provenance: { file: "bench", format: "evtx" },
    };
  }
}

/** evtx_dump's JSON for one event (the dialect the JSON reader maps through the XML reader). */
function evtxDumpJson(ev: WinEvent): string {
  const s = ev.system;
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : v);
  const data: Record<string, string> = {};
  for (const d of ev.eventData) if (d.name) data[d.name] = d.value;
  return JSON.stringify({
    Event: {
      "#attributes": { xmlns: "http://schemas.microsoft.com/win/2004/08/events/event" },
      System: {
        Provider: { "#attributes": { Name: s.providerName, Guid: s.providerGuid } },
        EventID: num(s.eventID),
        Version: num(s.version),
        Level: num(s.level),
        Task: num(s.task),
        Opcode: num(s.opcode),
        Keywords: s.keywords,
        TimeCreated: { "#attributes": { SystemTime: s.systemTime } },
        EventRecordID: num(s.eventRecordID),
        Correlation: null,
        Execution: { "#attributes": { ProcessID: num(s.processID), ThreadID: num(s.threadID) } },
        Channel: s.channel,
        Computer: s.computer,
        Security: { "#attributes": { UserID: s.userID } },
      },
      EventData: data,
    },
  });
}

async function writeInputs(dir: string, n: number): Promise<{ ndjson: string; evtx: string }> {
  mkdirSync(dir, { recursive: true });
  const ndjson = path.join(dir, `sysmon-${n}.ndjson`);
  const evtx = path.join(dir, `sysmon-${n}.evtx`);
  if (!existsSync(ndjson)) {
    const out = createWriteStream(`${ndjson}.part`);
    let buf = "";
    for (const ev of generate(n)) {
      buf += `${evtxDumpJson(ev)}\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise<void>((r) => out.once("drain", () => r()));
        buf = "";
      }
    }
    out.write(buf);
    await new Promise<void>((r) => out.end(() => r()));
    execFileSync("mv", [`${ndjson}.part`, ndjson]);
  }
  if (!existsSync(evtx)) {
    const { writeEvtxFile } = await import("../../src/readers/evtx/index.js");
    await writeEvtxFile(`${evtx}.part`, generate(n));
    execFileSync("mv", [`${evtx}.part`, evtx]);
  }
  return { ndjson, evtx };
}

// ------------------------------------------------------------------------------------------------
// one measurement (child process)

interface Measurement {
  input: string;
  pushdown: boolean;
  events: number;
  results: number;
  seconds: number;
  eventsPerSecond: number;
  peakRssMiB: number;
}

async function measure(input: string, pushdown: boolean, n: number): Promise<Measurement> {
  const fieldView = defaultFieldViewOptions;
  const search = compileSearch(SEED, { fieldView, now: Date.parse("2020-10-09T00:00:00Z") / 1000 });
  let prebuilt: SplunkEvent[] | undefined;
  if (input === "engine") prebuilt = Array.from(generate(n), (ev) => toSplunkEvent(ev, fieldView));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  let source: AsyncIterable<WinEvent>;
  if (input === "memory" || input === "engine") {
    source = (async function* () {
      yield* generate(n);
    })();
  } else {
    const { readInputs } = await import("../../src/readers/index.js");
    source = readInputs([input], { filter: pushdown ? search.pushdown : undefined });
  }
  const filter = pushdown && input === "memory" ? search.pushdown : undefined;
  async function* splunkEvents(): AsyncGenerator<SplunkEvent> {
    if (prebuilt) {
      yield* prebuilt;
      return;
    }
    for await (const ev of source) {
      if (filter && !filter(ev.system, ev.timeTicks)) continue;
      yield toSplunkEvent(ev, fieldView);
    }
  }
  let results = 0;
  for await (const _row of search.run(splunkEvents())) results++;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  return {
    input: input === "memory" || input === "engine" ? input : path.extname(input).slice(1),
    pushdown,
    events: n,
    results,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(n / seconds),
    peakRssMiB: Math.round(peak / 1048576),
  };
}

async function main(): Promise<void> {
  const n = Number(arg("events", "1000000"));
  if (process.argv.includes("--child")) {
    const input = arg("input", "memory");
    const m = await measure(input, arg("pushdown", "on") === "on", n);
    process.stdout.write(`${JSON.stringify(m)}\n`);
    return;
  }
  const only = arg("only", "");
  const dir = arg("dir", path.join(tmpdir(), "dcomhunt-bench"));
  const inputs: string[] = [];
  if (only === "" || only === "engine") inputs.push("engine");
  if (only === "" || only === "memory") inputs.push("memory");
  if (only === "" || only === "ndjson" || only === "evtx") {
    const t0 = performance.now();
    const files = await writeInputs(dir, n);
    console.error(
      `inputs ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${files.ndjson} (${(statSync(files.ndjson).size / 1048576).toFixed(0)} MiB), ${files.evtx} (${(statSync(files.evtx).size / 1048576).toFixed(0)} MiB)`,
    );
    if (only === "" || only === "ndjson") inputs.push(files.ndjson);
    if (only === "" || only === "evtx") inputs.push(files.evtx);
  }
  const rows: Measurement[] = [];
  for (const input of inputs) {
    for (const pushdown of input === "engine" ? [false] : [true, false]) {
      const count = input === "engine" ? arg("engine-events", "200000") : String(n);
      const out = execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          fileURLToPath(import.meta.url),
          "--child",
          "--input",
          input,
          "--pushdown",
          pushdown ? "on" : "off",
          "--events",
          count,
        ],
        { encoding: "utf8", maxBuffer: 1 << 20 },
      );
      const m = JSON.parse(out.trim().split("\n").pop() as string) as Measurement;
      rows.push(m);
      console.error(JSON.stringify(m));
    }
  }
  console.log("| input | push-down | events | results | seconds | events/s | peak RSS (MiB) |");
  console.log("|---|---|---|---|---|---|---|");
  for (const m of rows) {
    console.log(
      `| ${m.input} | ${m.pushdown ? "on" : "off"} | ${m.events} | ${m.results} | ${m.seconds} | ${m.eventsPerSecond} | ${m.peakRssMiB} |`,
    );
  }
}

await main();
