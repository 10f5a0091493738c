/**
 * `gamewire bench` (src/bench/cli.ts through src/cli.ts) as a child process: --help, bad
 * arguments (one line, exit 2), a target that is not there (one line, exit 1), and whole runs
 * against our own Relay with --json and --html, --compare, and Ctrl-C. The runs need the engine
 * and the relay driver; without them they are skipped, saying so.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBenchCli } from '../../src/bench/cli.js';
import type { RunBench } from '../../src/bench/compare.js';
import type { BenchOptions } from '../../src/bench/types.js';
import { fixtureResult } from '../bench/helpers/result-fixture.js';
import { ROOT } from '../helpers/exits-by-itself.js';

const engineReady = existsSync(join(ROOT, 'src/bench/drivers/relay.ts')) && existsSync(join(ROOT, 'src/bench/run.ts'));
const SKIP_REASON = 'needs the bench engine and src/bench/drivers/relay.ts';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `gamewire bench ...` without blocking this process (the Relay under test lives here). */
function bench(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => void, timeoutMs = 20_000): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bench', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    whileRunning?.(child);
  });
}

/** One line on stderr saying what is wrong and pointing at --help; nothing on stdout. */
function expectUsageError(out: Exit, what: string | RegExp): void {
  expect(out.code).toBe(2);
  expect(out.stdout).toBe('');
  expect(out.stderr.endsWith('\n')).toBe(true);
  expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
  const line = out.stderr.trimEnd();
  expect(line).toMatch(/^gamewire bench: .+; see gamewire bench --help$/);
  if (typeof what === 'string') expect(line).toContain(what);
  else expect(line).toMatch(what);
}

