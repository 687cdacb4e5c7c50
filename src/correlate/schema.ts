/**
 * The `sequence:` block of a correlation rule (rules/**.yml): its TypeScript type, its JSON Schema
 * (`sequenceSchema`, validated by the rule loader with ajv) and the duration syntax of `maxspan`.
 *
 * A sequence is a set of named steps, each an SPL search expression over single events. Events that
 * match steps are joined into one incident when they come from the same host (short name, case
 * folded), fall within `maxspan` of each other and agree on every join key they both carry (see
 * `keys`). The incident raises one alert once the steps of any `complete` alternative are present
 * and the window closes (or an `until` event closes it early). See src/correlate/index.ts.
 */
import { type SchemaValidator, schemaValidator } from "../rules/validators.js";

/** One value an alert field can be taken from (first candidate that yields a non-empty value wins). */
export interface AttributionCandidate {
  /** Only events that matched this step (default: any evidence event, in time order). */
  step?: string;
  /**
   * A template: `{Field}` is replaced by the event's field value; `$peer_ip`, `$peer_host`, `$local_ip`, `$host`
   * are derived (see network.ts). A candidate whose referenced fields are all empty yields nothing.
   */
  value?: string;
  /** With `regex`: the field to extract from (capture group 1, case-insensitive). */
  field?: string;
  regex?: string;
}

export interface SequenceStep {
  /** Unique within the rule; referenced by `complete`, `classify`, attribution and --explain. */
  name: string;
  /** An SPL search expression (what follows `search` in a query), compiled by the SPL engine. */
  search: string;
  /**
   * Join keys this step's events carry: key name -> field name (or a derived `$peer_ip`). Events join
   * an incident only if every key both carry has the same normalized value (case folded, hex numbers
   * such as LogonIds and PIDs compared by value, so `0x3ade94`, `0x00000000003ade94` and `3855764` are one key).
   * `A|B` takes the first of fields A, B present (e.g. `ProcessID|ProcessId`: EVTX vs NXLog spelling).
   * Derived: `$peer_ip`, `$peer_host`, `$local_ip` (network.ts), `$host` (the event's host), `$conn`
   * (connectionOf).
   */
  keys?: Record<string, string>;
  /** May this step open a new incident (default true)? False: it only joins open ones. */
  start?: boolean;
  /** Join only incidents that already hold one of these steps (context that must follow an anchor). */
  after?: string[];
  /** Keep at most this many events of this step per incident (more still join, as evidence they are dropped). */
  max_events?: number;
  /** Evidence summary template (`{Field}`, `$peer_ip` ...); default: a summary by event kind. */
  summary?: string;
  /**
   * Whose logs this step reads: the host moved to (`target`) or the caller (`source`). Default: the
   * rule's `perspective`. Each evidence item carries it; an incident's `observed_on` is the set of sides.
   */
  side?: "target" | "source";
  /**
   * Events of this step are known helpers of the DCOM server (Office AppV surrogates, splwow64, WerFault
   * ...): kept as evidence, marked `helper`, never a payload. (Declarative: no effect on matching.)
   */
  helper?: boolean;
}

export interface UntilSpec {
  search: string;
  keys?: Record<string, string>;
}

export interface ClassifyCondition {
  /** All of these steps matched. */
  steps?: string[];
  /** At least one of these steps matched. */
  any_steps?: string[];
  /** None of these steps matched. */
  absent?: string[];
  /** Some evidence event (restricted to `in` steps when given) matches this SPL search expression. */
  search?: string;
  in?: string[];
  /** The attributed source is remote (true) or missing/local (false). */
  remote?: boolean;
}

export interface ClassifyEntry {
  when?: ClassifyCondition;
  variant?: string;
  severity?: "low" | "medium" | "high" | "critical";
  confidence?: "low" | "medium" | "high";
  /** How far the attempt got (first matching entry that defines it, like severity). */
  outcome?: "executed" | "activated" | "denied" | "blocked" | "unreachable" | "requested";
}

