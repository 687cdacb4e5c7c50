/**
 * `dcomhunt export --target <t> [--rules ...] [-o DIR]`: compile rules for another SIEM (src/export).
 * Without -o every file is printed to stdout under a `==> name <==` header; with -o one file per rule
 * and target is written into DIR. What a target leaves out is warned about on stderr; a rule a target
 * cannot express is skipped with one line naming the rule, the construct and its place (exit 1).
 */
import path from "node:path";
import {
  ExportError,
  exportRule,
  isExportTarget,
  type KqlFlavor,
  PartialExport,
  type SqlDialect,
  targets,
} from "../export/index.js";
import { makeFolder, openOutput, writeWholeFile } from "../report/output.js";
import { selectRules } from "../rules/loader.js";
import {
  type Command,
  type CommandSpec,
  EXIT_DETECTIONS,
  EXIT_OK,
  helpText,
  listOpt,
  parseCommandArgs,
  stringOpt,
  UsageError,
} from "./common.js";

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "compile rules for Splunk, Sigma, Sentinel/Defender (KQL), Elastic (EQL, ES|QL) or SQL engines",
  usage: "dcomhunt export --target splunk|sigma|kql|eql|esql|sql [--rules seed|dcom|all|ID|FILE...] [-o DIR]",
  options: {
    target: { type: "string", short: "t" },
    rules: { type: "string", short: "r", multiple: true },
    output: { type: "string", short: "o" },
    dialect: { type: "string", multiple: true },
    flavor: { type: "string", multiple: true },
    table: { type: "string" },
  },
  help: {
    target: "the language to write (required)",
    rules: "rule packs, ids, names or files (default: all bundled rules)",
    output: "write one file per rule and target into DIR (default: print to stdout)",
    dialect: "sql: duckdb and/or clickhouse (default both)",
    flavor: "kql: sentinel and/or defender (default both for search rules)",
    table: "sql: name of the flat events table (default events)",
  },
  details: `Targets:\n${targets.map((t) => `  ${t.name.padEnd(7)} ${t.description}`).join("\n")}\n\nA rule (or one dialect of it) a target cannot express is skipped with one line on stderr naming the\nrule, the construct and its place (file:line:col); the other rules are still written.\n\nExit codes: 0 every selected rule exported, 1 some rules skipped (see stderr), 2 usage error,\n4 output could not be written.`,
};

export const exportCommand: Command = async (argv) => {
  const args = parseCommandArgs(exportSpec, argv);
  if (!args) {
    process.stdout.write(helpText(exportSpec));
    return EXIT_OK;
  }
  if (args.positionals.length)
    throw new UsageError(`export: unexpected argument '${args.positionals[0]}' (rules go in --rules)`);
  const target = stringOpt(args.values, "target");
  if (target === undefined)
    throw new UsageError(`export: --target is required (${targets.map((t) => t.name).join(", ")})`);
  if (!isExportTarget(target))
    throw new UsageError(`export: unknown target '${target}' (${targets.map((t) => t.name).join(", ")})`);
  const dialects = listOpt(args.values, "dialect");
  for (const d of dialects)
    if (d !== "duckdb" && d !== "clickhouse")
      throw new UsageError(`export: --dialect must be duckdb or clickhouse (got '${d}')`);
  const flavors = listOpt(args.values, "flavor");
  for (const f of flavors)
    if (f !== "sentinel" && f !== "defender")
      throw new UsageError(`export: --flavor must be sentinel or defender (got '${f}')`);
  const rules = selectRules(listOpt(args.values, "rules"));
  const dir = stringOpt(args.values, "output");
  const opts = {
    sqlDialects: dialects.length ? (dialects as SqlDialect[]) : undefined,
    kqlFlavors: flavors.length ? (flavors as KqlFlavor[]) : undefined,
    sqlTable: stringOpt(args.values, "table"),
  };
  const outputs: { name: string; content: string }[] = [];
  let skipped = 0;
  const skip = (e: ExportError) => {
    skipped++;
    process.stderr.write(`dcomhunt export: skipped: ${e.message}\n`);
  };
  for (const rule of rules) {
    try {
      const r = exportRule(rule, target, opts);
      for (const w of r.warnings) process.stderr.write(`dcomhunt export: warning: ${w}\n`);
      outputs.push(...r.files);
    } catch (e) {
      if (e instanceof PartialExport) {
        for (const w of e.result.warnings) process.stderr.write(`dcomhunt export: warning: ${w}\n`);
        outputs.push(...e.result.files);
        skip(e.error);
      } else if (e instanceof ExportError) skip(e);
      else throw e;
    }
  }
  if (dir !== undefined) {
    makeFolder(dir);
    for (const f of outputs) await writeWholeFile(path.join(dir, f.name), f.content);
    process.stderr.write(
      `dcomhunt export: wrote ${outputs.length} file(s) for ${rules.length} rule(s) to ${dir}${skipped ? ` (${skipped} skipped)` : ""}\n`,
    );
  } else {
    const out = openOutput(undefined);
    for (const f of outputs)
      await out.write(
        `${outputs.length > 1 ? `==> ${f.name} <==\n` : ""}${f.content}${outputs.length > 1 ? "\n" : ""}`,
      );
    await out.close();
  }
  if (skipped > 0) {
    process.stderr.write(
      `dcomhunt export: ${skipped} rule(s) or dialect(s) skipped for --target ${target}\n`,
    );
    return EXIT_DETECTIONS;
  }
  return EXIT_OK;
};
