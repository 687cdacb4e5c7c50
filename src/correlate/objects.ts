/**
 * The DCOM objects (and the techniques over them) that dcomhunt names in an incident's `object`, and
 * how each is recognised wherever it shows up in the logs: CLSIDs and AppIDs (System 10016 param4/param5,
 * 10028 param4, command lines, script blocks, 4103 payloads), ProgIDs (`GetTypeFromProgID("X", host)`,
 * `CreateObject("X", host)`, Invoke-DCOM's `-Method X`), the server process image the DcomLaunch service
 * starts (Sysmon 1 / 4688 / 5156 / Sysmon 3 / Sysmon 7 Image), and the methods that run code.
 *
 * One table, documented in docs/incidents.md; the rules' CLSID lists (rules/dcom/*.yml) are checked
 * against it by test/correlate/incident.test.ts. CLSIDs and AppIDs are written upper case with braces.
 *
 * | object | ProgID | CLSID | AppID | server image | methods |
 * |---|---|---|---|---|---|
 * | MMC20 | MMC20.Application | {49B2791A-B1AE-4C90-9B8E-E860BA07F889} | {7E0423CD-1119-0928-900C-E6D4A52A0715} | mmc.exe | ExecuteShellCommand |
 * | ShellWindows | - | {9BA05972-F6A8-11CF-A442-00A0C90A8F39} | - | explorer.exe (running) | Item().Document.Application.ShellExecute |
 * | ShellBrowserWindow | - | {C08AFD90-F2A1-11D1-8455-00A0C91F3880} | - | explorer.exe (running) | Document.Application.ShellExecute |
 * | Excel-* | Excel.Application | {00024500-0000-0000-C000-000000000046} | {00020812-0000-0000-C000-000000000046} | excel.exe | DDEInitiate, RegisterXLL, ExecuteExcel4Macro/Run, ActivateMicrosoftApp |
 * | Word | Word.Application | {000209FF-0000-0000-C000-000000000046} | - | winword.exe | |
 * | Outlook | Outlook.Application | {0006F03A-0000-0000-C000-000000000046} | - | outlook.exe | CreateObject |
 * | PowerPoint | PowerPoint.Application | {91493441-5A91-11CF-8700-00AA0060263B} | - | powerpnt.exe | |
 * | Visio | Visio.Application, Visio.InvisibleApp | - | - | visio.exe | Addons |
 * | InternetExplorer(-iertutil) | InternetExplorer.Application | {0002DF01-0000-0000-C000-000000000046} | - | iexplore.exe | (iertutil.dll hijack) |
 * | LethalHTA | htafile | {3050F4D8-98B5-11CF-BB82-00AA00BDCE0B} | - | mshta.exe | |
 * | MSI | WindowsInstaller.Installer | {000C1090-0000-0000-C000-000000000046} | {000C101C-0000-0000-C000-000000000046} (msiserver) | msiexec.exe | IMsiServer / custom actions |
 * | SpeechRuntime | - | - | - | SpeechRuntime.exe | (COM hijack DLL) |
 * | BaaUpdate | - | {AB93B6F1-BE76-4185-A488-A9001B105B94} (BDEUILauncher) | - | BaaUpdate.exe | (COM hijack DLL) |
 */

export interface DcomObject {
  /** The name an incident's `object` (and `variant`) carries. */
  name: string;
  progIds: string[];
  clsids: string[];
  appIds: string[];
  /** Base names of the server process the DcomLaunch service starts for it (lower case). */
  images: string[];
}

