/**
 * AST -> SPL text. `parseSpl(printSpl(p))` gives back the same tree (positions aside): the property
 * tests check that round trip on random trees. Parentheses are printed where precedence needs them
 * (search: OR binds tighter than AND; eval: XOR < OR < AND < NOT < comparison < + - . < * / %).
 */
import type {
  Command,
  EvalExpr,
  Pipeline,
  SearchExpr,
  SearchValue,
  SortKey,
  TransactionBound,
} from "./ast.js";
import { quoteEvalString, quoteSearchString } from "./lexer.js";

const SEARCH_KEYWORDS = new Set(["AND", "OR", "NOT", "IN"]);

function bareSearchSafe(v: string): boolean {
  return (
    v !== "" &&
    !/[\s()"=<>!,`|[\]]/.test(v) &&
    !SEARCH_KEYWORDS.has(v) &&
    !/^(CASE|TERM)\(/.test(v) &&
    !v.includes("\\")
  );
}

function printSearchValue(v: SearchValue): string {
  const inner = v.quoted || !bareSearchSafe(v.value) ? quoteSearchString(v.value) : v.value;
  if (v.caseSensitive) return `CASE(${inner})`;
  if (v.term) return `TERM(${inner})`;
  return inner;
}

function searchLevel(e: SearchExpr): number {
  return e.kind === "and" ? 0 : e.kind === "or" ? 1 : e.kind === "not" ? 2 : 3;
}

/** Prints a search expression; `min` is the lowest precedence allowed without parentheses. */
export function printSearchExpr(e: SearchExpr, min = 0): string {
  if (searchLevel(e) < min) return `(${printSearchExpr(e, 0)})`;
  switch (e.kind) {
    case "and":
      return e.items.map((i) => printSearchExpr(i, 1)).join(" ");
    case "or":
      return e.items.map((i) => printSearchExpr(i, 2)).join(" OR ");
    case "not":
      return `NOT ${printSearchExpr(e.expr, 2)}`;
    case "group":
      return `(${printSearchExpr(e.expr, 0)})`;
    case "compare":
      return `${e.field}${e.op}${printSearchValue(e)}`;
    case "in":
      return `${e.field} IN (${e.values.map(printSearchValue).join(", ")})`;
    case "term": {
      // A bare term that looks like `a=b` must be quoted to stay a term.
      const safe = bareSearchSafe(e.value) && !e.value.includes("=");
      return printSearchValue({ ...e, quoted: e.quoted || !safe });
    }
    case "time":
      return `${e.modifier}=${bareSearchSafe(e.value) ? e.value : quoteSearchString(e.value)}`;
    case "subsearch":
      return `[${e.raw}]`;
  }
}

const EVAL_KEYWORDS = new Set(["AND", "OR", "XOR", "NOT", "LIKE", "IN"]);
const BINARY_LEVEL: Record<string, number> = {
  XOR: 0,
  OR: 1,
  AND: 2,
  "=": 4,
  "==": 4,
  "!=": 4,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  LIKE: 4,
  "+": 5,
  "-": 5,
  ".": 5,
  "*": 6,
  "/": 6,
  "%": 6,
};

function evalLevel(e: EvalExpr): number {
  switch (e.kind) {
    case "binary":
      return BINARY_LEVEL[e.op];
    case "unary":
      return e.op === "NOT" ? 3 : 7;
    case "in":
      return 4;
    default:
      return 8;
  }
}

export function printEvalField(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !EVAL_KEYWORDS.has(name.toUpperCase())
    ? name
    : `'${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function printEvalExpr(e: EvalExpr, min = 0): string {
  if (evalLevel(e) < min) return `(${printEvalExpr(e, 0)})`;
  switch (e.kind) {
    case "string":
      return quoteEvalString(e.value);
    case "number":
      return e.raw;
    case "field":
      return printEvalField(e.name);
    case "call":
      return `${e.name}(${e.args.map((a) => printEvalExpr(a, 0)).join(", ")})`;
    case "group":
      return `(${printEvalExpr(e.expr, 0)})`;
    case "unary":
      return e.op === "NOT" ? `NOT ${printEvalExpr(e.expr, 3)}` : `${e.op}${printEvalExpr(e.expr, 7)}`;
    case "in":
      return `${printEvalExpr(e.expr, 5)} IN (${e.list.map((a) => printEvalExpr(a, 0)).join(", ")})`;
    case "binary": {
      const level = BINARY_LEVEL[e.op];
      const sep = ` ${e.op} `;
      return `${printEvalExpr(e.left, level)}${sep}${printEvalExpr(e.right, level + 1)}`;
    }
  }
}

function word(v: string): string {
  return /^[^\s"=,()|`[\]]+$/.test(v) ? v : quoteSearchString(v);
}

function sortKey(k: SortKey): string {
  const f = k.type === "auto" ? word(k.field) : `${k.type}(${word(k.field)})`;
  return `${k.desc ? "-" : ""}${f}`;
}

function options(o: Record<string, string>): string[] {
  return Object.entries(o).map(([k, v]) => `${k}=${word(v)}`);
}

function bound(b: TransactionBound): string {
  return b.kind === "eval" ? `eval(${printEvalExpr(b.expr)})` : quoteSearchString(printSearchExpr(b.expr));
}

export function printCommand(c: Command): string {
  const parts: string[] = [c.name];
  switch (c.name) {
    case "search":
      if (c.expr) parts.push(printSearchExpr(c.expr));
      break;
    case "where":
      parts.push(printEvalExpr(c.expr));
      break;
    case "regex":
      parts.push(`${c.field}${c.negate ? "!=" : "="}${quoteSearchString(c.pattern)}`);
      break;
    case "eval":
      parts.push(c.assignments.map((a) => `${printEvalField(a.field)}=${printEvalExpr(a.expr)}`).join(", "));
      break;
    case "table":
      parts.push(c.fields.map(word).join(", "));
      break;
    case "fields":
      parts.push(c.mode, c.fields.map(word).join(", "));
      break;
    case "rename":
      parts.push(c.renames.map((r) => `${word(r.from)} AS ${word(r.to)}`).join(", "));
      break;
    case "sort":
      if (c.limit !== undefined) parts.push(String(c.limit));
      parts.push(c.keys.map(sortKey).join(", "));
      if (c.reverse) parts.push("desc");
      break;
    case "head":
      parts.push(c.expr ? `(${printEvalExpr(c.expr)})` : String(c.count));
      break;
    case "tail":
      parts.push(String(c.count));
      break;
    case "dedup":
      if (c.count !== 1) parts.push(String(c.count));
      parts.push(c.fields.map(word).join(", "));
      if (c.keepempty) parts.push("keepempty=true");
      if (c.consecutive) parts.push("consecutive=true");
      if (c.keepevents) parts.push("keepevents=true");
      if (c.sortby.length > 0) parts.push("sortby", c.sortby.map(sortKey).join(", "));
      break;
    case "stats":
    case "eventstats":
    case "streamstats":
      parts.push(...options(c.options));
      parts.push(
        c.aggregations
          .map(
            (a) =>
              `${a.fn}${a.eval !== undefined ? `(eval(${printEvalExpr(a.eval)}))` : a.field === undefined ? "" : `(${word(a.field)})`}${a.as === undefined ? "" : ` AS ${word(a.as)}`}`,
          )
          .join(", "),
      );
      if (c.by.length > 0) parts.push("BY", c.by.map(word).join(", "));
      break;
    case "top":
    case "rare":
      parts.push(...options(c.options), c.fields.map(word).join(", "));
      if (c.by.length > 0) parts.push("BY", c.by.map(word).join(", "));
      break;
    case "rex":
      if (c.field !== "_raw") parts.push(`field=${word(c.field)}`);
      if (c.maxMatch !== 1) parts.push(`max_match=${c.maxMatch}`);
      if (c.mode === "sed") parts.push("mode=sed");
      parts.push(quoteSearchString(c.pattern));
      break;
    case "lookup":
      parts.push(...options(c.options), word(c.table));
      parts.push(
        c.match.map((m) => (m.from === m.to ? word(m.from) : `${word(m.from)} AS ${word(m.to)}`)).join(", "),
      );
      if (c.outputMode) {
        parts.push(c.outputMode);
        parts.push(
          c.output
            .map((m) => (m.from === m.to ? word(m.from) : `${word(m.from)} AS ${word(m.to)}`))
            .join(", "),
        );
      }
      break;
    case "inputlookup":
      if (c.append) parts.push("append=t");
      parts.push(word(c.table));
      if (c.where) parts.push("where", printSearchExpr(c.where));
      break;
    case "fillnull":
      parts.push(`value=${word(c.value)}`);
      if (c.fields.length > 0) parts.push(c.fields.map(word).join(" "));
      break;
    case "mvexpand":
      parts.push(word(c.field));
      if (c.limit !== undefined) parts.push(`limit=${c.limit}`);
      break;
    case "bin":
    case "bucket":
      parts.push(`span=${c.span}`, word(c.field));
      if (c.as !== undefined) parts.push("AS", word(c.as));
      break;
    case "transaction":
      parts.push(c.fields.map(word).join(", "));
      parts.push(...options(c.options));
      if (c.startswith) parts.push(`startswith=${bound(c.startswith)}`);
      if (c.endswith) parts.push(`endswith=${bound(c.endswith)}`);
      break;
    case "tstats":
      parts.push(...options(c.options));
      parts.push(
        c.aggregations
          .map(
            (a) =>
              `${a.fn}${a.field === undefined ? "" : `(${word(a.field)})`}${a.as === undefined ? "" : ` AS ${word(a.as)}`}`,
          )
          .join(" "),
      );
      if (c.datamodel !== undefined) parts.push(`FROM datamodel=${word(c.datamodel)}`);
      if (c.where) parts.push("WHERE", printSearchExpr(c.where));
      if (c.by.length > 0) parts.push("BY", c.by.map(word).join(" "));
      if (c.span !== undefined) parts.push(`span=${c.span}`);
      break;
    case "datamodel":
      parts.push(c.datamodel.split(".").map(word).join(" "), c.mode);
      break;
    case "from":
      parts.push(`datamodel:${word(c.datamodel)}`);
      break;
    case "makemv":
      if (c.tokenizer !== undefined) parts.push(`tokenizer=${quoteSearchString(c.tokenizer)}`);
      else parts.push(`delim=${quoteSearchString(c.delim ?? " ")}`);
      if (c.allowempty) parts.push("allowempty=t");
      if (c.setsv) parts.push("setsv=t");
      parts.push(word(c.field));
      break;
    case "replace":
      parts.push(
        c.pairs.map((p) => `${quoteSearchString(p.from)} WITH ${quoteSearchString(p.to)}`).join(", "),
      );
      if (c.fields.length > 0) parts.push("IN", c.fields.map(word).join(", "));
      break;
    case "addtotals":
      parts.push(`row=${c.row ? "t" : "f"}`, `col=${c.col ? "t" : "f"}`, `fieldname=${word(c.fieldname)}`);
      if (c.labelfield !== undefined)
        parts.push(`labelfield=${word(c.labelfield)}`, `label=${quoteSearchString(c.label)}`);
      if (c.fields.length > 0) parts.push(c.fields.map(word).join(" "));
      break;
    case "convert":
      parts.push(`timeformat=${quoteSearchString(c.timeformat)}`);
      parts.push(
        c.conversions
          .map((v) => `${v.fn}(${word(v.field)})${v.as === undefined ? "" : ` AS ${word(v.as)}`}`)
          .join(", "),
      );
      break;
    case "join":
      parts.push(
        `type=${c.type}`,
        `usetime=${c.usetime ? "t" : "f"}`,
        `earlier=${c.earlier ? "t" : "f"}`,
        `overwrite=${c.overwrite ? "t" : "f"}`,
        `max=${c.max}`,
      );
      if (c.fields.length > 0) parts.push(c.fields.map(word).join(", "));
      parts.push(`[${printSpl(c.subsearch)}]`);
      break;
    case "append":
    case "appendpipe":
      for (const [k, v] of Object.entries(c.options)) parts.push(`${k}=${word(v)}`);
      parts.push(
        `[${c.name === "append" ? printSpl(c.subsearch) : c.subsearch.commands.map(printCommand).join(" | ")}]`,
      );
      break;
    case "foreach":
      parts.push(`mode=${c.mode}`, c.fields.map(word).join(" "), `[${c.template}]`);
      break;
    case "spath":
      parts.push(`input=${word(c.input)}`);
      if (c.output !== undefined) parts.push(`output=${word(c.output)}`);
      if (c.path !== undefined) parts.push(`path=${word(c.path)}`);
      break;
    case "xmlkv":
      parts.push(word(c.field));
      break;
    case "fromjson":
      parts.push(word(c.field));
      if (c.prefix !== "") parts.push(`prefix=${quoteSearchString(c.prefix)}`);
      break;
    case "format":
      parts.push(`mvsep=${quoteSearchString(c.mvsep)}`, `maxresults=${c.maxresults}`);
      parts.push(...c.parts.map(quoteSearchString), `emptystr=${quoteSearchString(c.emptystr)}`);
      break;
    case "return":
      parts.push(
        String(c.count),
        ...c.items.map((it) =>
          it.kind === "value"
            ? `$${it.field}`
            : it.kind === "alias"
              ? `${it.alias}=${word(it.field)}`
              : word(it.field),
        ),
      );
      break;
    case "map":
      parts.push(`search=${quoteSearchString(c.search)}`, `maxsearches=${c.maxsearches}`);
      break;
    case "timechart":
      if (c.span !== undefined) parts.push(`span=${c.span}`);
      for (const [k, v] of Object.entries(c.options)) parts.push(`${k}=${word(v)}`);
      parts.push(
        c.aggregations
          .map(
            (a) =>
              `${a.fn}${a.field === undefined ? "" : `(${a.field})`}${a.as === undefined ? "" : ` AS ${word(a.as)}`}`,
          )
          .join(" "),
      );
      if (c.by !== undefined) parts.push("BY", word(c.by));
      break;
    case "outputlookup":
      parts.push(`append=${c.append ? "t" : "f"}`);
      if (c.max !== undefined) parts.push(`max=${c.max}`);
      parts.push(word(c.table));
      break;
  }
  return parts.filter((p) => p !== "").join(" ");
}

export function printSpl(p: Pipeline): string {
  return p.commands
    .map((c, i) => {
      if (i === 0 && c.name === "search") return c.expr ? printSearchExpr(c.expr) : "";
      return i === 0 ? `| ${printCommand(c)}` : printCommand(c);
    })
    .join(" | ");
}
