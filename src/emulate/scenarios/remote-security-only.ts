import { launchServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_FILE03, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteSecurityOnly: Scenario = {
  name: "remote-security-only",
  description:
    "MMC20.Application from WKS01 to SRV-FILE03, a server with the Security log only (no Sysmon): 4624 type 3 from 10.0.10.21, 4688 mmc.exe -Embedding whose TargetLogonId is that logon, 4674 by mmc.exe, 4688 cmd.exe",
  kind: "attack",
  variant: "MMC20",
  expect: { object: "MMC20", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_FILE03],
  generate(ctx) {
    const { target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_FILE03,
      ALICE_ADMIN,
      psCommand(
        "$c=[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','SRV-FILE03')); $c.Document.ActiveView.ExecuteShellCommand('cmd.exe',$null,'/c hostname','7')",
      ),
      "NTLM",
    );
    const mmc = launchServer(
      ctx,
      target,
      activation.logon,
      PATHS.mmc,
      "C:\\Windows\\system32\\mmc.exe -Embedding",
      480,
    );
    ctx.emu.privilegedOperation(mmc, "Section", "\\BaseNamedObjects\\HWNDInterface:10170", ctx.at(600));
    ctx.emu.privilegedOperation(
      mmc,
      "Key",
      "\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\WinSock2\\Parameters",
      ctx.at(690),
    );
    const cmd = runCmd(ctx, mmc, "/c hostname", 1500);
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\HOSTNAME.EXE", commandLine: "hostname" },
      ctx.at(1540),
    );
    ctx.emu.logoff(activation.logon, ctx.at(9000));
    return ctx.produced();
  },
};
