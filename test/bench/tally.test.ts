/**
 * The tally (src/bench/tally.ts) fed by hand: each kind of delivery lands in its count, per
 * (sender, receiver), and memory stays bounded by the frames in flight.
 */
import { describe, expect, it } from 'vitest';
import { MAX_IN_FLIGHT_COUNT, MAX_TALLY_ENTRIES_COUNT } from '../../src/bench/limits.js';
import { ringCapacity } from '../../src/bench/load.js';
import { resolveOptions } from '../../src/bench/resolve.js';
import { writeStamp } from '../../src/bench/stamp.js';
import type { ResolvedBenchOptions } from '../../src/bench/types.js';
import { FOREIGN_SENDER, LATE_DELIVERY, Tally, UNSENT_FRAME, type TallyOptions } from '../../src/bench/tally.js';

const SIZE = 40;

/** A tally measuring everything from time 0, with the frames it was sent. */
function setup(options: Partial<TallyOptions> = {}) {
  const freed: number[] = [];
  const tally = new Tally({
    senderBase: 100,
    senders: 2,
    capacity: 64,
    ordered: true,
    frameTimeoutMs: 1000,
    verify: 'full',
    onFree: (s) => freed.push(s),
    ...options,
  });
  tally.setMeasure(0, 1e12);
  const frames: Uint8Array[][] = [[], []];
  const send = (sender: number, at: number, fanout = 1): Uint8Array => {
    const seq = tally.nextSequence(sender);
    const payload = new Uint8Array(SIZE);
    writeStamp(payload, 100 + sender, seq, at);
    tally.sent(sender, at, at, fanout);
    frames[sender]![seq] = payload;
    return payload;
  };
  return { tally, freed, frames, send };
}

describe('ringCapacity', () => {
  const options = (patch: Partial<ResolvedBenchOptions>) => ({ ...resolveOptions({ kind: 'relay', host: 'h', port: 1 }), ...patch });

  it('gives a closed loop 4 x window, never less than the window, cut to the thread budget', () => {
    expect(ringCapacity(options({ window: 16 }), 10)).toBe(64);
    expect(ringCapacity(options({ window: 1 }), 10)).toBe(32);
    expect(ringCapacity(options({ window: 1000 }), 1_000_000)).toBe(1024);
  });

  it('gives an open loop a frame timeout of frames, within MAX_IN_FLIGHT_COUNT and the thread budget', () => {
    expect(ringCapacity(options({ window: null, rate: 100, frameTimeoutMs: 5000 }), 10)).toBe(512);
    expect(ringCapacity(options({ window: null, rate: 1e6, frameTimeoutMs: 5000 }), 1)).toBe(MAX_IN_FLIGHT_COUNT);
    expect(ringCapacity(options({ window: null, rate: 1000, frameTimeoutMs: 5000 }), 100_000)).toBe(32);
    expect(ringCapacity(options({ window: null, rate: 1000, frameTimeoutMs: 5000 }), 1000) * 1000).toBeLessThanOrEqual(MAX_TALLY_ENTRIES_COUNT);
  });
});

