/**
 * The only way the report builds its page: elements with whitelisted attributes and text children.
 * Log values are attacker-controlled; they reach the page as text nodes or attribute values set with
 * setAttribute (never parsed as markup), never through innerHTML, and never as href/src/on* attributes.
 */

export type Child = Node | string | number | null | undefined | false;

const SAFE_ATTRIBUTE =
  /^(class|id|role|tabindex|title|type|colspan|scope|for|name|value|placeholder|hidden|open|aria-[a-z-]+|data-[a-z-]+)$/;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (!SAFE_ATTRIBUTE.test(name)) throw new Error(`attribute not allowed: ${name}`);
    node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(
      typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c,
    );
  }
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** A value as one line of text (multivalue fields joined). */
export function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(text).join(" | ");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** A key/value table of fields (every key shown, in the given order). */
export function fieldTable(fields: Record<string, unknown>, caption?: string): HTMLTableElement {
  const table = el("table", { class: "fields" });
  if (caption) append(table, el("caption", {}, caption));
  const body = el("tbody");
  for (const [k, v] of Object.entries(fields)) {
    append(body, el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, text(v))));
  }
  append(table, body);
  return table;
}
