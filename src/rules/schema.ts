/**
 * The rule file schema: one YAML detection per file, in the spirit of Splunk's security_content
 * detections (reference/peers-and-public-rules.md §7), plus `pack` (bundled pack membership), `sequence`
 * (correlation rules, shape owned by src/correlate) and `tests` (rule tests replayed by `validate`).
 */

export type RuleStatus = "production" | "experimental" | "deprecated";
export type Severity = "low" | "medium" | "high" | "critical";

export interface RuleTest {
  name: string;
  /** An emulation scenario name (src/emulate) ... */
  scenario?: string;
  /** ... or a file or folder, relative to the repository root. */
  file?: string;
  /** fire: must produce rows/alerts; silent: must produce none; miss: a known miss (must produce none, `reason` says why). */
  expect: "fire" | "silent" | "miss";
  /** A row must carry this DetectionPattern (search rules). */
  pattern?: string;
  /** An alert must carry this variant (sequence rules). */
  variant?: string;
  /** Exact number of rows/alerts. */
  count?: number;
  /** An alert must name this object / outcome / observed_on (the incident model, src/correlate/incident.ts). */
  object?: string;
  outcome?: "executed" | "activated" | "denied" | "blocked" | "unreachable" | "requested";
  observed_on?: "target" | "source" | "both";
  reason?: string;
}

export interface RuleDefinition {
  name: string;
  id: string;
  version: number;
  date: string;
  author: string;
  status: RuleStatus;
  type: "TTP" | "Anomaly" | "Hunting" | "Correlation";
  pack: string;
  description: string;
  search?: string;
  sequence?: Record<string, unknown>;
  data_source: string[];
  how_to_implement: string;
  known_false_positives: string;
  references?: string[];
  mitre: { tactic: string[]; technique: string[]; sub_technique?: string[] };
  severity: Severity;
  tests?: RuleTest[];
}

const nonEmpty = { type: "string", minLength: 1 } as const;
const stringList = { type: "array", items: nonEmpty, minItems: 1 } as const;

export const ruleTestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "expect"],
  properties: {
    name: nonEmpty,
    scenario: nonEmpty,
    file: nonEmpty,
    expect: { enum: ["fire", "silent", "miss"] },
    pattern: nonEmpty,
    variant: nonEmpty,
    count: { type: "integer", minimum: 0 },
    object: nonEmpty,
    outcome: { enum: ["executed", "activated", "denied", "blocked", "unreachable", "requested"] },
    observed_on: { enum: ["target", "source", "both"] },
    reason: nonEmpty,
  },
  oneOf: [{ required: ["scenario"] }, { required: ["file"] }],
  if: { properties: { expect: { const: "miss" } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords
  then: { required: ["reason"] },
} as const;

/** JSON Schema (draft 2020-12 subset that ajv validates) of a rule file. */
export const ruleSchema = {
  type: "object",
  additionalProperties: false,
  required: [
    "name",
    "id",
    "version",
    "date",
    "author",
    "status",
    "type",
    "pack",
    "description",
    "data_source",
    "how_to_implement",
    "known_false_positives",
    "mitre",
    "severity",
  ],
  properties: {
    name: nonEmpty,
    id: {
      type: "string",
      pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    },
    version: { type: "integer", minimum: 1 },
    date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
    author: nonEmpty,
    status: { enum: ["production", "experimental", "deprecated"] },
    type: { enum: ["TTP", "Anomaly", "Hunting", "Correlation"] },
    pack: { type: "string", pattern: "^[a-z][a-z0-9-]*$" },
    description: nonEmpty,
    search: nonEmpty,
    sequence: { type: "object" },
    data_source: stringList,
    how_to_implement: nonEmpty,
    known_false_positives: nonEmpty,
    references: { type: "array", items: { type: "string", pattern: "^https?://" } },
    mitre: {
      type: "object",
      additionalProperties: false,
      required: ["tactic", "technique"],
      properties: {
        tactic: stringList,
        technique: { type: "array", minItems: 1, items: { type: "string", pattern: "^T\\d{4}$" } },
        sub_technique: { type: "array", items: { type: "string", pattern: "^T\\d{4}\\.\\d{3}$" } },
      },
    },
    severity: { enum: ["low", "medium", "high", "critical"] },
    tests: { type: "array", items: ruleTestSchema },
  },
  oneOf: [{ required: ["search"] }, { required: ["sequence"] }],
} as const;
