/** Shared by the serve tests: a seed-rule hit as event XML, HTTP helpers, a rules set compiled once. */
import { defaultFieldViewOptions } from "../../src/events/fields.js";
import { selectRules } from "../../src/rules/loader.js";
import { type CompiledRule, compileRules, type RunOptions } from "../../src/rules/run.js";

export const runOptions: RunOptions = { fieldView: defaultFieldViewOptions };

export function allRules(): CompiledRule[] {
  return compileRules(selectRules([]), runOptions);
}

/** A Sysmon process creation that the seed rule reports (mmc.exe starting cmd.exe). */
export function seedHitXml(recordId: number, computer = "SRV-APP02.corp.local", second = 1): string {
  const t = `2024-03-12T09:00:${String(second % 60).padStart(2, "0")}.000`;
  return (
    `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>` +
    `<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"/>` +
    `<EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>` +
    `<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="${t}0000Z"/>` +
    `<EventRecordID>${recordId}</EventRecordID><Correlation/><Execution ProcessID="2044" ThreadID="3120"/>` +
    `<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>${computer}</Computer>` +
    `<Security UserID="S-1-5-18"/></System><EventData>` +
    `<Data Name="UtcTime">${t.replace("T", " ")}</Data>` +
    `<Data Name="ProcessGuid">{8a3c1d2e-0000-0000-0000-${String(recordId).padStart(12, "0")}}</Data>` +
    `<Data Name="ProcessId">${4000 + (recordId % 1000)}</Data>` +
    `<Data Name="Image">C:\\Windows\\System32\\cmd.exe</Data>` +
    `<Data Name="CommandLine">cmd.exe /c whoami</Data>` +
    `<Data Name="User">CORP\\admin</Data>` +
    `<Data Name="ParentImage">C:\\Windows\\System32\\mmc.exe</Data>` +
    `<Data Name="ParentCommandLine">C:\\Windows\\System32\\mmc.exe -Embedding</Data>` +
    `</EventData></Event>`
  );
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

export async function call(
  base: string,
  path: string,
  init: {
    method?: string;
    token?: string;
    auth?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.auth !== undefined) headers.authorization = init.auth;
  else if (init.token !== undefined) headers.authorization = `Splunk ${init.token}`;
  const res = await fetch(base + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body,
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // text answers (metrics)
  }
  return { status: res.status, body, text };
}

/** Value of one metric line (no labels) in Prometheus text. */
export function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}
