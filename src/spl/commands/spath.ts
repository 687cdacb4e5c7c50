/**
 * Structured-data extraction: `spath` (JSON and XML), `xmlkv`, `fromjson`.
 *
 * spath (Search Reference, spath): without a path every leaf becomes a field named by its path
 * (`a.b`, arrays as `a{}`, XML attributes as `a{@x}`); with a path only that value (several values =
 * a multivalue field), into `output` (default: the path). Input is JSON when it starts with `{` or
 * `[`, else XML. Text that does not parse leaves the row unchanged (decision D-spath-invalid).
 */
import { SaxesParser } from "saxes";
import type { FromjsonCommand, SpathCommand, XmlkvCommand } from "../ast.js";
import { getField } from "../row.js";
import { type SplValue, valueToStrings } from "../values.js";
import type { CommandContext, Operator } from "./operator.js";

/** limits.conf [spath] extraction_cutoff: characters of the input read when no path is given. */
export const SPATH_EXTRACTION_CUTOFF = 5000;

type Leaves = Map<string, string[]>;

function add(out: Leaves, path: string, value: string): void {
  const list = out.get(path);
  if (list) list.push(value);
  else out.set(path, [value]);
}

function scalarText(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v;
  return String(v);
}

/** Every leaf of a JSON value by spath's path names. */
function jsonLeaves(v: unknown, path: string, out: Leaves): void {
  if (Array.isArray(v)) {
    for (const item of v) jsonLeaves(item, `${path}{}`, out);
    return;
  }
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      jsonLeaves(x, path === "" ? k : `${path}.${k}`, out);
    return;
  }
  add(out, path, scalarText(v));
}

/** One step of a path: a key, with `{}` (every element) or `{N}` (the Nth, from 1) or `{@attr}`. */
interface Step {
  key: string;
  index: "all" | number | undefined;
  attr: string | undefined;
}

function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  for (const part of path.split(".")) {
    const m = /^([^{}]*)((?:\{[^}]*\})*)$/.exec(part);
    if (!m) {
      steps.push({ key: part, index: undefined, attr: undefined });
      continue;
    }
    const braces = [...m[2].matchAll(/\{([^}]*)\}/g)].map((b) => b[1]);
    let index: Step["index"];
    let attr: string | undefined;
    for (const b of braces) {
      if (b.startsWith("@")) attr = b.slice(1);
      else if (b === "") index = "all";
      else if (/^\d+$/.test(b)) index = Number(b);
    }
    steps.push({ key: m[1], index, attr });
  }
  return steps;
}

/** JSON values at a path. `{N}` counts from 1 (Search Reference, spath: "array index"). */
function jsonAt(root: unknown, steps: Step[]): string[] {
  let cur: unknown[] = [root];
  for (const st of steps) {
    const nextVals: unknown[] = [];
    for (const c of cur) {
      let v: unknown = c;
      if (st.key !== "") {
        if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
        v = (v as Record<string, unknown>)[st.key];
        if (v === undefined) continue;
      }
      if (st.index === "all") {
        if (Array.isArray(v)) nextVals.push(...v);
      } else if (typeof st.index === "number") {
        if (Array.isArray(v) && st.index >= 1 && st.index <= v.length) nextVals.push(v[st.index - 1]);
      } else nextVals.push(v);
    }
    cur = nextVals;
  }
  const out: string[] = [];
  for (const v of cur) {
    if (v !== null && typeof v === "object") out.push(JSON.stringify(v));
    else out.push(scalarText(v));
  }
  return out;
}

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function parseXml(text: string): XmlNode | undefined {
  const root: XmlNode = { name: "", attrs: {}, children: [], text: "" };
  const stack: XmlNode[] = [root];
  const p = new SaxesParser({ fragment: true });
  let failed = false;
  p.on("error", () => {
    failed = true;
  });
  p.on("opentag", (t) => {
    const n: XmlNode = { name: t.name, attrs: {}, children: [], text: "" };
    for (const [k, v] of Object.entries(t.attributes)) n.attrs[k] = typeof v === "string" ? v : v.value;
    stack[stack.length - 1].children.push(n);
    stack.push(n);
  });
  p.on("text", (t) => {
    stack[stack.length - 1].text += t;
  });
  p.on("cdata", (t) => {
    stack[stack.length - 1].text += t;
  });
  p.on("closetag", () => {
    stack.pop();
  });
  try {
    p.write(text).close();
  } catch {
    return undefined;
  }
  return failed || root.children.length === 0 ? undefined : root;
}

function xmlLeaves(n: XmlNode, path: string, out: Leaves): void {
  for (const [k, v] of Object.entries(n.attrs)) add(out, `${path}{@${k}}`, v);
  if (n.children.length === 0) {
    const t = n.text.trim();
    if (t !== "" || Object.keys(n.attrs).length === 0) add(out, path, t);
    return;
  }
  for (const c of n.children) xmlLeaves(c, `${path}.${c.name}`, out);
}

