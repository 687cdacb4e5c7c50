/**
 * BinXML: the binary XML of EVTX records. A record is a fragment holding (almost always) one
 * template instance: a template definition (parsed once per chunk and cached by its offset) plus
 * an array of typed substitution values. We parse a template into a small node tree, then render
 * each record by walking that tree with the record's values, either to XML text (fast path) or to
 * an element tree (for the event model). Both walks share `isOmitted`/`valueText`, so the XML and
 * the model always agree.
 *
 * Every read is bounds-checked against the chunk: damaged BinXML raises BinXmlError, which the
 * chunk reader turns into a reported, skipped record.
 */

import type { EventDataItem, SystemFields, XmlElement } from "../../events/model.js";
import { arrayItems, fileTimeTicks, scalarText, u16, u32, ValueType } from "./values.js";

export class BinXmlError extends Error {
  override name = "BinXmlError";
}

/** Static text: `text` as read, `xml` escaped for output. */
export interface TextNode {
  k: 0;
  text: string;
  xml: string;
}
export interface SubstNode {
  k: 1;
  index: number;
  optional: boolean;
}
export interface AttrNode {
  name: string;
  /** ` Name="` */
  head: string;
  parts: (TextNode | SubstNode)[];
  /** Index of the optional substitution that alone makes up the value (omitted when null), or -1. */
  optionalOnly: number;
}
export interface ElementNode {
  k: 2;
  name: string;
  attrs: AttrNode[];
  children: Node[];
  selfClosing: boolean;
  /** Index of the optional substitution that alone makes up the content, or -1. */
  optionalOnly: number;
  /** Index of the (any) substitution that alone makes up the content, or -1 (array expansion). */
  substOnly: number;
}
export interface PINode {
  k: 3;
  xml: string;
}
export interface InstanceNode {
  k: 4;
  template: Template;
  values: Values;
}
export type Node = TextNode | SubstNode | ElementNode | PINode | InstanceNode;

/** Substitution values of one template instance: type, chunk offset and size of each. */
export interface Values {
  types: number[];
  offsets: number[];
  sizes: number[];
}

/**
 * What a template definition compiles to. Shared by every chunk whose definition has the same
 * bytes and refers to the same names (see ChunkContext.template), so each shape is parsed and
 * compiled once per file, not once per chunk.
 */
export interface TemplateShape {
  root: Node[];
  /** Lazily computed map of System fields to substitutions (push-down). */
  system?: SystemMap | null;
  /** Lazily compiled XML program (null: the template needs the tree walk). */
  program?: Op[] | null;
  /** Lazily compiled model plan (null: the template needs the tree walk). */
  plan?: ModelPlan | null;
  /** Lazily compiled plan of a template that is just `<EventData>` (null: tree walk). */
  dataPlan?: DataPlan | null;
}

/** A template definition in one chunk. */
export interface Template {
  /** Chunk offset of the definition and the end of its body. */
  offset: number;
  end: number;
  root: Node[];
  shape: TemplateShape;
}

/** A name offset field inside a template body: an inline name, or a reference to a name. */
interface NameField {
  /** Position of the 4-byte field, relative to the body. */
  rel: number;
  /** Inline name: its position relative to the body; else -1. */
  inlineRel: number;
  /** A reference to a name inside the body (defined earlier in it): its relative position; else -1. */
  insideRel: number;
  name: string;
}

/**
 * Shapes by template GUID and size, across chunks (bounded). A hit is used only when the body is
 * byte for byte the same except for the name offset fields, and each of those points at the
 * same name (inline at the same relative place, or a referenced name with the same text).
 */
const SHAPES = new Map<string, { shape: TemplateShape; body: Buffer; fields: NameField[] }>();
const MAX_SHAPES = 4096;
const SHAPE_SCRATCH = Buffer.alloc(65536);

/**
 * A compiled template: pre-rendered text plus slot operations, so rendering a record is a
 * linear pass that formats values into the text (the tree walk remains the reference; tests
 * check both give the same bytes).
 * k=0: text s; k=1: value i escaped for content; k=2: value i escaped for an attribute;
 * k=3: if value i is omitted (optional and null/empty), jump to op `to`.
 */
export interface Op {
  k: 0 | 1 | 2 | 3;
  s: string;
  i: number;
  to: number;
}

const MAX_DEPTH = 96;
const MAX_TEMPLATE_NESTING = 16;

