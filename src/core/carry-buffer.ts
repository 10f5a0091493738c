/**
 * The pending/carry buffers of the length-prefixed stream parsers (FrameDecoderJs,
 * ChunkAssemblerJs) and of their native wrappers' JS-owned carry (src/core/native.ts): a body
 * split across feeds is copied into a pending buffer that grows with the bytes that arrived,
 * doubling from `MIN_PENDING_BYTES` up to the parser's limit, never to the declared length at
 * once (a bare prefix must not make us allocate the limit: memory amplification by a hostile
 * peer). Twin of native/carry-buffer.h: same growth, same `BodyCollector` steps.
 */
import { UnitFlag } from './types.js';

/** An empty buffer, the initial pending and carry of every parser (nothing allocated until needed). */
export const EMPTY_BYTES = new Uint8Array(0);

/** Smallest pending or carry buffer worth allocating (bytes); growth doubles from here up to the limit. */
export const MIN_PENDING_BYTES = 256;

// Below this many bytes a loop beats allocating the subarray that `set` needs.
const SMALL_COPY_BYTES = 64;

// A completed split body: whole (the start and the end of its frame or chunk), in the carry.
const CARRIED_UNIT = UnitFlag.FrameStart | UnitFlag.FrameEnd | UnitFlag.InCarry;

/**
 * The size to grow a buffer of `current` bytes to so it holds `need` bytes:
 * max(need, 2 × current, MIN_PENDING_BYTES), capped at `limit` (need <= limit).
 */
export function grownSize(current: number, need: number, limit: number): number {
  return Math.min(Math.max(need, current * 2, MIN_PENDING_BYTES), limit);
}

/**
 * Append `src[srcOffset, +n)` to `pending`, which holds `fill` bytes, growing it first when
 * `fill + n` bytes do not fit (fill + n <= limit).
 * @returns `pending`, or the grown buffer that replaces it (its first `fill` bytes kept)
 */
export function appendPending(pending: Uint8Array, fill: number, src: Uint8Array, srcOffset: number, n: number, limit: number): Uint8Array {
  let dst = pending;
  if (dst.length < fill + n) {
    dst = new Uint8Array(grownSize(pending.length, fill + n, limit));
    dst.set(pending.subarray(0, fill));
  }
  if (n <= SMALL_COPY_BYTES) {
    for (let i = 0; i < n; i++) dst[fill + i] = src[srcOffset + i]!;
  } else {
    dst.set(src.subarray(srcOffset, srcOffset + n), fill);
  }
  return dst;
}

/**
 * The buffer a parser's `InCarry` units point into (one per parser, `CarryBuffer` in C++). A
 * completed split body is swapped in here from its collector's pending buffer, so a new partial
 * body later in the same feed cannot overwrite it.
 */
export class CarryBuffer {
  /** Borrowed by the parser's `carry()` until the next `feed()`. */
  bytes: Uint8Array = EMPTY_BYTES;
}

/** `BodyCollector.collect`'s result when the input ended inside the body: all of it is pending. */
export const BODY_NEED_MORE = -1;

/**
 * A body split across feeds (`BodyCollector` in C++): one per frame decoder, one per chunk
 * stream. While `fill` is 0 the parser itself takes a body that lies wholly inside its input as a
 * borrowed view, inline (its hot path: no call and no result to check per unit; issue 15 measured
 * a shared per-unit call 3-16% slower); every other body is collected here, in a pending buffer
 * grown up to the parser's limit and reused.
 */
export class BodyCollector {
  /**
   * Bytes of the body being read that are already pending; 0 between bodies. Read by the parser
   * once per unit, written only here (a field, not a getter).
   */
  fill = 0;
  private pending: Uint8Array = EMPTY_BYTES;

  /** Forget a partly collected body; keeps the buffer for reuse. */
  reset(): void {
    this.fill = 0;
  }

  /**
   * Collect the body, or the rest of it, at `input[pos, end)`; when it is complete, swap it into
   * `carry` and write its unit.
   * @param input the bytes being fed (copied from, not kept)
   * @param pos where the body (or its rest) starts, <= end
   * @param end the end of the fed span
   * @param length the body's declared length, 1..limit
   * @param limit the parser's largest body: the pending buffer grows up to it, no further
   * @param carry the parser's carry; takes the completed body, and its old buffer is reused here
   * @param units the parser's units: `[flags, offset, length]` written from `units[u]`
   * @param u the unit's first slot
   * @returns the position after the body in `input` (its unit written: `InCarry`, offset 0 of
   *   `carry.bytes`), or `BODY_NEED_MORE` when the input ended first
   */
  collect(
    input: Uint8Array,
    pos: number,
    end: number,
    length: number,
    limit: number,
    carry: CarryBuffer,
    units: Int32Array,
    u: number,
  ): number {
    if (pos === end) return BODY_NEED_MORE;
    const take = Math.min(end - pos, length - this.fill);
    // Grow with the bytes that arrived, not the declared length: a bare prefix must not make us
    // allocate the limit (per frame decoder, per chunk stream: memory amplification by a hostile peer).
    this.pending = appendPending(this.pending, this.fill, input, pos, take, limit);
    this.fill += take;
    if (this.fill < length) return BODY_NEED_MORE;
    // Complete: hand it out from the carry, and keep the old carry for the next split body.
    const done = this.pending;
    this.pending = carry.bytes;
    carry.bytes = done;
    this.fill = 0;
    units[u] = CARRIED_UNIT;
    units[u + 1] = 0;
    units[u + 2] = length;
    return pos + take;
  }
}
