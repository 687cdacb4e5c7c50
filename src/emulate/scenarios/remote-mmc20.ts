import { callServer, launchServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteMmc20: Scenario = {
  name: "remote-mmc20",
  description:
    "MMC20.Application from WKS01 to SRV-APP02 as CORP\\alice.admin: 4624 type 3 on the target, mmc.exe -Embedding under DcomLaunch, inbound TCP to mmc.exe, ExecuteShellCommand runs cmd.exe",
  kind: "attack",
  variant: "MMC20",
  expect: { object: "MMC20", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$c=[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','SRV-APP02.corp.example')); $c.Document.ActiveView.ExecuteShellCommand('cmd.exe',$null,'/c ipconfig /all > C:\\Windows\\Temp\\n.txt','7')",
      ),
    );
    const mmc = launchServer(
      ctx,
      target,
      activation.logon,
      PATHS.mmc,
      "C:\\Windows\\system32\\mmc.exe -Embedding",
      470,
    );
    ctx.emu.privilegedOperation(mmc, "Section", "\\BaseNamedObjects\\HWNDInterface:1016c", ctx.at(590));
    callServer(ctx, client, mmc, 1320);
    const cmd = runCmd(ctx, mmc, "/c ipconfig /all > C:\\Windows\\Temp\\n.txt", 1560);
    ctx.emu.fileCreate(cmd, "C:\\Windows\\Temp\\n.txt", ctx.at(1700));
    ctx.emu.endProcess(cmd, ctx.at(1820));
    ctx.emu.endProcess(client, ctx.at(2400));
    return ctx.produced();
  },
};
