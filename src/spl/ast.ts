/**
 * The SPL abstract syntax tree. Every node keeps `pos`, the offset of its first character in the
 * (macro-expanded) search text; `SourceText.lineCol` turns it into line:col.
 *
 * The tree is explicit on purpose: `export/` compiles it to Sigma, KQL, EQL and SQL. A search
 * comparison keeps the field, the operator, the value as written (`raw`, quotes and escapes
 * included) and the unescaped pattern (`value`) in which `*` is the only wildcard.
 */

/** Offset of a node's first character in the search text. */
export type Pos = number;

// ------------------------------------------------------------------------------------------------
// search expressions (the `search` command and the implied first command)

export type SearchOp = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** A value as written in a search: `"*\\cmd.exe"` has raw `"*\\cmd.exe"` and value `*\cmd.exe`. */
export interface SearchValue {
  /** Source text (with quotes and escapes, and `CASE(...)`/`TERM(...)` when present). */
  raw: string;
  /** Unescaped value; `*` is a wildcard (a backslash never escapes it). */
  value: string;
  quoted: boolean;
  /** `CASE(...)`: match case-sensitively. */
  caseSensitive: boolean;
  /** `TERM(...)`: match as one indexed term (here: the literal text, minor breakers included). */
  term: boolean;
}

/** `field op value`, e.g. `Image="*\\cmd.exe"`, `EventCode!=1`, `Count>=10`. */
export interface SearchCompare extends SearchValue {
  kind: "compare";
  pos: Pos;
  /** Field name, case-sensitive. */
  field: string;
  op: SearchOp;
}

/** `field IN (v1, v2*, ...)`: any of the values (wildcards allowed). */
export interface SearchIn {
  kind: "in";
  pos: Pos;
  field: string;
  values: SearchValue[];
}

/** A bare word or quoted phrase, matched against `_raw`. */
export interface SearchTerm extends SearchValue {
  kind: "term";
  pos: Pos;
}

/** `earliest=-24h@h`, `latest=now`: a time bound on `_time`. */
export interface SearchTimeModifier {
  kind: "time";
  pos: Pos;
  modifier: "earliest" | "latest";
  raw: string;
  /** The unquoted time specifier. */
  value: string;
}

export interface SearchAnd {
  kind: "and";
  pos: Pos;
  items: SearchExpr[];
}
export interface SearchOr {
  kind: "or";
  pos: Pos;
  items: SearchExpr[];
}
export interface SearchNot {
  kind: "not";
  pos: Pos;
  expr: SearchExpr;
}
/** Parentheses are kept so that a printed query reads like the original. */
export interface SearchGroup {
  kind: "group";
  pos: Pos;
  expr: SearchExpr;
}

/**
 * `[search ...]` inside a search: run first, its results inserted as the search text that `format`
 * makes of them (an OR of ANDs), or the value of its `search`/`query` field (`return`, `format`).
 */
export interface SearchSubsearch {
  kind: "subsearch";
  pos: Pos;
  /** Text between the brackets, as written. */
  raw: string;
  pipeline: Pipeline;
}

export type SearchExpr =
  | SearchSubsearch
  | SearchAnd
  | SearchOr
  | SearchNot
  | SearchGroup
  | SearchCompare
  | SearchIn
  | SearchTerm
  | SearchTimeModifier;

// ------------------------------------------------------------------------------------------------
// eval expressions (eval, where, and function arguments)

export type EvalBinaryOp =
  | "OR"
  | "XOR"
  | "AND"
  | "="
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "LIKE"
  | "+"
  | "-"
  | "."
  | "*"
  | "/"
  | "%";

export interface EvalString {
  kind: "string";
  pos: Pos;
  /** Unescaped value. */
  value: string;
}
export interface EvalNumber {
  kind: "number";
  pos: Pos;
  value: number;
  /** Source text, e.g. "1.50" (precision is kept when printed). */
  raw: string;
}
/** A field reference: bare `Image` or single-quoted `'server-1'`. */
export interface EvalField {
  kind: "field";
  pos: Pos;
  name: string;
  quoted: boolean;
}
export interface EvalCall {
  kind: "call";
  pos: Pos;
  /** Function name, lower case as written (eval function names are case-sensitive). */
  name: string;
  args: EvalExpr[];
}
export interface EvalBinary {
  kind: "binary";
  pos: Pos;
  op: EvalBinaryOp;
  left: EvalExpr;
  right: EvalExpr;
}
export interface EvalUnary {
  kind: "unary";
  pos: Pos;
  op: "NOT" | "-" | "+";
  expr: EvalExpr;
}
/** `x IN ("a", "b")` (no wildcards, like the `in()` function). */
export interface EvalIn {
  kind: "in";
  pos: Pos;
  expr: EvalExpr;
  list: EvalExpr[];
}
export interface EvalGroup {
  kind: "group";
  pos: Pos;
  expr: EvalExpr;
}

