/**
 * The same alerts from `serve` fed by `replay` as from `scan` on the same files: the corpus' attack
 * recordings (EVTX and an NXLog JSON file) and the emulated estate (`emulate all`), compared by alert
 * id (rule + evidence events, or rule + event + row fields). In process: server on a free loopback
 * port, data in a temp folder.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { alertId } from "../../src/alerts/id.js";
import { alertToJson } from "../../src/correlate/index.js";
import { emulate, scenarios } from "../../src/emulate/index.js";
import { renderEvtx } from "../../src/emulate/output.js";
import { replay } from "../../src/ingest/replay.js";
import { startServer } from "../../src/ingest/server.js";
import { flattenRow } from "../../src/report/results.js";
import { runRules } from "../../src/rules/run.js";
import { allRules, runOptions } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, "..", "..", "..", "shared", "corpus");
const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-parity-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function inputs(): string[] {
  const estate = path.join(tmp, "estate.evtx");
  writeFileSync(
    estate,
    renderEvtx(
      emulate(
        scenarios.map((s) => s.name),
        { seed: 7 },
      ),
    ),
  );
  const files = [estate];
  if (existsSync(corpus)) {
    const attacks = path.join(corpus, "attacks");
    for (const f of readdirSync(attacks).sort())
      if (f.endsWith(".evtx") || f.startsWith("covenant_")) files.push(path.join(attacks, f));
  } else if (process.env.CI) assert.fail(`corpus absent: ${corpus}`);
  else console.log(`# corpus absent (${corpus}): estate only`);
  return files;
}

async function scanIds(files: string[]): Promise<string[]> {
  const ids: string[] = [];
  const tz = runOptions.fieldView.tz;
  await runRules(allRules(), files, runOptions, {
    row: (rule, row, columns) => {
      ids.push(alertId(flattenRow(rule, row, columns, tz, row.event === undefined)));
    },
    alert: (_rule, a) => {
      ids.push(alertId(alertToJson(a)));
    },
  });
  return ids.sort();
}

test("serve + replay finds exactly the alerts scan finds (corpus + emulated estate)", async () => {
  const files = inputs();
  const expected = await scanIds(files);
  assert.ok(expected.length > 20, `a real comparison (${expected.length} alerts)`);
  const token = "parity-token-0123456789";
  const tokensFile = path.join(tmp, "tokens");
  writeFileSync(tokensFile, `${token} ack\n`);
  const srv = await startServer({
    compiled: allRules(),
    runOptions,
    dataDir: path.join(tmp, "data"),
    host: "127.0.0.1",
    port: 0,
    tokensFile,
    outputs: [],
    idleFlushSeconds: 3600,
  });
  try {
    const report = await replay(files, { to: srv.url, token, batchEvents: 500, gzip: true });
    assert.equal(report.delivered, report.batches);
    assert.ok(report.acks);
    await srv.pipeline.flushNow();
    const got: string[] = [];
    for await (const rec of srv.pipeline.store.records()) got.push(rec.id);
    got.sort();
    const missing = expected.filter((id) => !got.includes(id));
    const extra = got.filter((id) => !expected.includes(id));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
    assert.equal(got.length, expected.length);
    console.log(`# ${files.length} files, ${report.events} events, ${got.length} alerts equal`);
  } finally {
    await srv.close();
  }
});
