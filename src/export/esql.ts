/**
 * ES|QL (Elastic): FROM ... | WHERE <search> | EVAL ... | SORT | LIMIT | KEEP | RENAME to the SPL
 * names, so the columns read like the Splunk table.
 *
 * Values: `TO_LOWER(f) LIKE """pattern"""` (LIKE: `*` any run, `?` one character, `\` escapes;
 * triple-quoted strings are not unescaped), each search leaf wrapped in COALESCE(.., false) so that
 * NOT of a missing field is true as in Splunk. Eval keeps ES|QL's SQL-like null logic, which is
 * Splunk's. match() becomes RLIKE (Lucene regex, anchored, case-sensitive) for simple alternations
 * of literals only; other regexes are an error.
 */
import type { EvalExpr, SearchExpr, SearchValue } from "../spl/ast.js";
import { ecsField } from "./ecs.js";
import { dataSourceOf, failer, type SearchQuery, textOrderSortKeys } from "./query.js";
import { ruleLocation } from "./types.js";
import { NUMERIC_RE, shapeOf } from "./wildcard.js";

export function esqlString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

function esqlName(n: string): string {
  return /^[A-Za-z@][A-Za-z0-9_.@]*$/.test(n) ? n : `\`${n.replace(/`/g, "``")}\``;
}

export interface EsqlExport {
  content: string;
  warnings: string[];
}

