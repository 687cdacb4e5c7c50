/**
 * The worked example of docs/tuning.md: `--rules all` over every emulated scenario, untuned and tuned
 * with examples/tuning/allowlist.yml. Both halves: the five benign scenarios are tuned away, and every
 * attack scenario the rules catch still fires, with nothing of it suppressed. Then the same for the
 * Splunk way (the seed rule with a lookup allowlist, examples/tuning/dcom_seed_allowlisted.yml).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_START, emulate, SCENARIO_SPACING_MS, scenarios } from "../../src/emulate/index.js";
import { renderText } from "../../src/emulate/output.js";
import { defaultFieldViewOptions, type FieldViewOptions, toSplunkEvent } from "../../src/events/fields.js";
import { flattenRow } from "../../src/report/results.js";
import { type LoadedRule, loadRuleFile, selectRules } from "../../src/rules/loader.js";
import { compileRules, type RunOptions, type RunSink, runRules } from "../../src/rules/run.js";
import {
  type Allowlist,
  type FieldRecord,
  formatAllowlistReport,
  formatSuppressedResults,
  loadAllowlist,
  type SuppressedResult,
  suppressingSink,
} from "../../src/tuning/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const examples = path.join(repoRoot, "examples", "tuning");
const BENIGN = [
  "benign-admin-wmi",
  "benign-dev-dcom-test",
  "benign-mmc-snapin-cmd",
  "benign-monitoring-com",
  "benign-office-macro",
];
const ATTACKS = scenarios.filter((s) => s.kind === "attack").map((s) => s.name);
/** Fixed "today" so the example's `expires` dates do not make this test fail as time passes. */
const TODAY = new Date("2026-12-01T00:00:00Z");
const fieldView: FieldViewOptions = { ...defaultFieldViewOptions, tz: "UTC" };

