/**
 * The command line of `gamewire bench` (docs/bench.md): `gamewire bench <kind> --host H --port P
 * [options]` read into the BenchOptions of the API, plus what only the CLI does (output files,
 * `--compare`, the progress line).
 *
 * This checks what a command line can get wrong on its own: flags, values that are not numbers,
 * a mode or flag that does not fit the kind, flags that exclude each other. The bounds of each
 * option (most users, longest duration, smallest size...) are checked once, by the engine's
 * resolveOptions, whose RangeError the CLI reports the same way (exit 2).
 */
import { DEFAULT_COMPARE_ROUNDS_COUNT, MAX_COMPARE_ROUNDS_COUNT } from './compare.js';
import { STAMP_VERIFY_MODES, type StampVerify } from './stamp.js';
import type { BenchKind, BenchMode, BenchOptions, BenchTarget, SizeRange } from './types.js';

export { DEFAULT_COMPARE_ROUNDS_COUNT, MAX_COMPARE_ROUNDS_COUNT };

/** The kinds, in the order the help lists them. */
export const BENCH_KINDS: readonly BenchKind[] = ['relay', 'mm', 'udp', 'events'];

/** The modes each kind supports; the first is its default (types.ts BenchOptions.mode). */
export const MODES_BY_KIND: Readonly<Record<BenchKind, readonly BenchMode[]>> = {
  relay: ['users-to-owner', 'broadcast', 'echo'],
  mm: ['c2s', 'broadcast', 'echo'],
  udp: ['c2s', 'echo'],
  events: ['event'],
};

/** Flags that only mean something for one kind. */
const FLAG_KIND: Readonly<Record<string, BenchKind>> = {
  '--joints': 'relay',
  '--ws': 'relay',
  '--key': 'mm',
  '--token': 'udp',
};

/** What `gamewire bench` was asked to do. */
export interface BenchCommand {
  /** The options of the run (of each round with `--compare`). */
  readonly options: BenchOptions;
  /** `--json`: where to write the result, or null. */
  readonly json: string | null;
  /** `--html`: where to write the page, or null. */
  readonly html: string | null;
  /** `--compare`: the second target, or null. */
  readonly compare: BenchTarget | null;
  /** `--rounds`: runs per target with `--compare`. */
  readonly rounds: number;
  /** False with `--no-progress`. The line is drawn only on a TTY anyway. */
  readonly progress: boolean;
}

/** What the command line asked for: help, or a run. */
export type ParsedBenchArgs = { readonly help: true } | ({ readonly help: false } & BenchCommand);

/** A bad command line; the message says what is wrong, in one line. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export const BENCH_USAGE = `usage: gamewire bench <relay|mm|udp|events> --host <addr> --port <n> [options]

Loads a game server and reports its throughput and latency (docs/bench.md).

target:
  --host <addr>          the server's address (required)
  --port <n>             the server's port (required)
  --ws                   relay: connect over WebSocket instead of raw TCP
  --key <hex>            mm: the server's key, 32 or 64 hex digits (AES-GCM)
  --token <text>         udp: the UdpPipe handshake token (default UdpPipe's)

traffic:
  --mode <mode>          relay: users-to-owner (default) | broadcast | echo
                         mm: c2s (default) | broadcast | echo
                         udp: c2s (default) | echo
                         events: event (default)
  --users <n>            sending clients (relay: users per joint; default 10)
  --joints <n>           relay: joints (rooms) loaded at once (default 1)
  --size <n> | <n>-<m>   payload bytes per frame, or a range drawn uniformly (default 64; at least 24)

load (closed loop by default):
  --window <n>           closed loop: frames in flight per sender (default 16)
  --rate <n>             open loop: frames per second per sender; latency counts from the
                         intended send time (not with --window)
  --duration <s>         measured seconds (default 10)
  --warmup <s>           seconds of load before measuring (default 1)
  --drain-ms <n>         after the measured period, how long late frames may arrive (default 2000)
  --frame-timeout-ms <n> a frame not delivered this long after it was sent is lost (default 5000)
  --connect-timeout-ms <n> give up connecting after this long (default 10000)
  --workers <n>          worker threads to spread the connections over (default 0)
  --verify <what>        what each payload's checksum covers: full (default, every byte) |
                         stamp (the stamp and a sample of the filler: cheaper, weaker)

output:
  --json <file>          write the whole result as JSON (docs/bench-result.schema.json)
  --html <file>          write a self-contained page with charts
  --no-progress          no live progress line (there is none unless stderr is a TTY)

compare:
  --compare <host:port>  run the same load against this second target too, alternately
                         (a, b, a, b ...); ':<port>' means the same host
  --rounds <n>           rounds per target with --compare (default ${DEFAULT_COMPARE_ROUNDS_COUNT})

  -h, --help             show this help

exit codes: 0 done, 1 the run failed (cannot connect, cannot write a file), 2 bad arguments.
`;

/** Flags that take a value, and how the value is read. */
type Reader = 'string' | 'int' | 'positive-int' | 'number' | 'positive-number';

