/**
 * Telemetry emulation: the scenarios and `emulate()`, which runs some of them on the shared estate
 * and returns their events merged in time order, with EventRecordIDs numbered per host and channel.
 * Deterministic for a given seed and start.
 */
import type { WinEvent } from "../events/model.js";
import { ticksFromIso } from "../events/time.js";
import { Emulation } from "./context.js";
import { addNoise } from "./noise.js";
import type { Scenario, ScenarioContext } from "./scenario.js";
import { art1Mmc20Calc } from "./scenarios/art-1-mmc20-calc.js";
import { art2ExcelActivateMicrosoftApp } from "./scenarios/art-2-excel-activatemicrosoftapp.js";
import { benignAdminWmi } from "./scenarios/benign-admin-wmi.js";
import { benignDevDcomTest } from "./scenarios/benign-dev-dcom-test.js";
import { benignMmcSnapinCmd } from "./scenarios/benign-mmc-snapin-cmd.js";
import { benignMonitoringCom } from "./scenarios/benign-monitoring-com.js";
import { benignOfficeMacro } from "./scenarios/benign-office-macro.js";
import { remoteBlocked } from "./scenarios/remote-blocked.js";
import { remoteDenied } from "./scenarios/remote-denied.js";
import { remoteDeniedBurst } from "./scenarios/remote-denied-burst.js";
import { remoteExcelDde } from "./scenarios/remote-excel-dde.js";
import { remoteExcelMacro } from "./scenarios/remote-excel-macro.js";
import { remoteExcelXll } from "./scenarios/remote-excel-xll.js";
import { remoteIeIertutil } from "./scenarios/remote-ie-iertutil.js";
import { remoteLethalHta } from "./scenarios/remote-lethalhta.js";
import { remoteMmc20 } from "./scenarios/remote-mmc20.js";
import { remoteMsi } from "./scenarios/remote-msi.js";
import { remoteOutlook } from "./scenarios/remote-outlook.js";
import { remoteSecurityOnly } from "./scenarios/remote-security-only.js";
import { remoteShellBrowserWindow } from "./scenarios/remote-shellbrowserwindow.js";
import { remoteShellWindows } from "./scenarios/remote-shellwindows.js";
import { remoteSpeechRuntime } from "./scenarios/remote-speechruntime.js";
import { seed1Mmc20 } from "./scenarios/seed-1-mmc20.js";
import { seed2ShellWindows } from "./scenarios/seed-2-shellwindows.js";
import { seed3Dcomcnfg } from "./scenarios/seed-3-dcomcnfg.js";
import { sourceSide } from "./scenarios/source-side.js";
import { domainSid, Rng } from "./values.js";

export type { Scenario, ScenarioContext } from "./scenario.js";

export const scenarios: readonly Scenario[] = [
  seed1Mmc20,
  seed2ShellWindows,
  seed3Dcomcnfg,
  art1Mmc20Calc,
  art2ExcelActivateMicrosoftApp,
  remoteMmc20,
  remoteShellWindows,
  remoteShellBrowserWindow,
  remoteExcelDde,
  remoteExcelXll,
  remoteExcelMacro,
  remoteOutlook,
  remoteIeIertutil,
  remoteLethalHta,
  remoteSecurityOnly,
  remoteBlocked,
  remoteDenied,
  remoteDeniedBurst,
  remoteMsi,
  remoteSpeechRuntime,
  sourceSide,
  benignAdminWmi,
  benignOfficeMacro,
  benignMmcSnapinCmd,
  benignDevDcomTest,
  benignMonitoringCom,
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name.toLowerCase());
}

export interface EmulateOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** ISO start time of the first scenario (default DEFAULT_START). */
  start?: string;
  /** Number of background (noise) events to add (default 0). */
  noise?: number;
}

/** Fixed default start, so output is deterministic unless asked otherwise. */
export const DEFAULT_START = "2024-03-12T09:00:00Z";
/** Scenarios of one run start this far apart (plus up to a minute of jitter). */
export const SCENARIO_SPACING_MS = 10 * 60 * 1000;

/** Run the named scenarios (in the given order) and return all events in time order. */
export function emulate(names: string[], opts: EmulateOptions = {}): WinEvent[] {
  const seed = opts.seed ?? 1;
  const startText = opts.start ?? DEFAULT_START;
  const startTicks = ticksFromIso(startText, 0);
  if (startTicks === undefined)
    throw new Error(`emulate: start time is not an ISO timestamp: '${startText}'`);
  const selected = names.map((name) => {
    const s = findScenario(name);
    if (!s) throw new Error(`emulate: unknown scenario '${name}'`);
    return s;
  });
  const root = new Rng(seed);
  const emu = new Emulation(root.fork("emulation"), startTicks, domainSid(root.fork("domain")));
  const contextFor = (label: string, t0: bigint, rng: Rng): ScenarioContext => {
    emu.current = label;
    const first = emu.events.length;
    return {
      emu,
      rng,
      t0,
      at: (ms) => t0 + BigInt(Math.round(ms * 10000)) + BigInt(rng.int(0, 9999)),
      host: (spec) => emu.host(spec),
      principal: (account) => emu.principal(account),
      produced: () => emu.events.slice(first),
    };
  };
  let t = startTicks;
  selected.forEach((scenario, i) => {
    const rng = root.fork(`scenario:${scenario.name}:${i}`);
    const t0 = t + BigInt(rng.int(0, 60000)) * 10000n;
    scenario.generate(contextFor(scenario.name, t0, rng));
    t += BigInt(SCENARIO_SPACING_MS) * 10000n;
  });
  const noise = opts.noise ?? 0;
  if (noise > 0) {
    const from = startTicks - 5n * 60n * 10000000n;
    const to = t + 5n * 60n * 10000000n;
    addNoise(contextFor("noise", from, root.fork("noise")), noise, from, to);
  }
  return finish(emu.events, root.fork("records"));
}

/** Sort by time (stable) and number EventRecordIDs per (Computer, Channel), as each host's log would. */
function finish(events: WinEvent[], rng: Rng): WinEvent[] {
  const sorted = events
    .map((ev, i) => ({ ev, i }))
    .sort((a, b) => {
      const ta = a.ev.timeTicks ?? 0n;
      const tb = b.ev.timeTicks ?? 0n;
      return ta < tb ? -1 : ta > tb ? 1 : a.i - b.i;
    })
    .map((x) => x.ev);
  const next = new Map<string, number>();
  for (const ev of sorted) {
    const key = `${ev.system.computer}|${ev.system.channel}`;
    let id = next.get(key);
    if (id === undefined) id = rng.fork(key).int(1000, 900000);
    ev.system.eventRecordID = String(id);
    next.set(key, id + 1);
  }
  return sorted;
}
