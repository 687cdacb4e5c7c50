import { APPID, CLSID, psCommand, remoteActivate } from "../actions.js";
import { BOB, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteDenied: Scenario = {
  name: "remote-denied",
  description:
    "A denied attempt: CORP\\bob (not an administrator) activates MMC20.Application on SRV-APP02 from WKS01; 4624 type 3 then System 10016 Remote Launch permission denied naming the CLSID, the user and 10.0.10.21",
  kind: "attack",
  variant: "MMC20",
  expect: { object: "MMC20", outcome: "denied", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const source = ctx.host(WKS01);
    const target = ctx.host(SRV_APP02);
    const explorer = source.explorer(ctx.principal(BOB));
    const ps = ctx.emu.startProcess(
      {
        parent: explorer,
        image: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        commandLine: psCommand(
          "[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','SRV-APP02'))",
        ),
        integrity: "Medium",
        currentDirectory: "C:\\Users\\bob\\",
      },
      ctx.at(0),
    );
    const act = remoteActivate(ctx, ps, target, BOB, 380);
    ctx.emu.dcomPermissionDenied(
      target,
      {
        caller: ctx.principal(BOB),
        clsid: CLSID.MMC20,
        appid: APPID.MMC20,
        remoteIp: WKS01.ip,
        activation: "Launch",
        setting: "application-specific",
      },
      ctx.at(430),
    );
    ctx.emu.logoff(act.logon, ctx.at(470));
    return ctx.produced();
  },
};
