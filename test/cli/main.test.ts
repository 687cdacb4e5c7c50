import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run } from "../../src/cli/main.js";

describe("dcomhunt command line", () => {
  test("every command answers --help with exit 0 and the main help lists them", async () => {
    const commands = ["scan", "search", "rules", "validate", "emulate", "export", "convert"];
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      for (const c of commands) assert.equal(await run([c, "--help"]), 0, c);
      written.length = 0;
      assert.equal(await run(["--help"]), 0);
    } finally {
      process.stdout.write = original;
    }
    const help = written.join("");
    for (const c of commands) assert.match(help, new RegExp(`^  ${c} `, "m"), `main help lists ${c}`);
  });

  test("no command, or an unknown one, is a usage error", async () => {
    assert.equal(await run(["frobnicate"]), 2);
  });
});
