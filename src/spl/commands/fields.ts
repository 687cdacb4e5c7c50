/** table, fields and rename: streaming projections that also define the output columns. */
import type { FieldsCommand, RenameCommand, TableCommand } from "../ast.js";
import { deleteField, fieldNames, getField, type Row } from "../row.js";
import type { SplValue } from "../values.js";
import { fieldPattern, type Operator } from "./operator.js";

/** Output column order, as table/fields/rename leave it. */
export interface ColumnsState {
  columns: string[] | undefined;
  /**
   * Columns set by a transforming command (stats, top, tstats): fields a later command adds (eval,
   * lookup, convert ...) are appended as new columns, as Splunk shows them. table/fields close the list.
   */
  open?: boolean;
}

function addColumn(state: ColumnsState, name: string): void {
  if (state.columns === undefined) state.columns = [];
  if (!state.columns.includes(name)) state.columns.push(name);
}

/**
 * table: keeps only the listed fields, in the listed order (wildcards expand to the matching fields of
 * each row). A listed field missing from a row is an empty cell. `_raw` is built only when listed.
 */
export function tableOperator(cmd: TableCommand, columns: ColumnsState, next: Operator): Operator {
  const wild = cmd.fields.some((f) => f.includes("*"));
  const fixed = [...new Set(cmd.fields)];
  columns.columns = wild ? [] : [...fixed];
  columns.open = false;
  const patterns = cmd.fields.map((f) => ({ f, m: fieldPattern(f) }));
  return {
    push: (row) => {
      const fields = new Map<string, SplValue>();
      if (!wild) {
        for (const name of fixed) {
          const v = getField(row, name);
          if (v !== undefined) fields.set(name, v);
        }
      } else {
        const names = fieldNames(row);
        for (const p of patterns) {
          if (!p.f.includes("*")) {
            addColumn(columns, p.f);
            const v = getField(row, p.f);
            if (v !== undefined) fields.set(p.f, v);
            continue;
          }
          for (const n of names.filter(p.m).sort()) {
            if (fields.has(n)) continue;
            addColumn(columns, n);
            const v = getField(row, n);
            if (v !== undefined) fields.set(n, v);
          }
        }
      }
      return next.push({ fields, event: row.event, seq: row.seq, searchTime: row.searchTime });
    },
    end: () => next.end(),
  };
}

/** fields + list keeps the listed fields and the internal ones (`_time`, `_raw`); fields - list removes. */
export function fieldsOperator(cmd: FieldsCommand, columns: ColumnsState, next: Operator): Operator {
  const patterns = cmd.fields.map(fieldPattern);
  const keep = (name: string) => patterns.some((m) => m(name));
  if (cmd.mode === "-") {
    if (columns.columns) columns.columns = columns.columns.filter((c) => !keep(c));
    return {
      push: (row) => {
        for (const n of fieldNames(row)) if (keep(n)) deleteField(row, n);
        return next.push(row);
      },
      end: () => next.end(),
    };
  }
  const wild = cmd.fields.some((f) => f.includes("*"));
  columns.columns = wild ? [] : [...new Set(cmd.fields)];
  columns.open = false;
  return {
    push: (row: Row) => {
      const fields = new Map<string, SplValue>();
      for (const f of cmd.fields) {
        if (!f.includes("*")) {
          const v = getField(row, f);
          if (v !== undefined) fields.set(f, v);
          continue;
        }
        const m = fieldPattern(f);
        for (const n of fieldNames(row)) {
          if (!m(n) || fields.has(n)) continue;
          if (wild) addColumn(columns, n);
          fields.set(n, getField(row, n) as SplValue);
        }
      }
      const time = row.fields.get("_time");
      if (time !== undefined && !fields.has("_time")) fields.set("_time", time);
      const raw = fields.has("_raw") ? undefined : row.raw;
      const rawValue = row.fields.get("_raw");
      if (rawValue !== undefined) fields.set("_raw", rawValue);
      return next.push({ fields, raw, event: row.event, seq: row.seq, searchTime: row.searchTime });
    },
    end: () => next.end(),
  };
}

/** Target name of a wildcard rename: `foo*` AS `bar*` maps `foo_x` to `bar_x`. */
function renameTarget(from: string, to: string, name: string): string | undefined {
  if (!from.includes("*")) return name === from ? to : undefined;
  const re = new RegExp(
    `^${from
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join("(.*)")}$`,
    "s",
  );
  const m = re.exec(name);
  if (!m) return undefined;
  let k = 1;
  return to.replace(/\*/g, () => m[k++] ?? "");
}

export function renameOperator(cmd: RenameCommand, columns: ColumnsState, next: Operator): Operator {
  if (columns.columns) {
    columns.columns = columns.columns.map((c) => {
      for (const r of cmd.renames) {
        const t = renameTarget(r.from, r.to, c);
        if (t !== undefined) return t;
      }
      return c;
    });
  }
  return {
    push: (row) => {
      for (const r of cmd.renames) {
        for (const n of fieldNames(row)) {
          const t = renameTarget(r.from, r.to, n);
          if (t === undefined || t === n) continue;
          const v = getField(row, n);
          deleteField(row, n);
          if (v !== undefined) row.fields.set(t, v);
        }
      }
      return next.push(row);
    },
    end: () => next.end(),
  };
}