function xmlAt(root: XmlNode, steps: Step[]): string[] {
  let cur: XmlNode[] = [root];
  let attr: string | undefined;
  for (const st of steps) {
    const nextNodes: XmlNode[] = [];
    for (const c of cur) {
      let matches = st.key === "" ? [c] : c.children.filter((x) => x.name === st.key);
      if (typeof st.index === "number") matches = matches.slice(st.index - 1, st.index);
      nextNodes.push(...matches);
    }
    cur = nextNodes;
    attr = st.attr;
  }
  if (attr !== undefined)
    return cur.map((n) => n.attrs[attr as string]).filter((v): v is string => v !== undefined);
  return cur.map((n) => (n.children.length === 0 ? n.text.trim() : innerXml(n)));
}

function innerXml(n: XmlNode): string {
  return n.children
    .map((c) => {
      const attrs = Object.entries(c.attrs)
        .map(([k, v]) => ` ${k}="${v}"`)
        .join("");
      return `<${c.name}${attrs}>${c.children.length === 0 ? c.text : innerXml(c)}</${c.name}>`;
    })
    .join("");
}

function toValue(vals: string[]): SplValue {
  return vals.length === 1 ? vals[0] : vals;
}

export function spathOperator(cmd: SpathCommand, _ctx: CommandContext, next: Operator): Operator {
  const steps = cmd.path === undefined ? undefined : parsePath(cmd.path);
  const output = cmd.output ?? cmd.path;
  return {
    push: (row) => {
      const v = getField(row, cmd.input);
      if (v === undefined) return next.push(row);
      const text = valueToStrings(v)[0] ?? "";
      const trimmed = text.trimStart();
      const isJson = trimmed.startsWith("{") || trimmed.startsWith("[");
      if (steps === undefined) {
        const leaves: Leaves = new Map();
        const cut = text.length > SPATH_EXTRACTION_CUTOFF ? text.slice(0, SPATH_EXTRACTION_CUTOFF) : text;
        if (isJson) {
          try {
            jsonLeaves(JSON.parse(cut), "", leaves);
          } catch {
            // Not JSON (or cut off): nothing extracted.
          }
        } else {
          const root = parseXml(cut);
          if (root) for (const c of root.children) xmlLeaves(c, c.name, leaves);
        }
        for (const [k, vals] of leaves) row.fields.set(k, toValue(vals));
        return next.push(row);
      }
      let vals: string[] = [];
      if (isJson) {
        try {
          vals = jsonAt(JSON.parse(text), steps);
        } catch {
          vals = [];
        }
      } else {
        const root = parseXml(text);
        if (root) vals = xmlAt(root, steps);
      }
      if (vals.length > 0 && output !== undefined) row.fields.set(output, toValue(vals));
      return next.push(row);
    },
    end: () => next.end(),
  };
}

/**
 * `xmlkv` (Search Reference, xmlkv): every `<tag>value</tag>` with text only becomes `tag=value`
 * (a tag seen more than once: multivalue).
 */
export function xmlkvOperator(cmd: XmlkvCommand, _ctx: CommandContext, next: Operator): Operator {
  const leaf = /<([A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>([^<]*)<\/\1\s*>/g;
  return {
    push: (row) => {
      const v = getField(row, cmd.field);
      if (v === undefined) return next.push(row);
      const found: Leaves = new Map();
      for (const text of valueToStrings(v)) for (const m of text.matchAll(leaf)) add(found, m[1], m[2]);
      for (const [k, vals] of found) row.fields.set(k, toValue(vals));
      return next.push(row);
    },
    end: () => next.end(),
  };
}

/**
 * `fromjson <field> [prefix=]` (Search Reference, fromjson): each top-level key of the JSON object
 * becomes a field; arrays become multivalue fields, nested objects stay JSON text.
 */
export function fromjsonOperator(cmd: FromjsonCommand, _ctx: CommandContext, next: Operator): Operator {
  const text = (x: unknown) => (x !== null && typeof x === "object" ? JSON.stringify(x) : scalarText(x));
  return {
    push: (row) => {
      const v = getField(row, cmd.field);
      if (v === undefined) return next.push(row);
      let obj: unknown;
      try {
        obj = JSON.parse(valueToStrings(v)[0] ?? "");
      } catch {
        return next.push(row);
      }
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return next.push(row);
      for (const [k, x] of Object.entries(obj as Record<string, unknown>)) {
        const name = `${cmd.prefix}${k}`;
        if (Array.isArray(x)) row.fields.set(name, x.map(text));
        else row.fields.set(name, text(x));
      }
      return next.push(row);
    },
    end: () => next.end(),
  };
}
