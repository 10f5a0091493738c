/**
 * The coordinator of a run: resolves the options, opens every thread's driver (this thread's, or
 * one per worker), sets one schedule on the shared clock, samples the process CPU over the
 * measured period, relays progress and abort, and merges the threads' partials into the result.
 */
import type { Histogram } from 'hdr-histogram-js';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError } from '../core/errors.js';
import { addEncoded, latencyHistogram, percentileMs } from './histogram.js';
import { LoadRunner, type LoadPartial, type Schedule } from './load.js';
import { loadFactory, type DriverModule } from './registry.js';
import { resolveOptions } from './resolve.js';
import { mergeResult } from './result.js';
import { benchClock } from './stamp.js';
import { SENDER_ID_STRIDE, WorkerRunner, type ThreadProgress } from './workers.js';
import type { BenchOptions, BenchResult, DriverFactory, ResolvedBenchOptions } from './types.js';

/**
 * How far ahead of now the schedule starts (ms) with workers: long enough for the run message to
 * reach every worker, so none starts late; on this thread the load starts at once.
 */
const WORKER_START_DELAY_MS = 50;

/** A thread of the run as the coordinator drives it. */
interface Thread {
  open(): Promise<number>;
  run(schedule: Schedule): Promise<LoadPartial>;
  stop(at: number): void;
  progress(second: number): ThreadProgress | Promise<ThreadProgress>;
  /** Gives up on the thread (its open failed elsewhere, or the run is over). */
  dispose(): Promise<void>;
}

class LocalThread implements Thread {
  private readonly runner: LoadRunner;
  private ran = false;

  constructor(factory: DriverFactory, options: ResolvedBenchOptions) {
    this.runner = new LoadRunner(factory, { options, worker: 0, workers: 0, senderBase: 0 });
  }

  open(): Promise<number> {
    return this.runner.open();
  }

  run(schedule: Schedule): Promise<LoadPartial> {
    this.ran = true;
    return this.runner.run(schedule);
  }

  stop(at: number): void {
    this.runner.stop(at);
  }

  progress(second: number): ThreadProgress {
    return this.runner.progress(second);
  }

  async dispose(): Promise<void> {
    // Also while open() is under way (an abort): close() ends the connects too.
    if (!this.ran) await this.runner.driver.close().catch(() => undefined);
  }
}

class WorkerThread implements Thread {
  private readonly runner: WorkerRunner;
  private opened = false;
  private ran = false;

  constructor(source: DriverModule, options: ResolvedBenchOptions, worker: number) {
    this.runner = new WorkerRunner({ source, options, worker, workers: options.workers, senderBase: worker * SENDER_ID_STRIDE });
  }

  async open(): Promise<number> {
    const n = await this.runner.open();
    this.opened = true;
    if (n > SENDER_ID_STRIDE) throw new Error(`bench: a worker has ${n} senders, more than ${SENDER_ID_STRIDE}`);
    return n;
  }

  run(schedule: Schedule): Promise<LoadPartial> {
    this.ran = true;
    return this.runner.run(schedule);
  }

  stop(at: number): void {
    this.runner.stop(at);
  }

  progress(second: number): Promise<ThreadProgress> {
    return this.runner.progress(second);
  }

  async dispose(): Promise<void> {
    if (this.opened && !this.ran) {
      // Another thread failed to open: this one closes its driver (an empty run) before it ends.
      this.runner.stop(-Infinity);
      await this.run({ start: 0, measureStart: 0, measureEnd: 0 }).catch(() => undefined);
    }
    await this.runner.terminate();
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Waits until `at` on benchClock(), or until `stop` fires. */
function until(at: number, stopped: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, at - benchClock())))), stopped]).finally(() =>
    clearTimeout(timer),
  );
}

/**
 * Runs a bench with the driver of `source`: a factory (this thread only) or a DriverModule (any
 * number of workers).
 * @throws GamewireTypeError / GamewireRangeError for bad options (see resolveOptions), and a
 *   GamewireRangeError naming `workers` when a factory function is given with workers > 0
 * @returns a rejection when a driver fails to open (closing the others), or with the signal's
 *   reason when aborted before the load began; an abort during the load ends the measured period
 *   and resolves with what was measured
 */
