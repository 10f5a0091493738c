/**
 * EventRing, the TypeScript twin of `native/event-ring.{h,cc}`: a fixed-capacity FIFO of events
 * whose payloads live in one arena used as a circular byte FIFO. The same pushes drop the same
 * entries and give the same offsets in both twins (test/core/event-ring.test.ts compares them).
 */
import { ErrorCode } from './errors.js';
import { RING_ENTRY_STRIDE, type EventRing, type EventRingOptions } from './types.js';
import { checkRingBatch, checkRingPush, eventRingOptions } from './validate.js';

/** Below this a byte loop beats creating a subarray view for set() (no allocation per push). */
const SMALL_COPY_BYTES = 32;

/**
 * A fixed-capacity queue of events `(kind, peer, timestamp, payload)`, polled all at once.
 *
 * Payloads are copied into `arena`, one contiguous run each; a payload that does not fit before
 * the arena's end goes to offset 0 and the tail is left unused until the FIFO passes it. When
 * the ring holds `capacity` entries, a push drops the oldest; when the arena is short of space,
 * the oldest entries are dropped until the payload fits. Every drop is counted in `dropped`:
 * nothing is lost silently (DESIGN.md "Events and errors"). A zero-length payload takes no
 * arena space and is reported at offset 0.
 *
 * @example
 * const ring = new EventRingJs({ capacity: 2000 });
 * ring.push(kind, peer, performance.now(), bytes, 0, bytes.length);
 * const n = ring.poll();
 * for (let i = 0; i < n; i++) {
 *   const [k, p, t, off, len] = ring.polled.subarray(i * 5, i * 5 + 5);
 *   handle(k, p, t, ring.arena.subarray(off, off + len));  // borrowed until the next push
 * }
 */
export class EventRingJs implements EventRing {
  readonly capacity: number;
  readonly arenaBytes: number;
  /** The payload arena. Polled offsets point into it; borrowed until the next push. */
  readonly arena: Uint8Array;
  /** Entries of the last poll, `RING_ENTRY_STRIDE` slots each, oldest first. Reused. */
  readonly polled: Float64Array;

  /** Entry storage, same layout as `polled`; entry i of the ring is at slot (head + i) % capacity. */
  private readonly slots: Float64Array;
  private head = 0;
  private count = 0;
  private drops = 0;
  // Byte FIFO, as in the native core. Not wrapped: live bytes in [read, write). Wrapped:
  // [read, wrapAt) then [0, write), with write <= read.
  private read = 0;
  private write = 0;
  private wrapAt = 0;
  private wrapped = false;
  /** Sum of queued payload lengths; when it reaches 0 the FIFO restarts at offset 0. */
  private liveBytes = 0;

  /**
   * @param options.capacity entries, default `EVENT_RING_CAPACITY` (2000); an integer >= 1.
   * @param options.arenaBytes payload arena bytes, default `EVENT_RING_ARENA_BYTES` (17 MiB),
   *   allocated once, zero-filled lazily by the OS so untouched pages cost no memory; an integer
   *   in [0, MAX_EVENT_RING_ARENA_BYTES]. A payload larger than it is refused.
   * @throws RangeError on a capacity or arenaBytes out of range.
   */
  constructor(options: EventRingOptions = {}) {
    const { capacity, arenaBytes } = eventRingOptions(options);
    this.capacity = capacity;
    this.arenaBytes = arenaBytes;
    this.arena = new Uint8Array(arenaBytes);
    this.polled = new Float64Array(capacity * RING_ENTRY_STRIDE);
    this.slots = new Float64Array(capacity * RING_ENTRY_STRIDE);
  }

  /** Entries queued now. */
  get size(): number {
    return this.count;
  }

  /** Entries dropped since construction (full ring or arena pressure). */
  get dropped(): number {
    return this.drops;
  }

