/**
 * Runs a set of rules over inputs in one pass: the events are read once, the union of the rules'
 * push-down predicates is handed to the readers, duplicate events are dropped, and every event goes to
 * each search rule's SPL pipeline (run concurrently, each with a small bounded queue) and to each
 * sequence rule's correlation engine. When a sequence rule is selected the files are merged in time
 * order (k-way merge), as correlation needs.
 */
import {
  type Alert,
  type CorrelationContext,
  compileSequenceRule,
  createAlertMerger,
  mergeByTime,
  type SequenceEngine,
  type SequenceSpec,
} from "../correlate/index.js";
import { type FieldViewOptions, type SplunkEvent, toSplunkEvent } from "../events/fields.js";
import {
  type ReadIssue,
  readsTicks,
  type SystemFields,
  type SystemPredicate,
  type WinEvent,
  withoutTicks,
} from "../events/model.js";
import { expandInputs, type InputStats, newInputStats, readInputs } from "../readers/index.js";
import {
  type CompiledSearch,
  compileSearch,
  compileSearchExpression,
  type MacroTable,
  type ResultRow,
  type SplContext,
  SplError,
} from "../spl/index.js";
import { type LoadedRule, positionInRuleFile } from "./loader.js";

export interface RunOptions {
  fieldView: FieldViewOptions;
  /** Epoch seconds for `now()` and relative times (default: wall clock). */
  now?: number;
  macros?: MacroTable;
  lookupsDir?: string;
  /** Only events at or after / before these instants (FILETIME ticks). */
  sinceTicks?: bigint;
  untilTicks?: bigint;
  /** Drop duplicate events (same Computer, Channel, EventRecordID, TimeCreated). Default true. */
  dedup?: boolean;
  threads?: number;
  strict?: boolean;
  /** EVTX: also read records that are not live, flagged `_recovered` (see readers/evtx/recover.ts). */
  recover?: boolean;
  /** Push predicates down into the readers (default true; false for benchmarks). */
  pushdown?: boolean;
  onIssue?: (issue: ReadIssue) => void;
  onFile?: (file: string, size: number) => void;
  onBytes?: (n: number) => void;
  /** Counters to fill (the caller can watch them live, e.g. for a progress bar). */
  stats?: InputStats;
  /** Reorder window for the time merge of correlation inputs (seconds). */
  reorderWindowSeconds?: number;
}

/** What a run produces, rule by rule, as it goes. */
export interface RunSink {
  row(rule: LoadedRule, row: ResultRow, columns: string[] | undefined): void | Promise<void>;
  alert(rule: LoadedRule, alert: Alert): void | Promise<void>;
}

export interface RunResult {
  stats: InputStats;
  duplicates: number;
  /** Events handed to the rules (after push-down, time filter and de-duplication). */
  events: number;
  rowsPerRule: Map<string, number>;
  seconds: number;
  /**
   * Correlation state dropped per sequence rule (by rule id): partial matches evicted past max_partials,
   * events without a time the engine could not place. Reported in the run summary.
   */
  dropped?: Map<string, { evicted: number; untimed: number }>;
  /** A push-down predicate filtered the records before they were counted. */
  filtered: boolean;
}

/** A compiled rule, ready to run. */
export type CompiledRule =
  | { rule: LoadedRule; kind: "search"; search: CompiledSearch }
  | {
      rule: LoadedRule;
      kind: "sequence";
      spec: SequenceSpec;
      engine: SequenceEngine;
      pushdown: SystemPredicate | undefined;
    };

export function splContext(opts: RunOptions, file?: string, rule?: LoadedRule): SplContext {
  return {
    now: opts.now,
    macros: rule?.macros ?? opts.macros,
    lookupsDir: rule?.lookupsDir ?? opts.lookupsDir,
    fieldView: opts.fieldView,
    file,
  };
}

function sequenceSteps(spec: SequenceSpec): string[] {
  const out: string[] = [];
  for (const step of spec.steps ?? []) out.push(step.search);
  for (const u of spec.until ?? []) out.push(u.search);
  return out;
}