export function toEsql(q: SearchQuery): EsqlExport {
  const rule = q.rule;
  const text = q.pipeline.text;
  const fail = failer(rule, "esql", text);
  const ds = dataSourceOf(q.filter);
  const field = (name: string, pos: number) => ecsField(rule, "esql", name, ruleLocation(rule, text, pos));
  const derived = new Set<string>();
  const ref = (name: string, pos: number) =>
    derived.has(name) ? esqlName(name) : esqlName(field(name, pos).name);

  const likeValue = (f: string, v: SearchValue, pos: number): string => {
    const shape = shapeOf(v.value);
    if (shape.kind === "any") return `${f} IS NOT NULL`;
    const value = v.caseSensitive ? v.value : v.value.toLowerCase();
    const subject = v.caseSensitive ? f : `TO_LOWER(${f})`;
    if (shape.kind === "exact") return `COALESCE(${subject} == ${esqlString(value)}, false)`;
    const pattern = value
      .split("*")
      .map((p) => p.replace(/[\\?]/g, "\\$&"))
      .join("*");
    if (pattern.includes('"""')) return fail(pos, `value '${v.raw}'`, 'contains """');
    return `COALESCE(${subject} LIKE """${pattern}""", false)`;
  };
  const values = (name: string, vs: SearchValue[], pos: number): string => {
    const f = field(name, pos);
    const parts = vs.map((v) => {
      if (f.numeric) {
        if (!/^\d+$/.test(v.value))
          return fail(pos, `value '${v.raw}' of a numeric ECS field`, "only whole numbers are exported");
        return `COALESCE(${esqlName(f.name)} == ${v.value}, false)`;
      }
      return likeValue(esqlName(f.name), v, pos);
    });
    return parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
  };
  const search = (e: SearchExpr): string => {
    switch (e.kind) {
      case "group":
        return search(e.expr);
      case "and":
        return `(${e.items.map(search).join(" AND ")})`;
      case "or":
        return `(${e.items.map(search).join(" OR ")})`;
      case "not":
        return `NOT ${search(e.expr)}`;
      case "compare": {
        if (e.op === "=") return values(e.field, [e], e.pos);
        if (e.op === "!=")
          return `(${esqlName(field(e.field, e.pos).name)} IS NOT NULL AND NOT ${values(e.field, [e], e.pos)})`;
        const f = field(e.field, e.pos);
        if (!f.numeric || !NUMERIC_RE.test(e.value))
          return fail(
            e.pos,
            `comparison '${e.op}' on '${e.field}'`,
            "ordered comparisons are exported for numeric ECS fields only",
          );
        return `COALESCE(${esqlName(f.name)} ${e.op} ${Number(e.value)}, false)`;
      }
      case "in":
        return values(e.field, e.values, e.pos);
      case "term":
        return fail(e.pos, `bare term '${e.raw}'`, "no _raw text to match indexed terms in");
      case "subsearch":
        return fail(e.pos, "subsearch", "its results are only known when the search runs");
      case "time":
        return fail(e.pos, `time modifier '${e.modifier}'`, "a time range belongs to the rule schedule");
    }
  };
  const luceneRegex = (re: string, pos: number): string => {
    // RE2 search (unanchored) -> Lucene (anchored): only literals, alternation and groups translate 1:1.
    if (!/^[A-Za-z0-9 _\-|()]*$/.test(re))
      return fail(
        pos,
        `match() regex ${JSON.stringify(re)}`,
        "only alternations of literal words translate exactly to Lucene regex (RLIKE)",
      );
    return `.*(${re}).*`;
  };
  const evalX = (e: EvalExpr): string => {
    switch (e.kind) {
      case "string":
        return esqlString(e.value);
      case "number":
        return e.raw;
      case "field":
        return ref(e.name, e.pos);
      case "group":
        return `(${evalX(e.expr)})`;
      case "unary":
        if (e.op === "NOT") return `NOT (${evalX(e.expr)})`;
        return fail(e.pos, `unary '${e.op}'`, "arithmetic is not exported");
      case "binary":
        switch (e.op) {
          case "AND":
          case "OR":
            return `(${evalX(e.left)} ${e.op} ${evalX(e.right)})`;
          case "=":
          case "==":
          case "!=": {
            const lit = e.right.kind === "string" ? e.right : e.left.kind === "string" ? e.left : undefined;
            if (lit?.kind !== "string" || NUMERIC_RE.test(lit.value))
              return fail(
                e.pos,
                `comparison '${e.op}'`,
                "only comparisons with non-numeric string literals are exported",
              );
            return `(${evalX(e.left)} ${e.op === "!=" ? "!=" : "=="} ${evalX(e.right)})`;
          }
          default:
            return fail(e.pos, `operator '${e.op}'`, "not exported to ES|QL");
        }
      case "call": {
        const a = e.args;
        switch (e.name) {
          case "case": {
            const parts: string[] = [];
            for (let i = 0; i + 1 < a.length; i += 2) parts.push(`${evalX(a[i])}, ${evalX(a[i + 1])}`);
            // No else: CASE returns null, as Splunk's case() does.
            return `CASE(${parts.join(", ")})`;
          }
          case "if":
            return `CASE(${evalX(a[0])}, ${evalX(a[1])}, ${evalX(a[2])})`;
          case "true":
            return "true";
          case "false":
            return "false";
          case "null":
            return "null";
          case "isnull":
            return `(${evalX(a[0])} IS NULL)`;
          case "isnotnull":
            return `(${evalX(a[0])} IS NOT NULL)`;
          case "match":
            if (a[1]?.kind !== "string")
              return fail(e.pos, "match() with a computed regex", "only a string regex is exported");
            return `(${evalX(a[0])} RLIKE ${esqlString(luceneRegex(a[1].value, a[1].pos))})`;
          case "lower":
            return `TO_LOWER(${evalX(a[0])})`;
          case "upper":
            return `TO_UPPER(${evalX(a[0])})`;
          case "coalesce":
            return `COALESCE(${a.map(evalX).join(", ")})`;
          default:
            return fail(e.pos, `eval function '${e.name}()'`, "not exported to ES|QL");
        }
      }
      default:
        return fail(e.pos, `eval ${e.kind}`, "not exported to ES|QL");
    }
  };

  const lines: string[] = [
    `// ${rule.name}`,
    `// id: ${rule.id}  version: ${rule.version}  severity: ${rule.severity}`,
    "// Generated by dcomhunt export from the rule's SPL; ECS fields of Elastic's Windows integration.",
  ];
  if (ds.index !== undefined)
    lines.push(
      `// Note: index=${ds.index} is Splunk's storage location, replaced by the FROM index patterns.`,
    );
  const headerEnd = lines.length;
  lines.push("FROM logs-windows.*, logs-system.*, winlogbeat-*");
  const where: string[] = [];
  if (ds.channel)
    where.push(`COALESCE(TO_LOWER(winlog.channel) == ${esqlString(ds.channel.toLowerCase())}, false)`);
  if (ds.eventCodes)
    where.push(
      ds.eventCodes.length === 1
        ? `event.code == ${esqlString(ds.eventCodes[0])}`
        : `event.code IN (${ds.eventCodes.map(esqlString).join(", ")})`,
    );
  for (const c of ds.rest) where.push(search(c));
  if (where.length) lines.push(`| WHERE ${where.join("\n    AND ")}`);
  let columns: string[] | undefined;
  let sorted = false;
  let limited = false;
  for (const st of q.stages) {
    switch (st.kind) {
      case "search":
        lines.push(`| WHERE ${search(st.expr)}`);
        break;
      case "where":
        lines.push(`| WHERE ${evalX(st.expr)}`);
        break;
      case "eval":
        for (const a of st.assignments) {
          lines.push(`| EVAL ${esqlName(a.field)} = ${evalX(a.expr)}`);
          derived.add(a.field);
        }
        break;
      case "table":
        columns = st.fields;
        break;
      case "sort": {
        const keys = textOrderSortKeys(st.keys, st.pos, columns, fail).map(
          (k) => `${ref(k.field, st.pos)} ${k.desc !== st.reverse ? "DESC" : "ASC"} NULLS LAST`,
        );
        if (keys.length) lines.push(`| SORT ${keys.join(", ")}`);
        sorted = true;
        if (st.limit > 0) {
          lines.push(`| LIMIT ${st.limit}`);
          limited = true;
        }
        break;
      }
      case "head":
        if (!sorted) lines.push("| SORT @timestamp DESC NULLS LAST");
        if (!limited) {
          // ES|QL returns 1,000 rows unless told otherwise, and at most 10,000 (its default result cap);
          // Splunk returns every result of a search without sort/head.
          lines.splice(
            headerEnd,
            0,
            "// Note: ES|QL returns at most 10,000 rows (LIMIT 10000 below); Splunk would return every matching event.",
          );
          lines.push("| LIMIT 10000");
        }
        sorted = true;
        lines.push(`| LIMIT ${st.count}`);
        limited = true;
        break;
    }
  }
  if (!sorted) lines.push("| SORT @timestamp DESC NULLS LAST");
  if (!limited) {
    // ES|QL returns 1,000 rows unless told otherwise, and at most 10,000 (its default result cap);
    // Splunk returns every result of a search without sort/head.
    lines.splice(
      headerEnd,
      0,
      "// Note: ES|QL returns at most 10,000 rows (LIMIT 10000 below); Splunk would return every matching event.",
    );
    lines.push("| LIMIT 10000");
  }
  if (columns) {
    const keep = columns.map((c) => ref(c, q.stages[0]?.pos ?? 0));
    lines.push(`| KEEP ${keep.join(", ")}`);
    const renames = columns.filter((c) => !derived.has(c)).map((c) => `${ref(c, 0)} AS ${esqlName(c)}`);
    if (renames.length) lines.push(`| RENAME ${renames.join(", ")}`);
  }
  return { content: `${lines.join("\n")}\n`, warnings: [] };
}