export type EvalExpr =
  | EvalString
  | EvalNumber
  | EvalField
  | EvalCall
  | EvalBinary
  | EvalUnary
  | EvalIn
  | EvalGroup;

// ------------------------------------------------------------------------------------------------
// commands

export interface SortKey {
  field: string;
  desc: boolean;
  /** Comparison type: auto (default), num(), str(), ip(). */
  type: "auto" | "num" | "str" | "ip";
}

export interface Aggregation {
  /** count, dc, values, list, min, max, avg, sum, first, last, earliest, latest, ... */
  fn: string;
  /** The field aggregated; undefined for a bare `count`. */
  field?: string;
  /** `as` name; the default name is `fn(field)` or `count`. */
  as?: string;
  /** `fn(eval(expr))`: the expression gives each row's value (`field` holds the text `eval(...)`). */
  eval?: EvalExpr;
}

export interface FieldRename {
  from: string;
  to: string;
}

interface CommandBase {
  pos: Pos;
}

export interface SearchCommand extends CommandBase {
  name: "search";
  /** Undefined for an empty search (every event). */
  expr: SearchExpr | undefined;
}
export interface WhereCommand extends CommandBase {
  name: "where";
  expr: EvalExpr;
}
export interface RegexCommand extends CommandBase {
  name: "regex";
  field: string;
  negate: boolean;
  pattern: string;
}
export interface EvalCommand extends CommandBase {
  name: "eval";
  assignments: { field: string; expr: EvalExpr }[];
}
export interface TableCommand extends CommandBase {
  name: "table";
  /** Field names; may contain `*` wildcards. */
  fields: string[];
}
export interface FieldsCommand extends CommandBase {
  name: "fields";
  mode: "+" | "-";
  fields: string[];
}
export interface RenameCommand extends CommandBase {
  name: "rename";
  renames: FieldRename[];
}
export interface SortCommand extends CommandBase {
  name: "sort";
  /** Undefined = the default limit 10,000; 0 = all. */
  limit: number | undefined;
  keys: SortKey[];
  /** Trailing `desc`: reverse the whole order. */
  reverse: boolean;
}
export interface HeadCommand extends CommandBase {
  name: "head";
  /** Number of results (default 10). */
  count: number;
  /** `head (expr)`: take results while expr is true. */
  expr?: EvalExpr;
}
export interface TailCommand extends CommandBase {
  name: "tail";
  count: number;
}
export interface DedupCommand extends CommandBase {
  name: "dedup";
  /** Results kept per combination (default 1). */
  count: number;
  fields: string[];
  keepempty: boolean;
  consecutive: boolean;
  keepevents: boolean;
  sortby: SortKey[];
}
export interface StatsCommand extends CommandBase {
  name: "stats" | "eventstats" | "streamstats";
  aggregations: Aggregation[];
  by: string[];
  /** Command options as written (`window=5`, `current=f`, `global=t`, `allnum=f`). */
  options: Record<string, string>;
}
export interface TopCommand extends CommandBase {
  name: "top" | "rare";
  fields: string[];
  by: string[];
  /** Options as written: limit, countfield, percentfield, showcount, showperc, useother, otherstr. */
  options: Record<string, string>;
}
export interface RexCommand extends CommandBase {
  name: "rex";
  field: string;
  pattern: string;
  /** Default 1; 0 = unlimited. */
  maxMatch: number;
  mode: "extract" | "sed";
}
export interface LookupCommand extends CommandBase {
  name: "lookup";
  table: string;
  /** Options before the table name (`local=t`, `update=t`): kept as written. */
  options: Record<string, string>;
  /** Lookup field (in the table) and event field (`as`). */
  match: FieldRename[];
  outputMode: "OUTPUT" | "OUTPUTNEW" | undefined;
  /** Table field (`from`) to event field (`to`); empty = every non-match column. */
  output: FieldRename[];
}
export interface InputlookupCommand extends CommandBase {
  name: "inputlookup";
  table: string;
  append: boolean;
  where: SearchExpr | undefined;
}
export interface FillnullCommand extends CommandBase {
  name: "fillnull";
  value: string;
  /** Empty = every field present in any result. */
  fields: string[];
}
export interface MvexpandCommand extends CommandBase {
  name: "mvexpand";
  field: string;
  limit: number | undefined;
}
export interface BinCommand extends CommandBase {
  name: "bin" | "bucket";
  field: string;
  as: string | undefined;
  /** Span as written, e.g. "1h", "5m", "10", "1d". */
  span: string;
}
export interface TransactionCommand extends CommandBase {
  name: "transaction";
  fields: string[];
  /** Seconds, undefined = unlimited. */
  maxspan: number | undefined;
  maxpause: number | undefined;
  maxevents: number | undefined;
  startswith: TransactionBound | undefined;
  endswith: TransactionBound | undefined;
  /** Other options as written (maxspan=1h, keepevicted=t, mvlist=t ...), for printing and flags. */
  options: Record<string, string>;
}
/** One `fn(field) [AS name]` of `convert`. */
export interface Conversion {
  /** auto, ctime, dur2sec, memk, mktime, mstime, none, num, rmcomma, rmunit. */
  fn: string;
  /** Field name; may contain `*` wildcards. */
  field: string;
  as: string | undefined;
}
export interface ConvertCommand extends CommandBase {
  name: "convert";
  /** strftime/strptime format of ctime/mktime (default `%m/%d/%Y %H:%M:%S`). */
  timeformat: string;
  conversions: Conversion[];
}

