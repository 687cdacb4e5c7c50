import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureHeapGuard, startHeapGuard } from "../../src/runtime/heap.js";

test("heap guard: a full collection past the threshold, then the threshold is twice the live heap", async () => {
  // A threshold of 1 byte is always passed: the guard must collect and then raise its threshold.
  const guard = startHeapGuard(1, 5);
  try {
    for (let i = 0; i < 200 && guard.collections === 0; i++) await sleep(5);
    assert.ok(guard.collections >= 1, "no collection was forced");
    const live = process.memoryUsage().heapUsed;
    // Raised to about twice what was live after the collection (never back to 1 byte).
    assert.ok(guard.threshold > live / 4, `threshold ${guard.threshold} vs heap ${live}`);
  } finally {
    guard.stop();
  }
});

test("heap guard: below the threshold nothing is collected", async () => {
  const guard = startHeapGuard(Number.MAX_SAFE_INTEGER, 5);
  try {
    await sleep(40);
    assert.equal(guard.collections, 0);
  } finally {
    guard.stop();
  }
});

test("heap guard: scan, search and convert share one guard per process", () => {
  assert.equal(ensureHeapGuard(), ensureHeapGuard());
});
