import { callServer, interactivePowerShell, launchServer, loopbackActivate } from "../actions.js";
import { BOB, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const benignDevDcomTest: Scenario = {
  name: "benign-dev-dcom-test",
  description:
    "Benign: bob, a developer, runs his DCOM server's test script on WKS01 (powershell -ExecutionPolicy Bypass -File ...Test-DCOMServer.ps1): a local activation of his own server (ReportSrv.exe -Embedding) on 127.0.0.1",
  kind: "benign",
  loopback: true,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const ps = interactivePowerShell(
      ctx,
      host,
      BOB,
      '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -ExecutionPolicy Bypass -File C:\\dev\\ReportServer\\tests\\Test-DCOMServer.ps1 -Server 127.0.0.1',
      0,
      false,
    );
    loopbackActivate(ctx, ps, 900);
    const server = launchServer(
      ctx,
      host,
      ps.logon,
      "C:\\dev\\ReportServer\\bin\\Debug\\ReportSrv.exe",
      "C:\\dev\\ReportServer\\bin\\Debug\\ReportSrv.exe -Embedding",
      980,
    );
    callServer(ctx, ps, server, 1500);
    ctx.emu.fileCreate(server, "C:\\dev\\ReportServer\\tests\\out\\report-001.pdf", ctx.at(2600));
    ctx.emu.endProcess(server, ctx.at(8000));
    ctx.emu.endProcess(ps, ctx.at(8300));
    return ctx.produced();
  },
};
