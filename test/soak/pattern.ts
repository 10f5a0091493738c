/**
 * The bytes good clients send: stream `key` at position `p` is `PATTERN[(p + key * 7919) % N]`,
 * with N a prime so streams and positions never line up with frame sizes. A receiver checks
 * any slice it gets against the pattern at the position it expects, without keeping a copy of
 * what was sent.
 */
import { Prng } from '../helpers/prng.js';

/** Length of the pattern (a prime). */
export const PATTERN_BYTES = 65521;

/**
 * A seeded PRNG with the few draws the soak needs, over the tests' mulberry32
 * (test/helpers/prng.ts). Its int/chance/bytes are its own (a modulo, not Prng's scaling), so a
 * seed gives the same pattern, kinds and sizes as before the soak shared the generator.
 */
export class SoakRng {
  private readonly prng: Prng;
  constructor(seed: number) {
    this.prng = new Prng(seed);
  }
  private next(): number {
    return this.prng.u32();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** The pattern, built once from a fixed seed (twice its length so a slice never wraps). */
const DOUBLE = (() => {
  const rng = new SoakRng(0x5eed);
  const half = rng.bytes(PATTERN_BYTES);
  return Buffer.concat([half, half]);
})();

function start(key: number, position: number): number {
  return (position + key * 7919) % PATTERN_BYTES;
}

/**
 * `length` bytes of stream `key` from `position`, as a view (borrowed, never written to).
 * `length` may not exceed PATTERN_BYTES.
 */
export function patternSlice(key: number, position: number, length: number): Buffer {
  const s = start(key, position);
  return DOUBLE.subarray(s, s + length);
}

/** True when `bytes` equals stream `key` from `position`. */
export function matchesPattern(key: number, position: number, bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    const n = Math.min(PATTERN_BYTES, bytes.length - at);
    const want = patternSlice(key, position + at, n);
    if (Buffer.compare(want, bytes.subarray(at, at + n)) !== 0) return false;
    at += n;
  }
  return true;
}

/**
 * Scratch of patternText, reused: the string copies it, so one buffer serves every call instead
 * of a fresh malloc of up to 400 KB per large mm message (sent, then built again to check the
 * echo) in the process whose RSS the soak judges.
 */
let textScratch = Buffer.allocUnsafe(0);

/** A printable string of stream `key` from `position` (for tables and JSON): 'a'..'z'. */
export function patternText(key: number, position: number, length: number): string {
  if (textScratch.length < length) textScratch = Buffer.allocUnsafe(Math.max(length, 2 * textScratch.length, 4096));
  const bytes = textScratch;
  let at = 0;
  while (at < length) {
    const n = Math.min(PATTERN_BYTES, length - at);
    const src = patternSlice(key, position + at, n);
    for (let i = 0; i < n; i++) bytes[at + i] = 0x61 + (src[i]! % 26);
    at += n;
  }
  return bytes.toString('latin1', 0, length);
}
