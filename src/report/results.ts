/**
 * Output formats for rule results: `table` (Splunk's results table, one section per rule), `csv`,
 * `json` (one array) and `ndjson`. Rows are flat objects: the rule's columns (string values, arrays for
 * multivalue), then provenance fields with fixed names. Rows of transforming searches (stats ...) carry
 * `_rule_id`/`_rule` only. Sequence-rule alerts have their own fixed fields (src/correlate/alert.ts).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Output } from "../cli/common.js";
import { type Alert, alertToJson, formatAlertsTable } from "../correlate/index.js";
import type { LoadedRule } from "../rules/loader.js";
import type { RunSink } from "../rules/run.js";
import { type ResultRow, rowToStrings } from "../spl/index.js";
import { csvLine } from "./csv.js";
import { htmlPage, type ReportApp } from "./html/page.js";
import { RUN_RECORD_KEY, type RunRecord } from "./run-record.js";

export type ResultFormat = "table" | "csv" | "json" | "ndjson" | "html";

export const PROVENANCE_FIELDS = [
  "_rule_id",
  "_rule",
  "_file",
  "_offset",
  "_record_id",
  "_channel",
  "_computer",
] as const;

export type FlatRow = Record<string, string | string[]>;

export interface ResultWriter extends RunSink {
  /** Write what is buffered and the closing bits; call once at the end. */
  finish(): Promise<void>;
}

export interface ResultWriterOptions {
  tz: string;
  /** table: show long values whole instead of cutting them. */
  full?: boolean;
  /** table/json: include the explanation of each alert. */
  explain?: boolean;
  /** json/ndjson: evidence items with their steps and fields (always in html). */
  details?: boolean;
  /** json/ndjson/html: called at the end; its record closes the result as `{"_dcomhunt_run": ...}`. */
  runRecord?: () => Promise<RunRecord>;
  /** html: the built front-end (src/report/html/page.ts loadReportApp). */
  app?: ReportApp;
}

function columnsOf(row: ResultRow, columns: string[] | undefined): string[] {
  return columns ?? row.columns ?? [...row.fields.keys()];
}

/** A result row as a flat object with provenance. */
export function flattenRow(
  rule: LoadedRule,
  row: ResultRow,
  columns: string[] | undefined,
  tz: string,
  transforming: boolean,
  style: "table" | "export" = "export",
): FlatRow {
  const cols = columnsOf(row, columns);
  const flat: FlatRow = { ...rowToStrings(row, cols, style, tz) };
  flat._rule_id = rule.id;
  flat._rule = rule.name;
  const ev = row.event;
  if (ev && !transforming) {
    const p = ev.provenance;
    flat._file = p.file;
    flat._offset = String(p.offset ?? p.line ?? "");
    flat._record_id = ev.system.eventRecordID ?? "";
    flat._channel = ev.system.channel ?? "";
    flat._computer = ev.system.computer ?? "";
  }
  return flat;
}

const TABLE_CELL_MAX = 60;

function cell(value: string | string[] | undefined, full: boolean): string {
  const text = value === undefined ? "" : Array.isArray(value) ? value.join(" | ") : value;
  const oneLine = text.replace(/\r?\n/g, " ");
  return !full && oneLine.length > TABLE_CELL_MAX ? `${oneLine.slice(0, TABLE_CELL_MAX - 1)}…` : oneLine;
}

/** A fixed-width text table. */
export function formatTextTable(columns: string[], rows: FlatRow[], full: boolean): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c], full)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [line(columns), line(widths.map((w) => "-".repeat(w)))];
  for (const r of cells) out.push(line(r));
  return `${out.join("\n")}\n`;
}

interface RuleSection {
  rule: LoadedRule;
  columns: string[] | undefined;
  rows: FlatRow[];
  alerts: Alert[];
}

