/**
 * compileSearch: Pipeline -> a plan of push operators, streamed over SplunkEvents.
 *
 * Order (spl-semantics §3, decision D-order): Splunk returns events newest first, and head, tail, dedup, streamstats,
 * top/rare and first/last/list see that order. Inputs arrive in file order, so before the first
 * command that depends on order the planner inserts a buffer that sorts by `_time` descending
 * (stable); `head N` right after it keeps only N rows. `sort` instead breaks its ties in search
 * order, so `... | sort - _time` streams without an extra buffer. A pipeline that never defines its
 * order gets the buffer at the end (Splunk's output order) unless `order: "input"` is asked for.
 */
import type { FieldViewOptions, SplunkEvent } from "../events/fields.js";
import type { SystemPredicate, WinEvent } from "../events/model.js";
import type { Command, Pipeline } from "./ast.js";
import { addtotalsOperator } from "./commands/addtotals.js";
import { binOperator } from "./commands/bin.js";
import { convertOperator } from "./commands/convert.js";
import { dedupOperator } from "./commands/dedup.js";
import { evalOperator } from "./commands/eval.js";
import { type ColumnsState, fieldsOperator, renameOperator, tableOperator } from "./commands/fields.js";
import { fillnullOperator } from "./commands/fillnull.js";
import { regexOperator, searchOperator, whereOperator } from "./commands/filter.js";
import { foreachOperator } from "./commands/foreach.js";
import { headOperator, tailOperator } from "./commands/head-tail.js";
import { inputlookupOperator, lookupOperator } from "./commands/lookup.js";
import { makemvOperator } from "./commands/makemv.js";
import { mapOperator } from "./commands/map.js";
import { mvexpandOperator } from "./commands/mvexpand.js";
import type { CommandContext, Operator } from "./commands/operator.js";
import { outputlookupOperator } from "./commands/outputlookup.js";
import { replaceOperator } from "./commands/replace.js";
import { rexOperator } from "./commands/rex.js";
import { newestFirstOperator, sortOperator } from "./commands/sort.js";
import { fromjsonOperator, spathOperator, xmlkvOperator } from "./commands/spath.js";
import { eventstatsOperator, statsOperator, streamstatsOperator } from "./commands/stats.js";
import {
  appendOperator,
  appendpipeOperator,
  formatOperator,
  hasSubsearch,
  joinOperator,
  returnOperator,
  SUBSEARCH_MAXTIME,
  subsearchSearchOperator,
} from "./commands/subsearch.js";
import { timechartOperator } from "./commands/timechart.js";
import { topOperator } from "./commands/top.js";
import { transactionOperator } from "./commands/transaction.js";
import { datamodelOperator, tstatsOperator } from "./commands/tstats.js";
import { SourceText, SplError } from "./errors.js";
import type { MacroTable } from "./macros.js";
import { parseSearchOnly, parseSpl } from "./parser.js";
import { definesOrder, isTransforming, needsSearchOrder, pushdownFor } from "./planner.js";
import { type Row, rowFromEvent } from "./row.js";
import { compileSearchExpr } from "./search-expr.js";
import type { SpillContext } from "./spill.js";
import type { SplValue } from "./values.js";

export interface SplContext {
  /** Search start time, epoch seconds (now(), relative earliest/latest). Default: the wall clock. */
  now?: number;
  macros?: MacroTable;
  /** Directory of lookup CSV files (and an optional transforms.conf). */
  lookupsDir?: string;
  fieldView: FieldViewOptions;
  /** File name for error messages (default "spl"). */
  file?: string;
  /** Events already arrive newest first (no search-order buffer needed). Default "file". */
  inputOrder?: "file" | "newest-first";
  /**
   * "splunk" (default): results come out in Splunk's order, buffering a pure filter pipeline's results
   * to sort them newest first. "input": a pipeline whose only order dependence is its output order
   * streams results as they arrive (for hunts over large inputs).
   */
  order?: "splunk" | "input";
}

