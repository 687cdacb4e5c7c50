/**
 * `serve`'s HEC endpoint, in process on a free loopback port with a temp data folder: every endpoint,
 * its codes and error bodies; authentication on every endpoint; a refused batch leaves nothing behind;
 * gzip, size limits, raw, indexer acknowledgement, backpressure, the read API, metrics, TLS, restart
 * without duplicates, and the payload dialects decoded with the readers' own parsers.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { deflateSync, gzipSync } from "node:zlib";
import { webhookOutput } from "../../src/alerts/outputs.js";
import type { AlertRecord } from "../../src/alerts/store.js";
import { decodePayload } from "../../src/ingest/payload.js";
import { type RunningServer, startServer } from "../../src/ingest/server.js";
import { parseJsonExact, readJson } from "../../src/readers/json.js";
import { allRules, call, metric, runOptions, seedHitXml } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures");
const SEED = "5d3a6f2e-8c1b-4e7a-9f0d-2b6c1e4a7d93";
const HEC = "hec-token-0123456789";
const ACK = "ack-token-0123456789";
const READ = "read-token-0123456789";

const tmp = mkdtempSync(path.join(tmpdir(), "dcomhunt-hec-test-"));
const tokensFile = path.join(tmp, "tokens");
writeFileSync(tokensFile, `# test tokens\n${HEC}\n${ACK} ack\n${READ} read\n`);
const compiled = allRules();
let srv: RunningServer;
let base: string;

const envelope = (id: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ sourcetype: "XmlWinEventLog", source: "test", event: seedHitXml(id), ...extra });

async function metrics(): Promise<string> {
  return (await call(base, "/metrics", { token: READ })).text;
}

function journalBytes(dir: string): number {
  const j = path.join(dir, "journal");
  return readdirSync(j)
    .filter((f) => f.endsWith(".ndjson"))
    .reduce((n, f) => n + statSync(path.join(j, f)).size, 0);
}

async function start(dir: string, extra: Partial<Parameters<typeof startServer>[0]> = {}) {
  return startServer({
    compiled,
    runOptions,
    dataDir: dir,
    host: "127.0.0.1",
    port: 0,
    tokensFile,
    outputs: [],
    idleFlushSeconds: 3600,
    maxBodyBytes: 64 * 1024,
    maxEventBytes: 16 * 1024,
    maxQueuedEvents: 30,
    ...extra,
  });
}

before(async () => {
  srv = await start(path.join(tmp, "data"));
  base = srv.url;
});
after(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("serve: HEC endpoint", () => {
  test("health answers without a token and tells only the status", async () => {
    for (const p of ["/services/collector/health", "/services/collector/health/1.0"]) {
      const r = await call(base, p);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { text: "HEC is healthy", code: 17 });
    }
  });

  test("no endpoint answers data or takes events without a valid token", async () => {
    const endpoints: [string, string | undefined][] = [
      ["/services/collector", envelope(1)],
      ["/services/collector/event", envelope(1)],
      ["/services/collector/event/1.0", envelope(1)],
      [`/services/collector/raw?channel=${randomUUID()}`, seedHitXml(1)],
      [`/services/collector/ack?channel=${randomUUID()}`, '{"acks":[0]}'],
      ["/alerts", undefined],
      ["/metrics", undefined],
    ];
    const before = journalBytes(path.join(tmp, "data"));
    for (const [p, body] of endpoints) {
      const missing = await call(base, p, { body });
      assert.deepEqual([missing.status, missing.body], [401, { text: "Token is required", code: 2 }], p);
      const malformed = await call(base, p, { body, auth: `Token ${HEC}` });
      assert.deepEqual(
        [malformed.status, malformed.body],
        [401, { text: "Invalid authorization", code: 3 }],
        p,
      );
      const wrong = await call(base, p, { body, token: "not-a-known-token" });
      assert.deepEqual([wrong.status, wrong.body], [403, { text: "Invalid token", code: 4 }], p);
      const query = await call(base, `${p}${p.includes("?") ? "&" : "?"}token=${HEC}`, { body });
      assert.deepEqual(
        [query.status, query.body],
        [400, { text: "Query string authorization is not enabled", code: 16 }],
        p,
      );
    }
    // A HEC token does not read; a read token does not send.
    assert.equal((await call(base, "/alerts", { token: HEC })).body.code, 4);
    assert.equal((await call(base, "/metrics", { token: ACK })).body.code, 4);
    assert.equal((await call(base, "/services/collector", { token: READ, body: envelope(1) })).body.code, 4);
    assert.equal(journalBytes(path.join(tmp, "data")), before, "nothing journaled");
    assert.equal(metric(await metrics(), "dcomhunt_alerts_stored"), 0);
  });

  test("accepts a batch on each event path, with Basic auth too", async () => {
    for (const p of ["/services/collector", "/services/collector/event", "/services/collector/event/1.0"]) {
      const r = await call(base, p, { token: HEC, body: `${envelope(11)}\n${envelope(12)}` });
      assert.deepEqual([r.status, r.body], [200, { text: "Success", code: 0 }]);
    }
    const basic = `Basic ${Buffer.from(`x:${HEC}`).toString("base64")}`;
    const r = await call(base, "/services/collector", { auth: basic, body: envelope(13) });
    assert.deepEqual(r.body, { text: "Success", code: 0 });
  });

  test("a bad batch is refused whole with HEC's code and the event number; nothing is half-ingested", async () => {
    await srv.pipeline.flushNow();
    const dir = path.join(tmp, "data");
    const journal = journalBytes(dir);
    const m0 = await metrics();
    const cases: [string, number, Record<string, unknown>][] = [
      ["", 400, { text: "No data", code: 5 }],
      ["   \n ", 400, { text: "No data", code: 5 }],
      [
        `${envelope(21)}{"event": "<Event`,
        400,
        { text: "Invalid data format", code: 6, "invalid-event-number": 1 },
      ],
      [`${envelope(22)} garbage`, 400, { text: "Invalid data format", code: 6, "invalid-event-number": 1 }],
      [
        `${envelope(23)}{"host":"x"}`,
        400,
        { text: "Event field is required", code: 12, "invalid-event-number": 1 },
      ],
      [`{"event":""}`, 400, { text: "Event field cannot be blank", code: 13, "invalid-event-number": 0 }],
      [
        `${envelope(24)}${JSON.stringify({ event: seedHitXml(25), fields: { a: { b: "c" } } })}`,
        400,
        { text: "Error in handling indexed fields", code: 15, "invalid-event-number": 1 },
      ],
      // Unknown formats: text that is neither event XML nor a JSON event; JSON of no known dialect.
      [
        `${envelope(26)}{"event":"hello world"}`,
        400,
        { text: "Invalid data format", code: 6, "invalid-event-number": 1 },
      ],
      [`{"event":{"foo":1}}`, 400, { text: "Invalid data format", code: 6, "invalid-event-number": 0 }],
      [
        `{"event":"<Event><System>"}`,
        400,
        { text: "Invalid data format", code: 6, "invalid-event-number": 0 },
      ],
      // One event over --max-event (16 KiB here).
      [
        `${envelope(27)}${JSON.stringify({ event: seedHitXml(28).replace("whoami", "x".repeat(20000)) })}`,
        400,
        { text: "Invalid data format", code: 6, "invalid-event-number": 1 },
      ],
    ];
    for (const [body, status, answer] of cases) {
      const r = await call(base, "/services/collector/event", { token: HEC, body });
      assert.deepEqual([r.status, r.body], [status, answer], body.slice(-60));
    }
    // Over --max-body (64 KiB): 413, declared or streamed, plain or once gunzipped.
    const big = Array.from({ length: 60 }, (_, i) => envelope(100 + i)).join("");
    const r413 = await call(base, "/services/collector/event", { token: HEC, body: big });
    assert.equal(r413.status, 413);
    assert.match(String(r413.body.text), /too large/);
    const bomb = gzipSync(Buffer.from(big));
    const r413z = await call(base, "/services/collector/event", {
      token: HEC,
      body: bomb,
      headers: { "content-encoding": "gzip" },
    });
    assert.equal(r413z.status, 413);
    const r415 = await call(base, "/services/collector/event", {
      token: HEC,
      body: deflateSync(Buffer.from(envelope(29))),
      headers: { "content-encoding": "deflate" },
    });
    assert.equal(r415.status, 415);
    const brokenGzip = await call(base, "/services/collector/event", {
      token: HEC,
      body: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]),
      headers: { "content-encoding": "gzip" },
    });
    assert.deepEqual([brokenGzip.status, brokenGzip.body.code], [400, 6]);
    await srv.pipeline.flushNow();
    const m1 = await metrics();
    assert.equal(journalBytes(dir), journal, "journal unchanged");
    assert.equal(
      metric(m1, "dcomhunt_events_processed_total"),
      metric(m0, "dcomhunt_events_processed_total"),
    );
    assert.equal(metric(m1, "dcomhunt_alerts_stored"), metric(m0, "dcomhunt_alerts_stored"));
    assert.match(m1, /dcomhunt_hec_rejected_total\{reason="invalid_data_format"\} \d+/);
  });

  test("gzip bodies are taken", async () => {
    const r = await call(base, "/services/collector/event", {
      token: HEC,
      body: gzipSync(Buffer.from(envelope(31) + envelope(32))),
      headers: { "content-encoding": "gzip" },
    });
    assert.deepEqual([r.status, r.body], [200, { text: "Success", code: 0 }]);
  });

  test("raw: a channel is required; one event per line", async () => {
    const none = await call(base, "/services/collector/raw", { token: HEC, body: seedHitXml(41) });
    assert.deepEqual([none.status, none.body], [400, { text: "Data channel is missing", code: 10 }]);
    const bad = await call(base, "/services/collector/raw?channel=not-a-guid", {
      token: HEC,
      body: seedHitXml(41),
    });
    assert.deepEqual([bad.status, bad.body], [400, { text: "Invalid data channel", code: 11 }]);
    const ok = await call(base, "/services/collector/raw/1.0?source=raw-test", {
      token: HEC,
      body: `${seedHitXml(41)}\n${seedHitXml(42)}\n`,
      headers: { "x-splunk-request-channel": randomUUID() },
    });
    assert.deepEqual([ok.status, ok.body], [200, { text: "Success", code: 0 }]);
    const empty = await call(base, `/services/collector/raw?channel=${randomUUID()}`, {
      token: HEC,
      body: "\n\n",
    });
    assert.deepEqual([empty.status, empty.body], [400, { text: "No data", code: 5 }]);
  });

  test("indexer acknowledgement: ids per channel, true once processed, then forgotten", async () => {
    const ackOff = await call(base, `/services/collector/ack?channel=${randomUUID()}`, {
      token: HEC,
      body: '{"acks":[0]}',
    });
    assert.deepEqual([ackOff.status, ackOff.body], [400, { text: "ACK is disabled", code: 14 }]);
    const noChannel = await call(base, "/services/collector/event", { token: ACK, body: envelope(51) });
    assert.deepEqual(
      [noChannel.status, noChannel.body],
      [400, { text: "Data channel is missing", code: 10 }],
    );
    const channel = randomUUID();
    const headers = { "x-splunk-request-channel": channel };
    const a = await call(base, "/services/collector/event", { token: ACK, body: envelope(52), headers });
    const b = await call(base, "/services/collector/event", { token: ACK, body: envelope(53), headers });
    assert.deepEqual(
      [a.body, b.body],
      [
        { text: "Success", code: 0, ackId: 0 },
        { text: "Success", code: 0, ackId: 1 },
      ],
    );
    let acks: Record<string, boolean> = {};
    for (let i = 0; i < 200; i++) {
      const r = await call(base, "/services/collector/ack", { token: ACK, body: '{"acks":[0,1]}', headers });
      assert.equal(r.status, 200);
      acks = { ...acks, ...Object.fromEntries(Object.entries(r.body.acks as object).filter(([, v]) => v)) };
      if (acks["0"] && acks["1"]) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.deepEqual(acks, { "0": true, "1": true });
    const again = await call(base, "/services/collector/ack", {
      token: ACK,
      body: '{"acks":[0,1,7]}',
      headers,
    });
    assert.deepEqual(again.body, { acks: { "0": false, "1": false, "7": false } });
    const broken = await call(base, "/services/collector/ack", { token: ACK, body: '{"acks":"x"}', headers });
    assert.deepEqual([broken.status, broken.body], [400, { text: "Invalid data format", code: 6 }]);
  });

  test("backpressure: a full queue answers 503 code 9 and takes nothing; health says so", async () => {
    srv.pipeline.pause?.();
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => envelope(from + i)).join("");
    try {
      // The queue holds 30 events (maxQueuedEvents): 20 + 10 fit, one more does not.
      const first = await call(base, "/services/collector/event", { token: HEC, body: batch(1000, 20) });
      const second = await call(base, "/services/collector/event", { token: HEC, body: batch(1020, 10) });
      assert.deepEqual([first.status, second.status], [200, 200]);
      const journal = journalBytes(path.join(tmp, "data"));
      const busy = await call(base, "/services/collector/event", { token: HEC, body: batch(2000, 1) });
      assert.deepEqual([busy.status, busy.body], [503, { text: "Server is busy", code: 9 }]);
      assert.equal(journalBytes(path.join(tmp, "data")), journal);
      const health = await call(base, "/services/collector/health");
      assert.deepEqual(
        [health.status, health.body],
        [503, { text: "HEC is unhealthy, queues are full", code: 18 }],
      );
      assert.equal(metric(await metrics(), "dcomhunt_queue_events"), 30);
    } finally {
      srv.pipeline.resume?.();
    }
    await srv.pipeline.flushNow();
    assert.equal(metric(await metrics(), "dcomhunt_queue_events"), 0);
  });

  test("alerts are stored once, read back with filters; metrics in Prometheus text", async () => {
    await srv.pipeline.flushNow();
    const all = await call(base, "/alerts", { token: READ });
    const alerts = all.body.alerts as AlertRecord[];
    const seedRows = alerts.filter((a) => a._rule_id === SEED);
    // Records 11-13, 31-32, 41-42, 52-53, 1000-1029: every accepted seed hit once (11-12 sent 3 times).
    assert.equal(seedRows.length, 3 + 2 + 2 + 2 + 30);
    assert.equal(new Set(alerts.map((a) => a.id)).size, alerts.length);
    const one = await call(base, `/alerts?rule=${SEED}&host=srv-app02&limit=5`, { auth: `Bearer ${READ}` });
    assert.equal((one.body.alerts as unknown[]).length, 5);
    assert.equal((await call(base, "/alerts?host=nowhere", { token: READ })).body.count, 0);
    assert.equal((await call(base, "/alerts?since=2999-01-01T00:00:00Z", { token: READ })).body.count, 0);
    assert.equal((await call(base, "/alerts?since=yesterday", { token: READ })).status, 400);
    const text = await metrics();
    for (const name of [
      "dcomhunt_hec_events_total",
      "dcomhunt_hec_bytes_total",
      "dcomhunt_events_processed_total",
      "dcomhunt_alerts_total",
      "dcomhunt_queue_events",
      "dcomhunt_event_time_lag_seconds",
    ])
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"), name);
    assert.match(text, /^dcomhunt_alert_latency_seconds_bucket\{le="\+Inf"\} \d+$/m);
    assert.equal(metric(text, "dcomhunt_alerts_stored"), alerts.length);
  });

  test("unknown paths and wrong methods", async () => {
    assert.equal((await call(base, "/services/collector/nope", { token: HEC, body: "x" })).status, 404);
    assert.equal((await call(base, "/services/collector/event", { token: HEC })).status, 405);
  });

  test("after a restart the store keeps its alerts and a resent batch adds none", async () => {
    const dir = path.join(tmp, "data");
    await srv.pipeline.flushNow();
    const count = srv.pipeline.store.count;
    await srv.close();
    srv = await start(dir);
    base = srv.url;
    assert.equal(srv.pipeline.store.count, count);
    const r = await call(base, "/services/collector/event", {
      token: HEC,
      body: envelope(11) + envelope(1000),
    });
    assert.equal(r.status, 200);
    await srv.pipeline.flushNow();
    assert.equal(srv.pipeline.store.count, count);
    const lines = readFileSync(path.join(dir, "alerts.ndjson"), "utf8").trim().split("\n");
    assert.equal(lines.length, count);
  });

  test("TLS with a certificate and key", async () => {
    const dir = path.join(tmp, "tls");
    const tls = await start(dir, {
      tls: { cert: path.join(fixtures, "tls", "cert.pem"), key: path.join(fixtures, "tls", "key.pem") },
    });
    try {
      assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(path.join(fixtures, "tls", "cert.pem"));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(
          `${tls.url}/services/collector/event`,
          { method: "POST", ca, headers: { authorization: `Splunk ${HEC}` } },
          (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end(envelope(61));
      });
      assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, { text: "Success", code: 0 }]);
    } finally {
      await tls.close();
    }
  });
});

describe("serve: payload dialects", () => {
  test("XML text, evtx_dump, Winlogbeat and NXLog JSON decode as the readers read them", async () => {
    for (const file of ["evtx_dump.jsonl", "winlogbeat.ndjson", "nxlog.ndjson"]) {
      const full = path.join(fixtures, "readers", file);
      const lines = readFileSync(full, "utf8").split("\n").filter(Boolean);
      const expected: Awaited<ReturnType<typeof decodePayload>>[] = [];
      for await (const ev of readJson(full)) expected.push(ev);
      assert.equal(lines.length, expected.length, file);
      lines.forEach((line, i) => {
        // The HEC body parser reads 64-bit integers exactly (NXLog's Keywords): parse as it does.
        const asObject = decodePayload({ event: parseJsonExact(line), source: full }, undefined, i);
        const asText = decodePayload({ event: line, source: full }, undefined, i);
        const strip = (e: typeof asObject) => ({ ...(e as object), provenance: undefined });
        assert.deepEqual(strip(asObject), strip(expected[i]), `${file} #${i}`);
        assert.deepEqual(strip(asText), strip(expected[i]), `${file} #${i} as text`);
        assert.equal(asObject?.provenance.dialect, expected[i]?.provenance.dialect);
      });
    }
    const xml = decodePayload({ event: seedHitXml(7) }, undefined, 0);
    assert.equal(xml?.system.eventRecordID, "7");
  });
});

describe("serve: webhook output", () => {
  test("retries until the receiver takes the alert", async () => {
    const got: string[] = [];
    let calls = 0;
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        calls++;
        if (calls <= 2) {
          res.writeHead(503).end();
          return;
        }
        got.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const hook = webhookOutput({ url: `http://127.0.0.1:${port}/hook`, baseDelayMs: 10 });
      hook.send([{ id: "a1", received: "now", _rule_id: "r" }]);
      await hook.close();
      assert.equal(calls, 3);
      assert.deepEqual(hook.stats, { delivered: 1, failed: 0, retries: 2, dropped: 0, queued: 0 });
      assert.equal(JSON.parse(got[0]).id, "a1");
    } finally {
      receiver.close();
    }
  });
});
