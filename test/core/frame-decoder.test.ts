import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FRAME_PREFIX_BYTES,
  FRAME_UNIT_STRIDE,
  MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_UNITS_PER_FEED,
  UnitFlag,
  type FrameDecoder,
} from '../../src/core/index.js';
import { IMPLEMENTATIONS } from '../helpers/implementations.js';
import { splits, toHex } from '../helpers/vectors.js';

const WHOLE = UnitFlag.FrameStart | UnitFlag.FrameEnd;

/** A cheap assertion for hot loops (vitest's expect costs microseconds per call). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`decoder broke a rule: ${what}`);
}

interface Run {
  frames: string[];
  error: number;
  /** Absolute stream index where decoding stopped (the offending prefix on error). */
  at: number;
  feeds: number[];
  carried: number;
}

/** Feed `pieces`, refeeding the rest when units fill up; frames copied out as hex. */
function run(dec: FrameDecoder, pieces: Iterable<Uint8Array>): Run {
  const out: Run = { frames: [], error: ErrorCode.Ok, at: 0, feeds: [], carried: 0 };
  let base = 0;
  for (const piece of pieces) {
    let off = 0;
    do {
      const n = dec.feed(piece, off, piece.length - off);
      out.feeds.push(n);
      for (let i = 0; i < n; i++) {
        const s = i * FRAME_UNIT_STRIDE;
        const flags = dec.units[s]!;
        const offset = dec.units[s + 1]!;
        const length = dec.units[s + 2]!;
        check((flags & WHOLE) === WHOLE, 'whole frames only');
        check(length > 0, 'no empty frames');
        let src = piece;
        if (flags & UnitFlag.InCarry) {
          check(i === 0, 'InCarry only on the first unit');
          src = dec.carry();
          out.carried++;
        } else check(offset >= off && offset + length <= piece.length, 'unit inside the fed span');
        out.frames.push(toHex(src.subarray(offset, offset + length)));
      }
      if (dec.error !== ErrorCode.Ok) {
        out.error = dec.error;
        out.at = base + off + dec.consumed;
        return out;
      }
      if (dec.consumed < piece.length - off) check(n === dec.units.length / FRAME_UNIT_STRIDE, 'stops early only when full');
      off += dec.consumed;
    } while (off < piece.length);
    base += piece.length;
  }
  out.at = base;
  return out;
}

function body(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff);
}

/** `u32 LE length` + body. */
function frame(payload: Uint8Array, declared = payload.length): Uint8Array {
  const out = new Uint8Array(FRAME_PREFIX_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, declared >>> 0, true);
  out.set(payload, FRAME_PREFIX_BYTES);
  return out;
}

/**
 * Where `consumed` points after an error on the prefix at `prefixAt`: the prefix itself, or the
 * start of the read that completed it when it began in an earlier read (nothing to point back to).
 */
