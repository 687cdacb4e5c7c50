/**
 * `scan --engine` / `search --engine`: every selected rule runs inside the engine as its compiled SQL
 * (src/export), and the rows go to the same sink as a file scan's (report formats, allowlists).
 */
import type { FieldViewOptions } from "../events/fields.js";
import { ExportError } from "../export/types.js";
import { newInputStats } from "../readers/index.js";
import type { LoadedRule } from "../rules/loader.js";
import type { RunResult, RunSink } from "../rules/run.js";
import { DuckDbEngine } from "./duckdb.js";
import { fieldViewKey } from "./schema.js";
import { countSql, engineQuery, type TimeRange, toResultRow } from "./sql.js";
import { type Engine, EngineError } from "./types.js";

export interface EngineRunOptions {
  fieldView: FieldViewOptions;
  range: TimeRange;
  /** A rule the engine cannot run (outside the exportable subset, or a sequence rule). */
  onSkip?: (rule: LoadedRule, reason: string) => void;
  /** Fail on a rule outside the exportable subset (ad-hoc search) instead of skipping it. */
  strictSubset?: boolean;
}

export interface EngineRunResult extends RunResult {
  skipped: { rule: LoadedRule; reason: string }[];
}

export async function runRulesInEngine(
  engine: Engine,
  rules: LoadedRule[],
  opts: EngineRunOptions,
  sink: RunSink,
): Promise<EngineRunResult> {
  const started = performance.now();
  const meta = await engine.readMeta();
  if (!meta)
    throw new EngineError(
      `${engine.description}: nothing loaded yet (run 'dcomhunt load ... --into ...' first)`,
    );
  const { tz: _tz, ...view } = opts.fieldView;
  if (fieldViewKey(meta.fieldView) !== fieldViewKey(view))
    throw new EngineError(
      `${engine.description} was loaded with field view (${fieldViewKey(meta.fieldView)}); this scan asks for (${fieldViewKey(view)}): the field view is fixed at load time`,
    );
  const rowsPerRule = new Map<string, number>(rules.map((r) => [r.id, 0]));
  const skipped: { rule: LoadedRule; reason: string }[] = [];
  for (const rule of rules) {
    if (rule.search === undefined) {
      const reason = "sequence rules do not run in an engine yet (their SQL compiler is issue 11)";
      skipped.push({ rule, reason });
      opts.onSkip?.(rule, reason);
      continue;
    }
    let q: ReturnType<typeof engineQuery>;
    try {
      q = engineQuery(rule, engine.dialect, engine.table, opts.range, meta.raw);
    } catch (err) {
      if (!(err instanceof ExportError) || opts.strictSubset) throw err;
      skipped.push({ rule, reason: err.message });
      opts.onSkip?.(rule, err.message);
      continue;
    }
    const res = await engine.query(q.sql);
    const fieldsAt = res.columns.indexOf("__p_fields");
    const namesAt = res.columns.indexOf("__p_names");
    const valuesAt = res.columns.indexOf("__p_values");
    for (const r of res.rows) {
      let map: [string, string][] | undefined;
      if (fieldsAt >= 0) map = DuckDbEngine.mapEntries(r[fieldsAt]);
      else if (namesAt >= 0 && valuesAt >= 0) {
        const names = r[namesAt] as string[];
        const values = r[valuesAt] as string[];
        map = names.map((n, i) => [n, values[i]]);
      }
      rowsPerRule.set(rule.id, (rowsPerRule.get(rule.id) ?? 0) + 1);
      await sink.row(rule, toResultRow(q, res.columns, r, map), q.columns);
    }
  }
  const events = await eventsInRange(engine, opts.range);
  return {
    stats: newInputStats(),
    duplicates: 0,
    events,
    rowsPerRule,
    seconds: (performance.now() - started) / 1000,
    filtered: false,
    skipped,
  };
}

async function eventsInRange(engine: Engine, range: TimeRange): Promise<number> {
  if (range.since === undefined && range.until === undefined) return engine.count();
  const res = await engine.query(countSql(engine.dialect, engine.table, range));
  return Number(res.rows[0][0]);
}
