/**
 * `npm run soak -- [--minutes N] [--seconds S] [--scale X] [--seed S] [--components a,b] [--rss-limit P] [--out file]`
 *
 * Runs the soak (soak.ts): a relay, an mm server (plain and keyed), a UDP session server behind
 * a lossy proxy (latency, 25% loss, 25% duplicates, reordering) and an event server behind the
 * same impairments, in this process, under good clients whose every byte is checked and a
 * stream of hostile peers. Prints the report and writes bench/results/soak.json as
 * `{"suite":"soak","results":[{"metric","value"},...],"details":[...]}`: `results` holds the
 * headline figures and errors and drops by reason, `details` hostile peers by kind and the
 * figures of each style.
 *
 * Exits 1 on any byte lost or corrupted for a good client, an invariant violation, an uncaught
 * exception, a handle left open, or (for runs of 5 minutes or more, or with --rss-limit) RSS
 * growth after warm-up above the limit (default 10%).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPONENTS } from './components.js';
import { runSoak } from './soak.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'soak.json');

function usage(message?: string): never {
  if (message) process.stderr.write(`soak: ${message}\n`);
  process.stderr.write(
    'usage: npm run soak -- [--minutes N] [--seconds S] [--scale X] [--seed S] [--components ' +
      `${Object.keys(COMPONENTS).join(',')}] [--rss-limit P] [--out file]\n`,
  );
  process.exit(2);
}

const args = { ms: 2 * 60_000, scale: 1, seed: 1, components: Object.keys(COMPONENTS), rssLimit: NaN, out: OUT };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const value = () => argv[++i] ?? usage(`${a} needs a value`);
  const positive = (v: string) => {
    const n = Number(v);
    if (!(n > 0)) usage(`${a} must be a positive number`);
    return n;
  };
  if (a === '--minutes') args.ms = positive(value()) * 60_000;
  else if (a === '--seconds') args.ms = positive(value()) * 1000;
  else if (a === '--scale') args.scale = positive(value());
  else if (a === '--seed') args.seed = Number(value()) >>> 0;
  else if (a === '--rss-limit') args.rssLimit = positive(value());
  else if (a === '--out') args.out = value();
  else if (a === '--components') {
    args.components = value().split(',');
    for (const c of args.components) if (!COMPONENTS[c]) usage(`unknown component ${c}`);
  } else if (a === '--help' || a === '-h') usage();
  else usage(`unknown argument ${a}`);
}
// RSS is judged in long runs only: a short run is mostly warm-up and JIT.
const rssLimit = Number.isNaN(args.rssLimit) ? (args.ms >= 5 * 60_000 ? 10 : Infinity) : args.rssLimit;

const stamp = () => new Date().toISOString().slice(11, 19);
const report = await runSoak({
  durationMs: args.ms,
  scale: args.scale,
  seed: args.seed,
  components: args.components.map((c) => COMPONENTS[c]!),
  log: (line) => process.stdout.write(`${stamp()} ${line}\n`),
});

const growth = Number(report.results.find((r) => r.metric === 'rss_growth_pct')?.value ?? 0);
if (growth > rssLimit) report.failures.push(`RSS grew ${growth}% after warm-up (limit ${rssLimit}%)`);
const passed = report.failures.length === 0;
report.results.push({ metric: 'rss_limit_pct', value: Number.isFinite(rssLimit) ? rssLimit : 'not judged (run < 5 min)' });
report.results.push({ metric: 'passed', value: passed ? 'yes' : 'no' });

const rows = [...report.results, ...report.details];
const width = Math.max(...rows.map((r) => r.metric.length));
process.stdout.write('\nsoak report\n');
for (const r of rows) process.stdout.write(`  ${r.metric.padEnd(width)}  ${r.value}\n`);
for (const v of report.tally.violations.slice(0, 20)) process.stdout.write(`  violation: ${v}\n`);
for (const c of report.tally.crashes.slice(0, 5)) process.stdout.write(`  crash: ${c}\n`);
mkdirSync(dirname(args.out), { recursive: true });
const json = {
  suite: 'soak',
  node: process.version,
  cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
  date: new Date().toISOString(),
  results: report.results,
  details: report.details,
};
writeFileSync(args.out, `${JSON.stringify(json, null, 2)}\n`);
process.stdout.write(`\nwrote ${args.out}\n${passed ? 'PASSED' : `FAILED:\n  ${report.failures.join('\n  ')}`}\n`);
process.exit(passed ? 0 : 1);
