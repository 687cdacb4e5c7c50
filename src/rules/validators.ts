/**
 * JSON Schema validators of rule files and `sequence:` blocks. `npm run build` writes ajv's standalone
 * (precompiled) validators to dist/generated/ (scripts/build-validators.mjs); the installed command
 * loads those and never compiles a schema at run time. Run from source (tests, tsx) where no generated
 * validator sits beside this module, the schema is compiled with ajv once per process.
 */
import { createRequire } from "node:module";
import type { ErrorObject } from "ajv";

export interface SchemaValidator<T = unknown> {
  (data: unknown): data is T;
  errors?: ErrorObject[] | null;
}

const require = createRequire(import.meta.url);

/** The options every validator is compiled with (at build time and in the fallback). */
export const AJV_OPTIONS = { allErrors: true, strict: false } as const;

const cache = new Map<string, SchemaValidator>();

/** The precompiled validator `name` (dist/generated/<name>.cjs), else `schema` compiled with ajv. */
export function schemaValidator<T>(name: string, schema: object): SchemaValidator<T> {
  let v = cache.get(name);
  if (!v) {
    v = precompiled(name) ?? compile(schema);
    cache.set(name, v);
  }
  return v as SchemaValidator<T>;
}

function precompiled(name: string): SchemaValidator | undefined {
  try {
    const mod = require(`../generated/${name}.cjs`) as SchemaValidator | { default: SchemaValidator };
    return typeof mod === "function" ? mod : mod.default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}

function compile(schema: object): SchemaValidator {
  const { Ajv } = require("ajv") as typeof import("ajv");
  return new Ajv(AJV_OPTIONS).compile(schema) as SchemaValidator;
}
