import { runCmd, smbConnect } from "../actions.js";
import { BOB, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const benignOfficeMacro: Scenario = {
  name: "benign-office-macro",
  description:
    "Benign: bob opens a finance workbook from \\\\SRV-APP02\\Finance on WKS01 (SMB: 4624 type 3 and 5145 on SRV-APP02); its legitimate macro prints (splwow64.exe) and runs cmd.exe to copy the export back to the share; EXCEL.EXE is started by explorer.exe, not by DcomLaunch",
  kind: "benign",
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const server = ctx.host(SRV_APP02);
    const bob = ctx.principal(BOB);
    const explorer = host.explorer(bob);
    const excel = ctx.emu.startProcess(
      {
        parent: explorer,
        image: PATHS.excel,
        commandLine:
          '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE" "\\\\SRV-APP02\\Finance\\Monthly-Close.xlsm"',
        integrity: "Medium",
        currentDirectory: "C:\\Users\\bob\\Documents\\",
      },
      ctx.at(0),
    );
    // Opening the workbook from the share: an ordinary network logon from WKS01 on the same server the attacks target.
    const smbPort = smbConnect(ctx, excel, server, 60);
    const smbLogon = ctx.emu.networkLogon(
      server,
      bob,
      false,
      { ip: WKS01.ip, netbios: WKS01.netbios },
      ctx.at(72),
    );
    const share = { name: "Finance", localPath: "D:\\Shares\\Finance" };
    ctx.emu.shareAccess(
      server,
      smbLogon,
      { ip: WKS01.ip, port: smbPort },
      { ...share, relativeTarget: "Monthly-Close.xlsm", write: false },
      ctx.at(95),
    );
    ctx.emu.startProcess(
      { parent: excel, image: PATHS.splwow64, commandLine: "C:\\Windows\\splwow64.exe 12288" },
      ctx.at(18000),
    );
    ctx.emu.fileCreate(excel, "C:\\Users\\bob\\Documents\\close-export.csv", ctx.at(23500));
    runCmd(
      ctx,
      excel,
      '/c copy /y "C:\\Users\\bob\\Documents\\close-export.csv" "\\\\SRV-APP02\\Finance\\exports\\"',
      24000,
      24600,
    );
    ctx.emu.shareAccess(
      server,
      smbLogon,
      { ip: WKS01.ip, port: smbPort },
      { ...share, relativeTarget: "exports\\close-export.csv", write: true },
      ctx.at(24150),
    );
    ctx.emu.fileCreate(
      server.systemProcess(),
      "D:\\Shares\\Finance\\exports\\close-export.csv",
      ctx.at(24160),
    );
    return ctx.produced();
  },
};