/**
 * An SPL error of a rule's search, placed in the rule file: its line:col (and any "at line:col" in the
 * reason) are turned from the search text's coordinates into the file's, so one message never mixes
 * the two.
 */
function inRuleFile(err: unknown, rule: LoadedRule): unknown {
  if (!(err instanceof SplError) || rule.searchStart === undefined) return err;
  const pos = positionInRuleFile(rule, err.line, err.col);
  const reason = err.reason.replace(/ at (\d+):(\d+)/g, (_m, l: string, c: string) => {
    const p = positionInRuleFile(rule, Number(l), Number(c));
    return ` at ${p.line}:${p.col}`;
  });
  const lines = err.message.split("\n");
  // The shown line keeps its place under the file's column (the YAML indentation in front of it).
  const shown =
    lines.length >= 3 && !lines[1].startsWith("…")
      ? " ".repeat(Math.max(0, pos.col - err.col)) + lines[1]
      : "";
  return new SplError(rule.file, pos.line, pos.col, reason, shown);
}

/** Compile every rule; SPL errors surface as SplError with the rule file position. */
export function compileRules(rules: LoadedRule[], opts: RunOptions): CompiledRule[] {
  return rules.map((rule): CompiledRule => {
    try {
      return compileRule(rule, opts);
    } catch (err) {
      throw inRuleFile(err, rule);
    }
  });
}

function compileRule(rule: LoadedRule, opts: RunOptions): CompiledRule {
  const ctx = splContext(opts, rule.file, rule);
  if (rule.search !== undefined) {
    return { rule, kind: "search", search: compileSearch(rule.search, ctx) };
  }
  const spec = rule.sequence as unknown as SequenceSpec;
  const corr: CorrelationContext = {
    compilePredicate: (expr: string) => compileSearchExpression(expr, ctx),
    tz: opts.fieldView.tz,
  };
  const engine = compileSequenceRule(
    { id: rule.id, name: rule.name, severity: rule.severity, sequence: spec },
    corr,
  );
  // The readers may skip a record only if no step (nor `until`) of the sequence could use it.
  const stepPushdowns = sequenceSteps(spec).map((s) => compileSearch(s, ctx).pushdown);
  const pushdown = stepPushdowns.every((p) => p !== undefined)
    ? anyOf(stepPushdowns as SystemPredicate[])
    : undefined;
  return { rule, kind: "sequence", spec, engine, pushdown };
}

function anyOf(preds: SystemPredicate[]): SystemPredicate {
  if (preds.length === 1) return preds[0];
  const any: SystemPredicate = (system, ticks, data) => {
    for (const p of preds) if (p(system, ticks, data)) return true;
    return false;
  };
  return preds.some(readsTicks) ? any : withoutTicks(any);
}

/** The readers' predicate: some rule could use the record, and it is inside --since/--until. */
export function combinedPushdown(compiled: CompiledRule[], opts: RunOptions): SystemPredicate | undefined {
  const rulePreds = compiled.map((c) => (c.kind === "search" ? c.search.pushdown : c.pushdown));
  const rulesPred =
    opts.pushdown !== false && rulePreds.every((p) => p !== undefined) && rulePreds.length > 0
      ? anyOf(rulePreds as SystemPredicate[])
      : undefined;
  const { sinceTicks, untilTicks } = opts;
  if (sinceTicks === undefined && untilTicks === undefined) return rulesPred;
  return (system, ticks, data) => {
    if (ticks !== undefined) {
      if (sinceTicks !== undefined && ticks < sinceTicks) return false;
      if (untilTicks !== undefined && ticks >= untilTicks) return false;
    }
    return rulesPred ? rulesPred(system, ticks, data) : true;
  };
}

/**
 * Duplicate detection with memory proportional to distinct records, not to key text: per
 * (Computer, Channel), a map EventRecordID -> time (ms precision is enough to tell a re-used id).
 */
