import { callServer, remoteStart, smbConnect } from "../actions.js";
import { ALICE_ADMIN, BOB, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

const SPEECH = "C:\\Windows\\System32\\Speech_OneCore\\Common\\SpeechRuntime.exe";

export const remoteSpeechRuntime: Scenario = {
  name: "remote-speechruntime",
  description:
    "COM-hijack lateral movement (published 2025): alice.admin on WKS01 copies a DLL to SRV-APP02 over SMB, registers it in the logged-on user bob's hive for a class SpeechRuntime.exe loads, then activates the speech object remotely; DcomLaunch starts SpeechRuntime.exe -Embedding in bob's session, it accepts the caller's connection and loads the DLL",
  kind: "attack",
  variant: "SpeechRuntime",
  expect: { object: "SpeechRuntime", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      '"C:\\Tools\\SpeechRuntimeMove.exe" mode=attack target=SRV-APP02 dllpath=C:\\Users\\Public\\spx.dll session=1',
      "Kerberos",
      "C:\\Tools\\SpeechRuntimeMove.exe",
    );
    smbConnect(ctx, client, target, 200);
    const session = target.explorer(ctx.principal(BOB));
    const speech = ctx.emu.startProcess(
      {
        parent: target.dcomLaunch(),
        image: SPEECH,
        commandLine: `${SPEECH} -Embedding`,
        logon: session.logon,
        integrity: "Medium",
        currentDirectory: "C:\\Windows\\system32\\",
      },
      ctx.at(760),
    );
    callServer(ctx, client, speech, 980);
    ctx.emu.imageLoad(speech, "C:\\Users\\Public\\spx.dll", ctx.at(1040), false, "spx");
    return ctx.produced();
  },
};
