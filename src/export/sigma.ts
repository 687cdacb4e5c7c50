/**
 * Sigma: one detection rule per search rule, in the shape SigmaHQ rules have (logsource, named
 * selections with modifiers, condition, fields, falsepositives, level, ATT&CK tags).
 *
 * Sigma matches values like the SPL search does: whole value, case-insensitive, `*` wildcard; a
 * missing field never matches a selection and `not` of a selection is true when the field is missing
 * (Splunk's `NOT f=v`). `f!=v` becomes `exists and not`. CASE() becomes `|cased`.
 * Sigma expresses the filter only: eval/table/sort are left out, named in a comment and a warning
 * (`fields:` carries the table's columns).
 */
import { stringify } from "yaml";
import type { LoadedRule } from "../rules/loader.js";
import type { SearchExpr, SearchValue } from "../spl/ast.js";
import { dataSourceOf, describeStages, failer, outputColumns, type SearchQuery, ungroup } from "./query.js";
import { YAML_OPTIONS } from "./types.js";
import { type PatternShape, shapeOf } from "./wildcard.js";

/** Sigma value text: `*` stays a wildcard, `?` and backslashes before wildcards are escaped. */
export function sigmaLiteral(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "?") out += "\\?";
    else if (c === "\\") {
      // A backslash is literal unless it precedes a wildcard or another backslash (Sigma spec):
      // double it only then, and at the end of a part (a wildcard may follow it).
      const next = text[i + 1];
      out += next === undefined || next === "\\" || next === "?" || next === "*" ? "\\\\" : "\\";
    } else out += c;
  }
  return out;
}

function sigmaPattern(value: string): string {
  return value.split("*").map(sigmaLiteral).join("*");
}

/** Windows channel -> Sigma logsource service (SigmaHQ taxonomy). */
const SERVICES: Record<string, string> = {
  "microsoft-windows-sysmon/operational": "sysmon",
  security: "security",
  system: "system",
  application: "application",
  "microsoft-windows-powershell/operational": "powershell",
  "windows powershell": "powershell-classic",
  "microsoft-windows-windows firewall with advanced security/firewall": "firewall-as",
};

const SECURITY_CODES = /^(46\d\d|47\d\d|48\d\d|49\d\d|50\d\d|51\d\d|5140|5145|5156|5157|5158|1102)$/;

function serviceOfCodes(codes: string[]): string | undefined {
  if (codes.every((c) => SECURITY_CODES.test(c))) return "security";
  if (codes.every((c) => c === "4103" || c === "4104")) return "powershell";
  if (codes.every((c) => c === "10016" || c === "10028" || c === "7045")) return "system";
  return undefined;
}

export function sigmaLevel(sev: string): string {
  return sev;
}

export function sigmaStatus(status: LoadedRule["status"]): string {
  return status === "production" ? "test" : status;
}

export function sigmaTags(rule: LoadedRule): string[] {
  const tags = new Set<string>();
  for (const t of rule.mitre.tactic) tags.add(`attack.${t.toLowerCase().replace(/\s+/g, "-")}`);
  for (const t of [...(rule.mitre.sub_technique ?? []), ...rule.mitre.technique])
    tags.add(`attack.${t.toLowerCase()}`);
  return [...tags];
}

/** Compiles a search expression into Sigma selections and a condition. */
export class SelectionBuilder {
  readonly selections = new Map<string, unknown>();
  private readonly fail: ReturnType<typeof failer>;
  readonly notes: string[] = [];
  constructor(
    rule: LoadedRule,
    text: string,
    private readonly prefix = "selection",
  ) {
    this.fail = failer(rule, "sigma", text);
  }

  private add(base: string, body: unknown): string {
    let name = `${this.prefix}_${base}`;
    for (let i = 2; this.selections.has(name); i++) name = `${this.prefix}_${base}_${i}`;
    this.selections.set(name, body);
    return name;
  }

