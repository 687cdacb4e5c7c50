/**
 * `outputlookup` (Search Reference, outputlookup): writes the results to a CSV file in the lookups
 * directory when the search ends (append=true adds rows under the existing header, merging new
 * columns), and passes the results on unchanged. An empty result set leaves the file as it is when
 * override_if_empty=false.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import type { OutputlookupCommand } from "../ast.js";
import { fieldNames, getField, type Row } from "../row.js";
import { valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function outputlookupOperator(
  cmd: OutputlookupCommand,
  ctx: CommandContext,
  next: Operator,
): Operator {
  const fail = (m: string) => ctx.src.error(cmd.pos, m);
  if (ctx.lookupsDir === undefined)
    throw fail(`outputlookup '${cmd.table}': no lookups directory configured (--lookups DIR)`);
  if (path.basename(cmd.table) !== cmd.table)
    throw fail(`outputlookup '${cmd.table}': file name must not contain a path`);
  if (!/\.csv$/i.test(cmd.table)) throw fail(`outputlookup '${cmd.table}': only .csv files are written`);
  const file = path.join(ctx.lookupsDir, cmd.table);
  const rows: Row[] = [];
  return {
    push: (row) => {
      if (cmd.max === undefined || rows.length < cmd.max) rows.push(row);
      return next.push(row);
    },
    end: () => {
      const exists = existsSync(file);
      if (rows.length > 0 || (cmd.overrideIfEmpty && (exists || cmd.createEmpty))) {
        let columns: string[] = [];
        let old: string[][] = [];
        if (cmd.append && exists) {
          const records: string[][] = parseCsv(readFileSync(file, "utf8"), {
            relax_column_count: true,
            bom: true,
          });
          columns = records[0] ?? [];
          old = records.slice(1);
        }
        const oldCount = columns.length;
        for (const r of rows)
          for (const n of fieldNames(r)) if (!n.startsWith("_") && !columns.includes(n)) columns.push(n);
        const lines = [columns.map(csvCell).join(",")];
        for (const r of old)
          lines.push(columns.map((_, i) => csvCell(i < oldCount ? (r[i] ?? "") : "")).join(","));
        for (const r of rows)
          lines.push(
            columns
              .map((c) => {
                const v = getField(r, c);
                return csvCell(v === undefined ? "" : valueToStrings(v).join("\n"));
              })
              .join(","),
          );
        const tmp = `${file}.${process.pid}.tmp`;
        try {
          writeFileSync(tmp, `${lines.join("\n")}\n`);
          renameSync(tmp, file);
        } catch (e) {
          throw fail(`outputlookup: cannot write ${file}: ${(e as Error).message}`);
        }
      }
      next.end();
    },
  };
}
