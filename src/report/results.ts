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
import { alertToJson, formatAlertsTable } from "../correlate/index.js";
import type { LoadedRule } from "../rules/loader.js";
import type { RunSink } from "../rules/run.js";
import { type ResultRow, rowToStrings } from "../spl/index.js";
import { csvLine } from "./csv.js";
import { htmlPage, type ReportApp } from "./html/page.js";
import type { Output } from "./output.js";
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
  /** table: fit lines to this many columns (a terminal's width), cutting the widest columns. */
  width?: number;
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
/** Rows a table section holds to size its columns; later rows are spooled to disk and cut to fit. */
export const TABLE_SAMPLE_ROWS = 1000;
const MIN_COLUMN = 6;

function cell(value: string | string[] | undefined, full: boolean): string {
  const text = value === undefined ? "" : Array.isArray(value) ? value.join(" | ") : value;
  const oneLine = text.replace(/\r?\n/g, " ");
  return !full && oneLine.length > TABLE_CELL_MAX ? `${oneLine.slice(0, TABLE_CELL_MAX - 1)}…` : oneLine;
}

/** A section title that fits: the rule name is cut, the id and count stay. */
function fitTitle(title: string, width: number): string {
  if (title.length <= width) return title;
  const tail = title.slice(title.lastIndexOf(" ["));
  const head = title.slice(0, title.length - tail.length);
  return head.length > 8 && tail.length < width - 8
    ? cut(head, width - tail.length) + tail
    : cut(title, width);
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/**
 * Column widths from the header and a sample of rows (never a spread over all cells). With `maxWidth`
 * (a terminal's columns) the widest columns shrink until a line fits, down to a small minimum.
 */
export function columnWidths(columns: string[], sample: string[][], maxWidth?: number): number[] {
  const widths = columns.map((c) => c.length);
  for (const r of sample)
    for (let i = 0; i < widths.length; i++) if ((r[i]?.length ?? 0) > widths[i]) widths[i] = r[i].length;
  if (maxWidth !== undefined && maxWidth > 0) {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    while (total() > maxWidth) {
      let widest = 0;
      for (let i = 1; i < widths.length; i++) if (widths[i] > widths[widest]) widest = i;
      if (widths[widest] <= MIN_COLUMN) break;
      widths[widest]--;
    }
  }
  return widths;
}

function tableLine(values: string[], widths: number[], fit: boolean): string {
  return values
    .map((v, i) => (fit ? cut(v, widths[i]) : v).padEnd(widths[i]))
    .join("  ")
    .trimEnd();
}

/** A fixed-width text table (small tables: rules list, validate). */
export function formatTextTable(
  columns: string[],
  rows: FlatRow[],
  full: boolean,
  maxWidth?: number,
): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c], full)));
  const widths = columnWidths(columns, cells, full ? undefined : maxWidth);
  const fit = maxWidth !== undefined && !full;
  const out = [
    tableLine(columns, widths, fit),
    tableLine(
      widths.map((w) => "-".repeat(w)),
      widths,
      false,
    ),
  ];
  for (const r of cells) out.push(tableLine(r, widths, fit));
  return `${out.join("\n")}\n`;
}

