/**
 * The allowlist between the rule runner and the result writer: a RunSink that matches every row and
 * alert against the allowlist, forwards what is not suppressed, and keeps (when asked) what is, for
 * `--show-suppressed`.
 */
import type { Alert } from "../correlate/alert.js";
import type { FlatRow } from "../report/results.js";
import { flattenRow } from "../report/results.js";
import type { LoadedRule } from "../rules/loader.js";
import type { RunSink } from "../rules/run.js";
import type { Allowlist, AllowlistEntry, FieldRecord } from "./allowlist.js";

export interface SuppressedResult {
  rule: LoadedRule;
  entry: AllowlistEntry;
  /** The flat row (search rules) or the alert (sequence rules). */
  row?: FlatRow;
  alert?: Alert;
}

export interface SuppressingSinkOptions {
  /** Display zone for `_time` in the flat rows the entries are matched against. */
  tz: string;
  /** Keep the suppressed results (for --show-suppressed); default false (memory stays flat). */
  keep?: boolean;
  /**
   * The full fields of the events behind an alert's evidence, index for index. Without it, entries
   * scoped by event fields (Image, CommandLine ...) can only match alerts through the alert's own fields
   * and the evidence items' summary fields.
   */
  evidenceFieldsOf?: (rule: LoadedRule, alert: Alert) => FieldRecord[] | undefined;
}

export interface SuppressingSink extends RunSink {
  /** Results kept when `keep` was set, in arrival order. */
  readonly suppressed: SuppressedResult[];
  /** Per rule id: results forwarded to the inner sink (the run's rowsPerRule counts them before tuning). */
  readonly reported: Map<string, number>;
  /** Per rule id: results suppressed. */
  readonly suppressedPerRule: Map<string, number>;
}

export function suppressingSink(
  allowlist: Allowlist,
  inner: RunSink,
  opts: SuppressingSinkOptions,
): SuppressingSink {
  const suppressed: SuppressedResult[] = [];
  const reported = new Map<string, number>();
  const suppressedPerRule = new Map<string, number>();
  const bump = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
  return {
    suppressed,
    reported,
    suppressedPerRule,
    row(rule, row, columns) {
      // Matched on the export form of the row (what csv/json show), whatever the output format.
      const flat = flattenRow(rule, row, columns, opts.tz, row.event === undefined);
      const entry = allowlist.matchRow(rule.id, flat);
      if (entry) {
        bump(suppressedPerRule, rule.id);
        if (opts.keep) suppressed.push({ rule, entry, row: flat });
        return;
      }
      bump(reported, rule.id);
      return inner.row(rule, row, columns);
    },
    alert(rule, alert) {
      const entry = allowlist.matchAlert(rule.id, alert, opts.evidenceFieldsOf?.(rule, alert));
      if (entry) {
        bump(suppressedPerRule, rule.id);
        if (opts.keep) suppressed.push({ rule, entry, alert });
        return;
      }
      bump(reported, rule.id);
      return inner.alert(rule, alert);
    },
  };
}

/** One line per suppressed result: the entry, the rule, then the row's fields or the alert's essentials. */
export function formatSuppressedResults(items: readonly SuppressedResult[]): string[] {
  const lines: string[] = [];
  for (const s of items) {
    let what: string;
    if (s.row) {
      const fields = Object.entries(s.row)
        .filter(([k]) => !k.startsWith("_") || k === "_time")
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`);
      const file = typeof s.row._file === "string" ? ` ${s.row._file}#${s.row._record_id ?? ""}` : "";
      what = `${fields.join(" ")}${file}`;
    } else if (s.alert) {
      const a = s.alert;
      what = `${new Date(Math.round(a.first_time * 1000)).toISOString()} ${a.variant} ${a.target_host} <- ${a.source_ip || a.source_host || "-"} ${a.account || "-"} (${a.evidence.length} evidence events)`;
    } else what = "";
    lines.push(`[${s.entry.label}] ${s.rule.name}: ${what}`);
  }
  return lines;
}
