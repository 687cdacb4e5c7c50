/**
 * convert (Search Reference, convert): converts field values in place, or into the `AS` field.
 *
 * - ctime: epoch seconds -> text in `timeformat` (default `%m/%d/%Y %H:%M:%S`), in the field view's zone.
 * - mktime: text in `timeformat` -> epoch seconds.
 * - dur2sec: `[D+]HH:MM:SS` -> seconds; mstime: `[MM:]SS.SSS` -> seconds.
 * - memk: `10`, `10k`, `10m`, `10g` -> kilobytes; rmcomma: `1,234` -> 1234; rmunit: `10kb` -> 10.
 * - auto: the first of number, rmcomma, memk, dur2sec, mstime, rmunit that converts; num: like auto, but a
 *   value that does not convert is removed (auto leaves it as it was).
 * - none(f): f is left alone by the other, wildcard, conversions of the same command.
 * A value that does not convert is left unchanged (ctime, mktime, dur2sec, ...); multivalue fields are
 * converted value by value. Wildcards (`ctime(*)`, `auto(count_*)`) match field names.
 */
import type { ConvertCommand } from "../ast.js";
import { fieldNames, getField, type Row } from "../row.js";
import { strftime, strptime } from "../time.js";
import { asNumber, type SplScalar } from "../values.js";
import { type CommandContext, fieldPattern, mapOperator, type Operator } from "./operator.js";

type Converter = (v: SplScalar) => SplScalar | undefined;

function dur2sec(s: string): number | undefined {
  const m = /^\s*(?:(\d+)\+)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$/.exec(s);
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

function mstime(s: string): number | undefined {
  const m = /^\s*(?:(\d+):)?(\d+(?:\.\d+)?)\s*$/.exec(s);
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
}

function memk(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*$/.exec(s);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  return Number(m[1]) * (unit === "m" ? 1024 : unit === "g" ? 1024 * 1024 : 1);
}

function rmcomma(s: string): number | undefined {
  return /^\s*[-+]?[\d,]*\.?\d+\s*$/.test(s) ? asNumber(s.replace(/,/g, "").trim()) : undefined;
}

function rmunit(s: string): number | undefined {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

function auto(s: string): number | undefined {
  return asNumber(s.trim()) ?? rmcomma(s) ?? memk(s) ?? dur2sec(s) ?? mstime(s) ?? rmunit(s);
}

function converterFor(fn: string, cmd: ConvertCommand, ctx: CommandContext): Converter {
  const text = (v: SplScalar) => (typeof v === "string" ? v : String(v));
  const keep = (f: (s: string) => SplScalar | undefined) => (v: SplScalar) => f(text(v)) ?? v;
  switch (fn) {
    case "ctime":
      return (v) => {
        const n = asNumber(v);
        return n === undefined ? v : strftime(n, cmd.timeformat, ctx.tz);
      };
    case "mktime":
      return keep((s) => strptime(s, cmd.timeformat, ctx.tz));
    case "dur2sec":
      return keep(dur2sec);
    case "mstime":
      return keep(mstime);
    case "memk":
      return keep(memk);
    case "rmcomma":
      return keep(rmcomma);
    case "rmunit":
      return keep(rmunit);
    case "auto":
      return keep(auto);
    case "num":
      return (v) => auto(text(v));
    default:
      return (v) => v;
  }
}

export function convertOperator(cmd: ConvertCommand, ctx: CommandContext, next: Operator): Operator {
  const excluded = cmd.conversions.filter((c) => c.fn === "none").map((c) => fieldPattern(c.field));
  const steps = cmd.conversions
    .filter((c) => c.fn !== "none")
    .map((c) => ({
      conversion: c,
      wildcard: c.field.includes("*"),
      matches: fieldPattern(c.field),
      convert: converterFor(c.fn, cmd, ctx),
    }));
  const apply = (row: Row, field: string, to: string, convert: Converter) => {
    const v = getField(row, field);
    if (v === undefined) return;
    let out: SplScalar | SplScalar[] | undefined;
    if (Array.isArray(v)) {
      const list = v.map(convert).filter((x): x is SplScalar => x !== undefined);
      out = list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
    } else out = convert(v);
    if (out === undefined) row.fields.delete(to);
    else row.fields.set(to, out);
  };
  return mapOperator(next, (row) => {
    for (const st of steps) {
      if (!st.wildcard) {
        apply(row, st.conversion.field, st.conversion.as ?? st.conversion.field, st.convert);
        continue;
      }
      for (const name of fieldNames(row)) {
        if (st.matches(name) && !excluded.some((x) => x(name))) apply(row, name, name, st.convert);
      }
    }
    return row;
  });
}
