/**
 * A saved result (what `scan --format json|ndjson` wrote, best with `--report-data`) turned into the HTML
 * page. NDJSON is read line by line; a JSON array is parsed whole. A line that is not a JSON object is
 * reported with its line number and left out; the page is still written.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { htmlPage, type ReportApp } from "./page.js";

export interface SavedResultProblem {
  location: string;
  reason: string;
}

export interface SavedResultSummary {
  elements: number;
  problems: SavedResultProblem[];
}

/** Thrown when the whole file cannot be used (not JSON at all). */
export class SavedResultError extends Error {}

function firstChar(file: string): string {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return (
      buf
        .subarray(0, n)
        .toString("utf8")
        .replace(/^\uFEFF/, "")
        .trimStart()[0] ?? ""
    );
  } finally {
    closeSync(fd);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export async function writeSavedResultPage(
  file: string,
  write: (text: string) => void,
  app: ReportApp,
): Promise<SavedResultSummary> {
  const page = htmlPage(app);
  const problems: SavedResultProblem[] = [];
  let elements = 0;
  const head = firstChar(file);
  if (head === "[") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8").replace(/^\uFEFF/, ""));
    } catch (err) {
      throw new SavedResultError(`${file}: not a JSON result: ${(err as Error).message}`);
    }
    write(page.open());
    for (const [i, v] of (parsed as unknown[]).entries()) {
      if (!isObject(v)) {
        problems.push({ location: `element ${i + 1}`, reason: "not a JSON object (left out)" });
        continue;
      }
      write(page.element(v));
      elements++;
    }
  } else if (head === "{" || head === "") {
    write(page.open());
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const raw of lines) {
      n++;
      const line = raw.replace(/^\uFEFF/, "").trim();
      if (line === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (err) {
        problems.push({
          location: `line ${n}`,
          reason: `invalid JSON (${(err as Error).message}), left out`,
        });
        continue;
      }
      if (!isObject(v)) {
        problems.push({ location: `line ${n}`, reason: "not a JSON object (left out)" });
        continue;
      }
      write(page.element(v));
      elements++;
    }
  } else {
    throw new SavedResultError(`${file}: not a JSON or NDJSON result (it starts with '${head}')`);
  }
  write(page.close());
  return { elements, problems };
}
