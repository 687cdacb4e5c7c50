/**
 * Subsearches and the commands around them: `[search ...]` in a search, `format`, `return`, `join`,
 * `append`, `appendpipe`.
 *
 * A subsearch runs over the same events as the main search, at the same time (the executor hands every
 * event to both): its results are only complete when the input ends, so the command that uses them
 * buffers the rows that reach it until then (decision D-subsearch-pass). Limits follow Splunk's
 * defaults: a subsearch keeps at most 10,000 results and 60 s of work (limits.conf [subsearch] maxout,
 * maxtime), a join's subsearch 50,000 results (limits.conf [join] subsearch_maxout).
 */
import type {
  AppendCommand,
  FormatCommand,
  JoinCommand,
  Pipeline,
  ReturnCommand,
  SearchCommand,
  SearchExpr,
  SearchSubsearch,
} from "../ast.js";
import { quoteSearchString } from "../lexer.js";
import { parseSearchOnly } from "../parser.js";
import { cloneRow, getField, type Row, rowTime } from "../row.js";
import { compileSearchExpr, type RowPredicate } from "../search-expr.js";
import { type SplValue, valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

/** limits.conf [subsearch] maxout: results a subsearch returns. */
export const SUBSEARCH_MAXOUT = 10_000;
/** limits.conf [subsearch] maxtime: seconds of work before a subsearch is finalized. */
export const SUBSEARCH_MAXTIME = 60;
/** limits.conf [join] subsearch_maxout. */
export const JOIN_SUBSEARCH_MAXOUT = 50_000;

/** A subsearch opened by a command: its rows are complete once the main search's input has ended. */
export interface SubsearchHandle {
  rows: Row[];
  /** More results than maxout were produced (the rest dropped), or maxtime was reached. */
  truncated: boolean;
}

function needContext(ctx: CommandContext, pos: number): NonNullable<CommandContext["openSubsearch"]> {
  if (!ctx.openSubsearch) throw ctx.src.error(pos, "subsearches are not available here");
  return ctx.openSubsearch;
}

// ------------------------------------------------------------------------------------------------
// format and return: results -> search text

/** One field's term in format's output: `f="v"`; `search` inserts its value as written, `query` as a term. */
function fieldTerm(name: string, v: string): string {
  if (name === "search") return v;
  if (name === "query") return quoteSearchString(v);
  return `${name}=${quoteSearchString(v)}`;
}

/** Splunk's format (Search Reference, format): rows joined by OR, fields in a row by AND. */
export function formatRows(rows: Row[], cmd: Omit<FormatCommand, "name" | "pos">): string {
  const [rowPre, colPre, colSep, colEnd, rowSep, rowEnd] = cmd.parts;
  const use = cmd.maxresults > 0 ? rows.slice(0, cmd.maxresults) : rows;
  const rowTexts: string[] = [];
  for (const row of use) {
    const cols: string[] = [];
    for (const [name, value] of row.fields) {
      // Internal fields (_time, _raw ...) are not search terms.
      if (name.startsWith("_")) continue;
      const vals = valueToStrings(value as SplValue);
      if (vals.length === 0) continue;
      if (vals.length === 1) cols.push(fieldTerm(name, vals[0]));
      else cols.push(`( ${vals.map((v) => fieldTerm(name, v)).join(` ${cmd.mvsep} `)} )`);
    }
    if (cols.length > 0) rowTexts.push(`${colPre} ${cols.join(` ${colSep} `)} ${colEnd}`);
  }
  if (rowTexts.length === 0) return cmd.emptystr;
  return `${rowPre} ${rowTexts.join(` ${rowSep} `)} ${rowEnd}`;
}

export const DEFAULT_FORMAT: Omit<FormatCommand, "name" | "pos"> = {
  mvsep: "OR",
  maxresults: 0,
  parts: ["(", "(", "AND", ")", "OR", ")"],
  emptystr: "NOT ( )",
};

/** `format`: all results become one result whose `search` field is the formatted text. */
export function formatOperator(cmd: FormatCommand, ctx: CommandContext, next: Operator): Operator {
  const rows: Row[] = [];
  return {
    push: (row) => {
      rows.push(row);
      return true;
    },
    end: () => {
      next.push({ fields: new Map([["search", formatRows(rows, cmd)]]), seq: ctx.nextSeq() });
      next.end();
    },
  };
}

/**
 * `return` (Search Reference, return): the first `count` results as one `search` field: `field="v"`,
 * `alias="v"`, or the value alone for `$field`; several results are ORed.
 */
export function returnOperator(cmd: ReturnCommand, ctx: CommandContext, next: Operator): Operator {
  const parts: string[] = [];
  let n = 0;
  return {
    push: (row) => {
      if (n >= cmd.count) return false;
      n++;
      const terms: string[] = [];
      for (const it of cmd.items) {
        const v = getField(row, it.field);
        if (v === undefined) continue;
        const s = valueToStrings(v)[0] ?? "";
        terms.push(
          it.kind === "value" ? s : `${it.kind === "alias" ? it.alias : it.field}=${quoteSearchString(s)}`,
        );
      }
      if (terms.length > 0) parts.push(terms.join(" "));
      return n < cmd.count;
    },
    end: () => {
      const text = parts.length <= 1 ? (parts[0] ?? "") : parts.map((p) => `(${p})`).join(" OR ");
      next.push({ fields: new Map([["search", text]]), seq: ctx.nextSeq() });
      next.end();
    },
  };
}

/**
 * The predicate a subsearch's results stand for in the main search: the search text format makes of
 * them (a `search` or `query` field is inserted as written). No results (or format's empty string)
 * match nothing (decision D-subsearch-empty).
 */
export function subsearchPredicate(rows: Row[], ctx: CommandContext, pos: number): RowPredicate {
  // format's and return's empty output stands for "no results".
  rows = rows.filter((r) => {
    const s = r.fields.get("search");
    return !(r.fields.size === 1 && typeof s === "string" && /^\s*(NOT\s*\(\s*\))?\s*$/.test(s));
  });
  const text = formatRows(rows, DEFAULT_FORMAT).trim();
  if (text === "" || /^NOT\s*\(\s*\)$/.test(text)) return () => false;
  let expr: SearchExpr | undefined;
  try {
    expr = parseSearchOnly(text, { file: `${ctx.src.file} (subsearch results)` });
  } catch (e) {
    throw ctx.src.error(
      pos,
      `the subsearch's results are not a valid search: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (expr === undefined) return () => false;
  return compileSearchExpr(expr, ctx);
}

// ------------------------------------------------------------------------------------------------
// search with subsearches

function collectSubsearches(e: SearchExpr | undefined, out: SearchSubsearch[] = []): SearchSubsearch[] {
  if (!e) return out;
  switch (e.kind) {
    case "subsearch":
      out.push(e);
      break;
    case "and":
    case "or":
      for (const i of e.items) collectSubsearches(i, out);
      break;
    case "not":
    case "group":
      collectSubsearches(e.expr, out);
      break;
  }
  return out;
}

export function hasSubsearch(e: SearchExpr | undefined): boolean {
  return collectSubsearches(e).length > 0;
}

/**
 * A search with `[...]` in it: the top-level AND terms without a subsearch filter at once; the rows
 * that pass wait until the subsearches are done, then the whole expression decides.
 */
export function subsearchSearchOperator(cmd: SearchCommand, ctx: CommandContext, next: Operator): Operator {
  const nodes = collectSubsearches(cmd.expr);
  const open = needContext(ctx, cmd.pos);
  const handles = nodes.map((n) => open(n.pipeline, SUBSEARCH_MAXOUT));
  const top = cmd.expr?.kind === "and" ? cmd.expr.items : cmd.expr ? [cmd.expr] : [];
  const eagerItems = top.filter((e) => !hasSubsearch(e));
  const eager = compileSearchExpr(
    eagerItems.length === 0 ? undefined : { kind: "and", pos: cmd.pos, items: eagerItems },
    ctx,
  );
  const waiting: Row[] = [];
  return {
    push: (row) => {
      if (eager(row)) waiting.push(row);
      return true;
    },
    end: () => {
      const resolved = new Map<SearchSubsearch, RowPredicate>();
      nodes.forEach((n, i) => {
        resolved.set(n, subsearchPredicate(handles[i].rows, ctx, n.pos));
      });
      const pred = compileSearchExpr(cmd.expr, { ...ctx, subsearches: resolved });
      for (const r of waiting) if (pred(r) && !next.push(r)) break;
      waiting.length = 0;
      next.end();
    },
  };
}

// ------------------------------------------------------------------------------------------------
// join, append, appendpipe

function keyOf(row: Row, fields: string[]): string | undefined {
  const parts: string[] = [];
  for (const f of fields) {
    const v = getField(row, f);
    if (v === undefined) return undefined;
    parts.push(valueToStrings(v).join("\u0001"));
  }
  return parts.join("\u0000");
}

/**
 * `join` (Search Reference, join): each main result is merged with up to `max` subsearch results
 * that have the same values of the join fields (all common fields when none are named); `type=left`
 * (or `outer`) keeps main results without a match; `overwrite=false` keeps the main result's values;
 * `usetime=true` joins only subsearch results earlier (`earlier=true`) or later than the main result.
 */
export function joinOperator(cmd: JoinCommand, ctx: CommandContext, next: Operator): Operator {
  const handle = needContext(ctx, cmd.pos)(cmd.subsearch, JOIN_SUBSEARCH_MAXOUT);
  const main: Row[] = [];
  return {
    push: (row) => {
      main.push(row);
      return true;
    },
    end: () => {
      const right = handle.rows;
      let fields = cmd.fields;
      if (fields.length === 0) {
        // Every field the two sides share (internal fields aside).
        const common = new Set<string>();
        const rightNames = new Set<string>();
        for (const r of right) for (const k of r.fields.keys()) if (!k.startsWith("_")) rightNames.add(k);
        for (const m of main) for (const k of m.fields.keys()) if (rightNames.has(k)) common.add(k);
        fields = [...common];
      }
      const index = new Map<string, Row[]>();
      for (const r of right) {
        const k = keyOf(r, fields);
        if (k === undefined) continue;
        let list = index.get(k);
        if (!list) index.set(k, (list = []));
        list.push(r);
      }
      const keepUnmatched = cmd.type !== "inner";
      try {
        for (const m of main) {
          const k = fields.length === 0 ? undefined : keyOf(m, fields);
          let matches = k === undefined ? [] : (index.get(k) ?? []);
          if (cmd.usetime) {
            const t = rowTime(m);
            matches = matches.filter((r) => {
              const rt = rowTime(r);
              if (t === undefined || rt === undefined) return false;
              return cmd.earlier ? rt <= t : rt >= t;
            });
          }
          if (cmd.max > 0) matches = matches.slice(0, cmd.max);
          if (matches.length === 0) {
            if (keepUnmatched && !next.push(m)) return;
            continue;
          }
          for (const r of matches) {
            const out = matches.length === 1 ? m : cloneRow(m);
            for (const [f, v] of r.fields) {
              if (f === "_time" || f === "_raw") {
                if (!out.fields.has(f) || cmd.overwrite) out.fields.set(f, v);
                continue;
              }
              if (cmd.overwrite || !out.fields.has(f)) out.fields.set(f, v);
            }
            if (!next.push(out)) return;
          }
        }
      } finally {
        main.length = 0;
        next.end();
      }
    },
  };
}

/** `append [subsearch]`: the subsearch's results after the main results. */
export function appendOperator(cmd: AppendCommand, ctx: CommandContext, next: Operator): Operator {
  const handle = needContext(ctx, cmd.pos)(cmd.subsearch, SUBSEARCH_MAXOUT);
  let more = true;
  return {
    push: (row) => {
      if (more) more = next.push(row);
      // Keep reading: the subsearch may still need the events.
      return true;
    },
    end: () => {
      if (more) for (const r of handle.rows) if (!next.push({ ...cloneRow(r), seq: ctx.nextSeq() })) break;
      next.end();
    },
  };
}

/**
 * `appendpipe [commands]` (Search Reference, appendpipe): the commands run over the results that
 * reach appendpipe; their output is appended after those results.
 */
export function appendpipeOperator(cmd: AppendCommand, ctx: CommandContext, next: Operator): Operator {
  if (!ctx.openRowPipeline) throw ctx.src.error(cmd.pos, "appendpipe is not available here");
  const appended: Row[] = [];
  const sub = ctx.openRowPipeline(cmd.subsearch, {
    push: (r) => {
      appended.push(r);
      return true;
    },
    end: () => {},
  });
  let more = true;
  return {
    push: (row) => {
      sub.push(cloneRow(row));
      if (more) more = next.push(row);
      return true;
    },
    end: () => {
      sub.end();
      if (more) for (const r of appended) if (!next.push({ ...r, seq: ctx.nextSeq() })) break;
      next.end();
    },
  };
}

export type { Pipeline };
