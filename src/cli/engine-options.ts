/** Options shared by `load --into` and `scan/search --engine`: the engine address and credentials. */
import { type EngineTarget, parseTarget } from "../engines/index.js";
import { type ParsedArgs, stringOpt, UsageError } from "./common.js";

export const engineOptionSpecs = {
  cluster: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
} as const;

export const engineOptionHelp: Record<string, string> = {
  cluster:
    "ClickHouse: the cluster (remote_servers) to shard over, by normalized host; list every node in the URL",
  user: "ClickHouse user (default: $CLICKHOUSE_USER, else the server's default user)",
  password: "ClickHouse password (default: $CLICKHOUSE_PASSWORD)",
};

export function engineTargetFromArgs(
  text: string,
  values: ParsedArgs["values"],
  command: string,
  option: string,
): EngineTarget {
  const target = parseTarget(text);
  if (!target)
    throw new UsageError(
      `${command}: ${option}: '${text}' is not duckdb:PATH or clickhouse://HOST:PORT[,HOST:PORT...]/DB`,
    );
  const cluster = stringOpt(values, "cluster");
  if (target.kind === "duckdb") {
    if (cluster !== undefined) throw new UsageError(`${command}: --cluster applies to clickhouse:// only`);
    return target;
  }
  if (cluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster))
    throw new UsageError(`${command}: --cluster: '${cluster}' is not a cluster name`);
  if (cluster === undefined && (target.nodes?.length ?? 0) > 1)
    throw new UsageError(
      `${command}: several ClickHouse nodes given: say which cluster they form (--cluster NAME)`,
    );
  return {
    ...target,
    cluster,
    user: stringOpt(values, "user") ?? process.env.CLICKHOUSE_USER,
    password: stringOpt(values, "password") ?? process.env.CLICKHOUSE_PASSWORD,
  };
}
