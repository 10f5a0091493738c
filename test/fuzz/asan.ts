/**
 * The AddressSanitizer mode of `npm run fuzz -- --asan`. The runner started by npm has no
 * sanitizer runtime; it hands over to scripts/fuzz-asan.sh, which builds the sanitized addon
 * (build-asan/) when it is missing or stale and runs the runner again with libasan preloaded,
 * GAMEWIRE_NATIVE=1, GAMEWIRE_PREBUILD=build-asan and GAMEWIRE_FUZZ_ASAN=1. That second runner
 * checks here that it really fuzzes the sanitized addon before it starts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonFile } from '../../src/core/load.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'fuzz-asan.sh');

/** True in the runner that scripts/fuzz-asan.sh started (sanitizer runtime preloaded). */
export function underAsan(): boolean {
  return process.env.GAMEWIRE_FUZZ_ASAN === '1';
}

/**
 * Run scripts/fuzz-asan.sh with `args` (the runner's options without `--asan`) and exit with
 * its status: 1 on any failure, sanitizer report, or a failed build.
 */
export function handOverToAsan(args: readonly string[]): never {
  const child = spawnSync('bash', [SCRIPT, ...args], { stdio: 'inherit' });
  if (child.error) {
    process.stderr.write(`fuzz: cannot run ${SCRIPT}: ${child.error.message}\n`);
    process.exit(1);
  }
  process.exit(child.status ?? 1);
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
