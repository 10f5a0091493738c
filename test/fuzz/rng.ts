/**
 * A small seeded PRNG (xorshift128+ reduced to 32-bit outputs) for the fuzzer: the same seed
 * gives the same inputs, splits and mutations on every machine.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any 32-bit integer; 0 is fine. */
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) >>> 0;
    this.b = (seed * 0x85ebca6b) >>> 0 || 1;
    this.c = 0xc2b2ae35;
    this.d = 0x27d4eb2f;
    for (let i = 0; i < 8; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability 1/n. */
  oneIn(n: number): boolean {
    return this.int(n) === 0;
  }

  /** A random element. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A length biased toward small values (log-uniform up to `max`). */
  length(max: number): number {
    const bits = this.int(Math.max(1, Math.ceil(Math.log2(max + 1))) + 1);
    return Math.min(max, this.int(2 ** bits));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over bytes: a stable 32-bit seed derived from an input. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Split points for `length` bytes derived from `seed`: whole, random reads, or byte by byte,
 * the way a socket may deliver them. Returns the piece lengths.
 */
export function splitLengths(length: number, seed: number): number[] {
  const rng = new Rng(seed);
  const mode = rng.int(4);
  if (length === 0) return [];
  if (mode === 0 && length <= 512) return Array.from({ length }, () => 1);
  const out: number[] = [];
  const max = mode === 1 ? 8 : mode === 2 ? 64 : 4096;
  for (let left = length; left > 0; ) {
    const n = Math.min(left, 1 + rng.int(max));
    out.push(n);
    left -= n;
  }
  return out;
}
