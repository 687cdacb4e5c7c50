/**
 * ClickHouse over its HTTP interface (`clickhouse://HOST:PORT[,HOST:PORT...]/DB`), a single server or
 * a cluster (`--cluster NAME`). Written for 18.16 (Debian's package) and its traps
 * (../shared/reference/sql-scale-out.md §1):
 *
 * - every derived column (`_ts`, `_host_key`, `_key`) is computed here and sent: 18.16 ignores DEFAULT
 *   expressions in JSONEachRow and cannot insert MATERIALIZED columns through a Distributed table;
 * - every value is sent as a string or NULL (Nullable(String) refuses JSON numbers);
 * - no ZooKeeper, so no `ON CLUSTER`: the DDL runs on every node listed in the URL;
 * - cluster: `events_local` (ReplacingMergeTree) on each node and `events`, a Distributed table
 *   sharded by cityHash64(`_host_key`), the normalized host, so that a host's events live on one
 *   shard; inserts go through `events` synchronously (`insert_distributed_sync=1`), so a batch that
 *   does not reach every shard fails instead of queueing silently;
 * - de-duplication: ReplacingMergeTree on (`_host_key`, `_ts`, `_key`) and `OPTIMIZE ... FINAL` after
 *   a load, keeping the copy read first (`_ver`).
 */
import { COMMON_FIELDS, type LoadRow, SCHEMA_VERSION, type TableMeta } from "./schema.js";
import { type Engine, EngineError, type EngineTarget, type LedgerEntry, type QueryResult } from "./types.js";

const q = (name: string) => `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
const s = (v: string) => `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

const COLUMNS: [string, string][] = [
  ["_time", "Nullable(String)"],
  ...COMMON_FIELDS.map((c): [string, string] => [c, "Nullable(String)"]),
  ["_names", "Array(String)"],
  ["_values", "Array(String)"],
  ["_raw", "Nullable(String)"],
  ["_file", "String"],
  ["_offset", "String"],
  ["_record_id", "String"],
  ["_channel", "String"],
  ["_computer", "String"],
  ["_key", "String"],
  ["_host_key", "String"],
  ["_ts", "UInt32"],
  ["_ver", "UInt32"],
];

const js = (v: string | null): string => (v === null ? "null" : JSON.stringify(v));
const COMMON_KEYS = COMMON_FIELDS.map((c) => `,${JSON.stringify(c)}:`);

/** One row as a JSONEachRow line (one flat string, no intermediate object). */
export function clickhouseRowJson(r: LoadRow): string {
  const p: string[] = ['{"_time":', js(r.time)];
  for (let i = 0; i < COMMON_KEYS.length; i++) p.push(COMMON_KEYS[i], js(r.common[i]));
  p.push(',"_names":[');
  for (let i = 0; i < r.fields.length; i++) p.push(i ? "," : "", JSON.stringify(r.fields[i][0]));
  p.push('],"_values":[');
  for (let i = 0; i < r.fields.length; i++) p.push(i ? "," : "", JSON.stringify(r.fields[i][1]));
  p.push('],"_raw":', js(r.raw), ',"_file":', js(r.file), ',"_offset":', js(r.offset));
  p.push(',"_record_id":', js(r.recordId), ',"_channel":', js(r.channel), ',"_computer":', js(r.computer));
  p.push(',"_key":', js(r.key), ',"_host_key":', js(r.hostKey), `,"_ts":${r.ts}`);
  // ReplacingMergeTree keeps the highest version: the copy read first wins, as in a file scan.
  p.push(`,"_ver":${4294967295 - Math.min(r.seq, 4294967295)}}`);
  return p.join("");
}

export class ClickHouseEngine implements Engine {
  readonly dialect = "clickhouse" as const;
  readonly table = "events";
  readonly description: string;
  private readonly nodes: string[];
  private readonly db: string;
  private readonly cluster: string | undefined;
  private readonly auth: string | undefined;

