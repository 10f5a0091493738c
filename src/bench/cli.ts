/**
 * `gamewire bench` (docs/bench.md): read the command line, run the load (or the comparison),
 * print the report on stdout, write `--json` / `--html`, and exit 0 (done), 1 (the run failed:
 * the target is not there, a file cannot be written) or 2 (bad arguments, said in one line).
 *
 * The first Ctrl-C ends the measured period early and still reports what ran; a second one
 * exits at once.
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchCommand } from './args.js';
import { compare, loadBench, type RunBench } from './compare.js';
import { renderComparisonHtml, renderHtml } from './html.js';
import { createProgress, type ProgressStream } from './progress.js';
import { formatComparison, formatReport, formatTarget } from './report.js';
import type { BenchComparison, BenchOptions, BenchResult } from './types.js';

/** Where the CLI writes, and what runs the load (tests pass their own). */
export interface BenchCliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Runs one bench. Default: the engine's `bench`. */
  readonly run?: RunBench;
  /** Stop on SIGINT (default true; tests running in-process turn it off). */
  readonly handleSignals?: boolean;
}

/** Exit codes of `gamewire bench`. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error message in one line: a message from the network may hold newlines. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function usageLine(message: string): string {
  // The engine names its errors `bench: ...`; the line already says whose it is.
  return `gamewire bench: ${oneLine(message).replace(/^bench: /, '')}; see gamewire bench --help\n`;
}

/**
 * JSON of a result or comparison. A ratio over a figure that is 0 is Infinity in memory; JSON
 * has no Infinity, so it is written as null (the schema allows null there).
 */
export function toJson(value: BenchResult | BenchComparison): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/**
 * Check before the run that an output file can be written where asked, so a long run is not
 * lost to a typo in a path.
 * @throws BenchUsageError naming the flag and the problem
 */
function checkOutput(flag: string, path: string | null): void {
  if (path === null) return;
  const full = resolve(path);
  const stat = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return null;
    }
  };
  if (stat(full)?.isDirectory()) throw new BenchUsageError(`${flag} ${path} is a directory`);
  const dir = stat(dirname(full));
  if (dir === null || !dir.isDirectory()) throw new BenchUsageError(`${flag} ${path}: no directory ${dirname(full)}`);
}

function write(flag: string, path: string, text: string, stderr: ProgressStream): boolean {
  try {
    writeFileSync(path, text);
    return true;
  } catch (err) {
    stderr.write(`gamewire bench: cannot write ${flag} ${path}: ${oneLine((err as Error).message)}\n`);
    return false;
  }
}

/**
 * Run `gamewire bench` with the arguments after `bench`.
 * @returns the exit code
 */
export async function runBenchCli(argv: readonly string[], io: BenchCliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let command: BenchCommand;
  try {
    const parsed = parseBenchArgs(argv);
    if (parsed.help) {
      io.stdout.write(BENCH_USAGE);
      return EXIT_OK;
    }
    command = parsed;
    checkOutput('--json', command.json);
    checkOutput('--html', command.html);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    io.stderr.write(usageLine(err.message));
    return EXIT_USAGE;
  }

  const progress = createProgress(io.stderr, command.progress);
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    // A second Ctrl-C: the user does not want to wait for the drain.
    if (++interrupts > 1) process.exit(130);
    abort.abort(new Error('interrupted'));
  };
  const handleSignals = io.handleSignals ?? true;
  if (handleSignals) process.on('SIGINT', onSigint);

  const options: BenchOptions = { ...command.options, onProgress: (p) => progress.update(p), signal: abort.signal };
  let output: BenchResult | BenchComparison;
  try {
    const run = io.run ?? (await loadBench());
    if (command.compare === null) {
      progress.status(`${options.kind} ${formatTarget(options)}`);
      output = await run(options);
    } else {
      const b = command.compare;
      output = await compare(options, b, command.rounds, {
        run,
        onRound: (i, target, total) => progress.status(`round ${i + 1}/${total}: ${target} ${formatTarget(target === 'a' ? options : b)}`),
      });
    }
  } catch (err) {
    progress.clear();
    const message = err instanceof Error ? err.message : String(err);
    // TypeError / RangeError: the engine refused an option (a bound past its limit), a usage error.
    if (err instanceof TypeError || err instanceof RangeError) {
      io.stderr.write(usageLine(message));
      return EXIT_USAGE;
    }
    io.stderr.write(`gamewire bench: ${oneLine(message).replace(/^bench: /, '')}\n`);
    return EXIT_FAILED;
  } finally {
    if (handleSignals) process.off('SIGINT', onSigint);
  }
  progress.clear();

  const comparison = 'rounds' in output ? output : null;
  io.stdout.write(comparison ? formatComparison(comparison) : formatReport(output as BenchResult));
  let ok = true;
  if (command.json !== null) ok = write('--json', command.json, toJson(output), io.stderr) && ok;
  if (command.html !== null) {
    const html = comparison ? renderComparisonHtml(comparison) : renderHtml(output as BenchResult);
    ok = write('--html', command.html, html, io.stderr) && ok;
  }
  return ok ? EXIT_OK : EXIT_FAILED;
}
