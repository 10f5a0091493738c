import { describe, expect, it } from 'vitest';
import {
  CHUNK_UNIT_STRIDE,
  ErrorCode,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_BYTES_LIMIT,
  MAX_STREAMS,
  UnitFlag,
  type ChunkAssembler,
  type ChunkAssemblerOptions,
} from '../../src/core/index.js';
import { encodeChunkPrefix } from '../../src/core/varint.js';
import { IMPLEMENTATIONS } from '../helpers/implementations.js';
import { hex, loadVectors, splits, toHex } from '../helpers/vectors.js';

interface ReassemblyVector {
  id: string;
  description?: string;
  options: ChunkAssemblerOptions;
  input: string;
  chunks: string[];
  error: keyof typeof ErrorCode;
  consumed: number;
  frames?: string[];
  dataOffsets?: number[];
}

const reassembly = loadVectors<ReassemblyVector>('chunk', 'reassembly');

interface Run {
  chunks: string[];
  error: number;
  /** Units per feed call, with InCarry marked. */
  feeds: { units: number; inCarry: number[] }[];
}

/** Feed `pieces` to `stream`, refeeding the rest when units fill up; payloads copied out as hex. */
function run(asm: ChunkAssembler, stream: number, pieces: Iterable<Uint8Array>, out: Run = { chunks: [], error: 0, feeds: [] }): Run {
  for (const piece of pieces) {
    let off = 0;
    do {
      const count = asm.feed(stream, piece, off, piece.length - off);
      const inCarry: number[] = [];
      for (let i = 0; i < count; i++) {
        const flags = asm.units[i * CHUNK_UNIT_STRIDE]!;
        const offset = asm.units[i * CHUNK_UNIT_STRIDE + 1]!;
        const length = asm.units[i * CHUNK_UNIT_STRIDE + 2]!;
        expect(flags & (UnitFlag.FrameStart | UnitFlag.FrameEnd)).toBe(UnitFlag.FrameStart | UnitFlag.FrameEnd);
        if (flags & UnitFlag.InCarry) inCarry.push(i);
        const source = flags & UnitFlag.InCarry ? asm.carry() : piece;
        out.chunks.push(toHex(source.subarray(offset, offset + length)).toUpperCase());
      }
      out.feeds.push({ units: count, inCarry });
      out.error = asm.error;
      if (asm.error !== ErrorCode.Ok) return out;
      off += asm.consumed;
    } while (off < piece.length);
  }
  return out;
}

function chunkBytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