describe('Tally', () => {
  it('counts in-order deliveries and records their latency', () => {
    const { tally, send, freed } = setup();
    for (let i = 0; i < 5; i++) tally.deliver(send(0, 10 + i), 7, 12 + i);
    expect(tally.counts).toMatchObject({ sent: 5, expected: 5, delivered: 5, lost: 0, reordered: 0, duplicated: 0, corrupted: 0 });
    expect(freed).toEqual([0, 0, 0, 0, 0]);
    expect(tally.seconds[0]!.frames).toBe(5);
    expect(tally.seconds[0]!.bytes).toBe(5 * SIZE);
    expect(tally.seconds[0]!.histogram.getValueAtPercentile(50)).toBeGreaterThanOrEqual(1999);
    expect(tally.inFlight(0)).toBe(0);
  });

  it('counts a frame delivered after a later one as reordered, only when the transport is ordered', () => {
    for (const ordered of [true, false]) {
      const { tally, send } = setup({ ordered });
      const a = send(0, 1);
      const b = send(0, 2);
      tally.deliver(b, 1, 3);
      tally.deliver(a, 1, 4);
      expect(tally.counts.delivered).toBe(2);
      expect(tally.counts.reordered).toBe(ordered ? 1 : 0);
    }
  });

  it('counts a second delivery to the same receiver as duplicated, per receiver with fanout', () => {
    const { tally, send, freed } = setup();
    const a = send(1, 1, 3);
    tally.deliver(a, 1, 2);
    tally.deliver(a, 2, 2);
    tally.deliver(a, 2, 2);
    expect(tally.counts).toMatchObject({ expected: 3, delivered: 2, duplicated: 1 });
    expect(freed).toEqual([]);
    tally.deliver(a, 3, 2);
    expect(tally.counts.delivered).toBe(3);
    expect(freed).toEqual([1]);
    // The frame is complete: a repeat is still a duplicate, not a late delivery.
    tally.deliver(a, 3, 2);
    expect(tally.counts.duplicated).toBe(2);
  });

  it('counts a frame past its timeout as lost, and its late delivery as an error, not delivered', () => {
    const { tally, send, freed } = setup();
    const a = send(0, 0, 2);
    tally.deliver(a, 1, 10);
    tally.sweep(999);
    expect(tally.counts.lost).toBe(0);
    tally.sweep(1001);
    expect(tally.counts).toMatchObject({ delivered: 1, lost: 1 });
    expect(freed).toEqual([0]);
    tally.deliver(a, 2, 1500);
    expect(tally.counts).toMatchObject({ delivered: 1, lost: 1, duplicated: 0 });
    expect(tally.errors.byMessage.get(LATE_DELIVERY)).toBe(1);
  });

  it('counts frames still in flight at the end of the drain as lost', () => {
    const { tally, send } = setup();
    send(0, 0, 3);
    send(1, 0, 1);
    expect(tally.measuredLive).toBe(2);
    tally.finish();
    expect(tally.counts).toMatchObject({ expected: 4, lost: 4, delivered: 0 });
    expect(tally.measuredLive).toBe(0);
  });

  it('counts a changed byte, a foreign sender and a frame never sent as corrupted', () => {
    const { tally, send } = setup();
    const a = send(0, 0);
    const bad = Uint8Array.from(a);
    bad[30]! ^= 1;
    tally.deliver(bad, 1, 1);
    const foreign = new Uint8Array(SIZE);
    writeStamp(foreign, 5, 0, 0);
    tally.deliver(foreign, 1, 1);
    const unsent = new Uint8Array(SIZE);
    writeStamp(unsent, 100, 9, 0);
    tally.deliver(unsent, 1, 1);
    expect(tally.counts).toMatchObject({ corrupted: 3, delivered: 0 });
    expect(tally.errors.byMessage.get(FOREIGN_SENDER)).toBe(1);
    expect(tally.errors.byMessage.get(UNSENT_FRAME)).toBe(1);
  });

  it('does not count frames intended outside the measured period', () => {
    const { tally, send } = setup();
    tally.setMeasure(100, 200);
    tally.deliver(send(0, 50), 1, 60);
    tally.deliver(send(0, 150), 1, 160);
    tally.deliver(send(0, 250), 1, 260);
    expect(tally.counts).toMatchObject({ sent: 1, expected: 1, delivered: 1 });
  });

  it('takes back a refused frame (unsent) so it can be sent again under the same sequence', () => {
    const { tally, send } = setup();
    send(0, 1, 2);
    tally.unsent(0, 1, 2);
    expect(tally.counts).toMatchObject({ sent: 0, expected: 0 });
    expect(tally.nextSequence(0)).toBe(0);
    expect(tally.inFlight(0)).toBe(0);
    expect(tally.measuredLive).toBe(0);
  });

  it('keeps a sender to its ring: no room once the oldest frame in flight is a ring behind', () => {
    const { tally, send } = setup({ capacity: 64 });
    const first = send(0, 0);
    for (let i = 1; i < 64; i++) tally.deliver(send(0, 0), 1, 1);
    expect(tally.hasRoom(0)).toBe(false);
    tally.deliver(first, 1, 1);
    expect(tally.hasRoom(0)).toBe(true);
    expect(tally.counts).toMatchObject({ delivered: 64, reordered: 1 });
  });

  it('classifies a long run with gaps in O(frames in flight) memory', () => {
    const { tally, send } = setup({ capacity: 64, frameTimeoutMs: 5 });
    let full = 0;
    for (let i = 0; i < 20_000; i++) {
      tally.sweep(i);
      if (!tally.hasRoom(0)) full++;
      const p = send(0, i);
      if (i % 10 !== 3) tally.deliver(p, 1, i + 1);
    }
    tally.sweep(1e9);
    expect(tally.counts.delivered + tally.counts.lost).toBe(tally.counts.expected);
    expect(tally.counts.lost).toBe(2_000);
    expect(full).toBe(0);
    expect(tally.inFlight(0)).toBe(0);
  });
});
