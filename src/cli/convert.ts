/**
 * `dcomhunt convert <inputs...> --format ndjson|xml|csv [-o FILE]`: dump the normalized events.
 * ndjson/csv: the Splunk field view (with `_time` as Splunk exports it, `_raw`, and provenance fields
 * `_file`, `_offset`/`_line`, `_record_id`); xml: the event XML (Windows style) in an `<Events>` root.
 * Every output reads back through our own readers to the same events.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { type FieldValue, toSplunkEvent } from "../events/fields.js";
import type { WinEvent } from "../events/model.js";
import { renderEventXml } from "../events/xml.js";
import { newInputStats, readInputs } from "../readers/index.js";
import { csvLine } from "../report/csv.js";
import { formatQuietIssues, formatSummary } from "../report/summary.js";
import { ensureHeapGuard } from "../runtime/heap.js";
import { formatTimeIso } from "../spl/index.js";
import {
  type Command,
  type CommandSpec,
  choiceOpt,
  EXIT_INPUT,
  EXIT_OK,
  helpText,
  openOutput,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";
import { fieldViewFromArgs, fieldViewOptionHelp, fieldViewOptionSpecs } from "./field-options.js";

export const convertSpec: CommandSpec = {
  name: "convert",
  summary: "turn EVTX, XML, JSON or CSV logs into one format (the normalized events)",
  usage: "dcomhunt convert <inputs...> [--format ndjson|xml|csv] [-o FILE]",
  options: {
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
    strict: { type: "boolean" },
    recover: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    ...fieldViewOptionSpecs,
  },
  help: {
    format:
      "ndjson (default): Splunk field view, one JSON object per event; csv: same, one row per event; xml: event XML",
    output: "write to FILE instead of standard output",
    strict: "stop at the first problem with the input",
    recover:
      "EVTX forensics: also read records that are not live (stale in a chunk's slack, torn chunks), flagged _recovered",
    quiet: "no summary on standard error",
    ...fieldViewOptionHelp,
  },
  details:
    "Inputs: files, folders (walked recursively), .gz and .zip archives, '-' for standard input.\n" +
    "Formats are detected from content. Exit codes: 0 done, 2 usage error, 3 some input could not be read,\n4 output could not be written.",
};

/** Characters of output gathered before one write to the stream. */

/** Provenance fields appended to every converted event (underscore: Splunk's internal-field convention). */
export function provenanceFields(ev: WinEvent): Record<string, string> {
  const p = ev.provenance;
  const out: Record<string, string> = { _file: p.file };
  if (p.offset !== undefined) out._offset = String(p.offset);
  if (p.line !== undefined) out._line = String(p.line);
  if (ev.system.eventRecordID !== undefined) out._record_id = ev.system.eventRecordID;
  return out;
}

export const convertCommand: Command = async (argv) => {
  const args = parseCommandArgs(convertSpec, argv);
  if (!args) {
    process.stdout.write(helpText(convertSpec));
    return EXIT_OK;
  }
  ensureHeapGuard();
  const format = choiceOpt(args.values, "format", ["ndjson", "xml", "csv"] as const, "ndjson", "convert");
  const view = fieldViewFromArgs(args.values, "convert");
  if (args.positionals.length === 0)
    throw new UsageError("convert: no input given (a file, a folder, or - for stdin)");
  const started = performance.now();
  const stats = newInputStats();
  const events = readInputs(args.positionals, {
    stats,
    strict: args.values.strict === true,
    recover: args.values.recover === true,
  });
  const out = openOutput(stringOpt(args.values, "output"));

  // The output batches writes and returns a promise when the stream is full (a slow reader of
  // stdout): awaiting it keeps memory bounded whatever the input size.
  if (format === "xml") {
    out.write('<?xml version="1.0" encoding="utf-8"?>\n<Events>\n');
    for await (const ev of events) await out.write(`${renderEventXml(ev)}\n`);
    out.write("</Events>\n");
  } else {
    const rowOf = (ev: WinEvent): Record<string, FieldValue> => {
      const se = toSplunkEvent(ev, view);
      const row: Record<string, FieldValue> = {};
      if (se.time !== undefined) row._time = formatTimeIso(se.time, view.tz);
      for (const [k, v] of se.fields) row[k] = v;
      row._raw = se.raw();
      Object.assign(row, provenanceFields(ev));
      return row;
    };
    if (format === "ndjson") {
      for await (const ev of events) await out.write(`${JSON.stringify(rowOf(ev))}\n`);
    } else {
      // CSV needs its header first: spool rows to a temporary NDJSON file while collecting columns
      // (memory stays bounded), then write header and rows.
      const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-csv-"));
      try {
        const spool = path.join(dir, "rows.ndjson");
        const ws = createWriteStream(spool);
        const columns = new Set<string>(["_time"]);
        for await (const ev of events) {
          const row = rowOf(ev);
          for (const k of Object.keys(row)) columns.add(k);
          if (!ws.write(`${JSON.stringify(row)}\n`))
            await new Promise<void>((r) => ws.once("drain", () => r()));
        }
        await new Promise<void>((resolve, reject) =>
          ws.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
        const header = [...columns];
        out.write(csvLine(header));
        const rl = createInterface({ input: createReadStream(spool), crlfDelay: Number.POSITIVE_INFINITY });
        for await (const line of rl) {
          const row = JSON.parse(line) as Record<string, FieldValue>;
          await out.write(csvLine(header.map((c) => row[c])));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  await out.close();
  if (args.values.quiet === true) process.stderr.write(formatQuietIssues(stats.issues, stats.issueCounts));
  else {
    process.stderr.write(
      formatSummary({
        files: stats.files,
        bytes: stats.bytes,
        records: stats.records,
        skipped: stats.skipped,
        issues: stats.issues,
        issueCounts: stats.issueCounts,
        seconds: (performance.now() - started) / 1000,
        recovered: stats.recovered,
      }),
    );
  }
  return stats.issues.some((i) => i.lost !== "none") ? EXIT_INPUT : EXIT_OK;
};
