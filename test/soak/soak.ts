/**
 * The soak: servers of every style in this process, each under good clients whose every byte
 * is checked and a stream of hostile peers, while RSS, heap and open handles are sampled.
 * `runSoak()` returns the report; test/soak/run.ts prints it and writes bench/results/soak.json.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { addon } from '../../src/core/load.js';
import { sleep, type ComponentFactory, type LoadComponent, type LoadSettings } from './component.js';
import { SoakRng } from './pattern.js';
import { Tally } from './tally.js';

/** Options of one soak run. */
export interface SoakOptions {
  /** Time under load, after start-up (ms). */
  durationMs: number;
  /** Samples before this time (ms from the start of the load) are warm-up and not judged. Default: 20% of the duration, 10..60 s. */
  warmupMs?: number;
  /** Multiplies good clients and rates (default 1). */
  scale?: number;
  seed?: number;
  /** Hostile peers launched per second, over all components (default 6). */
  hostilePerSecond?: number;
  /** Hostile peers running at once per component, at most (default 8). */
  maxHostilePerComponent?: number;
  /** Memory sample period (ms, default 2000). */
  sampleMs?: number;
  /** Components to run (default: all that exist). */
  components: ComponentFactory[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Seconds between progress lines (default 10). */
  progressEverySeconds?: number;
  /** The relay component's engine (default: the relay's default engine). */
  relayEngine?: 'native' | 'node';
  /** Multiplies the deadlines a slowed process may miss (LoadSettings.timeFactor; default 1). */
  timeFactor?: number;
}

/** One memory/handle sample. */
export interface Sample {
  atMs: number;
  rss: number;
  heapUsed: number;
  /** Buffers and ArrayBuffers outside the heap (bytes). */
  arrayBuffers: number;
  handles: number;
  /** Under ASan only (native/addon-sanitizer.cc): bytes in live malloc chunks of the whole process. */
  asanAllocated?: number;
  /** Under ASan only: bytes the sanitizer's allocator has mapped (live, quarantine, free lists). */
  asanHeapSize?: number;
}

/** The sanitizer allocator's figures (`addon.sanitizerHeap()`); undefined unless the addon is built with ASan. */
interface SanitizerHeap {
  allocated: number;
  heapSize: number;
  freeBytes: number;
  unmappedBytes: number;
}

/** The live heap and mapped bytes of ASan's allocator, or undefined (no addon, or one built without ASan). */
export function sanitizerHeap(): SanitizerHeap | undefined {
  const f = (addon as { sanitizerHeap?: () => SanitizerHeap | undefined } | null)?.sanitizerHeap;
  return typeof f === 'function' ? f() : undefined;
}

/** The report of one run; `results` and `details` are the bench/results/soak.json row lists. */
export interface SoakReport {
  passed: boolean;
  failures: string[];
  tally: Tally;
  samples: Sample[];
  results: { metric: string; value: number | string }[];
  /** Hostile peers by kind and per-style figures (datagrams, verdicts, stalls...). */
  details: { metric: string; value: number | string }[];
}

/** A forced full GC before each sample makes RSS comparable across samples (null if unavailable). */
function getGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

/**
 * Open handles by kind, without stdio pipes (they open on the first progress line) and the
 * soak's own sleep timer.
 */
function countHandles(): Map<string, number> {
  const m = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'PipeWrap' || kind === 'TTYWrap') continue;
    m.set(kind, (m.get(kind) ?? 0) + 1);
  }
  return m;
}