export interface ResultRow {
  fields: Map<string, SplValue>;
  /** Column order, when table/fields defined it. */
  columns?: string[];
  /** The source event when the row is one event. */
  event?: WinEvent;
}

export interface CompiledSearch {
  /** Push-down predicate for the readers (exact or conservative). */
  pushdown: SystemPredicate | undefined;
  run(events: AsyncIterable<SplunkEvent>): AsyncGenerator<ResultRow>;
  /** table/fields column order once known (wildcard tables: after run). */
  columns(): string[] | undefined;
  /** stats-like: rows are not events. */
  transforming: boolean;
  /** The parsed pipeline. */
  pipeline: Pipeline;
  /** The plan, for explain output: command names with the buffers the planner inserted. */
  plan: string[];
  /**
   * The pipeline as a push operator over rows (subsearches, appendpipe, foreach): rows in, results to
   * `sink`; `events` says whether it reads events (false when it starts with inputlookup).
   */
  open(sink: Operator): { head: Operator; events: boolean };
}

type Stage =
  | { kind: "command"; cmd: Command; unordered: boolean; first: boolean; copyFields: boolean }
  | { kind: "newest-first"; limit: number };

/** Commands that change a row's fields in place. */
const MUTATING = new Set([
  "eval",
  "rex",
  "rename",
  "fields",
  "fillnull",
  "lookup",
  "bin",
  "bucket",
  "streamstats",
  "eventstats",
  "dedup",
  "convert",
  "makemv",
  "replace",
  "addtotals",
  "join",
  "foreach",
  "spath",
  "xmlkv",
  "fromjson",
]);

function buildOperator(
  stage: Stage,
  ctx: CommandContext,
  columns: ColumnsState,
  next: Operator,
  spill: SpillContext,
): Operator {
  if (stage.kind === "newest-first") return newestFirstOperator(stage.limit, next, spill);
  if (stage.copyFields) {
    // The first command that edits rows works on a copy: the caller's SplunkEvent maps stay intact
    // (several searches may run over the same events). Only rows that got this far are copied.
    const op = buildOperator({ ...stage, copyFields: false }, ctx, columns, next, spill);
    return {
      push: (row) => op.push({ ...row, fields: new Map(row.fields) }),
      end: () => op.end(),
    };
  }
  const cmd = stage.cmd;
  const c: CommandContext = { ...ctx, unorderedInput: stage.unordered };
  switch (cmd.name) {
    case "search":
      return hasSubsearch(cmd.expr) ? subsearchSearchOperator(cmd, c, next) : searchOperator(cmd, c, next);
    case "where":
      return whereOperator(cmd, c, next);
    case "regex":
      return regexOperator(cmd, c, next);
    case "eval":
      return evalOperator(cmd, c, next);
    case "table":
      return tableOperator(cmd, columns, next);
    case "fields":
      return fieldsOperator(cmd, columns, next);
    case "rename":
      return renameOperator(cmd, columns, next);
    case "sort":
      return sortOperator(cmd, stage.unordered, next, spill);
    case "head":
      return headOperator(cmd, c, next);
    case "tail":
      return tailOperator(cmd, next);
    case "dedup":
      return dedupOperator(cmd, next);
    case "stats":
      columns.columns = statsColumns(cmd);
      columns.open = true;
      return statsOperator(cmd, c, next);
    case "eventstats":
      return eventstatsOperator(cmd, c, next);
    case "streamstats":
      return streamstatsOperator(cmd, c, next);
    case "top":
    case "rare":
      columns.columns = statsColumns(cmd);
      columns.open = true;
      return topOperator(cmd, c, next);
    case "rex":
      return rexOperator(cmd, c, next);
    case "lookup":
      return lookupOperator(cmd, c, next);
    case "inputlookup":
      return inputlookupOperator(cmd, c, next, stage.first);
    case "fillnull":
      return fillnullOperator(cmd, next);
    case "mvexpand":
      return mvexpandOperator(cmd, c, next);
    case "bin":
    case "bucket":
      return binOperator(cmd, c, next);
    case "transaction":
      return transactionOperator(cmd, c, next);
    case "convert":
      return convertOperator(cmd, c, next);
    case "tstats":
      columns.columns =
        cmd.options.prestats && /^(t|true|1)$/i.test(cmd.options.prestats)
          ? undefined
          : statsColumns({ ...cmd, name: "stats", options: {} });
      columns.open = columns.columns !== undefined;
      return tstatsOperator(cmd, c, next);
    case "datamodel":
    case "from":
      return datamodelOperator(cmd, c, next);
    case "makemv":
      return makemvOperator(cmd, c, next);
    case "replace":
      return replaceOperator(cmd, next);
    case "addtotals":
      return addtotalsOperator(cmd, c, next);
    case "join":
      return joinOperator(cmd, c, next);
    case "append":
      return appendOperator(cmd, c, next);
    case "appendpipe":
      return appendpipeOperator(cmd, c, next);
    case "foreach":
      return foreachOperator(cmd, c, next);
    case "spath":
      return spathOperator(cmd, c, next);
    case "xmlkv":
      return xmlkvOperator(cmd, c, next);
    case "fromjson":
      return fromjsonOperator(cmd, c, next);
    case "format":
      return formatOperator(cmd, c, next);
    case "return":
      return returnOperator(cmd, c, next);
    case "map":
      return mapOperator(cmd, c, next);
    case "timechart":
      columns.columns = undefined;
      return timechartOperator(cmd, c, next);
    case "outputlookup":
      return outputlookupOperator(cmd, c, next);
  }
}

