import { callServer, interactivePowerShell, launchServer, loopbackActivate } from "../actions.js";
import { ALICE_ADMIN, PATHS, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

/** Atomic Red Team T1021.003 test 1 with its default input (computer_name = localhost). */
export const art1Mmc20Calc: Scenario = {
  name: "art-1-mmc20-calc",
  description:
    'Atomic Red Team T1021.003 #1: [activator]::CreateInstance(GetTypeFromProgID("MMC20.application","localhost")).Document.ActiveView.ExecuteShellCommand(calc.exe); mmc.exe -Embedding starts calc.exe',
  kind: "attack",
  variant: "MMC20",
  expect: { object: "MMC20", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: true,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const ps = interactivePowerShell(
      ctx,
      host,
      ALICE_ADMIN,
      `"powershell.exe" & {[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.application","localhost")).Document.ActiveView.ExecuteShellCommand("c:\\windows\\system32\\calc.exe", $null, $null, "7")}`,
      0,
    );
    loopbackActivate(ctx, ps, 350);
    const mmc = launchServer(
      ctx,
      host,
      ps.logon,
      PATHS.mmc,
      "C:\\Windows\\system32\\mmc.exe -Embedding",
      440,
    );
    callServer(ctx, ps, mmc, 1210);
    ctx.emu.startProcess(
      { parent: mmc, image: PATHS.calc, commandLine: '"C:\\windows\\system32\\calc.exe"' },
      ctx.at(1460),
    );
    ctx.emu.endProcess(ps, ctx.at(1900));
    return ctx.produced();
  },
};
