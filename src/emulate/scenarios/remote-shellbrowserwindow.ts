import { callServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteShellBrowserWindow: Scenario = {
  name: "remote-shellbrowserwindow",
  description:
    "ShellBrowserWindow (CLSID C08AFD90) from WKS01 to SRV-APP02: inbound TCP to explorer.exe, Document.Application.ShellExecute starts cmd.exe under explorer.exe",
  kind: "attack",
  variant: "ShellBrowserWindow",
  expect: { object: "ShellBrowserWindow", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$o=[Activator]::CreateInstance([Type]::GetTypeFromCLSID('C08AFD90-F2A1-11D1-8455-00A0C91F3880','SRV-APP02')); $o.Document.Application.ShellExecute('cmd.exe','/c tasklist > C:\\Windows\\Temp\\t.txt','C:\\Windows\\System32',$null,0)",
      ),
    );
    const explorer = target.explorer(ctx.principal(ALICE_ADMIN));
    callServer(ctx, client, explorer, 1010);
    const cmd = runCmd(ctx, explorer, "/c tasklist > C:\\Windows\\Temp\\t.txt", 1290);
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\tasklist.exe", commandLine: "tasklist" },
      ctx.at(1340),
    );
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\t.txt", ctx.at(1345));
    ctx.emu.endProcess(cmd, ctx.at(1600));
    return ctx.produced();
  },
};
