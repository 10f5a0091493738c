/**
 * `--compare`: the same load against two targets, alternately (a, b, a, b ...), each round a
 * whole run with its own warm-up, then the medians of each target and their b/a ratios.
 *
 * Alternating rather than all of a then all of b spreads whatever drifts on the machine (another
 * process, thermal throttling, a cache filling) over both targets; the median of the rounds then
 * drops the round that drift spoiled.
 */
import { GamewireRangeError, GamewireTypeError } from '../core/errors.js';
import type { BenchComparison, BenchOptions, BenchResult, BenchTarget, ComparedFigures } from './types.js';

/** Rounds per target of `--compare` when `--rounds` is not given: enough for a median of 3. */
export const DEFAULT_COMPARE_ROUNDS_COUNT = 3;

/**
 * Most rounds per target of `--compare` (rounds), 100: each round is a whole run with its warm-up,
 * so more is a typo rather than a plan. Past it: a usage error (the API: RangeError).
 */
export const MAX_COMPARE_ROUNDS_COUNT = 100;

/** Runs one bench (the engine's `bench`, or a stand-in in tests). */
export type RunBench = (options: BenchOptions) => Promise<BenchResult>;

/** How compare runs its rounds. */
export interface CompareHooks {
  /** Runs one round. Default: the engine's `bench` (gamewire/bench). */
  readonly run?: RunBench;
  /** Called before each round: its index from 0, its target, and the number of rounds in all. */
  readonly onRound?: (index: number, target: 'a' | 'b', total: number) => void;
}

/**
 * The engine's `bench`, loaded when first needed: the CLI's argument checks and reports do not
 * pay for the engine, and compare can be tested without it.
 * @throws Error (as a rejection) when this build has no engine
 */
export async function loadBench(): Promise<RunBench> {
  const engine = (await import('./index.js')) as { bench?: RunBench };
  if (typeof engine.bench !== 'function') throw new Error('bench: the load engine is not available in this build');
  return engine.bench;
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * b / a. When a is 0: 1 if b is 0 too (no change), else Infinity (JSON writes null; the schema
 * says so).
 */
export function ratio(b: number, a: number): number {
  if (a === 0) return b === 0 ? 1 : Infinity;
  return b / a;
}

/** The figures compared, each the median of a target's rounds. */
export function medianFigures(results: readonly BenchResult[]): ComparedFigures {
  return {
    framesPerSec: median(results.map((r) => r.framesPerSec.mean)),
    bytesPerSec: median(results.map((r) => r.bytesPerSec.mean)),
    p50Ms: median(results.map((r) => r.latency.p50)),
    p99Ms: median(results.map((r) => r.latency.p99)),
    lost: median(results.map((r) => r.counts.lost)),
  };
}

/**
 * Build a comparison from rounds already run (both targets need at least one).
 * @throws GamewireRangeError when a target has no round
 */
export function summarize(a: BenchTarget, b: BenchTarget, rounds: BenchComparison['rounds']): BenchComparison {
  const of = (t: 'a' | 'b') => rounds.filter((r) => r.target === t).map((r) => r.result);
  const ra = of('a');
  const rb = of('b');
  if (ra.length === 0 || rb.length === 0) throw new GamewireRangeError('GW_ERR_BAD_OPTION', 'rounds: each target needs at least one round');
  const fa = medianFigures(ra);
  const fb = medianFigures(rb);
  const keys = Object.keys(fa) as (keyof ComparedFigures)[];
  const r = Object.fromEntries(keys.map((k) => [k, ratio(fb[k], fa[k])])) as unknown as ComparedFigures;
  return {
    schema: 'gamewire-bench-compare/1',
    a: { host: a.host, port: a.port },
    b: { host: b.host, port: b.port },
    rounds,
    summary: { a: fa, b: fb, ratio: r },
  };
}

/**
 * Run the load of `options` against its target (a) and `b` alternately, `rounds` times each:
 * a, b, a, b ... Each round is a whole run with its warm-up. `options.onProgress` is passed to
 * every round. When `options.signal` aborts, the round running ends early (the engine's rule)
 * and no further round starts; the comparison holds the rounds run, if both targets have one.
 * @param options the load and target a, as `bench` takes them
 * @param b the second target
 * @param rounds rounds per target, 1-MAX_COMPARE_ROUNDS_COUNT (default 3)
 * @param hooks `run` (default: the engine's bench) and `onRound`
 * @returns the rounds in the order they ran, the medians of each target and b/a
 * @throws GamewireTypeError / GamewireRangeError (as a rejection) for a bad `b` or `rounds`;
 * rejects with the error of a round that failed (a target not there), or with the abort reason
 * when aborted before both targets had a round
 */
export async function compare(
  options: BenchOptions,
  b: BenchTarget,
  rounds: number = DEFAULT_COMPARE_ROUNDS_COUNT,
  hooks: CompareHooks = {},
): Promise<BenchComparison> {
  if (typeof b !== 'object' || b === null || typeof b.host !== 'string' || b.host === '') {
    throw new GamewireTypeError('GW_ERR_BAD_ADDRESS', 'b.host: a non-empty string');
  }
  if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) throw new GamewireRangeError('GW_ERR_BAD_PORT', `b.port: an integer 1-65535, got ${b.port}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_COMPARE_ROUNDS_COUNT) {
    throw new GamewireRangeError('GW_ERR_BAD_OPTION', `rounds: an integer 1-${MAX_COMPARE_ROUNDS_COUNT}, got ${rounds}`);
  }
  const run = hooks.run ?? (await loadBench());
  const a: BenchTarget = { host: options.host, port: options.port };
  const done: { target: 'a' | 'b'; result: BenchResult }[] = [];
  const total = rounds * 2;
  for (let i = 0; i < total; i++) {
    if (options.signal?.aborted) break;
    const target = i % 2 === 0 ? 'a' : 'b';
    hooks.onRound?.(i, target, total);
    const where = target === 'a' ? a : b;
    const result = await run({ ...options, host: where.host, port: where.port });
    done.push({ target, result });
  }
  if (options.signal?.aborted && !(done.some((r) => r.target === 'a') && done.some((r) => r.target === 'b'))) {
    throw options.signal.reason ?? new Error('aborted');
  }
  return summarize(a, b, done);
}