const work = mkdtempSync(path.join(tmpdir(), "dcomhunt-tuning-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A result as the test compares it: the rule, and the row's or alert's identifying fields. */
interface Result {
  rule: string;
  text: string;
}

interface ScenarioScan {
  reported: Result[];
  suppressed: SuppressedResult[];
}

const files = new Map<string, { file: string; fieldsOf: Map<string, FieldRecord> }>();

/** Emulate one scenario to NDJSON, and index its events' Splunk fields by computer/channel/record id. */
function scenarioFile(name: string) {
  let f = files.get(name);
  if (!f) {
    const events = emulate([name]);
    const file = path.join(work, `${name}.ndjson`);
    writeFileSync(file, renderText(events, "ndjson"));
    const fieldsOf = new Map<string, FieldRecord>();
    for (const ev of events) {
      const key = `${ev.system.computer}|${ev.system.channel}|${ev.system.eventRecordID}`;
      fieldsOf.set(key, Object.fromEntries(toSplunkEvent(ev, fieldView).fields));
    }
    f = { file, fieldsOf };
    files.set(name, f);
  }
  return f;
}

async function scan(
  name: string,
  rules: LoadedRule[],
  opts: RunOptions,
  allowlist?: Allowlist,
): Promise<ScenarioScan> {
  const { file, fieldsOf } = scenarioFile(name);
  const reported: Result[] = [];
  const collector: RunSink = {
    row(rule, row, columns) {
      const flat = flattenRow(rule, row, columns, "UTC", row.event === undefined);
      reported.push({ rule: rule.name, text: `${flat._time} ${flat.Image} ${flat.CommandLine}` });
    },
    alert(rule, alert) {
      reported.push({ rule: rule.name, text: `${alert.variant} ${alert.target_host} ${alert.first_time}` });
    },
  };
  // The evidence events' full fields, as the scan command would pass them (see docs/tuning.md).
  const sink = allowlist
    ? suppressingSink(allowlist, collector, {
        tz: "UTC",
        keep: true,
        evidenceFieldsOf: (_rule, alert) =>
          alert.evidence.map((e) => fieldsOf.get(`${e._computer}|${e._channel}|${e._record_id}`) ?? {}),
      })
    : collector;
  // Compiled per run: sequence engines keep state.
  await runRules(compileRules(rules, opts), [file], opts, sink);
  return { reported, suppressed: allowlist ? (sink as ReturnType<typeof suppressingSink>).suppressed : [] };
}

describe("worked example: --rules all --allowlist examples/tuning/allowlist.yml", () => {
  const rules = selectRules(["all"]);
  const opts: RunOptions = { fieldView };
  const allowlist = loadAllowlist(path.join(examples, "allowlist.yml"), TODAY);
  allowlist.setRules(rules);
  const untuned = new Map<string, Promise<ScenarioScan>>();
  const baseline = (name: string) => {
    let p = untuned.get(name);
    if (!p) untuned.set(name, (p = scan(name, rules, opts)));
    return p;
  };

  test("the allowlist keys on behaviour, never on host names or accounts", () => {
    const hostish = /^(host|_?computer|target_host|source_host|source_ip|account|user|_file)$/i;
    for (const e of allowlist.entries) {
      const fields = e.match.map((m) => m.field);
      assert.ok(!fields.some((f) => hostish.test(f)), `${e.label}: ${fields.join(", ")}`);
      assert.ok(fields.length >= 3, `${e.label}: too loose (${fields.join(", ")})`);
    }
  });

  test("untuned, the rules fire on benign scenarios: the false positives to tune", async (t) => {
    let total = 0;
    const per: string[] = [];
    for (const name of BENIGN) {
      const n = (await baseline(name)).reported.length;
      total += n;
      per.push(`${name} ${n}`);
    }
    assert.ok(total >= 3, `benign results untuned: ${total}`);
    t.diagnostic(`benign results untuned: ${total} (${per.join(", ")})`);
  });

  test("tuned, all five benign scenarios are silent, and every entry was needed", async () => {
    let before = 0;
    let suppressed = 0;
    for (const name of BENIGN) {
      before += (await baseline(name)).reported.length;
      const tuned = await scan(name, rules, opts, allowlist);
      assert.deepEqual(tuned.reported, [], `${name} still reports`);
      suppressed += tuned.suppressed.length;
    }
    assert.equal(suppressed, before);
    const report = allowlist.report();
    assert.deepEqual(
      report.stale.map((e) => e.label),
      [],
      formatAllowlistReport(report).join("\n"),
    );
    assert.deepEqual(report.expired, []);
    assert.equal(
      report.suppressed.reduce((n, s) => n + s.count, 0),
      before,
    );
    assert.equal(report.suppressed.length, allowlist.entries.length, "each entry suppressed something");
  });

  test("tuned, every attack scenario the rules catch still fires, with nothing suppressed", async (t) => {
    const caught: string[] = [];
    let results = 0;
    for (const name of ATTACKS) {
      const { reported } = await baseline(name);
      const tuned = await scan(name, rules, opts, allowlist);
      assert.deepEqual(
        tuned.suppressed.map((s) => `${s.entry.label} ${s.rule.name}`),
        [],
        `${name}: attack results suppressed`,
      );
      assert.deepEqual(tuned.reported, reported, name);
      if (reported.length > 0) caught.push(name);
      results += reported.length;
    }
    t.diagnostic(
      `attack scenarios caught: ${caught.length} of ${ATTACKS.length}, ${results} results, all still reported when tuned`,
    );
    // The example is only meaningful if the rules catch attacks at all (they catch most of them).
    assert.ok(caught.length >= ATTACKS.length / 2, `attack scenarios caught: ${caught.join(", ")}`);
  });
});

describe("worked example on one estate: `dcomhunt emulate all`, then scan with the allowlist", () => {
  test("exactly the results in the benign scenarios' time slots are suppressed", async (t) => {
    const rules = selectRules(["all"]);
    const opts: RunOptions = { fieldView };
    const allowlist = loadAllowlist(path.join(examples, "allowlist.yml"), TODAY);
    allowlist.setRules(rules);
    const names = scenarios.map((s) => s.name);
    const events = emulate(names);
    const file = path.join(work, "all.ndjson");
    writeFileSync(file, renderText(events, "ndjson"));
    const fieldsOf = new Map<string, FieldRecord>();
    for (const ev of events) {
      fieldsOf.set(
        `${ev.system.computer}|${ev.system.channel}|${ev.system.eventRecordID}`,
        Object.fromEntries(toSplunkEvent(ev, fieldView).fields),
      );
    }
    // Scenarios run ten minutes apart (plus up to a minute of jitter): a result's time tells its scenario.
    const start = Date.parse(DEFAULT_START) / 1000;
    const slot = (seconds: number) => names[Math.floor((seconds - start) / (SCENARIO_SPACING_MS / 1000))];
    const reported: string[] = [];
    const inner: RunSink = {
      row(rule, row, columns) {
        const flat = flattenRow(rule, row, columns, "UTC", false);
        reported.push(slot(Date.parse(String(flat._time)) / 1000));
      },
      alert(_rule, alert) {
        reported.push(slot(alert.first_time));
      },
    };
    const sink = suppressingSink(allowlist, inner, {
      tz: "UTC",
      keep: true,
      evidenceFieldsOf: (_rule, alert) =>
        alert.evidence.map((e) => fieldsOf.get(`${e._computer}|${e._channel}|${e._record_id}`) ?? {}),
    });
    const run = await runRules(compileRules(rules, opts), [file], opts, sink);
    const total = [...run.rowsPerRule.values()].reduce((a, b) => a + b, 0);
    const suppressedSlots = sink.suppressed.map((s) =>
      slot(s.row ? Date.parse(String(s.row._time)) / 1000 : s.alert!.first_time),
    );
    assert.equal(reported.length + suppressedSlots.length, total);
    assert.ok(suppressedSlots.length >= 3, `suppressed: ${suppressedSlots.length}`);
    assert.ok(
      suppressedSlots.every((n) => BENIGN.includes(n)),
      `suppressed outside benign scenarios: ${suppressedSlots.join(", ")}`,
    );
    assert.deepEqual(
      reported.filter((n) => BENIGN.includes(n)),
      [],
    );
    // The sink's own counts and the --show-suppressed lines agree with what went where.
    assert.equal(
      [...sink.reported.values()].reduce((a, b) => a + b, 0),
      reported.length,
    );
    assert.equal(
      [...sink.suppressedPerRule.values()].reduce((a, b) => a + b, 0),
      suppressedSlots.length,
    );
    const lines = formatSuppressedResults(sink.suppressed);
    assert.equal(lines.length, suppressedSlots.length);
    for (const line of lines) {
      assert.match(
        line,
        /^\[(finance-close-export|compmgmt-service-restart|reportserver-dcom-tests)\] Detect Distributed/,
      );
      assert.match(line, /all\.ndjson#\d+$/);
    }
    const caught = new Set(reported);
    assert.ok(caught.size >= ATTACKS.length / 2, `attack scenarios reported: ${[...caught].join(", ")}`);
    t.diagnostic(
      `one estate (${run.events} events): ${total} results untuned, ${reported.length} reported, ${suppressedSlots.length} suppressed`,
    );
    for (const line of formatAllowlistReport(allowlist.report())) t.diagnostic(line);
  });
});

describe("worked example, the Splunk way: a lookup allowlist in the rule's SPL", () => {
  const seed = selectRules(["seed"]);
  const tunedRule = loadRuleFile(path.join(examples, "dcom_seed_allowlisted.yml"));
  const opts: RunOptions = { fieldView, lookupsDir: path.join(examples, "lookups") };

  test("the tuned search is the seed search plus the lookup and where", () => {
    assert.equal(seed.length, 1);
    const added =
      "| lookup dcom_allowlist ParentImage ParentCommandLine Image CommandLine OUTPUT allowlist_reason\n| where isnull(allowlist_reason)\n";
    const [head, tail] = (seed[0].search ?? "").split("| table ");
    assert.equal(tunedRule.search, `${head}${added}| table ${tail}`);
  });

  test("benign scenarios are silent; attack scenarios give the seed rule's rows", async () => {
    let benignBefore = 0;
    for (const name of [...BENIGN, ...ATTACKS]) {
      const before = await scan(name, seed, opts);
      const after = await scan(name, [tunedRule], opts);
      if (BENIGN.includes(name)) {
        benignBefore += before.reported.length;
        assert.deepEqual(after.reported, [], name);
      } else {
        assert.deepEqual(
          after.reported.map((r) => r.text),
          before.reported.map((r) => r.text),
          name,
        );
      }
    }
    assert.ok(benignBefore >= 3, `seed rows on benign scenarios: ${benignBefore}`);
  });
});
