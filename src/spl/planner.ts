/**
 * The planner: predicate push-down into the readers, and where search order must be restored.
 *
 * Push-down: the leading search's top-level conjuncts on index, sourcetype, source, host, EventCode
 * (EventID), Channel, Computer, earliest/latest and EventData fields (read through the reader's
 * EventDataLookup, decision D-pushdown-eventdata), and OR-groups made only of those, become a
 * SystemPredicate that readers run before building the event. It is exact for the
 * records it rejects: it uses the same matcher as the search and the same field view
 * (`metadataFor`), and answers true whenever a System field it needs is unknown (undefined)
 * (decision D-pushdown-unknown).
 */
import { type FieldViewOptions, hostFor, metadataFor, NON_DATA_FIELDS } from "../events/fields.js";
import {
  type EventDataLookup,
  type SystemFields,
  type SystemPredicate,
  withoutTicks,
} from "../events/model.js";
import { EPOCH_DIFF_TICKS } from "../events/time.js";
import type { Command, Pipeline, SearchExpr } from "./ast.js";
import { aggregationsOrderDependent } from "./commands/stats.js";
import { datasetPushdown, resolveDataset } from "./datamodels/cim.js";
import type { SourceText } from "./errors.js";
import { valueMatcher } from "./search-expr.js";
import { resolveTimeSpec } from "./time.js";

type Piece = (system: Readonly<SystemFields>, ticks: bigint | undefined, data?: EventDataLookup) => boolean;

/**
 * Reads a pushable field from System fields (or, for EventData fields, from the reader's lookup):
 * undefined = unknown (keep), null = absent (no field).
 */
type SystemGetter = (system: Readonly<SystemFields>, data?: EventDataLookup) => string | null | undefined;

