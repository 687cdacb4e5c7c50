/**
 * The durable alert store of `dcomhunt serve`: `alerts.ndjson` in the data folder, append-only, one
 * alert per line (`id`, `received`, then the alert as `scan --format ndjson` writes it). `add` resolves
 * once the new alerts are fsynced; an alert whose id is already stored is dropped (replays after a
 * crash, a client resending a batch). Ids of every stored alert are kept in memory (alerts are few
 * next to events); the read API streams the file.
 */
import { createReadStream, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { normalizeHost } from "../correlate/index.js";
import { alertId } from "./id.js";
import { AppendLog } from "./log.js";

export type AlertRecord = Record<string, unknown> & { id: string; received: string };

export interface AlertQuery {
  /** Only alerts received at or after this instant (epoch ms). */
  sinceMs?: number;
  rule?: string;
  host?: string;
  limit?: number;
}

export class AlertStore {
  private readonly ids = new Set<string>();
  private log!: AppendLog;
  /** Alerts dropped as already stored. */
  duplicates = 0;
  /** Torn bytes dropped at open (a crash cut the last line). */
  tornBytes = 0;

  private constructor(readonly file: string) {}

  static async open(dir: string): Promise<AlertStore> {
    mkdirSync(dir, { recursive: true });
    const store = new AlertStore(path.join(dir, "alerts.ndjson"));
    store.log = new AppendLog(store.file);
    store.tornBytes = store.log.tornBytes;
    for await (const rec of store.records()) store.ids.add(rec.id);
    return store;
  }

  get count(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Store the alerts not yet stored; resolves with them once they are durable. */
  async add(alerts: Record<string, unknown>[]): Promise<AlertRecord[]> {
    const fresh: AlertRecord[] = [];
    const received = new Date().toISOString();
    for (const a of alerts) {
      const id = alertId(a);
      if (this.ids.has(id)) {
        this.duplicates++;
        continue;
      }
      this.ids.add(id);
      fresh.push({ id, received, ...a });
    }
    await this.log.append(fresh.map((r) => JSON.stringify(r)));
    return fresh;
  }

  /**
   * Store results; resolves once the new ones are durable with `fresh` (newly stored) and `all` (every
   * result as a record with its id, the already stored ones too: a cluster worker forwards them all, so
   * an alert stored just before a crash still reaches the gathering store).
   */
  async addAll(alerts: Record<string, unknown>[]): Promise<{ fresh: AlertRecord[]; all: AlertRecord[] }> {
    const fresh: AlertRecord[] = [];
    const all: AlertRecord[] = [];
    const received = new Date().toISOString();
    for (const a of alerts) {
      const rec = { id: alertId(a), received, ...a };
      all.push(rec);
      if (this.ids.has(rec.id)) {
        this.duplicates++;
        continue;
      }
      this.ids.add(rec.id);
      fresh.push(rec);
    }
    await this.log.append(fresh.map((r) => JSON.stringify(r)));
    return { fresh, all };
  }

  /** Store records that already carry their id (gathered from cluster workers); resolves with the new ones. */
  async addRecords(records: AlertRecord[]): Promise<AlertRecord[]> {
    const fresh: AlertRecord[] = [];
    for (const r of records) {
      if (this.ids.has(r.id)) {
        this.duplicates++;
        continue;
      }
      this.ids.add(r.id);
      fresh.push(r);
    }
    await this.log.append(fresh.map((r) => JSON.stringify(r)));
    return fresh;
  }

  /** Every stored alert in the order stored. */
  async *records(): AsyncGenerator<AlertRecord> {
    if (!existsSync(this.file)) return;
    const lines = createInterface({
      input: createReadStream(this.file, { end: Math.max(0, this.log.size - 1) }),
    });
    for await (const line of lines) {
      if (line.trim() === "") continue;
      try {
        yield JSON.parse(line) as AlertRecord;
      } catch {
        // a line the store did not write whole cannot be here (open() truncates a torn tail)
      }
    }
  }

  async query(q: AlertQuery): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    const host = q.host === undefined ? undefined : normalizeHost(q.host);
    for await (const rec of this.records()) {
      if (q.sinceMs !== undefined && Date.parse(rec.received) < q.sinceMs) continue;
      if (q.rule !== undefined && rec._rule_id !== q.rule && rec._rule !== q.rule) continue;
      if (host !== undefined && !hostsOf(rec).includes(host)) continue;
      out.push(rec);
      if (q.limit !== undefined && out.length >= q.limit) break;
    }
    return out;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

function hostsOf(rec: AlertRecord): string[] {
  const names = [rec.host, rec._computer, rec.target_host, rec.source_host];
  return names.filter((n): n is string => typeof n === "string" && n !== "").map(normalizeHost);
}
