/**
 * Where stored alerts go next: standard output as NDJSON, and a webhook (HTTP POST of one alert's
 * JSON) with retries. Both see an alert only after the store has made it durable, so an alert a
 * webhook received is never lost by the server; a webhook that stays down loses nothing either: the
 * alert stays in the store and the read API.
 */
import type { Writable } from "node:stream";
import type { AlertRecord } from "./store.js";

export interface AlertOutput {
  send(alerts: AlertRecord[]): void;
  close(): Promise<void>;
}

export function ndjsonOutput(out: Writable): AlertOutput {
  return {
    send(alerts) {
      for (const a of alerts) out.write(`${JSON.stringify(a)}\n`);
    },
    close: async () => {},
  };
}

export interface WebhookOptions {
  url: string;
  /** Extra headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Attempts per alert (default 6), waiting 0.5 s, 1 s, 2 s ... between them. */
  attempts?: number;
  baseDelayMs?: number;
  /** Alerts waiting beyond this are dropped from the webhook queue (counted; still in the store). */
  maxQueue?: number;
}

export interface WebhookStats {
  delivered: number;
  failed: number;
  retries: number;
  dropped: number;
  queued: number;
}

export function webhookOutput(opts: WebhookOptions): AlertOutput & { stats: WebhookStats } {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 500;
  const maxQueue = opts.maxQueue ?? 10000;
  const queue: AlertRecord[] = [];
  const stats: WebhookStats = { delivered: 0, failed: 0, retries: 0, dropped: 0, queued: 0 };
  let running: Promise<void> | undefined;

  const post = async (a: AlertRecord): Promise<boolean> => {
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        stats.retries++;
        await new Promise((r) => setTimeout(r, base * 2 ** (i - 1)));
      }
      try {
        const res = await fetch(opts.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...opts.headers },
          body: JSON.stringify(a),
          signal: AbortSignal.timeout(10000),
        });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) return true;
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) return false;
      } catch {
        // network error: retry
      }
    }
    return false;
  };

  const drain = async () => {
    while (queue.length > 0) {
      const a = queue.shift() as AlertRecord;
      stats.queued = queue.length;
      if (await post(a)) stats.delivered++;
      else stats.failed++;
    }
    running = undefined;
  };

  return {
    stats,
    send(alerts) {
      for (const a of alerts) {
        if (queue.length >= maxQueue) {
          stats.dropped++;
          continue;
        }
        queue.push(a);
      }
      stats.queued = queue.length;
      running ??= drain();
    },
    /** Wait until every queued alert was delivered or ran out of attempts. */
    async close() {
      await running;
    },
  };
}
