/** Values of Sigma `expand` placeholders, from a YAML map `name: [value, ...]` (or `name: value`). */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { RuleError } from "../rules/loader.js";

const requireCjs = createRequire(import.meta.url);

export function loadSigmaPlaceholders(file: string): Record<string, string[]> {
  let doc: unknown;
  try {
    doc = (requireCjs("yaml") as typeof import("yaml")).parse(readFileSync(file, "utf8"), {
      maxAliasCount: 100,
    });
  } catch (err) {
    throw new RuleError([
      { file, line: 1, col: 1, message: `placeholders: ${(err as Error).message.split("\n")[0]}` },
    ]);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw new RuleError([
      { file, line: 1, col: 1, message: "placeholders: expected a map of name -> values" },
    ]);
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v];
    if (!values.every((x) => typeof x === "string" || typeof x === "number"))
      throw new RuleError([
        { file, line: 1, col: 1, message: `placeholders: '${name}' needs string values` },
      ]);
    out[name] = values.map(String);
  }
  return out;
}
