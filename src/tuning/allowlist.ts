/**
 * `--allowlist FILE`: known-good results, written as YAML entries scoped by the fields of a result row
 * or of a sequence alert and its evidence events. Loading is all-or-nothing: every problem of the file is
 * collected with file:line:col and thrown as one RuleError, like a bad rule file.
 *
 * Matching (documented in docs/tuning.md):
 * - an entry applies to a rule when it has no `rules`, or one of them equals the rule's id or name
 *   (case-insensitive);
 * - every field under `match` must match (AND); a field given a list matches when any pattern does (OR);
 *   a multivalue field matches when any of its values does; a field the result lacks never matches;
 * - a field name is looked up exactly, else case-insensitively (`image` finds `Image`);
 * - an entry past its `expires` date (compared with today's UTC date; the entry holds through that day)
 *   never suppresses; it is reported as expired, with the results it would have matched;
 * - the first matching entry in file order suppresses and is credited in the counts; an entry that
 *   matched nothing during the run is stale.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LineCounter, Node, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { type Alert, alertToJson } from "../correlate/alert.js";
import { RuleError, type RuleProblem } from "../rules/loader.js";
import { compilePattern, type ValueTest } from "./matchers.js";

// The YAML parser is loaded only when an allowlist is read (a scan without --allowlist needs none).
const require = createRequire(import.meta.url);
let yamlModule: typeof import("yaml") | undefined;
const yaml = (): typeof import("yaml") => {
  yamlModule ??= require("yaml") as typeof import("yaml");
  return yamlModule;
};
const isMap = (n: unknown): n is YAMLMap => yaml().isMap(n);
const isSeq = (n: unknown): n is YAMLSeq => yaml().isSeq(n);
const isScalar = (n: unknown): n is Scalar => yaml().isScalar(n);

/** A result row or an alert's fields, by field name. */
export type FieldRecord = Record<string, string | string[]>;

export interface FieldMatcher {
  field: string;
  /** The patterns as written (wildcards or /regex/flags); any one matching is enough. */
  patterns: string[];
  test: ValueTest;
}

export interface AllowlistEntry {
  /** 1-based position in the `allowlist:` list. */
  index: number;
  /** The entry's `id` when given. */
  id: string | undefined;
  /** `id`, else `#<index>`: how the entry is named in reports. */
  label: string;
  reason: string;
  /** YYYY-MM-DD: the last day the entry suppresses. */
  expires?: string;
  /** True when `expires` is before the load date. */
  expired: boolean;
  /** Rule ids or names the entry is limited to (absent = every rule). */
  rules?: string[];
  /** Every matcher must match (AND). */
  match: FieldMatcher[];
  /** For sequence alerts: `any` evidence event (default) or `all` of them must match with the alert's fields. */
  evidence: "any" | "all";
  file: string;
  line: number;
  col: number;
}

export interface AllowlistReport {
  /** Entries that suppressed something, in file order, with the number of results each suppressed. */
  suppressed: { entry: AllowlistEntry; count: number }[];
  /** Entries past their `expires` date (they suppressed nothing). */
  expired: AllowlistEntry[];
  /** Entries in force that matched no result of the run (entries limited to rules that did not run excluded). */
  stale: AllowlistEntry[];
  /** Expired entries with the number of results they matched and no entry in force suppressed (reported). */
  expiredMatches: { entry: AllowlistEntry; count: number }[];
}

const ENTRY_KEYS = new Set(["id", "reason", "rules", "expires", "match", "evidence"]);

function utcDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function validDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && utcDate(d) === text;
}

/** A field of a record: exact name first, else the first name equal ignoring case. */
function fieldOf(record: FieldRecord, field: string): string | string[] | undefined {
  const exact = record[field];
  if (exact !== undefined) return exact;
  const lower = field.toLowerCase();
  for (const k of Object.keys(record)) if (k.toLowerCase() === lower) return record[k];
  return undefined;
}

function recordMatches(entry: AllowlistEntry, record: FieldRecord): boolean {
  for (const m of entry.match) {
    const v = fieldOf(record, m.field);
    if (v === undefined) return false;
    if (Array.isArray(v) ? !v.some(m.test) : !m.test(v)) return false;
  }
  return true;
}