const VALUE_FLAGS: Readonly<Record<string, Reader>> = {
  '--host': 'string',
  '--port': 'int',
  '--mode': 'string',
  '--users': 'positive-int',
  '--joints': 'positive-int',
  '--size': 'string',
  '--key': 'string',
  '--token': 'string',
  '--window': 'positive-int',
  '--rate': 'positive-number',
  '--duration': 'positive-number',
  '--warmup': 'number',
  '--drain-ms': 'number',
  '--frame-timeout-ms': 'positive-number',
  '--connect-timeout-ms': 'positive-number',
  '--workers': 'int',
  '--verify': 'string',
  '--json': 'string',
  '--html': 'string',
  '--compare': 'string',
  '--rounds': 'positive-int',
};

const SWITCHES = new Set(['--ws', '--no-progress']);

const INTEGER = /^[+]?\d+$/;
const DECIMAL = /^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function readValue(flag: string, text: string, reader: Reader): string | number {
  if (reader === 'string') {
    if (text === '') throw new BenchUsageError(`${flag} needs a value`);
    return text;
  }
  const integral = reader === 'int' || reader === 'positive-int';
  const positive = reader === 'positive-int' || reader === 'positive-number';
  const wanted = integral ? (positive ? 'a whole number ≥ 1' : 'a whole number') : positive ? 'a number > 0' : 'a number ≥ 0';
  const n = Number(text);
  if (!(integral ? INTEGER : DECIMAL).test(text.trim()) || !Number.isFinite(n) || (positive && n <= 0)) {
    throw new BenchUsageError(`${flag} needs ${wanted}, got '${text}'`);
  }
  return n;
}

/**
 * `N` or `N-M` bytes.
 * @throws BenchUsageError when it is neither, or M < N.
 */
export function parseSize(text: string): number | SizeRange {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new BenchUsageError(`--size needs bytes as N or N-M, got '${text}'`);
  const min = Number(m[1]);
  if (m[2] === undefined) return min;
  const max = Number(m[2]);
  if (max < min) throw new BenchUsageError(`--size ${text}: the range ends below its start`);
  return min === max ? min : { min, max };
}

/**
 * `host:port`, `[v6]:port` or `:port` (the host of `--host`).
 * @throws BenchUsageError when the port is missing or not a port number.
 */
export function parseTarget(text: string, defaultHost: string): BenchTarget {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text.trim());
  if (!m) throw new BenchUsageError(`--compare needs host:port, got '${text}'`);
  const host = m[1] ?? (m[2] === '' ? defaultHost : m[2]!);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new BenchUsageError(`--compare port must be 1-65535, got ${m[3]}`);
  return { host, port };
}

/**
 * Read the arguments after `gamewire bench`. `--flag=value` works as `--flag value`; `-h` or
 * `--help` anywhere asks for help whatever else is there.
 * @throws BenchUsageError naming what is wrong (the CLI prints it in one line and exits 2).
 */