  field(name: string, pos: number): string {
    if (name === "EventCode") return "EventID";
    if (name === "host") return "Computer";
    if (
      name === "_raw" ||
      name === "_time" ||
      name === "index" ||
      name === "sourcetype" ||
      name === "source"
    ) {
      return this.fail(
        pos,
        `field '${name}'`,
        "a Splunk metadata field inside the condition has no Sigma equivalent",
      );
    }
    if (
      /^(process|process_.*|parent_process.*|user|user_id|dest|dvc|signature_id|vendor_product)$/.test(name)
    ) {
      return this.fail(pos, `field '${name}'`, "a Splunk CIM alias: write the Windows field name");
    }
    return name;
  }

  /** Modifier and value of one search value; undefined modifier = plain value. */
  private keyValue(field: string, v: SearchValue): { key: string; value: unknown; shape: PatternShape } {
    const shape = shapeOf(v.value);
    const cased = v.caseSensitive ? "|cased" : "";
    switch (shape.kind) {
      case "any":
        return { key: `${field}|exists`, value: true, shape };
      case "exact": {
        const numeric = field === "EventID" && /^[1-9][0-9]*$/.test(shape.text);
        return {
          key: `${field}${cased}`,
          value: numeric ? Number(shape.text) : sigmaLiteral(shape.text),
          shape,
        };
      }
      case "prefix":
        return { key: `${field}|startswith${cased}`, value: sigmaLiteral(shape.text), shape };
      case "suffix":
        return { key: `${field}|endswith${cased}`, value: sigmaLiteral(shape.text), shape };
      case "contains":
        return { key: `${field}|contains${cased}`, value: sigmaLiteral(shape.text), shape };
      default:
        return { key: `${field}${cased}`, value: sigmaPattern(v.value), shape };
    }
  }

  /** Values of one field ORed: one selection with a list (modifier when they share one). */
  private anyOf(field: string, values: SearchValue[]): string {
    const kvs = values.map((v) => this.keyValue(field, v));
    const keys = new Set(kvs.map((k) => k.key));
    if (keys.size === 1) {
      const [key] = keys;
      const list = kvs.map((k) => k.value);
      return this.add(field.toLowerCase(), { [key]: list.length === 1 ? list[0] : list });
    }
    // Mixed shapes: plain wildcard values say the same thing in one list.
    if (
      kvs.some((k) => k.shape.kind === "any" || (k.shape.kind === "exact" && typeof k.value === "number"))
    ) {
      return `(${kvs.map((k) => this.add(field.toLowerCase(), { [k.key]: k.value })).join(" or ")})`;
    }
    const cased = values.some((v) => v.caseSensitive);
    if (cased && !values.every((v) => v.caseSensitive)) {
      return `(${kvs.map((k) => this.add(field.toLowerCase(), { [k.key]: k.value })).join(" or ")})`;
    }
    return this.add(field.toLowerCase(), {
      [`${field}${cased ? "|cased" : ""}`]: values.map((v) => sigmaPattern(v.value)),
    });
  }

