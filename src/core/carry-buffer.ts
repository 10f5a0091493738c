/**
 * The pending/carry buffers of the length-prefixed stream parsers (FrameDecoderJs,
 * ChunkAssemblerJs) and of their native wrappers' JS-owned carry (src/core/native.ts): a body
 * split across feeds is copied into a pending buffer that grows with the bytes that arrived,
 * doubling from `MIN_PENDING_BYTES` up to the parser's limit, never to the declared length at
 * once (a bare prefix must not make us allocate the limit: memory amplification by a hostile
 * peer). Same growth as `AppendPending` in native/pending-buffer.h.
 */

/** An empty buffer, the initial pending and carry of every parser (nothing allocated until needed). */
export const EMPTY_BYTES = new Uint8Array(0);

/** Smallest pending or carry buffer worth allocating (bytes); growth doubles from here up to the limit. */
export const MIN_PENDING_BYTES = 256;

// Below this many bytes a loop beats allocating the subarray that `set` needs.
const SMALL_COPY_BYTES = 64;

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
