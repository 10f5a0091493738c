/**
 * Codec's public face keeps the joint.md §10.1 varint names; they are core's functions
 * (src/core/varint.ts, tested in test/core/varint.test.ts), re-exported, not a second copy.
 */
import { describe, expect, it } from 'vitest';
import * as codec from '../../src/codec/index.js';
import * as core from '../../src/core/varint.js';

const NAMES = [
  'VARINT_MIN_BYTES',
  'VARINT_MAX_BYTES',
  'VARINT_NEED_MORE',
  'varintMax',
  'varintLength',
  'encodeVarint',
  'decodeVarint',
  'chunkPrefixBytesFor',
  'encodeChunkPrefix',
] as const;

describe('codec varint exports', () => {
  it.each(NAMES)('%s is core\'s, re-exported', (name) => {
    expect(codec[name]).toBeDefined();
    expect(codec[name]).toBe(core[name]);
  });

  it('exports no varint name beyond those it had before the move', () => {
    const varintNames = Object.keys(codec).filter((k) => /varint|chunkPrefix/i.test(k));
    expect(varintNames.sort()).toEqual([...NAMES].sort());
  });
});
