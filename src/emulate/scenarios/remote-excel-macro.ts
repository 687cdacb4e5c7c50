import { callServer, launchServer, psCommand, remoteStart } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";
import { EXCEL_EMBEDDING } from "./remote-excel-dde.js";

export const remoteExcelMacro: Scenario = {
  name: "remote-excel-macro",
  description:
    "Excel.Application ExecuteExcel4Macro from WKS01 to SRV-APP02: shellcode runs inside EXCEL.EXE /automation -Embedding (no payload child: its only child is Office's AppV surrogate, a helper); it then connects back to WKS01",
  kind: "attack",
  variant: "Excel-Macro",
  expect: { object: "Excel-Macro", outcome: "activated", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "$e=[activator]::CreateInstance([type]::GetTypeFromProgID('Excel.Application','SRV-APP02')); $e.ExecuteExcel4Macro('CALL(\"Kernel32\",\"VirtualAlloc\",\"JJJJJ\",0,65536,4096,64)')",
      ),
    );
    const excel = launchServer(ctx, target, activation.logon, PATHS.excel, EXCEL_EMBEDDING, 520);
    callServer(ctx, client, excel, 2950);
    // Click-to-Run Office starts its AppV DLL surrogate for add-ins: a helper, not a payload.
    ctx.emu.startProcess(
      {
        parent: excel,
        image: "C:\\Program Files\\Microsoft Office\\root\\Client\\AppVDllSurrogate64.exe",
        commandLine:
          '"C:\\Program Files\\Microsoft Office\\root\\Client\\AppVDllSurrogate64.exe" /Processid:{C8B2B7A1-6E4D-4F1A-9C3B-2D5E7F8A9B0C} -Embedding',
      },
      ctx.at(3120),
    );
    ctx.emu.connection(
      {
        proc: excel,
        initiated: true,
        sourceIp: SRV_APP02.ip,
        sourcePort: 49152 + ctx.rng.int(0, 16000),
        sourceHostname: SRV_APP02.computer,
        destinationIp: WKS01.ip,
        destinationPort: 443,
        destinationHostname: WKS01.computer,
      },
      ctx.at(3600),
    );
    return ctx.produced();
  },
};
