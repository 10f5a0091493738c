/**
 * Per-address budgets shared by the servers (issue 14): how many connections (or registrations)
 * one source address holds, and how fast it may start new ones. Style-neutral: a key is any
 * string; `normalizeIp` makes the IPv4 and IPv4-mapped IPv6 forms of one client one key. Both
 * tables are bounded, so a flood of distinct addresses cannot grow them without limit.
 */

/**
 * `::ffff:1.2.3.4` and `1.2.3.4` are one client: count them under the IPv4 form (a dual-stack
 * listener reports the mapped form, a plain IPv4 one the short form).
 */
export function normalizeIp(address: string): string {
  return address.length > 7 && address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:') && address.includes('.', 7)
    ? address.slice(7)
    : address;
}

/**
 * Counts held per key against a cap (0 = no cap). A key with nothing held costs no memory, so
 * the table holds at most one entry per open connection.
 */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  /** @param max most a key may hold at once; 0 = unlimited. @throws RangeError when max is not an integer >= 0 */
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be an integer >= 0, got ${max}`);
  }

  /** Keys holding at least one. */
  get size(): number {
    return this.counts.size;
  }

  /** How many `key` holds. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** True when `key` may take one more. */
  has(key: string): boolean {
    return this.max === 0 || (this.counts.get(key) ?? 0) < this.max;
  }

  /** Take one for `key`. @returns false, taking nothing, when `key` is at the cap */
  take(key: string): boolean {
    const now = this.counts.get(key) ?? 0;
    if (this.max > 0 && now >= this.max) return false;
    this.counts.set(key, now + 1);
    return true;
  }

  /** Give one back (a no-op for a key holding none). */
  give(key: string): void {
    const left = (this.counts.get(key) ?? 0) - 1;
    if (left <= 0) this.counts.delete(key);
    else this.counts.set(key, left);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key: `ratePerSecond` tokens a second, at most `burst` stored, each key
 * starting full. At most `maxEntries` keys are tracked. A bucket that has refilled is the same
 * as no entry, so a full table forgets the oldest entries first; if the oldest is still
 * refilling it is forgotten anyway (its key starts full again: the table fails open, so a flood
 * of distinct addresses can never lock a new address out; the other caps still bound it).
 */
export class AddressRate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillMs: number;

  /**
   * @param ratePerSecond tokens per second per key, > 0
   * @param burst tokens a key may store (its first burst), >= 1
   * @param maxEntries keys tracked at once, >= 1
   * @throws RangeError naming the argument when out of range
   */
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly maxEntries: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be a number >= 1, got ${burst}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.refillMs = (burst * 1000) / ratePerSecond;
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Take `n` tokens for `key` at `now` (ms, any monotonic clock).
   * @returns false, taking nothing, when the bucket holds fewer than `n`
   */
  take(key: string, now: number, n = 1): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (n > this.burst) return false;
      if (this.buckets.size >= this.maxEntries) this.makeRoom(now);
      this.buckets.set(key, { tokens: this.burst - n, at: now });
      return true;
    }
    const elapsed = now - b.at;
    if (elapsed > 0) {
      b.tokens = Math.min(this.burst, b.tokens + (elapsed * this.ratePerSecond) / 1000);
      b.at = now;
    }
    if (b.tokens < n) return false;
    b.tokens -= n;
    return true;
  }

  /** Forget every key. */
  clear(): void {
    this.buckets.clear();
  }

  private makeRoom(now: number): void {
    // O(1) per new key, even under a flood of distinct addresses: Map order is insertion order,
    // so the first entries are the oldest; refilled ones go free, else the very first goes.
    let dropped = 0;
    for (const [key, b] of this.buckets) {
      if (dropped >= 2 || now - b.at < this.refillMs) break;
      this.buckets.delete(key);
      dropped++;
    }
    if (dropped > 0) return;
    const first = this.buckets.keys().next();
    if (!first.done) this.buckets.delete(first.value);
  }
}
