/**
 * The sequence engine: streams SplunkEvents (time ordered, see merge.ts), keeps partial matches per
 * host with their join-key bindings, and turns closed, complete incidents into alerts.
 *
 * Semantics (documented for rule authors in index.ts):
 * - An event matching step S (its SPL predicate) is offered to every open partial on the same host
 *   that it fits: the partial's span including the event stays within `maxspan`, every join key both
 *   carry has the same value and at least one does (unless the event or the partial has no keys), and
 *   (ordered rules) S does not come before a step the partial has.
 *   If the event binds no new key it extends the partial; if it binds new keys the partial is forked
 *   (the original stays open for other branches, e.g. a second process from the same logon).
 *   An event that joined no partial opens a new one when S may start (`start`, default true).
 * - A partial closes when `now` (the latest event time seen) passes first + maxspan, or when an
 *   `until` event sharing a key with it arrives. Closed partials with a `complete` step set become
 *   alerts; among those closing together, one whose events are a subset of another's is dropped and
 *   ones sharing an event are merged, so an incident gives one alert, not one per event or branch.
 * - State is bounded: partials expire with time and `max_partials` evicts the oldest beyond a cap.
 */
import type { SplunkEvent } from "../events/fields.js";
import { type Alert, type EvidenceItem, type Outcome, toEvidence } from "./alert.js";
import { describeIncident } from "./incident.js";
import { eventHost, fieldOf, normalizeHost, normalizeKeyValue } from "./keys.js";
import { connectionOf, isLocalAddress, isLoopback, LocalAddressBook, peerOf } from "./network.js";
import {
  type AttributionCandidate,
  type ClassifyEntry,
  checkSequenceSpec,
  parseDuration,
  type SequenceSpec,
} from "./schema.js";
import { type DerivedValues, defaultSummary, renderTemplate } from "./summary.js";

export type EventPredicate = (ev: SplunkEvent) => boolean;

export interface CorrelationContext {
  /** Compiles an SPL search expression (the SPL engine's compileSearchExpression, bound to its context). */
  compilePredicate(searchExpr: string): EventPredicate;
  /** Display zone (IANA or "UTC"); alert times in json are ISO UTC regardless. */
  tz: string;
}

export interface SequenceRule {
  id: string;
  name: string;
  severity: string;
  sequence: SequenceSpec;
}

export interface SequenceEngine {
  /** Feed one event; returns the alerts of incidents this event's time (or `until`) closed. */
  push(ev: SplunkEvent): Alert[];
  /** End of input: close every open incident. */
  flush(): Alert[];
  stats(): { partials: number; evicted: number; untimed: number; events: number };
}

interface CompiledStep {
  name: string;
  index: number;
  match: EventPredicate;
  keys: [string, string][];
  start: boolean;
  after?: string[];
  maxEvents?: number;
  summary?: string;
  side: "target" | "source";
  helper: boolean;
}

interface MatchedEvent {
  seq: number;
  ev: SplunkEvent;
  time: number;
  steps: string[];
  derived: DerivedValues;
}

interface Partial {
  id: number;
  host: string;
  first: number;
  last: number;
  maxIndex: number;
  bindings: Map<string, string>;
  events: MatchedEvent[];
  ids: Set<number>;
  steps: Set<string>;
}

const SEVERITIES = ["low", "medium", "high", "critical"] as const;

/** Fields an alert can be attributed from. */
type AttributionField = "target_host" | "source_ip" | "source_host" | "account";

