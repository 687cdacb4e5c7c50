/** Test helpers: build Sysmon/Security WinEvents and run SPL over them. */
import { defaultFieldViewOptions, type FieldViewOptions, toSplunkEvent } from "../../src/events/fields.js";
import type { WinEvent } from "../../src/events/model.js";
import { ticksFromIso } from "../../src/events/time.js";
import { compileSearch, type ResultRow, rowToStrings, type SplContext } from "../../src/spl/index.js";

export const SYSMON = "Microsoft-Windows-Sysmon/Operational";

let record = 0;

export function winEvent(opts: {
  eventID: string;
  channel?: string;
  provider?: string;
  time: string;
  computer?: string;
  data?: Record<string, string | string[]>;
}): WinEvent {
  const systemTime = opts.time;
  const eventData: WinEvent["eventData"] = [];
  for (const [name, v] of Object.entries(opts.data ?? {})) {
    for (const value of Array.isArray(v) ? v : [v]) eventData.push({ name, value });
  }
  const channel = opts.channel ?? SYSMON;
  return {
    system: {
      providerName:
        opts.provider ??
        (channel === SYSMON ? "Microsoft-Windows-Sysmon" : "Microsoft-Windows-Security-Auditing"),
      eventID: opts.eventID,
      systemTime,
      eventRecordID: String(++record),
      channel,
      computer: opts.computer ?? "ws01.corp.local",
    },
    eventData,
    timeTicks: ticksFromIso(systemTime),
    provenance: { file: "test.evtx", format: "evtx" },
  };
}

export function sysmon1(time: string, data: Record<string, string>, computer?: string): WinEvent {
  return winEvent({ eventID: "1", time, data, computer });
}

export const view: FieldViewOptions = { ...defaultFieldViewOptions };

export async function* events(list: WinEvent[], opts: FieldViewOptions = view) {
  for (const ev of list) yield toSplunkEvent(ev, opts);
}

export async function run(
  spl: string,
  list: WinEvent[],
  ctx: Partial<SplContext> = {},
): Promise<ResultRow[]> {
  const c = compileSearch(spl, { fieldView: view, now: Date.parse("2020-10-09T00:00:00Z") / 1000, ...ctx });
  const out: ResultRow[] = [];
  for await (const r of c.run(events(list, ctx.fieldView ?? view))) out.push(r);
  return out;
}

/** Results as string records over the given columns (or each row's columns). */
export async function runStrings(
  spl: string,
  list: WinEvent[],
  columns?: string[],
  ctx: Partial<SplContext> = {},
) {
  const rows = await run(spl, list, ctx);
  return rows.map((r) => rowToStrings(r, columns ?? r.columns ?? [...r.fields.keys()], "export", "UTC"));
}

/** A single field of every result. */
export async function column(spl: string, list: WinEvent[], field: string, ctx: Partial<SplContext> = {}) {
  const rows = await run(spl, list, ctx);
  return rows.map((r) => (r.fields.has(field) ? rowToStrings(r, [field], "export", "UTC")[field] : null));
}
