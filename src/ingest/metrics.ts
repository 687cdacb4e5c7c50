/**
 * Counters, gauges and one latency histogram of `serve`, rendered in the Prometheus text exposition
 * format (version 0.0.4) for `GET /metrics`.
 */

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function labelKey(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();
  private readonly latencyCounts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  private latencySum = 0;
  private latencyCount = 0;
  /** Recent latencies (seconds) for percentiles in benchmarks. */
  private readonly recent: number[] = [];

  counter(name: string, help: string): void {
    if (!this.families.has(name)) this.families.set(name, { help, type: "counter", values: new Map() });
  }

  inc(name: string, by = 1, labels: Labels = {}): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric ${name} not declared`);
    const key = labelKey(labels);
    const v = f.values.get(key);
    if (v) v.value += by;
    else f.values.set(key, { labels, value: by });
  }

  get(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** One alert's latency: from the request that carried its event to the alert being durable. */
  observeLatency(seconds: number): void {
    this.latencySum += seconds;
    this.latencyCount++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= LATENCY_BUCKETS[i]) this.latencyCounts[i]++;
    this.recent.push(seconds);
    if (this.recent.length > 100000) this.recent.splice(0, 50000);
  }

  latencyQuantile(q: number): number | undefined {
    if (this.recent.length === 0) return undefined;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  render(): string {
    const out: string[] = [];
    const mem = process.memoryUsage();
    for (const [name, help, value] of [
      ["dcomhunt_process_resident_memory_bytes", "Resident set size", mem.rss],
      ["dcomhunt_process_heap_used_bytes", "V8 heap in use", mem.heapUsed],
      ["dcomhunt_process_heap_total_bytes", "V8 heap reserved", mem.heapTotal],
      ["dcomhunt_process_external_memory_bytes", "Memory outside the V8 heap (buffers)", mem.external],
    ] as const)
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.values.size === 0) out.push(`${name} 0`);
      for (const { labels, value } of f.values.values()) {
        const l = labelKey(labels);
        out.push(`${name}${l ? `{${l}}` : ""} ${value}`);
      }
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    }
    const h = "dcomhunt_alert_latency_seconds";
    out.push(
      `# HELP ${h} From the HEC request carrying an event to its alert being durable`,
      `# TYPE ${h} histogram`,
    );
    LATENCY_BUCKETS.forEach((b, i) => {
      out.push(`${h}_bucket{le="${b}"} ${this.latencyCounts[i]}`);
    });
    out.push(
      `${h}_bucket{le="+Inf"} ${this.latencyCount}`,
      `${h}_sum ${this.latencySum}`,
      `${h}_count ${this.latencyCount}`,
    );
    return `${out.join("\n")}\n`;
  }
}
