import { APPID, CLSID, psCommand, remoteActivate } from "../actions.js";
import { BOB, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteDeniedBurst: Scenario = {
  name: "remote-denied-burst",
  description:
    "A burst of denied attempts: CORP\\bob (not an administrator) tries ShellBrowserWindow, then MMC20.Application on SRV-APP02 from WKS01 within a second; System 10016 Remote Activation / Remote Launch denied for each CLSID (one incident listing both objects)",
  kind: "attack",
  variant: "ShellBrowserWindow",
  expect: {
    object: "ShellBrowserWindow",
    objects: ["ShellBrowserWindow", "MMC20"],
    outcome: "denied",
    observed_on: "both",
    incidents: 1,
  },
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
          "foreach($t in [type]::GetTypeFromCLSID('C08AFD90-F2A1-11D1-8455-00A0C91F3880','SRV-APP02'),[type]::GetTypeFromProgID('MMC20.Application','SRV-APP02')){try{[activator]::CreateInstance($t)}catch{}}",
        ),
        integrity: "Medium",
        currentDirectory: "C:\\Users\\bob\\",
      },
      ctx.at(0),
    );
    const act = remoteActivate(ctx, ps, target, BOB, 380);
    const caller = ctx.principal(BOB);
    ctx.emu.dcomPermissionDenied(
      target,
      {
        caller,
        clsid: CLSID.ShellBrowserWindow,
        appid: "Unavailable",
        remoteIp: WKS01.ip,
        activation: "Activation",
        setting: "machine-default",
      },
      ctx.at(430),
    );
    ctx.emu.dcomPermissionDenied(
      target,
      {
        caller,
        clsid: CLSID.MMC20,
        appid: APPID.MMC20,
        remoteIp: WKS01.ip,
        activation: "Launch",
        setting: "application-specific",
      },
      ctx.at(910),
    );
    ctx.emu.logoff(act.logon, ctx.at(960));
    return ctx.produced();
  },
};
