/**
 * The style fuzz targets (style-targets.ts) on a few thousand seeded inputs each: their seeds,
 * structure-aware random inputs and mutations of both. No invariant may break, and each run is
 * a pure function of its input (same input, same result). Bounded in time per target.
 */
import { describe, expect, it } from 'vitest';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';
import { STYLE_TARGETS } from './style-targets.js';
import { fallbackFactories } from '../../src/core/index.js';

/** Inputs per target and the time they may take (ms): whichever ends first. */
const INPUTS_PER_TARGET = 3000;
const BUDGET_MS = 2500;

describe.each(STYLE_TARGETS.map((t) => ({ name: t.name, target: t })))('style fuzz target $name', ({ target }) => {
  it('keeps every invariant on seeded random and mutated inputs', () => {
    const rng = new Rng(0x5717e ^ target.name.length);
    const seeds = target.seeds();
    expect(seeds.length).toBeGreaterThan(0);
    const pool: Uint8Array[] = [...seeds];
    const failures: string[] = [];
    const started = performance.now();
    let ran = 0;
    const runOne = (input: Uint8Array) => {
      try {
        const a = target.run(input, fallbackFactories);
        if (ran % 10 === 0) {
          const b = target.run(input, fallbackFactories);
          if (a.result !== b.result) failures.push(`not a pure function of ${Buffer.from(input).toString('hex').slice(0, 80)}`);
        }
      } catch (err) {
        failures.push(`${(err as Error).message.split('\n')[0]} on ${Buffer.from(input).toString('hex').slice(0, 120)}`);
      }
      ran++;
    };
    for (const s of seeds) runOne(s);
    while (ran < INPUTS_PER_TARGET && performance.now() - started < BUDGET_MS && failures.length < 5) {
      let input: Uint8Array;
      if (rng.oneIn(3)) input = target.generate(rng);
      else input = mutate(rng, rng.pick(pool), rng.pick(pool), target.maxInputBytes);
      if (input.length > target.maxInputBytes) input = input.subarray(0, target.maxInputBytes);
      if (pool.length < 256 && rng.oneIn(8)) pool.push(input);
      runOne(input);
    }
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThan(Math.min(INPUTS_PER_TARGET, 200));
  });
});
