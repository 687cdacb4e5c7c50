/**
 * A ClickHouse 18.16 cluster on loopback for tests and benchmarks: N nodes (one shard each), every
 * port picked free at run time, data in a temp dir, each server started in the foreground and stopped
 * by its PID. No ZooKeeper: DDL runs node by node (../shared/reference/sql-scale-out.md §1.1).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const CLICKHOUSE_SERVER = ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"].find((p) =>
  existsSync(p),
);

export interface ChNode {
  http: number;
  tcp: number;
  interserver: number;
  dir: string;
  proc?: ChildProcess;
}

export interface ChCluster {
  name: string;
  dir: string;
  nodes: ChNode[];
  /** `clickhouse://127.0.0.1:H1,127.0.0.1:H2,.../DB` */
  url(db: string): string;
  kill(i: number): void;
  start(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

function nodeConfig(name: string, node: ChNode, all: ChNode[], i: number): string {
  const shards = all
    .map(
      (n) =>
        `<shard><internal_replication>false</internal_replication><replica><host>127.0.0.1</host><port>${n.tcp}</port></replica></shard>`,
    )
    .join("");
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${node.dir}/server.log</log><errorlog>${node.dir}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${node.http}</http_port><tcp_port>${node.tcp}</tcp_port>
  <interserver_http_port>${node.interserver}</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>64</max_connections><keep_alive_timeout>3</keep_alive_timeout><max_concurrent_queries>20</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size><mark_cache_size>67108864</mark_cache_size>
  <path>${node.dir}/data/</path><tmp_path>${node.dir}/tmp/</tmp_path>
  <user_files_path>${node.dir}/user_files/</user_files_path><format_schema_path>${node.dir}/format_schemas/</format_schema_path>
  <users_config>${path.dirname(node.dir)}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone><mlock_executable>false</mlock_executable>
  <remote_servers><${name}>${shards}</${name}></remote_servers>
  <macros><shard>${String(i + 1).padStart(2, "0")}</shard><replica>n${i + 1}</replica></macros>
</yandex>
`;
}

async function waitUp(port: number, proc: ChildProcess, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`clickhouse-server exited with code ${proc.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "SELECT 1" });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clickhouse-server did not answer on 127.0.0.1:${port} within ${seconds} s`);
}

/** Start `n` nodes forming cluster `name`. Throws when the server binary is absent. */
export async function startCluster(n: number, name = "dcom"): Promise<ChCluster> {
  if (!CLICKHOUSE_SERVER) throw new Error("clickhouse-server absent (apt-get install -y clickhouse-server)");
  const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-chcluster-"));
  writeFileSync(path.join(dir, "users.xml"), USERS);
  const nodes: ChNode[] = [];
  const used = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < n; i++) {
    const nodeDir = path.join(dir, `n${i + 1}`);
    for (const sub of ["data", "tmp", "user_files", "format_schemas"])
      mkdirSync(path.join(nodeDir, sub), { recursive: true });
    nodes.push({ http: await port(), tcp: await port(), interserver: await port(), dir: nodeDir });
  }
  nodes.forEach((node, i) => {
    writeFileSync(path.join(node.dir, "config.xml"), nodeConfig(name, node, nodes, i));
  });
  const start = async (i: number) => {
    const node = nodes[i];
    node.proc = spawn(CLICKHOUSE_SERVER, [`--config-file=${node.dir}/config.xml`], {
      stdio: ["ignore", "ignore", "ignore"],
      cwd: node.dir,
    });
    await waitUp(node.http, node.proc, 60);
  };
  const cluster: ChCluster = {
    name,
    dir,
    nodes,
    url: (db) => `clickhouse://${nodes.map((x) => `127.0.0.1:${x.http}`).join(",")}/${db}`,
    kill: (i) => {
      const p = nodes[i].proc;
      if (p?.pid && p.exitCode === null) process.kill(p.pid, "SIGKILL");
    },
    start,
    stop: async () => {
      await Promise.all(
        nodes.map(async (node) => {
          const p = node.proc;
          if (!p?.pid || p.exitCode !== null) return;
          const exited = new Promise((r) => p.once("exit", r));
          process.kill(p.pid, "SIGTERM");
          const t = setTimeout(() => {
            if (p.exitCode === null && p.pid) process.kill(p.pid, "SIGKILL");
          }, 5000);
          await exited;
          clearTimeout(t);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((_, i) => start(i)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
