import { callServer, launchServer, psCommand, remoteStart, smbConnect } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteIeIertutil: Scenario = {
  name: "remote-ie-iertutil",
  description:
    "InternetExplorer.Application with the iertutil.dll hijack, WKS01 to SRV-APP02: iertutil.dll written next to iexplore.exe over C$ (Security 5145, Sysmon 11), iexplore.exe -Embedding loads it unsigned (Sysmon 7)",
  kind: "attack",
  variant: "InternetExplorer-iertutil",
  expect: { object: "InternetExplorer-iertutil", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "Copy-Item .\\iertutil.dll '\\\\SRV-APP02\\C$\\Program Files\\Internet Explorer\\iertutil.dll'; $ie=[activator]::CreateInstance([type]::GetTypeFromProgID('InternetExplorer.Application','SRV-APP02'))",
      ),
    );
    const dll = "C:\\Program Files\\Internet Explorer\\iertutil.dll";
    // Copy-Item opens its own SMB session (a separate network logon) before the DCOM activation.
    const smbPort = smbConnect(ctx, client, target, 100);
    const smbLogon = ctx.emu.networkLogon(
      target,
      ctx.principal(ALICE_ADMIN),
      true,
      { ip: WKS01.ip, netbios: WKS01.netbios },
      ctx.at(112),
    );
    ctx.emu.shareAccess(
      target,
      smbLogon,
      { ip: WKS01.ip, port: smbPort },
      {
        name: "C$",
        localPath: "C:\\",
        relativeTarget: "Program Files\\Internet Explorer\\iertutil.dll",
        write: true,
      },
      ctx.at(250),
    );
    ctx.emu.fileCreate(target.systemProcess(), dll, ctx.at(262));
    const ie = launchServer(
      ctx,
      target,
      activation.logon,
      PATHS.iexplore,
      '"C:\\Program Files\\Internet Explorer\\iexplore.exe" -Embedding',
      700,
    );
    ctx.emu.imageLoad(ie, dll, ctx.at(760), false, "hijack");
    callServer(ctx, client, ie, 1500);
    return ctx.produced();
  },
};
