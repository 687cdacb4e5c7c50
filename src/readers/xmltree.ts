/**
 * A small, strict-enough XML element parser for one event's text (a few KB): elements,
 * attributes in either quote style, the five predefined entities and character references,
 * CDATA, comments and processing instructions. It builds the generic `XmlElement` tree of the
 * event model. Names are kept as written (with any namespace prefix); `localName` strips it.
 *
 * Why hand-written rather than saxes: events are small and already cut out of the stream by the
 * boundary scanner in xml.ts, so a tight recursive descent over a string is several times faster
 * than an event-callback SAX parser, and every error carries the character position.
 */

import type { XmlElement } from "../events/model.js";

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
    this.name = "XmlSyntaxError";
  }
}

const ENTITY_RE = /&(#[xX][0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g;

/** Decode the predefined entities and character references; unknown entities stay as written. */
export function decodeEntities(text: string): string {
  if (text.indexOf("&") < 0) return text;
  return text.replace(ENTITY_RE, (whole, ref: string) => {
    switch (ref) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const code =
      ref[1] === "x" || ref[1] === "X"
        ? Number.parseInt(ref.slice(2), 16)
        : Number.parseInt(ref.slice(1), 10);
    if (!Number.isFinite(code) || code > 0x10ffff) return whole;
    return String.fromCodePoint(code);
  });
}

/** Name without its namespace prefix ("e:Event" -> "Event"). */
export function localName(name: string): string {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
}

function isNameEnd(c: number): boolean {
  // whitespace, '/', '>', '='
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62 || c === 61;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Parse the single element that starts at `start` (a "<") in `text`. Returns the element and the
 * index just past its end tag. Throws XmlSyntaxError on malformed input.
 */
export function parseElement(text: string, start = 0): { element: XmlElement; end: number } {
  const len = text.length;
  let i = start;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (msg: string): never => {
    throw new XmlSyntaxError(msg, i);
  };

  while (i < len) {
    const c = text.charCodeAt(i);
    if (c !== 60 /* < */) {
      // text node
      let j = text.indexOf("<", i);
      if (j < 0) j = len;
      if (stack.length === 0) fail("text outside the element");
      const raw = text.slice(i, j);
      stack[stack.length - 1].children.push(decodeEntities(raw));
      i = j;
      continue;
    }
    const c1 = text.charCodeAt(i + 1);
    if (c1 === 47 /* / */) {
      // end tag
      const gt = text.indexOf(">", i + 2);
      if (gt < 0) fail("unterminated end tag");
      const name = text.slice(i + 2, gt).trimEnd();
      const open = stack.pop();
      if (open === undefined) fail(`unexpected end tag </${name}>`);
      if (open!.name !== name) fail(`end tag </${name}> does not match <${open!.name}>`);
      i = gt + 1;
      if (stack.length === 0) return { element: root!, end: i };
      continue;
    }
    if (c1 === 33 /* ! */) {
      if (text.startsWith("<![CDATA[", i)) {
        const e = text.indexOf("]]>", i + 9);
        if (e < 0) fail("unterminated CDATA section");
        if (stack.length === 0) fail("CDATA outside the element");
        stack[stack.length - 1].children.push(text.slice(i + 9, e));
        i = e + 3;
        continue;
      }
      if (text.startsWith("<!--", i)) {
        const e = text.indexOf("-->", i + 4);
        if (e < 0) fail("unterminated comment");
        i = e + 3;
        continue;
      }
      const e = text.indexOf(">", i + 2);
      if (e < 0) fail("unterminated declaration");
      i = e + 1;
      continue;
    }
    if (c1 === 63 /* ? */) {
      const e = text.indexOf("?>", i + 2);
      if (e < 0) fail("unterminated processing instruction");
      i = e + 2;
      continue;
    }
    // start tag
    let j = i + 1;
    while (j < len && !isNameEnd(text.charCodeAt(j))) j++;
    if (j === i + 1) fail("element without a name");
    const element: XmlElement = { name: text.slice(i + 1, j), attributes: [], children: [] };
    i = j;
    let selfClosing = false;
    while (true) {
      while (i < len && isSpace(text.charCodeAt(i))) i++;
      if (i >= len) fail("unterminated start tag");
      const a = text.charCodeAt(i);
      if (a === 62 /* > */) {
        i++;
        break;
      }
      if (a === 47 /* / */) {
        if (text.charCodeAt(i + 1) !== 62) fail("expected '>' after '/'");
        i += 2;
        selfClosing = true;
        break;
      }
      let k = i;
      while (k < len && !isNameEnd(text.charCodeAt(k))) k++;
      if (k === i) fail("bad attribute");
      const attrName = text.slice(i, k);
      i = k;
      while (i < len && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 61 /* = */) fail(`attribute ${attrName} without a value`);
      i++;
      while (i < len && isSpace(text.charCodeAt(i))) i++;
      const q = text.charCodeAt(i);
      if (q !== 34 && q !== 39) fail(`attribute ${attrName} value not quoted`);
      const e = text.indexOf(q === 34 ? '"' : "'", i + 1);
      if (e < 0) fail("unterminated attribute value");
      element.attributes.push([attrName, decodeEntities(text.slice(i + 1, e))]);
      i = e + 1;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else root = element;
    if (selfClosing) {
      if (stack.length === 0) return { element, end: i };
    } else {
      stack.push(element);
    }
  }
  if (root === undefined) throw new XmlSyntaxError("no element", start);
  throw new XmlSyntaxError(`unclosed element <${stack[stack.length - 1]?.name ?? root.name}>`, len);
}

/** Text content of an element (its text children, concatenated; child elements' text included). */
export function textContent(el: XmlElement): string {
  if (el.children.length === 1 && typeof el.children[0] === "string") return el.children[0];
  let out = "";
  for (const child of el.children) out += typeof child === "string" ? child : textContent(child);
  return out;
}

export function attribute(el: XmlElement, name: string): string | undefined {
  for (const [k, v] of el.attributes) if (k === name) return v;
  return undefined;
}