function errorAt(pieces: Uint8Array[], prefixAt: number): number {
  const last = prefixAt + FRAME_PREFIX_BYTES - 1;
  let start = 0;
  for (const p of pieces) {
    if (last < start + p.length) break;
    start += p.length;
  }
  return Math.max(prefixAt, start);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe.each(IMPLEMENTATIONS)('FrameDecoder ($name)', (impl) => {
  it('has the documented defaults', () => {
    const dec = impl.frameDecoder();
    expect(dec.maxFrameBytes).toBe(MAX_FRAME_BYTES);
    expect(dec.units.length).toBe(MAX_UNITS_PER_FEED * FRAME_UNIT_STRIDE);
    expect(dec.error).toBe(ErrorCode.Ok);
    expect(dec.consumed).toBe(0);
    expect(impl.frameDecoder({ maxFrameBytes: 100 }).maxFrameBytes).toBe(100);
  });

  it('decodes every frame of one read as views, relative to the input', () => {
    const payloads = [1, 2, 3, 100, 1000].map((n, i) => body(n, i));
    const input = concat(Uint8Array.of(0xee, 0xee), ...payloads.map((p) => frame(p)));
    const dec = impl.frameDecoder();
    expect(dec.feed(input, 2, input.length - 2)).toBe(payloads.length);
    expect(dec.consumed).toBe(input.length - 2);
    let at = 2;
    payloads.forEach((p, i) => {
      at += FRAME_PREFIX_BYTES;
      expect(Array.from(dec.units.subarray(i * 3, i * 3 + 3))).toEqual([WHOLE, at, p.length]);
      at += p.length;
    });
  });

  const stream = concat(...[1, 5, 4, 200, 3].map((n, i) => frame(body(n, i))));
  const expected = [1, 5, 4, 200, 3].map((n, i) => toHex(body(n, i)));

  it('gives the same frames at every split point and byte by byte', () => {
    for (const pieces of splits(stream)) {
      const r = run(impl.frameDecoder(), pieces);
      const label = `split ${pieces.map((p) => p.length).join('+')}`;
      expect(r.frames, label).toEqual(expected);
      expect(r.error, label).toBe(ErrorCode.Ok);
      expect(r.at).toBe(stream.length);
    }
  });

  it('gives the same frames in every three-way split', () => {
    const dec = impl.frameDecoder();
    for (let i = 1; i < stream.length; i += 3) {
      for (let j = i + 1; j < stream.length; j += 5) {
        dec.reset();
        const r = run(dec, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        expect(r.frames).toEqual(expected);
      }
    }
  });

  it('keeps a prefix split across reads in state', () => {
    const dec = impl.frameDecoder();
    const input = frame(body(7, 1));
    for (let i = 0; i < FRAME_PREFIX_BYTES; i++) {
      expect(dec.feed(input, i, 1)).toBe(0);
      expect(dec.consumed).toBe(1);
    }
    // The whole body in one read after a split prefix: still a view.
    expect(dec.feed(input, 4, 7)).toBe(1);
    expect(Array.from(dec.units.subarray(0, 3))).toEqual([WHOLE, 4, 7]);
  });

  it('carries a frame split across reads, and keeps it while the next frame begins', () => {
    const big = body(5000, 3);
    const next = body(300, 4);
    const input = concat(frame(big), frame(next));
    const dec = impl.frameDecoder();
    expect(dec.feed(input, 0, 1000)).toBe(0);
    expect(dec.feed(input, 1000, 2000)).toBe(0);
    // Ends the big frame and begins the next one, which goes to the pending buffer.
    expect(dec.feed(input, 3000, 2200)).toBe(1);
    expect(Array.from(dec.units.subarray(0, 3))).toEqual([WHOLE | UnitFlag.InCarry, dec.units[1], 5000]);
    const off = dec.units[1]!;
    expect(Buffer.compare(dec.carry().subarray(off, off + 5000), big)).toBe(0);
    expect(dec.consumed).toBe(2200);
    expect(dec.feed(input, 5200, input.length - 5200)).toBe(1);
    expect(dec.units[0]).toBe(WHOLE | UnitFlag.InCarry);
    expect(Buffer.compare(dec.carry().subarray(dec.units[1]!, dec.units[1]! + 300), next)).toBe(0);
  });

  it('accepts a frame of exactly maxFrameBytes, split or whole', () => {
    const dec = impl.frameDecoder({ maxFrameBytes: 1000 });
    const input = frame(body(1000, 9));
    expect(run(dec, [input]).frames.length).toBe(1);
    const r = run(dec, [input.subarray(0, 10), input.subarray(10, 500), input.subarray(500)]);
    expect(r.frames).toEqual([toHex(body(1000, 9))]);
    expect(r.carried).toBe(1);
  });

  it('reports FrameTooLarge at the prefix, before the body arrives', () => {
    const dec = impl.frameDecoder({ maxFrameBytes: 1000 });
    const good = frame(body(10, 1));
    const input = concat(good, frame(new Uint8Array(0), 1001));
    expect(dec.feed(input, 0, input.length)).toBe(1);
    expect(dec.error).toBe(ErrorCode.FrameTooLarge);
    expect(dec.consumed).toBe(good.length);
  });

  it('reports FrameTooLarge for the largest u32 length and at every split of its prefix', () => {
    const input = concat(frame(body(3, 1)), frame(new Uint8Array(0), 0xffffffff));
    for (const pieces of splits(input)) {
      const r = run(impl.frameDecoder(), pieces);
      expect(r.frames).toEqual([toHex(body(3, 1))]);
      expect(r.error).toBe(ErrorCode.FrameTooLarge);
      expect(r.at).toBe(errorAt(pieces, 7));
    }
  });

  it('reports FrameEmpty for a zero length, at every split', () => {
    const input = concat(frame(body(2, 1)), frame(new Uint8Array(0)), frame(body(2, 2)));
    for (const pieces of splits(input)) {
      const r = run(impl.frameDecoder(), pieces);
      expect(r.frames).toEqual([toHex(body(2, 1))]);
      expect(r.error).toBe(ErrorCode.FrameEmpty);
      expect(r.at).toBe(errorAt(pieces, 6));
    }
  });

  it('stops when the units are full and resumes from consumed', () => {
    const dec = impl.frameDecoder({ maxUnits: 2 });
    const input = concat(...[1, 2, 3, 4, 5].map((n) => frame(body(n, n))));
    expect(dec.feed(input, 0, input.length)).toBe(2);
    expect(dec.consumed).toBe(5 + 6);
    expect(dec.error).toBe(ErrorCode.Ok);
    const r = run(dec, [input.subarray(11)]);
    expect(r.frames).toEqual([3, 4, 5].map((n) => toHex(body(n, n))));
    expect(r.feeds).toEqual([2, 1]);
  });

  it('emits a carried frame even when the units are full', () => {
    const dec = impl.frameDecoder({ maxUnits: 1 });
    const input = concat(frame(body(10, 1)), frame(body(1, 2)));
    expect(dec.feed(input, 0, 7)).toBe(0);
    expect(dec.feed(input, 7, input.length - 7)).toBe(1);
    expect(dec.units[0]! & UnitFlag.InCarry).toBe(UnitFlag.InCarry);
    expect(dec.consumed).toBe(7);
  });

  it('keeps an error sticky until reset, and reset forgets a partial frame', () => {
    const dec = impl.frameDecoder({ maxFrameBytes: 10 });
    const bad = frame(new Uint8Array(0), 11);
    dec.feed(bad, 0, 4);
    expect(dec.error).toBe(ErrorCode.FrameTooLarge);
    const good = frame(body(3, 0));
    expect(dec.feed(good, 0, good.length)).toBe(0);
    expect(dec.consumed).toBe(0);
    expect(dec.error).toBe(ErrorCode.FrameTooLarge);
    dec.reset();
    expect(dec.error).toBe(ErrorCode.Ok);
    expect(dec.feed(good, 0, 6)).toBe(0); // a partial frame...
    dec.reset(); // ...forgotten
    expect(dec.feed(good, 0, good.length)).toBe(1);
    expect(Array.from(dec.units.subarray(0, 3))).toEqual([WHOLE, 4, 3]);
  });

  it('decodes random streams in random reads like a simple model', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let trial = 0; trial < 30; trial++) {
      const max = 1 + rnd(3000);
      const payloads = Array.from({ length: 1 + rnd(40) }, (_, i) => body(1 + rnd(max), i));
      const input = concat(...payloads.map((p) => frame(p)));
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < input.length; ) {
        const n = 1 + rnd(trial % 2 ? 16 : 4096);
        pieces.push(input.subarray(at, at + n));
        at += n;
      }
      const r = run(impl.frameDecoder({ maxFrameBytes: max, maxUnits: 1 + rnd(8) }), pieces);
      expect(r.error).toBe(ErrorCode.Ok);
      expect(r.frames).toEqual(payloads.map(toHex));
    }
  });

  it('throws on misuse and stays usable', () => {
    expect(() => impl.frameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => impl.frameDecoder({ maxFrameBytes: MAX_FRAME_BYTES_LIMIT + 1 })).toThrow(RangeError);
    expect(() => impl.frameDecoder({ maxFrameBytes: 1.5 })).toThrow(RangeError);
    expect(() => impl.frameDecoder({ maxUnits: 0 })).toThrow(RangeError);
    const dec = impl.frameDecoder();
    const input = frame(body(2, 0));
    expect(() => dec.feed(input, 0, input.length + 1)).toThrow(RangeError);
    expect(() => dec.feed(input, -1, 1)).toThrow(RangeError);
    expect(() => dec.feed(input, 1.5, 1)).toThrow(RangeError);
    expect(() => dec.feed(input, input.length, 1)).toThrow(RangeError);
    expect(() => dec.feed('abcdef' as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
    expect(() => dec.feed([0, 0, 0, 1, 7] as unknown as Uint8Array, 0, 5)).toThrow(TypeError);
    expect(dec.feed(input, 0, input.length)).toBe(1);
    expect(dec.error).toBe(ErrorCode.Ok);
  });
});