export function compileSequenceRule(rule: SequenceRule, ctx: CorrelationContext): SequenceEngine {
  const spec = rule.sequence;
  const problems = checkSequenceSpec(spec);
  if (problems.length > 0) throw new Error(`rule "${rule.name}": ${problems.join("; ")}`);
  const compile = (text: string, where: string): EventPredicate => {
    try {
      return ctx.compilePredicate(text);
    } catch (e) {
      throw new Error(`rule "${rule.name}": ${where}: ${(e as Error).message}`);
    }
  };
  const steps: CompiledStep[] = spec.steps.map((s, index) => ({
    name: s.name,
    index,
    match: compile(s.search, `step ${s.name}`),
    keys: Object.entries(s.keys ?? {}),
    start: s.start ?? true,
    after: s.after,
    maxEvents: s.max_events,
    summary: s.summary,
    side: s.side ?? (spec.perspective === "source" ? "source" : "target"),
    helper: s.helper === true,
  }));
  const until = (spec.until ?? []).map((u, i) => ({
    match: compile(u.search, `until[${i}]`),
    keys: Object.entries(u.keys ?? {}),
  }));
  const classify = (spec.classify ?? []).map((c, i) => ({
    entry: c,
    index: i,
    match: c.when?.search !== undefined ? compile(c.when.search, `classify[${i}]`) : undefined,
  }));
  return new Engine(rule, spec, steps, until, classify);
}

class Engine implements SequenceEngine {
  private readonly maxspan: number;
  private readonly maxPartials: number;
  private readonly complete: string[][];
  private readonly byHost = new Map<string, Partial[]>();
  /** Key names bound to `$host` in some step: partition keys, not join evidence. */
  private readonly hostKeys: Set<string>;
  private readonly book = new LocalAddressBook();
  /** Recently alerted event seqs per host (pruned by time): no second alert from the same evidence. */
  private readonly emitted = new Map<string, Map<number, number>>();
  private now = Number.NEGATIVE_INFINITY;
  private seq = 0;
  private partialSeq = 0;
  private count = 0;
  private evicted = 0;
  private untimed = 0;
  private events = 0;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private sinceSweep = 0;

  constructor(
    private readonly rule: SequenceRule,
    private readonly spec: SequenceSpec,
    private readonly steps: CompiledStep[],
    private readonly until: { match: EventPredicate; keys: [string, string][] }[],
    private readonly classifiers: { entry: ClassifyEntry; index: number; match?: EventPredicate }[],
  ) {
    this.maxspan = parseDuration(spec.maxspan);
    this.maxPartials = spec.max_partials ?? 20000;
    this.complete = spec.complete ?? [steps.map((s) => s.name)];
    this.hostKeys = new Set(
      steps.flatMap((s) => s.keys.filter(([, field]) => field === "$host").map(([k]) => k)),
    );
  }

  stats() {
    return { partials: this.count, evicted: this.evicted, untimed: this.untimed, events: this.events };
  }

