/**
 * The real-corpus report: for every file of ../shared/corpus (attacks, negatives, benign), what the
 * ground truth expects, what the seed rule returns (rows) and what the dcom pack raises (alerts).
 *
 *   node --import tsx scripts/corpus-report.ts [CORPUS_DIR]
 *
 * For every attack file the dcom pack must give exactly the expected incidents (CORPUS_INCIDENTS: one per
 * attempt, each with its object, outcome, observed_on and source IP); the dcom column shows each incident
 * as `object outcome (observed_on) severity from IP`.
 *
 * Exit code 0 when every attack file gives exactly its expected incidents and negatives and benign files
 * raise nothing, else 1.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { runSequenceRules } from "../src/correlate/index.js";
import { emulate, scenarios } from "../src/emulate/index.js";
import { defaultFieldViewOptions, toSplunkEvent } from "../src/events/fields.js";
import { compileSearch } from "../src/spl/index.js";
import {
  CORPUS_INCIDENTS,
  corpusDir as defaultCorpus,
  type ExpectedIncident,
  eventsOf,
  incidentsOf,
  loadDcomPack,
  repoRoot,
  scanFiles,
  splContext,
} from "../test/correlate/corpus-helpers.js";

interface AttackTruth {
  file: string;
  variant: string;
  attacker_ip?: string;
}

const corpus = path.resolve(process.argv[2] ?? defaultCorpus);
if (!existsSync(path.join(corpus, "ground-truth.json"))) {
  console.error(`corpus-report: no ground-truth.json in ${corpus}`);
  process.exit(2);
}
const truth = JSON.parse(readFileSync(path.join(corpus, "ground-truth.json"), "utf8")) as {
  attacks: AttackTruth[];
  negatives: { file: string; why: string }[];
  benign: string[];
};
const seedRule = parse(readFileSync(path.join(repoRoot, "rules/dcom_lateral_movement_seed.yml"), "utf8")) as {
  search: string;
};

async function seedRows(file: string): Promise<number> {
  const search = compileSearch(seedRule.search, { fieldView: defaultFieldViewOptions, now: 0 });
  let rows = 0;
  for await (const _ of search.run(eventsOf([file]))) rows++;
  return rows;
}

interface Line {
  file: string;
  expected: string;
  seed: string;
  dcom: string;
  ok: boolean;
}

function label(i: ExpectedIncident): string {
  return `${i.object} ${i.outcome} (${i.observed_on})${i.source_ip ? ` from ${i.source_ip}` : ""}`;
}

const lines: Line[] = [];
const jobs: {
  file: string;
  expected: string;
  check: (alerts: Awaited<ReturnType<typeof scanFiles>>["alerts"]) => boolean;
}[] = [
  ...truth.attacks.map((a) => {
    const expected: ExpectedIncident[] = CORPUS_INCIDENTS[a.file] ?? [];
    return {
      file: a.file,
      expected: expected.length
        ? `${expected.length}x ${[...new Set(expected.map(label))].join("; ")}`
        : "(no expectation written: add it to CORPUS_INCIDENTS)",
      check: (alerts: Awaited<ReturnType<typeof scanFiles>>["alerts"]) =>
        expected.length > 0 &&
        alerts.every((x) => !x.loopback) &&
        JSON.stringify(incidentsOf(alerts)) === JSON.stringify(expected),
    };
  }),
  ...truth.negatives.map((n) => ({
    file: n.file,
    expected: "none (look-alike)",
    check: (alerts: unknown[]) => alerts.length === 0,
  })),
  ...truth.benign.map((b) => ({
    file: b,
    expected: "none (benign)",
    check: (alerts: unknown[]) => alerts.length === 0,
  })),
];

for (const job of jobs) {
  const file = path.join(corpus, job.file);
  const [seed, run] = await Promise.all([seedRows(file), scanFiles([file])]);
  const dcom =
    run.alerts.length === 0
      ? "-"
      : run.alerts
          .map(
            (a) =>
              `${(a.objects ?? [a.variant]).join("+")}${a.loopback ? "[loopback]" : ""} ${a.outcome} (${a.observed_on}) ${a.severity}${a.source_ip ? ` from ${a.source_ip}` : ""}`,
          )
          .join("; ");
  lines.push({
    file: job.file,
    expected: job.expected,
    seed: seed === 0 ? "-" : `${seed} row${seed === 1 ? "" : "s"}`,
    dcom,
    ok: job.check(run.alerts),
  });
}

const head = { file: "file", expected: "expected", seed: "seed rule", dcom: "dcom rules", ok: true };
const width = (k: keyof Omit<Line, "ok">) => Math.max(...[head, ...lines].map((l) => l[k].length));
const w = { file: width("file"), expected: width("expected"), seed: width("seed") };
const row = (l: Line, mark: string) =>
  `${l.file.padEnd(w.file)}  ${l.expected.padEnd(w.expected)}  ${l.seed.padEnd(w.seed)}  ${mark} ${l.dcom}`;
console.log(row(head, " "));
for (const l of lines) console.log(row(l, l.ok ? "✓" : "✗"));
const attacks = lines.slice(0, truth.attacks.length);
const quiet = lines.slice(truth.attacks.length);
console.log(
  `\ndcom pack: ${attacks.filter((l) => l.ok).length}/${attacks.length} attack files give exactly the expected incidents (object, outcome, observed_on, source), ` +
    `${quiet.filter((l) => !l.ok).length} of ${quiet.length} negative/benign files with alerts.`,
);
console.log(
  `seed rule: rows on ${attacks.filter((l) => l.seed !== "-").length}/${attacks.length} attack files, ` +
    `${quiet.filter((l) => l.seed !== "-").length} of ${quiet.length} negative/benign files with rows.`,
);

// Every emulation scenario through the whole pack: exactly the incidents the scenario expects.
const pack = loadDcomPack();
const scenarioLines: { name: string; expected: string; got: string; ok: boolean }[] = [];
for (const s of scenarios) {
  const events = emulate([s.name]).map((e) => toSplunkEvent(e, defaultFieldViewOptions));
  const { alerts } = await runSequenceRules(pack, events, splContext);
  const want = s.kind === "benign" ? { incidents: 0 } : (s.expect ?? { incidents: 1 });
  const expected =
    want.incidents === 0
      ? `none (${s.kind})`
      : `${want.incidents}x ${((want as { objects?: string[] }).objects ?? [(want as { object?: string }).object]).join("+")} ${want.outcome} (${want.observed_on})${s.loopback ? " loopback" : ""}`;
  const got =
    alerts.length === 0
      ? "-"
      : alerts
          .map(
            (a) =>
              `${(a.objects ?? [a.variant]).join("+")} ${a.outcome} (${a.observed_on})${a.loopback ? " loopback" : ""} ${a.severity}${a.source_ip ? ` from ${a.source_ip}` : ""}`,
          )
          .join("; ");
  const ok =
    alerts.length === want.incidents &&
    alerts.every(
      (a) =>
        a.object === (want as { object?: string }).object &&
        a.outcome === (want as { outcome?: string }).outcome &&
        a.observed_on === (want as { observed_on?: string }).observed_on &&
        (a.objects ?? []).join(",") ===
          ((want as { objects?: string[] }).objects ?? [(want as { object?: string }).object]).join(",") &&
        a.loopback === s.loopback,
    );
  scenarioLines.push({ name: s.name, expected, got, ok });
}
const sw = {
  name: Math.max(8, ...scenarioLines.map((l) => l.name.length)),
  expected: Math.max(8, ...scenarioLines.map((l) => l.expected.length)),
};
console.log(`\n${"scenario".padEnd(sw.name)}  ${"expected".padEnd(sw.expected)}    dcom rules`);
for (const l of scenarioLines)
  console.log(`${l.name.padEnd(sw.name)}  ${l.expected.padEnd(sw.expected)}  ${l.ok ? "✓" : "✗"} ${l.got}`);
console.log(
  `\nemulation: ${scenarioLines.filter((l) => l.ok).length}/${scenarioLines.length} scenarios give exactly the expected incidents.`,
);
process.exit(lines.every((l) => l.ok) && scenarioLines.every((l) => l.ok) ? 0 : 1);
