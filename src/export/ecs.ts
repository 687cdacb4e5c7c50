/**
 * Splunk field view -> Elastic Common Schema, as Elastic's Windows integration (and Winlogbeat's
 * sysmon/security modules) index Sysmon and Security events. Fields without an ECS home stay where
 * those pipelines keep them: `winlog.event_data.<Name>`.
 */
import type { LoadedRule } from "../rules/loader.js";
import { ExportError } from "./types.js";

export interface EcsField {
  name: string;
  /** Indexed as a number (long/ip ports...), not a keyword. */
  numeric: boolean;
}

const ECS: Record<string, EcsField> = {
  _time: { name: "@timestamp", numeric: false },
  host: { name: "host.name", numeric: false },
  Computer: { name: "winlog.computer_name", numeric: false },
  EventCode: { name: "event.code", numeric: false },
  EventID: { name: "event.code", numeric: false },
  Channel: { name: "winlog.channel", numeric: false },
  Name: { name: "winlog.provider_name", numeric: false },
  EventRecordID: { name: "winlog.record_id", numeric: false },
  Image: { name: "process.executable", numeric: false },
  NewProcessName: { name: "process.executable", numeric: false },
  CommandLine: { name: "process.command_line", numeric: false },
  ParentImage: { name: "process.parent.executable", numeric: false },
  ParentProcessName: { name: "process.parent.executable", numeric: false },
  ParentCommandLine: { name: "process.parent.command_line", numeric: false },
  ProcessId: { name: "process.pid", numeric: true },
  ParentProcessId: { name: "process.parent.pid", numeric: true },
  // Security 4688: Elastic's security pipeline maps (and converts from hex) the new process id.
  NewProcessId: { name: "process.pid", numeric: true },
  ProcessGuid: { name: "process.entity_id", numeric: false },
  ParentProcessGuid: { name: "process.parent.entity_id", numeric: false },
  OriginalFileName: { name: "process.pe.original_file_name", numeric: false },
  CurrentDirectory: { name: "process.working_directory", numeric: false },
  SourceIp: { name: "source.ip", numeric: false },
  SourcePort: { name: "source.port", numeric: true },
  DestinationIp: { name: "destination.ip", numeric: false },
  DestinationPort: { name: "destination.port", numeric: true },
  SourceHostname: { name: "source.domain", numeric: false },
  DestinationHostname: { name: "destination.domain", numeric: false },
  Protocol: { name: "network.transport", numeric: false },
  ScriptBlockText: { name: "powershell.file.script_block_text", numeric: false },
};

const UNMAPPABLE = new Set(["_raw", "index", "sourcetype", "source"]);
const CIM = /^(process|process_.*|parent_process.*|user|user_id|dest|dvc|signature_id|vendor_product)$/;

export function ecsField(rule: LoadedRule, target: string, name: string, where?: string): EcsField {
  const known = ECS[name];
  if (known) return known;
  if (UNMAPPABLE.has(name))
    throw new ExportError(
      rule.name,
      target,
      `field '${name}'`,
      "a Splunk metadata field inside the condition has no ECS equivalent",
      where,
    );
  if (CIM.test(name))
    throw new ExportError(
      rule.name,
      target,
      `field '${name}'`,
      "a Splunk CIM alias: write the Windows field name",
      where,
    );
  return { name: `winlog.event_data.${name}`, numeric: false };
}

/** Index patterns of Elastic's Windows integration and Winlogbeat. */
export const ELASTIC_INDICES = "logs-windows.*, logs-system.*, winlogbeat-*";
