/**
 * Sequence (correlation) rules for targets that have a correlation form: Sigma correlation rules
 * (temporal / temporal_ordered, group-by, aliases) and EQL sequences (`sequence by host with maxspan`).
 *
 * What is exported: for each `complete` alternative (default: all steps) the steps that must all
 * occur, on one host, within `maxspan`, agreeing on the join keys every one of those steps carries.
 * An alternative of one step is a plain detection.
 *
 * What the correlation engine does beyond that, and these targets cannot say, is named in a comment
 * in the file and in a warning: `until`, `classify` (variant/severity/confidence), `attribution`,
 * `start`/`after`, keys not shared by every step of an alternative, derived keys (`$peer_ip`),
 * alternative fields (`A|B`), the engine's key normalization (hex/decimal, short host names).
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { SequenceSpec, SequenceStep } from "../correlate/schema.js";
import { parseDuration } from "../correlate/schema.js";
import type { LoadedRule } from "../rules/loader.js";
import type { SearchExpr } from "../spl/ast.js";
import { ecsField } from "./ecs.js";
import { EqlCondition, eqlCategory, outer } from "./eql.js";
import { dataSourceOf, parseStepSearch } from "./query.js";
import { ruleHeader, SelectionBuilder, sigmaLevel, sigmaLogsource } from "./sigma.js";
import { ExportError, YAML_OPTIONS } from "./types.js";

interface Alternative {
  steps: SequenceStep[];
  /** Join keys every step of the alternative carries, with each step's field. */
  keys: { name: string; fields: Record<string, string> }[];
  /** What the export of this alternative leaves out. */
  leftOut: string[];
}

function spec(rule: LoadedRule): SequenceSpec {
  return rule.sequence as unknown as SequenceSpec;
}

/** Deterministic UUID (v5 layout) for a generated rule, so exports are stable across runs. */
export function derivedUuid(...parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\u0000")).digest("hex");
  const v = `5${h.slice(13, 16)}`;
  const variant = ((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16) + h.slice(18, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}

export function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

export function alternatives(rule: LoadedRule): Alternative[] {
  const sp = spec(rule);
  const byName = new Map(sp.steps.map((s) => [s.name, s]));
  const sets = sp.complete ?? [sp.steps.map((s) => s.name)];
  return sets.map((names) => {
    const steps = names.map((n) => byName.get(n) as SequenceStep);
    const leftOut: string[] = [];
    const keys: Alternative["keys"] = [];
    if (steps.length > 1) {
      const common = Object.keys(steps[0].keys ?? {}).filter((k) =>
        steps.every((s) => s.keys?.[k] !== undefined),
      );
      for (const k of common) {
        const fields = Object.fromEntries(steps.map((s) => [s.name, (s.keys as Record<string, string>)[k]]));
        const bad = Object.values(fields).find((f) => f.startsWith("$") || f.includes("|"));
        if (bad) leftOut.push(`join key '${k}' (${bad}: derived or alternative fields)`);
        else keys.push({ name: k, fields });
      }
      const all = new Set(steps.flatMap((s) => Object.keys(s.keys ?? {})));
      for (const k of all)
        if (!common.includes(k))
          leftOut.push(`join key '${k}' (not carried by every step of [${names.join(", ")}])`);
    }
    return { steps, keys, leftOut };
  });
}

/** Rule-level features no target here expresses. */
export function ruleLevelLeftOut(rule: LoadedRule): string[] {
  const sp = spec(rule);
  const out: string[] = [];
  if (sp.until?.length) out.push("until (incidents closed early by an end event)");
  if (sp.classify?.length) out.push("classify (variant/severity/confidence per incident)");
  if (sp.attribution) out.push("attribution (target_host, source_ip, source_host, account)");
  if (sp.steps.some((s) => s.start === false || s.after))
    out.push("start/after (steps that may only join an open incident)");
  if (sp.perspective === "source") out.push("perspective: source (loopback judgement)");
  out.push("key normalization (hex/decimal LogonIds and PIDs, short case-folded host names)");
  return out;
}

function timespan(maxspan: string | number): string {
  const s = parseDuration(maxspan);
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${Math.ceil(s)}s`;
}

export interface SequenceExport {
  content: string;
  warnings: string[];
}

function stepExpr(rule: LoadedRule, target: string, step: SequenceStep): SearchExpr {
  const e = parseStepSearch(rule, target, step.search, `step '${step.name}'`);
  if (!e) throw new ExportError(rule.name, target, `step '${step.name}'`, "an empty search");
  return e;
}

// ------------------------------------------------------------------------------------------------
// Sigma correlation

export function sequenceToSigma(rule: LoadedRule): SequenceExport {
  const sp = spec(rule);
  const alts = alternatives(rule);
  const used = new Set(alts.flatMap((a) => a.steps.map((s) => s.name)));
  const docs: string[] = [];
  const warnings: string[] = [];
  const ruleSlug = slug(rule.name);
  const stepRuleName = (step: string) => `${ruleSlug}_${slug(step)}`;
  const header = ruleHeader(rule);
  for (const step of sp.steps) {
    if (!used.has(step.name)) continue;
    const expr = stepExpr(rule, "sigma", step);
    const ls = sigmaLogsource(expr);
    const sb = new SelectionBuilder(rule, step.search);
    const parts = ls.rest.map((c) => {
      const cond = sb.condition(c);
      return ls.rest.length > 1 && /\s/.test(cond) && !/^\(.*\)$/.test(cond) ? `(${cond})` : cond;
    });
    const detection: Record<string, unknown> = Object.fromEntries(sb.selections);
    detection.condition = parts.join(" and ");
    const standalone = alts.some((a) => a.steps.length === 1 && a.steps[0].name === step.name);
    const doc = {
      ...header,
      title: `${rule.name}: step ${step.name}`,
      id: derivedUuid(rule.id, "step", step.name),
      name: stepRuleName(step.name),
      logsource: ls.logsource,
      detection,
      falsepositives: [rule.known_false_positives.trim()],
      level: sigmaLevel(rule.severity),
    } as Record<string, unknown>;
    if (doc.references === undefined) delete doc.references;
    const notes = [...ls.notes, ...sb.notes];
    docs.push(
      `${standalone ? "# Alerts on its own: a `complete` alternative of this single step.\n" : "# Base rule of the correlation(s) below.\n"}${notes.map((n) => `# Note: ${n}\n`).join("")}${stringify(doc, YAML_OPTIONS)}`,
    );
  }
  const leftOutAll = [...ruleLevelLeftOut(rule)];
  alts.forEach((alt, i) => {
    leftOutAll.push(...alt.leftOut);
    if (alt.steps.length < 2) return;
    const aliases: Record<string, Record<string, string>> = {};
    for (const k of alt.keys)
      aliases[k.name] = Object.fromEntries(Object.entries(k.fields).map(([s, f]) => [stepRuleName(s), f]));
    const correlation: Record<string, unknown> = {
      type: sp.ordered ? "temporal_ordered" : "temporal",
      rules: alt.steps.map((s) => stepRuleName(s.name)),
      "group-by": ["Computer", ...alt.keys.map((k) => k.name)],
      timespan: timespan(sp.maxspan),
    };
    if (alt.keys.length) correlation.aliases = aliases;
    const doc = {
      title: `${rule.name} (${alt.steps.map((s) => s.name).join(" + ")})`,
      id: derivedUuid(rule.id, "alternative", String(i)),
      status: header.status,
      description: rule.description.trim(),
      author: rule.author,
      date: rule.date,
      correlation,
      falsepositives: [rule.known_false_positives.trim()],
      level: sigmaLevel(rule.severity),
    };
    docs.push(
      `# complete alternative ${i + 1}: [${alt.steps.map((s) => s.name).join(", ")}]\n${stringify(doc, YAML_OPTIONS)}`,
    );
  });
  const uniqueLeftOut = [...new Set(leftOutAll)];
  const head = [
    `# ${rule.name} (${rule.id}): a dcomhunt sequence rule as Sigma rules + correlation rules.`,
    `# Generated by dcomhunt export. Each 'complete' alternative of several steps is a correlation; single-step alternatives alert alone.`,
    `# Not expressed in Sigma (the correlation engine does more): ${uniqueLeftOut.join("; ")}.`,
  ];
  warnings.push(`sigma: rule '${rule.name}': left out: ${uniqueLeftOut.join("; ")}`);
  return { content: `${head.join("\n")}\n${docs.join("---\n")}`, warnings };
}

