/**
 * Shared bench plumbing: every suite (`bench/<suite>.bench.ts`, run by `npm run bench -- <suite>`)
 * measures, then calls `report()`, which prints a header and a fixed-width table and writes
 * `bench/results/<suite>.json` as
 * `{"suite","node","cpu","implementations","results":[{"case","subject","baseline","ratio",...}]}`.
 * Ratio = subject ops/s ÷ baseline ops/s, both measured in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchProgress, BenchResult } from '../src/bench/index.js';

export interface BenchRow {
  /** Stable case id `<component>-<op>-<size>`, never renamed (STYLE.md §10). */
  case: string;
  subject: string;
  baseline: string;
  /** subject ÷ baseline throughput. */
  ratio: number;
  /** Subject and baseline throughput (ops/s), and any extra figures (MB/s, p99 ms...). */
  subjectOpsPerSec?: number;
  baselineOpsPerSec?: number;
  [extra: string]: unknown;
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Round to 3 significant digits for stable, readable output. */
export function round3(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const exponent = 2 - Math.floor(Math.log10(Math.abs(x)));
  // Multiply or divide by an exact power of ten: 1940000 * 1e-4 / 1e-4 is 1940000.0000000002.
  if (exponent >= 0) return Math.round(x * 10 ** exponent) / 10 ** exponent;
  return Math.round(x / 10 ** -exponent) * 10 ** -exponent;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Print the table and write `bench/results/<suite>.json`. */
export function report(suite: string, results: BenchRow[], extra: Record<string, unknown> = {}): void {
  const rows = results.map((r) => ({ ...r, ratio: round3(r.ratio) }));
  const header = {
    suite,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
    ...extra,
  };
  process.stdout.write(`# bench ${suite}  node ${header.node}  ${header.cpu}\n`);
  for (const [k, v] of Object.entries(extra)) process.stdout.write(`# ${k}: ${JSON.stringify(v)}\n`);
  const cols = ['case', 'subject', 'baseline', 'ratio', 'subject ops/s', 'baseline ops/s'];
  const widths = [30, 18, 18, 8, 16, 16];
  process.stdout.write(cols.map((c, i) => pad(c, widths[i]!)).join(' ') + '\n');
  for (const r of rows) {
    const cells = [r.case, r.subject, r.baseline, String(r.ratio), String(round3(r.subjectOpsPerSec ?? NaN)), String(round3(r.baselineOpsPerSec ?? NaN))];
    process.stdout.write(cells.map((c, i) => pad(c, widths[i]!)).join(' ') + '\n');
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${suite}.json`), JSON.stringify({ ...header, results: rows }, null, 2) + '\n');
}

// ---- the engine's runs (issue 17: one load generator in the project) ---------------------------

/**
 * CPU seconds (user + system) a child has used so far, all its threads, from /proc (NaN where
 * there is none): the sum of each thread's schedstat (ns), else the process's stat (clock ticks
 * of 10 ms: a relay using 10% of a core for one second is only 10 ticks, too coarse to compare).
 */
export function childCpuSeconds(pid: number | undefined): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // A thread that ended meanwhile: its time is gone from this sum (threads here live as long as the child).
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // No schedstat (another kernel): the stat below.
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks; after the ") " split they are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Clock ticks per second of /proc (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** A server child of a suite: it prints `{"port":n, ...}` on its first stdout line once listening. */
export interface ServerChild {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything that first line held (e.g. the engine a relay runs, every port of a forwarder). */
  readonly info: Record<string, unknown>;
}

/**
 * Start `script --serve <args>` in a child process (servers never share the load generator's
 * event loop or CPU) and wait for its port.
 * @param script the suite file (its `--serve` branch)
 * @param args what to serve
 * @param nodeFlags extra node flags (e.g. --cpu-prof)
 */
export function spawnServer(script: string, args: string[], nodeFlags: string[] = []): Promise<ServerChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, '--serve', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      const info = JSON.parse(out.slice(0, nl)) as Record<string, unknown> & { port: number };
      resolve({ child, port: info.port, info });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bench server ${args.join(' ')} exited with ${code}`)));
  });
}

/** In a server child: exit with the parent (its stdin closes when the parent goes) or on SIGTERM. */
export function serveUntilParentGoes(): void {
  process.stdin.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.resume();
}

/** In a server child: announce the port to the parent. */
export function announcePort(port: number): void {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

/** Stop a server child and wait for it to exit. */
export async function stopServer(server: ServerChild): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill();
  await exited;
}

/** What one engine run measured of one subject, plus the server child's CPU. */
export interface EngineFigures {
  /** Deliveries per second (broadcast: every receiver's delivery counts). */
  framesPerSec: number;
  /** Payload MB/s delivered (1 MB = 10^6 bytes). */
  mbPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** CPU µs of the server child per delivered frame (from the 2nd measured second to the end). */
  serverCpuUsPerFrame: number;
  /** CPU µs of the load generator (this process) per delivered frame: the engine's own figure. */
  loadCpuUsPerFrame: number;
  /** The generator's CPU as a share of one core, in percent (all its threads). */
  loadCpuPercent: number;
  /** The server child's CPU over the same seconds as serverCpuUsPerFrame, as a share of one core, in percent (all its threads). */
  serverCpuPercent: number;
  lost: number;
  corrupted: number;
  errors: number;
}