/**
 * An error inside a searchmatch() string, placed in the search itself: one set of coordinates per
 * message (the string's own line:col are turned into the search's, or dropped when the string has
 * escapes and its characters do not line up with the search text).
 */
function searchStringError(e: unknown, searchText: string, pos: number, src: SourceText): Error {
  if (!(e instanceof SplError))
    return src.error(pos, `in searchmatch(): ${(e as Error).message.split("\n")[0]}`);
  const inner = new SourceText(searchText, e.file);
  const literal =
    src.text[pos] === '"' && src.text.slice(pos + 1, pos + 1 + searchText.length) === searchText;
  const toOuter = (line: number, col: number) => (inner.lineStarts[line - 1] ?? 0) + col - 1 + pos + 1;
  const reason = e.reason.replace(/ at (\d+):(\d+)/g, (_m, l: string, c: string) =>
    literal ? ` at ${src.where(toOuter(Number(l), Number(c)))}` : "",
  );
  return src.error(literal ? toOuter(e.line, e.col) : pos, `in searchmatch(): ${reason}`);
}

/** Output columns of stats/top, known from the command. */
function statsColumns(cmd: Command): string[] | undefined {
  if (cmd.name === "stats")
    return [
      ...cmd.by,
      ...cmd.aggregations.map((a) => a.as ?? (a.field === undefined ? a.fn : `${a.fn}(${a.field})`)),
    ];
  if (cmd.name === "top" || cmd.name === "rare") {
    const cols = [...cmd.by, ...cmd.fields];
    if (!["f", "false", "0"].includes((cmd.options.showcount ?? "t").toLowerCase()))
      cols.push(cmd.options.countfield ?? "count");
    if (!["f", "false", "0"].includes((cmd.options.showperc ?? "t").toLowerCase()))
      cols.push(cmd.options.percentfield ?? "percent");
    return cols;
  }
  return undefined;
}

