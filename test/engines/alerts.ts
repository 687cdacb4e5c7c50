/**
 * Alerts of `scan --rules dcom` over the files against the same scan in an engine: every difference,
 * alert by alert (paired through shared evidence), as one line each, to compare with the pinned list.
 */
import assert from "node:assert/strict";

type Row = Record<string, unknown>;
interface Ev {
  _computer: string;
  _channel: string;
  _record_id: string;
  side?: string;
  summary: string;
  [k: string]: unknown;
}

const idOf = (e: Ev) => `${e._computer}/${e._channel}#${e._record_id}`;
const evidenceOf = (a: Row) => a.evidence as Ev[];
/** The steps an evidence item counted for (its summary's `[a+b]`), as a set: the engine lists them in join order. */
const stepsOf = (e: Ev) => (/^\[([^\]]*)\]/.exec(e.summary)?.[1] ?? "").split("+").sort().join("+");
const summaryText = (e: Ev) => e.summary.replace(/^\[[^\]]*\] /, "");

/**
 * The differences between the file scan's alerts and the engine's: `rule: first evidence record: what`.
 * An alert of one side without a counterpart sharing evidence on the other is reported too.
 */
export function alertDifferences(files: Row[], engine: Row[]): string[] {
  const out: string[] = [];
  const used = new Set<number>();
  for (const a of files) {
    const ids = evidenceOf(a).map(idOf);
    const first = [...ids].sort()[0];
    const where = `${a._rule}: ${first}`;
    const j = engine.findIndex((b, i) => !used.has(i) && evidenceOf(b).some((e) => ids.includes(idOf(e))));
    if (j < 0) {
      out.push(`${where}: only in the file scan`);
      continue;
    }
    used.add(j);
    const b = engine[j];
    for (const k of Object.keys({ ...a, ...b })) {
      if (k === "evidence") continue;
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
        out.push(`${where}: ${k}: ${String(a[k])} -> ${String(b[k])}`);
    }
    const bIds = evidenceOf(b).map(idOf);
    for (const x of ids.filter((x) => !bIds.includes(x))) out.push(`${where}: evidence lost: ${x}`);
    for (const x of bIds.filter((x) => !ids.includes(x))) out.push(`${where}: evidence added: ${x}`);
    for (const e of evidenceOf(a)) {
      const f = evidenceOf(b).find((x) => idOf(x) === idOf(e));
      if (!f) continue;
      for (const k of Object.keys({ ...e, ...f })) {
        if (k === "summary") continue;
        if (JSON.stringify(e[k]) !== JSON.stringify(f[k]))
          out.push(`${where}: ${idOf(e)}: ${k}: ${String(e[k])} -> ${String(f[k])}`);
      }
      if (stepsOf(e) !== stepsOf(f)) out.push(`${where}: ${idOf(e)}: steps: ${stepsOf(e)} -> ${stepsOf(f)}`);
      if (summaryText(e) !== summaryText(f))
        out.push(`${where}: ${idOf(e)}: summary: ${summaryText(e)} -> ${summaryText(f)}`);
    }
  }
  engine.forEach((b, i) => {
    if (!used.has(i)) out.push(`${b._rule}: ${evidenceOf(b).map(idOf).sort()[0]}: only in the engine`);
  });
  return out.sort();
}

/**
 * The engine's alerts = the file scan's but for the pinned differences (each must still occur: a fixed
 * difference fails too, so the list stays true). `subset`: inputs restricted (a time window), where a
 * pinned difference may not occur.
 */
export function assertSameAlerts(
  files: Row[],
  engine: Row[],
  pinned: string[],
  what: string,
  subset = false,
) {
  assert.ok(files.length > 0, `${what}: the file scan alerts (else the test proves little)`);
  const diff = alertDifferences(files, engine);
  const unexpected = diff.filter((d) => !pinned.includes(d));
  assert.deepEqual(unexpected, [], `${what}: differences not pinned`);
  if (!subset) assert.deepEqual(diff, [...pinned].sort(), `${what}: pinned differences that no longer occur`);
}

