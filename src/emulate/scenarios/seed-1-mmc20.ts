import { callServer, interactivePowerShell, launchServer, loopbackActivate, runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

/** The seed's test 1, run locally as published: MMC20.Application against 127.0.0.1. */
export const seed1Mmc20: Scenario = {
  name: "seed-1-mmc20",
  description:
    "Seed test 1: PowerShell activates MMC20.Application on 127.0.0.1 (Sysmon 3 to :135 and a dynamic port); DcomLaunch starts mmc.exe -Embedding, which runs cmd.exe writing C:\\Windows\\Temp\\dcom_test.txt (Sysmon 11)",
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
      `"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -Command "$com = [activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','127.0.0.1')); $com.Document.ActiveView.ExecuteShellCommand('cmd.exe',$null,'/c echo DCOM test > C:\\Windows\\Temp\\dcom_test.txt','7')"`,
      0,
    );
    loopbackActivate(ctx, ps, 420);
    const mmc = launchServer(
      ctx,
      host,
      ps.logon,
      PATHS.mmc,
      "C:\\Windows\\system32\\mmc.exe -Embedding",
      510,
    );
    callServer(ctx, ps, mmc, 1380);
    const cmd = runCmd(ctx, mmc, "/c echo DCOM test > C:\\Windows\\Temp\\dcom_test.txt", 1610);
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\dcom_test.txt", ctx.at(1640));
    ctx.emu.endProcess(cmd, ctx.at(1700));
    ctx.emu.endProcess(ps, ctx.at(2300));
    return ctx.produced();
  },
};
