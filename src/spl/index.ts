/**
 * dcomhunt's SPL engine: a faithful subset of Splunk's Search Processing Language.
 * See docs/spl-decisions.md for every point where Splunk's documentation left a choice.
 */
export type * from "./ast.js";
export { SourceText, SplError } from "./errors.js";
export { EVAL_FUNCTIONS } from "./eval.js";
export {
  type CompiledSearch,
  compileSearch,
  compileSearchExpression,
  type ResultRow,
  type SplContext,
} from "./executor.js";
export { defaultColumns, rowToStrings } from "./format.js";
export { expandMacros, loadMacros, type Macro, type MacroTable, parseMacros } from "./macros.js";
export { parseSearchOnly, parseSpl } from "./parser.js";
export { printEvalExpr, printSearchExpr, printSpl } from "./printer.js";
export { compileRegex, RegexError } from "./regex.js";
export { formatTimeForTable, formatTimeIso, resolveTimeSpec, strftime, strptime } from "./time.js";
export type { SplScalar, SplValue } from "./values.js";
export { compileWildcard } from "./wildcard.js";
