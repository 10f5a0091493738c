/**
 * An EventRing for browsers: the same contract as core's (capacity, drop-oldest with a count,
 * an arena bound on queued payload bytes, `poll()` into `polled`/`arena`), without Node's
 * `buffer` module, which `src/core/event-ring.ts` imports. TODO(issue 6): use core's EventRingJs
 * once it no longer imports `node:buffer`.
 */
import { ErrorCode } from '../core/errors.js';
import { EVENT_RING_ARENA_BYTES, EVENT_RING_CAPACITY } from '../core/limits.js';
import { RING_ENTRY_STRIDE, type EventRing, type EventRingOptions } from '../core/types.js';

/** A queue of events; payloads are copied on push and laid out in `arena` at poll. */
export class SimpleEventRing implements EventRing {
  readonly capacity: number;
  readonly arenaBytes: number;
  arena: Uint8Array = new Uint8Array(0);
  readonly polled: Float64Array;
  private readonly meta: number[][] = [];
  private readonly payloads: Uint8Array[] = [];
  private head = 0;
  private liveBytes = 0;
  private drops = 0;

  /** @throws RangeError on a capacity or arenaBytes out of range */
  constructor(options: EventRingOptions = {}) {
    const capacity = options.capacity ?? EVENT_RING_CAPACITY;
    const arenaBytes = options.arenaBytes ?? EVENT_RING_ARENA_BYTES;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 31 - 1) throw new RangeError(`capacity must be an integer in [1, ${2 ** 31 - 1}], got ${capacity}`);
    if (!Number.isInteger(arenaBytes) || arenaBytes < 0) throw new RangeError(`arenaBytes must be a non-negative integer, got ${arenaBytes}`);
    this.capacity = capacity;
    this.arenaBytes = arenaBytes;
    this.polled = new Float64Array(capacity * RING_ENTRY_STRIDE);
  }

  get size(): number {
    return this.meta.length - this.head;
  }

  get dropped(): number {
    return this.drops;
  }

  push(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number {
    if (length > this.arenaBytes) return -ErrorCode.RingPayloadTooLarge;
    const before = this.drops;
    while (this.size > 0 && (this.size >= this.capacity || this.liveBytes + length > this.arenaBytes)) this.dropOldest();
    this.meta.push([kind, peer, timestamp]);
    this.payloads.push(payload.slice(offset, offset + length));
    this.liveBytes += length;
    return this.drops - before;
  }

  pushBatch(meta: Float64Array, count: number, payloads: Uint8Array): number {
    let total = 0;
    for (let i = 0; i < count; i++) {
      const m = i * RING_ENTRY_STRIDE;
      const r = this.push(meta[m]!, meta[m + 1]!, meta[m + 2]!, payloads, meta[m + 3]!, meta[m + 4]!);
      if (r < 0) return r;
      total += r;
    }
    return total;
  }

  poll(): number {
    const n = this.size;
    if (this.arena.length < this.liveBytes) this.arena = new Uint8Array(this.liveBytes);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const m = this.meta[this.head + i]!;
      const p = this.payloads[this.head + i]!;
      const s = i * RING_ENTRY_STRIDE;
      this.polled[s] = m[0]!;
      this.polled[s + 1] = m[1]!;
      this.polled[s + 2] = m[2]!;
      this.polled[s + 3] = at;
      this.polled[s + 4] = p.length;
      this.arena.set(p, at);
      at += p.length;
    }
    this.meta.length = 0;
    this.payloads.length = 0;
    this.head = 0;
    this.liveBytes = 0;
    return n;
  }

  private dropOldest(): void {
    this.liveBytes -= this.payloads[this.head]!.length;
    this.head++;
    this.drops++;
    // Compact now and then, so dropping stays O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.meta.length) {
      this.meta.splice(0, this.head);
      this.payloads.splice(0, this.head);
      this.head = 0;
    }
  }
}
