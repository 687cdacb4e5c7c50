/**
 * `export`: the same rules for other SIEMs, compiled from the SPL AST (search rules) and the
 * sequence spec (correlation rules), one module per target, in the spirit of pySigma's backends.
 *
 * Public API
 * ```ts
 * type ExportTarget = "splunk" | "sigma" | "kql" | "eql" | "esql" | "sql";
 * const targets: readonly { name: ExportTarget; description: string; extensions: string[] }[];
 * function exportRule(rule: LoadedRule, target: ExportTarget, opts?: ExportOptions):
 *   { files: { name: string; content: string }[]; warnings: string[] };   // throws ExportError
 * function flatTableColumns(rule: LoadedRule): string[];   // columns a SQL export reads
 * ```
 * File names are `<rule id>.<ext>` (ext per target: savedsearches.conf + yml, sigma.yml, sentinel.kql +
 * defender.kql, eql, esql, duckdb.sql + clickhouse.sql). What a target cannot express is either an
 * ExportError naming the construct and the rule, or (for the pipeline after the search in Sigma/EQL,
 * and sequence features) a comment in the file plus a warning: never a silent change of meaning.
 */
import type { LoadedRule } from "../rules/loader.js";
import { toEql } from "./eql.js";
import { toEsql } from "./esql.js";
import { toKql } from "./kql.js";
import { sequenceToKqlSentinel } from "./kql-sequence.js";
import { analyzeSearchRule, referencedFields } from "./query.js";
import { sequenceToEql, sequenceToSigma } from "./sequence.js";
import { type SequenceQuery, sequenceLocation, sequenceToSpl, sequenceToSql } from "./sequence-query.js";
import { toSigma } from "./sigma.js";
import { toSplunk } from "./splunk.js";
import { toSql } from "./sql.js";
import {
  ExportError,
  type ExportOptions,
  type ExportResult,
  type ExportTarget,
  type SqlDialect,
} from "./types.js";

export {
  ExportError,
  type ExportedFile,
  type ExportOptions,
  type ExportResult,
  type ExportTarget,
  type KqlFlavor,
  type SqlDialect,
} from "./types.js";

export interface TargetInfo {
  name: ExportTarget;
  description: string;
  /** File extensions written per rule. */
  extensions: string[];
}

export const targets: readonly TargetInfo[] = [
  {
    name: "splunk",
    description:
      "savedsearches.conf stanza (hourly schedule, alert defaults) + security_content detection YAML; the SPL unchanged",
    extensions: ["savedsearches.conf", "yml"],
  },
  {
    name: "sigma",
    description:
      "Sigma detection rule; sequence rules as Sigma correlation rules (temporal, group-by, aliases)",
    extensions: ["sigma.yml"],
  },
  {
    name: "kql",
    description:
      "KQL for Microsoft Sentinel (Event table, EventData parsed) and Defender XDR (DeviceProcessEvents)",
    extensions: ["sentinel.kql", "defender.kql"],
  },
  {
    name: "eql",
    description: "Elastic EQL over ECS (sequence by host with maxspan for sequence rules)",
    extensions: ["eql"],
  },
  {
    name: "esql",
    description: "Elastic ES|QL over ECS (WHERE, EVAL CASE, SORT, KEEP)",
    extensions: ["esql"],
  },
  {
    name: "sql",
    description: "SQL over the flat events table: DuckDB and ClickHouse dialects",
    extensions: ["duckdb.sql", "clickhouse.sql"],
  },
];

export function isExportTarget(name: string): name is ExportTarget {
  return targets.some((t) => t.name === name);
}

