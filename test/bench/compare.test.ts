/**
 * `--compare` (src/bench/compare.ts) with a stand-in for the engine: the rounds alternate
 * a, b, a, b with the same load, the summary holds the medians and b/a, misuse throws.
 */
import { describe, expect, it } from 'vitest';
import { compare, median, ratio, summarize, type RunBench } from '../../src/bench/compare.js';
import type { BenchOptions } from '../../src/bench/types.js';
import { fixtureResult } from './helpers/result-fixture.js';

const OPTIONS: BenchOptions = { kind: 'relay', host: '127.0.0.1', port: 7680, users: 4, durationSec: 1, warmupSec: 0.5 };
const B = { host: '127.0.0.2', port: 7681 };

/** A stand-in engine: records each call; port 7680 does 100k frames/s, 7681 a growing figure. */
function recorder() {
  const calls: BenchOptions[] = [];
  let bRuns = 0;
  const run: RunBench = async (options) => {
    calls.push(options);
    if (options.port === 7680) return fixtureResult({ framesPerSec: 100_000, p99: 2 });
    bRuns++;
    return fixtureResult({ framesPerSec: 100_000 + bRuns * 10_000, p99: 1, options: { host: options.host, port: options.port } });
  };
  return { calls, run };
}

describe('compare', () => {
  it('runs the same load against a and b alternately, each round a whole run', async () => {
    const { calls, run } = recorder();
    const rounds: string[] = [];
    const c = await compare(OPTIONS, B, 3, { run, onRound: (i, t, total) => rounds.push(`${i}${t}${total}`) });
    expect(calls.map((o) => `${o.host}:${o.port}`)).toEqual(['127.0.0.1:7680', '127.0.0.2:7681', '127.0.0.1:7680', '127.0.0.2:7681', '127.0.0.1:7680', '127.0.0.2:7681']);
    // Everything but the target is the caller's load, warm-up included.
    for (const o of calls) expect(o).toMatchObject({ kind: 'relay', users: 4, durationSec: 1, warmupSec: 0.5 });
    expect(rounds).toEqual(['0a6', '1b6', '2a6', '3b6', '4a6', '5b6']);
    expect(c.schema).toBe('gamewire-bench-compare/1');
    expect(c.a).toEqual({ host: '127.0.0.1', port: 7680 });
    expect(c.b).toEqual(B);
    expect(c.rounds.map((r) => r.target)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    // b ran at 110k, 120k, 130k: median 120k.
    expect(c.summary.a.framesPerSec).toBe(100_000);
    expect(c.summary.b.framesPerSec).toBe(120_000);
    expect(c.summary.ratio.framesPerSec).toBeCloseTo(1.2);
    expect(c.summary.ratio.p99Ms).toBeCloseTo(0.5);
    expect(c.summary.ratio.lost).toBe(1);
  });

  it('passes onProgress and the signal to every round', async () => {
    const { calls, run } = recorder();
    const onProgress = () => {};
    const signal = new AbortController().signal;
    await compare({ ...OPTIONS, onProgress, signal }, B, 1, { run });
    expect(calls).toHaveLength(2);
    for (const o of calls) expect(o).toMatchObject({ onProgress, signal });
  });

  it('stops starting rounds once aborted, and reports the rounds run', async () => {
    const abort = new AbortController();
    const { calls, run } = recorder();
    const stopping: RunBench = async (o) => {
      const r = await run(o);
      if (calls.length === 3) abort.abort();
      return r;
    };
    const c = await compare({ ...OPTIONS, signal: abort.signal }, B, 5, { run: stopping });
    expect(c.rounds.map((r) => r.target)).toEqual(['a', 'b', 'a']);
  });

  it('rejects with the abort reason when a target had no round', async () => {
    const abort = new AbortController();
    const reason = new Error('stop');
    const { run } = recorder();
    await expect(compare({ ...OPTIONS, signal: abort.signal }, B, 2, { run: async (o) => (abort.abort(reason), run(o)) })).rejects.toBe(reason);
  });

  it('rejects with the error of a round that failed', async () => {
    const failing: RunBench = async (o) => {
      if (o.port === B.port) throw new Error('cannot connect to 127.0.0.2:7681');
      return fixtureResult();
    };
    await expect(compare(OPTIONS, B, 2, { run: failing })).rejects.toThrow('cannot connect to 127.0.0.2:7681');
  });

  it('refuses a bad b or rounds, naming it', async () => {
    const { run } = recorder();
    await expect(compare(OPTIONS, { host: '', port: 1 }, 1, { run })).rejects.toThrow(TypeError);
    await expect(compare(OPTIONS, { host: 'h', port: 0 }, 1, { run })).rejects.toThrow(/b\.port/);
    for (const rounds of [0, 1.5, 101, NaN]) await expect(compare(OPTIONS, B, rounds, { run })).rejects.toThrow(RangeError);
    await expect(compare(OPTIONS, B, 0, { run })).rejects.toThrow(/^rounds: an integer 1-100, got 0$/);
  });
});

describe('median, ratio, summarize', () => {
  it('median takes the middle, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
  it('ratio is b/a, 1 for 0/0 and Infinity for x/0', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(0, 0)).toBe(1);
    expect(ratio(5, 0)).toBe(Infinity);
  });
  it('summarize needs a round of each target', () => {
    expect(() => summarize(B, B, [{ target: 'a', result: fixtureResult() }])).toThrow(RangeError);
  });
});