export async function runBench(source: DriverFactory | DriverModule, options: BenchOptions): Promise<BenchResult> {
  const resolved = resolveOptions(options);
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortReason(signal);
  let factory: DriverFactory | null = typeof source === 'function' ? source : null;
  if (resolved.workers > 0 && factory !== null) {
    throw new GamewireRangeError(
      GamewireErrorCode.BadOption,
      'bench: workers > 0 needs the driver as a DriverModule ({ url, name, args }), not a factory function',
    );
  }
  if (factory === null && resolved.workers === 0) factory = await loadFactory(source as DriverModule);

  const threads: Thread[] = [];
  if (factory !== null) threads.push(new LocalThread(factory, resolved));
  else for (let w = 0; w < resolved.workers; w++) threads.push(new WorkerThread(source as DriverModule, resolved, w));

  let stopNow!: () => void;
  const stopped = new Promise<void>((r) => (stopNow = r));
  let stopAt = Infinity;
  const onAbort = (): void => {
    stopAt = Math.min(stopAt, benchClock());
    for (const t of threads) t.stop(stopAt);
    stopNow();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const startedAt = new Date().toISOString();
    const opening = Promise.allSettled(threads.map((t) => t.open()));
    // An abort does not wait for slow connects: the threads are ended at once.
    await Promise.race([opening, stopped]);
    if (signal?.aborted) {
      await Promise.all(threads.map((t) => t.dispose()));
      throw abortReason(signal);
    }
    const failed = (await opening).find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(threads.map((t) => t.dispose()));
      throw failed.reason;
    }

    const start = benchClock() + (resolved.workers > 0 ? WORKER_START_DELAY_MS : 0);
    const measureStart = start + resolved.warmupSec * 1000;
    const schedule: Schedule = { start, measureStart, measureEnd: measureStart + resolved.durationSec * 1000 };
    const partials = Promise.all(threads.map((t) => t.run(schedule)));
    partials.catch(() => undefined);

    let cpuStart: NodeJS.CpuUsage | null = null;
    let cpuMs = 0;
    await until(measureStart, stopped);
    if (stopAt > measureStart) {
      cpuStart = process.cpuUsage();
      for (let second = 1; ; second++) {
        const at = measureStart + second * 1000;
        if (at > schedule.measureEnd) break;
        await until(at, stopped);
        if (stopAt < at) break;
        if (onProgress !== undefined) await progress(threads, second, onProgress);
      }
      await until(schedule.measureEnd, stopped);
      const used = process.cpuUsage(cpuStart);
      cpuMs = (used.user + used.system) / 1000;
    }
    const end = Math.min(stopAt, schedule.measureEnd);
    const durationSec = Math.max(0, (end - measureStart) / 1000);
    const result = mergeResult({ options: resolved, startedAt, durationSec, cpuMs }, await partials);
    await Promise.all(threads.map((t) => t.dispose()));
    return result;
  } catch (error) {
    await Promise.all(threads.map((t) => t.dispose()));
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function progress(threads: Thread[], second: number, onProgress: NonNullable<BenchOptions['onProgress']>): Promise<void> {
  const samples = await Promise.all(threads.map((t) => t.progress(second - 1)));
  let frames = 0;
  let merged: Histogram | null = null;
  for (const s of samples) {
    frames += s.frames;
    if (s.histogram === null) continue;
    merged ??= latencyHistogram();
    if (typeof s.histogram === 'string') addEncoded(merged, s.histogram);
    else merged.add(s.histogram);
  }
  const p99Ms = merged === null ? 0 : percentileMs(merged, 99);
  merged?.destroy();
  try {
    onProgress({ elapsedSec: second, framesPerSec: frames, p99Ms });
  } catch {
    // A throwing progress callback must not end the run; the CLI's own is simple enough not to.
  }
}