export function escapeText(s: string): string {
  if (!/[&<>]/.test(s)) return s;
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
export function escapeAttr(s: string): string {
  if (!/[&<>"]/.test(s)) return s;
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Per-chunk parsing state: names and templates are cached by their chunk offset. */
export class ChunkContext {
  readonly names = new Map<number, string>();
  readonly templates = new Map<number, Template>();
  private readonly inProgress = new Set<number>();
  /** Nesting of template instances and BinXML values currently being expanded. */
  nesting = 0;
  /** Tests: render with the tree walk only (the reference for the compiled programs). */
  treeWalkOnly = false;
  /** While a template is parsed: its name offset fields, and where its body starts. */
  private nameFields: NameField[] | undefined;
  private bodyStart = 0;
  private bodyEnd = 0;
  /** False when the template being parsed holds a template instance (not shared across chunks). */
  private sharable = true;

  constructor(readonly buf: Buffer) {}

  fail(reason: string, at: number): never {
    throw new BinXmlError(`${reason} at chunk offset 0x${at.toString(16)}`);
  }

  need(p: number, n: number, end: number): void {
    if (p < 0 || p + n > end) this.fail("BinXML reads past its bounds", p);
  }

  /** The name at chunk offset `off`; `at` is where the offset was read (the place errors name). */
  name(off: number, at = off): string {
    const cached = this.names.get(off);
    if (cached !== undefined) return cached;
    const b = this.buf;
    if (off < 512 || off + 8 > b.length) this.fail(`name offset 0x${off.toString(16)} outside the chunk`, at);
    const chars = u16(b, off + 6);
    if (off + 8 + 2 * chars > b.length) this.fail("name runs past the chunk", off);
    const s = b.toString("utf16le", off + 8, off + 8 + 2 * chars);
    this.names.set(off, s);
    return s;
  }

  /** Reads a name reference at p (inline names are skipped); returns [name, next position]. */
  nameAt(p: number, end: number): [string, number] {
    this.need(p, 4, end);
    const off = u32(this.buf, p);
    p += 4;
    const name = this.name(off, p - 4);
    if (this.nameFields) {
      const rel = off - this.bodyStart;
      const inside = rel >= 0 && off < this.bodyEnd;
      this.nameFields.push({
        rel: p - 4 - this.bodyStart,
        inlineRel: off === p ? rel : -1,
        insideRel: off !== p && inside ? rel : -1,
        name,
      });
    }
    if (off === p) {
      const next = off + 8 + 2 * name.length + 2;
      if (next > end) this.fail("inline name runs past its bounds", off);
      return [name, next];
    }
    return [name, p];
  }

  /** The template defined at chunk offset `off`; `at` is where the offset was read. */
  template(off: number, at = off): Template {
    const cached = this.templates.get(off);
    if (cached) return cached;
    if (this.inProgress.has(off)) this.fail("template refers to itself", off);
    const b = this.buf;
    if (off < 512 || off + 24 > b.length)
      this.fail(`template offset 0x${off.toString(16)} outside the chunk`, at);
    const size = u32(b, off + 20);
    const start = off + 24;
    if (start + size > b.length) this.fail("template runs past the chunk", off);
    const key = b.toString("latin1", off + 4, off + 24);
    const known = SHAPES.get(key);
    if (known && this.sameShape(known.body, known.fields, start)) {
      const t: Template = { offset: off, end: start + size, root: known.shape.root, shape: known.shape };
      this.templates.set(off, t);
      return t;
    }
    this.inProgress.add(off);
    const outerFields = this.nameFields;
    const outerStart = this.bodyStart;
    const outerEnd = this.bodyEnd;
    const outerSharable = this.sharable;
    const fields: NameField[] = [];
    this.nameFields = fields;
    this.bodyStart = start;
    this.bodyEnd = start + size;
    this.sharable = true;
    try {
      const [root] = this.fragment(start, start + size, false, 0);
      const shape: TemplateShape = { root };
      const t: Template = { offset: off, end: start + size, root, shape };
      this.templates.set(off, t);
      if (this.sharable) {
        if (SHAPES.size >= MAX_SHAPES) SHAPES.clear();
        SHAPES.set(key, { shape, body: Buffer.from(b.subarray(start, start + size)), fields });
      }
      return t;
    } finally {
      this.inProgress.delete(off);
      this.nameFields = outerFields;
      this.bodyStart = outerStart;
      this.bodyEnd = outerEnd;
      this.sharable = outerSharable;
    }
  }

  /** Is the body at `start` the cached body, up to where its names are stored? */
  private sameShape(body: Buffer, fields: NameField[], start: number): boolean {
    const b = this.buf;
    const len = body.length;
    if (start + len > b.length) return false;
    // Copy the candidate, check each name field and overwrite it (and an inline name's chunk
    // link) with the cached bytes, then compare everything in one native call.
    const scratch = SHAPE_SCRATCH;
    b.copy(scratch, 0, start, start + len);
    for (const f of fields) {
      const v = u32(b, start + f.rel);
      if (f.inlineRel >= 0) {
        if (v !== start + f.inlineRel) return false;
        const q = f.inlineRel;
        scratch[q] = body[q];
        scratch[q + 1] = body[q + 1];
        scratch[q + 2] = body[q + 2];
        scratch[q + 3] = body[q + 3];
      } else if (f.insideRel >= 0) {
        if (v !== start + f.insideRel) return false;
      } else {
        if (v >= start && v < start + len) return false;
        try {
          if (this.name(v) !== f.name) return false;
        } catch {
          return false;
        }
      }
      const r = f.rel;
      scratch[r] = body[r];
      scratch[r + 1] = body[r + 1];
      scratch[r + 2] = body[r + 2];
      scratch[r + 3] = body[r + 3];
    }
    return scratch.subarray(0, len).equals(body);
  }

  /**
   * A sequence of fragments (header, element or template instance, EOF) in [p, end).
   * `nested`: inside a BinXml substitution value, where open-element tokens carry no dependency id.
   */
  fragment(p: number, end: number, nested: boolean, depth: number): [Node[], number] {
    const b = this.buf;
    const nodes: Node[] = [];
    while (p < end) {
      const t = b[p];
      if (t === 0x0f) {
        this.need(p, 4, end);
        p += 4;
      } else if (t === 0x0c) {
        const [node, next] = this.instance(p, end, depth);
        nodes.push(node);
        p = next;
      } else if ((t & 0xbf) === 0x01) {
        const [el, next] = this.element(p, end, nested, depth);
        nodes.push(el);
        p = next;
      } else if (t === 0x00) {
        p++;
        break;
      } else {
        this.fail(`unexpected BinXML token 0x${t.toString(16)}`, p);
      }
    }
    return [nodes, p];
  }

  /**
   * The template and substitution descriptors of a record that is a fragment header plus one
   * template instance (the usual shape; the header is optional, as in BinXML values), written into
   * `out`'s arrays (reused: no allocation). Undefined for any other shape.
   */
  peekInstance(p: number, end: number, out: Values): Template | undefined {
    const b = this.buf;
    if (p + 4 <= end && b[p] === 0x0f) p += 4;
    if (p + 14 > end || b[p] !== 0x0c) return undefined;
    const defOff = u32(b, p + 6);
    let q = p + 10;
    const template = this.template(defOff, p + 6);
    if (defOff === q) q = template.end;
    this.need(q, 4, end);
    const count = u32(b, q);
    q += 4;
    if (count * 4 > end - q) this.fail("substitution count exceeds the record", q);
    // (Setting an array's length is slow: records of one template have the same count.)
    if (out.types.length !== count) {
      out.types.length = count;
      out.offsets.length = count;
      out.sizes.length = count;
    }
    let v = q + count * 4;
    for (let i = 0; i < count; i++) {
      const size = u16(b, q + 4 * i);
      out.types[i] = b[q + 4 * i + 2];
      out.offsets[i] = v;
      out.sizes[i] = size;
      v += size;
    }
    if (v > end) this.fail("substitution values run past the record", q);
    return template;
  }

  /** Template instance token at p: the template (inline or by offset) and the values. */
  instance(p: number, end: number, depth: number): [InstanceNode, number] {
    const b = this.buf;
    this.sharable = false;
    this.need(p, 10, end);
    const defOff = u32(b, p + 6);
    p += 10;
    if (++this.nesting > MAX_TEMPLATE_NESTING) this.fail("templates nested too deep", p);
    let template: Template;
    try {
      template = this.template(defOff, p - 4);
    } finally {
      this.nesting--;
    }
    if (defOff === p) p = template.end;
    void depth;
    this.need(p, 4, end);
    const count = u32(b, p);
    p += 4;
    if (count * 4 > end - p) this.fail("substitution count exceeds the record", p);
    const types: number[] = new Array(count);
    const offsets: number[] = new Array(count);
    const sizes: number[] = new Array(count);
    let v = p + count * 4;
    for (let i = 0; i < count; i++) {
      const size = u16(b, p + 4 * i);
      types[i] = b[p + 4 * i + 2];
      offsets[i] = v;
      sizes[i] = size;
      v += size;
    }
    if (v > end) this.fail("substitution values run past the record", p);
    return [{ k: 4, template, values: { types, offsets, sizes } }, v];
  }

  element(p: number, end: number, nested: boolean, depth: number): [ElementNode, number] {
    if (depth > MAX_DEPTH) this.fail("elements nested too deep", p);
    const b = this.buf;
    const tok = b[p];
    p += nested ? 1 : 3;
    this.need(p, 8, end);
    p += 4; // data size
    let name: string;
    [name, p] = this.nameAt(p, end);
    const attrs: AttrNode[] = [];
    if (tok & 0x40) {
      this.need(p, 4, end);
      const listEnd = p + 4 + u32(b, p);
      p += 4;
      if (listEnd > end) this.fail("attribute list runs past its bounds", p);
      while (p < listEnd && (b[p] & 0xbf) === 0x06) {
        let attrName: string;
        [attrName, p] = this.nameAt(p + 1, end);
        const parts: (TextNode | SubstNode)[] = [];
        p = this.valueParts(p, end, parts);
        const only = parts.length === 1 && parts[0].k === 1 && parts[0].optional ? parts[0].index : -1;
        attrs.push({ name: attrName, head: " " + attrName + '="', parts, optionalOnly: only });
      }
    }
    this.need(p, 1, end);
    const close = b[p++];
    const el: ElementNode = {
      k: 2,
      name,
      attrs,
      children: [],
      selfClosing: close === 0x03,
      optionalOnly: -1,
      substOnly: -1,
    };
    if (close === 0x03) return [el, p];
    if (close !== 0x02) this.fail(`expected the end of a start tag, found 0x${close.toString(16)}`, p - 1);
    const children = el.children;
    for (;;) {
      this.need(p, 1, end);
      const t = b[p];
      switch (t & 0xbf) {
        case 0x04:
          p++;
          if (children.length === 1 && children[0].k === 1) {
            el.substOnly = children[0].index;
            if (children[0].optional) el.optionalOnly = children[0].index;
          }
          return [el, p];
        case 0x01: {
          const [child, next] = this.element(p, end, nested, depth + 1);
          children.push(child);
          p = next;
          break;
        }
        case 0x05:
        case 0x08:
        case 0x09:
          p = this.valueParts(p, end, children as (TextNode | SubstNode)[], true);
          break;
        case 0x07: {
          this.need(p, 3, end);
          const chars = u16(b, p + 1);
          this.need(p + 3, 2 * chars, end);
          const text = b.toString("utf16le", p + 3, p + 3 + 2 * chars);
          children.push({ k: 0, text, xml: "<![CDATA[" + text + "]]>" });
          p += 3 + 2 * chars;
          break;
        }
        case 0x0a: {
          let target: string;
          [target, p] = this.nameAt(p + 1, end);
          let data = "";
          if (p < end && b[p] === 0x0b) {
            this.need(p, 3, end);
            const chars = u16(b, p + 1);
            this.need(p + 3, 2 * chars, end);
            data = b.toString("utf16le", p + 3, p + 3 + 2 * chars);
            p += 3 + 2 * chars;
          }
          children.push({ k: 3, xml: "<?" + target + (data ? " " + data : "") + "?>" });
          break;
        }
        case 0x0d:
        case 0x0e: {
          this.need(p, 4, end);
          children.push({ k: 1, index: u16(b, p + 1), optional: t === 0x0e });
          p += 4;
          break;
        }
        case 0x0c: {
          const [inst, next] = this.instance(p, end, depth + 1);
          children.push(inst);
          p = next;
          break;
        }
        default:
          this.fail(`unexpected BinXML token 0x${t.toString(16)} in element content`, p);
      }
    }
  }

  /** Value text, character/entity references and substitutions at p, appended to parts. */
  private valueParts(p: number, end: number, parts: (TextNode | SubstNode)[], once = false): number {
    const b = this.buf;
    while (p < end) {
      const t = b[p];
      const base = t & 0xbf;
      if (base === 0x05) {
        this.need(p, 4, end);
        const type = b[p + 1];
        const chars = u16(b, p + 2);
        if (type === ValueType.String) {
          this.need(p + 4, 2 * chars, end);
          const text = b.toString("utf16le", p + 4, p + 4 + 2 * chars);
          parts.push({ k: 0, text, xml: escapeText(text) });
          p += 4 + 2 * chars;
        } else if (type === ValueType.AnsiString) {
          this.need(p + 4, chars, end);
          const text = b.toString("latin1", p + 4, p + 4 + chars);
          parts.push({ k: 0, text, xml: escapeText(text) });
          p += 4 + chars;
        } else {
          this.fail(`unsupported value token type 0x${type.toString(16)}`, p);
        }
      } else if (base === 0x08) {
        this.need(p, 3, end);
        const code = u16(b, p + 1);
        parts.push({ k: 0, text: String.fromCharCode(code), xml: "&#" + code + ";" });
        p += 3;
      } else if (base === 0x09) {
        let entity: string;
        [entity, p] = this.nameAt(p + 1, end);
        parts.push({ k: 0, text: ENTITIES[entity] ?? "&" + entity + ";", xml: "&" + entity + ";" });
      } else if (t === 0x0d || t === 0x0e) {
        this.need(p, 4, end);
        parts.push({ k: 1, index: u16(b, p + 1), optional: t === 0x0e });
        p += 4;
      } else {
        break;
      }
      if (once) break;
    }
    return p;
  }

  /** Nodes of a BinXml (0x21) substitution value. */
  nested(off: number, size: number, depth: number): Node[] {
    if (++this.nesting > MAX_TEMPLATE_NESTING) this.fail("BinXML values nested too deep", off);
    try {
      return this.fragment(off, off + size, true, depth + 1)[0];
    } finally {
      this.nesting--;
    }
  }
}

/** Optional substitutions that are null or empty leave their element or attribute out, as Windows does. */
export function isOmitted(v: Values, i: number): boolean {
  return i >= v.types.length || v.types[i] === ValueType.Null || v.sizes[i] === 0;
}

/** Plain text of substitution i (arrays joined by ", "; BinXML rendered as XML). */
export function valueText(ctx: ChunkContext, v: Values, i: number, depth: number): string {
  if (i >= v.types.length) return "";
  const type = v.types[i];
  const off = v.offsets[i];
  const size = v.sizes[i];
  if (type === ValueType.BinXml) return renderNodes(ctx, ctx.nested(off, size, depth), v, depth + 1);
  if (type & ValueType.ArrayFlag) {
    const items = arrayItems(ctx.buf, type, off, size);
    if (items === undefined) ctx.fail(`malformed array value of type 0x${type.toString(16)}`, off);
    return items.join(", ");
  }
  const s = scalarText(ctx.buf, type, off, size);
  if (s === undefined) ctx.fail(`value of type 0x${type.toString(16)} has ${size} bytes`, off);
  return s;
}

function substXml(ctx: ChunkContext, v: Values, i: number, depth: number, attr: boolean): string {
  if (i < v.types.length && v.types[i] === ValueType.BinXml) return valueText(ctx, v, i, depth);
  const s = valueText(ctx, v, i, depth);
  return attr ? escapeAttr(s) : escapeText(s);
}

function compileNodes(nodes: Node[], ops: Op[], attr: boolean): boolean {
  const text = (t: string) => {
    const last = ops[ops.length - 1];
    if (last && last.k === 0) last.s += t;
    else ops.push({ k: 0, s: t, i: 0, to: 0 });
  };
  const sub = (n: SubstNode, inAttr: boolean) => {
    let skip: Op | undefined;
    if (n.optional) ops.push((skip = { k: 3, s: "", i: n.index, to: 0 }));
    ops.push({ k: inAttr ? 2 : 1, s: "", i: n.index, to: 0 });
    if (skip) skip.to = ops.length;
  };
  for (const node of nodes) {
    switch (node.k) {
      case 0:
      case 3:
        text(node.xml);
        break;
      case 1:
        sub(node, attr);
        break;
      case 4:
        return false;
      case 2: {
        let skipEl: Op | undefined;
        if (node.optionalOnly >= 0) ops.push((skipEl = { k: 3, s: "", i: node.optionalOnly, to: 0 }));
        text("<" + node.name);
        for (const a of node.attrs) {
          let skipAttr: Op | undefined;
          if (a.optionalOnly >= 0) ops.push((skipAttr = { k: 3, s: "", i: a.optionalOnly, to: 0 }));
          text(a.head);
          for (const part of a.parts) {
            if (part.k === 0) text(part.xml);
            else sub(part, true);
          }
          text('"');
          if (skipAttr) {
            // The attribute's closing quote must not merge with text that follows the jump target.
            ops.push({ k: 0, s: "", i: 0, to: 0 });
            skipAttr.to = ops.length - 1;
          }
        }
        if (node.selfClosing) text("/>");
        else {
          text(">");
          if (!compileNodes(node.children, ops, false)) return false;
          text("</" + node.name + ">");
        }
        if (skipEl) {
          ops.push({ k: 0, s: "", i: 0, to: 0 });
          skipEl.to = ops.length - 1;
        }
        break;
      }
    }
  }
  return true;
}

/** The compiled program of a template (null when it holds nested template instances). */
export function programOf(t: Template): Op[] | null {
  if (t.shape.program !== undefined) return t.shape.program;
  const ops: Op[] = [];
  t.shape.program = compileNodes(t.root, ops, false) ? ops : null;
  return t.shape.program;
}

/** XML of a template instance through its compiled program, or undefined (use the tree walk). */
export function renderInstance(ctx: ChunkContext, inst: InstanceNode): string | undefined {
  if (ctx.treeWalkOnly) return undefined;
  const ops = programOf(inst.template);
  if (!ops) return undefined;
  const v = inst.values;
  const types = v.types;
  // Arrays repeat their element: leave those records to the tree walk.
  for (let i = 0; i < types.length; i++) if (types[i] & ValueType.ArrayFlag) return undefined;
  let s = "";
  for (let n = 0; n < ops.length; n++) {
    const op = ops[n];
    switch (op.k) {
      case 0:
        s += op.s;
        break;
      case 1:
      case 2: {
        const i = op.i;
        if (i >= types.length) break;
        const type = types[i];
        if (type === ValueType.String) s += stringXml(ctx.buf, v.offsets[i], v.sizes[i], op.k === 2);
        else if (type === ValueType.AnsiString || type === ValueType.BinXml)
          s += substXml(ctx, v, i, 0, op.k === 2);
        else {
          // Numbers, GUIDs, SIDs, hex, times: nothing to escape.
          const text = scalarText(ctx.buf, type, v.offsets[i], v.sizes[i]);
          if (text === undefined)
            ctx.fail(`value of type 0x${type.toString(16)} has ${v.sizes[i]} bytes`, v.offsets[i]);
          s += text;
        }
        break;
      }
      case 3:
        if (isOmitted(v, op.i)) n = op.to - 1;
        break;
    }
  }
  return s;
}

// Measured: below ~16 characters a JS loop beats the native UTF-16 decoder call.
const SHORT = 16;
/** A UTF-16 string value as escaped XML text (one pass for short strings). */
function stringXml(b: Buffer, p: number, size: number, attr: boolean): string {
  let chars = size >>> 1;
  while (chars > 0 && b[p + 2 * chars - 2] === 0 && b[p + 2 * chars - 1] === 0) chars--;
  if (chars > SHORT) {
    const text = b.toString("utf16le", p, p + 2 * chars);
    return attr ? escapeAttr(text) : escapeText(text);
  }
  let s = "";
  let special = false;
  for (let k = 0; k < chars; k++) {
    const c = b[p + 2 * k] | (b[p + 2 * k + 1] << 8);
    if (c === 38 || c === 60 || c === 62 || c === 34) special = true;
    s += String.fromCharCode(c);
  }
  if (!special) return s;
  return attr ? escapeAttr(s) : escapeText(s);
}

/** XML text of nodes with the instance values v. */
export function renderNodes(ctx: ChunkContext, nodes: Node[], v: Values, depth: number): string {
  if (depth > MAX_DEPTH) ctx.fail("BinXML nested too deep", 0);
  let s = "";
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n];
    switch (node.k) {
      case 0:
      case 3:
        s += node.xml;
        break;
      case 1:
        if (!(node.optional && isOmitted(v, node.index))) s += substXml(ctx, v, node.index, depth, false);
        break;
      case 2:
        s += renderElement(ctx, node, v, depth);
        break;
      case 4:
        s += renderInstance(ctx, node) ?? renderNodes(ctx, node.template.root, node.values, depth + 1);
        break;
    }
  }
  return s;
}

function openTag(ctx: ChunkContext, el: ElementNode, v: Values, depth: number): string {
  let s = "<" + el.name;
  const attrs = el.attrs;
  for (let a = 0; a < attrs.length; a++) {
    const attr = attrs[a];
    if (attr.optionalOnly >= 0 && isOmitted(v, attr.optionalOnly)) continue;
    s += attr.head;
    for (const part of attr.parts) {
      if (part.k === 0) s += part.xml;
      else if (!(part.optional && isOmitted(v, part.index))) s += substXml(ctx, v, part.index, depth, true);
    }
    s += '"';
  }
  return s;
}

function renderElement(ctx: ChunkContext, el: ElementNode, v: Values, depth: number): string {
  if (el.optionalOnly >= 0 && isOmitted(v, el.optionalOnly)) return "";
  const open = openTag(ctx, el, v, depth);
  if (el.selfClosing) return open + "/>";
  const only = el.substOnly;
  if (only >= 0 && only < v.types.length && v.types[only] & ValueType.ArrayFlag) {
    // An array fills one element per item (libyal: "the substitution is repeated for every element").
    const items = arrayItems(ctx.buf, v.types[only], v.offsets[only], v.sizes[only]);
    if (items === undefined) ctx.fail("malformed array value", v.offsets[only]);
    if (items.length === 0) return open + "></" + el.name + ">";
    let s = "";
    for (const item of items) s += open + ">" + escapeText(item) + "</" + el.name + ">";
    return s;
  }
  return open + ">" + renderNodes(ctx, el.children, v, depth + 1) + "</" + el.name + ">";
}

// ---------------------------------------------------------------------------------------------
// Element tree (for the event model)

function appendText(parent: XmlElement, text: string): void {
  if (text === "") return;
  const c = parent.children;
  const last = c.length - 1;
  if (last >= 0 && typeof c[last] === "string") c[last] = (c[last] as string) + text;
  else c.push(text);
}

/** Appends the nodes, evaluated with values v, to parent's children. */
export function buildNodes(
  ctx: ChunkContext,
  nodes: Node[],
  v: Values,
  parent: XmlElement,
  depth: number,
): void {
  if (depth > MAX_DEPTH) ctx.fail("BinXML nested too deep", 0);
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n];
    switch (node.k) {
      case 0:
        appendText(parent, node.text);
        break;
      case 1:
        if (node.optional && isOmitted(v, node.index)) break;
        if (node.index < v.types.length && v.types[node.index] === ValueType.BinXml) {
          const i = node.index;
          buildNodes(ctx, ctx.nested(v.offsets[i], v.sizes[i], depth), v, parent, depth + 1);
        } else {
          appendText(parent, valueText(ctx, v, node.index, depth));
        }
        break;
      case 2:
        buildElement(ctx, node, v, parent, depth);
        break;
      case 3:
        break;
      case 4:
        buildNodes(ctx, node.template.root, node.values, parent, depth + 1);
        break;
    }
  }
}

