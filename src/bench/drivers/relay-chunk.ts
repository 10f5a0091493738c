/**
 * Writing one payload as one joint chunk (joint.md §10) into a RelayLink's slab: what the relay
 * driver sends, and what the tcp forwarder baseline (bench/drivers/tcp-forwarder.ts) sends so the
 * generator does the same per-frame work against both targets.
 */
import { encodeChunkPrefix } from '../../core/varint.js';
import { MAX_FRAME_DATA_BYTES } from '../../joint/limits.js';
import { LEAD_BROADCAST, MAX_FRAME_HEADER_BYTES, OWN_JOINT_FLAG, writeFrameSize, writeOwnerFrameHeader, writeUserFrameHeader } from '../../joint/protocol.js';
import type { RelayLink } from './relay-link.js';

// joint.md §10.2: the chunk prefix width with the default maxChunkSize 32768, as the original uses.
export const CHUNK_PREFIX_BYTES = 2;
// A prefix of N = 2 holds length - 1 below 128 in one byte (joint.md §10.1, C1: 128 → 7F).
const ONE_BYTE_PREFIX_MAX_LENGTH = 128;
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
      at += encodeChunkPrefix(length, CHUNK_PREFIX_BYTES, slab, at);
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
