/**
 * EmulatedLink's queue bound (issue 13): a sender that outpaces the emulated bandwidth is refused
 * past `maxQueuedBytes`; what was queued is still delivered in order, and the link takes sends
 * again as the queue drains.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LINK_MAX_QUEUED_BYTES, EmulatedLink } from '../../src/transport/offline.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('EmulatedLink queue bound', () => {
  it('refuses a send past maxQueuedBytes, delivers what it took, and takes sends again once drained', () => {
    vi.useFakeTimers();
    const link = new EmulatedLink({ netLagMs: 10, netSpeedBytesPerSec: 1000, maxQueuedBytes: 3000 });
    const delivered: number[] = [];
    expect(link.send(1000, () => delivered.push(1))).toBeGreaterThanOrEqual(0);
    expect(link.send(1000, () => delivered.push(2))).toBeGreaterThanOrEqual(0);
    expect(link.send(1000, () => delivered.push(3))).toBeGreaterThanOrEqual(0);
    expect(link.send(1, () => delivered.push(4))).toBe(-1);
    expect(link.queuedBytes).toBe(3000);
    // A notice (0 bytes) is never refused.
    expect(link.send(0, () => delivered.push(0))).toBeGreaterThanOrEqual(0);
    vi.advanceTimersByTime(1100);
    expect(delivered).toEqual([1]);
    expect(link.queuedBytes).toBe(2000);
    expect(link.send(1000, () => delivered.push(5))).toBeGreaterThanOrEqual(0);
    vi.advanceTimersByTime(10_000);
    expect(delivered).toEqual([1, 2, 3, 0, 5]);
    expect(link.queuedBytes).toBe(0);
    link.close();
  });

  it('defaults to 16 MiB, 0 means no bound, and refuses a bad bound at construction', () => {
    expect(new EmulatedLink().maxQueuedBytes).toBe(DEFAULT_LINK_MAX_QUEUED_BYTES);
    const unbounded = new EmulatedLink({ maxQueuedBytes: 0, netSpeedBytesPerSec: 1 });
    expect(unbounded.send(DEFAULT_LINK_MAX_QUEUED_BYTES + 1, () => {})).toBeGreaterThanOrEqual(0);
    unbounded.close();
    expect(unbounded.queuedBytes).toBe(0);
    expect(() => new EmulatedLink({ maxQueuedBytes: -1 })).toThrow(/maxQueuedBytes/);
    expect(() => new EmulatedLink({ maxQueuedBytes: 1.5 })).toThrow(RangeError);
  });
});
