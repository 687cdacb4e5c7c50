/**
 * A HEC client that sends a recording to a running server (`dcomhunt replay`): any input the readers
 * take (EVTX, XML, JSON dialects, CSV, archives), merged in time order across files as a scan does,
 * each event sent as XmlWinEventLog (`sourcetype` XmlWinEventLog, `event` the event XML, `source` its
 * file, `host` its Computer), in batches, optionally at the recording's pace (`speed`).
 *
 * Batches are taken in order (the next is sent once the previous got its 200), so the server sees the
 * recording's order even across retries; acknowledgements are awaited for several batches at once.
 * Delivery is at least once: a batch is resent after a busy answer (503), a server error or a broken
 * connection, with backoff; with indexer acknowledgement (the token has `ack`) a batch counts as
 * delivered only when /ack says true, and is resent when that takes longer than `ackTimeoutMs`
 * (a server restarted in between forgets its channels). Without ack, a 200 is the delivery.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { gzipSync } from "node:zlib";
import { mergeByTime } from "../correlate/index.js";
import { defaultFieldViewOptions, type SplunkEvent, toSplunkEvent } from "../events/fields.js";
import type { WinEvent } from "../events/model.js";
import { renderEventXml } from "../events/xml.js";
import { expandInputs, type InputStats, newInputStats, readInputs } from "../readers/index.js";

export interface ReplayOptions {
  /** Server base URL, e.g. http://127.0.0.1:8088 */
  to: string;
  token: string;
  /** 0 = as fast as possible; 1 = the recording's own pace; 10 = ten times faster. */
  speed?: number;
  batchEvents?: number;
  /** Batches awaiting their acknowledgement at once (batches are sent one after the other, in order). */
  concurrency?: number;
  gzip?: boolean;
  /** Accept a self-signed certificate. */
  insecure?: boolean;
  ackTimeoutMs?: number;
  /** Give up when the server has refused or not answered for this long (ms). */
  giveUpMs?: number;
  /** Reorder window for the time merge across files (seconds, as scan). */
  reorderWindowSeconds?: number;
  stats?: InputStats;
  onProgress?: (r: ReplayReport) => void;
}

export interface ReplayReport {
  events: number;
  batches: number;
  /** Batches confirmed (200 without ack, ack true with ack). */
  delivered: number;
  /** Requests sent again after a refusal, an error or an ack timeout. */
  resent: number;
  /** Answers 503 (busy), 5xx or a failed connection. */
  refused: number;
  acks: boolean;
  seconds: number;
}

interface Batch {
  body: Buffer;
  events: number;
}

interface Answer {
  status: number;
  body: string;
}