export function createResultWriter(
  format: ResultFormat,
  out: Output,
  rules: LoadedRule[],
  opts: ResultWriterOptions,
): ResultWriter {
  const transformingOf = new Map<string, boolean>();
  const isTransforming = (rule: LoadedRule, row: ResultRow) => {
    // A row that is not one event (stats, top ...) has no event behind it.
    const t = row.event === undefined;
    transformingOf.set(rule.id, t);
    return t;
  };

  if (format === "table") {
    const sections = new Map<string, RuleSection>(
      rules.map((r) => [r.id, { rule: r, columns: undefined, rows: [], alerts: [] }]),
    );
    return {
      row(rule, row, columns) {
        const s = sections.get(rule.id)!;
        s.columns ??= columnsOf(row, columns);
        s.rows.push(flattenRow(rule, row, columns, opts.tz, isTransforming(rule, row), "table"));
      },
      alert(rule, alert) {
        sections.get(rule.id)!.alerts.push(alert);
      },
      async finish() {
        for (const s of sections.values()) {
          const n = s.rule.sequence ? s.alerts.length : s.rows.length;
          const unit = s.rule.sequence ? "alert" : "row";
          out.write(`== ${s.rule.name} [${s.rule.id}]: ${n} ${unit}${n === 1 ? "" : "s"}\n`);
          if (s.rule.sequence) {
            if (s.alerts.length) out.write(formatAlertsTable(s.alerts, { explain: opts.explain }));
          } else if (s.rows.length) {
            const cols = (s.columns ?? []).filter((c) => !c.startsWith("_") || c === "_time" || c === "_raw");
            out.write(
              formatTextTable(cols.length ? cols : Object.keys(s.rows[0]), s.rows, opts.full === true),
            );
          }
          out.write("\n");
        }
      },
    };
  }

  if (format === "ndjson" || format === "json" || format === "html") {
    let first = true;
    // html: the json elements inside the page (src/report/html/page.ts).
    const page = format === "html" ? htmlPage(opts.app!) : undefined;
    if (page) out.write(page.open());
    const details = opts.details === true || page !== undefined;
    const emit = (obj: Record<string, unknown>) => {
      if (page) out.write(page.element(obj));
      else if (format === "ndjson") out.write(`${JSON.stringify(obj)}\n`);
      else {
        out.write(`${first ? "[\n" : ",\n"}${JSON.stringify(obj)}`);
        first = false;
      }
    };
    return {
      row(rule, row, columns) {
        emit(flattenRow(rule, row, columns, opts.tz, isTransforming(rule, row)));
      },
      alert(_rule, alert) {
        emit(alertToJson(alert, { explain: opts.explain, details }));
      },
      async finish() {
        if (opts.runRecord) emit({ [RUN_RECORD_KEY]: await opts.runRecord() });
        if (page) out.write(page.close());
        else if (format === "json") out.write(first ? "[]\n" : "\n]\n");
      },
    };
  }

  // CSV: the header must come first but columns are only known as rows arrive, so rows are spooled
  // to a temporary file (bounded memory) and written with the union of columns at the end.
  const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-results-"));
  const spoolPath = path.join(dir, "rows.ndjson");
  const spool: WriteStream = createWriteStream(spoolPath);
  const columns: string[] = [];
  const known = new Set<string>();
  const addColumns = (names: string[]) => {
    for (const n of names) {
      if (!known.has(n)) {
        known.add(n);
        columns.push(n);
      }
    }
  };
  const write = async (obj: Record<string, unknown>) => {
    addColumns(Object.keys(obj).filter((k) => !(PROVENANCE_FIELDS as readonly string[]).includes(k)));
    if (!spool.write(`${JSON.stringify(obj)}\n`))
      await new Promise<void>((r) => spool.once("drain", () => r()));
  };
  return {
    async row(rule, row, cols) {
      await write(flattenRow(rule, row, cols, opts.tz, isTransforming(rule, row)));
    },
    async alert(_rule, alert) {
      const json = alertToJson(alert, { explain: opts.explain });
      await write({ ...json, evidence: JSON.stringify(json.evidence) });
    },
    async finish() {
      await new Promise<void>((resolve, reject) =>
        spool.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
      try {
        const header = [...columns, ...PROVENANCE_FIELDS];
        out.write(csvLine(header));
        const rl = createInterface({
          input: createReadStream(spoolPath),
          crlfDelay: Number.POSITIVE_INFINITY,
        });
        for await (const line of rl) {
          const obj = JSON.parse(line) as FlatRow;
          out.write(csvLine(header.map((h) => obj[h])));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