export interface SequenceSpec {
  /** Longest time between the first and last event of one incident: "90s", "2m", "1h", or seconds. */
  maxspan: string | number;
  /** Steps must occur in the listed order (default false: the inbound connection may be logged first). */
  ordered?: boolean;
  steps: SequenceStep[];
  /** Any of these sets of steps, all present, makes an incident alert-worthy. Default: all steps. */
  complete?: string[][];
  /** Events that close matching incidents early (e.g. the server process ended). */
  until?: UntilSpec[];
  /** Variant when no classify entry sets one. */
  variant?: string;
  /** First matching entry that defines an attribute sets it (variant, severity, confidence). */
  classify?: ClassifyEntry[];
  /** Alert fields and where to take them from. target_host defaults to the incident's host. */
  attribution?: Partial<
    Record<"target_host" | "source_ip" | "source_host" | "account", AttributionCandidate[]>
  >;
  /** Cap on open partial matches (oldest evicted first, counted in stats). Default 20000. */
  max_partials?: number;
  /**
   * Whose logs the rule reads (default target). target: the alert is loopback when no remote source
   * address was attributed or it is this host's own. source: loopback when target_host is this host,
   * `localhost`, `.` or a loopback address.
   */
  perspective?: "target" | "source";
  /**
   * Steps whose events prove a remote caller even when no address was logged (System 10016 "Remote
   * Launch" can leave the address empty): with one of them matched, a missing source is not loopback.
   */
  remote_steps?: string[];
  /**
   * host (default): only events of one host join. global: events of any host join when their keys
   * agree (use `$host` keys to keep per-host identities such as PIDs apart, `$conn` to join the two
   * ends of one connection): the source host's view and the target's in one alert.
   */
  scope?: "host" | "global";
  /**
   * classify (default): severity/confidence from `classify` (a loopback alert one level lower).
   * outcome: from the incident's outcome and observed_on (incident.ts `severityFor`, the README table),
   * also after alerts of several rules are merged into one incident.
   */
  severity_by?: "classify" | "outcome";
}

const nonEmpty = { type: "string", minLength: 1 } as const;
const stringList = { type: "array", items: nonEmpty, minItems: 1 } as const;
const keysSchema = {
  type: "object",
  additionalProperties: {
    type: "string",
    pattern:
      "^(\\$peer_ip|\\$peer_host|\\$local_ip|\\$host|\\$conn|[A-Za-z_][A-Za-z0-9_.@-]*(\\|[A-Za-z_][A-Za-z0-9_.@-]*)*)$",
  },
} as const;
const candidateSchema = {
  type: "object",
  additionalProperties: false,
  properties: { step: nonEmpty, value: nonEmpty, field: nonEmpty, regex: nonEmpty },
  oneOf: [{ required: ["value"] }, { required: ["field", "regex"] }],
} as const;
const candidates = { type: "array", items: candidateSchema, minItems: 1 } as const;

/** JSON Schema of the `sequence:` block (ajv, draft 2020-12 subset). */
export const sequenceSchema = {
  type: "object",
  additionalProperties: false,
  required: ["maxspan", "steps"],
  properties: {
    maxspan: {
      oneOf: [
        { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?\\s*(ms|s|m|h)?$" },
        { type: "number", exclusiveMinimum: 0 },
      ],
    },
    ordered: { type: "boolean" },
    steps: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "search"],
        properties: {
          name: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_-]*$" },
          search: nonEmpty,
          keys: keysSchema,
          start: { type: "boolean" },
          after: stringList,
          max_events: { type: "integer", minimum: 1 },
          summary: nonEmpty,
          side: { enum: ["target", "source"] },
          helper: { type: "boolean" },
        },
      },
    },
    complete: { type: "array", minItems: 1, items: stringList },
    until: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["search"],
        properties: { search: nonEmpty, keys: keysSchema },
      },
    },
    variant: nonEmpty,
    classify: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        properties: {
          when: {
            type: "object",
            additionalProperties: false,
            properties: {
              steps: stringList,
              any_steps: stringList,
              absent: stringList,
              search: nonEmpty,
              in: stringList,
              remote: { type: "boolean" },
            },
          },
          variant: nonEmpty,
          severity: { enum: ["low", "medium", "high", "critical"] },
          confidence: { enum: ["low", "medium", "high"] },
          outcome: { enum: ["executed", "activated", "denied", "blocked", "unreachable", "requested"] },
        },
      },
    },
    attribution: {
      type: "object",
      additionalProperties: false,
      properties: {
        target_host: candidates,
        source_ip: candidates,
        source_host: candidates,
        account: candidates,
      },
    },
    max_partials: { type: "integer", minimum: 1 },
    perspective: { enum: ["target", "source"] },
    remote_steps: stringList,
    scope: { enum: ["host", "global"] },
    severity_by: { enum: ["classify", "outcome"] },
  },
} as const;

