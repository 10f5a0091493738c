/**
 * BenchOptions to ResolvedBenchOptions: every default applied (limits.ts), every option checked.
 * Misuse throws at once (STYLE.md §4): a GamewireTypeError for a wrong type, a GamewireRangeError
 * for a value out of its range, each naming the option and its bound.
 */
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError, GamewireTypeError } from '../core/errors.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DRAIN_MS,
  DEFAULT_DURATION_SEC,
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_JOINTS_COUNT,
  DEFAULT_SIZE_BYTES,
  DEFAULT_USERS_COUNT,
  DEFAULT_WARMUP_SEC,
  DEFAULT_WINDOW_COUNT,
  DEFAULT_WORKERS_COUNT,
  MAX_CONNECT_TIMEOUT_MS,
  MAX_DRAIN_MS,
  MAX_DURATION_SEC,
  MAX_FRAME_TIMEOUT_MS,
  MAX_IN_FLIGHT_COUNT,
  MAX_JOINTS_COUNT,
  MAX_RATE_PER_SEC,
  MAX_SIZE_BYTES,
  MAX_TALLY_ENTRIES_COUNT,
  MAX_USERS_COUNT,
  MAX_WARMUP_SEC,
  MAX_WORKERS_COUNT,
} from './limits.js';
import { STAMP_BYTES, STAMP_VERIFY_MODES, type StampVerify } from './stamp.js';
import type { BenchKind, BenchMode, BenchOptions, ResolvedBenchOptions, SizeRange } from './types.js';

/** The modes of each kind; the first is the default. */
export const MODES_BY_KIND: Readonly<Record<BenchKind, readonly BenchMode[]>> = {
  relay: ['users-to-owner', 'broadcast', 'echo'],
  mm: ['c2s', 'broadcast', 'echo'],
  udp: ['c2s', 'echo'],
  events: ['event'],
};

const KNOWN_OPTIONS = new Set<string>([
  'kind', 'host', 'port', 'mode', 'users', 'joints', 'size', 'ws', 'key', 'token', 'window', 'rate', 'durationSec',
  'warmupSec', 'drainMs', 'frameTimeoutMs', 'workers', 'connectTimeoutMs', 'verify', 'onProgress', 'signal',
]);