/** `| tstats <aggs> [from datamodel=<model>[.<dataset>]] [where <search>] [by <fields> [span=<span>]]`. */
export interface TstatsCommand extends CommandBase {
  name: "tstats";
  aggregations: Aggregation[];
  /** `Endpoint.Processes`; undefined = indexed fields of the events. */
  datamodel: string | undefined;
  where: SearchExpr | undefined;
  by: string[];
  span: string | undefined;
  /** summariesonly, prestats, allow_old_summaries, fillnull_value, local, append, chunk_size, ... */
  options: Record<string, string>;
}
/** `| datamodel <model> <dataset> (search|flat)` and `| from datamodel:<model>.<dataset>`. */
export interface DatamodelCommand extends CommandBase {
  name: "datamodel" | "from";
  datamodel: string;
  /** search: prefixed CIM fields added to the event; flat: the same without the prefix. */
  mode: "search" | "flat";
}

/** `makemv [delim=<str> | tokenizer=<regex>] [allowempty=<bool>] [setsv=<bool>] <field>`. */
export interface MakemvCommand extends CommandBase {
  name: "makemv";
  field: string;
  delim: string | undefined;
  tokenizer: string | undefined;
  allowempty: boolean;
  setsv: boolean;
}
/** `replace <wc-string> WITH <wc-string> [, ...] [IN <field-list>]`. */
export interface ReplaceCommand extends CommandBase {
  name: "replace";
  pairs: { from: string; to: string }[];
  /** Empty = every field. */
  fields: string[];
}
/** `addtotals [row=<bool>] [col=<bool>] [fieldname=<f>] [labelfield=<f>] [label=<s>] [<field-list>]`. */
export interface AddtotalsCommand extends CommandBase {
  name: "addtotals";
  row: boolean;
  col: boolean;
  fieldname: string;
  labelfield: string | undefined;
  label: string;
  /** Fields summed; empty = every numeric field. May contain `*`. */
  fields: string[];
}

