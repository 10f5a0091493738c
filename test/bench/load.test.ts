/**
 * The load loop (src/bench/load.ts, run.ts) against the null driver: closed and open loop give
 * consistent counts; injected loss, corruption, duplication and reordering are counted; a target
 * that stalls shows the stall in the open loop's percentiles (coordinated omission corrected);
 * abort, connect failures and progress behave. What befalls the warm-up's frames, a sender held up
 * by its full ring and a measured period that delivered nothing are reported in `errors` (issue
 * 17: nothing is silent). Counts and latencies only; no speed is asserted.
 */
import { describe, expect, it } from 'vitest';
import { benchWith, nullDriver, type BenchOptions, type BenchResult, type NullDriverOptions } from '../../src/bench/index.js';
import { RING_FULL } from '../../src/bench/load.js';
import { WARMUP_CORRUPTED, WARMUP_DUPLICATED, WARMUP_LOST, WARMUP_REORDERED } from '../../src/bench/tally.js';
import { expectConsistent } from './helpers/consistent.js';

const BASE = { kind: 'relay', host: '127.0.0.1', port: 1, users: 4, durationSec: 1, warmupSec: 0.2, drainMs: 500 } as const;

/** The count of the error entry `message`, 0 without one. */
function errorCount(r: BenchResult, message: string): number {
  return r.errors.find((e) => e.message === message)?.count ?? 0;
}

const NOTHING_DELIVERED = 'the measured period delivered nothing';

function run(driver: NullDriverOptions, options: Partial<BenchOptions> = {}): Promise<BenchResult> {
  return benchWith(nullDriver(driver), { ...BASE, ...options });
}