function buildElement(
  ctx: ChunkContext,
  el: ElementNode,
  v: Values,
  parent: XmlElement,
  depth: number,
): void {
  if (el.optionalOnly >= 0 && isOmitted(v, el.optionalOnly)) return;
  const attributes: [string, string][] = [];
  for (const attr of el.attrs) {
    if (attr.optionalOnly >= 0 && isOmitted(v, attr.optionalOnly)) continue;
    let value = "";
    for (const part of attr.parts) {
      if (part.k === 0) value += part.text;
      else if (!(part.optional && isOmitted(v, part.index))) value += valueText(ctx, v, part.index, depth);
    }
    attributes.push([attr.name, value]);
  }
  const only = el.substOnly;
  if (!el.selfClosing && only >= 0 && only < v.types.length && v.types[only] & ValueType.ArrayFlag) {
    const items = arrayItems(ctx.buf, v.types[only], v.offsets[only], v.sizes[only]);
    if (items === undefined) ctx.fail("malformed array value", v.offsets[only]);
    if (items.length === 0) parent.children.push({ name: el.name, attributes, children: [] });
    for (const item of items)
      parent.children.push({ name: el.name, attributes: attributes.slice(), children: item ? [item] : [] });
    return;
  }
  const child: XmlElement = { name: el.name, attributes, children: [] };
  if (!el.selfClosing) buildNodes(ctx, el.children, v, child, depth + 1);
  parent.children.push(child);
}

