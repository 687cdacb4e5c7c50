/**
 * EQL (Elastic): `<category> where <condition>` for a search rule; the filter only (EQL has no
 * eval/table/sort: they are named in a comment and a warning).
 *
 * Values: `field : "pattern"` is EQL's case-insensitive wildcard match (`*` any run), the same as an
 * SPL search value; CASE() values use `like` (case-sensitive). EQL's other wildcard, `?`, has no SPL
 * counterpart: a value containing `?` is an error. Comparisons with a missing field are false and
 * `not` of them true, as in Splunk; `f!=v` adds `f != null`.
 */
import type { SearchExpr, SearchValue } from "../spl/ast.js";
import { ecsField } from "./ecs.js";
import { dataSourceOf, describeStages, failer, type SearchQuery } from "./query.js";
import { ruleLocation } from "./types.js";
import { shapeOf } from "./wildcard.js";

export function eqlString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

/** EQL event category of a data source (Sysmon/Security event codes). */
export function eqlCategory(codes: string[] | undefined): string {
  if (!codes || codes.length === 0) return "any";
  const cat = (c: string) =>
    c === "1" || c === "5" || c === "4688" || c === "4689"
      ? "process"
      : c === "3" || c === "5156" || c === "5157"
        ? "network"
        : c === "4624" || c === "4625"
          ? "authentication"
          : "any";
  const cats = new Set(codes.map(cat));
  return cats.size === 1 ? [...cats][0] : "any";
}

/** Compiles SPL search expressions to EQL conditions. */
export class EqlCondition {
  private readonly fail: ReturnType<typeof failer>;
  constructor(private readonly q: Pick<SearchQuery, "rule"> & { text: string }) {
    this.fail = failer(q.rule, "eql", q.text);
  }

  private field(name: string, pos: number) {
    return ecsField(this.q.rule, "eql", name, ruleLocation(this.q.rule, this.q.text, pos));
  }

  private values(field: string, numeric: boolean, vs: SearchValue[], pos: number): string {
    const insensitive: string[] = [];
    const parts: string[] = [];
    for (const v of vs) {
      const shape = shapeOf(v.value);
      if (v.value.includes("?"))
        this.fail(pos, `value '${v.raw}'`, "'?' is a wildcard in EQL patterns and cannot be escaped");
      if (shape.kind === "any") parts.push(`${field} != null`);
      else if (numeric) {
        if (shape.kind !== "exact" || !/^\d+$/.test(v.value))
          this.fail(pos, `value '${v.raw}' of a numeric ECS field`, "only whole numbers are exported");
        parts.push(`${field} == ${v.value}`);
      } else if (v.caseSensitive)
        parts.push(
          shape.kind === "exact"
            ? `${field} == ${eqlString(v.value)}`
            : `${field} like ${eqlString(v.value)}`,
        );
      else insensitive.push(eqlString(v.value));
    }
    if (insensitive.length === 1) parts.push(`${field} : ${insensitive[0]}`);
    else if (insensitive.length > 1) parts.push(`${field} : (${insensitive.join(", ")})`);
    return parts.length === 1 ? parts[0] : `(${parts.join(" or ")})`;
  }

  compile(e: SearchExpr): string {
    switch (e.kind) {
      case "group":
        return this.compile(e.expr);
      case "and":
        return `(${e.items.map((i) => this.compile(i)).join(" and ")})`;
      case "or":
        return `(${e.items.map((i) => this.compile(i)).join(" or ")})`;
      case "not":
        return `not (${outer(this.compile(e.expr))})`;
      case "compare": {
        const f = this.field(e.field, e.pos);
        if (e.op === "=") return this.values(f.name, f.numeric, [e], e.pos);
        if (e.op === "!=") return `(${f.name} != null and not ${this.values(f.name, f.numeric, [e], e.pos)})`;
        if (!f.numeric || !/^\d+(\.\d+)?$/.test(e.value))
          return this.fail(
            e.pos,
            `comparison '${e.op}' on '${e.field}'`,
            "ordered comparisons are exported for numeric ECS fields only",
          );
        return `${f.name} ${e.op} ${e.value}`;
      }
      case "in": {
        const f = this.field(e.field, e.pos);
        return this.values(f.name, f.numeric, e.values, e.pos);
      }
      case "term":
        return this.fail(e.pos, `bare term '${e.raw}'`, "EQL has no _raw text to match indexed terms in");
      case "subsearch":
        return this.fail(e.pos, "subsearch", "its results are only known when the search runs");
      case "time":
        return this.fail(e.pos, `time modifier '${e.modifier}'`, "a time range belongs to the rule schedule");
    }
  }
}

export interface EqlExport {
  content: string;
  warnings: string[];
}

/** Strips the outer parentheses the compiler puts around a whole condition. */
export function outer(c: string): string {
  if (!c.startsWith("(") || !c.endsWith(")")) return c;
  let depth = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] === '"') {
      for (i++; i < c.length && c[i] !== '"'; i++) if (c[i] === "\\") i++;
      continue;
    }
    if (c[i] === "(") depth++;
    else if (c[i] === ")") {
      depth--;
      if (depth === 0 && i < c.length - 1) return c;
    }
  }
  return c.slice(1, -1);
}

export function toEql(q: SearchQuery): EqlExport {
  const rule = q.rule;
  const ds = dataSourceOf(q.filter);
  const cc = new EqlCondition({ rule, text: q.pipeline.text });
  const parts: string[] = [];
  if (ds.channel) parts.push(`winlog.channel : ${eqlString(ds.channel)}`);
  if (ds.eventCodes)
    parts.push(
      ds.eventCodes.length === 1
        ? `event.code : ${eqlString(ds.eventCodes[0])}`
        : `event.code : (${ds.eventCodes.map(eqlString).join(", ")})`,
    );
  for (const c of ds.rest) parts.push(cc.compile(c));
  if (parts.length === 0)
    failer(rule, "eql", q.pipeline.text)(undefined, "search", "an empty search has no EQL condition");
  const lines = [
    `/* ${rule.name}`,
    `   id: ${rule.id}  version: ${rule.version}  severity: ${rule.severity}`,
    `   Generated by dcomhunt export from the rule's SPL; ECS fields of Elastic's Windows integration (${"logs-windows.*"}).`,
  ];
  const warnings: string[] = [];
  if (ds.index !== undefined)
    lines.push(
      `   Note: index=${ds.index} is Splunk's storage location: choose the indices in the rule settings.`,
    );
  if (q.stages.length) {
    lines.push(`   Not expressed in EQL (filter only): ${describeStages(q).replace(/\*\//g, "* /")}`);
    warnings.push(
      `eql: rule '${rule.name}': the pipeline after the search is left out (${q.stages.map((s) => s.kind).join(", ")}); the file names it in a comment`,
    );
  }
  lines.push("*/");
  lines.push(
    `${eqlCategory(ds.eventCodes)} where ${parts.map((p) => (parts.length > 1 ? p : outer(p))).join(" and\n  ")}`,
  );
  return { content: `${lines.join("\n")}\n`, warnings };
}
