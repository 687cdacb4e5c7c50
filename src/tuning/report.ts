/** Run-summary lines of an allowlist: what each entry suppressed, what expired, what went stale. */
import type { AllowlistEntry, AllowlistReport } from "./allowlist.js";

function where(e: AllowlistEntry): string {
  return `${e.file}:${e.line}:${e.col}`;
}

/** The reason as one short line: its first sentence, at most 80 characters. */
function short(reason: string): string {
  const first = reason.replace(/\s+/g, " ").split(/(?<=\.) /)[0];
  return first.length > 80 ? `${first.slice(0, 79)}…` : first;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Lines for the run summary (no trailing newlines), e.g.
 * ```
 * allowlist: 3 results suppressed by 3 entries
 *   suppressed      2  finance-close-export: Monthly close macro copies its export (allowlist.yml:4:5)
 *   expired 2026-01-31  #4: old SCCM health check (allowlist.yml:30:5): no longer suppresses; matched 1 result
 *   stale  #5: pilot monitoring agent (allowlist.yml:38:5): matched nothing in this run
 * ```
 */
export function formatAllowlistReport(r: AllowlistReport): string[] {
  const total = r.suppressed.reduce((n, s) => n + s.count, 0);
  const lines = [
    `allowlist: ${plural(total, "result")} suppressed by ${plural(r.suppressed.length, "entry").replace(/entrys$/, "entries")}`,
  ];
  const width = Math.max(1, ...r.suppressed.map((s) => String(s.count).length));
  for (const s of r.suppressed) {
    lines.push(
      `  suppressed ${String(s.count).padStart(width)}  ${s.entry.label}: ${short(s.entry.reason)} (${where(s.entry)})`,
    );
  }
  const expiredMatches = new Map((r.expiredMatches ?? []).map((m) => [m.entry, m.count]));
  for (const e of r.expired) {
    const n = expiredMatches.get(e) ?? 0;
    lines.push(
      `  expired ${e.expires}  ${e.label}: ${short(e.reason)} (${where(e)}): no longer suppresses` +
        (n > 0 ? `; matched ${plural(n, "result")}, now reported` : ""),
    );
  }
  for (const e of r.stale) {
    lines.push(`  stale  ${e.label}: ${short(e.reason)} (${where(e)}): matched nothing in this run`);
  }
  return lines;
}