// ---------------------------------------------------------------------------------------------
// Push-down and the compiled model path: where each field of a template comes from

/**
 * A field is static text or substitution `index`; `guard` is the optional substitution that
 * leaves the holding element out (-1 if none). Fields that are neither are "unknown": the
 * record then takes the tree walk.
 */
export type FieldSource = ({ text: string } | { index: number; optional: boolean }) & { guard: number };

export interface SystemMap {
  fields: Partial<Record<SystemKey, FieldSource>>;
  /** True when every System field of the template is mapped (the partial fields are final). */
  complete: boolean;
}

export type SystemKey =
  | "providerName"
  | "providerGuid"
  | "eventSourceName"
  | "eventID"
  | "qualifiers"
  | "version"
  | "level"
  | "task"
  | "opcode"
  | "keywords"
  | "systemTime"
  | "eventRecordID"
  | "activityID"
  | "relatedActivityID"
  | "processID"
  | "threadID"
  | "channel"
  | "computer"
  | "userID";

const ELEMENT_FIELDS: Record<string, SystemKey> = {
  EventID: "eventID",
  Version: "version",
  Level: "level",
  Task: "task",
  Opcode: "opcode",
  Keywords: "keywords",
  EventRecordID: "eventRecordID",
  Channel: "channel",
  Computer: "computer",
};
const ATTRIBUTE_FIELDS: Record<string, Record<string, SystemKey>> = {
  Provider: { Name: "providerName", Guid: "providerGuid", EventSourceName: "eventSourceName" },
  EventID: { Qualifiers: "qualifiers" },
  TimeCreated: { SystemTime: "systemTime" },
  Correlation: { ActivityID: "activityID", RelatedActivityID: "relatedActivityID" },
  Execution: { ProcessID: "processID", ThreadID: "threadID" },
  Security: { UserID: "userID" },
};
const SYSTEM_KEYS = [
  ...Object.values(ATTRIBUTE_FIELDS).flatMap((m) => Object.values(m)),
  ...Object.values(ELEMENT_FIELDS),
] as SystemKey[];

