import { runCmd } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const benignMmcSnapinCmd: Scenario = {
  name: "benign-mmc-snapin-cmd",
  description:
    "Benign: alice.admin, logged on to SRV-APP02, opens Computer Management (mmc.exe compmgmt.msc from explorer.exe) and a snap-in task runs cmd.exe /c net stop/start of a service",
  kind: "benign",
  loopback: false,
  hosts: [SRV_APP02],
  generate(ctx) {
    const host = ctx.host(SRV_APP02);
    const explorer = host.explorer(ctx.principal(ALICE_ADMIN));
    const mmc = ctx.emu.startProcess(
      {
        parent: explorer,
        image: PATHS.mmc,
        commandLine: '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\compmgmt.msc" /s',
        integrity: "High",
        currentDirectory: "C:\\Windows\\system32\\",
      },
      ctx.at(0),
    );
    const cmd = runCmd(ctx, mmc, '/c net stop "AppPoolMonitor" && net start "AppPoolMonitor"', 42000);
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\net.exe", commandLine: 'net  stop "AppPoolMonitor"' },
      ctx.at(42080),
    );
    ctx.emu.startProcess(
      { parent: cmd, image: "C:\\Windows\\System32\\net.exe", commandLine: 'net  start "AppPoolMonitor"' },
      ctx.at(44900),
    );
    ctx.emu.endProcess(cmd, ctx.at(46000));
    ctx.emu.endProcess(mmc, ctx.at(120000));
    return ctx.produced();
  },
};