/**
 * Runs the engine (`run(onProgress)` calls bench() or benchWith() with that progress callback)
 * against `server`, and reads the server child's CPU at the first and last progress calls, so its
 * CPU per frame covers measured seconds only (the frames of seconds 1..D-1 of the timeline).
 * Prints a warning when anything was lost or corrupted, or a run reported errors.
 * @param label what the warning names
 */
export async function engineRun(
  label: string,
  server: ServerChild,
  durationSec: number,
  run: (onProgress: (p: BenchProgress) => void) => Promise<BenchResult>,
): Promise<EngineFigures> {
  if (!Number.isInteger(durationSec) || durationSec < 2) throw new RangeError(`durationSec must be an integer >= 2, got ${durationSec}`);
  let cpuFirst = NaN;
  let cpuLast = NaN;
  const result = await run((p) => {
    if (p.elapsedSec === 1) cpuFirst = childCpuSeconds(server.child.pid);
    if (p.elapsedSec === durationSec) cpuLast = childCpuSeconds(server.child.pid);
  });
  const framesLater = result.timeline.slice(1, durationSec).reduce((sum, s) => sum + s.frames, 0);
  const { counts, latency, generator } = result;
  const errors = result.errors.reduce((sum, e) => sum + e.count, 0);
  if (counts.delivered === 0) process.stderr.write(`warning: ${label}: nothing delivered in the measured period (sent ${counts.sent})\n`);
  if (counts.lost > 0 || counts.corrupted > 0 || counts.reordered > 0 || counts.duplicated > 0 || errors > 0) {
    const what = result.errors.map((e) => `${e.message} x${e.count}`).join('; ');
    process.stderr.write(
      `warning: ${label}: lost ${counts.lost}, corrupted ${counts.corrupted}, reordered ${counts.reordered}, duplicated ${counts.duplicated} of ${counts.expected} expected${what ? `; errors: ${what}` : ''}\n`,
    );
  }
  // Its threads: one without workers, else the workers, up to the cores (docs/bench.md).
  const threads = Math.max(1, Math.min(result.options.workers, cpus().length));
  if (generator.cpuPercent >= GENERATOR_CEILING_PERCENT * threads) {
    process.stderr.write(`note: ${label}: the load generator used ${generator.cpuPercent.toFixed(0)}% of a core (${threads} thread(s)): the figures may be its limit\n`);
  }
  return {
    framesPerSec: result.framesPerSec.mean,
    mbPerSec: result.bytesPerSec.mean / 1e6,
    p50Ms: latency.p50,
    p90Ms: latency.p90,
    p99Ms: latency.p99,
    serverCpuUsPerFrame: ((cpuLast - cpuFirst) * 1e6) / framesLater,
    loadCpuUsPerFrame: generator.cpuUsPerFrame,
    loadCpuPercent: generator.cpuPercent,
    serverCpuPercent: ((cpuLast - cpuFirst) * 100) / (durationSec - 1),
    lost: counts.lost,
    corrupted: counts.corrupted,
    errors,
  };
}

/** The generator's CPU per thread it may use (percent of one core) past which a run says it may be its limit (docs/bench.md). */
const GENERATOR_CEILING_PERCENT = 90;

/**
 * The row fields every engine-driven case carries: throughput, MB/s, p50/p90/p99, CPU per frame
 * of the server and the generator, and the lost/corrupted counts of both sides (all must be 0).
 */
export function engineFields(subject: EngineFigures, baseline: EngineFigures): Record<string, number> {
  return {
    subjectOpsPerSec: round3(subject.framesPerSec),
    baselineOpsPerSec: round3(baseline.framesPerSec),
    subjectMBPerSec: round3(subject.mbPerSec),
    baselineMBPerSec: round3(baseline.mbPerSec),
    subjectP50Ms: round3(subject.p50Ms),
    baselineP50Ms: round3(baseline.p50Ms),
    subjectP90Ms: round3(subject.p90Ms),
    baselineP90Ms: round3(baseline.p90Ms),
    subjectP99Ms: round3(subject.p99Ms),
    baselineP99Ms: round3(baseline.p99Ms),
    subjectServerCpuUsPerFrame: round3(subject.serverCpuUsPerFrame),
    baselineServerCpuUsPerFrame: round3(baseline.serverCpuUsPerFrame),
    subjectLoadCpuUsPerFrame: round3(subject.loadCpuUsPerFrame),
    baselineLoadCpuUsPerFrame: round3(baseline.loadCpuUsPerFrame),
    subjectLoadCpuPercent: Math.round(subject.loadCpuPercent),
    baselineLoadCpuPercent: Math.round(baseline.loadCpuPercent),
    subjectServerCpuPercent: Math.round(subject.serverCpuPercent),
    baselineServerCpuPercent: Math.round(baseline.serverCpuPercent),
    subjectLost: subject.lost,
    baselineLost: baseline.lost,
    subjectCorrupted: subject.corrupted,
    baselineCorrupted: baseline.corrupted,
  };
}

/** The median of a few numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
