/**
 * `workers: N` (src/bench/workers.ts, worker-entry.ts): the senders spread over worker threads
 * (from source: the .ts entry under tsx), each thread's counts and histograms merged into one
 * result; a worker whose driver cannot open fails the run.
 */
import { describe, expect, it } from 'vitest';
import { benchWith, NULL_DRIVER_URL, share, type NullDriverOptions } from '../../src/bench/index.js';
import { expectConsistent } from './helpers/consistent.js';

const BASE = { kind: 'relay', host: '127.0.0.1', port: 1, users: 5, durationSec: 1, warmupSec: 0.2, drainMs: 500 } as const;

function nullModule(options: NullDriverOptions = {}) {
  return { url: NULL_DRIVER_URL, name: 'nullDriver', args: [options] };
}

describe('workers', () => {
  it('share() spreads items as evenly as possible, first workers taking the remainder', () => {
    expect([0, 1, 2].map((w) => share(10, w, 3))).toEqual([{ first: 0, count: 4 }, { first: 4, count: 3 }, { first: 7, count: 3 }]);
    expect(share(10, 0, 0)).toEqual({ first: 0, count: 10 });
    expect(share(1, 1, 2)).toEqual({ first: 1, count: 0 });
  });

  it('workers: 2 merges the totals of both threads (open loop: rate x all senders x duration)', async () => {
    const r = await benchWith(nullModule(), { ...BASE, rate: 100, workers: 2 });
    expectConsistent(r);
    expect(r.generator.workers).toBe(2);
    // 5 senders (3 + 2) x 100/s x 1 s.
    expect(r.counts.sent).toBeGreaterThanOrEqual(490);
    expect(r.counts.sent).toBeLessThanOrEqual(500);
    expect(r.counts.lost).toBe(0);
  });

  it('a worker without senders (users < workers) idles and the run still adds up', async () => {
    const r = await benchWith(nullModule(), { ...BASE, users: 1, rate: 100, workers: 2 });
    expectConsistent(r);
    expect(r.counts.sent).toBeGreaterThanOrEqual(98);
    expect(r.counts.sent).toBeLessThanOrEqual(100);
  });

  it('workers: 2 merges faults counted in each thread', async () => {
    const r = await benchWith(nullModule({ duplicateEvery: 5, dropEvery: 7 }), { ...BASE, rate: 100, workers: 2, frameTimeoutMs: 100 });
    expectConsistent(r);
    expect(r.counts.duplicated).toBeGreaterThan(0);
    expect(r.counts.lost).toBeGreaterThan(0);
  });

  it('closed loop over 2 workers, with progress', async () => {
    const seen: number[] = [];
    const r = await benchWith(nullModule(), { ...BASE, window: 8, workers: 2, onProgress: (p) => seen.push(p.framesPerSec) });
    expectConsistent(r);
    expect(r.counts.sent).toBeGreaterThan(100);
    // Only the count of calls: a starved worker may not have delivered anything in that second.
    expect(seen.length).toBe(1);
  });

  it('rejects when a worker cannot open its driver', async () => {
    await expect(benchWith(nullModule({ openError: 'no such target' }), { ...BASE, workers: 2 })).rejects.toThrow('no such target');
  });

  it('an abort while the workers open rejects with its reason', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop while opening')), 50);
    await expect(benchWith(nullModule({ openDelayMs: 2500 }), { ...BASE, workers: 2, signal: controller.signal })).rejects.toThrow('stop while opening');
  });

  it('rejects naming the export when the module has no such factory', async () => {
    await expect(benchWith({ url: NULL_DRIVER_URL, name: 'missing' }, { ...BASE, workers: 1 })).rejects.toThrow(/missing/);
  });
});
