import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import type { SystemFields, WinEvent, XmlElement } from "../../src/events/model.js";
import { ticksFromIso } from "../../src/events/time.js";
import { renderEventXml } from "../../src/events/xml.js";
import { readXml } from "../../src/readers/xml.js";
import { skipUnless } from "../helpers/env.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../fixtures/readers");
const golden = path.resolve(here, "../../../shared/corpus/golden");
const goldenSkip = skipUnless(existsSync(golden), `corpus absent: ${golden}`);

async function collect(gen: AsyncIterable<WinEvent>): Promise<WinEvent[]> {
  const out: WinEvent[] = [];
  for await (const ev of gen) out.push(ev);
  return out;
}

async function* once(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, "utf8");
}

function content(ev: WinEvent) {
  const { provenance: _p, extra: _e, ...rest } = ev;
  return rest;
}

async function roundTrip(ev: WinEvent, opts?: Parameters<typeof renderEventXml>[1]): Promise<WinEvent> {
  const xml = renderEventXml(ev, opts);
  const issues: string[] = [];
  const back = await collect(readXml(once(xml), { onIssue: (i) => issues.push(i.reason) }));
  assert.deepEqual(issues, [], xml);
  assert.equal(back.length, 1, xml);
  return back[0];
}

const sample: WinEvent = {
  system: {
    providerName: "Microsoft-Windows-Sysmon",
    providerGuid: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
    eventID: "1",
    version: "5",
    level: "4",
    task: "1",
    opcode: "0",
    keywords: "0x8000000000000000",
    systemTime: "2020-09-18T17:05:52.7820000Z",
    eventRecordID: "1701000",
    processID: "3392",
    threadID: "5552",
    channel: "Microsoft-Windows-Sysmon/Operational",
    computer: "WORKSTATION6.theshire.local",
    userID: "S-1-5-18",
  },
  eventData: [
    { name: "RuleName", value: "" },
    { name: "CommandLine", value: `cmd.exe /c "echo it's a & b > c"` },
    { name: "Note", value: "O'Brien <x>" },
  ],
  provenance: { file: "x", format: "xml" },
};

