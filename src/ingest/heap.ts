/**
 * A bound on the V8 heap of a long-running `serve` process. Its live data is small and bounded (the
 * queue, the reorder buffer, the duplicate filter, correlation partials: about 50 MB in the benchmark's
 * heap snapshot), but at thousands of events per second V8 lets garbage pile up in the old generation
 * for hundreds of MB before a full collection (the RSS climbed to 450-520 MB in 30-75 s runs, in a saw
 * tooth). `--max-old-space-size` would fix that but is a start-up flag; this guard checks the heap once
 * a second and runs a full collection when it has grown past the limit.
 */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

export interface HeapGuard {
  /** Full collections forced so far. */
  readonly collections: number;
  stop(): void;
}

export function startHeapGuard(limitBytes: number, everyMs = 1000): HeapGuard {
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const state = { collections: 0 };
  const timer = setInterval(() => {
    if (process.memoryUsage().heapUsed > limitBytes) {
      gc();
      state.collections++;
    }
  }, everyMs);
  timer.unref();
  return {
    get collections() {
      return state.collections;
    },
    stop: () => clearInterval(timer),
  };
}
