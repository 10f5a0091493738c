import { describe, expect, it } from 'vitest';
import {
  AEAD_JOB_STRIDE,
  AEAD_MAX_COUNTER,
  AeadJs,
  AeadNative,
  ErrorCode,
  type Aead,
  type CoreFactories,
} from '../../src/core/index.js';
import { IMPLEMENTATIONS } from '../helpers/implementations.js';
import { hex, loadVectors } from '../helpers/vectors.js';

interface AeadVector {
  id: string;
  source: string;
  key: string;
  noncePrefix: string;
  counter: number;
  plaintext: string;
  sealed: string;
}

const VECTORS = loadVectors<AeadVector>('aead', 'gcm');
const TAG = 16;

type AeadCtor = new (key: Uint8Array, noncePrefix: Uint8Array, startCounter?: number) => Aead;

/** Both twins take an optional third `startCounter`; CoreFactories.aead does not pass it. */
function makeAead(impl: CoreFactories, key: Uint8Array, prefix: Uint8Array, startCounter = 0): Aead {
  if (startCounter === 0) return impl.aead(key, prefix);
  const Ctor = (impl.name === 'native' ? AeadNative : AeadJs) as unknown as AeadCtor;
  return new Ctor(key, prefix, startCounter);
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 7 + 3) & 255;
  return out;
}

const KEY128 = pattern(16, 1);
const KEY256 = pattern(32, 2);
const PREFIX = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4);

/** Seal `messages` in order on a fresh sealer; returns the sealed packets. */
function sealAll(impl: CoreFactories, key: Uint8Array, messages: Uint8Array[]): Uint8Array[] {
  const tx = makeAead(impl, key, PREFIX);
  return messages.map((m) => {
    const out = new Uint8Array(m.length + TAG);
    expect(tx.seal(m, 0, m.length, out, 0)).toBe(m.length + TAG);
    return out;
  });
}

function openInto(rx: Aead, packet: Uint8Array): { result: number; plain: Uint8Array } {
  const plain = new Uint8Array(Math.max(0, packet.length - TAG));
  return { result: rx.open(packet, 0, packet.length, plain, 0), plain };
}