/** Prefix (N = 2 unless given) + payload. */
function frameChunk(payload: Uint8Array, n = 2): Uint8Array {
  const out = new Uint8Array(n + payload.length);
  const p = encodeChunkPrefix(payload.length, n, out, 0);
  out.set(payload, p);
  return out.subarray(0, p + payload.length);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

const hexOf = (b: Uint8Array) => toHex(b).toUpperCase();

describe.each(IMPLEMENTATIONS)('ChunkAssembler ($name)', (impl) => {
  describe.each(reassembly.vectors)('vector $id', (v) => {
    const input = hex(v.input);
    it('gives the expected chunks and error when fed whole', () => {
      const asm = impl.chunkAssembler(v.options);
      const count = asm.feed(0, input, 0, input.length);
      expect(count).toBe(v.chunks.length);
      expect(asm.error).toBe(ErrorCode[v.error]);
      expect(asm.consumed).toBe(v.consumed);
      for (let i = 0; i < count; i++) expect(asm.units[i * CHUNK_UNIT_STRIDE]! & UnitFlag.InCarry).toBe(0);
    });
    it('gives the same at every split point and byte by byte', () => {
      for (const pieces of splits(input)) {
        const asm = impl.chunkAssembler(v.options);
        const result = run(asm, 3, pieces);
        const label = `${v.id} split ${pieces.map((p) => p.length).join('+')}`;
        expect(result.chunks, label).toEqual(v.chunks);
        expect(result.error, label).toBe(ErrorCode[v.error]);
        for (const feed of result.feeds) expect(feed.inCarry.length === 0 || (feed.inCarry.length === 1 && feed.inCarry[0] === 0), label).toBe(true);
      }
    });
  });

  it.each(reassembly.vectors.filter((v) => v.frames))('$id: reassembles the payload of the observed joint frames', (v) => {
    const asm = impl.chunkAssembler(v.options);
    const frames = v.frames!.map(hex);
    const data = frames.map((f, i) => f.subarray(v.dataOffsets![i]));
    expect(hexOf(concat(...data))).toBe(v.input);
    // The original sends the prefix alone, then the payload: the payload is still a view.
    expect(asm.feed(0, frames[0]!, v.dataOffsets![0]!, data[0]!.length)).toBe(0);
    expect(asm.feed(0, frames[1]!, v.dataOffsets![1]!, data[1]!.length)).toBe(1);
    expect(Array.from(asm.units.subarray(0, 3))).toEqual([UnitFlag.FrameStart | UnitFlag.FrameEnd, v.dataOffsets![1]!, 240]);
    expect(hexOf(frames[1]!.subarray(v.dataOffsets![1]!))).toBe(v.chunks[0]);
  });

  it.each(loadVectors<{ id: string; chunk: string; stream: string }>('joint', 'registration').vectors)(
    '$id: the registration/call chunk stream gives its chunk',
    (v) => {
      const asm = impl.chunkAssembler();
      const r = run(asm, 0, [hex(v.stream)]);
      expect(r.chunks).toEqual([hexOf(hex(v.chunk))]);
      expect(r.error).toBe(ErrorCode.Ok);
    },
  );

  it('has the documented defaults', () => {
    const asm = impl.chunkAssembler();
    expect(asm.maxChunkBytes).toBe(MAX_CHUNK_BYTES);
    expect(asm.prefixBytes).toBe(2);
    expect(asm.maxStreams).toBe(MAX_STREAMS);
    expect(asm.error).toBe(ErrorCode.Ok);
    expect(impl.chunkAssembler({ maxChunkBytes: 100 }).prefixBytes).toBe(1);
    expect(impl.chunkAssembler({ maxChunkBytes: 40000 }).prefixBytes).toBe(3);
    expect(impl.chunkAssembler({ maxChunkBytes: MAX_CHUNK_BYTES_LIMIT }).prefixBytes).toBe(4);
  });

  it('delivers every complete chunk of one feed at once, as views', () => {
    const payloads = [1, 2, 127, 128, 129, 300].map((n, i) => chunkBytes(n, i));
    const input = concat(...payloads.map((p) => frameChunk(p)));
    const asm = impl.chunkAssembler();
    expect(asm.feed(0, input, 0, input.length)).toBe(payloads.length);
    expect(asm.consumed).toBe(input.length);
    let expectedOffset = 0;
    payloads.forEach((p, i) => {
      expectedOffset += p.length > 128 ? 2 : 1;
      expect(Array.from(asm.units.subarray(i * 3, i * 3 + 3))).toEqual([3, expectedOffset, p.length]);
      expectedOffset += p.length;
    });
  });

  it('reports views relative to the input, not to the offset', () => {
    const asm = impl.chunkAssembler();
    const input = concat(hex('AA AA AA'), frameChunk(hex('41 42')));
    expect(asm.feed(0, input, 3, 3)).toBe(1);
    expect(Array.from(asm.units.subarray(0, 3))).toEqual([3, 4, 2]);
    expect(asm.consumed).toBe(3);
  });

  it('assembles a chunk spanning three feeds in carry, and keeps it while a new chunk starts', () => {
    const big = chunkBytes(1000, 7);
    const next = chunkBytes(500, 9);
    const stream = concat(frameChunk(big), frameChunk(next));
    const asm = impl.chunkAssembler();
    expect(asm.feed(5, stream, 0, 300)).toBe(0);
    expect(asm.feed(5, stream, 300, 400)).toBe(0);
    // The third feed ends the big chunk and begins the next one, which is buffered.
    expect(asm.feed(5, stream, 700, 400)).toBe(1);
    expect(asm.units[0]).toBe(UnitFlag.FrameStart | UnitFlag.FrameEnd | UnitFlag.InCarry);
    expect(asm.units[2]).toBe(1000);
    const off = asm.units[1]!;
    expect(hexOf(asm.carry().subarray(off, off + 1000))).toBe(hexOf(big));
    expect(asm.consumed).toBe(400);
    expect(asm.feed(5, stream, 1100, stream.length - 1100)).toBe(1);
    expect(asm.units[0]! & UnitFlag.InCarry).toBe(UnitFlag.InCarry);
    expect(hexOf(asm.carry().subarray(asm.units[1]!, asm.units[1]! + 500))).toBe(hexOf(next));
  });

  it('keeps a prefix split across feeds in state', () => {
    const payload = chunkBytes(240, 1);
    const input = frameChunk(payload);
    const asm = impl.chunkAssembler();
    expect(asm.feed(0, input, 0, 1)).toBe(0);
    expect(asm.consumed).toBe(1);
    expect(asm.feed(0, input, 1, input.length - 1)).toBe(1);
    expect(Array.from(asm.units.subarray(0, 3))).toEqual([3, 2, 240]);
  });

  it('reports ChunkTooLarge at the prefix, before the payload arrives', () => {
    const asm = impl.chunkAssembler({ maxChunkBytes: 1000 });
    const prefix = new Uint8Array(2);
    encodeChunkPrefix(1001, 2, prefix, 0);
    expect(asm.feed(0, prefix, 0, 2)).toBe(0);
    expect(asm.error).toBe(ErrorCode.ChunkTooLarge);
    expect(asm.consumed).toBe(0);
  });

  it('reports VarintNonMinimal for 00 in a continuation position, even split from its prefix', () => {
    const asm = impl.chunkAssembler();
    expect(asm.feed(0, hex('41 80'), 1, 1)).toBe(0);
    expect(asm.error).toBe(ErrorCode.Ok);
    expect(asm.feed(0, hex('00 41'), 0, 2)).toBe(0);
    expect(asm.error).toBe(ErrorCode.VarintNonMinimal);
    expect(asm.consumed).toBe(0);
  });

  it('keeps a stream failed until dropStream, and dropStream restores it', () => {
    const asm = impl.chunkAssembler();
    asm.feed(1, hex('80 00'), 0, 2);
    expect(asm.error).toBe(ErrorCode.VarintNonMinimal);
    const good = frameChunk(hex('41'));
    expect(asm.feed(1, good, 0, good.length)).toBe(0);
    expect(asm.error).toBe(ErrorCode.VarintNonMinimal);
    expect(asm.consumed).toBe(0);
    asm.dropStream(1);
    expect(asm.feed(1, good, 0, good.length)).toBe(1);
    expect(asm.error).toBe(ErrorCode.Ok);
  });

  it('dropStream forgets a partial chunk', () => {
    const asm = impl.chunkAssembler();
    const a = frameChunk(chunkBytes(200, 2));
    expect(asm.feed(4, a, 0, 100)).toBe(0);
    asm.dropStream(4);
    const b = frameChunk(hex('42 43'));
    expect(asm.feed(4, b, 0, b.length)).toBe(1);
    expect(Array.from(asm.units.subarray(0, 3))).toEqual([3, 1, 2]);
  });

  it('keeps streams independent: an error on stream 1 leaves stream 2 working', () => {
    const asm = impl.chunkAssembler({ maxChunkBytes: 300, maxStreams: 4 });
    const p2 = chunkBytes(250, 3);
    const s2 = frameChunk(p2);
    // Stream 2 starts a chunk, stream 1 fails, stream 2 finishes its chunk.
    expect(asm.feed(2, s2, 0, 100)).toBe(0);
    const p1 = chunkBytes(260, 4);
    const s1 = frameChunk(p1);
    expect(asm.feed(1, s1, 0, 50)).toBe(0);
    expect(asm.feed(1, hex('FF 01'), 0, 2)).toBe(0); // inside stream 1's payload: fine
    expect(asm.error).toBe(ErrorCode.Ok);
    const tooLarge = hex('AC 02'); // varint 300: length 301
    const rest1 = s1.subarray(52);
    expect(asm.feed(1, concat(rest1, tooLarge), 0, rest1.length + 2)).toBe(1);
    expect(asm.error).toBe(ErrorCode.ChunkTooLarge);
    expect(asm.consumed).toBe(rest1.length);
    expect(asm.feed(2, s2, 100, s2.length - 100)).toBe(1);
    expect(asm.error).toBe(ErrorCode.Ok);
    expect(hexOf(asm.carry().subarray(asm.units[1]!, asm.units[1]! + 250))).toBe(hexOf(p2));
    expect(asm.feed(1, s2, 0, s2.length)).toBe(0);
    expect(asm.error).toBe(ErrorCode.ChunkTooLarge);
  });

  it('stops early when the units are full and continues from consumed', () => {
    const asm = impl.chunkAssembler({ maxUnits: 2 });
    const payloads = [1, 2, 3, 4, 5].map((n) => chunkBytes(n, n));
    const input = concat(...payloads.map((p) => frameChunk(p)));
    expect(asm.feed(0, input, 0, input.length)).toBe(2);
    expect(asm.consumed).toBe(2 + 3);
    expect(asm.error).toBe(ErrorCode.Ok);
    const result = run(asm, 0, [input.subarray(5)]);
    expect(result.chunks).toEqual(payloads.slice(2).map(hexOf));
    expect(result.feeds.map((f) => f.units)).toEqual([2, 1]);
  });

  it('emits a carried chunk even when the units are full', () => {
    const asm = impl.chunkAssembler({ maxUnits: 1 });
    const input = concat(frameChunk(chunkBytes(10, 1)), frameChunk(hex('41')));
    expect(asm.feed(0, input, 0, 5)).toBe(0);
    expect(asm.feed(0, input, 5, input.length - 5)).toBe(1);
    expect(asm.units[0]! & UnitFlag.InCarry).toBe(UnitFlag.InCarry);
    expect(asm.consumed).toBe(6);
  });

  it('throws RangeError on misuse', () => {
    expect(() => impl.chunkAssembler({ maxChunkBytes: 0 })).toThrow(/maxChunkBytes/);
    expect(() => impl.chunkAssembler({ maxChunkBytes: MAX_CHUNK_BYTES_LIMIT + 1 })).toThrow(RangeError);
    expect(() => impl.chunkAssembler({ maxChunkBytes: 257, prefixBytes: 1 })).toThrow(/maxChunkBytes.*256/);
    expect(() => impl.chunkAssembler({ maxChunkBytes: 32769, prefixBytes: 2 })).toThrow(/32768/);
    expect(() => impl.chunkAssembler({ prefixBytes: 0 })).toThrow(/prefixBytes/);
    expect(() => impl.chunkAssembler({ prefixBytes: 5 })).toThrow(/prefixBytes/);
    expect(() => impl.chunkAssembler({ maxStreams: 0 })).toThrow(/maxStreams/);
    expect(() => impl.chunkAssembler({ maxUnits: 0 })).toThrow(/maxUnits/);
    expect(() => impl.chunkAssembler({ maxChunkBytes: 1.5 })).toThrow(RangeError);
    const asm = impl.chunkAssembler({ maxStreams: 4 });
    const input = hex('00 41');
    expect(() => asm.feed(-1, input, 0, 2)).toThrow(/stream/);
    expect(() => asm.feed(4, input, 0, 2)).toThrow(/stream.*3/);
    expect(() => asm.feed(0.5, input, 0, 2)).toThrow(RangeError);
    expect(() => asm.feed(0, input, 1, 2)).toThrow(RangeError);
    expect(() => asm.feed(0, input, -1, 1)).toThrow(RangeError);
    expect(() => asm.feed(0, '0A' as unknown as Uint8Array, 0, 2)).toThrow(TypeError);
    expect(() => asm.dropStream(4)).toThrow(RangeError);
    expect(() => asm.dropStream(-1)).toThrow(RangeError);
    // Misuse leaves the assembler working.
    expect(asm.feed(0, input, 0, 2)).toBe(1);
  });
});
