/**
 * Running sequence rules over a stream: every event goes to every engine, alerts come out as windows
 * close, and the end of input flushes what is still open. Rules are compiled once per run.
 *
 * One incident, one alert, across rules too: two rules can see the same incident (the source host's
 * request is evidence of the target-side alert when both hosts' logs are read, and of the source-side
 * rule's alert). Alerts sharing an evidence event are merged (see mergeAlerts for which one leads). To merge without buffering the whole run, an alert is held until the stream
 * time has passed its last event by `holdSeconds` (default: the longest maxspan of the rules).
 */
import type { SplunkEvent } from "../events/fields.js";
import type { Alert, EvidenceItem } from "./alert.js";
import {
  type CorrelationContext,
  compileSequenceRule,
  type SequenceEngine,
  type SequenceRule,
} from "./engine.js";
import { describeIncident, outcomeRank, sameAttempt } from "./incident.js";
import { parseDuration } from "./schema.js";

export interface SequenceRun {
  alerts: Alert[];
  /** Per rule id: events seen, open partial matches at the end (before flush), evictions. */
  stats: Record<string, ReturnType<SequenceEngine["stats"]>>;
}

export interface RunOptions {
  /** Called for every alert as soon as it is final (after the hold). */
  onAlert?: (a: Alert) => void;
  /** Merge alerts of different rules that share evidence (default true). */
  mergeAcrossRules?: boolean;
  holdSeconds?: number;
}

const RANK: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };

function evidenceId(e: EvidenceItem): string {
  return `${e._file}\u0000${e._computer.toLowerCase()}\u0000${e._channel.toLowerCase()}\u0000${e._record_id}\u0000${e._time}`;
}

const CONFIDENCE: Record<string, number> = { low: 0, medium: 1, high: 2 };

/**
 * Merge two alerts of one incident. The primary (whose variant, rule and explanation lead) is the
 * target-side one (the host that was moved to says what was done there), then the more severe, then
 * the one with more evidence; severity and confidence are the higher of the two; empty attribution
 * fields are filled from the other; evidence is the union in time order.
 */
function mergeAlerts(a: Alert, b: Alert, sourceSide: Set<string>): Alert {
  const score = (x: Alert): [number, number, number] => [
    sourceSide.has(x.ruleId) ? 0 : 1,
    RANK[x.severity] ?? 0,
    x.evidence.length,
  ];
  const [sa, sb] = [score(a), score(b)];
  const bFirst = sb[0] !== sa[0] ? sb[0] > sa[0] : sb[1] !== sa[1] ? sb[1] > sa[1] : sb[2] > sa[2];
  const [primary, other] = bFirst ? [b, a] : [a, b];
  const seen = new Set(primary.evidence.map(evidenceId));
  // Evidence: the union, in one order that does not depend on which alert leads (re-merging the same
  // alerts in any order gives the same evidence).
  const evidence = [...primary.evidence, ...other.evidence.filter((e) => !seen.has(evidenceId(e)))].sort(
    (x, y) => {
      if (x._time !== y._time) return x._time < y._time ? -1 : 1;
      const [ix, iy] = [evidenceId(x), evidenceId(y)];
      return ix < iy ? -1 : ix > iy ? 1 : 0;
    },
  );
  const shared = other.evidence.filter((e) => seen.has(evidenceId(e))).length;
  const higher = (x: string, y: string, rank: Record<string, number>) =>
    (rank[y] ?? 0) > (rank[x] ?? 0) ? y : x;
  const outcome = outcomeRank(other.outcome) > outcomeRank(primary.outcome) ? other.outcome : primary.outcome;
  return describeIncident({
    ...primary,
    outcome,
    severity_by: primary.severity_by === "outcome" || other.severity_by === "outcome" ? "outcome" : undefined,
    severity: higher(primary.severity, other.severity, RANK),
    confidence: higher(primary.confidence, other.confidence, CONFIDENCE),
    target_host: primary.target_host || other.target_host,
    source_ip: primary.source_ip || other.source_ip,
    source_host: primary.source_host || other.source_host,
    account: primary.account || other.account,
    loopback: primary.loopback && other.loopback,
    first_time: Math.min(primary.first_time, other.first_time),
    last_time: Math.max(primary.last_time, other.last_time),
    evidence,
    explain: [
      ...primary.explain,
      shared > 0
        ? `merged with an alert of "${other.rule}" (${other.variant}, ${other.severity}) sharing ${shared} evidence event${shared === 1 ? "" : "s"}:`
        : `merged with an alert of "${other.rule}" (${other.variant}, ${other.severity}): the other end of the same attempt (caller ${other.source_ip || primary.source_ip || "?"}, target ${primary.target_host || other.target_host}):`,
      ...other.explain.map((x) => `  ${x}`),
    ],
  });
}