export class DuplicateFilter {
  private readonly seen = new Map<string, Map<number, number>>();
  duplicates = 0;

  /** True when this event was already seen (same Computer, Channel, EventRecordID and TimeCreated). */
  isDuplicate(ev: WinEvent, timeSeconds: number | undefined): boolean {
    const s: SystemFields = ev.system;
    if (s.eventRecordID === undefined || timeSeconds === undefined) return false;
    const id = Number(s.eventRecordID);
    if (!Number.isSafeInteger(id)) return false;
    const group = `${(s.computer ?? "").toLowerCase()}\u0000${(s.channel ?? "").toLowerCase()}`;
    let ids = this.seen.get(group);
    if (!ids) {
      ids = new Map();
      this.seen.set(group, ids);
    }
    const t = Math.round(timeSeconds * 1000);
    const prev = ids.get(id);
    if (prev === t) {
      this.duplicates++;
      return true;
    }
    if (prev === undefined) ids.set(id, t);
    return false;
  }
}

/** A single-producer, single-consumer async queue with a capacity (backpressure on push). */
class EventQueue implements AsyncIterable<SplunkEvent> {
  private readonly items: SplunkEvent[] = [];
  private head = 0;
  private closed = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly capacity = 256) {}

  /** Queue an event; after close() (the consumer stopped, e.g. on an error) events are dropped. */
  async push(ev: SplunkEvent): Promise<void> {
    while (!this.closed && this.items.length - this.head >= this.capacity) {
      await new Promise<void>((r) => {
        this.wakeProducer = r;
      });
    }
    if (this.closed) return;
    this.items.push(ev);
    this.wakeConsumer?.();
    this.wakeConsumer = undefined;
  }

  close(): void {
    this.closed = true;
    this.wakeConsumer?.();
    this.wakeConsumer = undefined;
    this.wakeProducer?.();
    this.wakeProducer = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SplunkEvent> {
    for (;;) {
      if (this.head < this.items.length) {
        const ev = this.items[this.head++];
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        this.wakeProducer?.();
        this.wakeProducer = undefined;
        yield ev;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => {
        this.wakeConsumer = r;
      });
    }
  }
}