  /**
   * Queue one event, copying `payload[offset, +length)` into the arena (the payload may be a
   * view of the arena itself, e.g. a polled entry pushed again).
   * @param kind an int32.
   * @param peer any number, stored as is.
   * @param timestamp any number, stored as is.
   * @returns entries dropped to make room (0 or more), or `-ErrorCode.RingPayloadTooLarge` when
   *   `length > arenaBytes` (nothing dropped, nothing queued).
   * @throws TypeError when payload is not a Uint8Array; RangeError when kind is not an int32 or
   *   the span lies outside payload.
   */
  push(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number {
    checkRingPush(kind, payload, offset, length);
    return this.pushChecked(kind, peer, timestamp, payload, offset, length);
  }

  /**
   * Queue `count` events in order; `meta` holds `[kind, peer, timestamp, offset, length]` per
   * event with offsets into `payloads`.
   * @returns the total entries dropped, or the first negative ErrorCode
   *   (`-ErrorCode.RingPayloadTooLarge`); events before it stay queued, later ones are skipped.
   * @throws TypeError on wrong argument types; RangeError, before anything is queued, when
   *   `count` exceeds `meta`, a kind is not an int32 or a span lies outside `payloads`.
   */
  pushBatch(meta: Float64Array, count: number, payloads: Uint8Array): number {
    checkRingBatch(meta, count, payloads);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const m = i * RING_ENTRY_STRIDE;
      const r = this.pushChecked(meta[m]!, meta[m + 1]!, meta[m + 2]!, payloads, meta[m + 3]!, meta[m + 4]!);
      if (r < 0) return r;
      total += r;
    }
    return total;
  }

  /**
   * Move every queued entry into `polled`, oldest first, and empty the ring.
   * @returns the number of entries; their offsets point into `arena`, valid until the next push.
   */
  poll(): number {
    const n = this.count;
    const slots = this.slots;
    const first = Math.min(n, this.capacity - this.head);
    this.polled.set(slots.subarray(this.head * RING_ENTRY_STRIDE, (this.head + first) * RING_ENTRY_STRIDE), 0);
    if (first < n) this.polled.set(slots.subarray(0, (n - first) * RING_ENTRY_STRIDE), first * RING_ENTRY_STRIDE);
    this.head = 0;
    this.count = 0;
    this.resetArena();
    return n;
  }

  private resetArena(): void {
    this.read = 0;
    this.write = 0;
    this.wrapAt = 0;
    this.wrapped = false;
    this.liveBytes = 0;
  }

  private dropOldest(): void {
    const s = this.head * RING_ENTRY_STRIDE;
    const offset = this.slots[s + 3]!;
    const length = this.slots[s + 4]!;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    this.drops++;
    if (length === 0) return;
    this.liveBytes -= length;
    if (this.liveBytes === 0) {
      this.resetArena();
      return;
    }
    this.read = offset + length;
    // The last payload before the wrap is gone: the live bytes now start at 0.
    if (this.wrapped && this.read === this.wrapAt) {
      this.read = 0;
      this.wrapped = false;
    }
  }

  private pushChecked(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number {
    if (length > this.arenaBytes) return -ErrorCode.RingPayloadTooLarge;
    const droppedBefore = this.drops;
    if (this.count === this.capacity) this.dropOldest();
    let at = 0; // zero-length payloads take no arena bytes and report offset 0
    if (length !== 0) {
      for (;;) {
        if (this.liveBytes === 0) {
          at = 0;
          break;
        }
        if (!this.wrapped) {
          if (this.arenaBytes - this.write >= length) {
            at = this.write;
            break;
          }
          if (this.read >= length) {
            this.wrapAt = this.write;
            this.wrapped = true;
            at = 0;
            break;
          }
        } else if (this.read - this.write >= length) {
          at = this.write;
          break;
        }
        // liveBytes > 0 means entries remain to drop; an empty FIFO always fits length <= arenaBytes.
        this.dropOldest();
      }
      const arena = this.arena;
      if (length <= SMALL_COPY_BYTES && payload.buffer !== arena.buffer) {
        for (let i = 0; i < length; i++) arena[at + i] = payload[offset + i]!;
      } else {
        // set() copies correctly even when payload is a view of the arena (a polled entry pushed again).
        arena.set(payload.subarray(offset, offset + length), at);
      }
      this.write = at + length;
      this.liveBytes += length;
    }
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    const s = tail * RING_ENTRY_STRIDE;
    const slots = this.slots;
    slots[s] = kind | 0; // -0 is stored as 0, as the C++ int32 does
    slots[s + 1] = peer;
    slots[s + 2] = timestamp;
    slots[s + 3] = at;
    slots[s + 4] = length;
    this.count++;
    return this.drops - droppedBefore;
  }
}
