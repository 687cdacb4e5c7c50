import { launchServer } from "../actions.js";
import { PATHS, SRV_APP02 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const benignMonitoringCom: Scenario = {
  name: "benign-monitoring-com",
  description:
    "Benign: the monitoring agent on SRV-APP02 (MonitoringHost.exe, SYSTEM) runs a VBScript check that uses COM automation locally (WbemScripting, a COM surrogate dllhost.exe under DcomLaunch)",
  kind: "benign",
  loopback: false,
  hosts: [SRV_APP02],
  generate(ctx) {
    const host = ctx.host(SRV_APP02);
    const agent = host.existing("monitoringhost", () => ({
      image: "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\MonitoringHost.exe",
      commandLine: '"C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\MonitoringHost.exe" -Embedding',
      currentDirectory: "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\",
      logon: host.systemLogon,
      integrity: "System",
      parent: host.dcomLaunch(),
    }));
    const cscript = ctx.emu.startProcess(
      {
        parent: agent,
        image: PATHS.cscript,
        commandLine: '"C:\\Windows\\system32\\cscript.exe" /nologo "MonitorKnowledgeDiscovery.vbs"',
      },
      ctx.at(0),
    );
    ctx.emu.conhost(cscript, ctx.at(18));
    const surrogate = launchServer(
      ctx,
      host,
      host.systemLogon,
      PATHS.dllhost,
      "C:\\Windows\\system32\\DllHost.exe /Processid:{3EB3C877-1F16-487C-9050-104DBCD66683}",
      240,
    );
    ctx.emu.endProcess(surrogate, ctx.at(3000));
    ctx.emu.endProcess(cscript, ctx.at(3100));
    return ctx.produced();
  },
};
