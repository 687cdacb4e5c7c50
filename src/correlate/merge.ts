/**
 * Time-ordered merge of several event streams (one per input file): a k-way merge where each stream
 * may be out of order by up to `reorderWindowSeconds` (NXLog files mix Sysmon UtcTime with receive
 * times; EVTX files are in record order, not time order). Each stream keeps a small heap; its head is
 * released only once the stream has shown an event later than head + window (or ended), so the output
 * is in time order whenever every stream's disorder is within the window. Memory: the events inside
 * one window per stream. Events without a time are passed through as soon as they are read.
 */
import type { SplunkEvent } from "../events/fields.js";

/** An event with its time and arrival number (ties in time keep arrival order). */
export interface TimedEvent {
  time: number;
  seq: number;
  ev: SplunkEvent;
}
type Entry = TimedEvent;

/** A min-heap of events by (time, arrival): the reorder buffer of mergeByTime and of `serve`. */
export class TimeHeap {
  private readonly items: Entry[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Entry | undefined {
    return this.items[0];
  }
  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): Entry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

interface StreamState {
  it: AsyncIterator<SplunkEvent>;
  heap: TimeHeap;
  maxSeen: number;
  done: boolean;
  index: number;
}

export async function* mergeByTime(
  streams: AsyncIterable<SplunkEvent>[],
  reorderWindowSeconds: number,
): AsyncGenerator<SplunkEvent> {
  const window = Math.max(0, reorderWindowSeconds);
  let seq = 0;
  const untimed: SplunkEvent[] = [];
  const states: StreamState[] = streams.map((s, index) => ({
    it: s[Symbol.asyncIterator](),
    heap: new TimeHeap(),
    maxSeen: Number.NEGATIVE_INFINITY,
    done: false,
    index,
  }));
  const fill = async (s: StreamState): Promise<void> => {
    while (!s.done) {
      const head = s.heap.peek();
      if (head !== undefined && s.maxSeen > head.time + window) return;
      const r = await s.it.next();
      if (r.done) {
        s.done = true;
        return;
      }
      const ev = r.value;
      if (ev.time === undefined) {
        untimed.push(ev);
        continue;
      }
      if (ev.time > s.maxSeen) s.maxSeen = ev.time;
      // seq orders equal times by stream then read order: stable and deterministic.
      s.heap.push({ time: ev.time, seq: seq++, ev });
    }
  };
  try {
    for (const s of states) await fill(s);
    for (;;) {
      while (untimed.length > 0) yield untimed.shift()!;
      let best: StreamState | undefined;
      for (const s of states) {
        const head = s.heap.peek();
        if (head === undefined) continue;
        const b = best?.heap.peek();
        if (b === undefined || less(head, b)) best = s;
      }
      if (best === undefined) break;
      yield best.heap.pop()!.ev;
      await fill(best);
    }
    while (untimed.length > 0) yield untimed.shift()!;
  } finally {
    for (const s of states) if (!s.done) await s.it.return?.();
  }
}
