import { ALICE_ADMIN, PATHS, WKS01 } from "../estate.js";
import type { Scenario } from "../scenario.js";

/** The seed's test 3: the DCOM configuration tool opened by an administrator. */
export const seed3Dcomcnfg: Scenario = {
  name: "seed-3-dcomcnfg",
  description:
    "Seed test 3: dcomcnfg.exe started from an elevated shell (Sysmon 1 and Security 4688), which starts mmc.exe comexp.msc",
  kind: "attack",
  variant: "DCOM-Config",
  // dcomcnfg.exe is the DCOM configuration tool, not DCOM use: the dcom pack stays silent (as on the real UACME 36 negative).
  expect: { incidents: 0 },
  loopback: true,
  hosts: [WKS01],
  generate(ctx) {
    const host = ctx.host(WKS01);
    const explorer = host.explorer(ctx.principal(ALICE_ADMIN));
    const dcomcnfg = ctx.emu.startProcess(
      {
        parent: explorer,
        image: PATHS.dcomcnfg,
        commandLine: '"C:\\Windows\\system32\\dcomcnfg.exe"',
        integrity: "High",
        currentDirectory: "C:\\Windows\\system32\\",
      },
      ctx.at(0),
    );
    ctx.emu.startProcess(
      {
        parent: dcomcnfg,
        image: PATHS.mmc,
        commandLine: '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\comexp.msc"',
        integrity: "High",
      },
      ctx.at(160),
    );
    ctx.emu.endProcess(dcomcnfg, ctx.at(240));
    return ctx.produced();
  },
};
