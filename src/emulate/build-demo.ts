/**
 * Builds the bundled demo data (`demo/demo.evtx`, what `dcomhunt scan` reads with no input) from
 * the emulation scenarios: a few attacks and their benign look-alikes on the same hosts and
 * accounts, plus background noise.
 *
 *   node --import tsx src/emulate/build-demo.ts          # rewrite demo/demo.evtx
 *   node --import tsx src/emulate/build-demo.ts --check  # exit 1 if the committed file is stale
 *
 * test/emulate/demo.test.ts checks that the committed file equals what this script generates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { emulate } from "./index.js";
import { renderEvtx } from "./output.js";

export const DEMO_SCENARIOS: readonly string[] = [
  "remote-mmc20",
  "benign-admin-wmi",
  "remote-shellwindows",
  "benign-office-macro",
  "remote-excel-xll",
  "benign-mmc-snapin-cmd",
  "remote-denied",
  "benign-dev-dcom-test",
];

export const DEMO_OPTIONS = { seed: 1, start: "2024-03-12T09:00:00Z", noise: 30 } as const;

/** The demo file's path relative to the repository root. */
export const DEMO_FILE = "demo/demo.evtx";

export function buildDemo(): Uint8Array {
  return renderEvtx(emulate([...DEMO_SCENARIOS], DEMO_OPTIONS));
}

function main(): void {
  const root = path.resolve(fileURLToPath(import.meta.url), "../../..");
  const file = path.join(root, DEMO_FILE);
  const bytes = buildDemo();
  if (process.argv.includes("--check")) {
    const same = Buffer.compare(Buffer.from(readFileSync(file)), Buffer.from(bytes)) === 0;
    process.stdout.write(
      same
        ? `${DEMO_FILE} is up to date\n`
        : `${DEMO_FILE} is stale: run node --import tsx src/emulate/build-demo.ts\n`,
    );
    process.exitCode = same ? 0 : 1;
    return;
  }
  writeFileSync(file, bytes);
  process.stdout.write(`wrote ${DEMO_FILE} (${bytes.length} bytes)\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
