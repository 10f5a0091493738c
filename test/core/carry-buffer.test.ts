import { describe, expect, it } from 'vitest';
import {
  appendPending,
  BODY_NEED_MORE,
  BodyCollector,
  CarryBuffer,
  EMPTY_BYTES,
  grownSize,
  MIN_PENDING_BYTES,
} from '../../src/core/carry-buffer.js';
import { UnitFlag } from '../../src/core/types.js';

const WHOLE = UnitFlag.FrameStart | UnitFlag.FrameEnd;

/** `n` bytes counting up from `first` (mod 256), so a misplaced byte shows. */
function counting(n: number, first = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (first + i) & 0xff);
}

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

describe('BodyCollector', () => {
  it('collects a body split across three inputs and writes its unit only when it is complete', () => {
    const body = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3).fill(-9);
    const whole = counting(300, 1);
    // Input 1: a 4-byte header of something else, then the first 100 body bytes.
    const first = new Uint8Array(104);
    first.set(whole.subarray(0, 100), 4);
    expect(body.collect(first, 4, 104, 300, 1000, carry, units, 0)).toBe(BODY_NEED_MORE);
    expect(body.fill).toBe(100);
    expect(body.collect(whole, 100, 250, 300, 1000, carry, units, 0)).toBe(BODY_NEED_MORE);
    expect(body.fill).toBe(250);
    expect([...units]).toEqual([-9, -9, -9]);
    expect(carry.bytes).toBe(EMPTY_BYTES);
    // Input 3: the last 50 bytes, then 7 bytes of the next frame that are not taken.
    const last = new Uint8Array(57);
    last.set(whole.subarray(250));
    expect(body.collect(last, 0, 57, 300, 1000, carry, units, 0)).toBe(50);
    expect([...units]).toEqual([WHOLE | UnitFlag.InCarry, 0, 300]);
    expect([...carry.bytes.subarray(0, 300)]).toEqual([...whole]);
    // Handed out: fill is 0 again, so the parser takes the next whole body as a view.
    expect(body.fill).toBe(0);
  });

  it('treats an input that ends where the body starts as need-more, allocating nothing', () => {
    const body = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3);
    expect(body.collect(counting(8), 8, 8, 20, 100, carry, units, 0)).toBe(BODY_NEED_MORE);
    expect(body.fill).toBe(0);
    expect(carry.bytes).toBe(EMPTY_BYTES);
  });

  it('grows with the bytes that arrived, not the declared length, and never past the limit', () => {
    const body = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3);
    // A 300-byte body arriving 10 + 246 + 44: MIN_PENDING_BYTES, then doubled; never sized
    // to the declared 300 up front.
    expect(body.collect(counting(10), 0, 10, 300, 1000, carry, units, 0)).toBe(BODY_NEED_MORE);
    expect(body.collect(counting(246, 10), 0, 246, 300, 1000, carry, units, 0)).toBe(BODY_NEED_MORE);
    expect(body.collect(counting(44, 256), 0, 44, 300, 1000, carry, units, 0)).toBe(44);
    expect(carry.bytes.length).toBe(2 * MIN_PENDING_BYTES);
    expect([...carry.bytes.subarray(0, 300)]).toEqual([...counting(300)]);
    const capped = new BodyCollector();
    capped.collect(counting(200), 0, 200, 300, 300, carry, units, 0);
    capped.collect(counting(100, 200), 0, 100, 300, 300, carry, units, 0);
    expect(carry.bytes.length).toBe(300);
  });

  it('swaps the completed body into the carry and reuses the old carry for the next split body', () => {
    const body = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3);
    body.collect(counting(100), 0, 100, 200, 4096, carry, units, 0);
    body.collect(counting(100, 100), 0, 100, 200, 4096, carry, units, 0);
    const firstBody = carry.bytes;
    expect(firstBody.length).toBe(MIN_PENDING_BYTES);
    // A second split body collects into the buffer the carry held before (empty: grows anew) …
    body.collect(counting(150, 7), 0, 150, 250, 4096, carry, units, 0);
    // … so the first body, handed out from the carry, is intact until the next completes.
    expect([...firstBody.subarray(0, 200)]).toEqual([...counting(200)]);
    body.collect(counting(100, 157), 0, 100, 250, 4096, carry, units, 0);
    expect(carry.bytes).not.toBe(firstBody);
    expect([...carry.bytes.subarray(0, 250)]).toEqual([...counting(250, 7)]);
    // The third split body reuses the first body's buffer: the carry and the pending buffer
    // trade places, so steady state allocates nothing.
    const secondBody = carry.bytes;
    body.collect(counting(10), 0, 10, 20, 4096, carry, units, 0);
    body.collect(counting(10, 10), 0, 10, 20, 4096, carry, units, 0);
    expect(carry.bytes).toBe(firstBody);
    expect([...carry.bytes.subarray(0, 20)]).toEqual([...counting(20)]);
    body.collect(counting(10), 0, 10, 20, 4096, carry, units, 0);
    body.collect(counting(10, 10), 0, 10, 20, 4096, carry, units, 0);
    expect(carry.bytes).toBe(secondBody);
  });

  it('shares one carry between collectors (chunk streams): a completed body moves the carry to the next', () => {
    const a = new BodyCollector();
    const b = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3);
    a.collect(counting(5), 0, 5, 10, 100, carry, units, 0);
    b.collect(counting(5, 50), 0, 5, 10, 100, carry, units, 0);
    expect(a.collect(counting(5, 5), 0, 5, 10, 100, carry, units, 0)).toBe(5);
    const fromA = carry.bytes;
    expect([...fromA.subarray(0, 10)]).toEqual([...counting(10)]);
    // b's partial body is its own: untouched by a's completion.
    expect(b.collect(counting(5, 55), 0, 5, 10, 100, carry, units, 0)).toBe(5);
    expect([...carry.bytes.subarray(0, 10)]).toEqual([...counting(10, 50)]);
    expect(carry.bytes).not.toBe(fromA);
    // b got fromA's buffer back to collect into: its next body completes there.
    b.collect(counting(10), 0, 10, 10, 100, carry, units, 0);
    expect(carry.bytes).toBe(fromA);
  });

  it('reset() forgets a partly collected body', () => {
    const body = new BodyCollector();
    const carry = new CarryBuffer();
    const units = new Int32Array(3);
    body.collect(counting(5, 100), 0, 5, 10, 100, carry, units, 0);
    body.reset();
    expect(body.fill).toBe(0);
    expect(body.collect(counting(10), 0, 10, 10, 100, carry, units, 0)).toBe(10);
    expect([...carry.bytes.subarray(0, 10)]).toEqual([...counting(10)]);
  });
});
