/**
 * Shared bench plumbing: every suite (`bench/<suite>.bench.ts`, run by `npm run bench -- <suite>`)
 * measures, then calls `report()`, which prints a header and a fixed-width table and writes
 * `bench/results/<suite>.json` as
 * `{"suite","node","cpu","implementations","results":[{"case","subject","baseline","ratio",...}]}`.
 * Ratio = subject ops/s ÷ baseline ops/s, both measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
