/** The end-of-run summary on stderr: what was read, what was skipped and why, what was found. */
import type { ReadIssue } from "../events/model.js";

export interface RunSummary {
  files: number;
  bytes: number;
  records: number;
  skipped: number;
  duplicates?: number;
  issues: ReadIssue[];
  issueCounts: Map<string, number>;
  seconds: number;
  /** Records were filtered by a push-down predicate before being counted. */
  filtered?: boolean;
  /** Extra lines (rows per rule, suppressed rows ...). */
  lines?: string[];
  /** `--recover`: records that are not live added, by kind (counted in `records` too). */
  recovered?: Map<string, number>;
}

const MAX_ISSUES_SHOWN = 20;

export function formatIssue(issue: ReadIssue): string {
  const lost =
    issue.notLive !== undefined
      ? `${issue.notLive} record(s) not live, left out`
      : issue.lost === "none"
        ? "still read"
        : issue.lost === "rest"
          ? "rest of the file skipped"
          : `${issue.lost} skipped`;
  const n = issue.skippedRecords ? `, ${issue.skippedRecords} record(s)` : "";
  return `${issue.file}: ${issue.location}: ${issue.reason} (${lost}${n})`;
}

export function formatSummary(s: RunSummary): string {
  const mb = s.bytes / 1048576;
  const rate = s.seconds > 0 ? (mb / s.seconds).toFixed(1) : "-";
  const out: string[] = [];
  out.push(
    `dcomhunt: ${s.files} file(s), ${mb.toFixed(1)} MB in ${s.seconds.toFixed(2)} s (${rate} MB/s): ` +
      `${s.records} record(s) ${s.filtered ? "passed the push-down filter" : "read"}, ${s.skipped} skipped` +
      (s.duplicates !== undefined ? `, ${s.duplicates} duplicate(s) dropped` : ""),
  );
  if (s.recovered?.size) {
    const total = [...s.recovered.values()].reduce((a, b) => a + b, 0);
    const kinds = [...s.recovered].map(([k, n]) => `${n} ${k}`).join(", ");
    out.push(`recovered (--recover, flagged _recovered): ${total} record(s) that are not live: ${kinds}`);
  }
  if (s.issueCounts.size) {
    out.push("input problems:");
    for (const [reason, count] of [...s.issueCounts].sort((a, b) => b[1] - a[1]))
      out.push(`  ${count} x ${reason}`);
    for (const issue of s.issues.slice(0, MAX_ISSUES_SHOWN)) out.push(`  ${formatIssue(issue)}`);
    if (s.issues.length > MAX_ISSUES_SHOWN) out.push(`  ... ${s.issues.length - MAX_ISSUES_SHOWN} more`);
  }
  for (const l of s.lines ?? []) out.push(l);
  return `${out.join("\n")}\n`;
}

/**
 * What `-q` still shows: input that could not be read (quiet hides the summary, never a loss). Empty
 * when nothing was lost.
 */
export function formatQuietIssues(issues: ReadIssue[], issueCounts: Map<string, number>): string {
  const lost = issues.filter((i) => i.lost !== "none");
  if (!lost.length) return "";
  const total = [...issueCounts.values()].reduce((a, b) => a + b, 0);
  const out = lost.slice(0, MAX_ISSUES_SHOWN).map((i) => `dcomhunt: ${formatIssue(i)}`);
  if (total > out.length) out.push(`dcomhunt: ... ${total - out.length} more input problem(s)`);
  return `${out.join("\n")}\n`;
}
