import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/relay/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const b = new TokenBucket(100, 50, 0);
    expect(b.take(50, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
    expect(b.take(10, 100)).toBe(true); // 100 ms at 100/s = 10 tokens
    expect(b.take(1, 100)).toBe(false);
    expect(b.take(50, 10_000)).toBe(true); // capped at the burst
    expect(b.take(1, 10_000)).toBe(false);
  });

  it('charges into debt and says how long until it is paid', () => {
    const b = new TokenBucket(1000, 100, 0);
    expect(b.charge(50, 0)).toBe(0);
    expect(b.charge(550, 0)).toBe(500); // 500 tokens of debt at 1000/s
    expect(b.take(1, 400)).toBe(false);
    expect(b.take(1, 501)).toBe(true);
  });
});
