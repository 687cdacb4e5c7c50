/**
 * security_content loaded as it is: a checkout written here in the same shape (detections/, macros/,
 * lookups/), never Splunk's own files. rules list/coverage and scan over it.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.js";
import { selectRules } from "../../src/rules/loader.js";
import { blockCause, coverageOf, isSecurityContentDetection } from "../../src/rules/security-content.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const events = path.join(here, "..", "fixtures", "readers", "windows-events.xml");
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-sc-test-"));
after(() => (process.env.KEEP19 ? undefined : rmSync(tmp, { recursive: true, force: true })));

const root = path.join(tmp, "security_content");
function write(rel: string, text: string) {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}
write(
  "macros/sysmon.yml",
  'definition: sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"\nname: sysmon\n',
);
write(
  "macros/security_content_summariesonly.yml",
  "definition: summariesonly=false allow_old_summaries=true\nname: security_content_summariesonly\n",
);
write(
  "macros/drop_dm_object_name.yml",
  "arguments:\n- object\ndefinition: rename $object$.* AS *\nname: drop_dm_object_name\n",
);
write(
  "macros/security_content_ctime.yml",
  'arguments:\n- field\ndefinition: convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)\nname: security_content_ctime\n',
);
write("lookups/known_tools.yml", "name: known_tools\nfilename: known_tools.csv\n");
write("lookups/known_tools.csv", "tool,category\nmmc.exe,admin\n");
const detection = (name: string, id: string, search: string, sources = "- Sysmon EventID 1") =>
  `name: ${name}\nid: ${id}\nversion: 3\ndate: '2024-01-01'\nauthor: Test\nstatus: production\ntype: TTP\ndescription: test\ndata_source:\n${sources}\nsearch: '${search.replace(/'/g, "''")}'\nhow_to_implement: x\nknown_false_positives: x\nreferences: []\ntags:\n  analytic_story:\n  - Test\n  mitre_attack_id:\n  - T1021.003\n  product:\n  - Splunk Enterprise\n`;
write(
  "detections/endpoint/processes_by_name.yml",
  detection(
    "Processes By Name",
    "11111111-1111-1111-1111-111111111111",
    "| tstats `security_content_summariesonly` count min(_time) as firstTime from datamodel=Endpoint.Processes by Processes.dest Processes.process_name | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | lookup known_tools tool AS process_name OUTPUT category | `processes_by_name_filter`",
  ),
);
write(
  "detections/endpoint/mmc_spaced.yml",
  detection(
    "MMC Spaced",
    "22222222-2222-2222-2222-222222222222",
    '`sysmon` EventCode = 1 Image = "*\\\\mmc.exe" | stats count by Computer | `mmc_spaced_filter`',
  ),
);
write(
  "detections/endpoint/uses_iplocation.yml",
  detection("Uses Iplocation", "33333333-3333-3333-3333-333333333333", "`sysmon` | iplocation src"),
);
write(
  "detections/cloud/cloud_thing.yml",
  detection(
    "Cloud Thing",
    "44444444-4444-4444-4444-444444444444",
    "`cloudtrail` eventName=x",
    "- AWS CloudTrail",
  ),
);
write("stories/test.yml", "name: Test\nid: x\n");

async function cli(args: string[]): Promise<{ code: number; text: string }> {
  const out = path.join(tmp, `${Math.random().toString(36).slice(2)}.out`);
  const code = await run([...args, "-o", out]);
  return { code, text: readFileSync(out, "utf8") };
}

describe("security_content as it is", () => {
  test("a checkout or its detections/ folder loads the detections with macros, lookups, tags", () => {
    for (const sel of [root, path.join(root, "detections")]) {
      const rules = selectRules([sel]);
      assert.equal(rules.length, 4);
      const r = rules.find((x) => x.name === "Processes By Name");
      assert.ok(r);
      assert.equal(r.pack, "security_content");
      assert.deepEqual(r.mitre.technique, ["T1021.003"]);
      assert.equal(r.blocked, undefined, r.blocked);
    }
  });

  test("the newer layout (mitre_attack_id and analytic_story at the top level, no tags) is a detection", () => {
    const newer = {
      name: "n",
      id: "x",
      search: "a=1",
      mitre_attack_id: ["T1021.003"],
      analytic_story: ["s"],
    };
    assert.equal(isSecurityContentDetection(newer), true);
    assert.equal(isSecurityContentDetection({ name: "n", id: "x", search: "a=1" }), false);
    assert.equal(isSecurityContentDetection({ ...newer, pack: "dcom" }), false);
  });

  test("rules that cannot run say why: a command, a missing macro; missing *_filter macros are `search *`", () => {
    const rules = selectRules([root]);
    const why = Object.fromEntries(rules.map((r) => [r.name, r.blocked ?? "runs"]));
    assert.deepEqual(why, {
      "Processes By Name": "runs",
      "MMC Spaced": "runs",
      "Uses Iplocation": "command iplocation",
      "Cloud Thing": "macro cloudtrail",
    });
    const cov = coverageOf(rules);
    assert.deepEqual(
      { total: cov.total, runs: cov.runs, windows: cov.windows },
      { total: 4, runs: 2, windows: { total: 3, runs: 2 } },
    );
    assert.deepEqual([...cov.causes].sort(), [
      ["command iplocation", 1],
      ["macro cloudtrail", 1],
    ]);
    assert.equal(blockCause("x.yml:1:5: unsupported eval function 'foo()'"), "eval foo()");
  });

  test("rules list shows a runs column; rules coverage prints runs and blocked by cause", async () => {
    const list = await cli(["rules", "list", "--rules", root]);
    assert.equal(list.code, 0);
    assert.match(list.text, /no: command iplocation/);
    const cov = await cli(["rules", "coverage", root]);
    assert.equal(cov.code, 0);
    assert.match(cov.text, /searches: 4, run: 2 \(50\.0%\), blocked: 2/);
    assert.match(cov.text, /reading Windows event logs: 3, run: 2 \(66\.7%\)/);
    assert.match(cov.text, /command iplocation\s+1/);
  });

  test("scan runs the runnable detections with their macros and lookups, skipping the others", async () => {
    const out = path.join(tmp, "scan.json");
    const code = await run(["scan", "--rules", root, events, "-f", "json", "-o", out, "--quiet"]);
    assert.ok(code === 0 || code === 1, `exit ${code}`);
    const text = readFileSync(out, "utf8");
    const value = JSON.parse(text) as unknown;
    const flat = JSON.stringify(value);
    assert.match(flat, /"category":"admin"/);
    assert.match(flat, /mmc\.exe/);
    assert.match(flat, /"firstTime":"2019-04-30T20:35:11"/);
    assert.match(flat, /MMC Spaced|22222222/);
  });
});