export function compileSearch(text: string | Pipeline, ctx: SplContext): CompiledSearch {
  const pipeline = typeof text === "string" ? parseSpl(text, { file: ctx.file, macros: ctx.macros }) : text;
  const src = new SourceText(pipeline.text, pipeline.file);
  const now = ctx.now ?? Date.now() / 1000;
  const tz = ctx.fieldView.tz;

  // Plan the stages.
  const stages: Stage[] = [];
  let unordered = ctx.inputOrder !== "newest-first";
  const generating = pipeline.commands[0]?.name === "inputlookup";
  let copied = false;
  pipeline.commands.forEach((cmd, i) => {
    if (unordered && needsSearchOrder(cmd)) {
      const limit = cmd.name === "head" && cmd.expr === undefined ? cmd.count : 0;
      stages.push({ kind: "newest-first", limit });
      unordered = false;
    }
    const copyFields = !copied && MUTATING.has(cmd.name);
    if (copyFields) copied = true;
    stages.push({ kind: "command", cmd, unordered, first: i === 0, copyFields });
    if (definesOrder(cmd)) unordered = false;
  });
  if (unordered && ctx.order !== "input") stages.push({ kind: "newest-first", limit: 0 });

  const transforming = pipeline.commands.some(isTransforming);

  const compileSearchString = (searchText: string, pos: number) => {
    let expr: ReturnType<typeof parseSearchOnly>;
    try {
      expr = parseSearchOnly(searchText, { file: pipeline.file });
    } catch (e) {
      throw searchStringError(e, searchText, pos, src);
    }
    return compileSearchExpr(expr, { src: new SourceText(searchText, pipeline.file), now, tz });
  };

  // Compile once up front so errors surface at compile time; run() rebuilds fresh operators.
  let lastColumns: ColumnsState = { columns: undefined };
  const build = (
    sink: Operator,
    spill: SpillContext,
  ): { head: Operator; columns: ColumnsState; nextSeq: () => number; events: boolean } => {
    const columns: ColumnsState = { columns: undefined };
    let seq = 0;
    const nextSeq = () => seq++;
    // Subsearches read the same events as this search, alongside it (decision D-subsearch-pass).
    const subs: { head: Operator; events: boolean; live: boolean; spent: number }[] = [];
    const cctx: CommandContext = {
      src,
      now,
      tz,
      fieldView: ctx.fieldView,
      lookupsDir: ctx.lookupsDir,
      nextSeq,
      unorderedInput: false,
      compileSearch: compileSearchString,
      openSubsearch: (p, maxout) => {
        const handle = { rows: [] as Row[], truncated: false };
        const sub = compileSearch(p, { ...ctx, file: pipeline.file }).open({
          push: (r) => {
            if (handle.rows.length >= maxout) {
              handle.truncated = true;
              return false;
            }
            handle.rows.push(r);
            return true;
          },
          end: () => {},
        });
        subs.push({ head: sub.head, events: sub.events, live: true, spent: 0 });
        return handle;
      },
      openRowPipeline: (p, sink) =>
        compileSearch(p, { ...ctx, file: pipeline.file, inputOrder: "newest-first", order: "input" }).open(
          sink,
        ).head,
    };
    // Columns are defined front to back (table then rename), so build the operators in order first.
    const factories: ((next: Operator) => Operator)[] = stages.map(
      (st) => (next) => buildOperator(st, cctx, columns, next, spill),
    );
    // Build from the end, but the column state must follow command order: run factories front to back
    // on placeholders that forward to the real next operator.
    const forwards: { target?: Operator }[] = stages.map(() => ({}));
    const ops: Operator[] = factories.map((f, i) => {
      const slot = forwards[i];
      return f({
        push: (r) => (slot.target as Operator).push(r),
        end: () => (slot.target as Operator).end(),
      });
    });
    ops.forEach((_op, i) => {
      forwards[i].target = i + 1 < ops.length ? ops[i + 1] : sink;
    });
    const main = ops[0] ?? sink;
    if (subs.length === 0) return { head: main, columns, nextSeq, events: !generating };
    let mainLive = !generating;
    const head: Operator = {
      push: (row) => {
        let more = false;
        for (const sub of subs) {
          if (!sub.events || !sub.live) continue;
          const t0 = performance.now();
          sub.live = sub.head.push(row);
          sub.spent += performance.now() - t0;
          // limits.conf [subsearch] maxtime: the subsearch is finalized with what it has.
          if (sub.spent > SUBSEARCH_MAXTIME * 1000) sub.live = false;
          more ||= sub.live;
        }
        if (mainLive) mainLive = main.push(row);
        return mainLive || more;
      },
      end: () => {
        for (const sub of subs) sub.head.end();
        main.end();
      },
    };
    return { head, columns, nextSeq, events: !generating || subs.some((x) => x.events) };
  };
  // (No rows go through this build: a deferred merge would simply run to its end.)
  const runNow: SpillContext = { defer: (d) => void [...{ [Symbol.iterator]: () => d }] };
  lastColumns = build({ push: () => true, end: () => {} }, runNow).columns;

  const plan = stages.map((st) =>
    st.kind === "newest-first"
      ? `[buffer: newest first${st.limit > 0 ? `, keep ${st.limit}` : ""}]`
      : st.cmd.name,
  );

  return {
    pipeline,
    plan,
    pushdown: pushdownFor(pipeline, ctx.fieldView, now, src),
    transforming,
    columns: () => lastColumns.columns,
    open: (sink) => {
      // (Subsearches and row pipelines have no outer loop: a spilled merge runs to its end at once.)
      const built = build(sink, runNow);
      const head = built.head;
      return {
        events: built.events,
        head: {
          push: (r) => head.push({ ...r, seq: built.nextSeq() }),
          end: () => head.end(),
        },
      };
    },
    async *run(events: AsyncIterable<SplunkEvent>): AsyncGenerator<ResultRow> {
      const out: Row[] = [];
      const sink: Operator = {
        push: (r) => {
          out.push(r);
          return true;
        },
        end: () => {},
      };
      // Buffers that spilled to disk merge after the input ends, a step at a time (spl/spill.ts).
      const deferred: Iterator<void>[] = [];
      const built = build(sink, { defer: (d) => deferred.push(d) });
      lastColumns = built.columns;
      const toResult = (r: Row): ResultRow => {
        const cols = built.columns.columns;
        if (cols !== undefined && built.columns.open) {
          // Fields added after stats (eval, lookup, convert ...) become new columns, in arrival order.
          for (const k of r.fields.keys()) if (!k.startsWith("_") && !cols.includes(k)) cols.push(k);
        }
        if (cols === undefined && r.raw && !r.fields.has("_raw")) r.fields.set("_raw", r.raw());
        return cols === undefined
          ? { fields: r.fields, event: r.event }
          : { fields: r.fields, columns: cols, event: r.event };
      };
      if (built.events) {
        for await (const ev of events) {
          const more = built.head.push(rowFromEvent(ev, built.nextSeq()));
          if (out.length > 0) {
            for (const r of out.splice(0)) yield toResult(r);
          }
          if (!more) break;
        }
      }
      built.head.end();
      for (const r of out.splice(0)) yield toResult(r);
      try {
        while (deferred.length > 0) {
          if (deferred[0].next().done) deferred.shift();
          for (const r of out.splice(0)) yield toResult(r);
        }
      } finally {
        // The consumer stopped early: close the merges (their temporary files go).
        for (const d of deferred.splice(0)) d.return?.();
      }
    },
  };
}

/** One search expression (no pipes) as a predicate over events, for correlation rules. */
export function compileSearchExpression(text: string, ctx: SplContext): (ev: SplunkEvent) => boolean {
  const file = ctx.file ?? "spl";
  const expr = parseSearchOnly(text, { file, macros: ctx.macros });
  const src = new SourceText(text, file);
  const pred = compileSearchExpr(expr, { src, now: ctx.now ?? Date.now() / 1000, tz: ctx.fieldView.tz });
  return (ev) => {
    if (ev.time !== undefined && !ev.fields.has("_time"))
      (ev.fields as Map<string, SplValue>).set("_time", ev.time);
    return pred({ fields: ev.fields as Map<string, SplValue>, raw: ev.raw, event: ev.event, seq: 0 });
  };
}

export { parseSpl };