export function parseBenchArgs(argv: readonly string[]): ParsedBenchArgs {
  if (argv.some((a) => a === '-h' || a === '--help')) return { help: true };
  const values = new Map<string, string | number | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    if (values.has(flag)) throw new BenchUsageError(`${flag} is given twice`);
    if (SWITCHES.has(flag)) {
      if (inline !== undefined) throw new BenchUsageError(`${flag} takes no value`);
      values.set(flag, true);
      continue;
    }
    const reader = VALUE_FLAGS[flag];
    if (reader === undefined) throw new BenchUsageError(`unknown option ${flag}`);
    let text = inline;
    if (text === undefined) {
      const next = argv[i + 1];
      // A flag as the value (`--port --users 5`) is a forgotten value, not a host named --users.
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new BenchUsageError(`${flag} needs a value`);
      text = next;
      i++;
    }
    values.set(flag, readValue(flag, text, reader));
  }

  if (positional.length === 0) throw new BenchUsageError(`missing the protocol to load: ${BENCH_KINDS.join(', ')}`);
  if (positional.length > 1) throw new BenchUsageError(`one protocol only, got ${positional.map((p) => `'${p}'`).join(' and ')}`);
  const kind = positional[0] as BenchKind;
  if (!BENCH_KINDS.includes(kind)) throw new BenchUsageError(`unknown protocol '${positional[0]}' (one of ${BENCH_KINDS.join(', ')})`);

  for (const [flag, only] of Object.entries(FLAG_KIND)) {
    if (values.has(flag) && only !== kind) throw new BenchUsageError(`${flag} applies to ${only} only, not ${kind}`);
  }

  const host = values.get('--host') as string | undefined;
  if (host === undefined) throw new BenchUsageError('missing --host');
  const port = values.get('--port') as number | undefined;
  if (port === undefined) throw new BenchUsageError('missing --port');
  if (port < 1 || port > 65535) throw new BenchUsageError(`--port must be 1-65535, got ${port}`);

  const mode = values.get('--mode') as string | undefined;
  if (mode !== undefined && !MODES_BY_KIND[kind].includes(mode as BenchMode)) {
    throw new BenchUsageError(`--mode ${mode} does not fit ${kind} (${MODES_BY_KIND[kind].join(', ')})`);
  }
  if (values.has('--window') && values.has('--rate')) {
    throw new BenchUsageError('--window (closed loop) and --rate (open loop) exclude each other');
  }
  const key = values.get('--key') as string | undefined;
  if (key !== undefined && !/^(?:[0-9a-f]{32}|[0-9a-f]{64})$/i.test(key)) {
    throw new BenchUsageError('--key needs 32 or 64 hex digits');
  }
  const workers = values.get('--workers') as number | undefined;
  const verify = values.get('--verify') as string | undefined;
  if (verify !== undefined && !STAMP_VERIFY_MODES.includes(verify as StampVerify)) {
    throw new BenchUsageError(`--verify must be ${STAMP_VERIFY_MODES.join(' or ')}, got '${verify}'`);
  }
  const compare = values.get('--compare') as string | undefined;
  if (values.has('--rounds') && compare === undefined) throw new BenchUsageError('--rounds needs --compare');
  const rounds = (values.get('--rounds') as number | undefined) ?? DEFAULT_COMPARE_ROUNDS_COUNT;
  if (rounds > MAX_COMPARE_ROUNDS_COUNT) throw new BenchUsageError(`--rounds must be at most ${MAX_COMPARE_ROUNDS_COUNT}, got ${rounds}`);
  const size = values.get('--size') as string | undefined;

  const num = (flag: string) => values.get(flag) as number | undefined;
  const options: BenchOptions = {
    kind,
    host,
    port,
    ...(mode !== undefined && { mode: mode as BenchMode }),
    ...(num('--users') !== undefined && { users: num('--users') }),
    ...(num('--joints') !== undefined && { joints: num('--joints') }),
    ...(size !== undefined && { size: parseSize(size) }),
    ...(values.has('--ws') && { ws: true }),
    ...(key !== undefined && { key }),
    ...(values.has('--token') && { token: values.get('--token') as string }),
    ...(num('--window') !== undefined && { window: num('--window') }),
    ...(num('--rate') !== undefined && { rate: num('--rate') }),
    ...(num('--duration') !== undefined && { durationSec: num('--duration') }),
    ...(num('--warmup') !== undefined && { warmupSec: num('--warmup') }),
    ...(num('--drain-ms') !== undefined && { drainMs: num('--drain-ms') }),
    ...(num('--frame-timeout-ms') !== undefined && { frameTimeoutMs: num('--frame-timeout-ms') }),
    ...(num('--connect-timeout-ms') !== undefined && { connectTimeoutMs: num('--connect-timeout-ms') }),
    ...(workers !== undefined && { workers }),
    ...(verify !== undefined && { verify: verify as StampVerify }),
  };
  return {
    help: false,
    options,
    json: (values.get('--json') as string | undefined) ?? null,
    html: (values.get('--html') as string | undefined) ?? null,
    compare: compare === undefined ? null : parseTarget(compare, host),
    rounds,
    progress: !values.has('--no-progress'),
  };
}
