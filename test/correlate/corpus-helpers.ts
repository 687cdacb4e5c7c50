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
  if (/iertutil/i.test(label)) return ["InternetExplorer-iertutil"];
  if (/InternetExplorer/i.test(label)) return ["InternetExplorer"];
  if (/LethalHTA|mshta/i.test(label)) return ["LethalHTA"];
  if (/MMC20/.test(label)) return ["MMC20"];
  throw new Error(`no variant mapping for ground-truth label: ${label}`);
}

export type { Alert };

/** One incident the dcom pack must report for a corpus attack file. */
export interface ExpectedIncident {
  object: string;
  outcome: string;
  observed_on: string;
  source_ip: string;
}

/**
 * Every corpus attack file and exactly the incidents it must give (one per attempt). The hand labels of
 * ground-truth.json name the variant and the attacker; what the logs show of the outcome and of which
 * hosts is read off the files (see docs/incidents.md): the two explorer.exe connections of the
 * ShellBrowserWindow/ShellWindows recording are 2.5 minutes apart (two attempts); the Security-only MMC20
 * host logged no child of mmc.exe (activated); the two Mordor files hold both hosts' logs.
 */
export const CORPUS_INCIDENTS: Record<string, ExpectedIncident[]> = {
  "attacks/LM_impacket_docmexec_mmc_sysmon_01.evtx": [
    { object: "MMC20", outcome: "executed", observed_on: "target", source_ip: "10.0.2.19" },
  ],
  "attacks/LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows.evtx": [
    { object: "ShellWindows", outcome: "activated", observed_on: "target", source_ip: "10.0.2.17" },
    { object: "ShellWindows", outcome: "activated", observed_on: "target", source_ip: "10.0.2.17" },
  ],
  "attacks/ID4688,4674-DCOMexec process spawned.evtx": [
    { object: "MMC20", outcome: "activated", observed_on: "target", source_ip: "10.23.123.11" },
  ],
  "attacks/empire_dcom_shellwindows_stager_2020-09-18130751.json": [
    { object: "ShellWindows", outcome: "executed", observed_on: "both", source_ip: "172.18.39.5" },
  ],
  "attacks/covenant_dcom_registerxll_2020-09-18145959.json": [
    { object: "Excel-XLL", outcome: "executed", observed_on: "both", source_ip: "172.18.39.5" },
  ],
};

/** The incidents an alert list gives, in the shape of ExpectedIncident (time order). */
export function incidentsOf(alerts: Alert[]): ExpectedIncident[] {
  return alerts.map((a) => ({
    object: a.object ?? a.variant,
    outcome: a.outcome ?? "",
    observed_on: a.observed_on ?? "",
    source_ip: a.source_ip,
  }));
}