describe('load loop', () => {
  it('closed loop: every frame sent is delivered, once, in order', async () => {
    const r = await run({}, { window: 8 });
    expectConsistent(r);
    expect(r.schema).toBe('gamewire-bench/1');
    expect(r.options.window).toBe(8);
    expect(r.options.rate).toBeNull();
    expect(r.counts.sent).toBeGreaterThan(100);
    expect(r.counts).toMatchObject({ lost: 0, corrupted: 0, duplicated: 0, reordered: 0, refused: 0 });
    expect(r.counts.expected).toBe(r.counts.sent);
    expect(r.durationSec).toBeCloseTo(1, 1);
    expect(r.bytesPerSec.total).toBe(r.counts.delivered * 64);
    expect(r.percentiles.at(-1)![0]).toBe(100);
    expect(r.latency.p99).toBeLessThanOrEqual(r.latency.max);
    expect(r.errors).toEqual([]);
  });

  it('closed loop with fanout: each frame is expected once per receiver', async () => {
    const r = await run({ fanout: 3 }, { window: 4, size: { min: 30, max: 90 } });
    expectConsistent(r);
    expect(r.counts.expected).toBe(3 * r.counts.sent);
    expect(r.counts.lost).toBe(0);
  });

  it('open loop: sends rate x senders x duration frames', async () => {
    const r = await run({}, { rate: 200 });
    expectConsistent(r);
    expect(r.options.window).toBeNull();
    // 4 senders x 200/s x 1 s; the schedule is exact, only frames not yet due at the end differ.
    expect(r.counts.sent).toBeGreaterThanOrEqual(790);
    expect(r.counts.sent).toBeLessThanOrEqual(800);
    expect(r.counts.lost).toBe(0);
  });

  it('counts dropped frames as lost', async () => {
    const r = await run({ dropEvery: 10 }, { window: 4, frameTimeoutMs: 100 });
    expectConsistent(r);
    expect(r.counts.lost).toBeGreaterThan(0);
    expect(Math.abs(r.counts.lost - r.counts.sent / 10)).toBeLessThanOrEqual(r.counts.sent * 0.01 + 8);
    // The warm-up's drops are reported apart; counts.lost above is the measured period's alone.
    expect(errorCount(r, WARMUP_LOST)).toBeGreaterThan(0);
    expect(r.errors.some((e) => e.message.startsWith(NOTHING_DELIVERED))).toBe(false);
  });

  it('a frame lost in the warm-up that holds its closed-loop sender up past the measured period is reported, and so is the empty period', async () => {
    // One sender, window 2, ring 32: frame 40 (sequence 39) is dropped in the warm-up, 31 more go,
    // then the ring is full until frameTimeoutMs (5 s, past the run): nothing is sent or lost
    // in the measured period, so the counts alone would read as a clean run.
    const r = await run({ dropEvery: 40 }, { users: 1, window: 2 });
    expectConsistent(r);
    expect(r.counts).toMatchObject({ sent: 0, expected: 0, delivered: 0, lost: 0 });
    expect(errorCount(r, WARMUP_LOST)).toBe(1);
    expect(errorCount(r, RING_FULL)).toBe(1);
    const nothing = r.errors.filter((e) => e.message.startsWith(NOTHING_DELIVERED));
    expect(nothing).toHaveLength(1);
    expect(nothing[0]!.count).toBe(1);
    expect(nothing[0]!.message).toContain('no frame was sent in it');
    expect(nothing[0]!.message).toContain('awaiting frameTimeoutMs (5000 ms)');
    expect(nothing[0]!.message).toContain('frames of the warm-up were lost');
  });

  it('a closed-loop window filled by frames lost in the warm-up: the empty period names them', async () => {
    // Window 1: the dropped frame fills it, the sender waits out frameTimeoutMs (past the run).
    const r = await run({ dropEvery: 40 }, { users: 1, window: 1 });
    expectConsistent(r);
    expect(r.counts).toMatchObject({ sent: 0, delivered: 0, lost: 0 });
    expect(errorCount(r, WARMUP_LOST)).toBe(1);
    expect(errorCount(r, RING_FULL)).toBe(0);
    const nothing = r.errors.find((e) => e.message.startsWith(NOTHING_DELIVERED));
    expect(nothing?.message).toContain('no frame was sent in it');
    expect(nothing?.message).toContain('frames of the warm-up were lost');
  });

  it('a driver that delivers nothing: every measured delivery lost, the warm-up ones too, and an error says the period delivered nothing', async () => {
    for (const loop of [{ window: 4 }, { rate: 100 }]) {
      const r = await run({ dropEvery: 1 }, { ...loop, frameTimeoutMs: 100 });
      expectConsistent(r);
      expect(r.counts.sent).toBeGreaterThan(0);
      expect(r.counts.delivered).toBe(0);
      expect(r.counts.lost).toBe(r.counts.expected);
      expect(errorCount(r, WARMUP_LOST)).toBeGreaterThan(0);
      const nothing = r.errors.find((e) => e.message.startsWith(NOTHING_DELIVERED));
      expect(nothing?.message).toContain(`${r.counts.sent} frames were sent in it, ${r.counts.lost} of ${r.counts.expected} expected deliveries lost`);
      expect(nothing?.message).toContain('every expected delivery was lost');
    }
  });

  it('counts corrupted deliveries, and their frames as lost', async () => {
    const r = await run({ corruptEvery: 7 }, { rate: 100, frameTimeoutMs: 100 });
    expectConsistent(r);
    expect(r.counts.corrupted).toBeGreaterThan(0);
    expect(Math.abs(r.counts.corrupted - r.counts.sent / 7)).toBeLessThanOrEqual(8);
    expect(Math.abs(r.counts.lost - r.counts.corrupted)).toBeLessThanOrEqual(8);
    // 4 senders x 100/s x 0.2 s of warm-up: ~11 corrupted, their frames lost; not in the counts.
    expect(errorCount(r, WARMUP_CORRUPTED)).toBeGreaterThan(0);
    expect(errorCount(r, WARMUP_LOST)).toBeGreaterThan(0);
  });

  it("verify: 'stamp' runs clean, and still counts a damaged last byte (in the sample) as corrupted", async () => {
    const clean = await run({}, { window: 8, verify: 'stamp', size: 1000 });
    expectConsistent(clean);
    expect(clean.options.verify).toBe('stamp');
    expect(clean.counts.delivered).toBeGreaterThan(100);
    expect(clean.counts).toMatchObject({ lost: 0, corrupted: 0, duplicated: 0, reordered: 0 });
    const r = await run({ corruptEvery: 7 }, { rate: 100, frameTimeoutMs: 100, verify: 'stamp', size: 1000 });
    expectConsistent(r);
    expect(Math.abs(r.counts.corrupted - r.counts.sent / 7)).toBeLessThanOrEqual(8);
  });

  it('counts duplicated deliveries', async () => {
    const r = await run({ duplicateEvery: 5 }, { rate: 100 });
    expectConsistent(r);
    expect(r.counts.lost).toBe(0);
    expect(Math.abs(r.counts.duplicated - r.counts.sent / 5)).toBeLessThanOrEqual(8);
    expect(errorCount(r, WARMUP_DUPLICATED)).toBeGreaterThan(0);
    expect(errorCount(r, WARMUP_LOST)).toBe(0);
  });

  it('counts reordering on an ordered transport, not on an unordered one', async () => {
    const ordered = await run({ reorderEvery: 4 }, { rate: 100 });
    expectConsistent(ordered);
    expect(ordered.counts.reordered).toBeGreaterThan(0);
    expect(ordered.counts.lost).toBe(0);
    expect(errorCount(ordered, WARMUP_REORDERED)).toBeGreaterThan(0);
    const unordered = await run({ reorderEvery: 4, ordered: false }, { rate: 100 });
    expectConsistent(unordered);
    expect(unordered.counts.reordered).toBe(0);
    expect(errorCount(unordered, WARMUP_REORDERED)).toBe(0);
  });

  it('open loop: a target stalling 200 ms every second shows it in p99 (latency from the intended send time)', async () => {
    // A frame due at the stall's start waits 200 ms, one due at its end 0: 20% of the frames
    // spread over 0-200 ms, so p99 = 200 - 1% of 1000 ms = 190 ms and p90 = 100 ms. A generator
    // that measured from the actual send (or slowed down) would show ~0 for all of them.
    const r = await run({ stall: { everyMs: 1000, forMs: 200 } }, { rate: 200, durationSec: 2, warmupSec: 0 });
    expectConsistent(r);
    expect(r.counts.lost).toBe(0);
    expect(r.latency.max).toBeGreaterThanOrEqual(195);
    expect(r.latency.p99).toBeGreaterThanOrEqual(180);
    expect(r.latency.p90).toBeGreaterThanOrEqual(85);
  });

  it('open loop: a stall of 250 ms every second gives p99 >= 200 ms, also when sends are refused meanwhile', async () => {
    for (const refuse of [false, true]) {
      const r = await run({ stall: { everyMs: 1000, forMs: 250, refuse } }, { rate: 200, durationSec: 2, warmupSec: 0 });
      expectConsistent(r);
      expect(r.latency.p99).toBeGreaterThanOrEqual(200);
      if (refuse) expect(r.counts.refused).toBeGreaterThan(0);
      // Refused frames were sent later with their stamp: none is missing.
      expect(r.counts.sent).toBeGreaterThanOrEqual(1550);
    }
  });

  it('closed loop: a refused frame waits and is retried, its wait counted in its latency', async () => {
    const r = await run({ stall: { everyMs: 500, forMs: 100, refuse: true } }, { window: 2, warmupSec: 0 });
    expectConsistent(r);
    expect(r.counts.refused).toBeGreaterThan(0);
    expect(r.latency.max).toBeGreaterThanOrEqual(90);
  });

  it('reports driver errors by message', async () => {
    const r = await run({ failEvery: 50 }, { rate: 100 });
    expectConsistent(r);
    const entry = r.errors.find((e) => e.message === 'null driver: injected error');
    expect(entry?.count).toBeGreaterThan(0);
  });

  it('calls onProgress once per measured second', async () => {
    const seen: number[] = [];
    const r = await run({}, { rate: 100, durationSec: 2, warmupSec: 0, onProgress: (p) => {
      seen.push(p.elapsedSec);
      expect(p.framesPerSec).toBeGreaterThan(0);
      expect(p.p99Ms).toBeGreaterThanOrEqual(0);
    } });
    expectConsistent(r);
    expect(seen).toEqual([1, 2]);
  });

  it('an abort ends the measured period early and still resolves with what was measured', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 600);
    const started = Date.now();
    const r = await run({}, { rate: 100, durationSec: 10, warmupSec: 0.2, signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(3000);
    expectConsistent(r);
    expect(r.durationSec).toBeGreaterThan(0.2);
    expect(r.durationSec).toBeLessThan(0.8);
    expect(r.counts.sent).toBeGreaterThan(0);
  });

  it('an abort during the warm-up resolves with an empty measured period', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const r = await run({}, { rate: 100, durationSec: 10, warmupSec: 5, signal: controller.signal });
    expect(r.durationSec).toBe(0);
    expect(r.counts.sent).toBe(0);
    expect(r.timeline).toEqual([]);
  });

  it('rejects with the reason of a signal aborted before the start', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop before start'));
    await expect(run({}, { signal: controller.signal })).rejects.toThrow('stop before start');
  });

  it('rejects with the reason of an abort while the driver opens', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop while opening')), 50);
    await expect(run({ openDelayMs: 200 }, { signal: controller.signal })).rejects.toThrow('stop while opening');
    // Nothing fires after the rejection (an armed timer would throw in a later tick).
    await new Promise((r) => setTimeout(r, 250));
  });

  it("rejects when the driver cannot open, and when opening exceeds connectTimeoutMs", async () => {
    await expect(run({ openError: 'connect ECONNREFUSED 127.0.0.1:1' })).rejects.toThrow('ECONNREFUSED');
    // The engine waits CONNECT_TIMEOUT_GRACE_MS past connectTimeoutMs, so a driver that times out by itself is heard first.
    await expect(run({ openDelayMs: 1000 }, { connectTimeoutMs: 50 })).rejects.toThrow(/could not connect to 127\.0\.0\.1:1 within 50 ms/);
  });

  it('refuses a factory function with workers > 0, naming workers', () => {
    expect(() => benchWith(nullDriver(), { ...BASE, workers: 2 })).toThrow(/workers/);
  });
});
