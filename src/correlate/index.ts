/**
 * Correlation: `sequence` rules (multi-event, joined by host and keys, in a time window) and their alerts.
 *
 * Public API
 * ```ts
 * interface CorrelationContext { compilePredicate(searchExpr: string): (ev: SplunkEvent) => boolean; tz: string }
 * function compileSequenceRule(rule: { id; name; severity; sequence: SequenceSpec }, ctx): SequenceEngine
 * interface SequenceEngine { push(ev): Alert[]; flush(): Alert[]; stats(): { partials; evicted; untimed; events } }
 * function mergeByTime(streams: AsyncIterable<SplunkEvent>[], reorderWindowSeconds: number): AsyncGenerator<SplunkEvent>
 * function runSequenceRules(rules, events, ctx, opts?: { onAlert?; mergeAcrossRules?; holdSeconds? }): Promise<{ alerts; stats }>
 * function createAlertMerger(rules, opts?): { add(alerts); release(streamTime): Alert[]; flush(): Alert[] }  // cross-rule merge, streaming
 * function validateSequenceBlock(block: unknown, compile?: (searchExpr: string) => unknown): { path; message }[]
 * function alertToJson(a: Alert, opts?: { explain?: boolean }): Record<string, unknown>
 * function formatAlertsTable(alerts: Alert[], opts?: { explain?: boolean; width?: number }): string
 * const sequenceSchema (JSON Schema of the `sequence:` block); type SequenceSpec; checkSequenceSpec(spec): string[]
 * ```
 * The engine knows nothing of SPL: each step's search expression is compiled by `ctx.compilePredicate`
 * (the SPL engine's compileSearchExpression). Feed it events in time order (`mergeByTime` over the
 * readers' streams), call `flush()` at the end of input. It can run over a live stream the same way:
 * alerts come out of `push` as soon as an incident's window closes or an `until` event ends it.
 *
 * The `sequence:` block (see schema.ts for every field)
 * ```yaml
 * sequence:
 *   maxspan: 2m                    # first to last event of one incident
 *   ordered: false                 # the inbound connection can be logged before the process start
 *   steps:
 *     - name: logon                # Security 4624 from the caller
 *       search: EventCode=4624 LogonType=3
 *       keys: { logon: TargetLogonId }
 *     - name: server               # svchost -> mmc.exe -Embedding, under that logon
 *       search: EventCode=4688 NewProcessName="*\\mmc.exe" ParentProcessName="*\\svchost.exe"
 *       keys: { logon: TargetLogonId, pid: NewProcessId }
 *     - name: network              # Sysmon 3 inbound to the server: ProcessGuid = child's ParentProcessGuid
 *       search: EventCode=3 Initiated=false
 *       keys: { proc: ProcessGuid }
 *   complete: [[logon, server]]    # any of these step sets makes the incident an alert
 *   until: [{ search: EventCode=4689, keys: { pid: ProcessId } }]
 *   variant: MMC20
 *   classify:                      # first entry defining an attribute sets it
 *     - { when: { steps: [network], remote: true }, severity: critical, confidence: high }
 *   attribution:                   # first candidate yielding a value wins
 *     source_ip: [{ step: logon, value: "{IpAddress}" }, { step: network, value: "$peer_ip" }]
 *     account: [{ step: logon, value: "{TargetDomainName}\\{TargetUserName}" }]
 * ```
 * Joining: events join an incident when in the same bucket (the host: Computer, case folded, short
 * name; `scope: global` puts all hosts in one bucket), within `maxspan`, every key they both carry has
 * the same value (values normalized: case, hex/decimal) and at least one key is in common (EQL's
 * `sequence by`; `$host` keys only partition). Keys chain: 4624 binds `logon`, the 4688 with that
 * TargetLogonId binds `pid`, a 4688 whose parent ProcessId is that `pid` joins. An event binding a new
 * key forks the incident (so several processes of one logon are followed separately); incidents sharing
 * events are closed and merged together. Derived key values: `$host`, `$peer_ip`, `$peer_host` and
 * `$conn` (a connection's endpoints, order-free: the caller's outbound record and the target's inbound
 * record of one TCP connection give the same value, which joins the two hosts' views of one call).
 * Step options: `start: false` (only joins), `after: [steps]` (joins only incidents holding one of them).
 *
 * Across rules (runSequenceRules): alerts that share an evidence event are one incident and merged
 * (target-side rule first, then severity); alerts are held `holdSeconds` of stream time for that.
 *
 * Alert fields: variant (classify, else `variant`), severity (classify, else the rule's), confidence
 * (classify, else medium), target_host (attribution, else the incident host's Computer), source_ip,
 * source_host, account (attribution), loopback (perspective target: no remote source address, or it
 * is the host's own; source: the target is this host) — a loopback alert's severity is one level lower.
 * Every dcom pack rule is a sequence (a one-step sequence for single-event signals) so that every hit
 * is an alert with variant, severity and attribution.
 */
export {
  type Alert,
  type AlertTableOptions,
  alertToJson,
  type EvidenceItem,
  formatAlertsTable,
} from "./alert.js";
export {
  type CorrelationContext,
  compileSequenceRule,
  type EventPredicate,
  type SequenceEngine,
  type SequenceRule,
} from "./engine.js";
export { eventHost, normalizeHost, normalizeKeyValue } from "./keys.js";
export { mergeByTime, TimeHeap } from "./merge.js";
export { isLoopback, LocalAddressBook, peerOf } from "./network.js";
export {
  type AlertMerger,
  createAlertMerger,
  type RunOptions,
  runSequenceRules,
  type SequenceRun,
} from "./run.js";
export {
  checkSequenceSpec,
  parseDuration,
  type SequenceProblem,
  type SequenceSpec,
  type SequenceStep,
  sequenceSchema,
  validateSequenceBlock,
} from "./schema.js";