/**
 * The cross-rule merge as a streaming stage, for callers that drive the engines themselves: give it each
 * engine's alerts with the stream time (`add`), forward what `release(now)` returns, and `flush()` at
 * the end. Alerts come out at most `holdSeconds` of stream time after their last event.
 */
export interface AlertMerger {
  add(alerts: Alert[]): void;
  /** Alerts final at stream time `now` (epoch seconds), in first_time order. */
  release(now: number): Alert[];
  flush(): Alert[];
}

export function createAlertMerger(
  rules: SequenceRule[],
  opts: { mergeAcrossRules?: boolean; holdSeconds?: number } = {},
): AlertMerger {
  const merge = opts.mergeAcrossRules ?? true;
  const sourceSide = new Set(rules.filter((r) => r.sequence.perspective === "source").map((r) => r.id));
  const longest = Math.max(0, ...rules.map((r) => parseDuration(r.sequence.maxspan)));
  // Held twice the longest window: the caller's and the target's alerts of one attempt close at
  // different times (each when its own window ends) and must meet here.
  const hold = opts.holdSeconds ?? 2 * longest;
  let held: Alert[] = [];
  let ready: Alert[] = [];
  const byStart = (x: Alert, y: Alert) => x.first_time - y.first_time;
  return {
    add(list) {
      for (let a of list) {
        if (!merge) {
          ready.push(a);
          continue;
        }
        const ids = new Set(a.evidence.map(evidenceId));
        const overlapping = held.filter((h) => h.evidence.some((e) => ids.has(evidenceId(e))));
        for (const h of overlapping) a = mergeAlerts(h, a, sourceSide);
        // The two ends of one attempt (the caller's records and the target's) that share no event.
        for (;;) {
          const end = held.find((h) => !overlapping.includes(h) && sameAttempt(h, a, longest));
          if (!end) break;
          overlapping.push(end);
          a = mergeAlerts(end, a, sourceSide);
        }
        held = held.filter((h) => !overlapping.includes(h));
        held.push(a);
      }
    },
    release(now) {
      const out = ready.concat(held.filter((h) => h.last_time + hold < now));
      held = held.filter((h) => !(h.last_time + hold < now));
      ready = [];
      return out.sort(byStart);
    },
    flush() {
      const out = ready.concat(held).sort(byStart);
      held = [];
      ready = [];
      return out;
    },
  };
}

export async function runSequenceRules(
  rules: SequenceRule[],
  events: AsyncIterable<SplunkEvent> | Iterable<SplunkEvent>,
  ctx: CorrelationContext,
  opts: RunOptions = {},
): Promise<SequenceRun> {
  const engines = rules.map((rule) => ({ rule, engine: compileSequenceRule(rule, ctx) }));
  const merger = createAlertMerger(rules, opts);
  const alerts: Alert[] = [];
  const release = (list: Alert[]) => {
    for (const a of list) {
      alerts.push(a);
      opts.onAlert?.(a);
    }
  };
  let now = Number.NEGATIVE_INFINITY;
  for await (const ev of events) {
    for (const { engine } of engines) merger.add(engine.push(ev));
    if (ev.time !== undefined && ev.time > now) now = ev.time;
    release(merger.release(now));
  }
  const stats: SequenceRun["stats"] = {};
  for (const { rule, engine } of engines) {
    stats[rule.id] = engine.stats();
    merger.add(engine.flush());
  }
  release(merger.flush());
  return { alerts, stats };
}