/** The flat string fields of an alert (as in its json output, without evidence and explanation). */
export function alertFields(alert: Alert): FieldRecord {
  const out: FieldRecord = {};
  for (const [k, v] of Object.entries(alertToJson(alert))) if (typeof v === "string") out[k] = v;
  return out;
}

export class Allowlist {
  private readonly counts = new Map<AllowlistEntry, number>();
  private readonly expiredCounts = new Map<AllowlistEntry, number>();
  private readonly matched = new Set<AllowlistEntry>();
  private runRules: { id: string; name: string }[] | undefined;

  constructor(
    readonly entries: readonly AllowlistEntry[],
    readonly file: string,
  ) {}

  private appliesTo(entry: AllowlistEntry, ruleId: string, ruleName: string | undefined): boolean {
    if (!entry.rules) return true;
    const id = ruleId.toLowerCase();
    const name =
      ruleName?.toLowerCase() ?? this.runRules?.find((r) => r.id.toLowerCase() === id)?.name.toLowerCase();
    return entry.rules.some((r) => {
      const ref = r.toLowerCase();
      return ref === id || ref === name;
    });
  }

  /** Shared bookkeeping: the first matching entry in force suppresses; all matches are remembered. */
  private decide(ruleId: string, ruleName: string | undefined, matches: (e: AllowlistEntry) => boolean) {
    let first: AllowlistEntry | undefined;
    const expired: AllowlistEntry[] = [];
    for (const entry of this.entries) {
      if (!this.appliesTo(entry, ruleId, ruleName) || !matches(entry)) continue;
      if (entry.expired) {
        expired.push(entry);
        continue;
      }
      // Every entry that matches is not stale, even when an earlier one gets the credit.
      this.matched.add(entry);
      first ??= entry;
    }
    if (first) this.counts.set(first, (this.counts.get(first) ?? 0) + 1);
    // An expired entry is charged with the results it let through (not those another entry suppressed).
    else for (const e of expired) this.expiredCounts.set(e, (this.expiredCounts.get(e) ?? 0) + 1);
    return first;
  }

  /**
   * Tell the allowlist which rules this run uses: an entry limited to rules that did not run is not
   * reported stale, and rule names resolve for rows that carry only the rule id. Returns a problem (at the
   * entry) for each reference that names none of these rules, for the caller to show as a warning.
   */
  setRules(rules: readonly { id: string; name: string }[]): RuleProblem[] {
    this.runRules = rules.map((r) => ({ id: r.id, name: r.name }));
    const problems: RuleProblem[] = [];
    for (const e of this.entries) {
      for (const ref of e.rules ?? []) {
        const lower = ref.toLowerCase();
        if (!rules.some((r) => r.id.toLowerCase() === lower || r.name.toLowerCase() === lower)) {
          problems.push({
            file: e.file,
            line: e.line,
            col: e.col,
            message: `allowlist entry ${e.label}: rule '${ref}' is not among the rules of this run`,
          });
        }
      }
    }
    return problems;
  }

  /** The entry that suppresses this result row of this rule, if any (expired entries never suppress). */
  matchRow(ruleId: string, row: FieldRecord): AllowlistEntry | undefined {
    const name = typeof row._rule === "string" ? row._rule : undefined;
    return this.decide(ruleId, name, (e) => recordMatches(e, row));
  }

  /**
   * For a sequence alert: an entry matching the alert's fields, or one of its evidence events' fields.
   * Each evidence event is matched as one record: the alert's fields (variant, target_host, source_ip,
   * account ...), the evidence item's fields (_computer, _channel, _record_id, EventCode, summary) and,
   * when given, `evidenceFields[i]`: the full fields of the event behind `alert.evidence[i]` (Image,
   * ParentImage, CommandLine ...). With `evidence: any` (default) one such record must match; with `all`
   * every one must. Fields of different events are never combined.
   */
  matchAlert(ruleId: string, alert: Alert, evidenceFields?: FieldRecord[]): AllowlistEntry | undefined {
    const base = alertFields(alert);
    const n = Math.max(alert.evidence.length, evidenceFields?.length ?? 0);
    const records: FieldRecord[] = [];
    for (let i = 0; i < n; i++) {
      const item = alert.evidence[i];
      const itemFields: FieldRecord = item
        ? {
            _file: item._file,
            _record_id: item._record_id,
            _channel: item._channel,
            _computer: item._computer,
            _time: item._time,
            EventCode: item.EventCode,
            summary: item.summary,
          }
        : {};
      // The alert's own fields win over an event's field of the same name.
      records.push({ ...(evidenceFields?.[i] ?? {}), ...itemFields, ...base });
    }
    if (records.length === 0) records.push(base);
    return this.decide(ruleId, alert.rule, (e) =>
      e.evidence === "all"
        ? records.every((r) => recordMatches(e, r))
        : records.some((r) => recordMatches(e, r)),
    );
  }

