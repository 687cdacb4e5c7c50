import { callServer, launchServer, psCommand, remoteStart } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const benignAdminWmi: Scenario = {
  name: "benign-admin-wmi",
  description:
    "Benign: alice.admin's maintenance script on WKS01 queries SRV-APP02's services over DCOM/WMI (Get-CimInstance -ComputerName, DCOM protocol): 4624 type 3, WmiPrvSE.exe -Embedding under DcomLaunch, no shell",
  kind: "benign",
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$s=New-CimSession -ComputerName SRV-APP02 -SessionOption (New-CimSessionOption -Protocol Dcom); Get-CimInstance -CimSession $s -ClassName Win32_Service -Filter \\\"StartMode='Auto' AND State<>'Running'\\\" | Export-Csv C:\\Reports\\svc-SRV-APP02.csv",
      ),
    );
    // WMI's provider host runs as NETWORK SERVICE, started by DcomLaunch; the caller's logon only authenticates.
    const wmi = launchServer(
      ctx,
      target,
      target.networkServiceLogon,
      PATHS.wmiprvse,
      "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
      520,
    );
    callServer(ctx, client, wmi, 700);
    ctx.emu.fileCreate(client, "C:\\Reports\\svc-SRV-APP02.csv", ctx.at(2400));
    ctx.emu.logoff(activation.logon, ctx.at(3200));
    return ctx.produced();
  },
};
