/**
 * DuckDB, embedded: the loaded table in one database file, no server (`duckdb:PATH`).
 *
 * A batch is written as NDJSON to a temp file and inserted with `read_json` and explicit columns
 * (measured the fastest path from Node, ../shared/reference/sql-scale-out.md §4); `_fields` is a
 * MAP(VARCHAR, VARCHAR). Duplicates (same `_key`) are removed after the load, keeping the copy read
 * first. The memory limit keeps `load` bounded at any input size (DuckDB spills to disk).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { COMMON_FIELDS, type LoadRow, SCHEMA_VERSION, type TableMeta } from "./schema.js";
import { type Engine, EngineError, type LedgerEntry, type QueryResult } from "./types.js";

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

const COLUMNS: [string, string][] = [
  ["_time", "TIMESTAMPTZ"],
  ...COMMON_FIELDS.map((c): [string, string] => [c, "VARCHAR"]),
  ["_fields", "MAP(VARCHAR, VARCHAR)"],
  ["_raw", "VARCHAR"],
  ["_file", "VARCHAR"],
  ["_offset", "VARCHAR"],
  ["_record_id", "VARCHAR"],
  ["_channel", "VARCHAR"],
  ["_computer", "VARCHAR"],
  ["_key", "VARCHAR"],
  ["_host_key", "VARCHAR"],
  ["_ts", "BIGINT"],
  ["_seq", "BIGINT"],
];

const js = (v: string | null): string => (v === null ? "null" : JSON.stringify(v));
const COMMON_KEYS = COMMON_FIELDS.map((c) => `,${JSON.stringify(c)}:`);

/** One row as the NDJSON line `read_json` takes (one flat string, no intermediate object). */
export function duckdbRowJson(r: LoadRow): string {
  const p: string[] = ['{"_time":', js(r.time)];
  for (let i = 0; i < COMMON_KEYS.length; i++) p.push(COMMON_KEYS[i], js(r.common[i]));
  p.push(',"_fields":{');
  for (let i = 0; i < r.fields.length; i++) {
    const [k, v] = r.fields[i];
    p.push(i ? "," : "", JSON.stringify(k), ":", JSON.stringify(v));
  }
  p.push('},"_raw":', js(r.raw), ',"_file":', js(r.file), ',"_offset":', js(r.offset));
  p.push(',"_record_id":', js(r.recordId), ',"_channel":', js(r.channel), ',"_computer":', js(r.computer));
  p.push(',"_key":', js(r.key), ',"_host_key":', js(r.hostKey), `,"_ts":${r.ts},"_seq":${r.seq}}`);
  return p.join("");
}

