/**
 * The AddressSanitizer mode of `npm run fuzz -- --asan`. The runner started by npm has no
 * sanitizer runtime; it builds the sanitized addon with scripts/build-asan.sh into
 * build-asan-fuzz/ (its own directory: `npm run test:asan` rebuilds build-asan/ whenever the
 * sources change, under a running fuzzer; GAMEWIRE_ASAN_OUT moves it) and runs the runner again
 * with libasan preloaded, GAMEWIRE_NATIVE=1, GAMEWIRE_PREBUILD=<that directory> and
 * GAMEWIRE_FUZZ_ASAN=1 (test/soak/asan.ts runSanitized: the options of scripts/fuzz-asan.sh, any
 * sanitizer report in the child's stderr fails the run). That second runner checks here that it
 * really fuzzes the sanitized addon before it starts. scripts/fuzz-asan.sh does the same from a
 * shell, in build-asan/.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonFile } from '../../src/core/load.js';
import { buildSanitizedAddon, runSanitized } from '../soak/asan.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNNER = join(ROOT, 'test', 'fuzz', 'run.ts');
/** The fuzzer's sanitized build (not build-asan/: that one belongs to `npm run test:asan`). */
const FUZZ_ASAN_DIR = process.env.GAMEWIRE_ASAN_OUT || join(ROOT, 'build-asan-fuzz');

/** True in the runner that scripts/fuzz-asan.sh started (sanitizer runtime preloaded). */
export function underAsan(): boolean {
  return process.env.GAMEWIRE_FUZZ_ASAN === '1';
}

/**
 * Build the sanitized addon and run this runner on it with `args` (the options without
 * `--asan`); exits with its status: 1 on any failure, sanitizer report, or a failed build.
 */
export async function handOverToAsan(args: readonly string[]): Promise<never> {
  try {
    const dir = buildSanitizedAddon(FUZZ_ASAN_DIR, 'fuzz');
    process.exit(await runSanitized('fuzz', RUNNER, args, dir, 'GAMEWIRE_FUZZ_ASAN'));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * Why this process is not fuzzing the sanitized addon, or null when it is: the sanitizer
 * runtime must be preloaded, GAMEWIRE_NATIVE=1, and the addon that loaded must be the one in
 * GAMEWIRE_PREBUILD (not build/ or prebuilds/ of the package) and be instrumented (it calls
 * the `__asan_` runtime).
 * @param implementations the implementation names the runner will fuzz
 */
export function asanProblem(implementations: readonly string[]): string | null {
  if (!/libasan/.test(process.env.LD_PRELOAD ?? '')) return 'LD_PRELOAD does not load libasan';
  if (process.env.GAMEWIRE_NATIVE !== '1') return 'GAMEWIRE_NATIVE is not 1';
  const dir = process.env.GAMEWIRE_PREBUILD;
  if (!dir) return 'GAMEWIRE_PREBUILD is not set';
  const file = addonFile();
  if (file === undefined) return 'the addon did not load';
  const rel = relative(resolve(dir), resolve(file));
  if (rel.startsWith('..') || rel.startsWith(sep)) return `the addon loaded from ${file}, not from ${dir}`;
  if (!readFileSync(file).includes('__asan_report_')) return `${file} is not built with AddressSanitizer`;
  if (!implementations.includes('native')) return 'the native implementation is not fuzzed';
  return null;
}
