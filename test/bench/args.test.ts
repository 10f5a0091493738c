/**
 * The command line of `gamewire bench` (src/bench/args.ts): every flag lands on its BenchOptions
 * field, and each kind of mistake is refused with a message naming it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/exits-by-itself.js';
import {
  BENCH_USAGE,
  BenchUsageError,
  DEFAULT_COMPARE_ROUNDS_COUNT,
  MAX_COMPARE_ROUNDS_COUNT,
  MODES_BY_KIND,
  parseBenchArgs,
  parseSize,
  parseTarget,
  type BenchCommand,
} from '../../src/bench/args.js';

const TARGET = ['--host', '127.0.0.1', '--port', '7680'];

function parse(...args: string[]): BenchCommand {
  const parsed = parseBenchArgs(args);
  if (parsed.help) throw new Error('asked for help');
  return parsed;
}

function refusal(...args: string[]): string {
  try {
    parseBenchArgs(args);
  } catch (err) {
    expect(err).toBeInstanceOf(BenchUsageError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('parseBenchArgs', () => {
  it('reads the kind and target alone, leaving every default to the engine', () => {
    const c = parse('relay', ...TARGET);
    expect(c.options).toEqual({ kind: 'relay', host: '127.0.0.1', port: 7680 });
    expect(c).toMatchObject({ json: null, html: null, compare: null, rounds: DEFAULT_COMPARE_ROUNDS_COUNT, progress: true });
  });

  it('maps every flag onto its option', () => {
    const c = parse(
      'relay', ...TARGET, '--mode', 'echo', '--users', '20', '--joints', '3', '--size', '32-256', '--ws',
      '--window', '8', '--duration', '2.5', '--warmup', '0', '--drain-ms', '500', '--frame-timeout-ms', '1500',
      '--connect-timeout-ms', '3000', '--workers', '2', '--verify', 'stamp', '--json', 'out.json', '--html', 'out.html', '--no-progress',
    );
    expect(c.options).toEqual({
      kind: 'relay', host: '127.0.0.1', port: 7680, mode: 'echo', users: 20, joints: 3, size: { min: 32, max: 256 }, ws: true,
      window: 8, durationSec: 2.5, warmupSec: 0, drainMs: 500, frameTimeoutMs: 1500, connectTimeoutMs: 3000, workers: 2,
      verify: 'stamp',
    });
    expect(c).toMatchObject({ json: 'out.json', html: 'out.html', progress: false });
  });

  it('reads --rate for an open loop, --key for mm, and --flag=value', () => {
    expect(parse('udp', ...TARGET, '--rate=250.5').options.rate).toBe(250.5);
    const key = 'ab'.repeat(16);
    expect(parse('mm', ...TARGET, `--key=${key}`, '--mode=broadcast').options).toMatchObject({ key, mode: 'broadcast' });
    expect(parse('mm', ...TARGET, '--key', 'AB'.repeat(32)).options.key).toBe('AB'.repeat(32));
    expect(parse('udp', ...TARGET, '--token', 's3cret').options.token).toBe('s3cret');
  });

  it('refuses a --verify other than full or stamp', () => {
    expect(refusal('relay', ...TARGET, '--verify', 'none')).toBe("--verify must be full or stamp, got 'none'");
  });

  it('takes the kind anywhere among the flags', () => {
    expect(parse(...TARGET, 'events').options.kind).toBe('events');
  });

  it('reads --compare and --rounds; :port means the same host', () => {
    expect(parse('relay', ...TARGET, '--compare', '10.0.0.2:7681').compare).toEqual({ host: '10.0.0.2', port: 7681 });
    expect(parse('relay', ...TARGET, '--compare', ':7681', '--rounds', '5')).toMatchObject({ compare: { host: '127.0.0.1', port: 7681 }, rounds: 5 });
  });

  it('-h or --help anywhere asks for help, whatever else is wrong', () => {
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
    expect(parseBenchArgs(['nonsense', '--bogus', '-h'])).toEqual({ help: true });
  });

  it('accepts every mode of each kind', () => {
    for (const [kind, modes] of Object.entries(MODES_BY_KIND)) {
      for (const mode of modes) expect(parse(kind, ...TARGET, '--mode', mode).options.mode).toBe(mode);
    }
  });

  // The engine keeps its own table (resolve.ts); the two must not drift.
  it.skipIf(!existsSync(join(ROOT, 'src/bench/resolve.ts')))('knows the same modes per kind as the engine', async () => {
    const engine = (await import('../../src/bench/resolve.js')) as unknown as { MODES_BY_KIND: unknown };
    expect(MODES_BY_KIND).toEqual(engine.MODES_BY_KIND);
  });

  it('the help names every flag it reads', () => {
    for (const flag of ['--host', '--port', '--mode', '--users', '--joints', '--size', '--ws', '--key', '--window', '--rate',
      '--duration', '--warmup', '--drain-ms', '--frame-timeout-ms', '--connect-timeout-ms', '--workers', '--verify', '--json', '--html',
      '--compare', '--rounds', '--no-progress', '--help']) {
      expect(BENCH_USAGE).toContain(flag);
    }
  });
});

describe('docs/bench.md', () => {
  it('documents every flag of the help, and every mode', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'bench.md'), 'utf8');
    const flags = [...new Set(BENCH_USAGE.match(/--[a-z][a-z-]*/g))];
    expect(flags.length).toBeGreaterThan(20);
    expect(flags.filter((f) => !doc.includes(`\`${f}`))).toEqual([]);
    const modes = [...new Set(Object.values(MODES_BY_KIND).flat())];
    expect(modes.filter((m) => !doc.includes(`\`${m}\``))).toEqual([]);
  });
});