  push(ev: SplunkEvent): Alert[] {
    this.events++;
    const t = ev.time;
    if (t === undefined) {
      this.untimed++;
      return [];
    }
    const host = eventHost(ev);
    const bucket = this.spec.scope === "global" ? "*" : host;
    this.book.learn(host, ev);
    const alerts: Alert[] = [];
    if (t > this.now) this.now = t;
    // Sweep expired partials once per simulated second, or every 1024 events when time stands still
    // (records far out of order: their partials are already past the window and must not pile up).
    if (this.now - this.lastSweep >= 1 || ++this.sinceSweep >= 1024) {
      this.lastSweep = this.now;
      this.sinceSweep = 0;
      alerts.push(...this.expire((p) => p.first + this.maxspan < this.now));
    }

    const matched = this.steps.filter((s) => s.match(ev));
    const closing = this.until.filter((u) => u.match(ev));
    if (matched.length === 0 && closing.length === 0) return alerts;

    const peer = peerOf(ev, host, this.book);
    const derived: DerivedValues = {
      peer_ip: peer.ip,
      peer_host: peer.host,
      local_ip: peer.local,
      host,
      conn: connectionOf(ev),
    };
    const seq = ++this.seq;

    for (const u of closing) {
      const keys = this.keyValues(ev, u.keys, derived);
      if (keys.length === 0) continue;
      const list = this.byHost.get(bucket) ?? [];
      const shut = new Set(
        list.filter(
          (p) => p.first <= t && keys.some(([k, v]) => p.bindings.get(k) === v) && this.compatible(p, keys),
        ),
      );
      if (shut.size > 0) alerts.push(...this.expire((p) => shut.has(p), bucket));
    }

    for (const step of matched) {
      const keys = this.keyValues(ev, step.keys, derived);
      const list = this.byHost.get(bucket) ?? [];
      let joined = false;
      for (const p of [...list]) {
        if (p.ids.has(seq)) {
          // The same event under a second step; an `after` step needs its anchor in another event.
          if (
            step.after &&
            !p.events.some((e) => e.seq !== seq && e.steps.some((s) => step.after!.includes(s)))
          )
            continue;
          const entry = p.events.find((e) => e.seq === seq)!;
          if (!entry.steps.includes(step.name)) entry.steps.push(step.name);
          p.steps.add(step.name);
          p.maxIndex = Math.max(p.maxIndex, step.index);
          joined = true;
          continue;
        }
        if (Math.max(p.last, t) - Math.min(p.first, t) > this.maxspan) continue;
        if (this.spec.ordered && step.index < p.maxIndex) continue;
        if (step.after && !step.after.some((s) => p.steps.has(s))) continue;
        if (!this.compatible(p, keys)) continue;
        // Joining needs a key in common (EQL's `sequence by`), not only the absence of a conflict.
        if (!this.sharesKey(p, keys)) continue;
        const fresh = keys.filter(([k]) => !p.bindings.has(k));
        joined = true;
        if (
          fresh.length === 0 &&
          step.maxEvents !== undefined &&
          p.events.filter((e) => e.steps.includes(step.name)).length >= step.maxEvents
        )
          continue;
        const target = fresh.length === 0 ? p : this.fork(p);
        for (const [k, v] of fresh) target.bindings.set(k, v);
        this.addEvent(target, { seq, ev, time: t, steps: [step.name], derived }, step);
      }
      if (!joined && step.start) {
        const p: Partial = {
          id: ++this.partialSeq,
          host: bucket,
          first: t,
          last: t,
          maxIndex: step.index,
          bindings: new Map(keys),
          events: [],
          ids: new Set(),
          steps: new Set(),
        };
        this.addEvent(p, { seq, ev, time: t, steps: [step.name], derived }, step);
        this.insert(p);
      }
    }
    if (this.count > this.maxPartials) this.evictOldest();
    return alerts;
  }

  flush(): Alert[] {
    return this.expire(() => true);
  }

  private keyValues(ev: SplunkEvent, keys: [string, string][], derived: DerivedValues): [string, string][] {
    const out: [string, string][] = [];
    for (const [key, field] of keys) {
      let raw: string | undefined;
      if (field === "$peer_ip") raw = derived.peer_ip;
      else if (field === "$peer_host") raw = derived.peer_host;
      else if (field === "$host") raw = derived.host;
      else if (field === "$local_ip") raw = derived.local_ip;
      else if (field === "$conn") raw = derived.conn;
      else for (const name of field.split("|")) if ((raw = lastValue(ev, name)) !== undefined) break;
      const v = normalizeKeyValue(raw);
      if (v !== undefined) out.push([key, v]);
    }
    return out;
  }

  private compatible(p: Partial, keys: [string, string][]): boolean {
    for (const [k, v] of keys) {
      const bound = p.bindings.get(k);
      if (bound !== undefined && bound !== v) return false;
    }
    return true;
  }

  /**
   * The key in common an event needs to join a partial (besides agreeing on every key both carry):
   * a join key when both have join keys; else a `$host` partition key when both have those; else none.
   */
  private sharesKey(p: Partial, keys: [string, string][]): boolean {
    const joinKeys = keys.filter(([k]) => !this.hostKeys.has(k));
    const bound = [...p.bindings.keys()];
    if (joinKeys.length > 0 && bound.some((k) => !this.hostKeys.has(k))) {
      return joinKeys.some(([k, v]) => p.bindings.get(k) === v);
    }
    const partition = keys.filter(([k]) => this.hostKeys.has(k));
    if (partition.length > 0 && bound.some((k) => this.hostKeys.has(k))) {
      return partition.some(([k, v]) => p.bindings.get(k) === v);
    }
    return true;
  }

  private fork(p: Partial): Partial {
    const q: Partial = {
      id: ++this.partialSeq,
      host: p.host,
      first: p.first,
      last: p.last,
      maxIndex: p.maxIndex,
      bindings: new Map(p.bindings),
      events: p.events.map((e) => ({ ...e, steps: [...e.steps] })),
      ids: new Set(p.ids),
      steps: new Set(p.steps),
    };
    this.insert(q);
    return q;
  }