/** Object names that refine a generic object when the method is known (Excel.Application's four). */
export const EXCEL_METHODS: [RegExp, string][] = [
  [/\bDDEInitiate\b/i, "Excel-DDE"],
  [/\bRegisterXLL\b|MoveExcelXLL/i, "Excel-XLL"],
  [/\bExecuteExcel4Macro\b/i, "Excel-Macro"],
  [/\bActivateMicrosoftApp\b/i, "Excel-ActivateMicrosoftApp"],
  [/\.Run\(\s*["']/i, "Excel-Macro"],
];

export const DCOM_OBJECTS: DcomObject[] = [
  {
    name: "MMC20",
    progIds: ["MMC20.Application"],
    clsids: ["{49B2791A-B1AE-4C90-9B8E-E860BA07F889}"],
    appIds: ["{7E0423CD-1119-0928-900C-E6D4A52A0715}"],
    images: ["mmc.exe"],
  },
  {
    name: "ShellWindows",
    progIds: ["ShellWindows"],
    clsids: ["{9BA05972-F6A8-11CF-A442-00A0C90A8F39}"],
    appIds: [],
    images: [],
  },
  {
    name: "ShellBrowserWindow",
    progIds: ["ShellBrowserWindow"],
    clsids: ["{C08AFD90-F2A1-11D1-8455-00A0C91F3880}"],
    appIds: [],
    images: [],
  },
  {
    // The method decides Excel-DDE / -XLL / -Macro / -ActivateMicrosoftApp (EXCEL_METHODS).
    name: "Excel",
    progIds: ["Excel.Application"],
    clsids: ["{00024500-0000-0000-C000-000000000046}"],
    appIds: ["{00020812-0000-0000-C000-000000000046}"],
    images: ["excel.exe"],
  },
  {
    name: "Word",
    progIds: ["Word.Application"],
    clsids: ["{000209FF-0000-0000-C000-000000000046}"],
    appIds: [],
    images: ["winword.exe"],
  },
  {
    name: "Outlook",
    progIds: ["Outlook.Application"],
    clsids: ["{0006F03A-0000-0000-C000-000000000046}"],
    appIds: [],
    images: ["outlook.exe"],
  },
  {
    name: "PowerPoint",
    progIds: ["PowerPoint.Application"],
    clsids: ["{91493441-5A91-11CF-8700-00AA0060263B}"],
    appIds: [],
    images: ["powerpnt.exe"],
  },
  {
    name: "Visio",
    progIds: ["Visio.Application", "Visio.InvisibleApp"],
    clsids: [],
    appIds: [],
    images: ["visio.exe"],
  },
  {
    name: "InternetExplorer",
    progIds: ["InternetExplorer.Application"],
    clsids: ["{0002DF01-0000-0000-C000-000000000046}"],
    appIds: [],
    images: ["iexplore.exe"],
  },
  {
    name: "LethalHTA",
    progIds: ["htafile"],
    clsids: ["{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}"],
    appIds: [],
    images: ["mshta.exe"],
  },
  {
    name: "MSI",
    progIds: ["WindowsInstaller.Installer"],
    clsids: ["{000C1090-0000-0000-C000-000000000046}"],
    appIds: ["{000C101C-0000-0000-C000-000000000046}"],
    images: ["msiexec.exe"],
  },
  { name: "SpeechRuntime", progIds: [], clsids: [], appIds: [], images: ["speechruntime.exe"] },
  {
    // BDEUILauncher (runs as the interactive user) starts BaaUpdate.exe, which loads a hijackable class.
    name: "BaaUpdate",
    progIds: [],
    clsids: ["{AB93B6F1-BE76-4185-A488-A9001B105B94}"],
    appIds: [],
    images: ["baaupdate.exe"],
  },
];

/**
 * Every name an incident's `object` can take: the table's objects, the Excel methods, the iertutil
 * hijack, and `unknown` (a CLSID/AppID outside the table; the incident lists it in `clsid`).
 */
export const OBJECT_NAMES: readonly string[] = [
  ...DCOM_OBJECTS.map((o) => o.name),
  ...new Set(EXCEL_METHODS.map(([, n]) => n)),
  "InternetExplorer-iertutil",
  "unknown",
];

const byGuid = new Map<string, DcomObject>();
for (const o of DCOM_OBJECTS) for (const g of [...o.clsids, ...o.appIds]) byGuid.set(g, o);
const byProgId = new Map<string, DcomObject>();
for (const o of DCOM_OBJECTS) for (const p of o.progIds) byProgId.set(p.toLowerCase(), o);
const byImage = new Map<string, DcomObject>();
for (const o of DCOM_OBJECTS) for (const i of o.images) byImage.set(i, o);

const GUID = /\{?([0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})\}?/gi;

/** `{GUID}` upper case, from a GUID with or without braces. */
export function canonicalGuid(text: string): string {
  return `{${text.replace(/[{}]/g, "").toUpperCase()}}`;
}

/** The object a CLSID or AppID names (braces and case do not matter). */
export function objectOfGuid(guid: string): DcomObject | undefined {
  return byGuid.get(canonicalGuid(guid));
}

/** The object whose server process this image is (a full path or a base name). */
export function objectOfImage(image: string): DcomObject | undefined {
  const base = image.slice(Math.max(image.lastIndexOf("\\"), image.lastIndexOf("/")) + 1).toLowerCase();
  return byImage.get(base);
}

export function objectOfProgId(progId: string): DcomObject | undefined {
  const p = progId.trim().toLowerCase();
  return byProgId.get(p) ?? byProgId.get(p.replace(/\.\d+$/, ""));
}

/** How sure a mention is: the object named by an explicit choice beats one merely mentioned. */
export const Strength = {
  /** A CLSID, ProgID or object name merely appears in the text (a toolkit listing its options). */
  Mention: 1,
  /** An activation call names it: GetTypeFromProgID / GetTypeFromCLSID / CreateObject with a literal. */
  Activation: 2,
  /** The object chosen or served: Invoke-DCOM -Method X, a 10016/10028 CLSID, the server process. */
  Explicit: 3,
} as const;
export type Strength = (typeof Strength)[keyof typeof Strength];

export interface ObjectClue {
  object: string;
  strength: Strength;
  /** A CLSID/AppID outside the table (object `unknown`). */
  guid?: string;
}

/** Objects a command line, script block or 4103 payload names, with how explicitly. */
export function objectsInText(text: string): ObjectClue[] {
  const out: ObjectClue[] = [];
  // Invoke-DCOM's -Method (script / command line) and its 4103 parameter binding.
  for (const m of text.matchAll(
    /-Method\s+["']?([A-Za-z0-9.]+)|name="Method";\s*value="([A-Za-z0-9.]+)"/gi,
  )) {
    const name = m[1] ?? m[2];
    const o = objectOfProgId(name);
    if (o) out.push({ object: refine(o.name, text), strength: Strength.Explicit });
    else if (/^ExcelDDE$/i.test(name)) out.push({ object: "Excel-DDE", strength: Strength.Explicit });
    else if (/^RegisterXLL$/i.test(name)) out.push({ object: "Excel-XLL", strength: Strength.Explicit });
  }
  // Activation calls with a literal ProgID / CLSID.
  for (const m of text.matchAll(
    /(?:GetTypeFromProgID|GetTypeFromCLSID|CreateObject|CoCreateInstanceEx?)\s*\(\s*(?:\[[^\]]*\])?\s*["']?\{?([A-Za-z0-9.-]+)\}?["']?/gi,
  )) {
    const o = objectOfGuid(m[1]) ?? objectOfProgId(m[1]);
    if (o) out.push({ object: refine(o.name, text), strength: Strength.Activation });
  }
  // Bare mentions: CLSIDs/AppIDs, ProgIDs.
  for (const m of text.matchAll(GUID)) {
    const o = objectOfGuid(m[1]);
    if (o) out.push({ object: refine(o.name, text), strength: Strength.Mention });
  }
  for (const [progId, o] of byProgId) {
    if (progId.includes(".") && text.toLowerCase().includes(progId))
      out.push({ object: refine(o.name, text), strength: Strength.Mention });
  }
  // Tools whose name says the object.
  if (/MoveExcel|Excel4DCOM/i.test(text))
    out.push({ object: refine("Excel", text), strength: Strength.Activation });
  return out;
}

/** A generic object made specific by the method named in the same text (Excel.Application). */
export function refine(name: string, text: string): string {
  if (name !== "Excel") return name;
  for (const [re, specific] of EXCEL_METHODS) if (re.test(text)) return specific;
  return name;
}

/** Names that say nothing about the object (older variants): the incident model replaces them. */
export const GENERIC_VARIANTS = new Set([
  "Source-Side",
  "Failed-Attempt",
  "DCOM-Server",
  "DCOM",
  "unknown",
  "",
]);