export class DuckDbEngine implements Engine {
  readonly dialect = "duckdb" as const;
  readonly table = "events";
  readonly description: string;
  private tmp: string | undefined;
  private batchNo = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    file: string,
  ) {
    this.description = `duckdb:${file}`;
  }

  static async open(file: string, opts: { memoryLimitMb?: number } = {}): Promise<DuckDbEngine> {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file);
    } catch (err) {
      throw new EngineError(`duckdb:${file}: cannot open: ${(err as Error).message.split("\n")[0]}`);
    }
    const conn = await instance.connect();
    await conn.run(`SET TimeZone = 'UTC'`);
    await conn.run(`SET threads = 1`);
    await conn.run(`SET memory_limit = '${opts.memoryLimitMb ?? 100}MB'`);
    await conn.run(`SET temp_directory = '${`${file}.tmp`.replace(/'/g, "''")}'`);
    return new DuckDbEngine(instance, conn, file);
  }

  private async tableExists(name: string): Promise<boolean> {
    const r = await this.conn.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_name = '${name.replace(/'/g, "''")}'`,
    );
    return Number(r.getRowsJS()[0][0]) > 0;
  }

  async prepareLoad(meta: TableMeta): Promise<void> {
    await this.conn.run(
      `CREATE TABLE IF NOT EXISTS events (${COLUMNS.map(([n, t]) => `${q(n)} ${t}`).join(", ")})`,
    );
    await this.conn.run(`CREATE TABLE IF NOT EXISTS dcomhunt_meta (k VARCHAR PRIMARY KEY, v VARCHAR)`);
    await this.conn.run(
      `CREATE TABLE IF NOT EXISTS dcomhunt_ledger (file VARCHAR PRIMARY KEY, size BIGINT, mtime_ms DOUBLE, records BIGINT, done BOOLEAN)`,
    );
    await this.conn.run(
      `INSERT OR REPLACE INTO dcomhunt_meta VALUES ('meta', '${JSON.stringify(meta).replace(/'/g, "''")}')`,
    );
  }

  async readMeta(): Promise<TableMeta | undefined> {
    if (!(await this.tableExists("dcomhunt_meta"))) return undefined;
    const r = await this.conn.runAndReadAll(`SELECT v FROM dcomhunt_meta WHERE k = 'meta'`);
    const rows = r.getRowsJS();
    if (!rows.length) return undefined;
    const meta = JSON.parse(String(rows[0][0])) as TableMeta;
    if (meta.schema !== SCHEMA_VERSION)
      throw new EngineError(
        `${this.description}: table schema version ${meta.schema}, this dcomhunt reads version ${SCHEMA_VERSION}`,
      );
    return meta;
  }

  encode(row: LoadRow): string {
    return duckdbRowJson(row);
  }

  async insert(pieces: Buffer[]): Promise<void> {
    this.tmp ??= mkdtempSync(path.join(tmpdir(), "dcomhunt-load-"));
    const file = path.join(this.tmp, `batch-${this.batchNo++}.ndjson`);
    const fd = openSync(file, "w");
    try {
      for (const p of pieces) writeSync(fd, p);
    } finally {
      closeSync(fd);
    }
    const spec = COLUMNS.map(([n, t]) => `${`'${n.replace(/'/g, "''")}'`}: '${t}'`).join(", ");
    try {
      await this.conn.run(
        `INSERT INTO events SELECT * FROM read_json('${file.replace(/'/g, "''")}', format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 4194304)`,
      );
    } catch (err) {
      throw new EngineError(`${this.description}: insert failed: ${(err as Error).message.split("\n")[0]}`);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async ledger(): Promise<Map<string, LedgerEntry>> {
    const out = new Map<string, LedgerEntry>();
    if (!(await this.tableExists("dcomhunt_ledger"))) return out;
    const r = await this.conn.runAndReadAll(
      `SELECT file, size, mtime_ms, records, done FROM dcomhunt_ledger`,
    );
    for (const [file, size, mtime, records, done] of r.getRowsJS()) {
      out.set(String(file), {
        file: String(file),
        size: Number(size),
        mtimeMs: Number(mtime),
        records: Number(records),
        done: Boolean(done),
      });
    }
    return out;
  }

  async record(e: LedgerEntry): Promise<void> {
    await this.conn.run(
      `INSERT OR REPLACE INTO dcomhunt_ledger VALUES ('${e.file.replace(/'/g, "''")}', ${e.size}, ${e.mtimeMs}, ${e.records}, ${e.done})`,
    );
  }

  async deduplicate(): Promise<number> {
    const before = await this.count();
    await this.conn.run(
      `DELETE FROM events WHERE rowid IN (SELECT rid FROM (SELECT rowid AS rid, row_number() OVER (PARTITION BY _key ORDER BY rowid) AS rn FROM events) WHERE rn > 1)`,
    );
    return before - (await this.count());
  }

  async count(): Promise<number> {
    if (!(await this.tableExists("events"))) return 0;
    const r = await this.conn.runAndReadAll(`SELECT count(*) FROM events`);
    return Number(r.getRowsJS()[0][0]);
  }

  async query(sql: string): Promise<QueryResult> {
    try {
      const r = await this.conn.runAndReadAll(sql);
      return { columns: r.columnNames(), rows: r.getRowsJS() as unknown[][] };
    } catch (err) {
      throw new EngineError(`${this.description}: ${(err as Error).message.split("\n")[0]}`);
    }
  }

  /** `_fields` of a result row (DuckDB returns MAP values as {entries: [{key, value}]}). */
  static mapEntries(v: unknown): [string, string][] {
    if (!v || typeof v !== "object") return [];
    const entries = (v as { entries?: { key: unknown; value: unknown }[] }).entries;
    if (Array.isArray(entries)) return entries.map((e) => [String(e.key), String(e.value)]);
    if (Array.isArray(v))
      return (v as { key: unknown; value: unknown }[]).map((e) => [String(e.key), String(e.value)]);
    return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]);
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }
}
