/**
 * Shared by the export tests: the bundled rules (loaded file by file, so one rule file being edited
 * elsewhere does not hide the others), the events of the differential tests (emulated scenarios plus
 * the real corpus when present), the flat events table as NDJSON, and the `scan` side of a comparison.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { defaultFieldViewOptions, type SplunkEvent, toSplunkEvent } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import { readInputs } from "../../src/readers/index.js";
import { bundledRulesDir, type LoadedRule, loadRuleFile, parseRuleText } from "../../src/rules/loader.js";
import { compileSearch } from "../../src/spl/executor.js";
import { formatTimeIso } from "../../src/spl/time.js";
import { inCI } from "../helpers/env.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const corpusDir = path.resolve(repoRoot, "../shared/corpus");
export const goldenDir = path.join(repoRoot, "test", "export", "golden");

export interface BundledRules {
  rules: LoadedRule[];
  /** Files that did not load (with the reason), printed by the tests. */
  broken: string[];
}

export function bundledRules(): BundledRules {
  const out: BundledRules = { rules: [], broken: [] };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(e.name)) {
        try {
          out.rules.push(loadRuleFile(full));
        } catch (err) {
          out.broken.push(`${path.relative(repoRoot, full)}: ${(err as Error).message.split("\n")[0]}`);
        }
      }
    }
  };
  walk(bundledRulesDir());
  return out;
}

export function seedRule(): LoadedRule {
  return loadRuleFile(path.join(bundledRulesDir(), "dcom_lateral_movement_seed.yml"));
}

/** Every emulated scenario (attack and benign) with some background noise. */
export function emulatedEvents(): WinEvent[] {
  return emulate(
    scenarios.map((s) => s.name),
    { seed: 7, noise: 300 },
  );
}

/** The corpus files (attacks, negatives, benign), or [] when the corpus is absent. */
export async function corpusEvents(): Promise<WinEvent[]> {
  // Under CI a missing corpus fails (the proof must run), elsewhere the emulated events stand alone.
  if (!existsSync(corpusDir) && !inCI) return [];
  const out: WinEvent[] = [];
  const dirs = ["attacks", "negatives", "benign"].map((d) => path.join(corpusDir, d));
  for await (const ev of readInputs(dirs, {})) out.push(ev);
  return out;
}

const view = { ...defaultFieldViewOptions, tz: "UTC" };

export function splunkEvents(events: WinEvent[]): SplunkEvent[] {
  // A fresh field view per use: the SPL engine owns (and changes) the maps it is given.
  return events.map((ev) => toSplunkEvent(ev, view));
}

/**
 * The flat events table as `dcomhunt convert --format ndjson` writes it (same rowOf), reduced to the
 * given columns. Returns the number of rows where a column held a multivalue (outside the flat table).
 */
export function writeNdjson(
  events: WinEvent[],
  columns: string[],
  file: string,
): { rows: number; multivalue: number } {
  const lines: string[] = [];
  let multivalue = 0;
  for (const se of splunkEvents(events)) {
    const row: Record<string, unknown> = {};
    if (se.time !== undefined) row._time = formatTimeIso(se.time, "UTC");
    for (const c of columns) {
      if (c === "_time") continue;
      const v = c === "_raw" ? se.raw() : se.fields.get(c);
      if (Array.isArray(v)) multivalue++;
      if (v !== undefined) row[c] = v;
    }
    lines.push(JSON.stringify(row));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { rows: lines.length, multivalue };
}

export type Cell = string | null;

/** `dcomhunt scan`'s rows for a search rule: the SPL engine over the same events. */
export async function scanRows(
  rule: LoadedRule,
  events: WinEvent[],
): Promise<{ columns: string[]; rows: Cell[][] }> {
  const search = compileSearch(rule.search as string, {
    fieldView: view,
    now: Date.parse("2030-01-01T00:00:00Z") / 1000,
  });
  async function* source() {
    yield* splunkEvents(events);
  }
  const rows: Cell[][] = [];
  let columns: string[] | undefined;
  for await (const r of search.run(source())) {
    columns ??= r.columns ?? [...r.fields.keys()];
    rows.push(
      columns.map((c) => {
        const v = r.fields.get(c);
        if (v === undefined) return null;
        if (c === "_time") return formatTimeIso(Number(v), "UTC");
        return Array.isArray(v) ? JSON.stringify(v) : String(v);
      }),
    );
  }
  return { columns: columns ?? search.columns() ?? [], rows };
}

/**
 * Rows compared the way the export promises: same columns, same values, same order by `_time`; rows
 * with equal `_time` (to the millisecond the flat table keeps) are compared as a set, because SQL
 * has no arrival order to break such ties with.
 */
export function canonicalRows(columns: string[], rows: Cell[][]): string[] {
  const t = columns.indexOf("_time");
  const keyed = rows.map((r, i) => ({ time: t >= 0 ? r[t] : null, text: JSON.stringify(r), i }));
  const groups: { time: Cell; texts: string[] }[] = [];
  for (const k of keyed) {
    const last = groups[groups.length - 1];
    if (last && last.time === k.time) last.texts.push(k.text);
    else groups.push({ time: k.time, texts: [k.text] });
  }
  return groups.flatMap((g) => g.texts.sort());
}

/** Rules beyond the seed that exercise the rest of the exported subset (NOT, !=, IN, where, head, ...). */
export const extraRuleText = (name: string, id: string, search: string) => `name: ${name}
id: ${id}
version: 1
date: "2026-11-29"
author: test
status: experimental
type: Hunting
pack: test
description: export differential test
search: |
${search
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
data_source: [Sysmon EventID 1]
how_to_implement: test
known_false_positives: test
mitre: { tactic: [Lateral Movement], technique: [T1021], sub_technique: [T1021.003] }
severity: low
`;

export const extraRules: LoadedRule[] = [
  parseRuleText(
    extraRuleText(
      "not and neq",
      "11111111-1111-4111-8111-111111111111",
      `EventCode=1 NOT ParentImage="*\\\\explorer.exe" User!="NT AUTHORITY\\\\SYSTEM" Image IN ("*\\\\cmd.exe", "*\\\\mmc.exe", "*\\\\whoami.exe")
| eval kind=if(match(Image, "mmc"), "mmc", "other"), quiet=if(isnull(ParentCommandLine), "yes", "no")
| where kind="mmc" OR like(CommandLine, "%/c%")
| table _time, host, Image, ParentImage, User, kind, quiet
| head 50`,
    ),
    "/virtual/not-and-neq.yml",
  ),
  parseRuleText(
    extraRuleText(
      "network ordered",
      "22222222-2222-4222-8222-222222222222",
      `EventCode=3 DestinationPort>=49152 Initiated=false
| eval side=case(match(lower(Image), "explorer"), "explorer", isnotnull(Image), "process")
| table _time, Computer, Image, SourceIp, DestinationPort, side
| sort 0 - _time`,
    ),
    "/virtual/network-ordered.yml",
  ),
];
