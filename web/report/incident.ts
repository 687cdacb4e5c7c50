/**
 * One incident: the alert's fields (all of them, whatever the rule adds), why it fired (the --explain
 * lines and each event's steps), the timeline of its evidence events (each expandable to every field and
 * its provenance), the process tree, the network connections and the logons among its events, and the
 * seed rule's rows on the same host around the same time.
 */
import { type Alert, basename, type Evidence, first, KNOWN_ALERT_FIELDS, ms, type Row, str } from "./data.js";
import { append, el, fieldTable, text } from "./dom.js";
import { buildProcessTree, type ProcessNode } from "./proctree.js";

const NETWORK_CODES = new Set(["3", "5156", "5157", "5158"]);
const LOGON_CODES = new Set(["4624", "4625", "4648", "4672", "4634", "4647"]);

function section(title: string, id: string, ...children: (Node | string | null)[]): HTMLElement {
  const h = el("h3", { id: `${id}-title` }, title);
  return el("section", { class: "panel", id, "aria-labelledby": `${id}-title` }, h, ...children);
}

function alertFields(a: Alert): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const order = [
    "variant",
    "severity",
    "confidence",
    "target_host",
    "source_ip",
    "source_host",
    "account",
    "loopback",
    "first_time",
    "last_time",
  ];
  for (const k of order) if (k in a) out[k] = a[k];
  for (const [k, v] of Object.entries(a)) if (!KNOWN_ALERT_FIELDS.has(k)) out[k] = v;
  out.rule = a._rule;
  out.rule_id = a._rule_id;
  out.evidence_events = a.evidence.length;
  return out;
}

function provenance(e: Evidence): Record<string, unknown> {
  return {
    _file: e._file,
    _record_id: e._record_id,
    _offset: e._offset ?? "",
    _channel: e._channel,
    _computer: e._computer,
    _time: e._time,
    EventCode: e.EventCode,
    steps: (e.steps ?? []).join(", "),
  };
}

function eventDetails(e: Evidence, index: number): HTMLElement {
  const steps = e.steps ?? [];
  const summary = el(
    "summary",
    {},
    el("span", { class: "time" }, str(e._time)),
    " ",
    el("span", { class: "code" }, `EventCode ${str(e.EventCode)}`),
    " ",
    ...steps.map((s) => el("span", { class: "badge step" }, s)),
    " ",
    el("span", { class: "summary-text" }, str(e.summary)),
  );
  const body = el(
    "div",
    { class: "event-body" },
    fieldTable(provenance(e), "Provenance"),
    e.fields
      ? fieldTable(e.fields, "All fields")
      : el("p", { class: "note" }, "The result does not hold this event's fields (scan with --report-data)."),
  );
  return el(
    "details",
    { class: "event", "data-index": index, "data-record": str(e._record_id) },
    summary,
    body,
  );
}

function processItem(n: ProcessNode): HTMLLIElement {
  const name = basename(n.image) || "(unknown image)";
  const li = el(
    "li",
    { class: n.evidence ? "proc evidence" : "proc", "data-image": name.toLowerCase(), "data-pid": n.pid },
    el("span", { class: "proc-name" }, name),
    n.pid ? el("span", { class: "muted" }, ` pid ${n.pid}`) : null,
    n.user ? el("span", { class: "muted" }, ` as ${n.user}`) : null,
    n.time ? el("span", { class: "muted" }, ` at ${n.time}`) : null,
    n.commandLine ? el("div", { class: "cmdline" }, n.commandLine) : null,
    n.image && n.image !== name ? el("div", { class: "muted path" }, n.image) : null,
  );
  if (n.children.length > 0) append(li, el("ul", {}, ...n.children.map(processItem)));
  return li;
}

function networkTable(events: Evidence[]): HTMLElement {
  if (events.length === 0)
    return el("p", { class: "note" }, "No network connection among the evidence events.");
  const table = el("table", { class: "data compact" });
  append(
    table,
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["time", "EventCode", "process", "from", "to", "protocol", "direction"].map((h) =>
          el("th", { scope: "col" }, h),
        ),
      ),
    ),
  );
  const body = el("tbody");
  for (const e of events) {
    const f = e.fields ?? {};
    const src = `${first(f, "SourceIp", "SourceAddress", "src_ip")}:${first(f, "SourcePort", "src_port")}`;
    const dst = `${first(f, "DestinationIp", "DestAddress", "dest_ip")}:${first(f, "DestinationPort", "DestPort", "dest_port")}`;
    const direction =
      first(f, "Initiated") === "true"
        ? "outbound (initiated)"
        : first(f, "Initiated") === "false"
          ? "inbound"
          : first(f, "Direction");
    append(
      body,
      el(
        "tr",
        {},
        el("td", {}, str(e._time)),
        el("td", {}, str(e.EventCode)),
        el("td", {}, basename(first(f, "Image", "Application", "process_path"))),
        el("td", {}, src === ":" ? str(e.summary) : src),
        el("td", {}, dst === ":" ? "" : dst),
        el("td", {}, first(f, "Protocol", "transport")),
        el("td", {}, direction),
      ),
    );
  }
  append(table, body);
  return el("div", { class: "scroll" }, table);
}

