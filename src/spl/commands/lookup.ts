/**
 * lookup and inputlookup over CSV files in the lookups directory.
 *
 * A table name is resolved through `transforms.conf` in that directory when it has a stanza for it
 * (Splunk's lookup definitions: `filename`, `match_type = WILDCARD(field), ...`,
 * `case_sensitive_match = false`, `max_matches`, `default_match`), else as the file `<name>` or
 * `<name>.csv`. A security_content lookup definition `<name>.yml` in the same folder (`filename`,
 * `match_type` as a string or a list, `case_sensitive_match`, `max_matches`, `default_match`) is read
 * the same way when transforms.conf has no stanza. Without a definition matching is exact and case-sensitive (Splunk's default), and the
 * first matching row (in file order) wins.
 *
 * OUTPUT overwrites the output fields; OUTPUTNEW writes only fields the result lacks. Without an output
 * clause every column except the match columns is output. A result with no match keeps its fields
 * unless the definition has `default_match` (decision D-lookup-nomatch).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { parse as parseYaml } from "yaml";
import type { InputlookupCommand, LookupCommand } from "../ast.js";
import { getField, type Row } from "../row.js";
import { compileSearchExpr } from "../search-expr.js";
import type { SplScalar, SplValue } from "../values.js";
import { valueToStrings } from "../values.js";
import { compileWildcard } from "../wildcard.js";
import { type CommandContext, type Operator, pushAll } from "./operator.js";

export interface LookupTable {
  file: string;
  columns: string[];
  rows: Record<string, string>[];
  wildcardFields: Set<string>;
  caseSensitive: boolean;
  maxMatches: number;
  defaultMatch: string | undefined;
}

function parseTransforms(file: string): Map<string, Map<string, string>> {
  const stanzas = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(line)) continue;
    const st = /^\s*\[(.+)\]\s*$/.exec(line);
    if (st) {
      current = new Map();
      stanzas.set(st[1].trim(), current);
      continue;
    }
    const kv = /^\s*([A-Za-z_.]+)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current.set(kv[1], kv[2].trim());
  }
  return stanzas;
}

/** security_content's `lookups/<name>.yml` as transforms.conf keys. */
function yamlDefinition(
  dir: string,
  name: string,
  fail: (m: string) => Error,
): Map<string, string> | undefined {
  if (path.basename(name) !== name) return undefined;
  const file = path.join(dir, `${name}.yml`);
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(`lookup definition ${file}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  const def = new Map<string, string>();
  def.set("filename", typeof d.filename === "string" ? d.filename : `${name}.csv`);
  const mt = Array.isArray(d.match_type) ? d.match_type.map(String).join(", ") : d.match_type;
  if (typeof mt === "string") def.set("match_type", mt);
  for (const k of ["case_sensitive_match", "max_matches", "default_match"])
    if (d[k] !== undefined && d[k] !== null) def.set(k, String(d[k]));
  return def;
}

export function loadLookupTable(
  name: string,
  dir: string | undefined,
  fail: (m: string) => Error,
): LookupTable {
  if (dir === undefined) throw fail(`lookup '${name}': no lookups directory configured`);
  const transformsFile = path.join(dir, "transforms.conf");
  const def =
    (existsSync(transformsFile) ? parseTransforms(transformsFile).get(name) : undefined) ??
    yamlDefinition(dir, name, fail);
  const fileName = def?.get("filename") ?? name;
  if (path.basename(fileName) !== fileName) throw fail(`lookup '${name}': file name must not contain a path`);
  const candidates = [path.join(dir, fileName), path.join(dir, `${fileName}.csv`)];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined)
    throw fail(
      `lookup table '${name}' not found in ${dir} (looked for ${candidates.map((c) => path.basename(c)).join(", ")})`,
    );
  let records: string[][];
  try {
    records = parseCsv(readFileSync(file, "utf8"), {
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    });
  } catch (e) {
    throw fail(`lookup table ${file}: ${(e as Error).message}`);
  }
  const columns = records[0] ?? [];
  const rows = records.slice(1).map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ""])));
  const wildcardFields = new Set<string>();
  for (const m of (def?.get("match_type") ?? "").matchAll(/WILDCARD\(([^)]+)\)/gi))
    wildcardFields.add(m[1].trim());
  if (/CIDR\(/i.test(def?.get("match_type") ?? ""))
    throw fail(`lookup '${name}': match_type CIDR() is not supported`);
  const caseSensitive = !["false", "0", "f"].includes(
    (def?.get("case_sensitive_match") ?? "true").toLowerCase(),
  );
  const maxMatches = Number(def?.get("max_matches") ?? "1") || 1;
  return {
    file,
    columns,
    rows,
    wildcardFields,
    caseSensitive,
    maxMatches,
    defaultMatch: def?.get("default_match"),
  };
}

export function lookupOperator(cmd: LookupCommand, ctx: CommandContext, next: Operator): Operator {
  const fail = (m: string) => ctx.src.error(cmd.pos, m);
  const table = loadLookupTable(cmd.table, ctx.lookupsDir, fail);
  for (const m of cmd.match)
    if (!table.columns.includes(m.from))
      throw fail(`lookup '${cmd.table}' has no column '${m.from}' (columns: ${table.columns.join(", ")})`);
  const matchCols = new Set(cmd.match.map((m) => m.from));
  const output =
    cmd.output.length > 0
      ? cmd.output
      : table.columns.filter((c) => !matchCols.has(c)).map((c) => ({ from: c, to: c }));
  for (const o of output)
    if (!table.columns.includes(o.from)) throw fail(`lookup '${cmd.table}' has no column '${o.from}'`);
  const outputNew = cmd.outputMode === "OUTPUTNEW";
  // Matchers per table row and match column.
  const matchers = table.rows.map((r) =>
    cmd.match.map((m) => {
      const cell = r[m.from];
      if (table.wildcardFields.has(m.from)) return compileWildcard(cell, table.caseSensitive);
      return table.caseSensitive
        ? (v: string) => v === cell
        : (v: string) => v.toLowerCase() === cell.toLowerCase();
    }),
  );
  // Exact, case-sensitive, single-field lookups use an index.
  const indexed =
    cmd.match.length === 1 && table.caseSensitive && !table.wildcardFields.has(cmd.match[0].from);
  const index = new Map<string, number[]>();
  if (indexed) {
    table.rows.forEach((r, i) => {
      const k = r[cmd.match[0].from];
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    });
  }
  return {
    push: (row: Row) => {
      const eventValues = cmd.match.map((m) => {
        const v = getField(row, m.to);
        return v === undefined ? undefined : valueToStrings(v);
      });
      const hits: number[] = [];
      if (eventValues.every((v) => v !== undefined)) {
        const candidates = indexed
          ? [...new Set((eventValues[0] as string[]).flatMap((v) => index.get(v) ?? []))].sort(
              (a, b) => a - b,
            )
          : table.rows.keys();
        for (const i of candidates) {
          if (matchers[i].every((m, k) => (eventValues[k] as string[]).some(m))) {
            hits.push(i);
            if (hits.length >= table.maxMatches) break;
          }
        }
      }
      for (const o of output) {
        if (outputNew && getField(row, o.to) !== undefined) continue;
        const vals: SplScalar[] = hits.map((i) => table.rows[i][o.from]).filter((v) => v !== "");
        if (vals.length === 0) {
          if (hits.length === 0 && table.defaultMatch !== undefined) row.fields.set(o.to, table.defaultMatch);
          else if (hits.length > 0) row.fields.delete(o.to);
          continue;
        }
        row.fields.set(o.to, vals.length === 1 ? vals[0] : vals);
      }
      return next.push(row);
    },
    end: () => next.end(),
  };
}

/** inputlookup: the table's rows as results (first command), or appended after the results (append=t). */
export function inputlookupOperator(
  cmd: InputlookupCommand,
  ctx: CommandContext,
  next: Operator,
  first: boolean,
): Operator {
  const fail = (m: string) => ctx.src.error(cmd.pos, m);
  if (!first && !cmd.append) throw fail("inputlookup must be the first command (or use append=t)");
  const table = loadLookupTable(cmd.table, ctx.lookupsDir, fail);
  const where = compileSearchExpr(cmd.where, ctx);
  const tableRows = (): Row[] =>
    table.rows
      .map((r) => {
        const fields = new Map<string, SplValue>();
        for (const c of table.columns) if (r[c] !== "") fields.set(c, r[c]);
        return { fields, seq: ctx.nextSeq() };
      })
      .filter(where);
  return {
    push: (row) => (first ? true : next.push(row)),
    end: () => {
      pushAll(next, tableRows());
      next.end();
    },
  };
}
