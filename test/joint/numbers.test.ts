import { describe, expect, it } from 'vitest';
import { LowestFree } from '../../src/joint/numbers.js';

describe('LowestFree (joint.md §1 numbering)', () => {
  it('hands out the lowest free number and reuses freed ones', () => {
    const n = new LowestFree(256);
    for (let i = 0; i < 256; i++) expect(n.take()).toBe(i);
    expect(n.take()).toBe(-1);
    n.free(200);
    n.free(37);
    expect(n.used).toBe(254);
    expect(n.take()).toBe(37);
    expect(n.take()).toBe(200);
    expect(n.take()).toBe(-1);
  });

  it('ignores freeing a number that is not taken or out of range', () => {
    const n = new LowestFree(128);
    n.free(5);
    n.free(-1);
    n.free(1000);
    expect(n.used).toBe(0);
    expect(n.has(0)).toBe(false);
    expect(n.take()).toBe(0);
    expect(n.has(0)).toBe(true);
  });

  it('respects a capacity that is not a multiple of 32', () => {
    const n = new LowestFree(3);
    expect([n.take(), n.take(), n.take(), n.take()]).toEqual([0, 1, 2, -1]);
  });

  it('throws on a bad capacity', () => {
    expect(() => new LowestFree(0)).toThrow(RangeError);
    expect(() => new LowestFree(1.5)).toThrow(RangeError);
  });
});
