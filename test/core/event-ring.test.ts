import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  EVENT_RING_ARENA_BYTES,
  EVENT_RING_CAPACITY,
  RING_ENTRY_STRIDE,
  type EventRing,
} from '../../src/core/index.js';
import { IMPLEMENTATIONS } from '../helpers/implementations.js';

interface Entry {
  kind: number;
  peer: number;
  timestamp: number;
  payload: number[];
}

/** Poll everything and copy the entries out. */
function pollAll(ring: EventRing): Entry[] {
  const n = ring.poll();
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const s = i * RING_ENTRY_STRIDE;
    const p = ring.polled;
    const offset = p[s + 3]!;
    const length = p[s + 4]!;
    expect(offset + length).toBeLessThanOrEqual(ring.arenaBytes);
    out.push({ kind: p[s]!, peer: p[s + 1]!, timestamp: p[s + 2]!, payload: Array.from(ring.arena.subarray(offset, offset + length)) });
  }
  return out;
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 29 + seed * 7 + 1) & 0xff);
}

function push(ring: EventRing, e: Entry): number {
  const b = Uint8Array.from(e.payload);
  return ring.push(e.kind, e.peer, e.timestamp, b, 0, b.length);
}

function entry(i: number, length: number): Entry {
  return { kind: i % 7, peer: 1000 + i, timestamp: 1_700_000_000_000 + i * 0.25, payload: Array.from(bytes(length, i)) };
}

