/**
 * The N-byte varint of joint.md §10.1, used by the chunk layer (N = prefix width) and by
 * PeoteBytes (N = 4). Twin of `native/varint.h`: same rules, same results. It lives in core
 * because the chunk assembler and its option checks need it and core imports nothing else of
 * ours; `src/codec/varint.ts` re-exports it as codec's public face.
 *
 * Bytes 1..N-1 carry 7 value bits each, least significant group first, bit 7 = "another byte
 * follows". Byte N, if reached, carries 8 full value bits and no flag. Encoders emit the
 * shortest form; a `00` byte in any position after the first is non-minimal.
 */
import { ErrorCode } from './errors.js';

/** Narrowest varint width (bytes); a format fact. */
export const VARINT_MIN_BYTES = 1;
/** Widest varint width (bytes); a format fact (`kMaxVarintBytes` in C++). */
export const VARINT_MAX_BYTES = 4;
/** `decodeVarint`'s result when the input ends inside the varint ("wait", not "garbage"). */
export const VARINT_NEED_MORE = 0;

// File-local for the loops below: an exported binding is slower to read in a hot loop.
const MORE = 0x80;
const GROUP_MASK = 0x7f;
const GROUP_BITS = 7;

/** The continuation flag of bytes 1..N-1 (`kVarintMore` in C++). */
export const VARINT_MORE = MORE;
/** Value bits of bytes 1..N-1 (`kVarintGroupMask`). */
export const VARINT_GROUP_MASK = GROUP_MASK;
/** Value bits per byte before the N-th (`kVarintGroupBits`). */
export const VARINT_GROUP_BITS = GROUP_BITS;

/** Where `decodeVarint` puts the decoded value; allocate one and reuse it. */
export interface VarintValue {
  value: number;
}

function checkWidth(n: number): void {
  if (!Number.isInteger(n) || n < VARINT_MIN_BYTES || n > VARINT_MAX_BYTES) {
    throw new RangeError(`n must be an integer in ${VARINT_MIN_BYTES}..${VARINT_MAX_BYTES}, got ${n}`);
  }
}

/**
 * The largest value an N-byte varint holds: 2^(8 + 7(N-1)) - 1 (joint.md §10.1 table).
 * @param n width in bytes, 1..4
 * @throws RangeError when `n` is not 1..4
 */
export function varintMax(n: number): number {
  checkWidth(n);
  return 2 ** (8 + GROUP_BITS * (n - 1)) - 1;
}

/**
 * Bytes of the shortest N-byte encoding of `value`.
 * @param value integer, 0..varintMax(n)
 * @param n width in bytes, 1..4
 * @throws RangeError when `value` or `n` is out of range
 */
export function varintLength(value: number, n: number): number {
  const max = varintMax(n);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`value must be an integer in 0..${max} for n = ${n}, got ${value}`);
  }
  let bytes = 1;
  // Each byte before the N-th holds 7 bits; the N-th holds the remaining 8.
  while (bytes < n && value >>> (GROUP_BITS * bytes) !== 0) bytes++;
  return bytes;
}

/**
 * Write the shortest N-byte encoding of `value` into `out` at `offset`.
 * @param value integer, 0..varintMax(n)
 * @param n width in bytes, 1..4
 * @param out destination
 * @param offset where to write in `out`
 * @returns the bytes written (1..n)
 * @throws RangeError when `value` or `n` is out of range or `out` has no room at `offset`
 */
export function encodeVarint(value: number, n: number, out: Uint8Array, offset: number): number {
  const bytes = varintLength(value, n);
  if (!Number.isInteger(offset) || offset < 0 || offset + bytes > out.length) {
    throw new RangeError(`offset ${offset} + ${bytes} varint bytes exceeds out.length ${out.length}`);
  }
  let rest = value;
  for (let i = 0; i < bytes - 1; i++) {
    out[offset + i] = (rest & GROUP_MASK) | MORE;
    rest >>>= GROUP_BITS;
  }
  // The last byte is a group without the flag, or the N-th byte with 8 full bits.
  out[offset + bytes - 1] = rest;
  return bytes;
}

/**
 * Decode one N-byte varint from `buf[offset, end)`. Allocates nothing.
 * @param buf input bytes
 * @param offset first byte of the varint
 * @param end end of the available input (exclusive)
 * @param n width in bytes, 1..4 (not checked: hot path)
 * @param out receives the value when the result is positive
 * @returns the bytes read (1..n); `VARINT_NEED_MORE` (0) when the input ends inside the varint;
 *   `-ErrorCode.VarintNonMinimal` when a byte after the first is `00`
 */
export function decodeVarint(buf: Uint8Array, offset: number, end: number, n: number, out: VarintValue): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (offset + i >= end) return VARINT_NEED_MORE;
    const byte = buf[offset + i]!;
    // joint.md §10.1: a zero byte after the first adds nothing, so a shorter form existed.
    if (i > 0 && byte === 0) return -ErrorCode.VarintNonMinimal;
    if (i === n - 1) {
      // At most 255 << 21 < 2^31: the int32 `|` is exact.
      out.value = acc | (byte << (GROUP_BITS * i));
      return i + 1;
    }
    acc |= (byte & GROUP_MASK) << (GROUP_BITS * i);
    if ((byte & MORE) === 0) {
      out.value = acc;
      return i + 1;
    }
  }
  return VARINT_NEED_MORE; // unreachable for n >= 1
}

/**
 * The chunk prefix width the original derives from maxChunkSize (joint.md §10.2):
 * <= 256 → 1, <= 32768 → 2, <= 4194304 → 3, else 4. The one place the width is derived:
 * the ChunkAssembler's default and peote's sender and receiver all ask here
 * (`ChunkPrefixBytesFor` in `native/varint.h` is its C++ twin).
 * @param maxChunkSize largest chunk in bytes
 */
export function chunkPrefixBytesFor(maxChunkSize: number): number {
  if (maxChunkSize <= 2 ** 8) return 1;
  if (maxChunkSize <= 2 ** 15) return 2;
  if (maxChunkSize <= 2 ** 22) return 3;
  return 4;
}

/**
 * Write the chunk prefix of a chunk of `length` bytes: the varint of `length - 1` (joint.md §10.2).
 * @param length chunk length, 1..varintMax(n) + 1
 * @param n prefix width, 1..4
 * @param out destination
 * @param off where to write in `out`
 * @returns the bytes written (1..n)
 * @throws RangeError when `length` <= 0 (chunks are never empty), too large for `n`, or `out` has no room
 */
export function encodeChunkPrefix(length: number, n: number, out: Uint8Array, off: number): number {
  const max = varintMax(n) + 1;
  if (!Number.isInteger(length) || length <= 0 || length > max) {
    throw new RangeError(`chunk length must be an integer in 1..${max} for n = ${n}, got ${length}`);
  }
  return encodeVarint(length - 1, n, out, off);
}