/** Lines appended to a temporary file and read back in order: memory stays flat in the row count. */
class Spool {
  private stream: WriteStream | undefined;
  private file: string | undefined;
  constructor(private readonly dirOf: () => string) {}
  async append(line: string): Promise<void> {
    if (!this.stream) {
      this.file = path.join(this.dirOf(), `${Math.random().toString(36).slice(2)}.spool`);
      this.stream = createWriteStream(this.file);
    }
    if (!this.stream.write(`${line}\n`))
      await new Promise<void>((r) => this.stream!.once("drain", () => r()));
  }
  async *lines(): AsyncGenerator<string> {
    if (!this.stream || !this.file) return;
    const ws = this.stream;
    await new Promise<void>((resolve, reject) =>
      ws.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const rl = createInterface({ input: createReadStream(this.file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) yield line;
  }
}

interface RuleSection {
  rule: LoadedRule;
  columns: string[] | undefined;
  /** Displayed columns, fixed by the first row. */
  shown: string[] | undefined;
  sample: string[][];
  count: number;
  rest: Spool;
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
  let spoolDir: string | undefined;
  const dirOf = () => {
    spoolDir ??= mkdtempSync(path.join(tmpdir(), "dcomhunt-results-"));
    return spoolDir;
  };
  const removeSpool = () => {
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    spoolDir = undefined;
  };

  if (format === "table") {
    const full = opts.full === true;
    const sections = new Map<string, RuleSection>(
      rules.map((r) => [
        r.id,
        { rule: r, columns: undefined, shown: undefined, sample: [], count: 0, rest: new Spool(dirOf) },
      ]),
    );
    return {
      async row(rule, row, columns) {
        const s = sections.get(rule.id)!;
        const flat = flattenRow(rule, row, columns, opts.tz, isTransforming(rule, row), "table");
        if (!s.shown) {
          s.columns = columnsOf(row, columns);
          const cols = s.columns.filter((c) => !c.startsWith("_") || c === "_time" || c === "_raw");
          s.shown = cols.length ? cols : Object.keys(flat);
        }
        const cells = s.shown.map((c) => cell(flat[c], full));
        s.count++;
        if (s.sample.length < TABLE_SAMPLE_ROWS) s.sample.push(cells);
        else await s.rest.append(JSON.stringify(cells));
      },
      async alert(rule, alert) {
        const s = sections.get(rule.id)!;
        s.count++;
        let text = formatAlertsTable([alert], { explain: opts.explain });
        // On a terminal each line fits its width (--full shows them whole).
        if (!full && opts.width)
          text = text
            .split("\n")
            .map((l) => cut(l, opts.width as number))
            .join("\n");
        await s.rest.append(JSON.stringify(text));
      },
      async finish() {
        try {
          for (const s of sections.values()) {
            const n = s.count;
            const unit = s.rule.sequence ? "alert" : "row";
            const title = `== ${s.rule.name} [${s.rule.id}]: ${n} ${unit}${n === 1 ? "" : "s"}`;
            await out.write(`${!full && opts.width ? fitTitle(title, opts.width) : title}\n`);
            if (s.rule.sequence) {
              for await (const line of s.rest.lines()) await out.write(JSON.parse(line) as string);
            } else if (s.shown && n) {
              const widths = columnWidths(s.shown, s.sample, full ? undefined : opts.width);
              const fit = !full;
              await out.write(`${tableLine(s.shown, widths, fit)}\n`);
              await out.write(
                `${tableLine(
                  widths.map((w) => "-".repeat(w)),
                  widths,
                  false,
                )}\n`,
              );
              for (const r of s.sample) await out.write(`${tableLine(r, widths, fit)}\n`);
              s.sample = [];
              for await (const line of s.rest.lines())
                await out.write(`${tableLine(JSON.parse(line) as string[], widths, fit)}\n`);
            }
            await out.write("\n");
          }
        } finally {
          removeSpool();
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
      if (page) return out.write(page.element(obj));
      if (format === "ndjson") return out.write(`${JSON.stringify(obj)}\n`);
      const text = `${first ? "[\n" : ",\n"}${JSON.stringify(obj)}`;
      first = false;
      return out.write(text);
    };
    return {
      async row(rule, row, columns) {
        await emit(flattenRow(rule, row, columns, opts.tz, isTransforming(rule, row)));
      },
      async alert(_rule, alert) {
        await emit(alertToJson(alert, { explain: opts.explain, details }));
      },
      async finish() {
        if (opts.runRecord) await emit({ [RUN_RECORD_KEY]: await opts.runRecord() });
        if (page) await out.write(page.close());
        else if (format === "json") await out.write(first ? "[]\n" : "\n]\n");
      },
    };
  }

  // CSV: the header must come first but columns are only known as rows arrive, so rows are spooled
  // to a temporary file (bounded memory) and written with the union of columns at the end.
  const spool = new Spool(dirOf);
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
    await spool.append(JSON.stringify(obj));
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
      try {
        const header = [...columns, ...PROVENANCE_FIELDS];
        await out.write(csvLine(header));
        for await (const line of spool.lines()) {
          const obj = JSON.parse(line) as FlatRow;
          await out.write(csvLine(header.map((h) => obj[h])));
        }
      } finally {
        removeSpool();
      }
    },
  };
}