  condition(e: SearchExpr): string {
    const u = ungroup(e);
    switch (u.kind) {
      case "not":
        return `not ${this.wrap(u.expr)}`;
      case "or": {
        const same = this.sameFieldEquals(u.items);
        if (same) return this.anyOf(same.field, same.values);
        return u.items.map((i) => this.wrap(i)).join(" or ");
      }
      case "and": {
        // contains-all on one field: CommandLine="*a*" CommandLine="*b*" -> CommandLine|contains|all
        const leaves = u.items.map(ungroup);
        if (leaves.every((l) => l.kind === "compare" && l.op === "=" && !l.caseSensitive)) {
          const cmp = leaves as Extract<SearchExpr, { kind: "compare" }>[];
          const fields = new Set(cmp.map((c) => c.field));
          if (fields.size === 1 && cmp.length > 1 && cmp.every((c) => shapeOf(c.value).kind === "contains")) {
            const field = this.field(cmp[0].field, cmp[0].pos);
            return this.add(field.toLowerCase(), {
              [`${field}|contains|all`]: cmp.map((c) =>
                sigmaLiteral((shapeOf(c.value) as { text: string }).text),
              ),
            });
          }
          if (fields.size === cmp.length) {
            const body: Record<string, unknown> = {};
            for (const c of cmp) {
              const kv = this.keyValue(this.field(c.field, c.pos), c);
              body[kv.key] = kv.value;
            }
            return this.add(
              cmp.length === 1 ? this.field(cmp[0].field, cmp[0].pos).toLowerCase() : "all",
              body,
            );
          }
        }
        return u.items.map((i) => this.wrap(i)).join(" and ");
      }
      case "compare": {
        const field = this.field(u.field, u.pos);
        if (u.op === "=") return this.anyOf(field, [u]);
        if (u.op === "!=") {
          const exists = this.add(`${field.toLowerCase()}_exists`, { [`${field}|exists`]: true });
          return `(${exists} and not ${this.anyOf(field, [u])})`;
        }
        if (!/^[+-]?\d+(\.\d+)?$/.test(u.value))
          return this.fail(u.pos, `comparison '${u.op}' with '${u.value}'`, "Sigma compares numbers only");
        this.notes.push(
          `${u.field}${u.op}${u.value}: Sigma compares numbers only; Splunk also compares non-numeric values as text (a non-numeric ${u.field} never matches here).`,
        );
        const mod = { "<": "lt", "<=": "lte", ">": "gt", ">=": "gte" }[u.op];
        return this.add(field.toLowerCase(), { [`${field}|${mod}`]: Number(u.value) });
      }
      case "in":
        return this.anyOf(this.field(u.field, u.pos), u.values);
      case "term":
        return this.fail(
          u.pos,
          `bare term '${u.raw}'`,
          "Sigma keywords match substrings, not Splunk's indexed terms",
        );
      case "time":
        return this.fail(u.pos, `time modifier '${u.modifier}'`, "a time range belongs to the scheduler");
      default:
        return this.fail(undefined, "search", "unexpected node");
    }
  }

  private wrap(e: SearchExpr): string {
    const c = this.condition(e);
    return /\s/.test(c) && !/^\(.*\)$/.test(c) ? `(${c})` : c;
  }

  private sameFieldEquals(items: SearchExpr[]): { field: string; values: SearchValue[] } | undefined {
    const values: SearchValue[] = [];
    let field: string | undefined;
    for (const i of items.map(ungroup)) {
      if (i.kind === "compare" && i.op === "=") {
        if (field !== undefined && field !== i.field) return undefined;
        field = i.field;
        values.push(i);
      } else if (i.kind === "in") {
        if (field !== undefined && field !== i.field) return undefined;
        field = i.field;
        values.push(...i.values);
      } else return undefined;
    }
    return field === undefined ? undefined : { field: this.field(field, items[0].pos), values };
  }
}

export interface SigmaLogsource {
  logsource: Record<string, string>;
  /** Conjuncts the logsource does not carry (kept in the detection). */
  rest: SearchExpr[];
  notes: string[];
}