  private addEvent(p: Partial, m: MatchedEvent, step: CompiledStep): void {
    p.events.push(m);
    p.ids.add(m.seq);
    p.steps.add(step.name);
    p.first = Math.min(p.first, m.time);
    p.last = Math.max(p.last, m.time);
    p.maxIndex = Math.max(p.maxIndex, step.index);
  }

  private insert(p: Partial): void {
    let list = this.byHost.get(p.host);
    if (!list) this.byHost.set(p.host, (list = []));
    list.push(p);
    this.count++;
  }

  private evictOldest(): void {
    const all = [...this.byHost.values()].flat().sort((a, b) => a.first - b.first || a.id - b.id);
    const excess = this.count - this.maxPartials;
    const gone = new Set(all.slice(0, excess));
    for (const [host, list] of this.byHost) {
      const kept = list.filter((p) => !gone.has(p));
      if (kept.length === 0) this.byHost.delete(host);
      else this.byHost.set(host, kept);
    }
    this.count -= gone.size;
    this.evicted += gone.size;
  }

  private isComplete(p: Partial): boolean {
    return this.complete.some((alt) => alt.every((s) => p.steps.has(s)));
  }

  /** Close the partials selected (on one host or all), returning the alerts of complete incidents. */
  private expire(select: (p: Partial) => boolean, onlyHost?: string): Alert[] {
    const alerts: Alert[] = [];
    for (const [host, list] of [...this.byHost]) {
      if (onlyHost !== undefined && host !== onlyHost) continue;
      const closing = new Set(list.filter(select));
      if (closing.size === 0) continue;
      // Partials sharing an event with a closing one are the same incident: they close together.
      const byEvent = new Map<number, Partial[]>();
      for (const q of list) for (const id of q.ids) (byEvent.get(id) ?? byEvent.set(id, []).get(id)!).push(q);
      const queue = [...closing];
      while (queue.length > 0) {
        const p = queue.pop()!;
        for (const id of p.ids) {
          for (const q of byEvent.get(id) ?? []) {
            if (!closing.has(q)) {
              closing.add(q);
              queue.push(q);
            }
          }
        }
      }
      const kept = list.filter((p) => !closing.has(p));
      if (kept.length === 0) this.byHost.delete(host);
      else this.byHost.set(host, kept);
      this.count -= closing.size;
      alerts.push(...this.finalize(host, [...closing]));
    }
    this.pruneEmitted();
    return alerts.sort((a, b) => a.first_time - b.first_time);
  }

  private finalize(host: string, closing: Partial[]): Alert[] {
    const emitted = this.emitted.get(host) ?? new Map<number, number>();
    let done = closing.filter((p) => this.isComplete(p));
    // Drop branches whose evidence another closing branch contains, and evidence already alerted.
    done = done.filter(
      (p) =>
        !done.some(
          (q) =>
            q !== p &&
            q.ids.size >= p.ids.size &&
            [...p.ids].every((i) => q.ids.has(i)) &&
            (q.ids.size > p.ids.size || q.id < p.id),
        ) && ![...p.ids].every((i) => emitted.has(i)),
    );
    // Merge branches sharing an event: one incident, one alert (incomplete branches that share an event
    // with a complete one bring their evidence, e.g. the source host's request joined by the connection).
    const groups: Partial[][] = [];
    const incomplete = closing.filter((p) => !this.isComplete(p));
    for (const p of [...done, ...incomplete]) {
      const overlapping = groups.filter((g) => g.some((q) => [...p.ids].some((i) => q.ids.has(i))));
      if (!this.isComplete(p) && overlapping.length === 0) continue;
      const merged = [p, ...overlapping.flat()];
      for (const g of overlapping) groups.splice(groups.indexOf(g), 1);
      groups.push(merged);
    }
    const alerts = groups
      .filter((g) => g.some((p) => this.isComplete(p)))
      .map((g) => this.buildAlert(host, g));
    for (const g of groups) for (const p of g) for (const e of p.events) emitted.set(e.seq, e.time);
    if (emitted.size > 0) this.emitted.set(host, emitted);
    return alerts;
  }

