import { callServer, remoteStart } from "../actions.js";
import { ALICE_ADMIN, SRV_APP02, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

const MSIEXEC = "C:\\Windows\\System32\\msiexec.exe";

export const remoteMsi: Scenario = {
  name: "remote-msi",
  description:
    "Windows Installer over DCOM (IMsiServer, published 2024-2025) from WKS01 to SRV-APP02: the service msiexec.exe /V (started by services.exe) accepts the caller's connection, starts a custom action server (msiexec.exe -Embedding) that writes and loads the caller's DLL from C:\\ProgramData",
  kind: "attack",
  variant: "MSI",
  expect: { object: "MSI", outcome: "executed", observed_on: "both", incidents: 1 },
  loopback: false,
  hosts: [WKS01, SRV_APP02],
  generate(ctx) {
    const { client, target } = remoteStart(
      ctx,
      WKS01,
      SRV_APP02,
      ALICE_ADMIN,
      '"C:\\Tools\\MsiDcomExec.exe" SRV-APP02 C:\\Tools\\payload.dll C:\\ProgramData\\msupd.dll',
      "Kerberos",
      "C:\\Tools\\MsiDcomExec.exe",
    );
    // The Windows Installer service starts on demand, as SYSTEM, under services.exe.
    const service = ctx.emu.startProcess(
      { parent: target.services(), image: MSIEXEC, commandLine: `${MSIEXEC} /V`, integrity: "System" },
      ctx.at(470),
    );
    callServer(ctx, client, service, 900);
    const customAction = ctx.emu.startProcess(
      {
        parent: service,
        image: MSIEXEC,
        commandLine: `${MSIEXEC} -Embedding 6E1C2D8B4F0A9E3C7B5D1A2F4E6C8B0A E Global\\MSI0000`,
        integrity: "System",
      },
      ctx.at(1350),
    );
    ctx.emu.fileCreate(customAction, "C:\\ProgramData\\msupd.dll", ctx.at(1420));
    ctx.emu.imageLoad(customAction, "C:\\ProgramData\\msupd.dll", ctx.at(1460), false, "msupd");
    return ctx.produced();
  },
};
