/**
 * The real-corpus report: for every file of ../shared/corpus (attacks, negatives, benign), what the
 * ground truth expects, what the seed rule returns (rows) and what the dcom pack raises (alerts).
 *
 *   node --import tsx scripts/corpus-report.ts [CORPUS_DIR]
 *
 * Exit code 0 when the dcom pack detects every attack with the expected variant and source IP and
 * raises nothing on negatives and benign files, else 1.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { defaultFieldViewOptions } from "../src/events/fields.js";
import { compileSearch } from "../src/spl/index.js";
import {
  acceptedVariantsFor,
  corpusDir as defaultCorpus,
  eventsOf,
  repoRoot,
  scanFiles,
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

const lines: Line[] = [];
const jobs: {
  file: string;
  expected: string;
  check: (alerts: Awaited<ReturnType<typeof scanFiles>>["alerts"]) => boolean;
}[] = [
  ...truth.attacks.map((a) => ({
    file: a.file,
    expected: `${acceptedVariantsFor(a.variant).join("|")}${a.attacker_ip ? ` from ${a.attacker_ip}` : ""}`,
    check: (alerts: Awaited<ReturnType<typeof scanFiles>>["alerts"]) =>
      alerts.some(
        (x) =>
          acceptedVariantsFor(a.variant).includes(x.variant) &&
          !x.loopback &&
          (!a.attacker_ip || x.source_ip === a.attacker_ip),
      ),
  })),
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
              `${a.variant}${a.loopback ? "[loopback]" : ""} ${a.severity}${a.source_ip ? ` from ${a.source_ip}` : ""}`,
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
  `\ndcom pack: ${attacks.filter((l) => l.ok).length}/${attacks.length} attack files detected with the expected variant and source, ` +
    `${quiet.filter((l) => !l.ok).length} of ${quiet.length} negative/benign files with alerts.`,
);
console.log(
  `seed rule: rows on ${attacks.filter((l) => l.seed !== "-").length}/${attacks.length} attack files, ` +
    `${quiet.filter((l) => l.seed !== "-").length} of ${quiet.length} negative/benign files with rows.`,
);
process.exit(lines.every((l) => l.ok) ? 0 : 1);
