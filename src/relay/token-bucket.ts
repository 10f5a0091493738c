/**
 * A token bucket for per-connection inbound rate limits (issue 4): `rate` tokens per second,
 * at most `burst` stored. `take` fails, without taking, when the bucket is short.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param rate tokens per second (> 0).
   * @param burst bucket depth in tokens (>= 1); starts full.
   * @param now the clock in milliseconds.
   */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Take `n` tokens at `now` (ms) even if that leaves the bucket in debt (bytes already read
   * must be handled). @returns the milliseconds until the bucket is out of debt (0 if it is not).
   */
  charge(n: number, now: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Take `n` tokens at time `now` (ms). @returns false when fewer than `n` are available. */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
