/**
 * The text report of `gamewire bench`, in autocannon's manner: one boxed table per subject
 * (latency, throughput, delivery, errors), then the generator's own cost, and a warning when the
 * generator, not the target, was the limit. A comparison gets both targets side by side with the
 * b/a ratios. Plain strings: the CLI prints them, tests compare them.
 */
import { availableParallelism } from 'node:os';
import type { BenchComparison, BenchResult, BenchTarget, ComparedFigures, ResolvedBenchOptions } from './types.js';

/**
 * Generator CPU (percent of each core it may use) at or past which the report warns that the
 * result may be the generator's limit, 90: a busy event loop already delays its own timers and
 * reads before it reaches 100, so the latencies it measures grow with its own load.
 */
export const GENERATOR_CEILING_PERCENT = 90;

/** Bytes in the MB of "MB/s": 10^6, as autocannon and network figures count. */
const BYTES_PER_MB = 1e6;

/** Options of the text reports. */
export interface ReportOptions {
  /**
   * Cores of the machine that ran the generator, for the ceiling warning. Default: this
   * machine's (os.availableParallelism()).
   */
  readonly cores?: number;
}

type Align = 'left' | 'right';

/**
 * A boxed table. The first row is the header; every row has the header's length.
 * @param align per column; default: first column left, the others right
 */
export function table(rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  const pad = (text: string, c: number) => {
    const fill = ' '.repeat(widths[c]! - [...text].length);
    return (align?.[c] ?? (c === 0 ? 'left' : 'right')) === 'left' ? text + fill : fill + text;
  };
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (row: readonly string[]) => '│' + row.map((cell, c) => ` ${pad(cell, c)} `).join('│') + '│';
  return [rule('┌', '┬', '┐'), line(rows[0]!), rule('├', '┼', '┤'), ...rows.slice(1).map(line), rule('└', '┴', '┘')].join('\n');
}

/** Milliseconds with 3 significant digits (0.0412, 4.12, 41.2, 412), never in exponent form. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms === 0) return '0';
  const abs = Math.abs(ms);
  const decimals = abs >= 100 ? 0 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return ms.toFixed(decimals);
}

/** A count or rate as a whole number with thousands separated by commas. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes per second as MB/s with 2 decimals. */
export function formatMBps(bytesPerSec: number): string {
  return Number.isFinite(bytesPerSec) ? (bytesPerSec / BYTES_PER_MB).toFixed(2) : '–';
}

/** A b/a ratio: 2 decimals and ×; `–` when it is undefined (a is 0). */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–';
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatTarget(target: BenchTarget): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

