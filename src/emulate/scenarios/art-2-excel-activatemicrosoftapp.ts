import { callServer, interactivePowerShell, launchServer, loopbackActivate } from "../actions.js";
import { ALICE_ADMIN, PATHS, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

/** Atomic Red Team T1021.003 test 2: Excel.Application ActivateMicrosoftApp("5") runs a planted foxprow.exe. */
export const art2ExcelActivateMicrosoftApp: Scenario = {
  name: "art-2-excel-activatemicrosoftapp",
  description:
    "Atomic Red Team T1021.003 #2: calc.exe copied to WindowsApps\\foxprow.exe, Excel.Application activated on localhost, EXCEL.EXE /automation -Embedding starts foxprow.exe via ActivateMicrosoftApp(5)",
  kind: "attack",
  variant: "Excel-ActivateMicrosoftApp",
  expect: { object: "Excel-ActivateMicrosoftApp", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: true,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const user = ALICE_ADMIN.name;
    const foxprow = `C:\\Users\\${user}\\AppData\\Local\\Microsoft\\WindowsApps\\foxprow.exe`;
    const ps = interactivePowerShell(
      ctx,
      host,
      ALICE_ADMIN,
      `"powershell.exe" & {copy c:\\windows\\system32\\calc.exe 'C:\\users\\${user}\\AppData\\local\\Microsoft\\WindowsApps\\foxprow.exe'\n$com = [System.Activator]::CreateInstance([type]::GetTypeFromProgID("Excel.Application","localhost"))\n$com.ActivateMicrosoftApp("5")}`,
      0,
    );
    ctx.emu.fileCreate(ps, foxprow, ctx.at(240));
    loopbackActivate(ctx, ps, 300);
    const excel = launchServer(
      ctx,
      host,
      ps.logon,
      PATHS.excel,
      '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE" /automation -Embedding',
      390,
    );
    callServer(ctx, ps, excel, 2650);
    ctx.emu.startProcess(
      { parent: excel, image: foxprow, commandLine: `"${foxprow}"`, sameBinaryAs: PATHS.calc },
      ctx.at(2900),
    );
    ctx.emu.endProcess(ps, ctx.at(3300));
    return ctx.produced();
  },
};
