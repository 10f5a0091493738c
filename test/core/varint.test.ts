import { describe, expect, it } from 'vitest';
import {
  chunkPrefixBytesFor,
  decodeVarint,
  encodeChunkPrefix,
  encodeVarint,
  varintLength,
  varintMax,
  VARINT_MAX_BYTES,
  VARINT_NEED_MORE,
  type VarintValue,
} from '../../src/core/varint.js';
import { ErrorCode } from '../../src/core/errors.js';
import { MAX_CHUNK_BYTES, MAX_CHUNK_BYTES_LIMIT } from '../../src/core/limits.js';
import { hex, loadVectors, toHex } from '../helpers/vectors.js';

interface VarintVector {
  id: string;
  n: number;
  value: number;
  input: string;
}
interface PrefixVector {
  id: string;
  n: number;
  length: number;
  input: string;
}

const varints = loadVectors<VarintVector>('chunk', 'varint');
const prefixes = loadVectors<PrefixVector>('chunk', 'prefix');

function encode(value: number, n: number): Uint8Array {
  const out = new Uint8Array(VARINT_MAX_BYTES);
  return out.subarray(0, encodeVarint(value, n, out, 0));
}

describe('varint (joint.md §10.1)', () => {
  it('has the value ranges of the §10.1 table', () => {
    expect([1, 2, 3, 4].map(varintMax)).toEqual([255, 32767, 4194303, 2 ** 29 - 1]);
    expect(varintMax(4) + 1).toBe(MAX_CHUNK_BYTES_LIMIT);
  });

  describe.each(varints.vectors)('$id: $value with N = $n', (v) => {
    it('encodes to the vector bytes', () => {
      expect(toHex(encode(v.value, v.n)).toUpperCase()).toBe(v.input);
      expect(varintLength(v.value, v.n)).toBe(hex(v.input).length);
    });
    it('decodes from the vector bytes, and asks for more on every truncation', () => {
      const bytes = hex(v.input);
      const out: VarintValue = { value: -1 };
      expect(decodeVarint(bytes, 0, bytes.length, v.n, out)).toBe(bytes.length);
      expect(out.value).toBe(v.value);
      for (let end = 0; end < bytes.length; end++) {
        expect(decodeVarint(bytes, 0, end, v.n, out)).toBe(VARINT_NEED_MORE);
      }
    });
  });

  it('round-trips values around every group boundary for every N', () => {
    const out: VarintValue = { value: 0 };
    for (let n = 1; n <= 4; n++) {
      const probes = [0, 1, varintMax(n)];
      for (let bits = 7; bits < 8 + 7 * (n - 1); bits += 7) probes.push(2 ** bits - 1, 2 ** bits, 2 ** bits + 1);
      for (const value of probes) {
        const bytes = encode(value, n);
        expect(decodeVarint(bytes, 0, bytes.length, n, out), `${value} N=${n}`).toBe(bytes.length);
        expect(out.value).toBe(value);
      }
    }
  });

  it('decodes at an offset and stops at its last byte', () => {
    const buf = hex('AA AC 02 7F');
    const out: VarintValue = { value: 0 };
    expect(decodeVarint(buf, 1, buf.length, 4, out)).toBe(2);
    expect(out.value).toBe(300);
  });

  it('gives the N-th byte 8 full bits', () => {
    const out: VarintValue = { value: 0 };
    expect(decodeVarint(hex('FF FF'), 0, 2, 2, out)).toBe(2);
    expect(out.value).toBe(32767);
    expect(decodeVarint(hex('FF'), 0, 1, 1, out)).toBe(1);
    expect(out.value).toBe(255);
  });

  it('reports 00 after the first byte as VarintNonMinimal', () => {
    const out: VarintValue = { value: 0 };
    for (const [input, n] of [['80 00', 2], ['80 00', 4], ['FF 80 00', 3], ['80 80 80 00', 4]] as const) {
      const bytes = hex(input);
      expect(decodeVarint(bytes, 0, bytes.length, n, out), input).toBe(-ErrorCode.VarintNonMinimal);
    }
    // A lone 00 is the value 0, not an error.
    expect(decodeVarint(hex('00'), 0, 1, 2, out)).toBe(1);
  });

  it('throws RangeError for values, widths and room out of range', () => {
    const out = new Uint8Array(4);
    expect(() => encodeVarint(256, 1, out, 0)).toThrow(RangeError);
    expect(() => encodeVarint(-1, 2, out, 0)).toThrow(RangeError);
    expect(() => encodeVarint(1.5, 2, out, 0)).toThrow(RangeError);
    expect(() => encodeVarint(2 ** 29, 4, out, 0)).toThrow(RangeError);
    expect(() => encodeVarint(300, 4, out, 3)).toThrow(RangeError);
    expect(() => varintMax(0)).toThrow(RangeError);
    expect(() => varintMax(5)).toThrow(RangeError);
    expect(() => varintLength(32768, 2)).toThrow(RangeError);
  });
});

describe('chunk prefix (joint.md §10.2)', () => {
  describe.each(prefixes.vectors)('$id: length $length with N = $n', (v) => {
    it('encodes length - 1', () => {
      const out = new Uint8Array(6);
      const written = encodeChunkPrefix(v.length, v.n, out, 2);
      expect(toHex(out.subarray(2, 2 + written)).toUpperCase()).toBe(v.input);
    });
    it('decodes back to length - 1', () => {
      const bytes = hex(v.input);
      const out: VarintValue = { value: 0 };
      expect(decodeVarint(bytes, 0, bytes.length, v.n, out)).toBe(bytes.length);
      expect(out.value + 1).toBe(v.length);
    });
  });

  it('refuses lengths <= 0 and past the width', () => {
    const out = new Uint8Array(4);
    expect(() => encodeChunkPrefix(0, 2, out, 0)).toThrow(RangeError);
    expect(() => encodeChunkPrefix(-3, 2, out, 0)).toThrow(RangeError);
    expect(() => encodeChunkPrefix(32769, 2, out, 0)).toThrow(RangeError);
    expect(() => encodeChunkPrefix(257, 1, out, 0)).toThrow(RangeError);
    expect(encodeChunkPrefix(2 ** 29, 4, out, 0)).toBe(4);
  });

  it('derives N from maxChunkSize as the original does', () => {
    expect(chunkPrefixBytesFor(1)).toBe(1);
    expect(chunkPrefixBytesFor(256)).toBe(1);
    expect(chunkPrefixBytesFor(257)).toBe(2);
    expect(chunkPrefixBytesFor(MAX_CHUNK_BYTES)).toBe(2);
    expect(chunkPrefixBytesFor(32769)).toBe(3);
    expect(chunkPrefixBytesFor(4194304)).toBe(3);
    expect(chunkPrefixBytesFor(4194305)).toBe(4);
    expect(chunkPrefixBytesFor(MAX_CHUNK_BYTES_LIMIT)).toBe(4);
  });
});
