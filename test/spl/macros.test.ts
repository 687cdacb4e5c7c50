/** Search macros in macros.conf syntax. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { loadMacros, parseMacros, parseSpl, printSpl, SplError } from "../../src/spl/index.js";
import { column, sysmon1 } from "./helpers.js";

const CONF = `# dcomhunt macros
[sysmon]
definition = index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"

[office_parent]
definition = (ParentImage="*\\\\excel.exe" OR \\
  ParentImage="*\\\\winword.exe")

[child_named(1)]
args = name
definition = Image="*\\\\$name$"

[proc(2)]
args = parent, child
definition = \`sysmon\` EventCode=1 ParentImage="*\\\\$parent$" \`child_named($child$)\`

[loop]
definition = \`loop\`

[evalmacro]
definition = 1+1
iseval = 0
`;

describe("macros", () => {
  test("definitions with arguments, continuation lines and nesting expand before parsing", () => {
    const macros = parseMacros(CONF);
    assert.equal(
      printSpl(parseSpl("`proc(mmc.exe, cmd.exe)` | table Image", { macros })),
      'index=wineventlog sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 ParentImage="*\\\\mmc.exe" Image="*\\\\cmd.exe" | table Image',
    );
    assert.match(
      printSpl(parseSpl("`office_parent`", { macros })),
      /ParentImage="\*\\\\excel\.exe" OR ParentImage="\*\\\\winword\.exe"/,
    );
  });

  test("loadMacros reads a file; macros work in a search", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "spl-macros-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "macros.conf");
    writeFileSync(file, CONF);
    const macros = loadMacros(file);
    const list = [
      sysmon1("2020-10-08T11:00:00Z", {
        ParentImage: "C:\\Windows\\System32\\mmc.exe",
        Image: "C:\\Windows\\System32\\cmd.exe",
        id: "hit",
      }),
      sysmon1("2020-10-08T11:00:01Z", {
        ParentImage: "C:\\Windows\\System32\\mmc.exe",
        Image: "C:\\Windows\\System32\\calc.exe",
        id: "miss",
      }),
    ];
    assert.deepEqual(await column("`proc(mmc.exe,cmd.exe)`", list, "id", { macros }), ["hit"]);
  });

  test("backticks inside quoted strings are literal", () => {
    const p = parseSpl('CommandLine="*`whoami`*"', { macros: parseMacros(CONF) });
    const s = p.commands[0];
    assert.ok(s.name === "search" && s.expr?.kind === "compare" && s.expr.value === "*`whoami`*");
  });

  test("unknown macros, wrong argument counts and recursion are errors with a position", () => {
    const macros = parseMacros(CONF);
    assert.throws(
      () => parseSpl("a=1 `nosuch`", { macros }),
      (e: Error) => e instanceof SplError && e.col === 5 && /unknown macro 'nosuch'/.test(e.message),
    );
    assert.throws(() => parseSpl("`child_named(a, b)`", { macros }), /unknown macro 'child_named\(2\)'/);
    assert.throws(() => parseSpl("`loop`", { macros }), /too deeply/);
    assert.throws(
      () => parseMacros("[m(2)]\nargs = a\ndefinition = x\n", "m.conf"),
      (e: Error) => e instanceof SplError && e.file === "m.conf" && e.line === 1,
    );
    assert.throws(() => parseMacros("[m]\ndefinition = 1\niseval = 1\n"), /iseval macros are not supported/);
  });
});

describe("macros inside quoted strings (decision D-macro-quotes)", () => {
  test("a known macro is expanded inside quotes; any other backtick stays literal", () => {
    const macros = parseMacros("[window]\ndefinition = -30d@d\n[sec]\ndefinition = EventCode=4624\n");
    const p = parseSpl('* | where x > relative_time(now(), "`window`") | map search="search `sec` id=$id$"', {
      macros,
    });
    const text = printSpl(p);
    assert.match(text, /relative_time\(now\(\), "-30d@d"\)/);
    assert.match(text, /search EventCode=4624 id=\$id\$/);
    const literal = parseSpl('CommandLine="*i`e`x*"', { macros });
    assert.match(printSpl(literal), /CommandLine="\*i`e`x\*"/);
  });
});
