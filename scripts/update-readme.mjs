// `node scripts/update-readme.mjs`: rewrites the benchmark and fuzz/soak tables of README.md
// from bench/results/*.json, between `<!-- results:<suite> -->` and `<!-- /results:<suite> -->`.
// The README's figures therefore always come from the scripts, never from a hand edit;
// `--check` exits 1 when the README is stale (used by test/readme.test.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = join(root, 'README.md');

/**
 * Columns of a bench table after case, subject, baseline and ratio, each shown when a row has it:
 * throughput, latency percentiles of the suites driven by `gamewire bench`'s engine (relay, mm,
 * udp: ms, send to delivery), CPU µs per frame of the server process and of the generator (where
 * the generator may be the limit, its CPU says so), and the idle-memory figures of the relay suite.
 */
const BENCH_COLUMNS = [
  'subjectOpsPerSec',
  'baselineOpsPerSec',
  'subjectP50Ms',
  'baselineP50Ms',
  'subjectP99Ms',
  'baselineP99Ms',
  'subjectServerCpuUsPerFrame',
  'baselineServerCpuUsPerFrame',
  'subjectLoadCpuUsPerFrame',
  'baselineLoadCpuUsPerFrame',
  'subjectKiBPerConnection',
  'baselineKiBPerConnection',
];

/** Markdown table of one results file. */
export function renderResults(json) {
  const rows = json.results ?? [];
  if (rows.length === 0) return '_no results yet_';
  const standard = ['case', 'subject', 'baseline', 'ratio'];
  const isBench = rows.every((r) => standard.every((k) => k in r));
  const keys = isBench
    ? [...standard, ...BENCH_COLUMNS.filter((k) => rows.some((r) => k in r))]
    : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v) => (typeof v === 'number' ? String(+v.toPrecision(3)) : v === undefined ? '' : String(v));
  const head = `| ${keys.join(' | ')} |\n|${keys.map(() => '---').join('|')}|`;
  const body = rows.map((r) => `| ${keys.map((k) => fmt(r[k])).join(' | ')} |`).join('\n');
  const meta = `_${json.suite}: node ${json.node ?? '?'}, ${json.cpu ?? '?'}, ${json.date ?? '?'}_`;
  return `${meta}\n\n${head}\n${body}`;
}

/** README text with every results block regenerated. */
export function regenerate(readme) {
  return readme.replace(/<!-- results:([a-z0-9-]+) -->[\s\S]*?<!-- \/results:\1 -->/g, (_m, suite) => {
    const file = join(root, 'bench', 'results', `${suite}.json`);
    const table = existsSync(file) ? renderResults(JSON.parse(readFileSync(file, 'utf8'))) : '_not measured yet_';
    return `<!-- results:${suite} -->\n${table}\n<!-- /results:${suite} -->`;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = readFileSync(readmePath, 'utf8');
  const after = regenerate(before);
  if (process.argv.includes('--check')) {
    if (before !== after) {
      console.error('README.md results are stale: run `node scripts/update-readme.mjs`');
      process.exit(1);
    }
  } else if (before !== after) {
    writeFileSync(readmePath, after);
    console.log('README.md results updated');
  }
}