/** Run compiled rules over the inputs, feeding the sink; returns counts. */
export async function runRules(
  compiled: CompiledRule[],
  inputs: string[] | { streams: AsyncIterable<WinEvent>[] },
  opts: RunOptions,
  sink: RunSink,
): Promise<RunResult> {
  const started = performance.now();
  const stats = opts.stats ?? newInputStats();
  const filter = combinedPushdown(compiled, opts);
  const readOpts = {
    stats,
    filter,
    strict: opts.strict,
    recover: opts.recover,
    threads: opts.threads,
    onIssue: opts.onIssue,
    onFile: opts.onFile,
    onBytes: opts.onBytes,
  };
  const dedup = opts.dedup !== false ? new DuplicateFilter() : undefined;
  const rowsPerRule = new Map<string, number>(compiled.map((c) => [c.rule.id, 0]));
  const { sinceTicks, untilTicks } = opts;
  const sinceS = sinceTicks === undefined ? undefined : Number(sinceTicks - 116444736000000000n) / 1e7;
  const untilS = untilTicks === undefined ? undefined : Number(untilTicks - 116444736000000000n) / 1e7;

  const toEvent = (ev: WinEvent): SplunkEvent | undefined => {
    const se = toSplunkEvent(ev, opts.fieldView);
    // Events whose time only the field view knows (NXLog local time...) are checked here.
    if (
      se.time !== undefined &&
      ((sinceS !== undefined && se.time < sinceS) || (untilS !== undefined && se.time >= untilS))
    ) {
      return undefined;
    }
    if (dedup?.isDuplicate(ev, se.time)) return undefined;
    return se;
  };

  const needsOrder = compiled.some((c) => c.kind === "sequence");
  let source: AsyncIterable<SplunkEvent>;
  if (!Array.isArray(inputs)) {
    // In-memory events (emulation, rule tests): apply the same push-down the readers would.
    const perStream = inputs.streams.map((st) => splunkEvents(filtered(st, filter, stats), toEvent));
    source = perStream.length === 1 ? perStream[0] : mergeByTime(perStream, opts.reorderWindowSeconds ?? 300);
  } else if (needsOrder) {
    const files = expandInputs(inputs);
    const perFile = files.map((f) => splunkEvents(readInputs([f], readOpts), toEvent));
    source = mergeByTime(perFile, opts.reorderWindowSeconds ?? 300);
  } else {
    source = splunkEvents(readInputs(inputs, readOpts), toEvent);
  }

  const searches = compiled.filter(
    (c): c is Extract<CompiledRule, { kind: "search" }> => c.kind === "search",
  );
  const sequences = compiled.filter(
    (c): c is Extract<CompiledRule, { kind: "sequence" }> => c.kind === "sequence",
  );
  const queues = searches.map(() => new EventQueue());
  const consumers = searches.map(async (c, i) => {
    for await (const row of c.search.run(queues[i])) {
      rowsPerRule.set(c.rule.id, (rowsPerRule.get(c.rule.id) ?? 0) + 1);
      await sink.row(c.rule, row, c.search.columns());
    }
  });
  // A consumer that fails (e.g. a runtime SPL error) must stop the producer, not deadlock it.
  let failure: unknown;
  const failed = Promise.all(consumers).catch((err) => {
    failure = err;
    for (const q of queues) q.close();
  });

  // One incident, one alert, across rules too: alerts sharing evidence are merged (src/correlate/run.ts),
  // each held until the stream time has passed its last event by the longest maxspan.
  const merger = createAlertMerger(
    sequences.map((c) => ({ id: c.rule.id, name: c.rule.name, severity: c.rule.severity, sequence: c.spec })),
  );
  const ruleById = new Map(sequences.map((c) => [c.rule.id, c.rule]));
  const emitAlerts = async (alerts: Alert[]) => {
    for (const a of alerts) {
      const rule = ruleById.get(a.ruleId);
      if (!rule) continue;
      rowsPerRule.set(rule.id, (rowsPerRule.get(rule.id) ?? 0) + 1);
      await sink.alert(rule, a);
    }
  };

  let events = 0;
  let streamTime = Number.NEGATIVE_INFINITY;
  try {
    for await (const se of source) {
      if (failure) break;
      events++;
      for (const q of queues) await q.push(se);
      if (sequences.length) {
        for (const c of sequences) merger.add(c.engine.push(se));
        if (se.time !== undefined && se.time > streamTime) streamTime = se.time;
        await emitAlerts(merger.release(streamTime));
      }
    }
  } finally {
    for (const q of queues) q.close();
  }
  const dropped = new Map<string, { evicted: number; untimed: number }>();
  for (const c of sequences) {
    const st = c.engine.stats();
    if (st.evicted || st.untimed) dropped.set(c.rule.id, { evicted: st.evicted, untimed: st.untimed });
  }
  for (const c of sequences) merger.add(c.engine.flush());
  await emitAlerts(merger.flush());
  await failed;
  if (failure) throw failure;
  return {
    stats,
    duplicates: dedup?.duplicates ?? 0,
    events,
    rowsPerRule,
    seconds: (performance.now() - started) / 1000,
    dropped,
    filtered: filter !== undefined,
  };
}

async function* filtered(
  events: AsyncIterable<WinEvent>,
  filter: SystemPredicate | undefined,
  stats: InputStats,
): AsyncGenerator<WinEvent> {
  for await (const ev of events) {
    if (filter && !filter(ev.system, ev.timeTicks)) continue;
    stats.records++;
    yield ev;
  }
}

async function* splunkEvents(
  events: AsyncIterable<WinEvent>,
  toEvent: (ev: WinEvent) => SplunkEvent | undefined,
): AsyncGenerator<SplunkEvent> {
  for await (const ev of events) {
    const se = toEvent(ev);
    if (se) yield se;
  }
}
