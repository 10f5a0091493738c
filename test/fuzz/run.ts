/**
 * `npm run fuzz -- [--asan] [--minutes N] [--target name[,name] | --core] [--engine native|node] [--seed S] [--no-save] [--list]`
 *
 * Mutation and property fuzzing of every registered target (test/fuzz/targets.ts) on every
 * implementation (native when the addon loads, and the fallback), compared result for result.
 * The time is shared equally between the chosen targets (default: all, 1 minute in total).
 * Inputs with a new behaviour signature are saved to `test/corpus/<target>/` (replayed by
 * `npm test`); failing inputs are saved as `failure-*.bin` and printed. Executions and failures
 * per target and implementation go to `bench/results/fuzz.json`. `--no-save` writes nothing: no
 * corpus file, no failure file, no fuzz.json (a trial run leaves the tree clean). Exits 1 on any
 * failure.
 *
 * `--asan` fuzzes the addon built with AddressSanitizer + UBSan: scripts/build-asan.sh (re)builds
 * build-asan-fuzz/ and this runner runs again with the sanitizer runtime preloaded
 * (test/fuzz/asan.ts); any sanitizer report aborts the run and fails it. Its rows in fuzz.json carry `"asan": true` and sit beside the plain rows of the target.
 * `--core` chooses the core targets (native and fallback compared).
 *
 * `--target relay-engine` (or `--engine native|node`, which alone means that target only) fuzzes
 * a relay over TCP on 127.0.0.1 with the joint-parser-to-relay inputs (test/fuzz/relay-engine.ts):
 * on the native engine by default, on the sanitized addon with `--asan`. See docs/fuzzing.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CORPUS_FILE_BYTES, MAX_CORPUS_FILES, readCorpus, saveCorpus } from './corpus.js';
import { asanProblem, handOverToAsan, underAsan } from './asan.js';
import { mutate } from './mutate.js';
import { fuzzRelayEngine, RELAY_ENGINE_TARGET } from './relay-engine.js';
import { Rng } from './rng.js';
import { execute, fuzzImplementations, TARGETS, type FuzzTarget } from './targets.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'fuzz.json');
/** An execution slower than this counts as a hang (ms). */
const HANG_MS = 5000;
/** Failing inputs saved per target per run: enough to debug, not a flood of files. */
const MAX_SAVED_FAILURES = 10;
/** Longest stretch without yielding to the event loop (ms). */
const YIELD_MS = 20;

interface Args {
  minutes: number;
  targets: FuzzTarget[];
  seed: number;
  save: boolean;
  asan: boolean;
  /** The relay-engine target's engine; undefined: that target is not run. */
  relayEngine: 'native' | 'node' | undefined;
}

function usage(message?: string): never {
  if (message) process.stderr.write(`fuzz: ${message}\n`);
  process.stderr.write('usage: npm run fuzz -- [--asan] [--minutes N] [--target name[,name] | --core] [--engine native|node] [--seed S] [--no-save] [--list]\n');
  process.stderr.write(`targets: ${[...TARGETS.map((t) => t.name), RELAY_ENGINE_TARGET].join(', ')}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 1, targets: [...TARGETS], seed: 1, save: true, asan: underAsan(), relayEngine: undefined };
  let chosen = false;
  let relayTarget = false;
  let engine: 'native' | 'node' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--minutes') {
      args.minutes = Number(value());
      if (!(args.minutes > 0)) usage('--minutes must be a positive number');
    } else if (a === '--target') {
      const names = value().split(',');
      relayTarget = names.includes(RELAY_ENGINE_TARGET);
      args.targets = names.filter((n) => n !== RELAY_ENGINE_TARGET).map((n) => TARGETS.find((t) => t.name === n) ?? usage(`unknown target ${n}`));
      chosen = true;
    } else if (a === '--core') {
      args.targets = TARGETS.filter((t) => t.dual);
      chosen = true;
    } else if (a === '--engine') {
      const e = value();
      if (e !== 'native' && e !== 'node') usage(`--engine must be native or node, not ${e}`);
      engine = e;
    } else if (a === '--asan') {
      args.asan = true;
    } else if (a === '--seed') {
      args.seed = Number(value()) >>> 0;
    } else if (a === '--no-save') {
      args.save = false;
    } else if (a === '--list') {
      for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(26)} ${t.description}\n`);
      process.stdout.write(`${RELAY_ENGINE_TARGET.padEnd(26)} joint-parser-to-relay inputs as TCP streams into a relay (--engine, default native): only the offending peer dropped, a good pair forwarding, bounded\n`);
      process.exit(0);
    } else usage(`unknown argument ${a}`);
  }
  // --engine alone means the relay-engine target alone; beside --target/--core it adds it.
  if (engine !== undefined && !chosen) args.targets = [];
  if (engine !== undefined || relayTarget) args.relayEngine = engine ?? 'native';
  return args;
}