describe("renderEventXml", () => {
  test("windows style: namespace, Windows' element order, double quotes, escaping", () => {
    assert.equal(
      renderEventXml(sample),
      '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>' +
        '<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>' +
        "<EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>" +
        '<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2020-09-18T17:05:52.7820000Z"/>' +
        '<EventRecordID>1701000</EventRecordID><Correlation/><Execution ProcessID="3392" ThreadID="5552"/>' +
        "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WORKSTATION6.theshire.local</Computer>" +
        '<Security UserID="S-1-5-18"/></System><EventData><Data Name="RuleName"/>' +
        '<Data Name="CommandLine">cmd.exe /c "echo it\'s a &amp; b &gt; c"</Data>' +
        '<Data Name="Note">O\'Brien &lt;x&gt;</Data></EventData></Event>',
    );
  });

  test("splunk style: single-quoted attributes, &apos; in attributes, quotes literal in text, one line", () => {
    const ev: WinEvent = {
      ...sample,
      eventData: [...sample.eventData, { name: "it's", value: "v" }],
      system: { ...sample.system, qualifiers: "16384" },
    };
    const xml = renderEventXml(ev, { style: "splunk", indent: true });
    assert.ok(!xml.includes("\n"));
    assert.ok(
      xml.startsWith("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"),
    );
    assert.ok(
      xml.includes(
        "<Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/>",
      ),
    );
    assert.ok(xml.includes("<EventID Qualifiers='16384'>1</EventID>"));
    assert.ok(xml.includes(`<Data Name='CommandLine'>cmd.exe /c "echo it's a &amp; b &gt; c"</Data>`));
    assert.ok(xml.includes("<Data Name='it&apos;s'>v</Data>"));
    assert.ok(xml.includes("<Security UserID='S-1-5-18'/>"));
  });

  test("undefined elements are omitted (Correlation and Security are always written, as Windows does); Binary, UserData and RenderingInfo rendered", () => {
    const ev: WinEvent = {
      system: { eventID: "1102" },
      eventData: [],
      binary: "0A0B",
      userData: {
        name: "LogFileCleared",
        attributes: [["xmlns", "http://manifests.microsoft.com/win/2004/08/windows/eventlog"]],
        children: [{ name: "SubjectUserName", attributes: [], children: ["Administrator"] }],
      },
      renderingInfo: { Culture: "en-US", Message: "The audit log was cleared.", Keywords: ["Audit Success"] },
      provenance: { file: "x", format: "xml" },
    };
    assert.equal(
      renderEventXml(ev),
      '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1102</EventID><Correlation/><Security/></System>' +
        "<EventData><Binary>0A0B</Binary></EventData>" +
        '<UserData><LogFileCleared xmlns="http://manifests.microsoft.com/win/2004/08/windows/eventlog">' +
        "<SubjectUserName>Administrator</SubjectUserName></LogFileCleared></UserData>" +
        '<RenderingInfo Culture="en-US"><Message>The audit log was cleared.</Message>' +
        "<Keywords><Keyword>Audit Success</Keyword></Keywords></RenderingInfo></Event>",
    );
    const pretty = renderEventXml(ev, { indent: true });
    assert.ok(
      pretty.includes(
        "\n  <System>\n    <EventID>1102</EventID>\n    <Correlation/>\n    <Security/>\n  </System>",
      ),
      pretty,
    );
  });

  test("round trip on every fixture event, both styles, with and without indentation", async () => {
    const events = await collect(readXml(path.join(fixtures, "windows-events.xml")));
    assert.equal(events.length, 5);
    const mixed: WinEvent = {
      ...events[3],
      userData: {
        name: "Mixed",
        attributes: [],
        children: ["text ", { name: "b", attributes: [["k", "a\tb\nc"]], children: ["bold"] }, " tail\r\n"],
      },
    };
    for (const ev of [...events, mixed]) {
      for (const opts of [undefined, { indent: true }, { style: "splunk" as const }]) {
        assert.deepEqual(content(await roundTrip(ev, opts)), content(ev), JSON.stringify(opts));
      }
    }
  });

  test("round trip on the golden corpus events", { skip: goldenSkip }, async () => {
    let n = 0;
    for (const f of readdirSync(golden).filter((x) => x.endsWith(".evtxexport.xml"))) {
      for await (const ev of readXml(path.join(golden, f))) {
        assert.deepEqual(
          content(await roundTrip(ev, n % 2 === 0 ? undefined : { style: "splunk" })),
          content(ev),
          f,
        );
        n++;
      }
    }
    // 5,250 events in the original golden set; the evtx-edge dumps added later bring more.
    assert.ok(n >= 5250, `round-tripped ${n} events`);
  });

  test("property: readXml(renderEventXml(ev)) equals ev", async () => {
    // any code point except surrogate halves, with the XML specials made frequent
    const specials = fc.constantFrom(
      "&",
      "<",
      ">",
      '"',
      "'",
      "]]>",
      "\r",
      "\n",
      "\t",
      " ",
      "\u0000",
      "\u0001",
      "é",
      "😀",
    );
    const text = fc.string({
      unit: fc.oneof(specials, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
      maxLength: 12,
    });
    const nonEmpty = text.filter((s) => s.length > 0);
    const trimmed = text.map((s) => s.trim());
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
    const leaf: fc.Arbitrary<XmlElement> = fc.record({
      name,
      attributes: fc.array(fc.tuple(name, text), { maxLength: 2 }),
      children: fc.option(nonEmpty, { nil: undefined }).map((t) => (t === undefined ? [] : [t])),
    });
    const element: fc.Arbitrary<XmlElement> = fc.oneof(
      leaf,
      fc.record({
        name,
        attributes: fc.array(fc.tuple(name, text), { maxLength: 2 }),
        children: fc.array(leaf, { minLength: 1, maxLength: 3 }),
      }),
    );
    const system: fc.Arbitrary<SystemFields> = fc.record(
      {
        providerName: nonEmpty,
        providerGuid: nonEmpty,
        eventSourceName: nonEmpty,
        eventID: trimmed,
        qualifiers: nonEmpty,
        version: trimmed,
        level: trimmed,
        task: trimmed,
        opcode: trimmed,
        keywords: trimmed,
        systemTime: fc.oneof(
          fc
            .date({ min: new Date("1990-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
            .map((d) => d.toISOString()),
          nonEmpty,
        ),
        eventRecordID: trimmed,
        activityID: nonEmpty,
        relatedActivityID: nonEmpty,
        processID: nonEmpty,
        threadID: nonEmpty,
        channel: text,
        computer: text,
        userID: nonEmpty,
      },
      { requiredKeys: ["eventID"] },
    );
    const event: fc.Arbitrary<WinEvent> = fc
      .record(
        {
          system,
          eventData: fc.array(fc.record({ name: fc.option(text, { nil: undefined }), value: text }), {
            maxLength: 4,
          }),
          binary: text,
          userData: element,
          renderingInfo: fc.record(
            {
              Culture: text,
              Message: text,
              Level: text,
              Task: text,
              Keywords: fc.array(text, { maxLength: 2 }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ["system", "eventData"] },
      )
      .map((raw) => {
        // plain objects (fast-check builds null-prototype records, which deepEqual tells apart)
        const r = JSON.parse(JSON.stringify(raw)) as typeof raw;
        const ev: WinEvent = { ...r, provenance: { file: "p", format: "xml" } };
        const ticks = ev.system.systemTime !== undefined ? ticksFromIso(ev.system.systemTime) : undefined;
        if (ticks !== undefined) ev.timeTicks = ticks;
        return ev;
      });
    await fc.assert(
      fc.asyncProperty(
        event,
        fc.constantFrom(undefined, { indent: true }, { style: "splunk" as const }),
        async (ev, opts) => {
          assert.deepEqual(content(await roundTrip(ev, opts)), content(ev));
        },
      ),
      { numRuns: 300 },
    );
  });
});
