/**
 * The tests' seeded PRNG: mulberry32 (32 bits of state, one add and two multiplies per draw),
 * so a failing case replays from the seed in its name or log. Small and fast, not for crypto.
 * Every test that draws random data uses this one; the fuzzer keeps its own xoshiro generator
 * (test/fuzz/rng.ts) because its corpus and replay seeds are tied to that sequence.
 */

/** 2^32: turns a 32-bit draw into a float in [0, 1). */
const TWO_POW_32 = 4294967296;

/** A seeded mulberry32 stream with the draws the tests use. Equal seeds give equal sequences. */
export class Prng {
  private state: number;

  /** @param seed any number; only its low 32 bits count */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned draw. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1): the next draw over 2^32. */
  next(): number {
    return this.u32() / TWO_POW_32;
  }

  /** An integer in [0, n), from one draw (always one, even for n <= 1, so sequences line up). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi], from one draw. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`, from one draw. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`, from one draw. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` bytes, one draw each (the draw's top 8 bits). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * The float stream of `new Prng(seed)` as a plain function, for code that only calls `rand()`.
 * @param seed any number; only its low 32 bits count
 * @returns a function giving the next float in [0, 1) on each call
 */
export function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}
