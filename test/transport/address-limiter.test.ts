import { describe, expect, it } from 'vitest';
import { AddressCounter, AddressRate, normalizeIp } from '../../src/transport/address-limiter.js';

describe('normalizeIp', () => {
  it('counts the IPv4-mapped IPv6 form and the IPv4 form as one address', () => {
    expect(normalizeIp('::ffff:127.0.0.50')).toBe('127.0.0.50');
    expect(normalizeIp('127.0.0.50')).toBe('127.0.0.50');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('::ffff:abcd')).toBe('::ffff:abcd');
    expect(normalizeIp('')).toBe('');
  });
});

describe('AddressCounter', () => {
  it('caps each key, frees a slot on give, and forgets keys holding none', () => {
    const c = new AddressCounter(2);
    expect(c.take('a')).toBe(true);
    expect(c.take('a')).toBe(true);
    expect(c.has('a')).toBe(false);
    expect(c.take('a')).toBe(false);
    expect(c.take('b')).toBe(true);
    c.give('a');
    expect(c.take('a')).toBe(true);
    c.give('a');
    c.give('a');
    c.give('b');
    c.give('zzz');
    expect(c.size).toBe(0);
  });

  it('0 means no cap; a bad max is a RangeError naming it', () => {
    const c = new AddressCounter(0);
    for (let i = 0; i < 1000; i++) expect(c.take('a')).toBe(true);
    expect(c.count('a')).toBe(1000);
    expect(() => new AddressCounter(-1)).toThrow(/max/);
  });
});

describe('AddressRate', () => {
  it('gives each key its burst, then its rate', () => {
    const r = new AddressRate(10, 3, 16);
    expect([r.take('a', 0), r.take('a', 0), r.take('a', 0), r.take('a', 0)]).toEqual([true, true, true, false]);
    expect(r.take('b', 0)).toBe(true);
    expect(r.take('a', 50)).toBe(false);
    expect(r.take('a', 100)).toBe(true);
    expect(r.take('a', 100)).toBe(false);
  });

  it('stays within maxEntries under a flood of distinct keys, never refusing a new key for it', () => {
    const r = new AddressRate(1, 2, 100);
    for (let i = 0; i < 100_000; i++) expect(r.take(`10.0.${i >> 8}.${i & 255}`, i / 1000)).toBe(true);
    expect(r.size).toBeLessThanOrEqual(100);
  });

  it('rejects bad arguments naming them', () => {
    expect(() => new AddressRate(0, 1, 1)).toThrow(/ratePerSecond/);
    expect(() => new AddressRate(1, 0.5, 1)).toThrow(/burst/);
    expect(() => new AddressRate(1, 1, 0)).toThrow(/maxEntries/);
  });
});
