/** Options shared by every command that shows events as Splunk would (convert, scan, search). */
import { defaultFieldViewOptions, type FieldViewOptions } from "../events/fields.js";
import { assertValidZone } from "../events/zone.js";
import { choiceOpt, type ParsedArgs, stringOpt, UsageError } from "./common.js";

export const fieldViewOptionSpecs = {
  tz: { type: "string" },
  "sourcetype-style": { type: "string" },
  index: { type: "string" },
  "host-from": { type: "string" },
  "raw-entities": { type: "boolean" },
} as const;

export const fieldViewOptionHelp: Record<string, string> = {
  tz: "zone for local times without offset and for display (IANA name, default UTC)",
  "sourcetype-style": "legacy (XmlWinEventLog:<Channel>, default) or modern (XmlWinEventLog)",
  index: "index of every event (default wineventlog)",
  "host-from": "host field: computer (default), computer-short, or a fixed NAME",
  "raw-entities": "keep &amp; &lt; &gt; in field values, as Splunk's extraction does",
};

export function fieldViewFromArgs(values: ParsedArgs["values"], command: string): FieldViewOptions {
  const tz = stringOpt(values, "tz") ?? "UTC";
  try {
    assertValidZone(tz);
  } catch {
    throw new UsageError(`${command}: --tz: unknown time zone '${tz}'`);
  }
  const hostFrom = stringOpt(values, "host-from") ?? "computer";
  const index = stringOpt(values, "index") ?? defaultFieldViewOptions.index;
  if (index === "") throw new UsageError(`${command}: --index must not be empty`);
  return {
    index,
    sourcetypeStyle: choiceOpt(values, "sourcetype-style", ["legacy", "modern"] as const, "legacy", command),
    host:
      hostFrom === "computer"
        ? { from: "computer" }
        : hostFrom === "computer-short"
          ? { from: "computer-short" }
          : { name: hostFrom },
    decodeEntities: values["raw-entities"] !== true,
    tz,
  };
}
