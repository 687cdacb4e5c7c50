/**
 * The interface every database engine implements (DuckDB embedded, ClickHouse single node or
 * cluster): create the versioned schema, take batches of rows, keep a load ledger (for --resume),
 * de-duplicate, and run SQL. Loading (engines/load.ts) and running rules (engines/run.ts) are written
 * once against it.
 */
import type { SqlDialect } from "../export/types.js";
import type { LoadRow, TableMeta } from "./schema.js";

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/** What the ledger knows about one input file. */
export interface LedgerEntry {
  file: string;
  size: number;
  mtimeMs: number;
  /** Records of the file committed so far (in read order). */
  records: number;
  done: boolean;
}

export interface Engine {
  readonly dialect: SqlDialect;
  /** For messages: `duckdb:PATH`, `clickhouse://host:port/db (cluster dcom, 3 nodes)`. */
  readonly description: string;
  /** The table rules read (`events`: the Distributed table on a cluster). */
  readonly table: string;
  /** Create the database objects if absent; fails if an existing table has another schema/view. */
  prepareLoad(meta: TableMeta): Promise<void>;
  /** The metadata of the loaded table, or undefined when nothing was ever loaded. */
  readMeta(): Promise<TableMeta | undefined>;
  /** One row as the line the engine ingests (JSON), built as soon as the event is read. */
  encode(row: LoadRow): string;
  /**
   * Write one batch: encoded rows, one per line, in pieces of bytes (off the JS heap: the strings of an
   * event die young). Throws when (some of) it may not be stored; retried as a whole.
   */
  insert(pieces: Buffer[]): Promise<void>;
  ledger(): Promise<Map<string, LedgerEntry>>;
  record(entry: LedgerEntry): Promise<void>;
  /** Remove the copies of events loaded more than once; returns the rows removed when known. */
  deduplicate(): Promise<number | undefined>;
  count(): Promise<number>;
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}

export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineError";
  }
}

export interface EngineTarget {
  kind: "duckdb" | "clickhouse";
  /** duckdb: the database file. */
  path?: string;
  /** clickhouse: every node's HTTP address (host:port); the first takes inserts and queries. */
  nodes?: string[];
  database?: string;
  cluster?: string;
  user?: string;
  password?: string;
}

/** `duckdb:PATH` | `clickhouse://HOST:PORT[,HOST:PORT...]/DB`; undefined when the text is neither. */
export function parseTarget(text: string): EngineTarget | undefined {
  if (text.startsWith("duckdb:")) {
    const p = text.slice("duckdb:".length);
    return p ? { kind: "duckdb", path: p } : undefined;
  }
  const m = /^clickhouse:\/\/([^/]+?)(?:\/([A-Za-z_][A-Za-z0-9_]*))?\/?$/.exec(text);
  if (!m) return undefined;
  const nodes = m[1].split(",").map((n) => (n.includes(":") ? n : `${n}:8123`));
  if (nodes.some((n) => !/^[^:,\s]+:\d+$/.test(n))) return undefined;
  return { kind: "clickhouse", nodes, database: m[2] ?? "default" };
}