  private pruneEmitted(): void {
    const horizon = this.now - 2 * this.maxspan;
    for (const [host, m] of this.emitted) {
      for (const [seq, time] of m) if (time < horizon) m.delete(seq);
      if (m.size === 0) this.emitted.delete(host);
    }
  }

  private buildAlert(host: string, group: Partial[]): Alert {
    const bySeq = new Map<number, MatchedEvent>();
    for (const p of group) {
      for (const e of p.events) {
        const prev = bySeq.get(e.seq);
        if (!prev) bySeq.set(e.seq, { ...e, steps: [...e.steps] });
        else for (const s of e.steps) if (!prev.steps.includes(s)) prev.steps.push(s);
      }
    }
    const events = [...bySeq.values()].sort((a, b) => a.time - b.time || a.seq - b.seq);
    const stepsMatched = new Set(events.flatMap((e) => e.steps));
    const explain: string[] = [];
    for (const e of events) {
      const ev = e.ev;
      const where = `${ev.event?.provenance.file ?? "?"}#${recordId(ev)}`;
      explain.push(
        `step ${e.steps.join("+")}: ${where} EventCode ${fieldOf(ev, "EventCode") ?? "?"} at ${isoTime(e.time)}`,
      );
    }
    const alt = this.complete.find((a) => a.every((s) => stepsMatched.has(s)));
    explain.push(`complete: [${(alt ?? []).join(", ")}] within ${this.maxspan}s on host ${host}`);
    const bindings = new Map<string, string>();
    for (const p of group) for (const [k, v] of p.bindings) if (!bindings.has(k)) bindings.set(k, v);
    if (bindings.size > 0) explain.push(`joined on ${[...bindings].map(([k, v]) => `${k}=${v}`).join(", ")}`);

    const attribute = (field: AttributionField): string => {
      for (const [i, c] of (this.spec.attribution?.[field] ?? []).entries()) {
        const v = this.attributeFrom(c, events);
        if (v !== undefined) {
          explain.push(`${field} = ${v} (attribution.${field}[${i}]${c.step ? ` from step ${c.step}` : ""})`);
          return v;
        }
      }
      return "";
    };
    const target_host =
      attribute("target_host") ||
      (fieldOf(events[0].ev, "Computer") ?? fieldOf(events[0].ev, "host") ?? host);
    const source_ip = attribute("source_ip");
    const source_host = attribute("source_host");
    const account = attribute("account");
    // The host the verdict is about: the incident's host, or (global scope) the target's.
    const targetKey = host === "*" ? normalizeHost(target_host) : host;
    let loopback: boolean;
    if (this.spec.perspective === "source") {
      const t = target_host.trim().toLowerCase();
      const self = host === "*" ? eventHost(events[0].ev) : host;
      loopback = t === "" || t === "." || isLoopback(t) || t === self || t.split(".")[0] === self;
    } else {
      const provenRemote = (this.spec.remote_steps ?? []).some((s) => stepsMatched.has(s));
      loopback = source_ip === "" ? !provenRemote : isLocalAddress(source_ip, targetKey, this.book);
    }
    explain.push(
      loopback
        ? `loopback: ${this.spec.perspective === "source" ? `target "${target_host}" is this host` : source_ip ? `source ${source_ip} is this host` : "no remote source seen"} (severity lowered one level)`
        : `remote: lateral movement ${this.spec.perspective === "source" ? `to ${target_host}` : `from ${source_ip || "a remote caller (address not logged)"}`}`,
    );

    let variant: string | undefined;
    let severity: string | undefined;
    let confidence: string | undefined;
    let outcome: Outcome | undefined;
    for (const c of this.classifiers) {
      if (
        variant !== undefined &&
        severity !== undefined &&
        confidence !== undefined &&
        outcome !== undefined
      )
        break;
      if (!this.conditionHolds(c.entry, c.match, events, stepsMatched, !loopback)) continue;
      const set: string[] = [];
      if (variant === undefined && c.entry.variant !== undefined)
        set.push(`variant=${(variant = c.entry.variant)}`);
      if (severity === undefined && c.entry.severity !== undefined)
        set.push(`severity=${(severity = c.entry.severity)}`);
      if (confidence === undefined && c.entry.confidence !== undefined)
        set.push(`confidence=${(confidence = c.entry.confidence)}`);
      if (outcome === undefined && c.entry.outcome !== undefined)
        set.push(`outcome=${(outcome = c.entry.outcome)}`);
      if (set.length > 0) explain.push(`classify[${c.index}]: ${set.join(", ")}`);
    }
    variant ??= this.spec.variant ?? "DCOM";
    severity ??= this.rule.severity;
    confidence ??= "medium";
    const byOutcome = this.spec.severity_by === "outcome";
    if (loopback && !byOutcome) {
      const i = SEVERITIES.indexOf(severity as (typeof SEVERITIES)[number]);
      if (i > 0) severity = SEVERITIES[i - 1];
    }

    const byName = new Map(this.steps.map((s) => [s.name, s]));
    const evidence: EvidenceItem[] = events.map((e) => {
      const steps = e.steps.map((s) => byName.get(s)!);
      const template = steps.map((s) => s.summary).find((s) => s !== undefined);
      const text = (template && renderTemplate(template, e.ev, e.derived)) || defaultSummary(e.ev, e.derived);
      const helper = steps.every((s) => s.helper);
      const item = toEvidence(
        e.ev,
        e.time,
        `[${e.steps.join("+")}] ${text}${helper ? " (a helper of the server, not a payload)" : ""}`,
        [...e.steps],
      );
      item.side = steps.some((s) => s.side === "target") ? "target" : "source";
      if (helper) item.helper = true;
      return item;
    });
    const described = describeIncident({
      ruleId: this.rule.id,
      rule: this.rule.name,
      variant,
      severity,
      confidence,
      target_host,
      source_ip,
      source_host,
      account,
      loopback,
      first_time: events[0].time,
      last_time: events[events.length - 1].time,
      evidence,
      explain,
      outcome,
      severity_by: byOutcome ? "outcome" : undefined,
    });
    explain.push(
      `incident: object ${described.object} (${described.objects?.join(", ")}), outcome ${described.outcome}, observed on ${described.observed_on}` +
        (byOutcome ? `, severity ${described.severity}/${described.confidence} by outcome` : ""),
    );
    return described;
  }

