/**
 * A Sigma `detection` block -> a boolean tree of field matches (the intermediate form both SPL
 * backends read). Modifiers follow the Sigma specification: value transformations (expand, windash,
 * wide/utf16*, base64, base64offset) in the order written, then the match kind (contains, startswith,
 * endswith, re with its i/m/s flags, cidr, exists, fieldref, gt/gte/lt/lte), `all` (every value instead
 * of any) and `cased` (case-sensitive; Sigma matches case-insensitively by default).
 */
import { type ConditionNode, parseCondition, selectIdentifiers } from "./condition.js";
import {
  base64,
  base64Offsets,
  type Encoding,
  encodeBytes,
  expandPlaceholders,
  literal,
  type Pattern,
  parseSigmaString,
  patternLiteral,
  windashVariants,
} from "./values.js";

export type Match =
  | { t: "pattern"; pattern: Pattern; cased: boolean }
  | { t: "re"; re: string; flags: string }
  | { t: "cidr"; cidr: string }
  | { t: "exists"; exists: boolean }
  | { t: "null" }
  | { t: "cmp"; op: "<" | "<=" | ">" | ">="; value: number }
  | { t: "fieldref"; other: string; cased: boolean };

/** field undefined: a keyword (matched in the whole event text). */
export type Cond =
  | { k: "and" | "or"; items: Cond[] }
  | { k: "not"; item: Cond }
  | { k: "match"; field: string | undefined; match: Match };

/** A problem with a path inside the rule document (for file:line:col). */
export class DetectionError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
    /** Offset inside the condition text, when the problem is there. */
    readonly conditionOffset?: number,
  ) {
    super(message);
  }
}

const KNOWN_MODIFIERS = new Set([
  "contains",
  "startswith",
  "endswith",
  "all",
  "base64",
  "base64offset",
  "wide",
  "utf16le",
  "utf16be",
  "utf16",
  "windash",
  "re",
  "i",
  "m",
  "s",
  "cidr",
  "exists",
  "cased",
  "fieldref",
  "gt",
  "gte",
  "lt",
  "lte",
  "expand",
]);

export interface DetectionOptions {
  placeholders?: Record<string, string[]>;
}

function and(items: Cond[]): Cond {
  return items.length === 1 ? items[0] : { k: "and", items };
}
function or(items: Cond[]): Cond {
  return items.length === 1 ? items[0] : { k: "or", items };
}

function scalarText(v: unknown, path: (string | number)[]): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new DetectionError("a value must be a string, number, boolean or null", path);
}

/** One `field|mod|mod: value(s)` entry -> a condition. */
function compileEntry(key: string, value: unknown, path: (string | number)[], opts: DetectionOptions): Cond {
  const [fieldPart, ...mods] = key.split("|");
  const field = fieldPart === "" ? undefined : fieldPart;
  for (const m of mods)
    if (!KNOWN_MODIFIERS.has(m)) throw new DetectionError(`unknown modifier '${m}'`, path);
  const has = (m: string) => mods.includes(m);
  const values: unknown[] = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new DetectionError("an empty list of values matches nothing", path);
  const combine = has("all") ? and : or;
  const cased = has("cased");

  if (has("exists")) {
    if (field === undefined) throw new DetectionError("'exists' needs a field", path);
    if (typeof value !== "boolean") throw new DetectionError("'exists' takes true or false", path);
    return { k: "match", field, match: { t: "exists", exists: value } };
  }
  const cmp = (["gt", "gte", "lt", "lte"] as const).find((m) => has(m));
  if (cmp !== undefined) {
    if (field === undefined) throw new DetectionError(`'${cmp}' needs a field`, path);
    const op = ({ gt: ">", gte: ">=", lt: "<", lte: "<=" } as const)[cmp];
    return combine(
      values.map((v, i) => {
        const n = typeof v === "number" ? v : Number(v);
        if (typeof v === "boolean" || v === null || !Number.isFinite(n))
          throw new DetectionError(`'${cmp}' needs a number`, [...path, i]);
        return { k: "match", field, match: { t: "cmp", op, value: n } };
      }),
    );
  }
  if (has("re")) {
    if (
      mods.some((m) =>
        ["contains", "startswith", "endswith", "base64", "base64offset", "windash"].includes(m),
      )
    )
      throw new DetectionError("'re' does not combine with value modifiers", path);
    const flags = ["i", "m", "s"].filter((f) => has(f)).join("");
    return combine(
      values.map((v, i) => ({
        k: "match",
        field: field ?? "_raw",
        match: { t: "re", re: scalarText(v, [...path, i]), flags },
      })),
    );
  }
  if (has("cidr")) {
    if (field === undefined) throw new DetectionError("'cidr' needs a field", path);
    return combine(
      values.map((v, i) => ({ k: "match", field, match: { t: "cidr", cidr: scalarText(v, [...path, i]) } })),
    );
  }
  if (has("fieldref")) {
    if (field === undefined) throw new DetectionError("'fieldref' needs a field", path);
    return combine(
      values.map((v, i) => ({
        k: "match",
        field,
        match: { t: "fieldref", other: scalarText(v, [...path, i]), cased },
      })),
    );
  }

  const perValue = values.map((v, i): Cond => {
    const vpath = [...path, i];
    if (v === null) {
      if (field === undefined) throw new DetectionError("a keyword cannot be null", vpath);
      return { k: "match", field, match: { t: "null" } };
    }
    // String-level transformations first, in the order written.
    let texts = [scalarText(v, vpath)];
    let encoding: Encoding = "utf8";
    let bom = false;
    let patterns: Pattern[] | undefined;
    const encodedPatterns = (fn: (bytes: Buffer) => string[]) => {
      const src = patterns ?? texts.map(parseSigmaString);
      const out: Pattern[] = [];
      for (const p of src) {
        const lit = patternLiteral(p);
        if (lit === undefined) throw new DetectionError("base64 of a value with wildcards", vpath);
        const bytes = encodeBytes(lit, encoding);
        const withBom = bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), bytes]) : bytes;
        for (const s of fn(withBom)) out.push(literal(s));
      }
      return out;
    };
    try {
      for (const m of mods) {
        if (m === "expand") texts = texts.flatMap((t) => expandPlaceholders(t, opts.placeholders ?? {}));
        else if (m === "windash") texts = texts.flatMap(windashVariants);
        else if (m === "wide" || m === "utf16le") encoding = "utf16le";
        else if (m === "utf16be") encoding = "utf16be";
        else if (m === "utf16") {
          encoding = "utf16le";
          bom = true;
        } else if (m === "base64") patterns = encodedPatterns((b) => [base64(b)]);
        else if (m === "base64offset") patterns = encodedPatterns(base64Offsets);
      }
    } catch (err) {
      if (err instanceof DetectionError) throw err;
      throw new DetectionError((err as Error).message, vpath);
    }
    if (encoding !== "utf8" && !has("base64") && !has("base64offset"))
      throw new DetectionError("'wide'/'utf16' only make sense before 'base64' or 'base64offset'", vpath);
    patterns ??= texts.map(parseSigmaString);
    const star = { wild: "*" as const };
    const shaped = patterns.map((p): Pattern => {
      if (has("contains") || (field === undefined && !has("startswith") && !has("endswith")))
        return [star, ...p, star];
      if (has("startswith")) return [...p, star];
      if (has("endswith")) return [star, ...p];
      return p;
    });
    return or(shaped.map((pattern) => ({ k: "match", field, match: { t: "pattern", pattern, cased } })));
  });
  return combine(perValue);
}