  /** Summary: per entry suppressed count; expired entries; stale entries (never matched). */
  report(): AllowlistReport {
    const inRun = (e: AllowlistEntry) => {
      if (!e.rules || !this.runRules) return true;
      const run = this.runRules;
      return e.rules.some((ref) => {
        const lower = ref.toLowerCase();
        return run.some((r) => r.id.toLowerCase() === lower || r.name.toLowerCase() === lower);
      });
    };
    return {
      suppressed: this.entries
        .filter((e) => this.counts.has(e))
        .map((e) => ({ entry: e, count: this.counts.get(e)! })),
      expired: this.entries.filter((e) => e.expired),
      stale: this.entries.filter((e) => !e.expired && !this.matched.has(e) && inRun(e)),
      expiredMatches: this.entries
        .filter((e) => this.expiredCounts.has(e))
        .map((e) => ({ entry: e, count: this.expiredCounts.get(e)! })),
    };
  }
}

/** Load and validate an allowlist file; throws RuleError listing every problem at file:line:col. */
export function loadAllowlist(file: string, today: Date = new Date()): Allowlist {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RuleError([
      { file, line: 1, col: 1, message: `cannot read allowlist: ${(err as Error).message}` },
    ]);
  }
  return parseAllowlist(text, file, today);
}

/** Parse allowlist YAML text (see loadAllowlist). */
export function parseAllowlist(text: string, file: string, today: Date = new Date()): Allowlist {
  const lc = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: RuleProblem[] = [];
  const at = (node: Node | null | undefined, message: string) => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    problems.push({ file, line: pos.line, col: pos.col, message });
  };
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, message: `YAML: ${e.message.split("\n")[0]}` });
  }
  if (problems.length) throw new RuleError(problems);

  const root = doc.contents;
  if (!isMap(root)) {
    at(root, "an allowlist file is a map with one key, 'allowlist', holding a list of entries");
    throw new RuleError(problems);
  }
  let list: Node | null = null;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === "allowlist") list = pair.value as Node | null;
    else at(pair.key as Node, `unknown top-level key '${key ?? "?"}' (expected 'allowlist')`);
  }
  if (list === null && !root.items.some((p) => isScalar(p.key) && p.key.value === "allowlist")) {
    at(root, "missing 'allowlist:' (a list of entries)");
  } else if (!isSeq(list)) {
    at(list ?? root, "'allowlist' must be a list of entries");
  }
  const entries: AllowlistEntry[] = [];
  const ids = new Map<string, number>();
  const todayText = utcDate(today);
  if (isSeq(list)) {
    list.items.forEach((item, i) => {
      // Ids must be unique (they name entries in reports), checked even when the entry has other problems.
      const id = isMap(item) ? scalarText(item.get("id", true))?.trim() : undefined;
      if (id) {
        const prev = ids.get(id.toLowerCase());
        if (prev !== undefined)
          at(item as Node, `allowlist entry #${i + 1}: duplicate id '${id}' (also entry #${prev})`);
        else ids.set(id.toLowerCase(), i + 1);
      }
      const entry = parseEntry(item as Node, i + 1, file, lc, at, todayText);
      if (entry) entries.push(entry);
    });
  }
  if (problems.length) throw new RuleError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return new Allowlist(entries, file);
}

/** A scalar's text (strings, numbers and booleans are accepted as pattern text). */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = (node as Scalar).value;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return undefined;
}