const SW = "DCOM Lateral Movement - ShellWindows or ShellBrowserWindow (inbound to explorer.exe)";
const RA = "DCOM Lateral Movement - Remote Activation of a DCOM Server";
const MSI = "DCOM Lateral Movement - Windows Installer (IMsiServer) Called Remotely";
const SYSMON = "Microsoft-Windows-Sysmon/Operational";

/**
 * `scan --rules dcom` in an engine against the file scan over the corpus (without its largest capture,
 * helpers.ts) and the emulated estate (`emulate all --noise 300`). Every line has one of the causes the
 * sequence export pins (docs/export.md, "Sequence rules as one query"; test/export/sequence.test.ts),
 * seen here after the cross-rule merge:
 */
export function pinnedDcomDifferences(withCorpus: boolean): string[] {
  return [
    // The query joins over the whole window; the engine joins an event to the partial matches open when
    // it arrives. Evidence the query adds: explorer ShellWindows/ShellBrowserWindow (emulated), the two
    // child_4688 records logged before the Sysmon child that binds their parent pid.
    `${SW}: SRV-APP02.corp.example/${SYSMON}#773794: evidence added: SRV-APP02.corp.example/Security#749698`,
    `${SW}: SRV-APP02.corp.example/${SYSMON}#773803: evidence added: SRV-APP02.corp.example/Security#749705`,
    // remote-ie-iertutil: the iertutil.dll write (no join key) and the SMB logon that carried it.
    `${RA}: SRV-APP02.corp.example/${SYSMON}#773856: evidence added: SRV-APP02.corp.example/${SYSMON}#773854`,
    `${RA}: SRV-APP02.corp.example/${SYSMON}#773856: evidence added: SRV-APP02.corp.example/Security#749744`,
    // remote-msi: the network logon logged before msiexec's inbound connection (`after:` over the whole
    // window), which also names the account in the rule's own words (the file scan takes it from the
    // caller's alert it merges with).
    `${MSI}: SRV-APP02.corp.example/${SYSMON}#773882: evidence added: SRV-APP02.corp.example/Security#749770`,
    `${MSI}: SRV-APP02.corp.example/${SYSMON}#773882: account: CORP\\alice.admin -> CORP.EXAMPLE\\alice.admin`,
    // The caller's request on a ShellWindows target (explorer.exe) is also a child of explorer: the query
    // counts it for child/child_4688 (a target-side step) over the whole window; the engine met it
    // before the incident held the server. The record's steps and side follow.
    ...[
      ["773794", `${SYSMON}#199595`, "source_request", "child+source_request"],
      ["773794", "Security#615756", "source_request", "child_4688+source_request"],
      ["773803", `${SYSMON}#199603`, "source_request", "child+source_request"],
      ["773803", "Security#615761", "source_request", "child_4688+source_request"],
    ].flatMap(([alert, rec, from, to]) => [
      `${SW}: SRV-APP02.corp.example/${SYSMON}#${alert}: WKS01.corp.example/${rec}: side: source -> target`,
      `${SW}: SRV-APP02.corp.example/${SYSMON}#${alert}: WKS01.corp.example/${rec}: steps: ${from} -> ${to}`,
    ]),
    `${SW}: WKS01.corp.example/${SYSMON}#199522: WKS01.corp.example/Security#615721: side: source -> target`,
    `${SW}: WKS01.corp.example/${SYSMON}#199522: WKS01.corp.example/Security#615721: steps: local_request+source_request -> child_4688+local_request`,
    `${SW}: WKS01.corp.example/${SYSMON}#199522: WKS01.corp.example/${SYSMON}#199522: steps: child+local_request+source_request -> child+local_request`,
    // covenant RegisterXLL (corpus): the caller's record joined through its host's keyless hub (the
    // query's remote-activation alert holds it, so the merged alert keeps that rule's step name).
    ...(withCorpus
      ? [
          `${RA}: WORKSTATION5.theshire.local/${SYSMON}#1247510: WORKSTATION5.theshire.local/${SYSMON}#1247510: steps: command -> source_request`,
        ]
      : []),
  ];
}