function sourceOf(parts: Node[], guard: number): FieldSource | undefined {
  if (parts.length === 0) return { text: "", guard };
  if (parts.length === 1) {
    const p = parts[0];
    if (p.k === 0) return { text: p.text, guard };
    if (p.k === 1) return { index: p.index, optional: p.optional, guard };
  }
  if (parts.every((p) => p.k === 0)) return { text: parts.map((p) => (p as TextNode).text).join(""), guard };
  return undefined;
}

function eventElement(t: Template): ElementNode | undefined {
  const els = t.root.filter((n) => n.k === 2) as ElementNode[];
  return els.length === 1 && els[0].name === "Event" && els[0].optionalOnly < 0 ? els[0] : undefined;
}

export function systemMap(t: Template): SystemMap | null {
  if (t.shape.system !== undefined) return t.shape.system;
  let map: SystemMap | null = null;
  const event = eventElement(t);
  const systems = event?.children.filter((n) => n.k === 2 && n.name === "System") as
    | ElementNode[]
    | undefined;
  if (event && systems?.length === 1 && systems[0].optionalOnly < 0) {
    map = { fields: {}, complete: true };
    for (const child of systems[0].children) {
      if (child.k !== 2) {
        map.complete = false;
        continue;
      }
      const key = ELEMENT_FIELDS[child.name];
      const attrKeys = ATTRIBUTE_FIELDS[child.name];
      if ((!key && !attrKeys) || (key && map.fields[key])) map.complete = false;
      if (key) {
        const src = sourceOf(child.children, child.optionalOnly);
        if (src) map.fields[key] = src;
        else map.complete = false;
      }
      for (const attr of child.attrs) {
        const k = attrKeys?.[attr.name];
        if (!k || map.fields[k]) {
          map.complete = false;
          continue;
        }
        const src = sourceOf(attr.parts, child.optionalOnly);
        if (src) map.fields[k] = src;
        else map.complete = false;
      }
    }
  }
  t.shape.system = map;
  return map;
}

