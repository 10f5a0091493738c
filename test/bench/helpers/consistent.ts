/**
 * The invariants every BenchResult holds, one thread or merged from several: the load loop's
 * and the workers' tests check each result they get against them.
 */
import { expect } from 'vitest';
import type { BenchResult } from '../../../src/bench/types.js';

/** Counts add up, and the timeline, latency samples and frames/s agree with them. */
export function expectConsistent(r: BenchResult): void {
  const c = r.counts;
  expect(c.delivered + c.lost).toBe(c.expected);
  expect(r.timeline.reduce((n, p) => n + p.frames, 0)).toBe(c.delivered);
  expect(r.latency.samples).toBe(c.delivered);
  expect(r.framesPerSec.total).toBe(c.delivered);
  expect(r.timeline.length).toBe(Math.ceil(r.durationSec - 1e-9));
  expect(r.generator.cpuMs).toBeGreaterThanOrEqual(0);
}
