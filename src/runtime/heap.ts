/**
 * A bound on the V8 heap of a long run (`serve`, and `scan`/`search`/`convert` over large inputs).
 * Their live data is small or bounded (serve: the queue, reorder buffer, duplicate filter and
 * correlation partials, about 50 MB in the benchmark's heap snapshot; search: the spill buffers of
 * spl/spill.ts), but at thousands of events per second V8 lets garbage pile up in the old generation
 * for hundreds of MB before a full collection (serve's RSS climbed to 450-520 MB in 30-75 s runs, in a
 * saw tooth; a search over 1M events peaked at 381-473 MB). `--max-old-space-size` would fix that but
 * is a start-up flag and turns a run whose live data is truly large into an out-of-memory crash.
 *
 * This guard checks the heap once a second and runs a full collection when it has grown past the
 * threshold: `limitBytes`, or twice what was live after the last collection when that is larger, so
 * a run whose live data is large pays for a full collection only when its garbage has doubled (it is
 * slowed, never stopped).
 */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

/** The threshold `scan`, `search` and `convert` use, checked every 500 ms (serve: its `--max-heap`, 160 MB). */
export const HEAP_GUARD_BYTES = 128 * 1048576;

export interface HeapGuard {
  /** Full collections forced so far. */
  readonly collections: number;
  /** The heap size that triggers the next collection. */
  readonly threshold: number;
  stop(): void;
}

export function startHeapGuard(limitBytes: number, everyMs = 1000): HeapGuard {
  // (The collector is fetched at its first use: a short run never pays for the extra context.)
  let gc: (() => void) | undefined;
  const state = { collections: 0, threshold: limitBytes };
  const timer = setInterval(() => {
    if (process.memoryUsage().heapUsed > state.threshold) {
      if (gc === undefined) {
        v8.setFlagsFromString("--expose-gc");
        gc = runInNewContext("gc") as () => void;
      }
      gc();
      state.collections++;
      state.threshold = Math.max(limitBytes, 2 * process.memoryUsage().heapUsed);
    }
  }, everyMs);
  timer.unref();
  return {
    get collections() {
      return state.collections;
    },
    get threshold() {
      return state.threshold;
    },
    stop: () => clearInterval(timer),
  };
}

let processGuard: HeapGuard | undefined;

/**
 * The one guard of the process for `scan`, `search` and `convert` (started at their first run: commands
 * run in-process, by tests or a caller, never stack up timers).
 */
export function ensureHeapGuard(): HeapGuard {
  processGuard ??= startHeapGuard(HEAP_GUARD_BYTES, 500);
  return processGuard;
}
