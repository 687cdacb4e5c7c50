/** Shared by the engine tests: inputs (corpus + emulated estate), the CLI run in-process, comparisons. */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const corpusDir = path.resolve(repoRoot, "../shared/corpus");
export const inCI = process.env.CI === "true" || process.env.CI === "1";

/**
 * The corpus files the differential tests load: every file of attacks, negatives and benign except the
 * 47 MB Empire NXLog capture (three quarters of the corpus' events, which would triple the tests' time;
 * bench/engines loads it). The other NXLog capture (Covenant, 5,504 events) stays.
 */
export const LEFT_OUT = ["empire_dcom_shellwindows_stager_2020-09-18130751.json"];

export function corpusInputs(): string[] {
  if (!existsSync(corpusDir)) {
    if (inCI) throw new Error(`corpus absent under CI: ${corpusDir}`);
    return [];
  }
  const out: string[] = [];
  for (const d of ["attacks", "negatives", "benign"]) {
    for (const f of readdirSync(path.join(corpusDir, d)).sort()) {
      if (!LEFT_OUT.includes(f)) out.push(path.join(corpusDir, d, f));
    }
  }
  return out;
}

/** Run the CLI in-process; stderr captured (and returned), stdout result file parsed as NDJSON. */
export async function cli(
  args: string[],
  out?: string,
): Promise<{ code: number; stderr: string; rows: Record<string, unknown>[] }> {
  let stderr = "";
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run(out ? [...args, "-f", "ndjson", "-o", out] : args);
  } finally {
    process.stderr.write = write;
  }
  const text = out && existsSync(out) ? readFileSync(out, "utf8") : "";
  return {
    code,
    stderr,
    rows: text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * The same rows in the same order by `_time`: rows with equal `_time` (to the millisecond a result
 * shows) are compared as a set, SQL having no read order to break such ties with.
 */
export function assertSameRows(
  got: Record<string, unknown>[],
  want: Record<string, unknown>[],
  what: string,
): void {
  const canon = (rows: Record<string, unknown>[]) => {
    const groups: { time: unknown; texts: string[] }[] = [];
    for (const r of rows) {
      const text = JSON.stringify(Object.entries(r));
      const last = groups[groups.length - 1];
      if (last && last.time === r._time) last.texts.push(text);
      else groups.push({ time: r._time, texts: [text] });
    }
    return groups.flatMap((g) => g.texts.sort());
  };
  assert.equal(
    got.length,
    want.length,
    `${what}: ${got.length} rows from the engine, ${want.length} from the files`,
  );
  assert.deepEqual(canon(got), canon(want), what);
}

/** Ad-hoc searches compared between a file scan and an engine (every exported construct, `*` output). */
export const SEARCHES = [
  // every field of the event, _raw included (rebuilt from the stored columns)
  "EventCode=3 DestinationPort=135 | head 25",
  'EventCode=1 NOT ParentImage="*\\\\explorer.exe" User!="NT AUTHORITY\\\\SYSTEM" | eval kind=if(match(Image, "mmc"), "mmc", "other") | table _time, host, Image, ParentImage, kind',
  "EventCode=4624 LogonType=3 | table _time, Computer, TargetUserName, IpAddress | sort 0 - _time",
  '"mmc.exe" EventCode=1 | table _time, Computer, Image',
];