/** Text of a mapped field for instance values v; undefined when the field is left out. */
export function fieldText(ctx: ChunkContext, src: FieldSource, v: Values): string | undefined {
  if (src.guard >= 0 && isOmitted(v, src.guard)) return undefined;
  if ("text" in src) return src.text;
  if (src.optional && isOmitted(v, src.index)) return undefined;
  return valueText(ctx, v, src.index, 0);
}

/** Exact ticks of TimeCreated when it is a FILETIME substitution. */
export function timeTicksOf(ctx: ChunkContext, map: SystemMap, v: Values): bigint | undefined {
  const src = map.fields.systemTime;
  if (!src || "text" in src || (src.guard >= 0 && isOmitted(v, src.guard))) return undefined;
  const i = src.index;
  if (i < v.types.length && v.types[i] === ValueType.FileTime && v.sizes[i] >= 8)
    return fileTimeTicks(ctx.buf, v.offsets[i]);
  return undefined;
}

/**
 * System fields decoded on first access, straight from the substitution values: a push-down
 * predicate that reads EventID only formats EventID. (Fields are prototype getters: spreading
 * the object does not copy them.)
 */
class LazySystem {
  constructor(
    private readonly ctx: ChunkContext,
    private readonly map: SystemMap,
    private readonly v: Values,
  ) {}
  // No cache: predicates read a field or two, and a System value formats in well under a
  // microsecond; a per-record cache would cost more in allocation than it saves.
  get(key: SystemKey): string | undefined {
    const src = this.map.fields[key];
    if (!src) return undefined;
    const i = "text" in src ? -1 : src.index;
    // A BinXML value in a System field: unknown here (the tree walk decides).
    if (i >= 0 && i < this.v.types.length && this.v.types[i] === ValueType.BinXml) return undefined;
    return fieldText(this.ctx, src, this.v);
  }
}
for (const key of SYSTEM_KEYS)
  Object.defineProperty(LazySystem.prototype, key, {
    get(this: LazySystem) {
      return this.get(key);
    },
    enumerable: true,
  });

