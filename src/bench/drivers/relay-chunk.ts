/**
 * Writing one payload as one joint chunk (joint.md §10) into a RelayLink's slab: what the relay
 * driver sends, and what the tcp forwarder baseline (bench/drivers/tcp-forwarder.ts) sends so the
 * generator does the same per-frame work against both targets.
 */
import { MAX_FRAME_DATA_BYTES } from '../../joint/limits.js';
import { LEAD_BROADCAST, MAX_FRAME_HEADER_BYTES, OWN_JOINT_FLAG, writeFrameSize, writeOwnerFrameHeader, writeUserFrameHeader } from '../../joint/protocol.js';
import { CHUNK_UNIT_STRIDE, UnitFlag } from '../../core/index.js';
import type { RelayLink } from './relay-link.js';

// joint.md §10.2: the chunk prefix width with the default maxChunkSize 32768, as the original uses.
export const CHUNK_PREFIX_BYTES = 2;
// A prefix of N = 2 holds length - 1 below 128 in one byte (joint.md §10.1, C1: 128 → 7F).
const ONE_BYTE_PREFIX_MAX_LENGTH = 128;
// joint.md §10.1: bytes before the N-th carry 7 bits and a "more" flag; the N-th 8 full bits.
const VARINT_MORE = 0x80;
const VARINT_GROUP_MASK = 0x7f;
const VARINT_GROUP_BITS = 7;
// Mode byte of `01 mode`: 1 = every user of the joint (joint.md §5).
const BROADCAST_ALL = 1;
// Bytes before a broadcast's frame: `01 mode` (joint.md §5).
const BROADCAST_PREFIX_BYTES = 2;

/**
 * Write `src[offset, offset + length)` into `link`'s slab as one chunk: prefix and payload in one
 * frame, split into frames of at most 32765 data bytes only past that (joint.md §2.5). The
 * caller pushes the link (TickFlush). No allocation but a new slab when the current one is full.
 * @param fromUser true: a user's frames to its owner (`jointNr` is its jIn); false: the owner's
 *   (`jointNr` is its jOwn), to user `userNr`, or a broadcast to every user when `userNr` is -1
 * @param jointNr the joint number the relay assigned this connection
 * @param userNr the user an owner answers, or -1
 */
export function writeChunk(link: RelayLink, fromUser: boolean, jointNr: number, userNr: number, src: Uint8Array, offset: number, length: number): void {
  const prefixBytes = length <= ONE_BYTE_PREFIX_MAX_LENGTH ? 1 : CHUNK_PREFIX_BYTES;
  let data = prefixBytes + length;
  const frames = Math.ceil(data / MAX_FRAME_DATA_BYTES);
  const slab = link.room(data + frames * (BROADCAST_PREFIX_BYTES + MAX_FRAME_HEADER_BYTES));
  let at = link.fill;
  let from = offset;
  let first = true;
  while (data > 0) {
    const piece = data < MAX_FRAME_DATA_BYTES ? data : MAX_FRAME_DATA_BYTES;
    if (fromUser) at = writeUserFrameHeader(slab, at, jointNr, piece);
    else if (userNr >= 0) at = writeOwnerFrameHeader(slab, at, jointNr, userNr, piece);
    else {
      // joint.md §5: every frame of a long broadcast repeats `01 mode`.
      slab[at] = LEAD_BROADCAST;
      slab[at + 1] = BROADCAST_ALL;
      at = writeFrameSize(slab, at + BROADCAST_PREFIX_BYTES, piece + 1);
      slab[at++] = jointNr + OWN_JOINT_FLAG;
    }
    let copy = piece;
    if (first) {
      // The prefix of N = 2 written here (encodeChunkPrefix checked its arguments on every frame,
      // a cost the profile showed): length is 1..32768, checked by the drivers' options.
      const value = length - 1;
      if (prefixBytes === 1) slab[at++] = value;
      else {
        slab[at++] = (value & VARINT_GROUP_MASK) | VARINT_MORE;
        slab[at++] = value >>> VARINT_GROUP_BITS;
      }
      copy -= prefixBytes;
      first = false;
    }
    // Buffer#copy takes a range without making a view (no allocation per frame).
    Buffer.prototype.copy.call(src, slab, at, from, from + copy);
    at += copy;
    from += copy;
    data -= piece;
  }
  link.fill = at;
}

/**
 * Whether the stream bytes `input[offset, offset + length)` are exactly one whole chunk (its
 * prefix of N = 2, then that many bytes): what a relay sends for each payload the drivers write
 * (one chunk per frame). A receiver whose chunk stream holds no partial chunk can then take the
 * payload without feeding its ChunkAssembler: one call into the addon per delivery less
 * (profiled: the assembler's feed was the largest part of the driver's CPU at 64 B).
 * @returns the prefix's bytes (1 or 2) when it is one whole chunk, else 0 (the assembler decides,
 *   errors included: a non-minimal prefix is never taken here)
 */
export function wholeChunkPrefix(input: Uint8Array, offset: number, length: number): number {
  if (length < 2) return 0;
  const b0 = input[offset]!;
  if (b0 < VARINT_MORE) return b0 + 2 === length ? 1 : 0;
  const b1 = input[offset + 1]!;
  if (b1 === 0) return 0;
  return ((b0 & VARINT_GROUP_MASK) | (b1 << VARINT_GROUP_BITS)) + 3 === length ? 2 : 0;
}

/**
 * Whether the last feed of a ChunkAssembler (its `count` units) ended on a chunk boundary at
 * `end`: then it holds no partial chunk of that stream, and wholeChunkPrefix may be used again.
 * A last unit in carry says nothing of where the input ended: not on a boundary, to be safe.
 */
export function endsOnChunk(units: Int32Array, count: number, end: number): boolean {
  if (count === 0) return false;
  const last = (count - 1) * CHUNK_UNIT_STRIDE;
  return (units[last]! & UnitFlag.InCarry) === 0 && units[last + 1]! + units[last + 2]! === end;
}