const { BadOption, BadAddress, BadPort, BadKey } = GamewireErrorCode;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new GamewireTypeError(BadOption, `bench: ${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GamewireRangeError(BadOption, `bench: ${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number in (min, max] when `exclusiveMin`, else [min, max]. */
function real(name: string, value: unknown, fallback: number, min: number, max: number, exclusiveMin: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new GamewireTypeError(BadOption, `bench: ${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value) || (exclusiveMin ? value <= min : value < min) || value > max) {
    const lower = exclusiveMin ? `more than ${min}` : `at least ${min}`;
    throw new GamewireRangeError(BadOption, `bench: ${name} must be ${lower} and at most ${max}, got ${describe(value)}`);
  }
  return value;
}

function boolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new GamewireTypeError(BadOption, `bench: ${name} must be a boolean, got ${typeof value}`);
  return value;
}

function verify(value: unknown): StampVerify {
  if (value === undefined) return STAMP_VERIFY_MODES[0]!;
  if (typeof value !== 'string') throw new GamewireTypeError(BadOption, `bench: verify must be a string, got ${typeof value}`);
  if (!STAMP_VERIFY_MODES.includes(value as StampVerify)) {
    throw new GamewireRangeError(BadOption, `bench: verify must be one of ${STAMP_VERIFY_MODES.join(', ')}, got ${describe(value)}`);
  }
  return value as StampVerify;
}

function size(value: unknown): SizeRange {
  if (value === undefined) return { min: DEFAULT_SIZE_BYTES, max: DEFAULT_SIZE_BYTES };
  if (typeof value === 'number') {
    const n = integer('size', value, DEFAULT_SIZE_BYTES, STAMP_BYTES, MAX_SIZE_BYTES);
    return { min: n, max: n };
  }
  if (typeof value !== 'object' || value === null) {
    throw new GamewireTypeError(BadOption, `bench: size must be a number or { min, max }, got ${describe(value)}`);
  }
  const range = value as Partial<SizeRange>;
  if (range.min === undefined || range.max === undefined) {
    throw new GamewireTypeError(BadOption, 'bench: size must be a number or { min, max } with both set');
  }
  const min = integer('size.min', range.min, DEFAULT_SIZE_BYTES, STAMP_BYTES, MAX_SIZE_BYTES);
  const max = integer('size.max', range.max, DEFAULT_SIZE_BYTES, STAMP_BYTES, MAX_SIZE_BYTES);
  if (min > max) throw new GamewireRangeError(BadOption, `bench: size.min (${min}) must not exceed size.max (${max})`);
  return { min, max };
}

/**
 * Applies the defaults of BenchOptions and checks every option.
 * @param options the run's options (BenchOptions: kind, host and port required)
 * @returns the resolved options (what a BenchResult records)
 * @throws GamewireTypeError for an option of the wrong type or an unknown option, naming it
 * @throws GamewireRangeError for an option out of its range (STAMP_BYTES <= size, users >= 1,
 *   a mode that the kind does not have, an option another kind's only...), naming it and its bound
 */
export function resolveOptions(options: BenchOptions): ResolvedBenchOptions {
  if (typeof options !== 'object' || options === null) {
    throw new GamewireTypeError(BadOption, `bench: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new GamewireTypeError(BadOption, `bench: unknown option ${JSON.stringify(key)}`);
  }
  const o = options as unknown as Record<string, unknown>;
  const kind = o.kind;
  if (typeof kind !== 'string') throw new GamewireTypeError(BadOption, `bench: kind must be a string, got ${typeof kind}`);
  if (!Object.hasOwn(MODES_BY_KIND, kind)) {
    throw new GamewireRangeError(BadOption, `bench: kind must be one of ${Object.keys(MODES_BY_KIND).join(', ')}, got ${describe(kind)}`);
  }
  const modes = MODES_BY_KIND[kind as BenchKind];
  let mode = modes[0]!;
  if (o.mode !== undefined) {
    if (typeof o.mode !== 'string') throw new GamewireTypeError(BadOption, `bench: mode must be a string, got ${typeof o.mode}`);
    if (!modes.includes(o.mode as BenchMode)) {
      throw new GamewireRangeError(BadOption, `bench: mode of ${kind} must be one of ${modes.join(', ')}, got ${describe(o.mode)}`);
    }
    mode = o.mode as BenchMode;
  }
  if (typeof o.host !== 'string') throw new GamewireTypeError(BadAddress, `bench: host must be a string, got ${typeof o.host}`);
  if (o.host.length === 0) throw new GamewireRangeError(BadAddress, 'bench: host must not be empty');
  if (typeof o.port !== 'number') throw new GamewireTypeError(BadPort, `bench: port must be a number, got ${typeof o.port}`);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new GamewireRangeError(BadPort, `bench: port must be an integer from 1 to 65535, got ${describe(o.port)}`);
  }
  const joints = integer('joints', o.joints, DEFAULT_JOINTS_COUNT, 1, MAX_JOINTS_COUNT);
  if (joints !== 1 && kind !== 'relay') throw new GamewireRangeError(BadOption, `bench: joints is for kind relay only (kind is ${kind})`);
  const ws = boolean('ws', o.ws);
  if (ws && kind !== 'relay') throw new GamewireRangeError(BadOption, `bench: ws is for kind relay only (kind is ${kind})`);
  let key: string | null = null;
  if (o.key !== undefined) {
    if (typeof o.key !== 'string') throw new GamewireTypeError(BadKey, `bench: key must be a string, got ${typeof o.key}`);
    if (!/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(o.key)) {
      throw new GamewireRangeError(BadKey, 'bench: key must be 32 or 64 hex digits (an AES-128 or AES-256 key)');
    }
    if (kind !== 'mm') throw new GamewireRangeError(BadKey, `bench: key is for kind mm only (kind is ${kind})`);
    key = o.key;
  }
  let token: string | null = null;
  if (o.token !== undefined) {
    if (typeof o.token !== 'string') throw new GamewireTypeError(BadOption, `bench: token must be a string, got ${typeof o.token}`);
    if (!/^[\x21-\x7e]{1,64}$/.test(o.token)) {
      throw new GamewireRangeError(BadOption, 'bench: token must be 1-64 printable ASCII characters without spaces (a UdpPipe token)');
    }
    if (kind !== 'udp') throw new GamewireRangeError(BadOption, `bench: token is for kind udp only (kind is ${kind})`);
    token = o.token;
  }
  const rate = o.rate === undefined ? null : real('rate', o.rate, 0, 0, MAX_RATE_PER_SEC, true);
  const window = integer('window', o.window, DEFAULT_WINDOW_COUNT, 1, MAX_IN_FLIGHT_COUNT);
  const users = integer('users', o.users, DEFAULT_USERS_COUNT, 1, MAX_USERS_COUNT);
  if (rate === null && window * users * joints > MAX_TALLY_ENTRIES_COUNT) {
    throw new GamewireRangeError(
      BadOption,
      `bench: window x users x joints must be at most ${MAX_TALLY_ENTRIES_COUNT} frames in flight, got ${window} x ${users} x ${joints}`,
    );
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new GamewireTypeError(BadOption, `bench: onProgress must be a function, got ${typeof o.onProgress}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new GamewireTypeError(BadOption, 'bench: signal must be an AbortSignal');
  }
  return {
    kind: kind as BenchKind,
    host: o.host,
    port: o.port,
    mode,
    users,
    joints,
    size: size(o.size),
    ws,
    key,
    token,
    window: rate === null ? window : null,
    rate,
    durationSec: real('durationSec', o.durationSec, DEFAULT_DURATION_SEC, 0, MAX_DURATION_SEC, true),
    warmupSec: real('warmupSec', o.warmupSec, DEFAULT_WARMUP_SEC, 0, MAX_WARMUP_SEC, false),
    drainMs: real('drainMs', o.drainMs, DEFAULT_DRAIN_MS, 0, MAX_DRAIN_MS, false),
    frameTimeoutMs: real('frameTimeoutMs', o.frameTimeoutMs, DEFAULT_FRAME_TIMEOUT_MS, 0, MAX_FRAME_TIMEOUT_MS, true),
    workers: integer('workers', o.workers, DEFAULT_WORKERS_COUNT, 0, MAX_WORKERS_COUNT),
    connectTimeoutMs: real('connectTimeoutMs', o.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 0, MAX_CONNECT_TIMEOUT_MS, true),
    verify: verify(o.verify),
  };
}
