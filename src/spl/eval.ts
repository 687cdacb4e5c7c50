/**
 * eval/where expressions: compiled once into closures over a Row.
 *
 * Null (a missing field, null(), a failed conversion) is `undefined` and propagates (spl-semantics
 * §2.2): arithmetic, comparison and most functions given null return null; `AND` is false if either
 * side is false, else null if either is null; `OR` is true if either is true, else null; `NOT null` is
 * null. case()/if()/where treat anything but TRUE as not taken (decision D-null-bool).
 */
import { createHash } from "node:crypto";
import type { EvalExpr } from "./ast.js";
import type { SourceText, SplError } from "./errors.js";
import { compileRegex, findAll, RegexError, replaceRegex } from "./regex.js";
import { getField, type Row } from "./row.js";
import { resolveTimeSpec, strftime, strptime } from "./time.js";
import {
  asNumber,
  formatNumber,
  looksNumeric,
  type SplScalar,
  type SplValue,
  scalarToString,
} from "./values.js";
import { compileLike } from "./wildcard.js";

/** An eval result: a value, a boolean (only inside expressions), or null (undefined). */
export type EvalResult = SplValue | boolean | undefined;
export type CompiledEval = (row: Row) => EvalResult;

export interface EvalContext {
  src: SourceText;
  /** Search start time, epoch seconds (now()). */
  now: number;
  tz: string;
  /** Compiles a search string for searchmatch(). */
  compileSearch?: (text: string, pos: number) => (row: Row) => boolean;
}

function scalarOf(v: EvalResult): SplScalar | boolean | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function num(v: EvalResult): number | undefined {
  const s = scalarOf(v);
  if (s === undefined || typeof s === "boolean") return undefined;
  return asNumber(s);
}

function str(v: EvalResult): string | undefined {
  const s = scalarOf(v);
  if (s === undefined) return undefined;
  if (typeof s === "boolean") return s ? "True" : "False";
  return scalarToString(s);
}