  private attributeFrom(c: AttributionCandidate, events: MatchedEvent[]): string | undefined {
    for (const e of events) {
      if (c.step !== undefined && !e.steps.includes(c.step)) continue;
      let v: string | undefined;
      if (c.value !== undefined) v = renderTemplate(c.value, e.ev, e.derived);
      else if (c.field !== undefined && c.regex !== undefined) {
        const text = fieldOf(e.ev, c.field);
        const m = text === undefined ? null : new RegExp(c.regex, "i").exec(text);
        v = m?.[1];
      }
      v = v?.trim().replace(/^\\+|\\+$/g, "");
      if (v !== undefined && v !== "" && v !== "-") return v;
    }
    return undefined;
  }

  private conditionHolds(
    entry: ClassifyEntry,
    match: EventPredicate | undefined,
    events: MatchedEvent[],
    steps: Set<string>,
    remote: boolean,
  ): boolean {
    const w = entry.when;
    if (!w) return true;
    if (w.steps && !w.steps.every((s) => steps.has(s))) return false;
    if (w.any_steps && !w.any_steps.some((s) => steps.has(s))) return false;
    if (w.absent?.some((s) => steps.has(s))) return false;
    if (w.remote !== undefined && w.remote !== remote) return false;
    if (match) {
      const pool = w.in ? events.filter((e) => e.steps.some((s) => w.in!.includes(s))) : events;
      if (!pool.some((e) => match(e.ev))) return false;
    }
    return true;
  }
}

/**
 * The last value of a field: where an EventData name repeats a System attribute (5156's ProcessID), the
 * field view holds both and the event's own value comes last.
 */
function lastValue(ev: SplunkEvent, name: string): string | undefined {
  const v = ev.fields.get(name);
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function recordId(ev: SplunkEvent): string {
  return fieldOf(ev, "EventRecordID") ?? fieldOf(ev, "RecordNumber") ?? "";
}

export function isoTime(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}
