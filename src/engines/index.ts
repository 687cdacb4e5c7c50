/**
 * Engines that run the rules inside a database after `load` (DuckDB embedded, ClickHouse single node
 * or cluster). See docs/engines.md.
 */
import { ClickHouseEngine } from "./clickhouse.js";
import { DuckDbEngine } from "./duckdb.js";
import { type Engine, EngineError, type EngineTarget } from "./types.js";

export { type FileLoad, type LoadFailure, type LoadOptions, type LoadResult, loadInto } from "./load.js";
export { type EngineRunOptions, type EngineRunResult, runRulesInEngine } from "./run.js";
export { COMMON_FIELDS, SCHEMA_VERSION } from "./schema.js";
export { type Engine, EngineError, type EngineTarget, parseTarget } from "./types.js";

export async function openEngine(target: EngineTarget): Promise<Engine> {
  if (target.kind === "duckdb") return DuckDbEngine.open(target.path as string);
  if (!target.nodes?.length) throw new EngineError("clickhouse: no node address");
  return new ClickHouseEngine(target);
}
