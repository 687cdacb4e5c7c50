/** Shared by the corpus tests and scripts/corpus-report.ts: load the dcom pack, read files, run it. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import {
  type Alert,
  type CorrelationContext,
  mergeByTime,
  type RunOptions,
  runSequenceRules,
  type SequenceRule,
  type SequenceRun,
} from "../../src/correlate/index.js";
import { defaultFieldViewOptions, type SplunkEvent, toSplunkEvent } from "../../src/events/fields.js";
import { readInputs } from "../../src/readers/index.js";
import { compileSearchExpression } from "../../src/spl/index.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const corpusDir = path.resolve(repoRoot, "../shared/corpus");
export const dcomRulesDir = path.join(repoRoot, "rules/dcom");

export interface PackRule extends SequenceRule {
  file: string;
  raw: Record<string, unknown>;
}

export function loadDcomPack(dir = dcomRulesDir): PackRule[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const raw = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      return {
        file,
        raw,
        id: String(raw.id),
        name: String(raw.name),
        severity: String(raw.severity),
        sequence: raw.sequence as SequenceRule["sequence"],
      };
    });
}

export const splContext: CorrelationContext = {
  tz: "UTC",
  compilePredicate: (text) => compileSearchExpression(text, { fieldView: defaultFieldViewOptions, now: 0 }),
};

/** Files under a path (a file itself, or a directory walked recursively), sorted. */
export function filesUnder(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((n) => filesUnder(path.join(p, n)));
}

async function* splunkEvents(file: string): AsyncGenerator<SplunkEvent> {
  for await (const ev of readInputs([file])) yield toSplunkEvent(ev, defaultFieldViewOptions);
}

/** One stream per file, merged in time order (300 s reorder window: NXLog files mix event and receive times). */
export function eventsOf(files: string[], reorderWindowSeconds = 300): AsyncGenerator<SplunkEvent> {
  return mergeByTime(files.map(splunkEvents), reorderWindowSeconds);
}

export async function scanFiles(
  files: string[],
  rules: SequenceRule[] = loadDcomPack(),
  opts: RunOptions = {},
): Promise<SequenceRun> {
  return runSequenceRules(rules, eventsOf(files), splContext, opts);
}

/**
 * The variants an alert may carry for a ground-truth label of ../shared/corpus/ground-truth.json.
 * ShellWindows and ShellBrowserWindow are both served by explorer.exe and leave the same traces on the
 * target, so a label naming either accepts both.
 */
export function acceptedVariantsFor(label: string): string[] {
  if (/ShellBrowserWindow|ShellWindows/.test(label)) return ["ShellWindows", "ShellBrowserWindow"];
  if (/RegisterXLL/.test(label)) return ["Excel-XLL"];
  if (/ExecuteExcel4Macro/.test(label)) return ["Excel-Macro"];
  if (/DDE/.test(label)) return ["Excel-DDE"];
  if (/ActivateMicrosoftApp/.test(label)) return ["Excel-ActivateMicrosoftApp"];
  if (/iertutil|InternetExplorer/i.test(label)) return ["IE-iertutil"];
  if (/LethalHTA|mshta/i.test(label)) return ["LethalHTA"];
  if (/MMC20/.test(label)) return ["MMC20"];
  throw new Error(`no variant mapping for ground-truth label: ${label}`);
}

export type { Alert };
