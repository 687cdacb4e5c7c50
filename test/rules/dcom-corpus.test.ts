/**
 * The dcom pack on the real public corpus (../shared/corpus): every attack file is detected with the
 * variant its ground truth names, every hand-labelled positive event is in an alert's evidence, the
 * source IP is attributed where the ground truth names one, and negatives/ and benign/ raise nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import {
  type Alert,
  acceptedVariantsFor,
  CORPUS_INCIDENTS,
  corpusDir,
  filesUnder,
  incidentsOf,
  scanFiles,
} from "../correlate/corpus-helpers.js";
import { skipUnless } from "../helpers/env.js";

const present = existsSync(path.join(corpusDir, "ground-truth.json"));
const skip = skipUnless(present, `corpus absent: ${corpusDir}`);

interface Labelled {
  host: string;
  channel: string;
  RecordNumber: number[];
}
interface AttackTruth {
  file: string;
  variant: string;
  attacker_ip?: string;
  positive: (number | Labelled)[];
}

const truth = present
  ? (JSON.parse(readFileSync(path.join(corpusDir, "ground-truth.json"), "utf8")) as {
      attacks: AttackTruth[];
      negatives: { file: string }[];
      benign: string[];
    })
  : { attacks: [], negatives: [], benign: [] };

/** Evidence events as "record" (EVTX) or "host|channel|record" (Mordor JSON, ids unique per host+channel). */
function evidenceKeys(alerts: Alert[]): Set<string> {
  const keys = new Set<string>();
  for (const a of alerts) {
    for (const e of a.evidence) {
      keys.add(e._record_id);
      keys.add(`${e._computer.toLowerCase()}|${e._channel.toLowerCase()}|${e._record_id}`);
    }
  }
  return keys;
}

describe("dcom pack on the real corpus", () => {
  for (const attack of truth.attacks) {
    test(`detects ${attack.file}`, { skip }, async () => {
      const { alerts } = await scanFiles([path.join(corpusDir, attack.file)]);
      const accepted = acceptedVariantsFor(attack.variant);
      const hits = alerts.filter((a) => accepted.includes(a.variant));
      assert.ok(
        hits.length > 0,
        `no alert with variant ${accepted.join("/")}: got ${alerts.map((a) => a.variant).join(", ")}`,
      );
      // exactly the incidents the file holds: one per attempt, with object, outcome, observed_on and source
      assert.deepEqual(incidentsOf(alerts), CORPUS_INCIDENTS[attack.file], "the file's incidents");
      for (const a of alerts) assert.equal(a.variant, a.object, "variant = object");
      for (const a of hits) {
        assert.equal(a.loopback, false, "a remote source makes it lateral movement");
        if (attack.attacker_ip) assert.equal(a.source_ip, attack.attacker_ip, "source IP attributed");
        assert.ok(a.severity === "high" || a.severity === "critical", `severity ${a.severity}`);
      }
      const keys = evidenceKeys(hits);
      for (const p of attack.positive) {
        if (typeof p === "number") assert.ok(keys.has(String(p)), `positive record ${p} in evidence`);
        else
          for (const r of p.RecordNumber)
            assert.ok(
              keys.has(`${p.host.toLowerCase()}|${p.channel.toLowerCase()}|${r}`),
              `positive ${p.host} ${p.channel} ${r} in evidence`,
            );
      }
    });
  }

  test("no alert on negatives/ (UAC bypasses, WMI, WinRM, local explorer -Embedding)", { skip }, async () => {
    const files = truth.negatives.map((n) => path.join(corpusDir, n.file));
    const { alerts } = await scanFiles(files);
    assert.deepEqual(
      alerts.map((a) => `${a.variant} ${a.evidence[0]?._file}`),
      [],
    );
  });

  test("no alert on benign/", { skip }, async () => {
    const files = filesUnder(path.join(corpusDir, "benign"));
    assert.equal(files.length, truth.benign.length);
    const { alerts, stats } = await scanFiles(files);
    assert.deepEqual(
      alerts.map((a) => `${a.variant} ${a.evidence[0]?._file}`),
      [],
    );
    const events = Object.values(stats)[0].events;
    assert.ok(events > 5000, `benign events read: ${events}`);
  });

  test("one incident, one alert: Empire's source and target records give one alert", { skip }, async () => {
    const { alerts } = await scanFiles([
      path.join(corpusDir, "attacks/empire_dcom_shellwindows_stager_2020-09-18130751.json"),
    ]);
    assert.deepEqual(
      alerts.map((a) => a.variant),
      ["ShellWindows"],
    );
    const [a] = alerts;
    assert.equal(a.account, "THESHIRE.LOCAL\\pgustavo", "the remote caller, from the 4624 joined by address");
    assert.equal(a.severity, "critical", "a process ran under explorer.exe");
    assert.equal(a.target_host, "WORKSTATION6.theshire.local");
    assert.equal(
      a.source_host,
      "WORKSTATION5.theshire.local",
      "the caller's own records joined by the connection",
    );
    const records = a.evidence.map((e) => `${e._computer.split(".")[0]}#${e._record_id}`);
    // the caller's Invoke-DCOM (4103) and its connection to explorer's port (Sysmon 3) are in the alert
    for (const r of [
      "WORKSTATION5#23031",
      "WORKSTATION5#1171419",
      "WORKSTATION6#1729970",
      "WORKSTATION6#1729868",
    ])
      assert.ok(records.includes(r), r);
    assert.match(
      a.explain.join("\n"),
      /merged with an alert of "DCOM Lateral Movement - Remote Activation Requested \(source\)"/,
    );
  });

  test("Covenant RegisterXLL: one alert joining the caller's MoveExcelXLL run to Excel on the target", {
    skip,
  }, async () => {
    const { alerts } = await scanFiles([
      path.join(corpusDir, "attacks/covenant_dcom_registerxll_2020-09-18145959.json"),
    ]);
    assert.deepEqual(
      alerts.map((a) => a.variant),
      ["Excel-XLL"],
    );
    const [a] = alerts;
    assert.equal(a.account, "THESHIRE\\pgustavo");
    assert.equal(a.source_host, "WORKSTATION5.theshire.local");
    assert.ok(a.evidence.some((e) => /MoveExcelXLL\.exe 172\.18\.39\.6/.test(e.summary)));
  });
});