/** One detection identifier's definition -> a condition. */
function compileIdentifier(def: unknown, path: (string | number)[], opts: DetectionOptions): Cond {
  if (Array.isArray(def)) {
    if (def.length === 0) throw new DetectionError("an empty list matches nothing", path);
    if (def.every((d) => d !== null && typeof d === "object" && !Array.isArray(d)))
      return or(def.map((d, i) => compileIdentifier(d, [...path, i], opts)));
    // A list of plain values: keywords, any of them.
    return compileEntry("", def, path, opts);
  }
  if (def !== null && typeof def === "object") {
    const entries = Object.entries(def as Record<string, unknown>);
    if (entries.length === 0) throw new DetectionError("an empty map matches nothing", path);
    return and(entries.map(([k, v]) => compileEntry(k, v, [...path, k], opts)));
  }
  return compileEntry("", def, path, opts);
}

/** Compile a whole `detection:` block (identifiers + condition). */
export function compileDetection(detection: unknown, opts: DetectionOptions = {}): Cond {
  if (detection === null || typeof detection !== "object" || Array.isArray(detection))
    throw new DetectionError("'detection' must be a map", ["detection"]);
  const det = detection as Record<string, unknown>;
  const names = Object.keys(det).filter((k) => k !== "condition" && k !== "timeframe");
  const idents = new Map<string, Cond>();
  for (const n of names) idents.set(n, compileIdentifier(det[n], ["detection", n], opts));
  const condition = det.condition;
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (condition === undefined || conditions.length === 0)
    throw new DetectionError("missing 'condition'", ["detection"]);
  const trees = conditions.map((c, ci) => {
    const cpath = Array.isArray(condition) ? ["detection", "condition", ci] : ["detection", "condition"];
    if (typeof c !== "string") throw new DetectionError("'condition' must be a string", cpath);
    let tree: ConditionNode;
    try {
      tree = parseCondition(c);
    } catch (err) {
      throw new DetectionError(`condition: ${(err as Error).message}`, cpath, (err as { pos?: number }).pos);
    }
    const resolve = (n: ConditionNode): Cond => {
      switch (n.kind) {
        case "ref": {
          const found = idents.get(n.name);
          if (found === undefined)
            throw new DetectionError(`condition: no detection named '${n.name}'`, cpath, n.pos);
          return found;
        }
        case "and":
        case "or":
          return { k: n.kind, items: n.items.map(resolve) };
        case "not":
          return { k: "not", item: resolve(n.item) };
        case "of": {
          const picked = selectIdentifiers(n.pattern, names);
          if (picked.length === 0)
            throw new DetectionError(`condition: '${n.pattern}' names no detection`, cpath, n.pos);
          const items = picked.map((p) => idents.get(p) as Cond);
          return n.quantifier === "all" ? and(items) : or(items);
        }
      }
    };
    return resolve(tree);
  });
  return or(trees);
}

/** Field names a condition reads (keywords excluded), in first-seen order. */
export function fieldsOf(c: Cond, out: string[] = []): string[] {
  if (c.k === "match") {
    if (c.field !== undefined && c.field !== "_raw" && !out.includes(c.field)) out.push(c.field);
    if (c.match.t === "fieldref" && !out.includes(c.match.other)) out.push(c.match.other);
  } else if (c.k === "not") fieldsOf(c.item, out);
  else for (const i of c.items) fieldsOf(i, out);
  return out;
}
