/**
 * A sortable, filterable, paged table: only one page of rows is in the document at a time, so 100,000
 * rows stay fast. Keyboard: headers are buttons (Enter/Space sorts), rows are focusable (Enter opens,
 * ArrowUp/ArrowDown move), the pager has buttons.
 */
import { append, clear, el } from "./dom.js";

export interface Column<T> {
  key: string;
  label: string;
  text: (row: T) => string;
  /** Sort key; default the text. */
  sortKey?: (row: T) => string | number;
  cls?: string;
}

export interface TableOptions<T> {
  id: string;
  label: string;
  columns: Column<T>[];
  rows: T[];
  pageSize?: number;
  onOpen?: (row: T) => void;
  /** Sort applied at first. */
  sort?: { key: string; descending?: boolean };
}

export class DataTable<T> {
  readonly element: HTMLElement;
  private readonly status: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly body: HTMLTableSectionElement;
  private readonly pager: HTMLElement;
  private readonly pageSize: number;
  private columns: Column<T>[];
  private rows: T[];
  private view: T[];
  private filter: ((row: T) => boolean) | undefined;
  private sortKey: string | undefined;
  private descending = false;
  private page = 0;

  constructor(private readonly opts: TableOptions<T>) {
    this.pageSize = opts.pageSize ?? 50;
    this.columns = opts.columns;
    this.rows = opts.rows;
    this.view = opts.rows;
    this.status = el("p", { class: "table-status", "aria-live": "polite", "data-role": "status" });
    this.body = el("tbody");
    this.table = el("table", { class: "data", id: opts.id, "aria-label": opts.label });
    this.pager = el("nav", { class: "pager", "aria-label": `${opts.label}: pages` });
    this.element = el(
      "div",
      { class: "table-block" },
      this.status,
      el("div", { class: "scroll" }, this.table),
      this.pager,
    );
    if (opts.sort) {
      this.sortKey = opts.sort.key;
      this.descending = opts.sort.descending === true;
    }
    this.refresh();
  }

  setColumns(columns: Column<T>[]): void {
    this.columns = columns;
    this.refresh();
  }

  setRows(rows: T[]): void {
    this.rows = rows;
    this.refresh();
  }

  setFilter(filter: ((row: T) => boolean) | undefined): void {
    this.filter = filter;
    this.page = 0;
    this.refresh();
  }

  sortBy(key: string, descending?: boolean): void {
    if (descending === undefined) descending = this.sortKey === key ? !this.descending : false;
    this.sortKey = key;
    this.descending = descending;
    this.page = 0;
    this.refresh();
  }

  /** The rows that pass the filter, in the shown order. */
  visibleRows(): T[] {
    return this.view;
  }

  private refresh(): void {
    let view = this.filter ? this.rows.filter(this.filter) : this.rows.slice();
    const col = this.columns.find((c) => c.key === this.sortKey);
    if (col) {
      const keyOf = col.sortKey ?? col.text;
      const keyed = view.map((row, i) => ({ row, i, k: keyOf(row) }));
      const dir = this.descending ? -1 : 1;
      keyed.sort((a, b) => {
        const x = a.k;
        const y = b.k;
        if (typeof x === "number" && typeof y === "number") {
          const nx = Number.isNaN(x);
          const ny = Number.isNaN(y);
          if (nx || ny) return nx === ny ? a.i - b.i : nx ? 1 : -1;
          return x !== y ? (x - y) * dir : a.i - b.i;
        }
        const sx = String(x);
        const sy = String(y);
        return sx < sy ? -dir : sx > sy ? dir : a.i - b.i;
      });
      view = keyed.map((k) => k.row);
    }
    this.view = view;
    const pages = Math.max(1, Math.ceil(view.length / this.pageSize));
    if (this.page >= pages) this.page = pages - 1;
    this.render(pages);
  }

  private render(pages: number): void {
    clear(this.table);
    const head = el("thead");
    const tr = el("tr");
    for (const c of this.columns) {
      const sorted = c.key === this.sortKey;
      const th = el("th", {
        scope: "col",
        class: c.cls,
        "aria-sort": sorted ? (this.descending ? "descending" : "ascending") : "none",
        "data-key": c.key,
      });
      const button = el(
        "button",
        { type: "button", class: "sort", "data-sort": c.key },
        c.label,
        sorted ? (this.descending ? " ▼" : " ▲") : "",
      );
      button.addEventListener("click", () => this.sortBy(c.key));
      append(th, button);
      append(tr, th);
    }
    append(head, tr);
    clear(this.body);
    const start = this.page * this.pageSize;
    const slice = this.view.slice(start, start + this.pageSize);
    for (const row of slice) {
      const rowEl = el("tr", {
        tabindex: this.opts.onOpen ? 0 : undefined,
        class: this.opts.onOpen ? "open" : undefined,
      });
      for (const c of this.columns) append(rowEl, el("td", { class: c.cls }, c.text(row)));
      if (this.opts.onOpen) {
        const open = this.opts.onOpen;
        rowEl.addEventListener("click", () => open(row));
        rowEl.addEventListener("keydown", (e) => {
          if (e.key === "Enter") open(row);
          else if (e.key === "ArrowDown") (rowEl.nextElementSibling as HTMLElement | null)?.focus();
          else if (e.key === "ArrowUp") (rowEl.previousElementSibling as HTMLElement | null)?.focus();
          else return;
          e.preventDefault();
        });
      }
      append(this.body, rowEl);
    }
    append(this.table, head, this.body);
    const total = this.rows.length;
    const shown = this.view.length;
    this.status.textContent =
      shown === 0
        ? `No rows${total ? ` (of ${total.toLocaleString("en")})` : ""}`
        : `${(start + 1).toLocaleString("en")}–${(start + slice.length).toLocaleString("en")} of ${shown.toLocaleString("en")}` +
          (shown !== total ? ` (filtered from ${total.toLocaleString("en")})` : "");
    this.status.setAttribute("data-count", String(shown));
    clear(this.pager);
    if (pages > 1) {
      const go = (p: number) => {
        this.page = Math.min(pages - 1, Math.max(0, p));
        this.render(pages);
      };
      const button = (label: string, target: number, disabled: boolean, name: string) => {
        const b = el("button", { type: "button", "data-page": name }, label);
        b.disabled = disabled;
        b.addEventListener("click", () => go(target));
        return b;
      };
      append(
        this.pager,
        button("« First", 0, this.page === 0, "first"),
        button("‹ Previous", this.page - 1, this.page === 0, "previous"),
        el("span", { class: "page-of" }, `page ${this.page + 1} of ${pages}`),
        button("Next ›", this.page + 1, this.page === pages - 1, "next"),
        button("Last »", pages - 1, this.page === pages - 1, "last"),
      );
    }
  }
}

/** Lowercased text of a record for the free-text filter, computed once per record. */
export function haystackCache<T extends object>(build: (row: T) => string): (row: T) => string {
  const cache = new WeakMap<T, string>();
  return (row) => {
    let h = cache.get(row);
    if (h === undefined) cache.set(row, (h = build(row).toLowerCase()));
    return h;
  };
}
