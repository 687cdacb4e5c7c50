/**
 * The push-based operator every command compiles to. Rows are pushed in order; `push` returns false
 * when the operator needs no more input (head has its rows), so the reader can stop early. `end`
 * flushes what a buffering command holds and ends the next operator.
 */
import type { FieldViewOptions } from "../../events/fields.js";
import type { Pipeline } from "../ast.js";
import type { SourceText } from "../errors.js";
import type { EvalContext } from "../eval.js";
import type { Row } from "../row.js";
import type { SearchContext } from "../search-expr.js";

export interface Operator {
  push(row: Row): boolean;
  end(): void;
}

export interface CommandContext extends EvalContext, SearchContext {
  src: SourceText;
  now: number;
  tz: string;
  fieldView: FieldViewOptions;
  lookupsDir?: string;
  /** Next arrival number for rows a command creates (stats results, lookup rows). */
  nextSeq(): number;
  /** True when rows reaching this command are not known to be newest first (see planner). */
  unorderedInput: boolean;
  /**
   * Opens a subsearch over the same events (or none, if it starts with a generating command such as
   * inputlookup); its rows are complete when this command's end() is called. At most `maxout` rows.
   */
  openSubsearch?(pipeline: Pipeline, maxout: number): { rows: Row[]; truncated: boolean };
  /** Builds a pipeline of commands over rows (appendpipe, foreach, map templates): its first operator. */
  openRowPipeline?(pipeline: Pipeline, sink: Operator): Operator;
}

/** An operator that forwards each row through `f` (undefined = drop). */
export function mapOperator(next: Operator, f: (row: Row) => Row | undefined): Operator {
  return {
    push: (row) => {
      const out = f(row);
      return out === undefined ? true : next.push(out);
    },
    end: () => next.end(),
  };
}

/** Pushes rows until the next operator refuses more. */
export function pushAll(next: Operator, rows: Iterable<Row>): boolean {
  for (const r of rows) if (!next.push(r)) return false;
  return true;
}

/** Wildcard field-name pattern (`foo*`), case-sensitive like field names. */
export function fieldPattern(pattern: string): (name: string) => boolean {
  if (!pattern.includes("*")) return (n) => n === pattern;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
    "s",
  );
  return (n) => re.test(n);
}