describe.each(IMPLEMENTATIONS)('EventRing ($name)', (impl) => {
  it('stores a kind of -0 as 0 on both implementations', () => {
    const ring = impl.eventRing({ capacity: 2, arenaBytes: 16 });
    ring.push(-0, 1, 2, new Uint8Array(0), 0, 0);
    expect(ring.poll()).toBe(1);
    expect(Object.is(ring.polled[0], 0)).toBe(true);
  });

  it('has capacity 2000 and the documented arena by default', () => {
    const ring = impl.eventRing();
    expect(ring.capacity).toBe(EVENT_RING_CAPACITY);
    expect(EVENT_RING_CAPACITY).toBe(2000);
    expect(ring.arenaBytes).toBe(EVENT_RING_ARENA_BYTES);
    expect(ring.arena.length).toBe(EVENT_RING_ARENA_BYTES);
    expect(ring.polled.length).toBe(2000 * RING_ENTRY_STRIDE);
    expect(ring.size).toBe(0);
    expect(ring.dropped).toBe(0);
    expect(ring.poll()).toBe(0);
  });

  it('holds exactly 2000 by default, then drops the oldest and counts it', () => {
    const ring = impl.eventRing();
    const one = Uint8Array.of(1);
    for (let i = 0; i < 2000; i++) expect(ring.push(1, i, i, one, 0, 1)).toBe(0);
    expect(ring.size).toBe(2000);
    expect(ring.push(1, 2000, 2000, one, 0, 1)).toBe(1);
    expect(ring.size).toBe(2000);
    expect(ring.dropped).toBe(1);
    const got = pollAll(ring);
    expect(got.length).toBe(2000);
    expect(got[0]!.peer).toBe(1);
    expect(got[1999]!.peer).toBe(2000);
  });

  it('takes a configurable capacity', () => {
    for (const capacity of [1, 2, 3, 17, 5000]) {
      const ring = impl.eventRing({ capacity, arenaBytes: 1 << 16 });
      expect(ring.capacity).toBe(capacity);
      const total = capacity * 2 + 1;
      let drops = 0;
      for (let i = 0; i < total; i++) drops += push(ring, entry(i, i % 5));
      expect(drops).toBe(total - capacity);
      expect(ring.dropped).toBe(total - capacity);
      const got = pollAll(ring);
      expect(got).toEqual(Array.from({ length: capacity }, (_, k) => entry(total - capacity + k, (total - capacity + k) % 5)));
    }
  });

  it('keeps kind, peer, timestamp and payload of every entry, oldest first', () => {
    const ring = impl.eventRing({ capacity: 10, arenaBytes: 4096 });
    const entries: Entry[] = [
      { kind: 0, peer: 0, timestamp: 0, payload: [] },
      { kind: -5, peer: -1, timestamp: 123.456, payload: [1, 2, 3] },
      { kind: 2 ** 31 - 1, peer: 2 ** 53 - 1, timestamp: 1.7e12 + 0.125, payload: [255] },
      { kind: -(2 ** 31), peer: 0.5, timestamp: -3, payload: Array.from(bytes(1000, 3)) },
      { kind: 7, peer: 42, timestamp: performance.now(), payload: [0] },
    ];
    for (const e of entries) expect(push(ring, e)).toBe(0);
    expect(ring.size).toBe(entries.length);
    expect(pollAll(ring)).toEqual(entries);
  });

  it('poll takes everything at once and leaves the ring empty', () => {
    const ring = impl.eventRing({ capacity: 100, arenaBytes: 1000 });
    for (let i = 0; i < 60; i++) push(ring, entry(i, 3));
    expect(ring.poll()).toBe(60);
    expect(ring.size).toBe(0);
    expect(ring.poll()).toBe(0);
    // After a poll the ring is as good as new: capacity and arena are all free again.
    for (let i = 0; i < 100; i++) expect(push(ring, entry(i, 10))).toBe(0);
    expect(pollAll(ring).length).toBe(100);
    expect(ring.dropped).toBe(0);
  });

  it('wraps the payload arena around, dropping the oldest for room, and keeps every byte right', () => {
    const arenaBytes = 1000;
    const ring = impl.eventRing({ capacity: 64, arenaBytes });
    const pushed: Entry[] = [];
    let drops = 0;
    let seed = 3;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const before = ring.dropped;
      const n = 1 + rnd(40);
      for (let i = 0; i < n; i++) {
        const e = entry(pushed.length, rnd(5) === 0 ? 0 : 1 + rnd(rnd(4) === 0 ? arenaBytes : 120));
        pushed.push(e);
        const r = push(ring, e);
        expect(r).toBeGreaterThanOrEqual(0);
        drops += r;
        expect(ring.size).toBeLessThanOrEqual(64);
      }
      expect(ring.dropped - before).toBe(drops);
      const size = ring.size;
      const got = pollAll(ring);
      expect(got.length).toBe(size);
      // What is polled is the newest entries, in order, with intact payloads.
      expect(got).toEqual(pushed.slice(pushed.length - size));
      // Everything pushed since the last poll is either polled or dropped.
      expect(pushed.length).toBe(got.length + drops);
      pushed.length = 0;
      drops = 0;
    }
  });

  it('drops for arena room only as many entries as needed', () => {
    const ring = impl.eventRing({ capacity: 100, arenaBytes: 100 });
    for (let i = 0; i < 4; i++) expect(push(ring, entry(i, 25))).toBe(0);
    // The arena is full: a 30-byte payload needs the two oldest gone.
    expect(push(ring, entry(4, 30))).toBe(2);
    expect(ring.dropped).toBe(2);
    // A payload of the whole arena drops everything before it.
    expect(push(ring, entry(5, 100))).toBe(3);
    expect(pollAll(ring)).toEqual([entry(5, 100)]);
    expect(ring.dropped).toBe(5);
  });

  it('refuses a payload larger than the arena without dropping anything', () => {
    const ring = impl.eventRing({ capacity: 4, arenaBytes: 16 });
    push(ring, entry(0, 4));
    const big = bytes(17, 1);
    expect(ring.push(1, 1, 1, big, 0, 17)).toBe(-ErrorCode.RingPayloadTooLarge);
    expect(ring.size).toBe(1);
    expect(ring.dropped).toBe(0);
    expect(ring.push(1, 1, 1, big, 0, 16)).toBe(1);
  });

  it('stores empty payloads without arena space, even with a zero arena', () => {
    const ring = impl.eventRing({ capacity: 3, arenaBytes: 0 });
    const none = new Uint8Array(0);
    for (let i = 0; i < 3; i++) expect(ring.push(i, i, i, none, 0, 0)).toBe(0);
    expect(ring.push(1, 1, 1, Uint8Array.of(1), 0, 1)).toBe(-ErrorCode.RingPayloadTooLarge);
    const got = pollAll(ring);
    expect(got.map((e) => e.kind)).toEqual([0, 1, 2]);
    expect(ring.polled[3]).toBe(0);
    expect(ring.polled[4]).toBe(0);
  });

  it('copies payloads from an offset, and copies a polled entry pushed again', () => {
    const ring = impl.eventRing({ capacity: 8, arenaBytes: 256 });
    const src = bytes(100, 5);
    expect(ring.push(3, 4, 5, src, 10, 50)).toBe(0);
    src.fill(0); // the ring owns a copy
    expect(ring.poll()).toBe(1);
    const offset = ring.polled[3]!;
    const copy = Array.from(ring.arena.subarray(offset, offset + 50));
    expect(copy).toEqual(Array.from(bytes(100, 5).subarray(10, 60)));
    // Re-queue the polled entry straight from the arena.
    expect(ring.push(3, 4, 5, ring.arena, offset, 50)).toBe(0);
    expect(pollAll(ring)[0]!.payload).toEqual(copy);
  });

  it('pushBatch queues in order, counts drops and stops at a payload larger than the arena', () => {
    const ring = impl.eventRing({ capacity: 3, arenaBytes: 64 });
    const payloads = bytes(200, 2);
    const meta = new Float64Array(5 * RING_ENTRY_STRIDE);
    const rows = [
      [1, 10, 0.5, 0, 4],
      [2, 11, 1.5, 4, 4],
      [3, 12, 2.5, 8, 0],
      [4, 13, 3.5, 8, 8],
      [5, 14, 4.5, 0, 100],
    ];
    rows.forEach((r, i) => meta.set(r, i * RING_ENTRY_STRIDE));
    expect(ring.pushBatch(meta, 4, payloads)).toBe(1);
    expect(ring.dropped).toBe(1);
    expect(ring.pushBatch(meta, 5, payloads)).toBe(-ErrorCode.RingPayloadTooLarge);
    const got = pollAll(ring);
    // The second batch queued four (dropping four) before it stopped at the fifth.
    expect(got.map((e) => [e.kind, e.peer, e.timestamp])).toEqual([
      [2, 11, 1.5],
      [3, 12, 2.5],
      [4, 13, 3.5],
    ]);
    expect(got[2]!.payload).toEqual(Array.from(payloads.subarray(8, 16)));
    expect(ring.pushBatch(meta, 0, payloads)).toBe(0);
  });

  it('reports drops in the return value that add up to dropped', () => {
    const ring = impl.eventRing({ capacity: 5, arenaBytes: 300 });
    let sum = 0;
    for (let i = 0; i < 500; i++) {
      sum += push(ring, entry(i, (i * 37) % 150));
      if (i % 97 === 0) ring.poll();
    }
    expect(ring.dropped).toBe(sum);
    expect(sum).toBeGreaterThan(0);
  });

  it('throws on misuse and stays usable', () => {
    expect(() => impl.eventRing({ capacity: 0 })).toThrow(RangeError);
    expect(() => impl.eventRing({ capacity: 1.5 })).toThrow(RangeError);
    expect(() => impl.eventRing({ arenaBytes: -1 })).toThrow(RangeError);
    const ring = impl.eventRing({ capacity: 4, arenaBytes: 64 });
    const b = bytes(8, 1);
    expect(() => ring.push(1, 1, 1, b, 4, 5)).toThrow(RangeError);
    expect(() => ring.push(1, 1, 1, b, -1, 1)).toThrow(RangeError);
    expect(() => ring.push(1.5, 1, 1, b, 0, 1)).toThrow(RangeError);
    expect(() => ring.push(2 ** 31, 1, 1, b, 0, 1)).toThrow(RangeError);
    expect(() => ring.push(1, 1, 1, 'x' as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
    const meta = new Float64Array(RING_ENTRY_STRIDE);
    meta.set([1, 1, 1, 4, 5]);
    expect(() => ring.pushBatch(meta, 1, b)).toThrow(RangeError);
    expect(() => ring.pushBatch(meta, 2, b)).toThrow(RangeError);
    expect(ring.size).toBe(0);
    expect(ring.push(1, 2, 3, b, 0, 8)).toBe(0);
    expect(pollAll(ring)).toEqual([{ kind: 1, peer: 2, timestamp: 3, payload: Array.from(b) }]);
  });
});