function parseEntry(
  node: Node,
  index: number,
  file: string,
  lc: LineCounter,
  at: (node: Node | null | undefined, message: string) => void,
  todayText: string,
): AllowlistEntry | undefined {
  const label = `#${index}`;
  if (!isMap(node)) {
    at(node, `allowlist entry ${label}: must be a map with 'reason' and 'match'`);
    return undefined;
  }
  const pos = lc.linePos(node.range?.[0] ?? 0);
  const fields = new Map<string, Pair>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!ENTRY_KEYS.has(key)) {
      at(
        pair.key as Node,
        `allowlist entry ${label}: unknown field '${key}' (fields: ${[...ENTRY_KEYS].join(", ")})`,
      );
      continue;
    }
    fields.set(key, pair);
  }
  let ok = true;
  const fail = (n: Node | null | undefined, message: string) => {
    at(n, `allowlist entry ${label}: ${message}`);
    ok = false;
  };
  const valueAt = (key: string) => fields.get(key)?.value as Node | null | undefined;

  let id: string | undefined;
  if (fields.has("id")) {
    id = scalarText(valueAt("id"))?.trim();
    if (!id) fail(valueAt("id") ?? (fields.get("id")?.key as Node), "'id' must be a non-empty text");
  }
  const name = id ?? label;
  const failNamed = (n: Node | null | undefined, message: string) => {
    at(n, `allowlist entry ${name}: ${message}`);
    ok = false;
  };

  const reasonNode = valueAt("reason");
  const reason =
    typeof (isScalar(reasonNode) ? reasonNode.value : undefined) === "string"
      ? String((reasonNode as Scalar).value).trim()
      : "";
  if (!fields.has("reason")) failNamed(node, "missing 'reason' (say why these results are known good)");
  else if (!reason)
    failNamed(reasonNode ?? (fields.get("reason")?.key as Node), "'reason' must be a non-empty text");

  let expires: string | undefined;
  if (fields.has("expires")) {
    const n = valueAt("expires");
    expires = scalarText(n);
    if (expires === undefined || !validDate(expires)) {
      failNamed(
        n ?? (fields.get("expires")?.key as Node),
        `'expires' must be a date YYYY-MM-DD (got '${expires ?? ""}')`,
      );
      expires = undefined;
    }
  }

  let rules: string[] | undefined;
  if (fields.has("rules")) {
    const n = valueAt("rules");
    const items = isSeq(n) ? n.items : [n];
    rules = [];
    for (const it of items) {
      const t = scalarText(it)?.trim();
      if (!t) failNamed((it as Node) ?? n, "'rules' must be a rule id or name, or a list of them");
      else rules.push(t);
    }
    if (isSeq(n) && n.items.length === 0)
      failNamed(n, "'rules' is empty (leave it out to apply to every rule)");
  }

  let evidence: "any" | "all" = "any";
  if (fields.has("evidence")) {
    const t = scalarText(valueAt("evidence"));
    if (t === "any" || t === "all") evidence = t;
    else failNamed(valueAt("evidence"), "'evidence' must be 'any' or 'all'");
  }

  const match: FieldMatcher[] = [];
  const matchNode = valueAt("match");
  if (!fields.has("match"))
    failNamed(node, "missing 'match' (the fields that identify the known-good results)");
  else if (!isMap(matchNode) || matchNode.items.length === 0) {
    failNamed(
      matchNode ?? (fields.get("match")?.key as Node),
      "'match' must be a map of field: pattern (at least one)",
    );
  } else {
    for (const pair of matchNode.items) {
      const field = scalarText(pair.key)?.trim();
      if (!field) {
        failNamed(pair.key as Node, "a field name under 'match' must be a non-empty text");
        continue;
      }
      const v = pair.value as Node | null;
      const patternNodes = isSeq(v) ? (v.items as Node[]) : [v];
      if (isSeq(v) && v.items.length === 0) failNamed(v, `match.${field}: empty list of patterns`);
      const patterns: string[] = [];
      const tests: ValueTest[] = [];
      for (const pn of patternNodes) {
        const p = scalarText(pn);
        if (p === undefined) {
          failNamed(
            pn ?? (pair.key as Node),
            `match.${field}: a pattern must be a text (wildcard or /regex/)`,
          );
          continue;
        }
        try {
          tests.push(compilePattern(p));
          patterns.push(p);
        } catch (err) {
          failNamed(pn, `match.${field}: ${(err as Error).message}`);
        }
      }
      match.push({ field, patterns, test: tests.length === 1 ? tests[0] : (s) => tests.some((t) => t(s)) });
    }
  }
  if (!ok) return undefined;
  return {
    index,
    id,
    label: name,
    reason,
    expires,
    expired: expires !== undefined && expires < todayText,
    rules,
    match,
    evidence,
    file,
    line: pos.line,
    col: pos.col,
  };
}
