import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { expandInputs, readInputs } from "../../src/readers/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "dcomhunt-expand-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (id: number) =>
  `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID><EventRecordID>${id}</EventRecordID><Channel>c</Channel><Computer>h</Computer></System></Event>\n`;

test("expandInputs lists files in readInputs' order and survives a symlink loop", async () => {
  mkdirSync(path.join(dir, "b/sub"), { recursive: true });
  writeFileSync(path.join(dir, "b/sub/2.xml"), event(2));
  writeFileSync(path.join(dir, "a.xml"), event(1));
  writeFileSync(path.join(dir, "c.xml"), event(3));
  symlinkSync(dir, path.join(dir, "b/sub/loop"));
  const files = expandInputs([dir]).map((f) => path.relative(dir, f));
  assert.deepEqual(files, ["a.xml", "b/sub/2.xml", "c.xml"]);
  const read: string[] = [];
  for await (const ev of readInputs([dir])) read.push(path.relative(dir, ev.provenance.file));
  assert.deepEqual(read, files);
});
