/**
 * What tests share about their surroundings: paths found from this file (never process.cwd()), and the
 * skip rule of the house: outside CI a test whose tool, service or corpus is missing skips with its
 * reason; under CI=true it never skips (it runs and fails on what is missing).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** ../shared/corpus beside the repository (real telemetry; absent on a user's machine). */
export const corpusDir = path.resolve(repoRoot, "..", "shared", "corpus");

export const inCI = process.env.CI === "true" || process.env.CI === "1";

/**
 * The `skip` option of a test that needs something: false when it is there or under CI (where a missing
 * proof must fail, not skip), else the printed reason.
 */
export function skipUnless(present: boolean, reason: string): string | false {
  if (present) return false;
  return inCI ? false : reason;
}

/** skipUnless for files/folders. */
export function skipUnlessExists(file: string, what = "file"): string | false {
  return skipUnless(existsSync(file), `${what} absent: ${file}`);
}
