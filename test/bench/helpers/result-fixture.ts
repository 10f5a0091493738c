/**
 * Hand-made BenchResults for the tests of the outputs (report, html, compare, schema): typed as
 * BenchResult, so a field added to or removed from types.ts fails to compile here first.
 */
import type { BenchResult, ResolvedBenchOptions } from '../../../src/bench/types.js';

export const FIXTURE_OPTIONS: ResolvedBenchOptions = {
  kind: 'relay',
  host: '127.0.0.1',
  port: 7680,
  mode: 'users-to-owner',
  users: 10,
  joints: 2,
  size: { min: 64, max: 64 },
  ws: false,
  key: null,
  token: null,
  window: 16,
  rate: null,
  durationSec: 3,
  warmupSec: 1,
  drainMs: 2000,
  frameTimeoutMs: 5000,
  workers: 0,
  connectTimeoutMs: 10000,
  verify: 'full',
};

/** Things a result may vary in a test. */
export interface FixtureShape {
  options?: Partial<ResolvedBenchOptions>;
  /** Mean frames/s; the rest scales with it. Default 100000. */
  framesPerSec?: number;
  p50?: number;
  p99?: number;
  lost?: number;
  cpuPercent?: number;
  workers?: number;
  errors?: { message: string; count: number }[];
}

/** A consistent result of a 3-second run. */
export function fixtureResult(shape: FixtureShape = {}): BenchResult {
  const fps = shape.framesPerSec ?? 100_000;
  const p50 = shape.p50 ?? 0.412;
  const p99 = shape.p99 ?? 2.5;
  const lost = shape.lost ?? 0;
  const options = { ...FIXTURE_OPTIONS, ...shape.options, workers: shape.workers ?? FIXTURE_OPTIONS.workers };
  const perSecond = [fps * 0.9, fps, fps * 1.1].map(Math.round);
  const bytes = options.size.min;
  const total = perSecond.reduce((s, v) => s + v, 0);
  return {
    schema: 'gamewire-bench/1',
    options,
    startedAt: '2026-12-03T12:00:00.000Z',
    durationSec: options.durationSec,
    latency: { samples: total, min: 0.05, mean: p50 * 1.2, stdev: p50 / 2, p50, p90: p50 * 2, p99, p999: p99 * 2, max: p99 * 4 },
    percentiles: [
      [0, 0.05],
      [50, p50],
      [75, p50 * 1.5],
      [90, p50 * 2],
      [99, p99],
      [99.9, p99 * 2],
      [99.99, p99 * 3],
      [100, p99 * 4],
    ],
    framesPerSec: { mean: fps, stdev: fps * 0.08, min: fps * 0.9, max: fps * 1.1, total },
    bytesPerSec: { mean: fps * bytes, stdev: fps * bytes * 0.08, min: fps * bytes * 0.9, max: fps * bytes * 1.1, total: total * bytes },
    counts: { sent: total + lost, expected: total + lost, delivered: total, lost, reordered: 0, corrupted: 0, duplicated: 0, refused: 12 },
    errors: shape.errors ?? [],
    timeline: perSecond.map((frames, second) => ({ second, frames, bytes: frames * bytes, p50Ms: p50, p99Ms: p99 * (1 + second / 10), maxMs: p99 * 4 })),
    generator: { workers: options.workers, cpuMs: 1800, cpuPercent: shape.cpuPercent ?? 60, cpuUsPerFrame: 1800_000 / total },
  };
}
