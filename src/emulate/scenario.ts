/** What a scenario is, and what it gets to generate its events. */
import type { WinEvent } from "../events/model.js";
import type { Emulation, HostState, Principal } from "./context.js";
import type { Account, HostSpec } from "./estate.js";
import type { Rng } from "./values.js";

export interface ScenarioContext {
  emu: Emulation;
  /** This scenario's own PRNG stream (independent of the other scenarios of the run). */
  rng: Rng;
  /** Start of this scenario (FILETIME ticks). */
  t0: bigint;
  /** t0 + `ms` milliseconds, plus a sub-millisecond jitter so timestamps use all 7 digits. */
  at(ms: number): bigint;
  host(spec: HostSpec): HostState;
  principal(account: Account): Principal;
  /** The events this scenario has produced so far (its return value). */
  produced(): WinEvent[];
}

export interface Scenario {
  /** CLI name, e.g. "remote-mmc20". */
  name: string;
  /** One line shown by `emulate --list`: what it does and what it leaves. */
  description: string;
  kind: "attack" | "benign";
  /** For attacks: the variant name a detector should report (MMC20, ShellWindows, Excel-DDE ...). */
  variant?: string;
  /**
   * For attacks: what the dcom pack must report, as incidents (one per attempt): the object, how far it
   * got, whose logs show it, and how many incidents the scenario gives (0: deliberately not reported).
   */
  expect?: {
    object?: string;
    /** Every object the incident lists, when the attempt tried several (default: [object]). */
    objects?: string[];
    outcome?: "executed" | "activated" | "denied" | "blocked" | "unreachable" | "requested";
    observed_on?: "target" | "source" | "both";
    incidents: number;
  };
  /** Runs on one host against 127.0.0.1. */
  loopback: boolean;
  hosts: readonly HostSpec[];
  generate(ctx: ScenarioContext): WinEvent[];
}
