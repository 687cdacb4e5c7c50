/**
 * replace (Search Reference, replace): `replace "a*" WITH "b*", x WITH y IN f1, f2`. A value matching the
 * whole pattern (case-sensitive; `*` the only wildcard) is replaced; the text a `*` matched goes to the
 * same-numbered `*` of the replacement. The first pair that matches wins. Without IN, every field except
 * the internal ones (`_raw`, `_time`) is considered. Multivalue fields are replaced value by value.
 */
import type { ReplaceCommand } from "../ast.js";
import { fieldNames, getField } from "../row.js";
import { type SplScalar, scalarToString } from "../values.js";
import { fieldPattern, mapOperator, type Operator } from "./operator.js";

function compilePair(from: string, to: string): (s: string) => string | undefined {
  const re = new RegExp(
    `^${from
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join("(.*?)")}$`,
    "s",
  );
  const parts = to.split("*");
  return (s) => {
    const m = re.exec(s);
    if (!m) return undefined;
    let out = parts[0];
    for (let i = 1; i < parts.length; i++) out += (m[i] ?? "") + parts[i];
    return out;
  };
}

export function replaceOperator(cmd: ReplaceCommand, next: Operator): Operator {
  const pairs = cmd.pairs.map((p) => compilePair(p.from, p.to));
  const patterns = cmd.fields.map(fieldPattern);
  const one = (v: SplScalar): SplScalar => {
    const s = scalarToString(v);
    for (const p of pairs) {
      const r = p(s);
      if (r !== undefined) return r;
    }
    return v;
  };
  return mapOperator(next, (row) => {
    const names =
      patterns.length === 0
        ? fieldNames(row).filter((n) => !n.startsWith("_"))
        : fieldNames(row).filter((n) => patterns.some((p) => p(n)));
    for (const n of names) {
      const v = getField(row, n);
      if (v === undefined) continue;
      row.fields.set(n, Array.isArray(v) ? v.map(one) : one(v));
    }
    return row;
  });
}