/** System fields for a push-down predicate (lazy) and the exact FILETIME ticks. */
export function lazySystem(
  ctx: ChunkContext,
  map: SystemMap,
  v: Values,
  withTicks = true,
): { fields: SystemFields; ticks: bigint | undefined } {
  return {
    fields: new LazySystem(ctx, map, v) as unknown as SystemFields,
    ticks: withTicks ? timeTicksOf(ctx, map, v) : undefined,
  };
}

/** Data items of an `<EventData>` of Data/Binary elements whose contents are mapped. */
export type DataPlan = { name: string | undefined; src: FieldSource; binary: boolean }[];

function dataPlanOf(el: ElementNode): DataPlan | null {
  if (el.name !== "EventData" || el.optionalOnly >= 0 || el.attrs.length > 0) return null;
  const data: DataPlan = [];
  for (const d of el.children) {
    if (d.k !== 2 || (d.name !== "Data" && d.name !== "Binary")) return null;
    let name: string | undefined;
    for (const a of d.attrs) {
      if (d.name !== "Data" || a.name !== "Name" || a.parts.length !== 1 || a.parts[0].k !== 0) return null;
      name = a.parts[0].text;
    }
    const src = sourceOf(d.children, d.optionalOnly);
    if (!src) return null;
    data.push({ name, src, binary: d.name === "Binary" });
  }
  return data;
}