/** `join [type=..] [usetime=..] [earlier=..] [overwrite=..] [max=..] [<field-list>] [subsearch]`. */
export interface JoinCommand extends CommandBase {
  name: "join";
  type: "inner" | "left" | "outer";
  usetime: boolean;
  earlier: boolean;
  overwrite: boolean;
  /** Subsearch rows joined to each main row; 0 = all. */
  max: number;
  /** Empty = every field the two sides have in common. */
  fields: string[];
  subsearch: Pipeline;
}
/** `append [subsearch]` and `appendpipe [commands]` (options kept as written). */
export interface AppendCommand extends CommandBase {
  name: "append" | "appendpipe";
  options: Record<string, string>;
  subsearch: Pipeline;
}
/** `foreach [mode=..] <wc-field>... [fieldstr=..] [matchstr=..] [itemstr=..] [template]`. */
export interface ForeachCommand extends CommandBase {
  name: "foreach";
  mode: "multifield" | "multivalue" | "json_array" | "auto";
  fields: string[];
  fieldstr: string;
  matchstr: string;
  itemstr: string;
  /** `<<ITER>>` by default: the 0-based index of the item (multivalue, json_array). */
  iterstr: string;
  /** The template's text (commands, with `<<FIELD>>` etc. still in it) and where it starts. */
  template: string;
  templatePos: Pos;
}
/** `spath [input=<f>] [output=<f>] [path=<datapath> | <datapath>]`. */
export interface SpathCommand extends CommandBase {
  name: "spath";
  input: string;
  output: string | undefined;
  path: string | undefined;
}
/** `xmlkv [<field>] [maxinputs=<int>]`. */
export interface XmlkvCommand extends CommandBase {
  name: "xmlkv";
  field: string;
}
/** `fromjson <field> [prefix=<string>]`. */
export interface FromjsonCommand extends CommandBase {
  name: "fromjson";
  field: string;
  prefix: string;
}
/** `format [mvsep=..] [maxresults=..] ["(" "(" "AND" ")" "OR" ")"] [emptystr=..]`. */
export interface FormatCommand extends CommandBase {
  name: "format";
  mvsep: string;
  maxresults: number;
  /** row prefix, column prefix, column separator, column end, row separator, row end. */
  parts: [string, string, string, string, string, string];
  emptystr: string;
}
/** `return [<count>] [<field> | <alias>=<field> | $<field>]...`. */
export interface ReturnCommand extends CommandBase {
  name: "return";
  count: number;
  items: { kind: "field" | "alias" | "value"; field: string; alias?: string }[];
}
/** `map (search="<text>" | [subsearch]) [maxsearches=<int>]`. */
export interface MapCommand extends CommandBase {
  name: "map";
  /** The search template with `$field$` tokens. */
  search: string;
  searchPos: Pos;
  maxsearches: number;
}
/** `timechart [span=..] [limit=..] [useother=..] [otherstr=..] [usenull=..] [nullstr=..] [cont=..] <aggs> [by <field>]`. */
export interface TimechartCommand extends CommandBase {
  name: "timechart";
  aggregations: Aggregation[];
  by: string | undefined;
  span: string | undefined;
  options: Record<string, string>;
}
/** `outputlookup [append=..] [create_empty=..] [override_if_empty=..] [max=..] <file>`. */
export interface OutputlookupCommand extends CommandBase {
  name: "outputlookup";
  table: string;
  append: boolean;
  createEmpty: boolean;
  overrideIfEmpty: boolean;
  max: number | undefined;
}

/** `startswith="text"` (a search), `startswith=eval(expr)`. */
export type TransactionBound =
  | { kind: "search"; raw: string; expr: SearchExpr }
  | { kind: "eval"; raw: string; expr: EvalExpr };

export type Command =
  | SearchCommand
  | WhereCommand
  | RegexCommand
  | EvalCommand
  | TableCommand
  | FieldsCommand
  | RenameCommand
  | SortCommand
  | HeadCommand
  | TailCommand
  | DedupCommand
  | StatsCommand
  | TopCommand
  | RexCommand
  | LookupCommand
  | InputlookupCommand
  | FillnullCommand
  | MvexpandCommand
  | BinCommand
  | TransactionCommand
  | ConvertCommand
  | TstatsCommand
  | DatamodelCommand
  | MakemvCommand
  | ReplaceCommand
  | AddtotalsCommand
  | JoinCommand
  | AppendCommand
  | ForeachCommand
  | SpathCommand
  | XmlkvCommand
  | FromjsonCommand
  | FormatCommand
  | ReturnCommand
  | MapCommand
  | TimechartCommand
  | OutputlookupCommand;

/** A whole search: commands separated by `|`. */
export interface Pipeline {
  kind: "pipeline";
  commands: Command[];
  /** The (macro-expanded) text the positions refer to. */
  text: string;
  file: string;
}