/** `maxspan` in seconds; throws on a malformed duration. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (!(value > 0)) throw new Error(`bad duration: ${value}`);
    return value;
  }
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new Error(`bad duration "${value}" (expected e.g. 30s, 2m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const seconds = unit === "ms" ? n / 1000 : unit === "s" ? n : unit === "m" ? n * 60 : n * 3600;
  if (!(seconds > 0)) throw new Error(`bad duration "${value}": must be > 0`);
  return seconds;
}

/**
 * Semantic checks the JSON Schema cannot express: unique step names, and every step named in
 * `complete`, `classify` and `attribution` exists. Returns the problems (empty when valid).
 */
export function checkSequenceSpec(spec: SequenceSpec): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const step of spec.steps) {
    if (names.has(step.name)) problems.push(`duplicate step name "${step.name}"`);
    names.add(step.name);
  }
  const known = (where: string, list: string[] | undefined) => {
    for (const n of list ?? []) if (!names.has(n)) problems.push(`${where}: unknown step "${n}"`);
  };
  for (const [i, alt] of (spec.complete ?? []).entries()) known(`complete[${i}]`, alt);
  for (const step of spec.steps) known(`step ${step.name}.after`, step.after);
  known("remote_steps", spec.remote_steps);
  spec.classify?.forEach((c, i) => {
    known(`classify[${i}].when.steps`, c.when?.steps);
    known(`classify[${i}].when.any_steps`, c.when?.any_steps);
    known(`classify[${i}].when.absent`, c.when?.absent);
    known(`classify[${i}].when.in`, c.when?.in);
  });
  for (const [field, list] of Object.entries(spec.attribution ?? {})) {
    list?.forEach((c, i) => {
      if (c.step !== undefined) known(`attribution.${field}[${i}]`, [c.step]);
    });
  }
  try {
    parseDuration(spec.maxspan);
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}

export interface SequenceProblem {
  /** Path inside the `sequence:` block, e.g. ["steps", 0, "search"]. */
  path: (string | number)[];
  message: string;
}

let validator: SchemaValidator | undefined;

/**
 * Every problem of a `sequence:` block: JSON Schema (ajv), the semantic checks, and, when `compile`
 * is given, each search expression (e.g. the SPL engine's compileSearchExpression; its error message is
 * reported at the expression's path). For the rule loader's `checks.sequence` hook.
 */
export function validateSequenceBlock(
  block: unknown,
  compile?: (searchExpr: string) => unknown,
): SequenceProblem[] {
  validator ??= schemaValidator("sequence-schema", sequenceSchema);
  if (!validator(block)) {
    return (validator.errors ?? []).map((e) => ({
      path: e.instancePath
        .split("/")
        .filter((p) => p !== "")
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
      message: `sequence${e.instancePath}: ${e.message ?? "invalid"}`,
    }));
  }
  const spec = block as SequenceSpec;
  const problems: SequenceProblem[] = checkSequenceSpec(spec).map((message) => ({ path: [], message }));
  if (compile) {
    const tryCompile = (text: string, path: (string | number)[]) => {
      try {
        compile(text);
      } catch (e) {
        problems.push({ path, message: (e as Error).message });
      }
    };
    for (const [i, s] of spec.steps.entries()) tryCompile(s.search, ["steps", i, "search"]);
    for (const [i, u] of (spec.until ?? []).entries()) tryCompile(u.search, ["until", i, "search"]);
    spec.classify?.forEach((c, i) => {
      if (c.when?.search !== undefined) tryCompile(c.when.search, ["classify", i, "when", "search"]);
    });
  }
  return problems;
}
