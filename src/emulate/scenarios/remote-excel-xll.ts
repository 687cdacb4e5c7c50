import { callServer, launchServer, psCommand, remoteStart, smbConnect } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";
import { EXCEL_EMBEDDING } from "./remote-excel-dde.js";

export const remoteExcelXll: Scenario = {
  name: "remote-excel-xll",
  description:
    "Excel.Application RegisterXLL from WKS01 to SRV-APP02: the .xll is copied to C:\\ProgramData over ADMIN$ (5145, Sysmon 11), then EXCEL.EXE /automation -Embedding loads it (Sysmon 7, unsigned); no child process",
  kind: "attack",
  variant: "Excel-XLL",
  expect: { object: "Excel-XLL", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      psCommand(
        "Copy-Item .\\calc.xll \\\\SRV-APP02\\C$\\ProgramData\\calc.xll; $e=[activator]::CreateInstance([type]::GetTypeFromProgID('Excel.Application','SRV-APP02')); $e.RegisterXLL('C:\\ProgramData\\calc.xll')",
      ),
    );
    const xll = "C:\\ProgramData\\calc.xll";
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
      { name: "C$", localPath: "C:\\", relativeTarget: "ProgramData\\calc.xll", write: true },
      ctx.at(300),
    );
    ctx.emu.fileCreate(target.systemProcess(), xll, ctx.at(310));
    const excel = launchServer(ctx, target, activation.logon, PATHS.excel, EXCEL_EMBEDDING, 620);
    callServer(ctx, client, excel, 3100);
    ctx.emu.imageLoad(excel, xll, ctx.at(3350), false, "covenant-xll");
    return ctx.produced();
  },
};