/** The data plan of a template that is just `<EventData>` (the BinXML value Windows nests). */
export function nestedDataPlan(t: Template): DataPlan | null {
  if (t.shape.dataPlan !== undefined) return t.shape.dataPlan;
  const els = t.root.filter((n) => n.k === 2) as ElementNode[];
  t.shape.dataPlan = els.length === 1 && t.root.length === 1 ? dataPlanOf(els[0]) : null;
  return t.shape.dataPlan;
}

/** A template whose Event is System plus other parts, compiled for the model. */
export interface ModelPlan {
  map: SystemMap;
  /** The Event's other children in order: an EventData plan, or a node for the tree walk. */
  rest: { data: DataPlan | null; node: Node }[];
}

export function modelPlan(t: Template): ModelPlan | null {
  if (t.shape.plan !== undefined) return t.shape.plan;
  t.shape.plan = null;
  const map = systemMap(t);
  const event = eventElement(t);
  if (!map?.complete || !event) return null;
  const rest: ModelPlan["rest"] = [];
  for (const c of event.children) {
    if (c.k === 2 && c.name === "System") continue;
    rest.push({ data: c.k === 2 ? dataPlanOf(c) : null, node: c });
  }
  t.shape.plan = { map, rest };
  return t.shape.plan;
}

function planData(
  ctx: ChunkContext,
  data: DataPlan,
  v: Values,
  out: { eventData: EventDataItem[]; binary?: string },
): void {
  for (const item of data) {
    const text = fieldText(ctx, item.src, v);
    if (text === undefined) continue;
    if (item.binary) out.binary = text;
    else out.eventData.push({ name: item.name, value: text });
  }
}

export function plainValues(v: Values): boolean {
  const types = v.types;
  for (let i = 0; i < types.length; i++)
    if (types[i] & ValueType.ArrayFlag || types[i] === ValueType.BinXml) return false;
  return true;
}

export interface PlannedEvent {
  system: SystemFields;
  /** The first EventData, when it came through a plan. */
  eventData?: EventDataItem[];
  binary?: string;
  /** Event children that took the tree walk (UserData, RenderingInfo, unusual EventData), in order. */
  rest?: XmlElement;
  ticks?: bigint;
}

/**
 * The event through the template's plan, or undefined when a System value needs the tree walk.
 * Gives exactly what the tree walk + winEventOf give (tests check it on the whole corpus).
 */
export function planEvent(ctx: ChunkContext, plan: ModelPlan, v: Values): PlannedEvent | undefined {
  const fields = plan.map.fields;
  const system = { eventID: "" } as SystemFields;
  for (const key in fields) {
    const src = fields[key as SystemKey]!;
    if (!("text" in src) && src.index < v.types.length) {
      const t = v.types[src.index];
      if (t & ValueType.ArrayFlag || t === ValueType.BinXml) return undefined;
    }
    const text = fieldText(ctx, src, v);
    if (text !== undefined) (system as unknown as Record<string, string>)[key] = text;
  }
  const out: PlannedEvent = { system, ticks: timeTicksOf(ctx, plan.map, v) };
  let holder: XmlElement | undefined;
  const walk = (nodes: Node[], values: Values) => {
    holder ??= { name: "#rest", attributes: [], children: [] };
    buildNodes(ctx, nodes, values, holder, 1);
  };
  for (const part of plan.rest) {
    const node = part.node;
    if (part.data) {
      if (!out.eventData && plainValues(v)) {
        out.eventData = [];
        planData(ctx, part.data, v, out as { eventData: EventDataItem[] });
      } else walk([node], v);
      continue;
    }
    if (node.k === 1 && node.index < v.types.length && v.types[node.index] === ValueType.BinXml) {
      if (node.optional && isOmitted(v, node.index)) continue;
      const nested = ctx.nested(v.offsets[node.index], v.sizes[node.index], 0);
      const inst = nested.length === 1 && nested[0].k === 4 ? nested[0] : undefined;
      const data = inst ? nestedDataPlan(inst.template) : null;
      if (inst && data && !out.eventData && plainValues(inst.values)) {
        out.eventData = [];
        planData(ctx, data, inst.values, out as { eventData: EventDataItem[] });
      } else walk(nested, v);
      continue;
    }
    walk([node], v);
  }
  if (holder) out.rest = holder;
  return out;
}
