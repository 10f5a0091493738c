/**
 * Lowest-free number allocation (joint.md §1): `jOwn`, `jIn` and `userNr` are each the lowest
 * free value in their range when assigned, and a freed number is reused.
 */

/** A set of numbers 0..capacity-1 handing out the lowest free one. */
export class LowestFree {
  /** Numbers handed out (0..capacity). */
  get used(): number {
    return this.count;
  }

  /**
   * Taken bits, 32 numbers per word, grown as numbers are taken: a plain array of a word or two
   * costs tens of bytes where a typed array costs hundreds (issue 13: memory per idle connection).
   */
  private words: number[] = NO_WORDS;
  private count = 0;

  /**
   * @param capacity how many numbers exist, 1..65536 (128 for joint numbers, 256 for userNr).
   * @throws RangeError for a capacity out of range.
   */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) throw new RangeError(`capacity must be 1..65536, got ${capacity}`);
  }

  /** Take the lowest free number. @returns it, or -1 when all are in use. */
  take(): number {
    if (this.count >= this.capacity) return -1;
    let words = this.words;
    // Every word full (count < capacity, so one more fits): add a word. The first array is made
    // with exactly one (an empty array grows to 17 slots at its first push).
    if (this.count === words.length << 5) {
      if (words === NO_WORDS) this.words = words = [0];
      else words.push(0);
    }
    for (let w = 0; w < words.length; w++) {
      const free = ~words[w]!;
      if (free === 0) continue;
      // The lowest zero bit of the word: isolate the lowest set bit of its complement.
      const bit = 31 - Math.clz32(free & -free);
      const n = (w << 5) + bit;
      if (n >= this.capacity) return -1;
      words[w] = words[w]! | (1 << bit);
      this.count++;
      return n;
    }
    return -1;
  }

  /** Give `n` back. Freeing a number that is not taken does nothing. */
  free(n: number): void {
    if (!this.has(n)) return;
    this.words[n >>> 5] = this.words[n >>> 5]! & ~(1 << (n & 31));
    this.count--;
  }

  /** True when `n` is taken. */
  has(n: number): boolean {
    if (!(n >= 0 && n < this.capacity) || n >>> 5 >= this.words.length) return false;
    return (this.words[n >>> 5]! & (1 << (n & 31))) !== 0;
  }
}

/** The words of a set that never took a number, shared (replaced before the first write). */
const NO_WORDS: number[] = [];
