/**
 * Byte-level mutations in the AFL manner: flips, interesting values, arithmetic, block
 * insertion, deletion, duplication and splicing with another corpus entry. Stacked 1..8 deep.
 */
import type { Rng } from './rng.js';

/** Values that sit on limits of the formats under test (sizes, varint edges, lead bytes). */
const INTERESTING_8 = [0, 1, 2, 3, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x10, 0x20, 0x40];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xffff];
const INTERESTING_32 = [0, 1, 0xffff, 0x10000, 0x10001, 0x7fffffff, 0x80000000, 0xffffffff, 32768, 32769, 65536, 65537, 16 * 1024 * 1024 + 1];

function clamp(bytes: Uint8Array, max: number): Uint8Array {
  return bytes.length > max ? bytes.subarray(0, max) : bytes;
}

function mutateOnce(rng: Rng, input: Uint8Array, other: Uint8Array | undefined, max: number): Uint8Array {
  let b = Uint8Array.from(input);
  const n = b.length;
  switch (rng.int(12)) {
    case 0:
      if (n) b[rng.int(n)]! ^= 1 << rng.int(8);
      break;
    case 1:
      if (n) b[rng.int(n)] = rng.pick(INTERESTING_8);
      break;
    case 2:
      if (n) b[rng.int(n)] = rng.u32() & 0xff;
      break;
    case 3:
      if (n) {
        const i = rng.int(n);
        b[i] = (b[i]! + (rng.oneIn(2) ? 1 : -1) * rng.range(1, 35)) & 0xff;
      }
      break;
    case 4:
      if (n >= 2) {
        const v = rng.pick(INTERESTING_16);
        const i = rng.int(n - 1);
        const be = rng.oneIn(2);
        b[i] = be ? v >> 8 : v & 0xff;
        b[i + 1] = be ? v & 0xff : v >> 8;
      }
      break;
    case 5:
      if (n >= 4) {
        const v = rng.pick(INTERESTING_32) >>> 0;
        const i = rng.int(n - 3);
        new DataView(b.buffer).setUint32(i, v, rng.oneIn(2));
      }
      break;
    case 6: {
      // Insert random bytes or a run of one byte.
      const at = rng.int(n + 1);
      const len = rng.range(1, rng.oneIn(8) ? 512 : 16);
      const ins = rng.oneIn(2) ? rng.bytes(len) : new Uint8Array(len).fill(rng.pick(INTERESTING_8));
      b = Uint8Array.from(Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]));
      break;
    }
    case 7:
      if (n > 1) {
        const at = rng.int(n);
        const len = rng.range(1, Math.min(n - at, rng.oneIn(4) ? 1024 : 16));
        b = Uint8Array.from(Buffer.concat([b.subarray(0, at), b.subarray(at + len)]));
      }
      break;
    case 8:
      if (n) {
        // Duplicate a block (repeats units, the way floods do).
        const at = rng.int(n);
        const len = rng.range(1, Math.min(n - at, 256));
        const to = rng.int(n + 1);
        b = Uint8Array.from(Buffer.concat([b.subarray(0, to), b.subarray(at, at + len), b.subarray(to)]));
      }
      break;
    case 9:
      if (other && other.length && n) {
        // Splice: our head, the other's tail (keeps byte 0, the options byte).
        const cut = rng.range(1, n);
        const from = rng.int(other.length);
        b = Uint8Array.from(Buffer.concat([b.subarray(0, cut), other.subarray(Math.max(1, from))]));
      }
      break;
    case 10:
      if (n > 1) b = b.slice(0, rng.range(1, n - 1)); // truncate
      break;
    default:
      if (n) b[0] = rng.u32() & 0xff; // the options byte
  }
  return clamp(b, max);
}

/**
 * A mutant of `input`: 1..8 stacked mutations, at most `max` bytes.
 * @param other another corpus entry for splicing, if any.
 */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array | undefined, max: number): Uint8Array {
  let b = input;
  const depth = 1 << rng.int(4);
  for (let i = 0; i < depth; i++) b = mutateOnce(rng, b, other, max);
  return b;
}
