import { describe, expect, it } from 'vitest';
import { appendPending, EMPTY_BYTES, grownSize, MIN_PENDING_BYTES } from '../../src/core/carry-buffer.js';

describe('grownSize', () => {
  it('doubles from MIN_PENDING_BYTES, grows at least to the need, and stops at the limit', () => {
    expect(grownSize(0, 1, 65536)).toBe(MIN_PENDING_BYTES);
    expect(grownSize(256, 257, 65536)).toBe(512);
    expect(grownSize(256, 5000, 65536)).toBe(5000);
    expect(grownSize(40000, 40001, 65536)).toBe(65536);
    expect(grownSize(0, 10, 10)).toBe(10);
  });
});

describe('appendPending', () => {
  it('grows an empty buffer to hold the bytes that arrived, not more than the limit', () => {
    const src = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    const out = appendPending(EMPTY_BYTES, 0, src, 2, 5, 100);
    expect(out.length).toBe(100);
    expect([...out.subarray(0, 5)]).toEqual([3, 4, 5, 6, 7]);
  });

  it('keeps the first `fill` bytes when it grows, and reuses the buffer when the bytes fit', () => {
    const first = appendPending(EMPTY_BYTES, 0, new Uint8Array(200).fill(9), 0, 200, 1 << 20);
    expect(first.length).toBe(MIN_PENDING_BYTES);
    const same = appendPending(first, 200, new Uint8Array(56).fill(8), 0, 56, 1 << 20);
    expect(same).toBe(first);
    // Past the small-copy threshold (set() path) and past the buffer: doubled, contents kept.
    const grown = appendPending(same, 256, new Uint8Array(100).fill(7), 0, 100, 1 << 20);
    expect(grown).not.toBe(same);
    expect(grown.length).toBe(512);
    expect(grown[0]).toBe(9);
    expect(grown[199]).toBe(9);
    expect(grown[200]).toBe(8);
    expect(grown[255]).toBe(8);
    expect(grown[256]).toBe(7);
    expect(grown[355]).toBe(7);
  });
});