function mv(v: EvalResult): SplScalar[] {
  if (v === undefined || typeof v === "boolean") return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Equality/ordering between two scalars: numeric when both look numeric, else string (case-sensitive)
 * (decision D-eval-compare). A multivalue operand counts as its first value (decision D-eval-mv).
 */
function compareValues(a: SplScalar | boolean, b: SplScalar | boolean): number {
  if (typeof a === "boolean" || typeof b === "boolean") return a === b ? 0 : 1;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  const sa = scalarToString(a);
  const sb = scalarToString(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function toBool(v: EvalResult, err: () => SplError): boolean | undefined {
  if (v === undefined || typeof v === "boolean") return v;
  throw err();
}

/** The value of an expression used as a condition: TRUE only (null and FALSE are not taken). */
export function isTrue(v: EvalResult): boolean {
  return v === true;
}

type FnImpl = (args: CompiledEval[], row: Row) => EvalResult;
interface FnSpec {
  min: number;
  max: number;
  impl: (ctx: EvalContext, expr: Extract<EvalExpr, { kind: "call" }>, args: CompiledEval[]) => FnImpl;
}

const simple =
  (f: (...vals: EvalResult[]) => EvalResult): FnSpec["impl"] =>
  () =>
  (args, row) =>
    f(...args.map((a) => a(row)));

function regexArg(ctx: EvalContext, expr: Extract<EvalExpr, { kind: "call" }>, index: number) {
  const a = expr.args[index];
  if (a?.kind !== "string") return undefined;
  try {
    return compileRegex(a.value);
  } catch (e) {
    if (e instanceof RegexError) throw ctx.src.error(a.pos, e.message);
    throw e;
  }
}

function dynamicRegex(ctx: EvalContext, pos: number, pattern: string) {
  try {
    return compileRegex(pattern);
  } catch (e) {
    if (e instanceof RegexError) throw ctx.src.error(pos, e.message);
    throw e;
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  // Half away from zero, as Splunk's round().
  return (Math.sign(n) * Math.round(Math.abs(n) * f + 1e-9)) / f;
}

function printf(format: string, values: EvalResult[]): string {
  let k = 0;
  return format.replace(
    /%([-+ 0#']*)(\d+|\*)?(?:\.(\d+|\*))?([sdiufFeEgGxXoc%])/g,
    (_all, flags: string, width, prec, conv: string) => {
      if (conv === "%") return "%";
      if (width === "*") width = String(num(values[k++]) ?? 0);
      if (prec === "*") prec = String(num(values[k++]) ?? 0);
      const v = values[k++];
      let s: string;
      switch (conv) {
        case "s":
          s = str(v) ?? "";
          if (prec !== undefined) s = s.slice(0, Number(prec));
          break;
        case "c":
          s = String.fromCodePoint(num(v) ?? 0);
          break;
        case "d":
        case "i":
        case "u": {
          const n = Math.trunc(num(v) ?? 0);
          s = String(Math.abs(n));
          if (flags.includes("'")) s = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
          s = (n < 0 ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "") + s;
          break;
        }
        case "x":
        case "X":
        case "o":
          s = Math.trunc(num(v) ?? 0).toString(conv === "o" ? 8 : 16);
          if (conv === "X") s = s.toUpperCase();
          break;
        case "e":
        case "E":
          s = (num(v) ?? 0).toExponential(prec === undefined ? 6 : Number(prec));
          if (conv === "E") s = s.toUpperCase();
          break;
        case "g":
        case "G":
          s = String(Number((num(v) ?? 0).toPrecision(prec === undefined ? 6 : Math.max(1, Number(prec)))));
          break;
        default: {
          const n = num(v) ?? 0;
          s = n.toFixed(prec === undefined ? 6 : Number(prec));
          if (flags.includes("+") && n >= 0) s = `+${s}`;
        }
      }
      if (width !== undefined && s.length < Number(width)) {
        s = flags.includes("-")
          ? s.padEnd(Number(width))
          : flags.includes("0") && conv !== "s"
            ? s.padStart(Number(width), "0")
            : s.padStart(Number(width));
      }
      return s;
    },
  );
}

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** cidrmatch("10.0.0.0/8", ip): IPv4 only (decision D-cidr). */
export function cidrMatch(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const b = ipv4ToInt(base);
  const a = ipv4ToInt(ip);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : ~((1 << (32 - bits)) - 1) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function tostring(v: EvalResult, format: string | undefined): string | undefined {
  const s = scalarOf(v);
  if (s === undefined) return undefined;
  if (typeof s === "boolean") return s ? "True" : "False";
  if (format === undefined) return scalarToString(s);
  const n = asNumber(s);
  if (n === undefined) return scalarToString(s);
  if (format === "hex") return `0x${Math.trunc(n).toString(16).toUpperCase()}`;
  if (format === "commas") {
    const r = Math.abs(n) >= 1e15 ? n : round(n, 2);
    const [i, f] = String(Math.abs(r)).split(".");
    return `${r < 0 ? "-" : ""}${i.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${f ? `.${f}` : ""}`;
  }
  if (format === "duration") {
    const total = Math.trunc(Math.abs(n));
    const days = Math.floor(total / 86400);
    const hms = `${String(Math.floor((total % 86400) / 3600)).padStart(2, "0")}:${String(Math.floor((total % 3600) / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
    return `${n < 0 ? "-" : ""}${days > 0 ? `${days}+` : ""}${hms}`;
  }
  return scalarToString(s);
}

function tonumber(v: EvalResult, base: number): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const t = s.trim();
  if (base === 10) return looksNumeric(t) ? Number(t) : undefined;
  const body = base === 16 ? t.replace(/^0x/i, "") : t;
  const digits = "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, base);
  const neg = body.startsWith("-");
  const b = neg ? body.slice(1) : body;
  if (b === "" || ![...b.toLowerCase()].every((c) => digits.includes(c))) return undefined;
  const n = Number.parseInt(b, base);
  return neg ? -n : n;
}

const FUNCTIONS: Record<string, FnSpec> = {
  // comparison and conditional
  case: {
    min: 2,
    max: 200,
    impl: (ctx, expr) => {
      if (expr.args.length % 2 !== 0) throw ctx.src.error(expr.pos, "case() takes pairs of condition, value");
      return (args, row) => {
        for (let i = 0; i < args.length; i += 2) if (args[i](row) === true) return args[i + 1](row);
        return undefined;
      };
    },
  },
  if: { min: 3, max: 3, impl: () => (args, row) => (args[0](row) === true ? args[1](row) : args[2](row)) },
  validate: {
    min: 2,
    max: 200,
    impl: () => (args, row) => {
      for (let i = 0; i + 1 < args.length; i += 2) if (args[i](row) !== true) return args[i + 1](row);
      return undefined;
    },
  },
  true: { min: 0, max: 0, impl: () => () => true },
  false: { min: 0, max: 0, impl: () => () => false },
  null: { min: 0, max: 0, impl: () => () => undefined },
  isnull: { min: 1, max: 1, impl: simple((v) => v === undefined) },
  isnotnull: { min: 1, max: 1, impl: simple((v) => v !== undefined) },
  isnum: {
    min: 1,
    max: 1,
    impl: simple(
      (v) =>
        typeof scalarOf(v) === "number" ||
        (typeof scalarOf(v) === "string" && looksNumeric(scalarOf(v) as string)),
    ),
  },
  isstr: {
    min: 1,
    max: 1,
    impl: simple((v) => typeof scalarOf(v) === "string" && !looksNumeric(scalarOf(v) as string)),
  },
  isbool: { min: 1, max: 1, impl: simple((v) => typeof v === "boolean") },
  typeof: {
    min: 1,
    max: 1,
    impl: simple((v) => {
      const s = scalarOf(v);
      if (s === undefined) return "Invalid";
      if (typeof s === "boolean") return "Boolean";
      if (typeof s === "number" || looksNumeric(s)) return "Number";
      return "String";
    }),
  },
  coalesce: {
    min: 1,
    max: 200,
    impl: () => (args, row) => {
      for (const a of args) {
        const v = a(row);
        if (v !== undefined) return v;
      }
      return undefined;
    },
  },
  nullif: {
    min: 2,
    max: 2,
    impl: simple((a, b) =>
      a !== undefined && b !== undefined && compareValues(scalarOf(a)!, scalarOf(b)!) === 0 ? undefined : a,
    ),
  },
  in: {
    min: 2,
    max: 1000,
    impl: () => (args, row) => {
      const v = scalarOf(args[0](row));
      if (v === undefined) return undefined;
      for (let i = 1; i < args.length; i++) {
        const c = scalarOf(args[i](row));
        if (c !== undefined && compareValues(v, c) === 0) return true;
      }
      return false;
    },
  },
  match: {
    min: 2,
    max: 2,
    impl: (ctx, expr) => {
      const fixed = regexArg(ctx, expr, 1);
      return (args, row) => {
        const s = str(args[0](row));
        if (s === undefined) return undefined;
        const rx =
          fixed ??
          (() => {
            const p = str(args[1](row));
            return p === undefined ? undefined : dynamicRegex(ctx, expr.args[1].pos, p);
          })();
        return rx === undefined ? undefined : rx.test(s);
      };
    },
  },
  like: {
    min: 2,
    max: 2,
    impl: () => (args, row) => {
      const s = str(args[0](row));
      const p = str(args[1](row));
      return s === undefined || p === undefined ? undefined : compileLike(p)(s);
    },
  },
  searchmatch: {
    min: 1,
    max: 1,
    impl: (ctx, expr) => {
      const a = expr.args[0];
      if (a.kind !== "string" || !ctx.compileSearch)
        throw ctx.src.error(expr.pos, "searchmatch() needs a quoted search string");
      const pred = ctx.compileSearch(a.value, a.pos);
      return (_args, row) => pred(row);
    },
  },
  cidrmatch: {
    min: 2,
    max: 2,
    impl: simple((c, ip) => {
      const cs = str(c);
      const is = str(ip);
      return cs === undefined || is === undefined ? undefined : cidrMatch(cs, is);
    }),
  },
  // text
  lower: { min: 1, max: 1, impl: simple((v) => str(v)?.toLowerCase()) },
  upper: { min: 1, max: 1, impl: simple((v) => str(v)?.toUpperCase()) },
  len: {
    min: 1,
    max: 1,
    impl: simple((v) => (str(v) === undefined ? undefined : Array.from(str(v) as string).length)),
  },
  substr: {
    min: 2,
    max: 3,
    impl: simple((v, start, length) => {
      const s = str(v);
      const st = num(start);
      if (s === undefined || st === undefined) return undefined;
      const chars = Array.from(s);
      // SQLite semantics: 1-based; a negative start counts from the end; 0 behaves like 1 minus one char.
      let from = st > 0 ? st - 1 : st < 0 ? chars.length + st : -1;
      let len = length === undefined ? chars.length : num(length);
      if (len === undefined) return undefined;
      if (from < 0) {
        len += from;
        from = 0;
      }
      return len <= 0 ? "" : chars.slice(from, from + len).join("");
    }),
  },
  replace: {
    min: 3,
    max: 3,
    impl: (ctx, expr) => {
      const fixed = regexArg(ctx, expr, 1);
      return (args, row) => {
        const s = str(args[0](row));
        const repl = str(args[2](row));
        if (s === undefined || repl === undefined) return undefined;
        const p =
          fixed ??
          (() => {
            const t = str(args[1](row));
            return t === undefined ? undefined : dynamicRegex(ctx, expr.args[1].pos, t);
          })();
        return p === undefined ? undefined : replaceRegex(p, s, repl);
      };
    },
  },
  trim: {
    min: 1,
    max: 2,
    impl: simple((v, chars) => trimChars(str(v), chars === undefined ? undefined : str(chars), true, true)),
  },
  ltrim: {
    min: 1,
    max: 2,
    impl: simple((v, chars) => trimChars(str(v), chars === undefined ? undefined : str(chars), true, false)),
  },
  rtrim: {
    min: 1,
    max: 2,
    impl: simple((v, chars) => trimChars(str(v), chars === undefined ? undefined : str(chars), false, true)),
  },
  split: {
    min: 2,
    max: 2,
    impl: simple((v, d) => {
      const s = str(v);
      const delim = str(d);
      if (s === undefined || delim === undefined) return undefined;
      return delim === "" ? Array.from(s) : s.split(delim);
    }),
  },
  urldecode: {
    min: 1,
    max: 1,
    impl: simple((v) => {
      const s = str(v);
      if (s === undefined) return undefined;
      try {
        return decodeURIComponent(s.replace(/\+/g, " "));
      } catch {
        return s
          .replace(/\+/g, " ")
          .replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      }
    }),
  },
  md5: {
    min: 1,
    max: 1,
    impl: simple((v) =>
      str(v) === undefined
        ? undefined
        : createHash("md5")
            .update(str(v) as string, "utf8")
            .digest("hex"),
    ),
  },
  sha1: {
    min: 1,
    max: 1,
    impl: simple((v) =>
      str(v) === undefined
        ? undefined
        : createHash("sha1")
            .update(str(v) as string, "utf8")
            .digest("hex"),
    ),
  },
  sha256: {
    min: 1,
    max: 1,
    impl: simple((v) =>
      str(v) === undefined
        ? undefined
        : createHash("sha256")
            .update(str(v) as string, "utf8")
            .digest("hex"),
    ),
  },
  printf: {
    min: 1,
    max: 200,
    impl: simple((f, ...vals) => {
      const fs = str(f);
      return fs === undefined ? undefined : printf(fs, vals);
    }),
  },
  // multivalue
  mvindex: {
    min: 2,
    max: 3,
    impl: simple((v, s, e) => {
      const list = mv(v);
      let start = num(s);
      if (start === undefined || list.length === 0) return undefined;
      if (start < 0) start += list.length;
      let end = e === undefined ? start : num(e);
      if (end === undefined) return undefined;
      if (end < 0) end += list.length;
      if (start < 0 || start >= list.length || end < start) return undefined;
      const out = list.slice(start, Math.min(end, list.length - 1) + 1);
      return out.length === 1 ? out[0] : out;
    }),
  },
  mvcount: { min: 1, max: 1, impl: simple((v) => (v === undefined ? undefined : mv(v).length)) },
  mvjoin: {
    min: 2,
    max: 2,
    impl: simple((v, d) => {
      const delim = str(d);
      if (v === undefined || delim === undefined) return undefined;
      return mv(v).map(scalarToString).join(delim);
    }),
  },
  mvappend: {
    min: 1,
    max: 200,
    impl: simple((...vals) => {
      const out: SplScalar[] = [];
      for (const v of vals) out.push(...mv(v));
      return out.length === 0 ? undefined : out.length === 1 ? out[0] : out;
    }),
  },
  // mvfind(mv, regex): index of the first value the regex matches, else null.
  mvfind: {
    min: 2,
    max: 2,
    impl: (ctx, expr) => {
      const fixed = regexArg(ctx, expr, 1);
      return (args, row) => {
        const v = args[0](row);
        if (v === undefined) return undefined;
        const rx =
          fixed ??
          (() => {
            const p = str(args[1](row));
            return p === undefined ? undefined : dynamicRegex(ctx, expr.args[1].pos, p);
          })();
        if (rx === undefined) return undefined;
        const i = mv(v).findIndex((x) => rx.test(scalarToString(x)));
        return i < 0 ? undefined : i;
      };
    },
  },
  // mvzip(a, b[, delim]): pairs the values of a and b ("a1,b1", ...), as far as the shorter goes.
  mvzip: {
    min: 2,
    max: 3,
    impl: simple((a, b, d) => {
      if (a === undefined || b === undefined) return undefined;
      const delim = d === undefined ? "," : str(d);
      if (delim === undefined) return undefined;
      const x = mv(a);
      const y = mv(b);
      const out = x
        .slice(0, Math.min(x.length, y.length))
        .map((v, i) => `${scalarToString(v)}${delim}${scalarToString(y[i])}`);
      return out.length === 1 ? out[0] : out;
    }),
  },
  // mvrange(start, end[, step]): numbers from start up to, not including, end.
  mvrange: {
    min: 2,
    max: 3,
    impl: simple((a, b, c) => {
      const start = num(a);
      const end = num(b);
      const step = c === undefined ? 1 : num(c);
      if (start === undefined || end === undefined || step === undefined || step <= 0) return undefined;
      const out: number[] = [];
      for (let x = start; x < end && out.length < 10000; x += step) out.push(x);
      return out.length === 0 ? undefined : out.length === 1 ? out[0] : out;
    }),
  },
  mvdedup: {
    min: 1,
    max: 1,
    impl: simple((v) => {
      if (v === undefined) return undefined;
      const out = [...new Set(mv(v).map(scalarToString))];
      return out.length === 1 ? out[0] : out;
    }),
  },
  mvsort: {
    min: 1,
    max: 1,
    impl: simple((v) => {
      if (v === undefined) return undefined;
      const out = mv(v).map(scalarToString).sort();
      return out.length === 1 ? out[0] : out;
    }),
  },
  mvfilter: {
    min: 1,
    max: 1,
    impl: (ctx, expr, args) => {
      // mvfilter(<predicate on one field>): the predicate sees each value in turn as that field.
      const fields = new Set<string>();
      const collect = (e: EvalExpr): void => {
        if (e.kind === "field") fields.add(e.name);
        else if (e.kind === "binary") {
          collect(e.left);
          collect(e.right);
        } else if (e.kind === "unary" || e.kind === "group") collect(e.expr);
        else if (e.kind === "call") e.args.forEach(collect);
        else if (e.kind === "in") {
          collect(e.expr);
          e.list.forEach(collect);
        }
      };
      collect(expr.args[0]);
      if (fields.size !== 1)
        throw ctx.src.error(expr.pos, "mvfilter() takes an expression on exactly one field");
      const field = [...fields][0];
      const pred = args[0];
      return (_a, row) => {
        const list = mv(getField(row, field));
        if (list.length === 0) return undefined;
        const saved = row.fields.get(field);
        const out: SplScalar[] = [];
        try {
          for (const v of list) {
            row.fields.set(field, v);
            if (pred(row) === true) out.push(v);
          }
        } finally {
          if (saved === undefined) row.fields.delete(field);
          else row.fields.set(field, saved);
        }
        return out.length === 0 ? undefined : out.length === 1 ? out[0] : out;
      };
    },
  },
  // conversion and math
  tonumber: {
    min: 1,
    max: 2,
    impl: simple((v, b) => {
      const base = b === undefined ? 10 : num(b);
      return base === undefined ? undefined : tonumber(v, base);
    }),
  },
  tostring: { min: 1, max: 2, impl: simple((v, f) => tostring(v, f === undefined ? undefined : str(f))) },
  log: {
    min: 1,
    max: 2,
    impl: simple((x, b) => {
      const n = num(x);
      const base = b === undefined ? 10 : num(b);
      return n === undefined || base === undefined || n <= 0 ? undefined : Math.log(n) / Math.log(base);
    }),
  },
  ln: {
    min: 1,
    max: 1,
    impl: simple((x) =>
      num(x) === undefined || (num(x) as number) <= 0 ? undefined : Math.log(num(x) as number),
    ),
  },
  exp: {
    min: 1,
    max: 1,
    impl: simple((x) => (num(x) === undefined ? undefined : Math.exp(num(x) as number))),
  },
  pi: { min: 0, max: 0, impl: simple(() => Math.PI) },
  exact: { min: 1, max: 1, impl: simple((x) => x) },
  isint: {
    min: 1,
    max: 1,
    impl: simple((x) => {
      const s = scalarOf(x);
      return typeof s === "number"
        ? Number.isInteger(s)
        : typeof s === "string" && /^\s*[-+]?\d+\s*$/.test(s);
    }),
  },
  round: {
    min: 1,
    max: 2,
    impl: simple((v, d) => {
      const n = num(v);
      const digits = d === undefined ? 0 : num(d);
      return n === undefined || digits === undefined ? undefined : round(n, digits);
    }),
  },
  abs: {
    min: 1,
    max: 1,
    impl: simple((v) => (num(v) === undefined ? undefined : Math.abs(num(v) as number))),
  },
  floor: {
    min: 1,
    max: 1,
    impl: simple((v) => (num(v) === undefined ? undefined : Math.floor(num(v) as number))),
  },
  ceil: {
    min: 1,
    max: 1,
    impl: simple((v) => (num(v) === undefined ? undefined : Math.ceil(num(v) as number))),
  },
  ceiling: {
    min: 1,
    max: 1,
    impl: simple((v) => (num(v) === undefined ? undefined : Math.ceil(num(v) as number))),
  },
  sqrt: {
    min: 1,
    max: 1,
    impl: simple((v) => (num(v) === undefined ? undefined : Math.sqrt(num(v) as number))),
  },
  pow: {
    min: 2,
    max: 2,
    impl: simple((a, b) =>
      num(a) === undefined || num(b) === undefined ? undefined : (num(a) as number) ** (num(b) as number),
    ),
  },
  min: { min: 1, max: 200, impl: simple((...vals) => extreme(vals, -1)) },
  max: { min: 1, max: 200, impl: simple((...vals) => extreme(vals, 1)) },
  // time
  now: { min: 0, max: 0, impl: (ctx) => () => ctx.now },
  time: { min: 0, max: 0, impl: () => () => Date.now() / 1000 },
  strftime: {
    min: 2,
    max: 2,
    impl: (ctx) => (args, row) => {
      const n = num(args[0](row));
      const fs = str(args[1](row));
      return n === undefined || fs === undefined ? undefined : strftime(n, fs, ctx.tz);
    },
  },
  strptime: {
    min: 2,
    max: 2,
    impl: (ctx) => (args, row) => {
      const ss = str(args[0](row));
      const fs = str(args[1](row));
      return ss === undefined || fs === undefined ? undefined : strptime(ss, fs, ctx.tz);
    },
  },
  relative_time: {
    min: 2,
    max: 2,
    impl: (ctx) => (args, row) => {
      const n = num(args[0](row));
      const sp = str(args[1](row));
      return n === undefined || sp === undefined ? undefined : resolveTimeSpec(sp, n, ctx.tz);
    },
  },
};

function trimChars(
  s: string | undefined,
  chars: string | undefined,
  left: boolean,
  right: boolean,
): string | undefined {
  if (s === undefined) return undefined;
  const set = new Set(chars === undefined ? [" ", "\t", "\n", "\r", "\v", "\f"] : Array.from(chars));
  const a = Array.from(s);
  let i = 0;
  let j = a.length;
  if (left) while (i < j && set.has(a[i])) i++;
  if (right) while (j > i && set.has(a[j - 1])) j--;
  return a.slice(i, j).join("");
}

/** min()/max(): numbers compare numerically and rank before strings (decision D-minmax). */
function extreme(vals: EvalResult[], dir: 1 | -1): SplScalar | undefined {
  let best: SplScalar | undefined;
  for (const v of vals) {
    for (const s of mv(v)) {
      if (best === undefined) {
        best = s;
        continue;
      }
      const a = asNumber(s);
      const b = asNumber(best);
      let c: number;
      if (a !== undefined && b !== undefined) c = a - b;
      else if (a !== undefined)
        c = -1; // a number is below any string
      else if (b !== undefined) c = 1;
      else
        c = scalarToString(s) < scalarToString(best) ? -1 : scalarToString(s) > scalarToString(best) ? 1 : 0;
      if (dir === 1 ? c > 0 : c < 0) best = s;
    }
  }
  return best;
}

export const EVAL_FUNCTIONS = Object.keys(FUNCTIONS).sort();

/** Compiles an eval expression; unknown functions and wrong argument counts are errors at their position. */
export function compileEval(expr: EvalExpr, ctx: EvalContext): CompiledEval {
  const boolErr = (op: string, pos: number) => () =>
    ctx.src.error(pos, `'${op}' takes boolean arguments (use a comparison or a function like match())`);
  switch (expr.kind) {
    case "string": {
      const v = expr.value;
      return () => v;
    }
    case "number": {
      const v = expr.value;
      return () => v;
    }
    case "field": {
      const name = expr.name;
      return (row) => getField(row, name);
    }
    case "group":
      return compileEval(expr.expr, ctx);
    case "unary": {
      const inner = compileEval(expr.expr, ctx);
      if (expr.op === "NOT") {
        const err = boolErr("NOT", expr.pos);
        return (row) => {
          const v = toBool(inner(row), err);
          return v === undefined ? undefined : !v;
        };
      }
      const sign = expr.op === "-" ? -1 : 1;
      return (row) => {
        const n = num(inner(row));
        return n === undefined ? undefined : sign * n;
      };
    }
    case "in": {
      const subject = compileEval(expr.expr, ctx);
      const list = expr.list.map((e) => compileEval(e, ctx));
      return (row) => {
        const v = scalarOf(subject(row));
        if (v === undefined) return undefined;
        return list.some((c) => {
          const x = scalarOf(c(row));
          return x !== undefined && compareValues(v, x) === 0;
        });
      };
    }
    case "call": {
      const spec = FUNCTIONS[expr.name];
      if (!spec) throw ctx.src.error(expr.pos, `unsupported eval function '${expr.name}()'`);
      if (expr.args.length < spec.min || expr.args.length > spec.max) {
        const range =
          spec.min === spec.max
            ? `${spec.min}`
            : spec.max >= 200
              ? `at least ${spec.min}`
              : `${spec.min} to ${spec.max}`;
        throw ctx.src.error(expr.pos, `${expr.name}() takes ${range} argument(s), got ${expr.args.length}`);
      }
      const args = expr.args.map((a) => compileEval(a, ctx));
      const impl = spec.impl(ctx, expr, args);
      return (row) => impl(args, row);
    }
    case "binary":
      return compileBinary(expr, ctx, boolErr);
  }
}

function compileBinary(
  expr: Extract<EvalExpr, { kind: "binary" }>,
  ctx: EvalContext,
  boolErr: (op: string, pos: number) => () => SplError,
): CompiledEval {
  const l = compileEval(expr.left, ctx);
  const r = compileEval(expr.right, ctx);
  const err = boolErr(expr.op, expr.pos);
  switch (expr.op) {
    case "AND":
      return (row) => {
        const a = toBool(l(row), err);
        if (a === false) return false;
        const b = toBool(r(row), err);
        if (b === false) return false;
        return a === undefined || b === undefined ? undefined : true;
      };
    case "OR":
      return (row) => {
        const a = toBool(l(row), err);
        if (a === true) return true;
        const b = toBool(r(row), err);
        if (b === true) return true;
        return a === undefined || b === undefined ? undefined : false;
      };
    case "XOR":
      return (row) => {
        const a = toBool(l(row), err);
        const b = toBool(r(row), err);
        return a === undefined || b === undefined ? undefined : a !== b;
      };
    case "=":
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const op = expr.op;
      return (row) => {
        const a = scalarOf(l(row));
        const b = scalarOf(r(row));
        if (a === undefined || b === undefined) return undefined;
        const c = compareValues(a, b);
        switch (op) {
          case "=":
          case "==":
            return c === 0;
          case "!=":
            return c !== 0;
          case "<":
            return c < 0;
          case "<=":
            return c <= 0;
          case ">":
            return c > 0;
          default:
            return c >= 0;
        }
      };
    }
    case "LIKE": {
      const fixed = expr.right.kind === "string" ? compileLike(expr.right.value) : undefined;
      return (row) => {
        const s = str(l(row));
        if (s === undefined) return undefined;
        if (fixed) return fixed(s);
        const p = str(r(row));
        return p === undefined ? undefined : compileLike(p)(s);
      };
    }
    case ".":
      return (row) => {
        const a = str(l(row));
        const b = str(r(row));
        return a === undefined || b === undefined ? undefined : a + b;
      };
    case "+":
      return (row) => {
        const av = l(row);
        const bv = r(row);
        const a = num(av);
        const b = num(bv);
        if (a !== undefined && b !== undefined) return a + b;
        // `+` concatenates two strings (spl-semantics §2.1); a string and a number give null.
        const as = scalarOf(av);
        const bs = scalarOf(bv);
        if (typeof as === "string" && typeof bs === "string") return as + bs;
        return undefined;
      };
    default: {
      const op = expr.op;
      return (row) => {
        const a = num(l(row));
        const b = num(r(row));
        if (a === undefined || b === undefined) return undefined;
        switch (op) {
          case "-":
            return a - b;
          case "*":
            return a * b;
          case "/":
            return b === 0 ? undefined : a / b;
          default:
            return b === 0 ? undefined : a % b;
        }
      };
    }
  }
}

/** The value stored in a field by eval: booleans are an error, null removes the field. */
export function toFieldValue(v: EvalResult, ctx: EvalContext, pos: number): SplValue | undefined {
  if (typeof v === "boolean")
    throw ctx.src.error(
      pos,
      "the result of an eval expression cannot be a boolean (wrap it in if() or case())",
    );
  if (typeof v === "number" && Number.isNaN(v)) return formatNumber(v);
  return v;
}

/** rex/regex helpers shared with commands. */
export { findAll, replaceRegex };