describe.each(IMPLEMENTATIONS)('Aead ($name)', (impl) => {
  describe('known-answer vectors (test/vectors/aead/gcm.json)', () => {
    it.each(VECTORS.vectors)('seals and opens $id', (v) => {
      const key = hex(v.key);
      const prefix = hex(v.noncePrefix);
      const plaintext = hex(v.plaintext);
      const sealed = hex(v.sealed);

      const tx = makeAead(impl, key, prefix, v.counter);
      expect(tx.keyBytes).toBe(key.length);
      expect(tx.counter).toBe(v.counter);
      const out = new Uint8Array(sealed.length);
      expect(tx.seal(plaintext, 0, plaintext.length, out, 0)).toBe(sealed.length);
      expect(out).toEqual(sealed);
      expect(tx.counter).toBe(v.counter + 1);

      const rx = makeAead(impl, key, prefix, v.counter);
      const plain = new Uint8Array(plaintext.length);
      expect(rx.open(sealed, 0, sealed.length, plain, 0)).toBe(plaintext.length);
      expect(plain).toEqual(plaintext);
      expect(rx.counter).toBe(v.counter + 1);
    });
  });

  describe.each([
    ['AES-128', KEY128],
    ['AES-256', KEY256],
  ] as const)('%s round trips', (_label, key) => {
    it.each([0, 1, 32, 256, 1400, 65536])('round-trips %i bytes at offsets, three packets in a row', (size) => {
      const tx = makeAead(impl, key, PREFIX);
      const rx = makeAead(impl, key, PREFIX);
      for (let n = 0; n < 3; n++) {
        const msg = pattern(size, n);
        const input = new Uint8Array(size + 7);
        input.set(msg, 5);
        const wire = new Uint8Array(size + TAG + 11);
        expect(tx.seal(input, 5, size, wire, 3)).toBe(size + TAG);
        const plain = new Uint8Array(size + 9);
        expect(rx.open(wire, 3, size + TAG, plain, 2)).toBe(size);
        expect(plain.subarray(2, 2 + size)).toEqual(msg);
        expect(plain.subarray(0, 2)).toEqual(new Uint8Array(2));
        expect(plain.subarray(2 + size)).toEqual(new Uint8Array(7));
      }
      expect(tx.counter).toBe(3);
      expect(rx.counter).toBe(3);
    });

    it('seals and opens in place (output === input at the same offset)', () => {
      const msg = pattern(100, 9);
      const buf = new Uint8Array(100 + TAG);
      buf.set(msg);
      const tx = makeAead(impl, key, PREFIX);
      expect(tx.seal(buf, 0, 100, buf, 0)).toBe(100 + TAG);
      const reference = sealAll(impl, key, [msg])[0]!;
      expect(buf).toEqual(reference);
      const rx = makeAead(impl, key, PREFIX);
      expect(rx.open(buf, 0, 100 + TAG, buf, 0)).toBe(100);
      expect(buf.subarray(0, 100)).toEqual(msg);
    });

    it('gives a different ciphertext for each counter value', () => {
      const msg = pattern(32, 1);
      const [a, b] = sealAll(impl, key, [msg, msg]);
      expect(a).not.toEqual(b);
    });
  });

  describe('authentication', () => {
    it('fails with AuthFailed on a flipped bit in any byte of ciphertext or tag, and zeroes the output', () => {
      const msg = pattern(40, 4);
      const [packet] = sealAll(impl, KEY128, [msg]);
      const rx = makeAead(impl, KEY128, PREFIX);
      for (let i = 0; i < packet!.length; i++) {
        const bad = packet!.slice();
        bad[i]! ^= 1 << i % 8;
        const plain = new Uint8Array(msg.length).fill(0xee);
        expect(rx.open(bad, 0, bad.length, plain, 0)).toBe(-ErrorCode.AuthFailed);
        expect(plain).toEqual(new Uint8Array(msg.length));
        expect(rx.counter).toBe(0);
      }
      const { result, plain } = openInto(rx, packet!);
      expect(result).toBe(msg.length);
      expect(plain).toEqual(msg);
    });

    it('fails a replayed packet', () => {
      const [p0] = sealAll(impl, KEY256, [pattern(20, 1)]);
      const rx = makeAead(impl, KEY256, PREFIX);
      expect(openInto(rx, p0!).result).toBe(20);
      expect(openInto(rx, p0!).result).toBe(-ErrorCode.AuthFailed);
      expect(rx.counter).toBe(1);
    });

    it('fails reordered packets, then accepts them in order', () => {
      const [p0, p1] = sealAll(impl, KEY128, [pattern(20, 1), pattern(20, 2)]);
      const rx = makeAead(impl, KEY128, PREFIX);
      expect(openInto(rx, p1!).result).toBe(-ErrorCode.AuthFailed);
      expect(openInto(rx, p0!).result).toBe(20);
      expect(openInto(rx, p1!).result).toBe(20);
    });

    it('fails every packet after a dropped one', () => {
      const [, p1, p2] = sealAll(impl, KEY128, [pattern(5, 1), pattern(5, 2), pattern(5, 3)]);
      const rx = makeAead(impl, KEY128, PREFIX);
      expect(openInto(rx, p1!).result).toBe(-ErrorCode.AuthFailed);
      expect(openInto(rx, p2!).result).toBe(-ErrorCode.AuthFailed);
      expect(rx.counter).toBe(0);
    });

    it('fails inputs shorter than the tag with AuthFailed', () => {
      const [packet] = sealAll(impl, KEY128, [new Uint8Array(0)]);
      const rx = makeAead(impl, KEY128, PREFIX);
      for (let len = 0; len < TAG; len++) {
        expect(rx.open(packet!, 0, len, new Uint8Array(0), 0)).toBe(-ErrorCode.AuthFailed);
      }
      expect(rx.open(packet!, 0, TAG, new Uint8Array(0), 0)).toBe(0);
    });

    it('fails a packet truncated by one byte or extended by one byte', () => {
      const [packet] = sealAll(impl, KEY128, [pattern(30, 3)]);
      const rx = makeAead(impl, KEY128, PREFIX);
      const out = new Uint8Array(64);
      expect(rx.open(packet!, 0, packet!.length - 1, out, 0)).toBe(-ErrorCode.AuthFailed);
      const longer = new Uint8Array(packet!.length + 1);
      longer.set(packet!);
      expect(rx.open(longer, 0, longer.length, out, 0)).toBe(-ErrorCode.AuthFailed);
      expect(rx.open(packet!, 0, packet!.length, out, 0)).toBe(30);
    });

    it('fails under a wrong key, a wrong key size or a wrong nonce prefix', () => {
      const [packet] = sealAll(impl, KEY128, [pattern(30, 3)]);
      const otherKey = KEY128.slice();
      otherKey[15]! ^= 0x80;
      expect(openInto(makeAead(impl, otherKey, PREFIX), packet!).result).toBe(-ErrorCode.AuthFailed);
      expect(openInto(makeAead(impl, KEY256, PREFIX), packet!).result).toBe(-ErrorCode.AuthFailed);
      expect(openInto(makeAead(impl, KEY128, Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd5)), packet!).result).toBe(
        -ErrorCode.AuthFailed,
      );
    });
  });

  describe('counter exhaustion', () => {
    it('seals the last counter, then returns CounterExhausted and writes nothing', () => {
      const tx = makeAead(impl, KEY128, PREFIX, AEAD_MAX_COUNTER - 1);
      const out = new Uint8Array(8 + TAG);
      expect(tx.seal(pattern(8, 1), 0, 8, out, 0)).toBe(8 + TAG);
      expect(tx.counter).toBe(AEAD_MAX_COUNTER);
      const untouched = new Uint8Array(8 + TAG).fill(0x5a);
      expect(tx.seal(pattern(8, 1), 0, 8, untouched, 0)).toBe(-ErrorCode.CounterExhausted);
      expect(untouched).toEqual(new Uint8Array(8 + TAG).fill(0x5a));
      expect(tx.counter).toBe(AEAD_MAX_COUNTER);

      const rx = makeAead(impl, KEY128, PREFIX, AEAD_MAX_COUNTER - 1);
      expect(openInto(rx, out).result).toBe(8);
      expect(openInto(rx, out).result).toBe(-ErrorCode.CounterExhausted);
      // Exhaustion is reported before the length check.
      expect(rx.open(out, 0, 3, new Uint8Array(0), 0)).toBe(-ErrorCode.CounterExhausted);
    });

    it('starts exhausted at AEAD_MAX_COUNTER', () => {
      const tx = makeAead(impl, KEY256, PREFIX, AEAD_MAX_COUNTER);
      expect(tx.seal(new Uint8Array(0), 0, 0, new Uint8Array(TAG), 0)).toBe(-ErrorCode.CounterExhausted);
    });
  });

  describe('batches', () => {
    const SIZES = [0, 1, 32, 100, 1400];

    /** Lays out SIZES back to back in one input and one output buffer. */
    function layout(sealing: boolean): { input: Uint8Array; output: Uint8Array; jobs: Int32Array; messages: Uint8Array[] } {
      const messages = SIZES.map((s, i) => pattern(s, i + 10));
      const inLens = SIZES.map((s) => (sealing ? s : s + TAG));
      const outLens = SIZES.map((s) => (sealing ? s + TAG : s));
      const input = new Uint8Array(inLens.reduce((a, b) => a + b, 0) + 3);
      const output = new Uint8Array(outLens.reduce((a, b) => a + b, 0) + 5);
      const jobs = new Int32Array(SIZES.length * AEAD_JOB_STRIDE).fill(777);
      let inAt = 3;
      let outAt = 5;
      SIZES.forEach((_, i) => {
        jobs.set([inAt, inLens[i]!, outAt], i * AEAD_JOB_STRIDE);
        inAt += inLens[i]!;
        outAt += outLens[i]!;
      });
      return { input, output, jobs, messages };
    }

    function sealedBatch(): { input: Uint8Array; jobs: Int32Array; output: Uint8Array; messages: Uint8Array[] } {
      const s = layout(true);
      s.messages.forEach((m, i) => s.input.set(m, s.jobs[i * AEAD_JOB_STRIDE]!));
      const tx = makeAead(impl, KEY128, PREFIX);
      expect(tx.sealBatch(s.input, s.output, s.jobs, SIZES.length)).toBe(SIZES.length);
      expect(tx.counter).toBe(SIZES.length);
      return s;
    }

    it('sealBatch gives the same bytes as sealing one by one, and fills results', () => {
      const s = sealedBatch();
      const one = sealAll(impl, KEY128, s.messages);
      SIZES.forEach((size, i) => {
        const j = i * AEAD_JOB_STRIDE;
        expect(s.jobs[j + 3]).toBe(size + TAG);
        expect(s.output.subarray(s.jobs[j + 2]!, s.jobs[j + 2]! + size + TAG)).toEqual(one[i]);
      });
    });

    it('openBatch opens every job', () => {
      const sealed = sealedBatch();
      const o = layout(false);
      SIZES.forEach((size, i) => {
        const j = i * AEAD_JOB_STRIDE;
        o.input.set(sealed.output.subarray(sealed.jobs[j + 2]!, sealed.jobs[j + 2]! + size + TAG), o.jobs[j]!);
      });
      const rx = makeAead(impl, KEY128, PREFIX);
      expect(rx.openBatch(o.input, o.output, o.jobs, SIZES.length)).toBe(SIZES.length);
      SIZES.forEach((size, i) => {
        const j = i * AEAD_JOB_STRIDE;
        expect(o.jobs[j + 3]).toBe(size);
        expect(o.output.subarray(o.jobs[j + 2]!, o.jobs[j + 2]! + size)).toEqual(sealed.messages[i]);
      });
    });

    it('openBatch stops at a tampered job in the middle: AuthFailed there, later results untouched', () => {
      const sealed = sealedBatch();
      const o = layout(false);
      SIZES.forEach((size, i) => {
        const j = i * AEAD_JOB_STRIDE;
        o.input.set(sealed.output.subarray(sealed.jobs[j + 2]!, sealed.jobs[j + 2]! + size + TAG), o.jobs[j]!);
      });
      const bad = 2 * AEAD_JOB_STRIDE;
      o.input[o.jobs[bad]! + 7]! ^= 0x10;
      const rx = makeAead(impl, KEY128, PREFIX);
      expect(rx.openBatch(o.input, o.output, o.jobs, SIZES.length)).toBe(2);
      expect(o.jobs[3]).toBe(SIZES[0]);
      expect(o.jobs[AEAD_JOB_STRIDE + 3]).toBe(SIZES[1]);
      expect(o.jobs[bad + 3]).toBe(-ErrorCode.AuthFailed);
      expect(o.jobs[3 * AEAD_JOB_STRIDE + 3]).toBe(777);
      expect(o.jobs[4 * AEAD_JOB_STRIDE + 3]).toBe(777);
      expect(rx.counter).toBe(2);
      // The failed job's output region is zeroed.
      expect(o.output.subarray(o.jobs[bad + 2]!, o.jobs[bad + 2]! + SIZES[2]!)).toEqual(new Uint8Array(SIZES[2]!));

      // Repaired, the rest opens from where the batch stopped.
      o.input[o.jobs[bad]! + 7]! ^= 0x10;
      const rest = o.jobs.slice(bad);
      expect(rx.openBatch(o.input, o.output, rest, 3)).toBe(3);
      expect(rx.counter).toBe(SIZES.length);
    });

    it('sealBatch stops with CounterExhausted at the last counter', () => {
      const s = layout(true);
      const tx = makeAead(impl, KEY128, PREFIX, AEAD_MAX_COUNTER - 2);
      expect(tx.sealBatch(s.input, s.output, s.jobs, SIZES.length)).toBe(2);
      expect(s.jobs[2 * AEAD_JOB_STRIDE + 3]).toBe(-ErrorCode.CounterExhausted);
      expect(s.jobs[3 * AEAD_JOB_STRIDE + 3]).toBe(777);
      expect(tx.counter).toBe(AEAD_MAX_COUNTER);
    });

    it('a batch of zero jobs does nothing', () => {
      const tx = makeAead(impl, KEY128, PREFIX);
      expect(tx.sealBatch(new Uint8Array(0), new Uint8Array(0), new Int32Array(0), 0)).toBe(0);
      expect(tx.openBatch(new Uint8Array(0), new Uint8Array(0), new Int32Array(0), 0)).toBe(0);
      expect(tx.counter).toBe(0);
    });
  });

  describe('misuse throws at the API edge', () => {
    it.each([0, 15, 17, 24, 31, 33, 64])('rejects a %i-byte key with RangeError', (len) => {
      expect(() => impl.aead(new Uint8Array(len), PREFIX)).toThrow(RangeError);
    });

    it.each([0, 3, 5, 12])('rejects a %i-byte nonce prefix with RangeError', (len) => {
      expect(() => impl.aead(KEY128, new Uint8Array(len))).toThrow(RangeError);
    });

    it('rejects a key or prefix that is not a Uint8Array with TypeError', () => {
      expect(() => impl.aead('0123456789abcdef' as unknown as Uint8Array, PREFIX)).toThrow(TypeError);
      expect(() => impl.aead(KEY128, [1, 2, 3, 4] as unknown as Uint8Array)).toThrow(TypeError);
    });

    it.each([-1, 1.5, AEAD_MAX_COUNTER + 1, Number.NaN])('rejects startCounter %s with RangeError', (start) => {
      expect(() => makeAead(impl, KEY128, PREFIX, start)).toThrow(RangeError);
    });

    it('rejects spans outside their buffers without touching the counter', () => {
      const a = makeAead(impl, KEY128, PREFIX);
      const input = new Uint8Array(32);
      const out = new Uint8Array(48);
      expect(() => a.seal(input, -1, 4, out, 0)).toThrow(RangeError);
      expect(() => a.seal(input, 0.5, 4, out, 0)).toThrow(RangeError);
      expect(() => a.seal(input, 30, 4, out, 0)).toThrow(RangeError);
      expect(() => a.seal(input, 0, -4, out, 0)).toThrow(RangeError);
      expect(() => a.seal(input, 0, 32, out, 1)).toThrow(RangeError); // needs 48 bytes at 1
      expect(() => a.seal(input, 0, 32, new Uint8Array(47), 0)).toThrow(RangeError);
      expect(() => a.seal(input, 2 ** 53, 1, out, 0)).toThrow(RangeError);
      expect(() => a.seal(input, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, out, 0)).toThrow(RangeError);
      expect(() => a.open(input, 0, 33, out, 0)).toThrow(RangeError);
      expect(() => a.open(input, 0, 32, out, 33)).toThrow(RangeError); // needs 16 bytes at 33
      expect(() => a.open(input, 0, 32, out, -1)).toThrow(RangeError);
      expect(a.counter).toBe(0);
    });

    it('rejects a batch count past the jobs array, or any job out of bounds, before running any job', () => {
      const a = makeAead(impl, KEY128, PREFIX);
      const input = new Uint8Array(64);
      const out = new Uint8Array(64);
      const jobs = new Int32Array([0, 8, 0, 0, 8, 8, 24, 0]);
      expect(() => a.sealBatch(input, out, jobs, 3)).toThrow(RangeError);
      expect(() => a.sealBatch(input, out, jobs, -1)).toThrow(RangeError);
      const badSecond = new Int32Array([0, 8, 0, 0, 8, 8, 60, 0]); // second output 60 + 24 > 64
      expect(() => a.sealBatch(input, out, badSecond, 2)).toThrow(RangeError);
      const badInput = new Int32Array([0, 8, 0, 0, 60, 8, 24, 0]);
      expect(() => a.sealBatch(input, out, badInput, 2)).toThrow(RangeError);
      expect(() => a.openBatch(input, out, new Int32Array([-1, 16, 0, 0]), 1)).toThrow(RangeError);
      expect(() => a.openBatch(input, out, new Int32Array([0, 32, 50, 0]), 1)).toThrow(RangeError);
      expect(() => a.sealBatch(input, out, [0, 8, 0, 0] as unknown as Int32Array, 1)).toThrow(TypeError);
      expect(a.counter).toBe(0);
      expect(out).toEqual(new Uint8Array(64));
    });
  });
});
