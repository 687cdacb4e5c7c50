import { CLSID, psCommand } from "../actions.js";
import { ALICE_ADMIN, SRV_FILE03, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";
import { ephemeralPort } from "../values.js";

export const remoteBlocked: Scenario = {
  name: "remote-blocked",
  description:
    "A blocked attempt: MMC20.Application from WKS01 to SRV-FILE03, whose firewall drops TCP 135 (Security 5157 on the target, three SYN retries); the source logs System 10028 (DCOM unable to communicate)",
  kind: "attack",
  variant: "MMC20",
  expect: { object: "MMC20", outcome: "blocked", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_FILE03],
  generate(ctx) {
    const source = ctx.host(WKS01);
    const target = ctx.host(SRV_FILE03);
    const explorer = source.explorer(ctx.principal(ALICE_ADMIN));
    const ps = ctx.emu.startProcess(
      {
        parent: explorer,
        image: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        commandLine: psCommand(
          "[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','SRV-FILE03'))",
        ),
        integrity: "High",
        currentDirectory: "C:\\Users\\alice.admin\\",
      },
      ctx.at(0),
    );
    const srcPort = ephemeralPort(ctx.rng);
    const link = {
      sourceIp: WKS01.ip,
      sourcePort: srcPort,
      sourceHostname: WKS01.computer,
      destinationIp: SRV_FILE03.ip,
      destinationPort: 135,
      destinationHostname: SRV_FILE03.computer,
    };
    ctx.emu.connection({ proc: ps, initiated: true, ...link }, ctx.at(350));
    // The drop is attributed to the listener (RPCSS svchost) by WFP; retries after 1 s and 2 s more.
    for (const ms of [352, 1353, 3355])
      ctx.emu.wfpBlocked({ proc: target.rpcss(), initiated: false, ...link }, ctx.at(ms));
    ctx.emu.dcomUnreachable(ps, "SRV-FILE03", CLSID.MMC20, ctx.at(21400));
    return ctx.produced();
  },
};