  constructor(target: EngineTarget) {
    this.nodes = target.nodes ?? [];
    this.db = target.database ?? "default";
    this.cluster = target.cluster;
    this.auth =
      target.user !== undefined
        ? `Basic ${Buffer.from(`${target.user}:${target.password ?? ""}`).toString("base64")}`
        : undefined;
    this.description = `clickhouse://${this.nodes[0]}/${this.db}${this.cluster ? ` (cluster ${this.cluster}, ${this.nodes.length} node(s))` : ""}`;
  }

  /** POST a statement to a node; the body is the query, or `body` with the query in the URL. */
  async exec(
    node: string,
    sql: string,
    body?: string | Buffer,
    settings: Record<string, string> = {},
  ): Promise<string> {
    const params = new URLSearchParams({ database: this.db, ...settings });
    if (body !== undefined) params.set("query", sql);
    const headers: Record<string, string> = {};
    if (this.auth) headers.Authorization = this.auth;
    let res: Response | undefined;
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await fetch(`http://${node}/?${params}`, { method: "POST", body: body ?? sql, headers });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        // A kept-alive socket the server closed in the meantime: send again on a new one (every
        // statement here is idempotent, and a repeated insert is de-duplicated after the load).
        if (attempt < 2 && (cause?.code === "UND_ERR_SOCKET" || cause?.code === "ECONNRESET")) continue;
        throw new EngineError(
          `clickhouse ${node}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        );
      }
    }
    const text = await res.text();
    if (!res.ok) throw new EngineError(`clickhouse ${node}: ${text.trim().split("\n")[0].slice(0, 400)}`);
    return text;
  }

  private async onEveryNode(sql: string): Promise<void> {
    for (const n of this.nodes) await this.exec(n, sql);
  }

  async prepareLoad(meta: TableMeta): Promise<void> {
    // The database itself: created on each node from `default`.
    for (const n of this.nodes) {
      const params = new URLSearchParams({ query: `CREATE DATABASE IF NOT EXISTS ${q(this.db)}` });
      const headers: Record<string, string> = {};
      if (this.auth) headers.Authorization = this.auth;
      const r = await fetch(`http://${n}/?${params}`, { method: "POST", headers }).catch((err) => {
        throw new EngineError(
          `clickhouse ${n}: ${(err as { cause?: { code?: string } }).cause?.code ?? err}`,
        );
      });
      if (!r.ok) throw new EngineError(`clickhouse ${n}: ${(await r.text()).trim().split("\n")[0]}`);
    }
    if (this.cluster) {
      const clusters = await this.exec(
        this.nodes[0],
        `SELECT count() FROM system.clusters WHERE cluster = ${s(this.cluster)} FORMAT TSV`,
      );
      const shards = Number(clusters.trim());
      if (shards === 0)
        throw new EngineError(`${this.description}: no cluster '${this.cluster}' in system.clusters`);
      if (shards !== this.nodes.length)
        throw new EngineError(
          `${this.description}: cluster '${this.cluster}' has ${shards} replica(s); list every node's HTTP address in the URL (clickhouse://h1:p1,h2:p2,.../db): 18.16 has no ON CLUSTER without ZooKeeper, so the tables are created node by node`,
        );
    }
    const cols = COLUMNS.map(([n, t]) => `${q(n)} ${t}`).join(", ");
    const storage = `ENGINE = ReplacingMergeTree(_ver) ORDER BY (_host_key, _ts, _key)`;
    if (this.cluster) {
      await this.onEveryNode(`CREATE TABLE IF NOT EXISTS events_local (${cols}) ${storage}`);
      await this.onEveryNode(
        `CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed(${q(this.cluster)}, ${q(this.db)}, events_local, cityHash64(_host_key))`,
      );
    } else {
      await this.onEveryNode(`CREATE TABLE IF NOT EXISTS events (${cols}) ${storage}`);
    }
    await this.onEveryNode(
      `CREATE TABLE IF NOT EXISTS dcomhunt_meta (k String, v String, seq UInt64) ENGINE = ReplacingMergeTree(seq) ORDER BY k`,
    );
    await this.exec(
      this.nodes[0],
      `CREATE TABLE IF NOT EXISTS dcomhunt_ledger (file String, size UInt64, mtime_ms Float64, records UInt64, done UInt8, seq UInt64) ENGINE = ReplacingMergeTree(seq) ORDER BY file`,
    );
    for (const n of this.nodes)
      await this.exec(
        n,
        "INSERT INTO dcomhunt_meta FORMAT JSONEachRow",
        `${JSON.stringify({ k: "meta", v: JSON.stringify(meta), seq: Date.now() })}\n`,
      );
  }

  async readMeta(): Promise<TableMeta | undefined> {
    const exists = await this.exec(
      this.nodes[0],
      `SELECT count() FROM system.tables WHERE database = ${s(this.db)} AND name = 'dcomhunt_meta' FORMAT TSV`,
      undefined,
      { database: "" },
    );
    if (Number(exists.trim()) === 0) return undefined;
    const text = await this.exec(
      this.nodes[0],
      `SELECT v FROM dcomhunt_meta FINAL WHERE k = 'meta' FORMAT JSONCompact`,
    );
    const rows = (JSON.parse(text) as { data: string[][] }).data;
    if (!rows.length) return undefined;
    const meta = JSON.parse(rows[0][0]) as TableMeta;
    if (meta.schema !== SCHEMA_VERSION)
      throw new EngineError(
        `${this.description}: table schema version ${meta.schema}, this dcomhunt reads version ${SCHEMA_VERSION}`,
      );
    return meta;
  }

  encode(row: LoadRow): string {
    return clickhouseRowJson(row);
  }

  async insert(pieces: Buffer[]): Promise<void> {
    const body = Buffer.concat(pieces);
    await this.exec(this.nodes[0], "INSERT INTO events FORMAT JSONEachRow", body, {
      insert_distributed_sync: "1",
      input_format_skip_unknown_fields: "0",
    });
  }

  async ledger(): Promise<Map<string, LedgerEntry>> {
    const out = new Map<string, LedgerEntry>();
    const exists = await this.exec(
      this.nodes[0],
      `SELECT count() FROM system.tables WHERE database = ${s(this.db)} AND name = 'dcomhunt_ledger' FORMAT TSV`,
      undefined,
      { database: "" },
    );
    if (Number(exists.trim()) === 0) return out;
    const text = await this.exec(
      this.nodes[0],
      "SELECT file, size, mtime_ms, records, done FROM dcomhunt_ledger FINAL FORMAT JSONCompact",
    );
    for (const [file, size, mtime, records, done] of (JSON.parse(text) as { data: unknown[][] }).data) {
      out.set(String(file), {
        file: String(file),
        size: Number(size),
        mtimeMs: Number(mtime),
        records: Number(records),
        done: Number(done) === 1,
      });
    }
    return out;
  }

  private ledgerSeq = 0;
  async record(e: LedgerEntry): Promise<void> {
    const seq = Date.now() * 1000 + (this.ledgerSeq++ % 1000);
    await this.exec(
      this.nodes[0],
      "INSERT INTO dcomhunt_ledger FORMAT JSONEachRow",
      `${JSON.stringify({ file: e.file, size: e.size, mtime_ms: e.mtimeMs, records: e.records, done: e.done ? 1 : 0, seq })}\n`,
    );
  }

  async deduplicate(): Promise<number> {
    const before = await this.count();
    const local = this.cluster ? "events_local" : "events";
    await this.onEveryNode(`OPTIMIZE TABLE ${local} FINAL`);
    return before - (await this.count());
  }

  async count(): Promise<number> {
    const text = await this.exec(this.nodes[0], "SELECT count() FROM events FORMAT TSV");
    return Number(text.trim());
  }

  async query(sql: string): Promise<QueryResult> {
    const text = await this.exec(this.nodes[0], `${sql}\nFORMAT JSONCompact`, undefined, {
      max_query_size: "4194304",
    });
    const parsed = JSON.parse(text) as { meta: { name: string }[]; data: unknown[][] };
    return { columns: parsed.meta.map((m) => m.name), rows: parsed.data };
  }

  async close(): Promise<void> {}
}