interface TargetResult {
  target: string;
  implementation: string;
  executions: number;
  failures: number;
  seconds: number;
  corpusFiles: number;
  newCorpusFiles: number;
  /** Present (true) on rows fuzzed on the AddressSanitizer build. */
  asan?: true;
}

async function fuzzTarget(target: FuzzTarget, ms: number, seed: number, save: boolean): Promise<TargetResult[]> {
  const impls = fuzzImplementations();
  const rng = new Rng(seed ^ hashName(target.name));
  const counts = new Map<string, { executions: number; failures: number }>();
  const signatures = new Set<string>();
  const corpus: Uint8Array[] = [];
  let savedFailures = 0;
  let slowest = 0;
  let stalls = 0;
  let newFiles = 0;
  let files = readCorpus(target.name).length;

  const one = (input: Uint8Array, keep: boolean): void => {
    const t0 = performance.now();
    const ex = execute(target, input, impls);
    const took = performance.now() - t0;
    for (const name of ex.implementations) {
      const c = counts.get(name) ?? { executions: 0, failures: 0 };
      c.executions++;
      counts.set(name, c);
    }
    const failures = [...ex.failures];
    if (took > slowest) slowest = took;
    if (took > HANG_MS) {
      // A shared machine can stall a process for seconds: a hang must reproduce to count.
      const t1 = performance.now();
      execute(target, input, impls);
      const again = performance.now() - t1;
      if (again > HANG_MS) failures.push({ implementation: ex.implementations.join('+'), kind: 'exception', message: `hang: ${Math.round(took)} ms, again ${Math.round(again)} ms` });
      else {
        stalls++;
        process.stdout.write(`\n${target.name}: stall of ${Math.round(took)} ms not reproduced (${again.toFixed(1)} ms again; rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB)\n`);
      }
    }
    if (failures.length) {
      for (const f of failures) {
        for (const name of f.implementation.split('+')) {
          const c = counts.get(name) ?? { executions: 0, failures: 0 };
          c.failures++;
          counts.set(name, c);
        }
      }
      if (savedFailures < MAX_SAVED_FAILURES) {
        savedFailures++;
        const name = save ? saveCorpus(target.name, input, true) : '(not saved)';
        process.stdout.write(`\n${target.name}: FAILURE ${name} (${input.length} bytes)\n`);
        for (const f of failures) process.stdout.write(`  ${f.implementation} ${f.kind}: ${f.message.split('\n').slice(0, 6).join('\n    ')}\n`);
      }
      return;
    }
    if (!signatures.has(ex.signature)) {
      signatures.add(ex.signature);
      if (keep) {
        corpus.push(input);
        if (save && files < MAX_CORPUS_FILES && input.length <= MAX_CORPUS_FILE_BYTES) {
          saveCorpus(target.name, input);
          files++;
          newFiles++;
        }
      }
    }
  };

  const started = performance.now();
  // The corpus first: seeds and saved files, their signatures known before mutating.
  const initial = [...target.seeds(), ...readCorpus(target.name).map((f) => f.bytes)];
  for (const input of initial) {
    corpus.push(input);
    one(input, false);
  }
  let n = 0;
  let lastYield = performance.now();
  while (performance.now() - started < ms) {
    // Native wrappers are freed by finalizers that N-API runs on a later turn of the event
    // loop: a loop that never yields keeps every one of them (gigabytes after a minute).
    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    for (let i = 0; i < 16; i++, n++) {
      const input = rng.oneIn(4) || corpus.length === 0 ? target.generate(rng) : mutate(rng, rng.pick(corpus), rng.pick(corpus), target.maxInputBytes);
      one(input, true);
    }
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  process.stdout.write(`# ${target.name}: slowest execution ${slowest.toFixed(1)} ms, ${stalls} stalls, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB\n`);
  return [...counts].map(([implementation, c]) => ({
    target: target.name,
    implementation,
    executions: c.executions,
    failures: c.failures,
    seconds,
    corpusFiles: files,
    newCorpusFiles: newFiles,
  }));
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The relay-engine target: one row, implementation `engine-<name>` (exits 1 when the engine cannot run). */
async function relayEngineRow(engine: 'native' | 'node', ms: number, args: Args): Promise<TargetResult> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let r;
  try {
    r = await fuzzRelayEngine({ engine, ms, seed: args.seed, save: args.save, log });
  } catch (err) {
    process.stderr.write(`fuzz: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const note of r.leftOut) log(`# ${RELAY_ENGINE_TARGET}: left out: ${note}`);
  log(`# ${RELAY_ENGINE_TARGET} (${engine} engine): rss max ${r.rssMaxMib} MiB`);
  for (const [k, v] of Object.entries(r.outcomes).sort()) log(`#   ${k.padEnd(40)} ${v}`);
  for (const [k, v] of Object.entries(r.drops).sort()) log(`#   relay dropped: ${k.padEnd(60)} ${v}`);
  const row: TargetResult = {
    target: RELAY_ENGINE_TARGET,
    implementation: `engine-${engine}`,
    executions: r.executions,
    failures: r.failures,
    seconds: r.seconds,
    corpusFiles: 0,
    newCorpusFiles: 0,
  };
  const out = args.asan ? { ...row, asan: true as const } : row;
  process.stdout.write(`${out.target.padEnd(26)} ${out.implementation.padEnd(9)} ${String(out.executions).padStart(10)} execs  ${String(out.failures).padStart(4)} failures  ${out.seconds}s\n`);
  return out;
}

/** Rows of one target in one mode replace each other; the plain and ASan rows coexist. */
function rowKey(r: TargetResult): string {
  return `${r.target}${r.asan ? ' asan' : ''}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.asan && !underAsan()) await handOverToAsan(argv.filter((a) => a !== '--asan'));
  const impls = fuzzImplementations().map((i) => i.name);
  if (args.asan) {
    const problem = asanProblem(impls);
    if (problem !== null) {
      process.stderr.write(`fuzz: --asan, but ${problem} (run it through npm run fuzz -- --asan)\n`);
      process.exit(1);
    }
  }
  const targetCount = args.targets.length + (args.relayEngine !== undefined ? 1 : 0);
  const perTarget = (args.minutes * 60_000) / targetCount;
  process.stdout.write(`# fuzz${args.asan ? ' (AddressSanitizer + UBSan addon)' : ''}  seed ${args.seed}  ${args.minutes} min over ${targetCount} targets  implementations: ${impls.join(', ')}\n`);
  const results: TargetResult[] = [];
  if (args.relayEngine !== undefined) results.push(await relayEngineRow(args.relayEngine, perTarget, args));
  for (const t of args.targets) {
    const rows = (await fuzzTarget(t, perTarget, args.seed, args.save)).map((r) => (args.asan ? { ...r, asan: true as const } : r));
    for (const r of rows) {
      process.stdout.write(`${r.target.padEnd(26)} ${r.implementation.padEnd(9)} ${String(r.executions).padStart(10)} execs  ${String(r.failures).padStart(4)} failures  ${r.seconds}s  corpus ${r.corpusFiles} (+${r.newCorpusFiles})\n`);
    }
    results.push(...rows);
  }
  const failed = results.reduce((s, r) => s + r.failures, 0);
  const executions = results.reduce((s, r) => s + r.executions, 0);
  if (!args.save) {
    process.stdout.write(`# ${executions} executions, ${failed} failures; --no-save: ${RESULTS} not written\n`);
    process.exit(failed ? 1 : 0);
  }
  // Keep earlier figures of targets not run this time.
  let previous: TargetResult[] = [];
  if (existsSync(RESULTS)) {
    try {
      previous = (JSON.parse(readFileSync(RESULTS, 'utf8')) as { results: TargetResult[] }).results ?? [];
    } catch {
      previous = [];
    }
  }
  const ran = new Set(results.map(rowKey));
  const merged = [...previous.filter((r) => !ran.has(rowKey(r))), ...results].sort(
    (a, b) => a.target.localeCompare(b.target) || Number(a.asan ?? false) - Number(b.asan ?? false) || a.implementation.localeCompare(b.implementation),
  );
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify({ suite: 'fuzz', node: process.version, date: new Date().toISOString(), seed: args.seed, minutes: args.minutes, results: merged }, null, 2) + '\n',
  );
  process.stdout.write(`# ${executions} executions, ${failed} failures; wrote ${RESULTS}\n`);
  process.exit(failed ? 1 : 0);
}

await main();
