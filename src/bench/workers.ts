/**
 * `workers: N`: the senders spread over N worker threads, so the generator is not what it
 * measures. Each worker builds its own driver (registry.ts) with its DriverContext and runs the
 * schedule the coordinator posts; its LoadPartial comes back with its histograms encoded, and
 * result.ts merges them.
 *
 * The worker's file is `worker-entry.js` next to this one when running from dist, or
 * `worker-entry.ts` started with `--import tsx` when running from source (tsx, vitest).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Histogram } from 'hdr-histogram-js';
import type { EncodedSecond, LoadPartial, Schedule } from './load.js';
import type { DriverModule } from './registry.js';
import type { MutableCounts } from './tally.js';
import type { ResolvedBenchOptions } from './types.js';

/**
 * Sender ids each worker may use (ids), 2^24: worker w stamps ids from w * 2^24, so ids stay
 * unique across up to MAX_WORKERS_COUNT (256) workers within a u32. A worker with more senders
 * fails its run.
 */
export const SENDER_ID_STRIDE = 1 << 24;

/** What a worker is started with (workerData). */
export interface WorkerSetup {
  readonly source: DriverModule;
  readonly options: ResolvedBenchOptions;
  readonly worker: number;
  readonly workers: number;
  readonly senderBase: number;
}

/** Coordinator to worker. */
export type WorkerRequest =
  | { readonly type: 'run'; readonly schedule: Schedule }
  | { readonly type: 'stop'; readonly at: number }
  | { readonly type: 'progress'; readonly id: number; readonly second: number };

/** Worker to coordinator. */
export type WorkerReply =
  | { readonly type: 'opened'; readonly senders: number }
  | { readonly type: 'done'; readonly partial: { counts: MutableCounts; errors: Array<[string, number]>; seconds: EncodedSecond[] } }
  | { readonly type: 'progress'; readonly id: number; readonly frames: number; readonly histogram: string | null }
  | { readonly type: 'failed'; readonly message: string; readonly stack: string | undefined };

/**
 * This worker's share of `total` items (connections, joints...): the first index and the count,
 * spread as evenly as possible (the first `total % workers` workers get one more). With
 * `workers` 0 (no worker threads) the one thread gets everything. Drivers use it to pick their
 * part of the connections.
 */
export function share(total: number, worker: number, workers: number): { first: number; count: number } {
  if (workers <= 1) return { first: 0, count: total };
  const base = Math.floor(total / workers);
  const extra = total % workers;
  return { first: worker * base + Math.min(worker, extra), count: base + (worker < extra ? 1 : 0) };
}

/**
 * How to start a worker: from dist, the `worker-entry.js` file next to this one; from source
 * (tsx, vitest), a bootstrap that registers tsx's hooks in the new thread (tsx/esm/api), then imports
 * `worker-entry.ts`. (Node 20 ignores `execArgv: ['--import', 'tsx']` for the worker's own
 * entry, and vitest's transform does not reach worker threads.)
 */
export function workerEntry(): { script: URL | string; eval: boolean } {
  const js = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  const tsx = tsxApiUrl();
  const ts = new URL('./worker-entry.ts', import.meta.url).href;
  const script = `import(${JSON.stringify(tsx)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(ts)}); })`;
  return { script, eval: true };
}

/** The ESM build of tsx/esm/api (its CJS build cannot register hooks from a worker), from tsx's exports map. */
function tsxApiUrl(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(manifest)).href;
}

/** A progress sample of any thread: the histogram itself (this thread) or encoded (a worker). */
export interface ThreadProgress {
  readonly frames: number;
  readonly histogram: Histogram | string | null;
}

/** One worker thread, seen from the coordinator. */
export class WorkerRunner {
  private readonly worker: Worker;
  private opened: Promise<number>;
  private done: Promise<LoadPartial>;
  private resolveDone!: (partial: LoadPartial) => void;
  private rejectDone!: (error: Error) => void;
  private readonly waiting = new Map<number, (p: ThreadProgress) => void>();
  private nextId = 0;
  private exited = false;

  constructor(setup: WorkerSetup) {
    const entry = workerEntry();
    this.worker = new Worker(entry.script, { workerData: setup, eval: entry.eval });
    let resolveOpened!: (n: number) => void;
    let rejectOpened!: (error: Error) => void;
    let isOpen = false;
    this.opened = new Promise<number>((resolve, reject) => {
      resolveOpened = resolve;
      rejectOpened = reject;
    });
    this.done = new Promise<LoadPartial>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Whichever is not awaited must not become an unhandled rejection.
    this.opened.catch(() => undefined);
    this.done.catch(() => undefined);
    const fail = (error: Error): void => {
      if (!isOpen) rejectOpened(error);
      this.rejectDone(error);
      for (const resolve of this.waiting.values()) resolve({ frames: 0, histogram: null });
      this.waiting.clear();
    };
    this.worker.on('message', (reply: WorkerReply) => {
      switch (reply.type) {
        case 'opened':
          isOpen = true;
          resolveOpened(reply.senders);
          break;
        case 'done':
          this.resolveDone(reply.partial);
          break;
        case 'progress':
          this.waiting.get(reply.id)?.({ frames: reply.frames, histogram: reply.histogram });
          this.waiting.delete(reply.id);
          break;
        case 'failed': {
          const error = new Error(reply.message);
          if (reply.stack !== undefined) error.stack = reply.stack;
          fail(error);
          break;
        }
      }
    });
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      this.exited = true;
      fail(new Error(`bench: worker ${setup.worker} exited (code ${code}) before its result`));
    });
  }

  /** Resolves with the worker's senders once its driver is open. */
  open(): Promise<number> {
    return this.opened;
  }

  run(schedule: Schedule): Promise<LoadPartial> {
    this.post({ type: 'run', schedule });
    return this.done;
  }

  stop(at: number): void {
    this.post({ type: 'stop', at });
  }

  progress(second: number): Promise<ThreadProgress> {
    if (this.exited) return Promise.resolve({ frames: 0, histogram: null });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.post({ type: 'progress', id, second });
    });
  }

  /** Ends the thread (after its result, or to give up on it). */
  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }

  private post(request: WorkerRequest): void {
    if (!this.exited) this.worker.postMessage(request);
  }
}
