/**
 * The smaller items of issue 16: `--since -24h` as the help writes it; `-q` still shows input that could
 * not be read; `search` with no input searches the demo (as its help says); alert lines label severity
 * and confidence; the help no longer claims a NO_COLOR switch for colour that does not exist.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/main.js";
import type { Alert } from "../../src/correlate/index.js";
import { formatAlertsTable } from "../../src/correlate/index.js";
import { repoRoot } from "../helpers/env.js";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-small-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const demo = path.join(repoRoot, "demo", "demo.evtx");

async function capture(argv: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), stderr: err.join("") };
  } finally {
    process.stderr.write = ew;
  }
}

describe("small fixes", () => {
  test("--since -24h (space, not =) is a relative time, not 'ambiguous'", async () => {
    const out = path.join(tmp, "since.ndjson");
    const r = await capture([
      "search",
      "index=* | head 1",
      demo,
      "--since",
      "-24h",
      "-q",
      "-f",
      "ndjson",
      "-o",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /ambiguous/);
    // The demo is from 2024: nothing in the last 24 hours.
    assert.equal(readFileSync(out, "utf8"), "");
  });

  test("-q still reports input that could not be read", async () => {
    const r = await capture(["scan", path.join(tmp, "nonexist.evtx"), "-q", "-o", path.join(tmp, "q.txt")]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /nonexist\.evtx: offset 0: cannot open: ENOENT/);
  });

  test("search with no input searches the bundled demo, as its help says", async () => {
    const out = path.join(tmp, "demo.ndjson");
    const r = await capture(["search", "index=* | head 2", "-f", "ndjson", "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /searching the bundled demo data/);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 2);
  });

  test("an alert line labels severity and confidence", () => {
    const alert = {
      first_time: 0,
      severity: "critical",
      confidence: "high",
      variant: "MMC20",
      target_host: "SRV",
      source_ip: "10.0.0.1",
      source_host: "",
      account: "a",
      rule: "r",
      evidence: [],
      explain: [],
    } as unknown as Alert;
    assert.match(formatAlertsTable([alert]), /severity=critical confidence=high/);
  });
});

describe("dropped correlation state is reported", () => {
  test("events without a time that a sequence rule ignores are counted in the summary", async () => {
    const file = path.join(tmp, "untimed.ndjson");
    const line = JSON.stringify({
      Event: {
        System: {
          Provider: { "#attributes": { Name: "Microsoft-Windows-Sysmon" } },
          EventID: 1,
          EventRecordID: 1,
          Channel: "Microsoft-Windows-Sysmon/Operational",
          Computer: "WKS01",
        },
        EventData: {
          Image: "C:\\Windows\\System32\\mmc.exe",
          ParentImage: "C:\\Windows\\System32\\svchost.exe",
        },
      },
    });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, `${line}\n`);
    const r = await capture(["scan", file, "--rules", "dcom", "-o", path.join(tmp, "u.txt")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /correlation state dropped: .*1 event\(s\) without a time ignored/);
  });
});
