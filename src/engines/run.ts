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
import { runSequenceRulesInEngine } from "./sequence.js";
import { countSql, engineQuery, storedFields, type TimeRange, toResultRow } from "./sql.js";
import { type Engine, EngineError } from "./types.js";

export interface EngineRunOptions {
  fieldView: FieldViewOptions;
  range: TimeRange;
  /** A rule the engine cannot run (outside the exportable subset, or a sequence rule). */
  onSkip?: (rule: LoadedRule, reason: string) => void;
  /** Fail on a rule outside the exportable subset (ad-hoc search) instead of skipping it. */
  strictSubset?: boolean;
  /** An evidence record a sequence query named that the table does not hold. */
  onMissing?: (rule: LoadedRule, evidenceId: string) => void;
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
    if (rule.search === undefined) continue;
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
    for (const r of res.rows) {
      const map = storedFields(res.columns, r, DuckDbEngine.mapEntries);
      rowsPerRule.set(rule.id, (rowsPerRule.get(rule.id) ?? 0) + 1);
      await sink.row(rule, toResultRow(q, res.columns, r, map), q.columns);
    }
  }
  const sequences = rules.filter((r) => r.search === undefined);
  if (sequences.length) {
    const seq = await runSequenceRulesInEngine(engine, sequences, {
      fieldView: opts.fieldView,
      range: opts.range,
      raw: meta.raw,
      mapEntries: DuckDbEngine.mapEntries,
      onSkip: opts.onSkip,
      onMissing: opts.onMissing,
    });
    skipped.push(...seq.skipped);
    for (const { rule, alert } of seq.alerts) {
      rowsPerRule.set(rule.id, (rowsPerRule.get(rule.id) ?? 0) + 1);
      await sink.alert(rule, alert);
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
