import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/wire/key.js';

describe('parseKey', () => {
  it('parses 32 hex digits as AES-128 and 64 as AES-256, either case', () => {
    expect(parseKey('0C03EA65238DD2C25EB87CE563868098')).toEqual(Uint8Array.from(Buffer.from('0c03ea65238dd2c25eb87ce563868098', 'hex')));
    expect((parseKey('ab'.repeat(32)) as Uint8Array).length).toBe(32);
  });
  it('treats absent and empty keys as no key', () => {
    expect(parseKey(undefined)).toBeNull();
    expect(parseKey(null)).toBeNull();
    expect(parseKey('')).toBeNull();
  });
  it('names the problem of a bad key', () => {
    expect(parseKey('abc')).toMatch(/32 hex digits \(AES-128\) or 64 \(AES-256\), got 3 characters/);
    expect(parseKey('zz'.repeat(16))).toMatch(/only hex digits/);
    expect(parseKey(42)).toMatch(/must be a string/);
  });
});
