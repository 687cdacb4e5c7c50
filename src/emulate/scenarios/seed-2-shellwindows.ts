import { interactivePowerShell, loopbackActivate, runCmd } from "../actions.js";
import { ALICE_ADMIN, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

/** The seed's test 2, run locally: ShellWindows by CLSID against 127.0.0.1. No new server process: explorer.exe hosts it. */
export const seed2ShellWindows: Scenario = {
  name: "seed-2-shellwindows",
  description:
    "Seed test 2: PowerShell activates ShellWindows by CLSID 9BA05972 on 127.0.0.1 (Sysmon 3 to :135); the running explorer.exe runs cmd.exe through Document.Application.ShellExecute",
  kind: "attack",
  variant: "ShellWindows",
  expect: { object: "ShellWindows", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: true,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const ps = interactivePowerShell(
      ctx,
      host,
      ALICE_ADMIN,
      `"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -Command "$com = [Activator]::CreateInstance([Type]::GetTypeFromCLSID('9BA05972-F6A8-11CF-A442-00A0C90A8F39','127.0.0.1')); $item = $com.Item(); $item.Document.Application.ShellExecute('cmd.exe','/c whoami > C:\\Windows\\Temp\\dcom_sw.txt','C:\\Windows\\System32',$null,0)"`,
      0,
    );
    loopbackActivate(ctx, ps, 380);
    const explorer = host.explorer(ctx.principal(ALICE_ADMIN));
    const cmd = runCmd(ctx, explorer, "/c whoami > C:\\Windows\\Temp\\dcom_sw.txt", 940);
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\dcom_sw.txt", ctx.at(1010));
    ctx.emu.endProcess(cmd, ctx.at(1090));
    ctx.emu.endProcess(ps, ctx.at(1800));
    return ctx.produced();
  },
};