function formatSize(o: ResolvedBenchOptions): string {
  return o.size.min === o.size.max ? `${o.size.min} B` : `${o.size.min}-${o.size.max} B`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * One line saying what the run was: kind, mode, senders, payload, loop, duration, workers, and
 * `verify stamp` when the checksums covered a sample only (the default `full` is not named).
 * The target is left out (the caller names one or two).
 */
export function describeLoad(o: ResolvedBenchOptions): string {
  const who = o.kind === 'relay' ? `${plural(o.joints, 'joint')} × ${plural(o.users, 'user')}${o.ws ? ' over WebSocket' : ''}` : plural(o.users, 'client');
  const loop = o.rate !== null ? `open loop ${formatCount(o.rate)} frames/s per sender` : `closed loop, window ${o.window ?? '?'}`;
  const key = o.kind === 'mm' && o.key !== null ? ', AES-GCM' : '';
  return `${o.kind} ${o.mode}, ${who}${key}, ${formatSize(o)}, ${loop}, ${o.durationSec} s (+${o.warmupSec} s warm-up), ${plural(o.workers, 'worker')}${o.verify === 'stamp' ? ', verify stamp' : ''}`;
}

/** The ceiling warning, or null when the generator had room left. */
export function ceilingWarning(result: BenchResult, cores = availableParallelism()): string | null {
  // With no workers the whole load runs on one JavaScript thread: one core is its ceiling.
  const usable = Math.max(1, Math.min(Math.max(1, result.generator.workers), cores));
  const percent = result.generator.cpuPercent;
  if (!(percent >= GENERATOR_CEILING_PERCENT * usable)) return null;
  const hint = result.generator.workers < cores ? '; try more --workers' : '; run the generator on another machine';
  return `warning: the generator used ${Math.round(percent)}% CPU of the ${plural(usable, 'core')} it can use: the figures may be its own limit, not the target's${hint}`;
}

function latencyTable(result: BenchResult): string {
  const l = result.latency;
  return table([
    ['p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'stdev', 'samples'],
    [...[l.p50, l.p90, l.p99, l.p999, l.max, l.mean, l.stdev].map(formatMs), formatCount(l.samples)],
  ], Array(8).fill('right'));
}

function throughputTable(result: BenchResult): string {
  const f = result.framesPerSec;
  const b = result.bytesPerSec;
  return table([
    ['', 'mean', 'stdev', 'min', 'max', 'total'],
    ['frames/s', formatCount(f.mean), formatCount(f.stdev), formatCount(f.min), formatCount(f.max), formatCount(f.total)],
    ['MB/s', formatMBps(b.mean), formatMBps(b.stdev), formatMBps(b.min), formatMBps(b.max), `${formatMBps(b.total)} MB`],
  ]);
}

function countsTable(result: BenchResult): string {
  const c = result.counts;
  const names = ['sent', 'expected', 'delivered', 'lost', 'reordered', 'corrupted', 'duplicated', 'refused'] as const;
  return table([names.slice(), names.map((n) => formatCount(c[n]))], Array(names.length).fill('right'));
}

function errorsBlock(result: BenchResult): string {
  if (result.errors.length === 0) return 'Errors: none';
  return `Errors\n${table([['count', 'message'], ...result.errors.map((e) => [formatCount(e.count), oneLine(e.message)])], ['right', 'left'])}`;
}

/** A message from the network may hold newlines or control bytes: keep the table one line per row. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function generatorLine(result: BenchResult, cores: number): string {
  const g = result.generator;
  const line = `Generator: ${Math.round(g.cpuPercent)}% CPU (${formatMs(g.cpuMs / 1000)} s), ${formatMs(g.cpuUsPerFrame)} µs per delivered frame, ${plural(g.workers, 'worker')}`;
  const warning = ceilingWarning(result, cores);
  return warning === null ? line : `${line}\n${warning}`;
}

/** Notes on what the counts say, so a lost frame is not missed in a table of numbers. */
function deliveryNotes(result: BenchResult): string[] {
  const c = result.counts;
  const notes: string[] = [];
  if (c.expected > 0 && c.lost > 0) notes.push(`${formatCount(c.lost)} of ${formatCount(c.expected)} deliveries lost (${((100 * c.lost) / c.expected).toFixed(2)}%)`);
  if (c.corrupted > 0) notes.push(`${formatCount(c.corrupted)} corrupted`);
  if (c.reordered > 0) notes.push(`${formatCount(c.reordered)} reordered`);
  if (c.duplicated > 0) notes.push(`${formatCount(c.duplicated)} duplicated`);
  if (result.latency.samples === 0) notes.push('no frame came back: no latency measured');
  return notes.length === 0 ? [] : [`note: ${notes.join('; ')}`];
}

/**
 * The report of one run: what ran, latency, throughput, delivery counts, errors and the
 * generator's cost (with its ceiling warning).
 */
export function formatReport(result: BenchResult, options: ReportOptions = {}): string {
  const o = result.options;
  const cores = options.cores ?? availableParallelism();
  const ran = result.durationSec < o.durationSec ? ` (stopped after ${formatMs(result.durationSec)} s)` : '';
  return [
    `gamewire bench ${formatTarget(o)}: ${describeLoad(o)}${ran}`,
    '',
    'Latency (ms)',
    latencyTable(result),
    '',
    'Throughput',
    throughputTable(result),
    '',
    'Delivery',
    countsTable(result),
    ...deliveryNotes(result),
    '',
    errorsBlock(result),
    '',
    generatorLine(result, cores),
    '',
  ].join('\n');
}

function figuresRow(name: string, get: (f: ComparedFigures) => number, format: (n: number) => string, s: BenchComparison['summary']): string[] {
  return [name, format(get(s.a)), format(get(s.b)), formatRatio(get(s.ratio))];
}

/** The names of a comparison's targets in its tables: `a host:port` and `b host:port`. */
export function comparisonLabels(comparison: BenchComparison): { a: string; b: string } {
  return { a: `a ${formatTarget(comparison.a)}`, b: `b ${formatTarget(comparison.b)}` };
}

/**
 * The body of the Medians table (text and HTML): per figure, both targets' medians and b/a.
 * @returns rows of [figure, a, b, b/a]; the header row is the caller's
 */
export function medianRows(s: BenchComparison['summary']): string[][] {
  return [
    figuresRow('frames/s', (f) => f.framesPerSec, formatCount, s),
    figuresRow('MB/s', (f) => f.bytesPerSec, formatMBps, s),
    figuresRow('p50 ms', (f) => f.p50Ms, formatMs, s),
    figuresRow('p99 ms', (f) => f.p99Ms, formatMs, s),
    figuresRow('lost', (f) => f.lost, formatCount, s),
  ];
}

/**
 * The body of the Rounds table (text and HTML): every round in the order it ran.
 * @param labels the targets' names, from `comparisonLabels`
 * @param cpu formats the generator's CPU, rounded to a whole percent (the HTML puts `%` in the header)
 * @returns rows of [#, target, frames/s, MB/s, p50 ms, p99 ms, max ms, lost, cpu]; the header row is the caller's
 */
export function roundRows(comparison: BenchComparison, labels: { a: string; b: string }, cpu: (percent: number) => string): string[][] {
  return comparison.rounds.map((r, i) => [
    String(i + 1),
    r.target === 'a' ? labels.a : labels.b,
    formatCount(r.result.framesPerSec.mean),
    formatMBps(r.result.bytesPerSec.mean),
    formatMs(r.result.latency.p50),
    formatMs(r.result.latency.p99),
    formatMs(r.result.latency.max),
    formatCount(r.result.counts.lost),
    cpu(Math.round(r.result.generator.cpuPercent)),
  ]);
}

/**
 * The report of `--compare`: the medians of both targets side by side with b/a, then every
 * round in the order it ran.
 */
export function formatComparison(comparison: BenchComparison, options: ReportOptions = {}): string {
  const s = comparison.summary;
  const cores = options.cores ?? availableParallelism();
  const first = comparison.rounds[0]?.result;
  const perTarget = Math.ceil(comparison.rounds.length / 2);
  const head = first ? `${describeLoad(first.options)}, ${plural(perTarget, 'round')} per target` : 'no rounds';
  const labels = comparisonLabels(comparison);
  const rounds = roundRows(comparison, labels, (percent) => `${percent}%`);
  const warnings = comparison.rounds
    .map((r, i) => (ceilingWarning(r.result, cores) === null ? null : `round ${i + 1} (${r.target}): ${ceilingWarning(r.result, cores)!.replace(/^warning: /, '')}`))
    .filter((w): w is string => w !== null)
    .map((w) => `warning: ${w}`);
  return [
    `gamewire bench --compare: ${head}`,
    '',
    'Medians',
    table([['', labels.a, labels.b, 'b/a'], ...medianRows(s)]),
    '',
    'Rounds',
    table([['#', 'target', 'frames/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'cpu'], ...rounds], ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right']),
    ...warnings,
    '',
  ].join('\n');
}
