/**
 * The run record: what a scan read and how it went (inputs with SHA-256 and records read, input problems
 * with their reasons, counts per rule, suppressed results). `--manifest` writes it as its own file; with
 * `--report-data` (and always in `--format html`) it closes the json/ndjson result as one extra element
 * `{"_dcomhunt_run": {...}}`, so `dcomhunt report` can show a saved result whole.
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import path from "node:path";
import { alertToJson } from "../correlate/alert.js";
import type { ReadIssue } from "../events/model.js";
import { expandInputs, type InputStats } from "../readers/index.js";
import type { LoadedRule } from "../rules/loader.js";
import type { AllowlistEntry } from "../tuning/allowlist.js";
import type { SuppressedResult } from "../tuning/sink.js";

/** The key of the run record element in a json/ndjson result. */
export const RUN_RECORD_KEY = "_dcomhunt_run";

export interface InputRecord {
  path: string;
  size?: number;
  sha256?: string;
  /** Records read from this file (archives: all members). */
  records?: number;
  error?: string;
  note?: string;
}

export interface RunRecord {
  tool: { name: string; version: string; node: string };
  started: string;
  finished: string;
  command: string[];
  /** Display zone of `_time` in rows. */
  tz: string;
  rules: {
    id: string;
    name: string;
    pack: string;
    type: string;
    severity: string;
    sequence: boolean;
    version: number;
    file: string;
  }[];
  inputs: InputRecord[];
  allowlist?: string;
  counts: {
    files: number;
    bytes: number;
    records: number;
    skipped: number;
    duplicates: number;
    events_evaluated: number;
    results_per_rule: Record<string, number>;
    suppressed_per_rule?: Record<string, number>;
    input_problems: Record<string, number>;
  };
  /** The first input problems (file, location, reason, what was lost). */
  input_problems: ReadIssue[];
  /** Suppressed results, when kept (`--show-suppressed`). */
  suppressed?: {
    rule_id: string;
    rule: string;
    entry: string;
    reason: string;
    where: string;
    result: Record<string, unknown>;
  }[];
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every input file (folders expanded) with size, SHA-256 and, when known, the records read from it. */
export async function describeInputs(
  inputs: string[],
  recordsByFile?: Map<string, number>,
): Promise<InputRecord[]> {
  const recordsOf = (f: string): number | undefined => {
    if (!recordsByFile) return undefined;
    let n: number | undefined;
    for (const [name, count] of recordsByFile)
      if (name === f || name.startsWith(`${f}!`)) n = (n ?? 0) + count;
    return n ?? 0;
  };
  const files: InputRecord[] = [];
  for (const f of expandInputs(inputs)) {
    if (f === "-") {
      files.push({ path: "-", note: "standard input: not hashed", records: recordsOf(f) });
      continue;
    }
    try {
      files.push({
        path: path.resolve(f),
        size: statSync(f).size,
        sha256: await sha256File(f),
        records: recordsOf(f),
      });
    } catch (err) {
      files.push({ path: path.resolve(f), error: (err as Error).message });
    }
  }
  return files;
}

function where(e: AllowlistEntry): string {
  return `${e.file}:${e.line}:${e.col}`;
}

export interface RunRecordInput {
  version: string;
  started: Date;
  command: string[];
  tz: string;
  rules: LoadedRule[];
  inputs: InputRecord[];
  stats: InputStats;
  duplicates: number;
  events: number;
  reported: Map<string, number>;
  suppressedPerRule?: Map<string, number>;
  suppressed?: readonly SuppressedResult[];
  allowlistFile?: string;
}

export function buildRunRecord(r: RunRecordInput): RunRecord {
  return {
    tool: { name: "dcomhunt", version: r.version, node: process.version },
    started: r.started.toISOString(),
    finished: new Date().toISOString(),
    command: r.command,
    tz: r.tz,
    rules: r.rules.map((rule) => ({
      id: rule.id,
      name: rule.name,
      pack: rule.pack,
      type: rule.type,
      severity: rule.severity,
      sequence: rule.sequence !== undefined,
      version: rule.version,
      file: rule.file,
    })),
    inputs: r.inputs,
    allowlist: r.allowlistFile === undefined ? undefined : path.resolve(r.allowlistFile),
    counts: {
      files: r.stats.files,
      bytes: r.stats.bytes,
      records: r.stats.records,
      skipped: r.stats.skipped,
      duplicates: r.duplicates,
      events_evaluated: r.events,
      results_per_rule: Object.fromEntries(r.reported),
      suppressed_per_rule: r.suppressedPerRule ? Object.fromEntries(r.suppressedPerRule) : undefined,
      input_problems: Object.fromEntries(r.stats.issueCounts),
    },
    input_problems: r.stats.issues,
    suppressed: r.suppressed?.map((s) => ({
      rule_id: s.rule.id,
      rule: s.rule.name,
      entry: s.entry.label,
      reason: s.entry.reason,
      where: where(s.entry),
      result: s.alert ? alertToJson(s.alert, { details: true }) : { ...s.row },
    })),
  };
}