function escapeText(v: string): string {
  return v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function getterFor(field: string, view: FieldViewOptions): SystemGetter | undefined {
  const text = view.decodeEntities ? (v: string) => v : escapeText;
  const plain = (pick: (s: Readonly<SystemFields>) => string | undefined): SystemGetter => {
    return (s) => {
      const v = pick(s);
      if (v === undefined) return undefined;
      return v === "" ? null : text(v);
    };
  };
  switch (field) {
    case "index":
      return () => view.index;
    case "sourcetype":
      // metadataFor's sourcetype, without reading the other metadata (this runs on every record).
      if (view.sourcetypeStyle === "modern") return () => "XmlWinEventLog";
      // The same Channel (a reader may hand out the same string) gives the same sourcetype string.
      {
        let lastChannel: string | undefined;
        let lastSourcetype = "";
        return (s) => {
          const channel = s.channel;
          if (channel === undefined) return undefined;
          if (channel !== lastChannel) {
            lastChannel = channel;
            lastSourcetype = `XmlWinEventLog:${channel}`;
          }
          return lastSourcetype;
        };
      }
    case "source":
      return (s) => (s.channel === undefined ? undefined : metadataFor(s, view).source);
    case "host":
      return (s) =>
        "name" in view.host
          ? view.host.name
          : s.computer === undefined
            ? undefined
            : hostFor(s.computer, view.host);
    case "EventCode":
    case "EventID":
      return plain((s) => (s.eventID === "" ? undefined : s.eventID));
    case "Channel":
      return plain((s) => s.channel);
    case "Computer":
      return plain((s) => s.computer);
  }
  // Any other field can only come from the record's body (EventData, UserData, RenderingInfo):
  // the reader's EventData lookup answers when it can tell (decision D-pushdown-eventdata).
  if (NON_DATA_FIELDS.has(field) || field.startsWith("_") || field.includes("*")) return undefined;
  return (_s, data) => {
    if (data === undefined) return undefined;
    const v = data(field);
    return typeof v === "string" ? text(v) : v;
  };
}

function pieceFor(expr: SearchExpr, view: FieldViewOptions, now: number, src: SourceText): Piece | undefined {
  switch (expr.kind) {
    case "group":
      return pieceFor(expr.expr, view, now, src);
    case "and": {
      const parts = expr.items
        .map((e) => pieceFor(e, view, now, src))
        .filter((p): p is Piece => p !== undefined);
      if (parts.length === 0) return undefined;
      return (s, t, d) => {
        for (const p of parts) if (!p(s, t, d)) return false;
        return true;
      };
    }
    case "or": {
      // An OR can be pushed only when every branch can (else a branch could keep the record).
      const parts = expr.items.map((e) => pieceFor(e, view, now, src));
      if (parts.some((p) => p === undefined)) return undefined;
      const ps = parts as Piece[];
      return (s, t, d) => {
        for (const p of ps) if (p(s, t, d)) return true;
        return false;
      };
    }
    case "compare": {
      if (expr.op !== "=" && expr.op !== "!=") return undefined;
      const get = getterFor(expr.field, view);
      if (!get) return undefined;
      const m = valueMatcher(expr);
      if (expr.op === "=") {
        return (s, _t, d) => {
          const v = get(s, d);
          return v === undefined ? true : v === null ? false : m(v);
        };
      }
      return (s, _t, d) => {
        const v = get(s, d);
        return v === undefined ? true : v === null ? false : !m(v);
      };
    }
    case "in": {
      const get = getterFor(expr.field, view);
      if (!get) return undefined;
      const ms = expr.values.map(valueMatcher);
      return (s, _t, d) => {
        const v = get(s, d);
        return v === undefined ? true : v === null ? false : ms.some((m) => m(v));
      };
    }
    case "time": {
      const t = resolveTimeSpec(expr.value, now, view.tz);
      if (t === undefined) throw src.error(expr.pos, `bad time specifier '${expr.value}'`);
      // Compare in ticks with a 1 ms margin (t * 1e7 is past 2^53, so it is not exact): records near
      // the bound are kept and the search decides exactly.
      const bound = BigInt(Math.floor(t * 1e7)) + EPOCH_DIFF_TICKS;
      const margin = 10000n;
      if (expr.modifier === "earliest") return (_s, ticks) => ticks === undefined || ticks >= bound - margin;
      return (_s, ticks) => ticks === undefined || ticks < bound + margin;
    }
    default:
      return undefined;
  }
}

/** Does the expression hold earliest/latest (the only pieces that read the ticks)? */
function hasTime(expr: SearchExpr): boolean {
  switch (expr.kind) {
    case "time":
      return true;
    case "group":
    case "not":
      return hasTime(expr.expr);
    case "and":
    case "or":
      return expr.items.some(hasTime);
    default:
      return false;
  }
}

/** The push-down predicate of a pipeline, or undefined when nothing can be pushed. */
export function pushdownFor(
  p: Pipeline,
  view: FieldViewOptions,
  now: number,
  src: SourceText,
): SystemPredicate | undefined {
  const first = p.commands[0];
  if (first?.name === "tstats" || first?.name === "datamodel" || first?.name === "from") {
    // One dataset's channels and event IDs (push-down by data model).
    const ref = first.datamodel === undefined ? undefined : resolveDataset(first.datamodel);
    return ref ? datasetPushdown(ref) : undefined;
  }
  if (first?.name !== "search" || first.expr === undefined) return undefined;
  const piece = pieceFor(first.expr, view, now, src);
  return piece && !hasTime(first.expr) ? withoutTicks(piece) : piece;
}

/** Commands whose answer depends on seeing results in search order (newest first). */
export function needsSearchOrder(cmd: Command): boolean {
  switch (cmd.name) {
    case "head":
    case "tail":
    case "dedup":
    case "streamstats":
    case "top":
    case "rare":
      return true;
    case "stats":
    case "eventstats":
      return aggregationsOrderDependent(cmd.aggregations);
    default:
      return false;
  }
}

/** Commands after which the order of results is defined by the command itself. */
export function definesOrder(cmd: Command): boolean {
  return (
    ["sort", "stats", "top", "rare", "transaction", "tail", "inputlookup", "timechart"].includes(cmd.name) ||
    (cmd.name === "tstats" && !/^(t|true|1)$/i.test(cmd.options.prestats ?? ""))
  );
}

/** Commands whose results are not events. */
export function isTransforming(cmd: Command): boolean {
  return (
    ["stats", "top", "rare", "inputlookup", "timechart", "format", "return"].includes(cmd.name) ||
    (cmd.name === "tstats" && !/^(t|true|1)$/i.test(cmd.options.prestats ?? ""))
  );
}