// ------------------------------------------------------------------------------------------------
// EQL sequence

export function sequenceToEql(rule: LoadedRule): SequenceExport {
  const sp = spec(rule);
  const alts = alternatives(rule);
  const warnings: string[] = [];
  const leftOutAll = [...ruleLevelLeftOut(rule)];
  const queries: string[] = [];
  const stepQuery = (step: SequenceStep): string => {
    const expr = stepExpr(rule, "eql", step);
    const ds = dataSourceOf(expr);
    const cc = new EqlCondition({ rule, text: step.search });
    const parts: string[] = [];
    if (ds.channel)
      parts.push(`winlog.channel : "${ds.channel.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
    if (ds.eventCodes)
      parts.push(
        ds.eventCodes.length === 1
          ? `event.code : "${ds.eventCodes[0]}"`
          : `event.code : (${ds.eventCodes.map((c) => `"${c}"`).join(", ")})`,
      );
    for (const c of ds.rest) parts.push(cc.compile(c));
    return `${eqlCategory(ds.eventCodes)} where ${parts.map((p) => (parts.length > 1 ? p : outer(p))).join(" and ")}`;
  };
  alts.forEach((alt, i) => {
    leftOutAll.push(...alt.leftOut);
    const title = `// complete alternative ${i + 1}: [${alt.steps.map((s) => s.name).join(", ")}]`;
    if (alt.steps.length === 1) {
      queries.push(`${title}\n${stepQuery(alt.steps[0])}`);
      return;
    }
    if (!sp.ordered)
      leftOutAll.push("order-free steps (EQL sequences are ordered: the listed step order is used)");
    const lines = [title, `sequence by host.name with maxspan=${timespan(sp.maxspan)}`];
    for (const step of alt.steps) {
      const by = alt.keys.map((k) => ecsField(rule, "eql", k.fields[step.name]).name);
      lines.push(`  [${stepQuery(step)}]${by.length ? ` by ${by.join(", ")}` : ""}`);
    }
    queries.push(lines.join("\n"));
  });
  const uniqueLeftOut = [...new Set(leftOutAll)];
  warnings.push(`eql: rule '${rule.name}': left out: ${uniqueLeftOut.join("; ")}`);
  const head = [
    `// ${rule.name} (${rule.id}): a dcomhunt sequence rule as EQL, one query per 'complete' alternative.`,
    "// Generated by dcomhunt export; ECS fields of Elastic's Windows integration.",
    `// Not expressed in EQL: ${uniqueLeftOut.join("; ")}.`,
  ];
  return { content: `${head.join("\n")}\n\n${queries.join("\n\n")}\n`, warnings };
}