/** The logsource of a filter: the channel becomes `service`, index is dropped (named in a note). */
export function sigmaLogsource(filter: SearchExpr | undefined): SigmaLogsource {
  const ds = dataSourceOf(filter);
  const notes: string[] = [];
  const logsource: Record<string, string> = { product: "windows" };
  const rest = [...ds.rest];
  if (ds.channel) {
    const service = SERVICES[ds.channel.toLowerCase()];
    if (service) logsource.service = service;
    else {
      // Unknown channel: keep it as a condition on Channel.
      rest.unshift({
        kind: "compare",
        pos: 0,
        field: "Channel",
        op: "=",
        raw: ds.channel,
        value: ds.channel,
        quoted: true,
        caseSensitive: false,
        term: false,
      });
    }
  }
  if (!ds.channel && ds.eventCodes) {
    // An event code of one Windows log only (no channel named): the SigmaHQ service of that log.
    const service = serviceOfCodes(ds.eventCodes);
    if (service) {
      logsource.service = service;
      notes.push(
        `EventCode ${ds.eventCodes.join("/")} is logged by the ${service} log only: logsource service ${service}.`,
      );
    }
  }
  if (ds.eventCodes) {
    const codes = ds.eventCodes;
    rest.unshift(
      codes.length === 1
        ? {
            kind: "compare",
            pos: 0,
            field: "EventCode",
            op: "=",
            raw: codes[0],
            value: codes[0],
            quoted: false,
            caseSensitive: false,
            term: false,
          }
        : {
            kind: "in",
            pos: 0,
            field: "EventCode",
            values: codes.map((c) => ({
              raw: c,
              value: c,
              quoted: false,
              caseSensitive: false,
              term: false,
            })),
          },
    );
  }
  if (ds.index !== undefined)
    notes.push(`index=${ds.index} is Splunk's storage location: left to the backend's logsource mapping.`);
  return { logsource, rest, notes };
}

export function ruleHeader(rule: LoadedRule): Record<string, unknown> {
  return {
    title: rule.name,
    id: rule.id,
    status: sigmaStatus(rule.status),
    description: rule.description.trim(),
    references: rule.references?.length ? rule.references : undefined,
    author: rule.author,
    date: rule.date,
    tags: sigmaTags(rule),
  };
}

export interface SigmaExport {
  content: string;
  warnings: string[];
}

export function toSigma(q: SearchQuery): SigmaExport {
  const rule = q.rule;
  const ls = sigmaLogsource(q.filter);
  const sb = new SelectionBuilder(rule, q.pipeline.text);
  const parts = ls.rest.map((c) => {
    const cond = sb.condition(c);
    return ls.rest.length > 1 && /\s/.test(cond) && !/^\(.*\)$/.test(cond) ? `(${cond})` : cond;
  });
  const condition = parts.length ? parts.join(" and ") : undefined;
  if (!condition)
    return failer(rule, "sigma", q.pipeline.text)(
      undefined,
      "search",
      "an empty search (every event) has no Sigma detection",
    );
  const detection: Record<string, unknown> = Object.fromEntries(sb.selections);
  detection.condition = condition;
  const columns = outputColumns(q);
  const doc: Record<string, unknown> = {
    ...ruleHeader(rule),
    logsource: ls.logsource,
    detection,
    // Sigma `fields`: the table's event fields (eval results do not exist in Sigma).
    fields: columns
      ?.filter(
        (c) =>
          !c.startsWith("_") &&
          !q.stages.some((st) => st.kind === "eval" && st.assignments.some((a) => a.field === c)),
      )
      .map((c) => (c === "host" ? "Computer" : c)),
    falsepositives: [rule.known_false_positives.trim()],
    level: sigmaLevel(rule.severity),
  };
  for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
  const warnings: string[] = [];
  const comments = [
    `# Generated by dcomhunt export from the rule's SPL (${rule.file.split(/[\\/]/).pop()}).`,
  ];
  for (const n of [...ls.notes, ...sb.notes]) comments.push(`# Note: ${n}`);
  if (q.stages.length) {
    const dropped = describeStages(q);
    comments.push(`# Not expressed in Sigma (filter only): ${dropped}`);
    warnings.push(
      `sigma: rule '${rule.name}': the pipeline after the search is left out (${q.stages.map((s) => s.kind).join(", ")}); the file names it in a comment`,
    );
  }
  for (const n of sb.notes) warnings.push(`sigma: rule '${rule.name}': ${n}`);
  return { content: `${comments.join("\n")}\n${stringify(doc, YAML_OPTIONS)}`, warnings };
}