/** Compiles one rule for one target. Throws ExportError for what the target cannot express. */
export function exportRule(rule: LoadedRule, target: ExportTarget, opts: ExportOptions = {}): ExportResult {
  const base = rule.id;
  if (rule.sequence !== undefined) {
    switch (target) {
      case "sigma": {
        const r = sequenceToSigma(rule);
        return { files: [{ name: `${base}.sigma.yml`, content: r.content }], warnings: r.warnings };
      }
      case "eql": {
        const r = sequenceToEql(rule);
        return { files: [{ name: `${base}.eql`, content: r.content }], warnings: r.warnings };
      }
      case "kql": {
        const flavors = opts.kqlFlavors ?? ["sentinel"];
        const files = [];
        const warnings: string[] = [];
        for (const f of flavors) {
          const r = sequenceToKqlSentinel(rule, f);
          files.push({ name: `${base}.${f}.kql`, content: r.content });
          warnings.push(...r.warnings);
        }
        return { files, warnings };
      }
      case "splunk": {
        const r = toSplunk(rule);
        return {
          files: r.files.map((f) => ({ name: `${base}.${f.ext}`, content: f.content })),
          warnings: r.warnings,
        };
      }
      case "sql": {
        // One dialect that cannot take the rule is skipped with a warning when the other can.
        const dialects = opts.sqlDialects ?? ["duckdb", "clickhouse"];
        const files = [];
        const warnings: string[] = [];
        let failure: ExportError | undefined;
        for (const d of dialects) {
          try {
            const q = sequenceToSql(rule, d, opts.sqlTable);
            files.push({ name: `${base}.${d}.sql`, content: q.text });
            warnings.push(...q.leftOut.map((x) => `sql (${d}): rule '${rule.name}': not kept: ${x}`));
          } catch (e) {
            if (!(e instanceof ExportError)) throw e;
            failure ??= e;
          }
        }
        if (failure && files.length === 0) throw failure;
        if (failure) throw new PartialExport({ files, warnings }, failure);
        return { files, warnings };
      }
      default:
        throw new ExportError(
          rule.name,
          target,
          "sequence rule",
          "ES|QL has no join, window or sequence command here (use eql for Elastic, or run it with dcomhunt scan)",
          sequenceLocation(rule),
        );
    }
  }
  switch (target) {
    case "splunk": {
      const r = toSplunk(rule);
      return {
        files: r.files.map((f) => ({ name: `${base}.${f.ext}`, content: f.content })),
        warnings: r.warnings,
      };
    }
    case "sigma": {
      const r = toSigma(analyzeSearchRule(rule, target));
      return { files: [{ name: `${base}.sigma.yml`, content: r.content }], warnings: r.warnings };
    }
    case "kql": {
      const q = analyzeSearchRule(rule, target);
      const files = [];
      const warnings: string[] = [];
      for (const f of opts.kqlFlavors ?? ["sentinel", "defender"]) {
        try {
          const r = toKql(q, f);
          files.push({ name: `${base}.${f}.kql`, content: r.content });
          warnings.push(...r.warnings);
        } catch (e) {
          // Defender XDR maps process creation only: by default a rule it cannot read is skipped for
          // that flavour with a warning naming why; asked for explicitly (--flavor), it is an error.
          if (!(e instanceof ExportError) || opts.kqlFlavors !== undefined || f !== "defender") throw e;
          warnings.push(`kql: rule '${rule.name}': no Defender XDR query: ${e.construct}: ${e.reason}`);
        }
      }
      return { files, warnings };
    }
    case "eql": {
      const r = toEql(analyzeSearchRule(rule, target));
      return { files: [{ name: `${base}.eql`, content: r.content }], warnings: r.warnings };
    }
    case "esql": {
      const r = toEsql(analyzeSearchRule(rule, target));
      return { files: [{ name: `${base}.esql`, content: r.content }], warnings: r.warnings };
    }
    case "sql": {
      const q = analyzeSearchRule(rule, target);
      const files = (opts.sqlDialects ?? ["duckdb", "clickhouse"]).map((d) => ({
        name: `${base}.${d}.sql`,
        content: toSql(q, d, opts.sqlTable).content,
      }));
      return { files, warnings: [] };
    }
  }
}

/**
 * Some files of a rule were written, one part could not be (e.g. the ClickHouse dialect of a sequence
 * rule): the CLI writes `result` and reports `error` as a skipped rule part.
 */
export class PartialExport extends Error {
  constructor(
    readonly result: ExportResult,
    readonly error: ExportError,
  ) {
    super(error.message);
    this.name = "PartialExport";
  }
}

export { SEQUENCE_COLUMNS, type SequenceQuery } from "./sequence-query.js";

/**
 * A sequence rule as one query for a target (the typed API engines call to run rules inside DuckDB,
 * ClickHouse or Splunk): SPL, or SQL in a dialect over the flat events table `table` (default
 * `events`; the query reads it once, `FROM <table>`). `{ target: "clickhouse" }` is
 * `{ target: "sql", dialect: "clickhouse" }` (the same for duckdb). Throws ExportError.
 */
export function compileSequenceRule(
  rule: LoadedRule,
  opts:
    | { target: "splunk" }
    | { target: "sql"; dialect: SqlDialect; table?: string }
    | { target: SqlDialect; table?: string },
): SequenceQuery {
  if (rule.sequence === undefined)
    throw new ExportError(rule.name, opts.target, "search rule", "not a sequence rule");
  if (opts.target === "splunk") return sequenceToSpl(rule);
  if (opts.target === "sql") return sequenceToSql(rule, opts.dialect, opts.table);
  return sequenceToSql(rule, opts.target, opts.table);
}

/** The flat-table columns a search rule's SQL export reads (create missing ones as NULL). */
export function flatTableColumns(rule: LoadedRule): string[] {
  return [...new Set(["_time", ...referencedFields(analyzeSearchRule(rule, "sql"))])];
}