function request(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  insecure: boolean,
  agent: http.Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(
      url,
      { method, headers, agent, rejectUnauthorized: !insecure, timeout: 30000 } as https.RequestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/** The HEC envelope of one event, as a Windows shipper sends it (XmlWinEventLog). */
export function envelopeOf(ev: WinEvent, time: number | undefined): string {
  // A record without TimeCreated (NXLog, CSV exports) gets the time the field view resolved for it, as
  // a forwarder renders TimeCreated: the server then orders and correlates it as the scan does.
  const withTime =
    ev.system.systemTime === undefined && time !== undefined
      ? { ...ev, system: { ...ev.system, systemTime: new Date(Math.round(time * 1000)).toISOString() } }
      : ev;
  const env: Record<string, unknown> = {
    sourcetype: "XmlWinEventLog",
    source: ev.provenance.file,
    host: ev.system.computer,
    event: renderEventXml(withTime),
  };
  if (time !== undefined) env.time = time.toFixed(3);
  return JSON.stringify(env);
}

async function* timeOrdered(
  inputs: string[],
  reorder: number,
  stats: InputStats,
): AsyncGenerator<SplunkEvent> {
  const files = expandInputs(inputs);
  const streams = files.map((f) =>
    (async function* () {
      for await (const ev of readInputs([f], { stats })) yield toSplunkEvent(ev, defaultFieldViewOptions);
    })(),
  );
  yield* streams.length === 1 ? streams[0] : mergeByTime(streams, reorder);
}

export async function replay(inputs: string[], opts: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const base = new URL(opts.to);
  const secure = base.protocol === "https:";
  const agent = secure
    ? new https.Agent({ keepAlive: true, rejectUnauthorized: !opts.insecure })
    : new http.Agent({ keepAlive: true });
  const channel = randomUUID();
  const batchEvents = opts.batchEvents ?? 500;
  const concurrency = opts.concurrency ?? 4;
  const ackTimeout = opts.ackTimeoutMs ?? 60000;
  const giveUp = opts.giveUpMs ?? 300000;
  const speed = opts.speed ?? 0;
  const report: ReplayReport = {
    events: 0,
    batches: 0,
    delivered: 0,
    resent: 0,
    refused: 0,
    acks: false,
    seconds: 0,
  };
  const headers = (gz: boolean): Record<string, string> => {
    const h: Record<string, string> = {
      authorization: `Splunk ${opts.token}`,
      "content-type": "application/json",
      "x-splunk-request-channel": channel,
    };
    if (gz) h["content-encoding"] = "gzip";
    return h;
  };
  const eventUrl = new URL("/services/collector/event", base);
  const ackUrl = new URL("/services/collector/ack", base);
  let lastSuccess = Date.now();

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Pending acks: ackId -> resolver; polled together. */
  const pendingAcks = new Map<number, { resolve: (ok: boolean) => void; sentAt: number }>();
  let polling = false;
  const pollAcks = async () => {
    while (pendingAcks.size > 0) {
      await sleep(100);
      const ids = [...pendingAcks.keys()];
      let answer: Answer | undefined;
      try {
        answer = await request(
          ackUrl,
          "POST",
          headers(false),
          Buffer.from(JSON.stringify({ acks: ids })),
          opts.insecure === true,
          agent,
        );
      } catch {
        answer = undefined;
      }
      const now = Date.now();
      const acks =
        answer?.status === 200
          ? ((JSON.parse(answer.body) as { acks: Record<string, boolean> }).acks ?? {})
          : {};
      for (const id of ids) {
        const p = pendingAcks.get(id);
        if (!p) continue;
        if (acks[String(id)] === true) {
          pendingAcks.delete(id);
          lastSuccess = now;
          p.resolve(true);
        } else if (now - p.sentAt > ackTimeout) {
          pendingAcks.delete(id);
          p.resolve(false);
        }
      }
    }
    polling = false;
  };
  const waitAck = (id: number): Promise<boolean> =>
    new Promise((resolve) => {
      pendingAcks.set(id, { resolve, sentAt: Date.now() });
      if (!polling) {
        polling = true;
        void pollAcks();
      }
    });

  /** Send until taken (calling `taken` at the first 200), then wait for the acknowledgement. */
  const deliver = async (batch: Batch, taken: () => void): Promise<void> => {
    let backoff = 100;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) report.resent++;
      if (Date.now() - lastSuccess > giveUp)
        throw new Error(
          `replay: the server at ${opts.to} has not taken events for ${Math.round(giveUp / 1000)} s`,
        );
      let answer: Answer | undefined;
      try {
        answer = await request(
          eventUrl,
          "POST",
          headers(opts.gzip === true),
          batch.body,
          opts.insecure === true,
          agent,
        );
      } catch {
        answer = undefined;
      }
      if (answer && answer.status === 200) {
        taken();
        const parsed = JSON.parse(answer.body) as { ackId?: number };
        if (parsed.ackId === undefined) {
          lastSuccess = Date.now();
          report.delivered++;
          return;
        }
        report.acks = true;
        if (await waitAck(parsed.ackId)) {
          report.delivered++;
          return;
        }
        continue;
      }
      if (answer && answer.status >= 400 && answer.status < 500) {
        throw new Error(`replay: the server refused a batch: HTTP ${answer.status} ${answer.body}`);
      }
      report.refused++;
      await sleep(backoff);
      backoff = Math.min(2000, backoff * 2);
    }
  };

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const launch = async (lines: string[]) => {
    const text = Buffer.from(lines.join("\n"));
    const batch: Batch = { body: opts.gzip ? gzipSync(text) : text, events: lines.length };
    report.batches++;
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) throw failure;
    // Batches are taken in recording order: the next one is sent once this one has a 200 (the server
    // journals it before answering); only acknowledgements are awaited concurrently.
    let taken!: () => void;
    const wasTaken = new Promise<void>((r) => {
      taken = r;
    });
    const p: Promise<void> = deliver(batch, taken)
      .catch((err) => {
        failure ??= err;
        taken();
      })
      .finally(() => {
        inFlight.delete(p);
        opts.onProgress?.(report);
      });
    inFlight.add(p);
    await wasTaken;
  };

  const stats = opts.stats ?? newInputStats();
  let lines: string[] = [];
  let firstEventTime: number | undefined;
  const wallStart = performance.now();
  for await (const se of timeOrdered(inputs, opts.reorderWindowSeconds ?? 300, stats)) {
    if (failure) break;
    if (!se.event) continue;
    if (speed > 0 && se.time !== undefined) {
      firstEventTime ??= se.time;
      const due = ((se.time - firstEventTime) / speed) * 1000;
      const wait = due - (performance.now() - wallStart);
      if (wait > 5) {
        if (lines.length > 0) {
          await launch(lines);
          lines = [];
        }
        await sleep(wait);
      }
    }
    lines.push(envelopeOf(se.event, se.time));
    report.events++;
    if (lines.length >= batchEvents) {
      await launch(lines);
      lines = [];
    }
  }
  if (lines.length > 0 && !failure) await launch(lines);
  await Promise.all(inFlight);
  agent.destroy();
  report.seconds = (performance.now() - started) / 1000;
  if (failure) throw failure;
  return report;
}
