/**
 * The AddressSanitizer mode of `npm run soak -- --asan` (issue 19, Safety). The soak started by
 * npm has no sanitizer runtime: it builds the sanitized addon with scripts/build-asan.sh into
 * build-asan-soak/ (its own directory: `npm run test:asan` rebuilds build-asan/ whenever the
 * sources change) and runs the soak again in a child with libasan preloaded, GAMEWIRE_NATIVE=1,
 * GAMEWIRE_PREBUILD=build-asan-soak and GAMEWIRE_SOAK_ASAN=1. That child checks here that it
 * really runs the sanitized addon before it starts. The parent copies the child's stderr through,
 * keeps it in a temporary file, and fails the run on any sanitizer report in it, even if the
 * child somehow exited 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonFile } from '../../src/core/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-asan.sh');
const RUNNER = join(ROOT, 'test', 'soak', 'run.ts');
/** The soak's sanitized build (not build-asan/: that one belongs to `npm run test:asan`). */
export const SOAK_ASAN_DIR = join(ROOT, 'build-asan-soak');

/** Every report is fatal (ASan halts and aborts; the addon is built with -fno-sanitize-recover=all). */
export const ASAN_OPTIONS =
  'halt_on_error=1:abort_on_error=1:detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1';
export const UBSAN_OPTIONS = 'halt_on_error=1:print_stacktrace=1';
/** A line of any sanitizer report. */
export const SANITIZER_REPORT = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer/;

/** True in the soak that handOverToAsan started (sanitizer runtime preloaded). */
export function underAsan(): boolean {
  return process.env.GAMEWIRE_SOAK_ASAN === '1';
}

/** The sanitizer runtime of the compiler that builds the addon, or null. */
function libasanPath(): string | null {
  const r = spawnSync(process.env.CC || 'gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path.startsWith('/') ? path : null;
}

/**
 * Build the sanitized addon (when missing or stale) into `outDir` and return that directory.
 * @throws Error when the build fails (its log tail is on stderr already)
 */
export function buildSanitizedAddon(outDir: string, tag: string): string {
  const r = spawnSync('bash', [BUILD_SCRIPT, outDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.error) throw new Error(`${tag}: cannot run ${BUILD_SCRIPT}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${tag}: ${BUILD_SCRIPT} failed (exit ${r.status})`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1]!;
}

/**
 * Run `runner` (a TypeScript entry) with `args` in a child on the sanitized addon in `outDir`
 * and resolve with the exit status to use: the child's, or 1 on a sanitizer report in its stderr.
 * @param flag the environment variable (set to 1) by which the child knows it is the sanitized run
 */
export async function runSanitized(tag: string, runner: string, args: readonly string[], outDir: string, flag: string): Promise<number> {
  const libasan = libasanPath();
  if (libasan === null) throw new Error(`${tag}: libasan not found (install the compiler's sanitizer runtime)`);
  const logDir = mkdtempSync(join(tmpdir(), `gamewire-${tag}-asan-`));
  const logFile = join(logDir, 'stderr.log');
  const copy = createWriteStream(logFile);
  process.stdout.write(`${tag}: LD_PRELOAD=${libasan} GAMEWIRE_PREBUILD=${outDir} GAMEWIRE_NATIVE=1 ${flag}=1\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'pipe'],
    env: {
      ...process.env,
      LD_PRELOAD: libasan,
      // Options of the caller's ASAN_OPTIONS come after ours, so they win (quarantine_size_mb=...).
      ASAN_OPTIONS: [ASAN_OPTIONS, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
      UBSAN_OPTIONS,
      GAMEWIRE_PREBUILD: outDir,
      GAMEWIRE_NATIVE: '1',
      [flag]: '1',
    },
  });
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    copy.write(d);
  });
  const status = await new Promise<number>((done) => {
    child.once('error', (err) => {
      process.stderr.write(`${tag}: cannot start the sanitized run: ${err.message}\n`);
      done(1);
    });
    child.once('close', (code, signal) => done(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
  });
  await new Promise<void>((done) => copy.end(() => done()));
  const report = SANITIZER_REPORT.test(readFileSync(logFile, 'utf8'));
  if (report) {
    process.stderr.write(`${tag}: FAILED, sanitizer report (exit status ${status}; stderr kept in ${logFile})\n`);
    return 1;
  }
  if (status !== 0) {
    process.stderr.write(`${tag}: FAILED (exit status ${status}; stderr kept in ${logFile})\n`);
    return status;
  }
  rmSync(logDir, { recursive: true, force: true });
  process.stdout.write(`${tag}: no sanitizer report\n`);
  return 0;
}

/** Build build-asan-soak/ and run the soak on it with `args` (without --asan); exits with its status. */
export async function handOverToAsan(args: readonly string[]): Promise<never> {
  try {
    const dir = buildSanitizedAddon(SOAK_ASAN_DIR, 'soak');
    process.exit(await runSanitized('soak', RUNNER, args, dir, 'GAMEWIRE_SOAK_ASAN'));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * Why this process is not running on the sanitized addon, or null when it is: the runtime must
 * be preloaded, GAMEWIRE_NATIVE=1, and the addon that loaded must be the instrumented one in
 * GAMEWIRE_PREBUILD (not build/ or prebuilds/ of the package).
 */
export function asanProblem(): string | null {
  if (!/libasan/.test(process.env.LD_PRELOAD ?? '')) return 'LD_PRELOAD does not load libasan';
  if (process.env.GAMEWIRE_NATIVE !== '1') return 'GAMEWIRE_NATIVE is not 1';
  const dir = process.env.GAMEWIRE_PREBUILD;
  if (!dir) return 'GAMEWIRE_PREBUILD is not set';
  const file = addonFile();
  if (file === undefined) return 'the addon did not load';
  const rel = relative(resolve(dir), resolve(file));
  if (rel.startsWith('..') || rel.startsWith(sep)) return `the addon loaded from ${file}, not from ${dir}`;
  if (!readFileSync(file).includes('__asan_report_')) return `${file} is not built with AddressSanitizer`;
  return null;
}
