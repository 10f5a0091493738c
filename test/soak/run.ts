/**
 * `npm run soak -- [--minutes N] [--seconds S] [--scale X] [--seed S] [--components a,b] [--rss-limit P] [--engine native|node] [--asan] [--out file]`
 *
 * Runs the soak (soak.ts): a relay, an mm server (plain and keyed), a UDP session server behind
 * a lossy proxy (latency, 25% loss, 25% duplicates, reordering) and an event server behind the
 * same impairments, in this process, under good clients whose every byte is checked and a
 * stream of hostile peers. Prints the report and writes bench/results/soak.json as
 * `{"suite":"soak","results":[{"metric","value"},...],"details":[...]}`: `results` holds the
 * headline figures and errors and drops by reason, `details` hostile peers by kind and the
 * figures of each style.
 *
 * `--engine native|node` runs the relay component on that engine (default: the relay's default);
 * a relay that would run another engine (no addon, an addon without the engine) fails the run
 * before it starts. `--asan` runs the soak on the addon built with AddressSanitizer + UBSan
 * (test/soak/asan.ts: build-asan-soak/, GAMEWIRE_NATIVE=1, any sanitizer report fails the run);
 * its report goes to a temporary file unless `--out` is given, never to bench/results/soak.json
 * (sanitized figures are not the soak's figures). See docs/soak.md.
 *
 * Exits 1 on any byte lost or corrupted for a good client, an invariant violation, an uncaught
 * exception, a handle left open, or (for runs of 5 minutes or more, or with --rss-limit) RSS
 * growth after warm-up above the limit (default 10%; under --asan the growth of the floor of the
 * live memory instead, see memoryRule() in soak.ts); 2 on bad arguments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { asanProblem, handOverToAsan, underAsan } from './asan.js';
import { COMPONENTS } from './components.js';
import { parseSoakArgs, SoakArgsError } from './args.js';
import { memoryRule, runSoak } from './soak.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'soak.json');

function usage(message?: string): never {
  if (message) process.stderr.write(`soak: ${message}\n`);
  process.stderr.write(
    'usage: npm run soak -- [--minutes N] [--seconds S] [--scale X] [--seed S] [--components ' +
      `${Object.keys(COMPONENTS).join(',')}] [--rss-limit P] [--engine native|node] [--asan] [--out file]\n`,
  );
  process.exit(2);
}

const argv = process.argv.slice(2);
let parsed;
try {
  parsed = parseSoakArgs(argv, Object.keys(COMPONENTS));
} catch (err) {
  if (err instanceof SoakArgsError) usage(err.message || undefined);
  throw err;
}
const args = parsed;
if (args.asan && !underAsan()) await handOverToAsan(argv.filter((a) => a !== '--asan'));
if (underAsan()) {
  const problem = asanProblem();
  if (problem !== null) {
    process.stderr.write(`soak: --asan, but ${problem} (run it through npm run soak -- --asan)\n`);
    process.exit(1);
  }
}
if (args.engine === 'native' && args.components.includes('relay')) {
  const support = nativeEngineSupport();
  if (typeof support === 'string') {
    process.stderr.write(`soak: --engine native, but the native engine cannot run here: ${support}\n`);
    process.exit(1);
  }
}
// Sanitized figures (several times slower, ASan's quarantine in RSS) are not the soak's figures.
const out = args.out ?? (underAsan() ? join(tmpdir(), `gamewire-soak-asan-${process.pid}.json`) : OUT);
// RSS is judged in long runs only: a short run is mostly warm-up and JIT.
const rssLimit = Number.isNaN(args.rssLimit) ? (args.ms >= 5 * 60_000 ? 10 : Infinity) : args.rssLimit;

const stamp = () => new Date().toISOString().slice(11, 19);
const report = await runSoak({
  durationMs: args.ms,
  scale: args.scale,
  seed: args.seed,
  components: args.components.map((c) => COMPONENTS[c]!),
  relayEngine: args.engine,
  // ASan slows every allocation of the process; the event loop stalls up to ~2 s under load.
  timeFactor: underAsan() ? 3 : 1,
  log: (line) => process.stdout.write(`${stamp()} ${line}\n`),
});

// Under ASan, RSS holds the sanitizer's shadow memory, its quarantine and its allocator's free
// lists, which grow with no leak (docs/soak.md): the rule judges the floor of the live memory
// instead (bytes malloc'ed and not freed, from the sanitizer's allocator, plus V8's heap). An
// addon built before sanitizerHeap() existed (GAMEWIRE_ASAN_REV of an older commit) has only RSS.
const rule = memoryRule(report.results, underAsan());
const growth = Number(report.results.find((r) => r.metric === rule.metric)?.value ?? 0);
if (growth > rssLimit) report.failures.push(`${rule.what} grew ${growth}% after warm-up (limit ${rssLimit}%)`);
const passed = report.failures.length === 0;
report.results.push({ metric: 'memory_rule', value: rule.what });
report.results.push({ metric: 'rss_limit_pct', value: Number.isFinite(rssLimit) ? rssLimit : 'not judged (run < 5 min)' });
report.results.push({ metric: 'asan', value: underAsan() ? 'yes (AddressSanitizer + UBSan addon)' : 'no' });
report.results.push({ metric: 'passed', value: passed ? 'yes' : 'no' });

const rows = [...report.results, ...report.details];
const width = Math.max(...rows.map((r) => r.metric.length));
process.stdout.write('\nsoak report\n');
for (const r of rows) process.stdout.write(`  ${r.metric.padEnd(width)}  ${r.value}\n`);
for (const v of report.tally.violations.slice(0, 20)) process.stdout.write(`  violation: ${v}\n`);
for (const c of report.tally.crashes.slice(0, 5)) process.stdout.write(`  crash: ${c}\n`);
mkdirSync(dirname(out), { recursive: true });
const json = {
  suite: 'soak',
  node: process.version,
  cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
  date: new Date().toISOString(),
  results: report.results,
  details: report.details,
  // The memory samples, one row each: [seconds into the load, RSS MiB, V8 heap used MiB, ASan live heap MiB, ASan mapped MiB] (the last two under --asan only).
  samples: report.samples.map((s) => {
    const row = [Math.round(s.atMs / 1000), s.rss, s.heapUsed].concat(s.asanAllocated !== undefined ? [s.asanAllocated, s.asanHeapSize!] : []);
    return row.map((v, i) => (i === 0 ? v : Math.round((v / 2 ** 20) * 10) / 10));
  }),
};
writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
process.stdout.write(`\nwrote ${out}\n${passed ? 'PASSED' : `FAILED:\n  ${report.failures.join('\n  ')}`}\n`);
process.exit(passed ? 0 : 1);