describe('parseBenchArgs refuses', () => {
  it('an unknown flag', () => {
    expect(refusal('relay', ...TARGET, '--bogus')).toBe('unknown option --bogus');
    expect(refusal('relay', ...TARGET, '--users=3', '--usres=4')).toBe('unknown option --usres');
  });

  it('a flag without its value, also when the next word is a flag', () => {
    expect(refusal('relay', ...TARGET, '--users')).toBe('--users needs a value');
    expect(refusal('relay', '--host', '--port', '7680')).toBe('--host needs a value');
    expect(refusal('relay', ...TARGET, '--json=')).toBe('--json needs a value');
  });

  it('a value that is not a number of the right kind', () => {
    expect(refusal('relay', ...TARGET, '--users', 'ten')).toBe("--users needs a whole number ≥ 1, got 'ten'");
    expect(refusal('relay', ...TARGET, '--users', '0')).toBe("--users needs a whole number ≥ 1, got '0'");
    expect(refusal('relay', ...TARGET, '--users', '2.5')).toBe("--users needs a whole number ≥ 1, got '2.5'");
    expect(refusal('relay', ...TARGET, '--duration', '-1')).toBe("--duration needs a number > 0, got '-1'");
    expect(refusal('relay', ...TARGET, '--warmup', '1s')).toBe("--warmup needs a number ≥ 0, got '1s'");
    expect(refusal('relay', ...TARGET, '--rate', 'Infinity')).toBe("--rate needs a number > 0, got 'Infinity'");
    expect(refusal('relay', '--host', 'h', '--port', '0x10')).toBe("--port needs a whole number, got '0x10'");
    expect(refusal('relay', '--host', 'h', '--port', '70000')).toBe('--port must be 1-65535, got 70000');
  });

  it('a missing or unknown kind, or two', () => {
    expect(refusal(...TARGET)).toBe('missing the protocol to load: relay, mm, udp, events');
    expect(refusal('http', ...TARGET)).toBe("unknown protocol 'http' (one of relay, mm, udp, events)");
    expect(refusal('relay', 'mm', ...TARGET)).toBe("one protocol only, got 'relay' and 'mm'");
  });

  it('a missing target', () => {
    expect(refusal('relay', '--port', '1')).toBe('missing --host');
    expect(refusal('relay', '--host', 'h')).toBe('missing --port');
  });

  it('a mode or flag that does not fit the kind', () => {
    expect(refusal('udp', ...TARGET, '--mode', 'broadcast')).toBe('--mode broadcast does not fit udp (c2s, echo)');
    expect(refusal('relay', ...TARGET, '--mode', 'c2s')).toBe('--mode c2s does not fit relay (users-to-owner, broadcast, echo)');
    expect(refusal('mm', ...TARGET, '--ws')).toBe('--ws applies to relay only, not mm');
    expect(refusal('udp', ...TARGET, '--joints', '2')).toBe('--joints applies to relay only, not udp');
    expect(refusal('relay', ...TARGET, '--key', 'ab'.repeat(16))).toBe('--key applies to mm only, not relay');
    expect(refusal('mm', ...TARGET, '--token', 'x')).toBe('--token applies to udp only, not mm');
  });

  it('--window with --rate', () => {
    expect(refusal('relay', ...TARGET, '--window', '4', '--rate', '100')).toBe('--window (closed loop) and --rate (open loop) exclude each other');
  });

  it('a bad --key, --size or --compare', () => {
    expect(refusal('mm', ...TARGET, '--key', 'abc')).toBe('--key needs 32 or 64 hex digits');
    expect(refusal('mm', ...TARGET, '--key', 'zz'.repeat(16))).toBe('--key needs 32 or 64 hex digits');
    expect(refusal('relay', ...TARGET, '--size', 'big')).toBe("--size needs bytes as N or N-M, got 'big'");
    expect(refusal('relay', ...TARGET, '--size', '100-50')).toBe('--size 100-50: the range ends below its start');
    expect(refusal('relay', ...TARGET, '--compare', 'host')).toBe("--compare needs host:port, got 'host'");
    expect(refusal('relay', ...TARGET, '--compare', 'h:0')).toBe('--compare port must be 1-65535, got 0');
  });

  it('--rounds without --compare, or past its bound', () => {
    expect(refusal('relay', ...TARGET, '--rounds', '2')).toBe('--rounds needs --compare');
    expect(refusal('relay', ...TARGET, '--compare', ':1', '--rounds', String(MAX_COMPARE_ROUNDS_COUNT + 1))).toBe(
      `--rounds must be at most ${MAX_COMPARE_ROUNDS_COUNT}, got ${MAX_COMPARE_ROUNDS_COUNT + 1}`,
    );
  });

  it('a flag given twice, or a value on a switch', () => {
    expect(refusal('relay', ...TARGET, '--users', '1', '--users', '2')).toBe('--users is given twice');
    expect(refusal('relay', ...TARGET, '--ws=yes')).toBe('--ws takes no value');
  });
});

describe('parseSize and parseTarget', () => {
  it('reads sizes and ranges; N-N is N', () => {
    expect(parseSize('64')).toBe(64);
    expect(parseSize('24-1400')).toEqual({ min: 24, max: 1400 });
    expect(parseSize('100-100')).toBe(100);
  });
  it('reads IPv6 targets in brackets', () => {
    expect(parseTarget('[::1]:7681', 'x')).toEqual({ host: '::1', port: 7681 });
    expect(parseTarget('example.org:80', 'x')).toEqual({ host: 'example.org', port: 80 });
  });
});
