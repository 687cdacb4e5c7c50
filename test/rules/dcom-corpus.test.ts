/**
 * The dcom pack on the real public corpus (../shared/corpus): every attack file is detected with the
 * variant its ground truth names, every hand-labelled positive event is in an alert's evidence, the
 * source IP is attributed where the ground truth names one, and negatives/ and benign/ raise nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { type Alert, corpusDir, filesUnder, scanFiles } from "../correlate/corpus-helpers.js";

const present = existsSync(path.join(corpusDir, "ground-truth.json"));
const skip = present ? false : `corpus absent: ${corpusDir}`;

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

/**
 * The variants an alert may carry for a ground-truth label. ShellWindows and ShellBrowserWindow are both
 * served by explorer.exe and leave the same traces on the target, so a label naming either accepts both.
 */
export function acceptedVariants(label: string): string[] {
  if (/ShellBrowserWindow|ShellWindows/.test(label)) return ["ShellWindows", "ShellBrowserWindow"];
  if (/RegisterXLL/.test(label)) return ["Excel-XLL"];
  if (/MMC20/.test(label)) return ["MMC20"];
  throw new Error(`no variant mapping for ${label}`);
}

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
      const accepted = acceptedVariants(attack.variant);
      const hits = alerts.filter((a) => accepted.includes(a.variant));
      assert.ok(
        hits.length > 0,
        `no alert with variant ${accepted.join("/")}: got ${alerts.map((a) => a.variant).join(", ")}`,
      );
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

  test("one incident, one alert: the Empire recording gives one target alert and one source alert", {
    skip,
  }, async () => {
    const { alerts } = await scanFiles([
      path.join(corpusDir, "attacks/empire_dcom_shellwindows_stager_2020-09-18130751.json"),
    ]);
    assert.deepEqual(alerts.map((a) => a.variant).sort(), ["ShellWindows", "Source-Side"]);
    const target = alerts.find((a) => a.variant === "ShellWindows")!;
    assert.equal(
      target.account,
      "THESHIRE.LOCAL\\pgustavo",
      "the remote caller, from the 4624 joined by address",
    );
    assert.equal(target.severity, "critical", "a process ran under explorer.exe");
    const source = alerts.find((a) => a.variant === "Source-Side")!;
    assert.equal(source.target_host, "WORKSTATION6", "the target named by Invoke-DCOM -ComputerName");
    assert.equal(source.source_host, "WORKSTATION5.theshire.local");
  });
});