function logonTable(events: Evidence[]): HTMLElement {
  if (events.length === 0) return el("p", { class: "note" }, "No logon event among the evidence events.");
  const table = el("table", { class: "data compact" });
  append(
    table,
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...[
          "time",
          "EventCode",
          "account",
          "logon type",
          "from address",
          "workstation",
          "logon id",
          "package",
        ].map((h) => el("th", { scope: "col" }, h)),
      ),
    ),
  );
  const body = el("tbody");
  for (const e of events) {
    const f = e.fields ?? {};
    const account = [first(f, "TargetDomainName"), first(f, "TargetUserName", "SubjectUserName")]
      .filter(Boolean)
      .join("\\");
    append(
      body,
      el(
        "tr",
        {},
        el("td", {}, str(e._time)),
        el("td", {}, str(e.EventCode)),
        el("td", {}, account),
        el("td", {}, first(f, "LogonType")),
        el("td", {}, first(f, "IpAddress", "src_ip")),
        el("td", {}, first(f, "WorkstationName")),
        el("td", {}, first(f, "TargetLogonId", "SubjectLogonId")),
        el("td", {}, first(f, "AuthenticationPackageName")),
      ),
    );
  }
  append(table, body);
  return el("div", { class: "scroll" }, table);
}

function shortHost(h: string): string {
  return h.toLowerCase().split(".")[0];
}

/** Seed-rule (search) rows on the alert's target host within 10 minutes of it. */
function nearbyRows(a: Alert, rows: Row[]): Row[] {
  const host = shortHost(str(a.target_host));
  if (!host) return [];
  const from = ms(a.first_time) - 600_000;
  const to = ms(a.last_time) + 600_000;
  return rows.filter((r) => {
    const h = shortHost(str(r.host) || str(r._computer) || str(r.Computer) || str(r.dest));
    const t = ms(r._time);
    return h === host && (Number.isNaN(t) || (t >= from && t <= to));
  });
}

export function renderIncident(a: Alert, index: number, rows: Row[]): HTMLElement {
  const events = [...a.evidence].sort((x, y) => str(x._time).localeCompare(str(y._time)));
  const roots = buildProcessTree(events);
  const network = events.filter((e) => NETWORK_CODES.has(str(e.EventCode)));
  const logons = events.filter((e) => LOGON_CODES.has(str(e.EventCode)));
  const seed = nearbyRows(a, rows);
  const title = `${str(a.variant)}: ${str(a.target_host) || "?"} ← ${str(a.source_ip) || str(a.source_host) || "?"}`;
  const explain = a.explain ?? [];
  return el(
    "article",
    { class: "incident", id: "incident", "data-alert": index, "aria-labelledby": "incident-title" },
    el(
      "header",
      { class: "incident-head" },
      el("h2", { id: "incident-title", tabindex: -1 }, title),
      el(
        "p",
        {},
        el("span", { class: `badge sev-${str(a.severity).toLowerCase()}` }, str(a.severity)),
        " ",
        el("span", { class: "badge" }, `confidence ${str(a.confidence)}`),
        " ",
        str(a._rule),
      ),
    ),
    section("Alert fields", "incident-fields", fieldTable(alertFields(a))),
    section(
      "Timeline of evidence events",
      "incident-timeline",
      el("p", { class: "note" }, "Each event opens to its provenance and every field."),
      el("div", { class: "timeline" }, ...events.map((e, i) => eventDetails(e, i))),
    ),
    section(
      "Process tree",
      "incident-process-tree",
      roots.length === 0
        ? el(
            "p",
            { class: "note" },
            "No process creation (Sysmon 1 / Security 4688) among the evidence events.",
          )
        : el("ul", { class: "proctree" }, ...roots.map(processItem)),
    ),
    section("Network connections", "incident-network", networkTable(network)),
    section("Logons", "incident-logons", logonTable(logons)),
    section(
      "Why it fired (step mapping)",
      "incident-explain",
      el(
        "ol",
        { class: "steps" },
        ...events.map((e) =>
          el(
            "li",
            {},
            el("strong", {}, (e.steps ?? []).join(" + ") || "(no step recorded)"),
            ` → ${basename(str(e._file))}#${str(e._record_id)} EventCode ${str(e.EventCode)} at ${str(e._time)}`,
          ),
        ),
      ),
      explain.length > 0
        ? el("ul", { class: "explain" }, ...explain.map((x) => el("li", {}, x)))
        : el("p", { class: "note" }, "No explanation in this result (scan with --explain or --report-data)."),
    ),
    section(
      "Seed rule rows on this host (±10 min)",
      "incident-seed",
      seed.length === 0
        ? el("p", { class: "note" }, "None.")
        : el(
            "ul",
            { class: "seed-rows" },
            ...seed
              .slice(0, 50)
              .map((r) =>
                el(
                  "li",
                  {},
                  `${str(r._time)} ${str(r._rule)}: ${text(r.ParentImage)} → ${text(r.Image)} ${text(r.CommandLine)}`,
                ),
              ),
          ),
    ),
  );
}
