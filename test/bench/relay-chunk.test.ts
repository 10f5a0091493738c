/**
 * The relay drivers' whole-chunk shortcut (src/bench/drivers/relay-chunk.ts): a frame's data that
 * is exactly one chunk is taken without the ChunkAssembler, and only then; whether the assembler
 * may hold a partial chunk is judged from where its last feed ended. Checked against the
 * assembler itself on every prefix width and split.
 */
import { describe, expect, it } from 'vitest';
import { encodeChunkPrefix } from '../../src/codec/varint.js';
import { createChunkAssembler, ErrorCode } from '../../src/core/index.js';
import { CHUNK_PREFIX_BYTES, endsOnChunk, wholeChunkPrefix } from '../../src/bench/drivers/relay-chunk.js';

/** A chunk of `length` bytes with its prefix of N = 2, at `offset` in a larger buffer. */
function chunk(length: number, offset = 3): { buf: Uint8Array; at: number; bytes: number } {
  const buf = new Uint8Array(offset + CHUNK_PREFIX_BYTES + length + 5);
  const p = encodeChunkPrefix(length, CHUNK_PREFIX_BYTES, buf, offset);
  for (let i = 0; i < length; i++) buf[offset + p + i] = (i * 31) & 0xff;
  return { buf, at: offset, bytes: p + length };
}

describe('wholeChunkPrefix', () => {
  it('gives the prefix width of exactly one chunk, at every length and both widths', () => {
    for (const length of [1, 2, 127, 128, 129, 1000, 32767, 32768]) {
      const { buf, at, bytes } = chunk(length);
      expect(wholeChunkPrefix(buf, at, bytes), `length ${length}`).toBe(length <= 128 ? 1 : 2);
      // One byte short, one byte more: not one whole chunk.
      expect(wholeChunkPrefix(buf, at, bytes - 1)).toBe(0);
      expect(wholeChunkPrefix(buf, at, bytes + 1)).toBe(0);
    }
  });

  it('leaves a non-minimal prefix and too little input to the assembler', () => {
    // 0x85 0x00: value 5 written in two bytes, refused by the assembler (VarintNonMinimal).
    const bytes = Uint8Array.of(0x85, 0x00, 1, 2, 3, 4, 5, 6);
    expect(wholeChunkPrefix(bytes, 0, bytes.length)).toBe(0);
    const a = createChunkAssembler({ prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: 1 });
    a.feed(0, bytes, 0, bytes.length);
    expect(a.error).not.toBe(ErrorCode.Ok);
    expect(wholeChunkPrefix(Uint8Array.of(0), 0, 1)).toBe(0);
    expect(wholeChunkPrefix(Uint8Array.of(), 0, 0)).toBe(0);
  });
});

describe('endsOnChunk', () => {
  it('says whether the assembler holds part of a chunk after a feed, for every split of two chunks', () => {
    const a1 = chunk(100, 0);
    const a2 = chunk(300, 0);
    const stream = new Uint8Array([...a1.buf.subarray(0, a1.bytes), ...a2.buf.subarray(0, a2.bytes)]);
    const boundaries = new Set([0, a1.bytes, stream.length]);
    for (let split = 1; split < stream.length; split++) {
      const a = createChunkAssembler({ prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: 1 });
      const first = a.feed(0, stream, 0, split);
      expect(endsOnChunk(a.units, first, split), `split ${split}`).toBe(boundaries.has(split));
      const second = a.feed(0, stream, split, stream.length - split);
      const ends = endsOnChunk(a.units, second, stream.length);
      // Split inside the second chunk's body, the rest completes it in carry, which says nothing
      // of where the input ended: not a boundary, the safe side. Otherwise the feed ends on one.
      if (split <= a1.bytes) expect(ends, `split ${split}, rest`).toBe(true);
      if (ends) {
        // Nothing held back: a whole chunk fed next comes out whole, as the shortcut takes it.
        const a3 = chunk(50, 0);
        expect(a.feed(0, a3.buf, 0, a3.bytes)).toBe(1);
        expect([a.units[1], a.units[2]]).toEqual([1, 50]);
      }
    }
  });
});