describe('gamewire bench', () => {
  it('--help prints the usage on stdout, exit 0', async () => {
    const out = await bench(['--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^usage: gamewire bench <relay\|mm\|udp\|events> --host <addr> --port <n>/);
    expect(out.stderr).toBe('');
  });

  it('gamewire --help lists bench', async () => {
    const out = await new Promise<Exit>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.once('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^ {2}bench +load a game server/m);
  });

  it('bad arguments: one clear line on stderr, exit 2', async () => {
    const [none, bogus] = await Promise.all([bench([]), bench(['relay', '--host', '127.0.0.1', '--port', '1', '--bogus'])]);
    expectUsageError(none, 'missing the protocol to load');
    expectUsageError(bogus, 'unknown option --bogus');
  });
});

/** runBenchCli in this process, its output captured. */
async function runInProcess(args: string[], run?: RunBench, isTTY = false): Promise<Exit & { writes: string[] }> {
  const writes: string[] = [];
  let stdout = '';
  let stderr = '';
  const code = await runBenchCli(args, {
    stdout: { isTTY: false, write: (t: string) => (stdout += t) },
    stderr: { isTTY, write: (t: string) => (writes.push(t), (stderr += t)) },
    run,
    handleSignals: false,
  });
  return { code, stdout, stderr, writes };
}

const TARGET = ['--host', '127.0.0.1', '--port', '7680'];

describe('runBenchCli', () => {
  it('each kind of bad argument: one line, exit 2, nothing run', async () => {
    const cases: [string[], string][] = [
      [['relay', '--port', '1'], 'missing --host'],
      [['relay', ...TARGET, '--users'], '--users needs a value'],
      [['relay', '--host', '127.0.0.1', '--port', 'x'], "--port needs a whole number, got 'x'"],
      [['relay', ...TARGET, '--duration', 'long'], "--duration needs a number > 0, got 'long'"],
      [['quic', ...TARGET], "unknown protocol 'quic'"],
      [['udp', ...TARGET, '--mode', 'broadcast'], '--mode broadcast does not fit udp'],
      [['events', ...TARGET, '--ws'], '--ws applies to relay only, not events'],
      [['relay', ...TARGET, '--window', '2', '--rate', '10'], '--window (closed loop) and --rate (open loop) exclude each other'],
      [['relay', ...TARGET, '--json', join(ROOT, 'no-such-dir', 'r.json')], `--json ${join(ROOT, 'no-such-dir', 'r.json')}: no directory`],
      [['relay', ...TARGET, '--html', ROOT], 'is a directory'],
    ];
    let runs = 0;
    const run: RunBench = async () => (runs++, fixtureResult());
    for (const [args, what] of cases) expectUsageError(await runInProcess(args, run), what);
    expect(runs).toBe(0);
  });

  it('prints the report, writes --json and --html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamewire-bench-cli-'));
    try {
      const out = await runInProcess(['relay', ...TARGET, '--json', join(dir, 'r.json'), '--html', join(dir, 'r.html')], async () => fixtureResult());
      expect(out.code).toBe(0);
      expect(out.stderr).toBe('');
      expect(out.stdout).toMatch(/^gamewire bench 127\.0\.0\.1:7680: relay users-to-owner/);
      expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toEqual(fixtureResult());
      expect(readFileSync(join(dir, 'r.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands the flags to the engine as BenchOptions, with a progress callback and a signal', async () => {
    let seen: BenchOptions | undefined;
    await runInProcess(['mm', ...TARGET, '--users', '3', '--rate', '50', '--size', '24-100'], async (o) => ((seen = o), fixtureResult()));
    expect(seen).toMatchObject({ kind: 'mm', host: '127.0.0.1', port: 7680, users: 3, rate: 50, size: { min: 24, max: 100 } });
    expect(typeof seen!.onProgress).toBe('function');
    expect(seen!.signal).toBeInstanceOf(AbortSignal);
  });

  it('on a TTY draws the progress line on stderr and erases it before the report', async () => {
    const out = await runInProcess(['relay', ...TARGET], async (o) => {
      o.onProgress!({ elapsedSec: 1, framesPerSec: 1000, p99Ms: 1.5 });
      return fixtureResult();
    }, true);
    expect(out.code).toBe(0);
    expect(out.writes).toEqual(['\r\u001b[Krelay 127.0.0.1:7680', '\r\u001b[Krelay 127.0.0.1:7680  1 s  1,000 frames/s  p99 1.50 ms', '\r\u001b[K']);
  });

  it('a failed run: one line, exit 1; a RangeError from the engine: a usage line, exit 2', async () => {
    const failed = await runInProcess(['relay', ...TARGET], async () => {
      throw new Error('cannot connect to the relay at 127.0.0.1:7680:\nconnection refused');
    });
    expect(failed).toMatchObject({ code: 1, stdout: '', stderr: 'gamewire bench: cannot connect to the relay at 127.0.0.1:7680: connection refused\n' });
    const misuse = await runInProcess(['relay', ...TARGET], async () => {
      throw new RangeError('bench: size must be at least 24 bytes, got 4');
    });
    expect(misuse).toMatchObject({ code: 2, stdout: '', stderr: 'gamewire bench: size must be at least 24 bytes, got 4; see gamewire bench --help\n' });
  });

  it.skipIf(!engineReady)(`an option past the engine's bounds: one line, exit 2${engineReady ? '' : ` [skipped: ${SKIP_REASON}]`}`, async () => {
    expectUsageError(await runInProcess(['relay', '--host', '127.0.0.1', '--port', '1', '--size', '4']), /size/);
  });
});

// ---- whole runs ----


describe.skipIf(!engineReady)(`gamewire bench against our Relay${engineReady ? '' : ` [skipped: ${SKIP_REASON}]`}`, () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function relay() {
    const { Relay, silentLogger } = await import('../../src/relay/index.js');
    const r = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger, maxConnectionsPerIp: 0 });
    cleanups.push(() => r.close());
    return r;
  }

  function tmp(): string {
    const dir = mkdtempSync(join(tmpdir(), 'gamewire-bench-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  const SHORT = ['--duration', '1', '--warmup', '0.2', '--drain-ms', '300', '--users', '2'];

  it('runs, prints the report, writes --json and --html; no progress line off a TTY', async () => {
    const r = await relay();
    const dir = tmp();
    const out = await bench(['relay', '--host', '127.0.0.1', '--port', String(r.port), ...SHORT, '--json', join(dir, 'r.json'), '--html', join(dir, 'r.html')]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^gamewire bench 127\\.0\\.0\\.1:${r.port}: relay users-to-owner, 1 joint × 2 users`));
    for (const title of ['Latency (ms)', 'Throughput', 'Delivery', 'Generator: ']) expect(out.stdout).toContain(title);
    const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(json.schema).toBe('gamewire-bench/1');
    expect(json.options).toMatchObject({ port: r.port, durationSec: 1, warmupSec: 0.2, users: 2 });
    expect(json.counts.delivered).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  it('--compare runs a, b, a, b and prints both side by side', async () => {
    const a = await relay();
    const b = await relay();
    const dir = tmp();
    const out = await bench([
      'relay', '--host', '127.0.0.1', '--port', String(a.port), '--duration', '0.5', '--warmup', '0.2', '--drain-ms', '300', '--users', '2',
      '--compare', `:${b.port}`, '--rounds', '1', '--json', join(dir, 'c.json'),
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`a 127.0.0.1:${a.port}`);
    expect(out.stdout).toContain(`b 127.0.0.1:${b.port}`);
    expect(out.stdout).toContain('b/a');
    const json = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8'));
    expect(json.schema).toBe('gamewire-bench-compare/1');
    expect(json.rounds.map((r: { target: string }) => r.target)).toEqual(['a', 'b']);
  });

  it('a target that is not there: one line, exit 1', async () => {
    // A port just freed: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const out = await bench(['relay', '--host', '127.0.0.1', '--port', String(port), ...SHORT, '--connect-timeout-ms', '2000']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(new RegExp(`^gamewire bench: .*127\\.0\\.0\\.1:${port}`));
  });

  it('Ctrl-C ends the measured period early and still reports', async () => {
    const r = await relay();
    const out = await bench(['relay', '--host', '127.0.0.1', '--port', String(r.port), '--duration', '30', '--warmup', '0', '--drain-ms', '300', '--users', '2'], (child) => {
      const poll = setInterval(() => {
        // The load has begun (warm-up 0: it is measured): let it run a little, then interrupt.
        if (r.stats().framesIn > 0) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGINT'), 500);
        }
      }, 20);
      child.once('close', () => clearInterval(poll));
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n')[0]).toMatch(/\(stopped after [\d.]+ s\)$/);
  });
});