/** Handles open now beyond those in `before`. */
function leftOver(before: Map<string, number>): { total: number; kinds: string[] } {
  let total = 0;
  const kinds: string[] = [];
  for (const [kind, n] of countHandles()) {
    const extra = n - (before.get(kind) ?? 0);
    if (extra > 0) {
      total += extra;
      kinds.push(`${extra} ${kind}`);
    }
  }
  return { total, kinds };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/**
 * RSS growth after warm-up (%): the mean of the last tenth of the samples (at least 3) against
 * the mean of the first tenth after warm-up, so one GC sawtooth does not decide it.
 */
export function growthPercent(values: number[]): number {
  if (values.length < 2) return 0;
  const n = Math.max(1, Math.min(Math.floor(values.length / 2), Math.max(3, Math.round(values.length / 10))));
  const first = mean(values.slice(0, n));
  const last = mean(values.slice(-n));
  return ((last - first) / first) * 100;
}

/**
 * The figure the memory rule judges (run.ts): `rss_growth_pct`, or in a sanitized run whose addon
 * reports its allocator (`live_memory_floor_growth_pct` present) the floor of the live memory,
 * because RSS under ASan holds the sanitizer's shadow memory, quarantine and free lists
 * (docs/soak.md).
 */
export function memoryRule(results: readonly { metric: string }[], asan: boolean): { metric: string; what: string } {
  if (asan && results.some((r) => r.metric === 'live_memory_floor_growth_pct')) return { metric: 'live_memory_floor_growth_pct', what: 'the floor of the live memory (ASan live heap + V8 heap)' };
  return { metric: 'rss_growth_pct', what: asan ? 'RSS (this sanitized addon has no sanitizerHeap())' : 'RSS' };
}

/**
 * Growth of the floor after warm-up (%): the least value of the last tenth of the samples (at
 * least 3) against the least of the first tenth. For the live heap, which falls back to its floor
 * whenever the data in flight has been freed (RSS keeps its pages, so it is judged by means): a
 * leak raises the floor, a burst of messages in flight does not.
 */
export function floorGrowthPercent(values: number[]): number {
  if (values.length < 2) return 0;
  const n = Math.max(1, Math.min(Math.floor(values.length / 2), Math.max(3, Math.round(values.length / 10))));
  const first = Math.min(...values.slice(0, n));
  const last = Math.min(...values.slice(-n));
  return ((last - first) / first) * 100;
}

/** Run one soak. Never throws for what the load finds: failures are in the report. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const seed = options.seed ?? 1;
  const scale = options.scale ?? 1;
  const durationMs = options.durationMs;
  const warmupMs = options.warmupMs ?? Math.min(60_000, Math.max(10_000, durationMs * 0.2));
  const sampleMs = options.sampleMs ?? 2000;
  const hostileEveryMs = 1000 / (options.hostilePerSecond ?? 6);
  const maxHostile = options.maxHostilePerComponent ?? 8;
  const tally = new Tally();
  const timeFactor = options.timeFactor ?? 1;
  const settings: LoadSettings = { scale, seed, log, relayEngine: options.relayEngine, timeFactor };
  const rng = new SoakRng(seed);
  const gc = getGc();
  // How late the event loop ran its timers under load: every component's JavaScript shares it.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });

  const onCrash = (err: unknown) => {
    tally.crashes.push(String((err as Error)?.stack ?? err).slice(0, 1000));
    log(`CRASH: ${String((err as Error)?.message ?? err)}`);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const handlesBefore = countHandles();
  const components: LoadComponent[] = [];
  const samples: Sample[] = [];
  const failures: string[] = [];
  const started = Date.now();
  let loadStart = started;
  try {
    for (const make of options.components) {
      const c = make(tally, settings);
      components.push(c);
      try {
        await c.start();
        log(`${c.name}: started`);
      } catch (err) {
        failures.push(`${c.name} did not start: ${(err as Error).message}`);
        log(`${c.name}: did not start: ${(err as Error).stack}`);
      }
    }
    loadStart = Date.now();
    loopDelay.enable();
    let nextHostile = loadStart;
    let nextSample = loadStart;
    let nextProgress = loadStart + (options.progressEverySeconds ?? 10) * 1000;
    while (Date.now() - loadStart < durationMs) {
      const now = Date.now();
      while (nextHostile <= now) {
        const free = components.filter((c) => c.hostileActive() < maxHostile);
        if (free.length > 0) rng.pick(free).spawnHostile(rng);
        nextHostile += hostileEveryMs;
      }
      if (nextSample <= now) {
        gc?.();
        const m = process.memoryUsage();
        const asan = sanitizerHeap();
        samples.push({
          atMs: now - loadStart,
          rss: m.rss,
          heapUsed: m.heapUsed,
          arrayBuffers: m.arrayBuffers,
          handles: process.getActiveResourcesInfo().length,
          ...(asan ? { asanAllocated: asan.allocated, asanHeapSize: asan.heapSize } : {}),
        });
        nextSample += sampleMs;
      }
      if (nextProgress <= now) {
        const last = samples[samples.length - 1];
        log(
          `[${Math.round((now - loadStart) / 1000)} s] checked ${tally.messagesChecked} msgs ${(tally.bytesChecked / 1e6).toFixed(1)} MB, ` +
            `hostile ${tally.hostilePeers}, rss ${last ? (last.rss / 2 ** 20).toFixed(0) : '?'} MiB, ` +
            (last?.asanAllocated !== undefined ? `asan live ${(last.asanAllocated / 2 ** 20).toFixed(0)} MiB of ${(last.asanHeapSize! / 2 ** 20).toFixed(0)}, ` : '') +
            `handles ${last?.handles ?? '?'} | ` +
            components.map((c) => c.progress()).join(' | '),
        );
        nextProgress += (options.progressEverySeconds ?? 10) * 1000;
      }
      await sleep(Math.max(1, Math.min(nextHostile, nextSample) - Date.now()));
    }
    log('load done: draining good clients');
    for (const c of components) c.stopTraffic();
    await Promise.all(components.map((c) => c.drain(15_000)));
  } finally {
    loopDelay.disable();
    for (const c of components) {
      try {
        await c.close();
      } catch (err) {
        failures.push(`${c.name} close failed: ${(err as Error).message}`);
      }
    }
    // Sockets and linger timers of closed peers go within a moment; wait for them (bounded).
    for (let i = 0; i < 40 && leftOver(handlesBefore).total > 0; i++) await sleep(100);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  const endMs = Date.now() - loadStart;
  const { total: handlesLeft, kinds: leftKinds } = leftOver(handlesBefore);

  const judged = samples.filter((s) => s.atMs >= warmupMs);
  const rss = judged.map((s) => s.rss);
  const heap = judged.map((s) => s.heapUsed);
  const rssGrowth = growthPercent(rss);
  const heapGrowth = growthPercent(heap);
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

  if (tally.goodBytesLost !== 0) failures.push(`good clients lost ${tally.goodBytesLost} bytes`);
  if (tally.corrupt !== 0) failures.push(`${tally.corrupt} corrupt deliveries to good clients`);
  if (tally.violations.length > 0) failures.push(`${tally.violations.length} invariant violations: ${tally.violations.slice(0, 5).join('; ')}`);
  if (tally.crashes.length > 0) failures.push(`${tally.crashes.length} uncaught exceptions/rejections`);
  if (handlesLeft > 0) failures.push(`${handlesLeft} handles left open after close (${leftKinds.join(', ')})`);

  const results: { metric: string; value: number | string }[] = [
    { metric: 'components', value: components.map((c) => c.name).join(',') },
    { metric: 'duration_s', value: Math.round(durationMs / 100) / 10 },
    { metric: 'wall_s', value: Math.round((Date.now() - started) / 100) / 10 },
    { metric: 'warmup_s', value: Math.round(warmupMs / 100) / 10 },
    { metric: 'scale', value: scale },
    { metric: 'time_factor', value: timeFactor },
    { metric: 'seed', value: seed },
    { metric: 'messages_checked', value: tally.messagesChecked },
    { metric: 'bytes_checked', value: tally.bytesChecked },
    { metric: 'good_reliable_bytes_sent', value: tally.reliableBytesSent },
    { metric: 'good_bytes_lost', value: tally.goodBytesLost },
    { metric: 'corrupt_deliveries', value: tally.corrupt },
    { metric: 'violations', value: tally.violations.length },
    { metric: 'crashes', value: tally.crashes.length },
    { metric: 'hostile_peers', value: tally.hostilePeers },
    { metric: 'rss_min_mib', value: rss.length ? mib(Math.min(...rss)) : 0 },
    { metric: 'rss_max_mib', value: rss.length ? mib(Math.max(...rss)) : 0 },
    { metric: 'rss_growth_pct', value: Math.round(rssGrowth * 10) / 10 },
    { metric: 'heap_used_min_mib', value: heap.length ? mib(Math.min(...heap)) : 0 },
    { metric: 'heap_used_max_mib', value: heap.length ? mib(Math.max(...heap)) : 0 },
    { metric: 'heap_growth_pct', value: Math.round(heapGrowth * 10) / 10 },
    { metric: 'array_buffers_min_mib', value: judged.length ? mib(Math.min(...judged.map((x) => x.arrayBuffers))) : 0 },
    { metric: 'array_buffers_max_mib', value: judged.length ? mib(Math.max(...judged.map((x) => x.arrayBuffers))) : 0 },
    { metric: 'array_buffers_growth_pct', value: Math.round(growthPercent(judged.map((x) => x.arrayBuffers)) * 10) / 10 },
    ...(judged.length > 0 && judged.every((s) => s.asanAllocated !== undefined)
      ? [
          { metric: 'asan_live_heap_min_mib', value: mib(Math.min(...judged.map((x) => x.asanAllocated!))) },
          { metric: 'asan_live_heap_max_mib', value: mib(Math.max(...judged.map((x) => x.asanAllocated!))) },
          { metric: 'asan_live_heap_growth_pct', value: Math.round(growthPercent(judged.map((x) => x.asanAllocated!)) * 10) / 10 },
          { metric: 'asan_heap_size_min_mib', value: mib(Math.min(...judged.map((x) => x.asanHeapSize!))) },
          { metric: 'asan_heap_size_max_mib', value: mib(Math.max(...judged.map((x) => x.asanHeapSize!))) },
          { metric: 'asan_heap_size_growth_pct', value: Math.round(growthPercent(judged.map((x) => x.asanHeapSize!)) * 10) / 10 },
          // What the memory rule judges under ASan (run.ts, docs/soak.md): live malloc'ed bytes
          // plus V8's heap, by its floor (the data in flight comes and goes: 4 to 30 MiB).
          { metric: 'live_memory_min_mib', value: mib(Math.min(...judged.map((x) => x.asanAllocated! + x.heapUsed))) },
          { metric: 'live_memory_max_mib', value: mib(Math.max(...judged.map((x) => x.asanAllocated! + x.heapUsed))) },
          { metric: 'live_memory_floor_growth_pct', value: Math.round(floorGrowthPercent(judged.map((x) => x.asanAllocated! + x.heapUsed)) * 10) / 10 },
        ]
      : []),
    { metric: 'memory_samples', value: judged.length },
    { metric: 'handles_max', value: samples.length ? Math.max(...samples.map((s) => s.handles)) : 0 },
    { metric: 'handles_end_of_load', value: samples.length ? samples[samples.length - 1]!.handles : 0 },
    { metric: 'handles_left_after_close', value: handlesLeft },
    { metric: 'gc_forced_before_samples', value: gc ? 'yes' : 'no' },
    { metric: 'event_loop_delay_p50_ms', value: Math.round(loopDelay.percentile(50) / 1e5) / 10 },
    { metric: 'event_loop_delay_p99_ms', value: Math.round(loopDelay.percentile(99) / 1e5) / 10 },
    { metric: 'event_loop_delay_max_ms', value: Math.round(loopDelay.max / 1e5) / 10 },
  ];
  for (const [k, v] of Object.entries(tally.notes).sort()) results.push({ metric: k, value: v });
  for (const [k, v] of Object.entries(tally.errors).sort()) results.push({ metric: `error: ${k}`, value: v });
  for (const [k, v] of Object.entries(tally.dropped).sort()) results.push({ metric: `dropped: ${k}`, value: v });
  const details: { metric: string; value: number | string }[] = [];
  for (const [k, v] of Object.entries(tally.hostileByKind).sort()) details.push({ metric: `hostile: ${k}`, value: v });
  for (const [k, v] of Object.entries(tally.figures).sort()) details.push({ metric: `figure: ${k}`, value: v });
  void endMs;
  return { passed: failures.length === 0, failures, tally, samples, results, details };
}
