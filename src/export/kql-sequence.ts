/**
 * Sequence rules as one KQL query for Microsoft Sentinel: each step is a `let` over its table (Sysmon
 * and other channels: `Event` with EventData parsed; Security: `SecurityEvent`'s columns), projected
 * to the step's time, the host (short, lower-case Computer, as the correlation engine compares hosts)
 * and the join keys; each `complete` alternative joins its steps on host and the keys they all carry
 * and keeps the combinations whose first and last events lie within `maxspan` (in order when the rule
 * is ordered); the alternatives are `union`ed.
 *
 * Left out, named in the header and a warning (as for Sigma and EQL): until, classify, attribution,
 * start/after, keys not shared by a whole alternative, derived keys, and the engine's hex/decimal
 * key normalization (keys are compared as lower-case text here). An alternative with a step this
 * exporter cannot map (e.g. a field SecurityEvent has no column for) is left out the same way.
 */
import type { SequenceSpec, SequenceStep } from "../correlate/schema.js";
import { parseDuration } from "../correlate/schema.js";
import type { LoadedRule } from "../rules/loader.js";
import { kqlName, kqlSearchCompiler, kqlString, sentinelSource } from "./kql.js";
import { dataSourceOf, parseStepSearch } from "./query.js";
import { alternatives, ruleLevelLeftOut } from "./sequence.js";
import { ExportError, type KqlFlavor } from "./types.js";

interface StepPlan {
  /** The `let` body, ending in a project of Host, the keys and the step time. */
  lines: string[];
}

class StepError extends Error {}

function stepPlan(rule: LoadedRule, step: SequenceStep, keys: { name: string; field: string }[]): StepPlan {
  const expr = parseStepSearch(rule, "kql (sentinel)", step.search, `step '${step.name}'`);
  const ds = dataSourceOf(expr);
  const fail = (_pos: number | undefined, construct: string, reason: string): never => {
    throw new StepError(`step '${step.name}': ${construct}: ${reason}`);
  };
  const source = sentinelSource(ds, fail, []);
  const search = kqlSearchCompiler(source.field, fail);
  const where = expr ? search(expr) : undefined;
  const keyCols = keys.map((k) => `${kqlName(`key_${k.name}`)} = tolower(${source.field(k.field, 0).value})`);
  const lines: string[] = [source.table];
  if (source.table === "Event" && ds.channel) lines.push(`| where EventLog =~ ${kqlString(ds.channel)}`);
  lines.push(...source.prelude());
  if (where) lines.push(`| where ${where}`);
  lines.push(
    `| project ${kqlName(`t_${step.name}`)} = TimeGenerated, Host = tolower(tostring(split(Computer, ".")[0]))${keyCols.map((c) => `, ${c}`).join("")}`,
  );
  return { lines };
}

export function sequenceToKqlSentinel(
  rule: LoadedRule,
  flavor: KqlFlavor,
): { content: string; warnings: string[] } {
  if (flavor !== "sentinel") {
    throw new ExportError(
      rule.name,
      `kql (${flavor})`,
      "sequence rule",
      "Defender XDR joins are not exported (use --flavor sentinel, --target sigma or eql)",
    );
  }
  const sp = rule.sequence as unknown as SequenceSpec;
  const maxspan = parseDuration(sp.maxspan);
  const leftOut = [...ruleLevelLeftOut(rule)];
  const lets: string[] = [];
  const alts: string[] = [];
  alternatives(rule).forEach((alt, i) => {
    leftOut.push(...alt.leftOut);
    const label = alt.steps.map((s) => s.name).join("+");
    const name = `alt${i + 1}`;
    try {
      const plans = alt.steps.map((s) =>
        stepPlan(
          rule,
          s,
          alt.keys.map((k) => ({ name: k.name, field: k.fields[s.name] })),
        ),
      );
      const stepLets = alt.steps.map((s, j) => {
        const letName = `${name}_${s.name}`;
        lets.push(`let ${kqlName(letName)} = ${plans[j].lines.join("\n  ")};`);
        return kqlName(letName);
      });
      const on = ["Host", ...alt.keys.map((k) => kqlName(`key_${k.name}`))].join(", ");
      const times = alt.steps.map((s) => kqlName(`t_${s.name}`));
      const body = [stepLets[0]];
      for (const l of stepLets.slice(1)) body.push(`| join kind=inner (${l}) on ${on}`);
      if (times.length > 1) {
        body.push(`| where max_of(${times.join(", ")}) - min_of(${times.join(", ")}) <= ${maxspan}s`);
        if (sp.ordered)
          body.push(
            `| where ${times
              .slice(1)
              .map((t, j) => `${times[j]} <= ${t}`)
              .join(" and ")}`,
          );
      }
      const first = times.length > 1 ? `min_of(${times.join(", ")})` : times[0];
      const last = times.length > 1 ? `max_of(${times.join(", ")})` : times[0];
      body.push(
        `| project Alternative = ${kqlString(label)}, Host, FirstTime = ${first}, LastTime = ${last}`,
      );
      lets.push(`let ${name} = ${body.join("\n  ")};`);
      alts.push(name);
    } catch (e) {
      if (!(e instanceof StepError) && !(e instanceof ExportError)) throw e;
      leftOut.push(
        `alternative [${alt.steps.map((s) => s.name).join(", ")}] (${e.message.replace(/^.*?rule '[^']*': /, "")})`,
      );
    }
  });
  const unique = [...new Set(leftOut)];
  if (alts.length === 0) {
    throw new ExportError(
      rule.name,
      "kql (sentinel)",
      "sequence rule",
      `no alternative could be exported: ${unique.filter((l) => l.startsWith("alternative")).join("; ")}`,
    );
  }
  const head = [
    `// ${rule.name} (${rule.id}): a dcomhunt sequence rule as one Sentinel query (joins per 'complete' alternative, then union).`,
    "// Generated by dcomhunt export.",
    `// Not expressed here: ${unique.join("; ")}.`,
  ];
  const content = `${head.join("\n")}\n${lets.join("\n")}\nunion ${alts.join(", ")}\n| sort by FirstTime desc\n`;
  return { content, warnings: [`kql (sentinel): rule '${rule.name}': left out: ${unique.join("; ")}`] };
}
