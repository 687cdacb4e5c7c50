/**
 * A saved result (NDJSON, the shape `scan --format ndjson --report-data` writes) of n alerts and m search
 * rows, for the report's scale tests and bench/report/run.ts; with `hostile`, those strings fill the
 * alert, evidence and row fields (and one field name) in turn.
 */
import { writeFileSync } from "node:fs";

/** Write a saved result (ndjson) of n alerts and m rows, with hostile values where `hostile` says. */
export function syntheticResult(file: string, n: number, m: number, hostile?: string[]): void {
  const lines: string[] = [];
  const hosts = ["WKS01", "WKS02", "SRV-APP02", "SRV-FILE03", "SRV-DB04", "DC01"];
  const variants = ["MMC20", "ShellWindows", "ShellBrowserWindow", "Excel-XLL"];
  const sev = ["low", "medium", "high", "critical"];
  const h = (i: number, fallback: string) => (hostile ? hostile[i % hostile.length] : fallback);
  for (let i = 0; i < n; i++) {
    const t = new Date(Date.UTC(2024, 2, 12, 9) + i * 7000).toISOString();
    const target = hosts[i % hosts.length];
    lines.push(
      JSON.stringify({
        variant: h(i, variants[i % variants.length]),
        severity: sev[i % sev.length],
        confidence: "high",
        target_host: h(i + 1, target),
        source_ip: `10.0.${i % 7}.${(i % 200) + 10}`,
        source_host: h(i + 2, ""),
        account: h(i + 3, `CORP\\user${i % 50}`),
        loopback: "false",
        first_time: t,
        last_time: t,
        object: h(i + 4, "MMC20.Application"),
        _rule_id: "r1",
        _rule: h(i + 5, "DCOM Lateral Movement - Remote Activation of a DCOM Server"),
        evidence: [
          {
            _file: h(i + 6, "estate.evtx"),
            _record_id: String(2 * i + 1),
            _offset: String(4096 + i * 800),
            _channel: "Microsoft-Windows-Sysmon/Operational",
            _computer: target,
            _time: t,
            EventCode: "1",
            summary: h(i + 7, "process svchost.exe -> mmc.exe"),
            steps: [h(i + 8, "server_sysmon")],
            fields: {
              EventCode: "1",
              Computer: target,
              Image: "C:\\Windows\\System32\\mmc.exe",
              ProcessId: String(1000 + i),
              ProcessGuid: `{guid-${i}}`,
              CommandLine: h(i + 9, "C:\\Windows\\system32\\mmc.exe -Embedding"),
              ParentImage: h(i + 10, "C:\\Windows\\System32\\svchost.exe"),
              ParentProcessId: "600",
              [h(i + 11, "User")]: h(i + 12, "CORP\\user"),
            },
          },
        ],
        explain: [h(i + 13, "step server_sysmon")],
      }),
    );
  }
  for (let j = 0; j < m; j++) {
    lines.push(
      JSON.stringify({
        _time: new Date(Date.UTC(2024, 2, 12, 9) + j * 700).toISOString(),
        host: hosts[j % hosts.length],
        Image: "C:\\Windows\\System32\\cmd.exe",
        ParentImage: "C:\\Windows\\System32\\mmc.exe",
        CommandLine: h(j, `cmd.exe /c echo ${j}`),
        _rule_id: "seed",
        _rule: "Detect Distributed Component Object Model (seed)",
      }),
    );
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}
