/**
 * Tuning: allowlists that suppress known-good results of a scan, count what each entry suppressed and
 * report expired and stale entries. The Splunk-native way (a `lookup` CSV in the rule's SPL) needs no
 * code here: see docs/tuning.md and examples/tuning/.
 */
export {
  Allowlist,
  type AllowlistEntry,
  type AllowlistReport,
  alertFields,
  type FieldMatcher,
  type FieldRecord,
  loadAllowlist,
  parseAllowlist,
} from "./allowlist.js";
export { compilePattern, isRegexPattern, type ValueTest, wildcardToRegex } from "./matchers.js";
export { formatAllowlistReport } from "./report.js";
export {
  formatSuppressedResults,
  type SuppressedResult,
  type SuppressingSink,
  type SuppressingSinkOptions,
  suppressingSink,
} from "./sink.js";
