/**
 * Argument checks and helpers shared by Server and Client. Imports no Node built-in, so the
 * browser Client can use it too (server.ts cannot be imported there: it listens on sockets).
 */
import { TableCodec, type Table } from '../codec/table.js';
import { parseKey } from '../wire/key.js';
import { resolveSessionLimits, type SessionLimits, type SessionOptions } from '../wire/session.js';
import { describeType } from '../core/validate.js';
import { MmArgumentError } from './errors.js';
import { TIMER_MAX_MS, TIMER_MIN_MS } from './limits.js';

/**
 * @internal
 * @returns `address` when it is a non-empty string
 * @throws MmArgumentError GW_ERR_BAD_ADDRESS otherwise
 */
export function checkAddress(address: unknown): string {
  if (typeof address !== 'string' || address.length === 0) {
    throw new MmArgumentError('GW_ERR_BAD_ADDRESS', `address must be a non-empty string, got ${typeof address === 'string' ? "''" : typeof address}`);
  }
  return address;
}

/**
 * The names of the session options (limits) both Server and Client accept, taken from the
 * session's own defaults so the list cannot drift from `SessionOptions`.
 * @internal
 */
export const SESSION_OPTION_KEYS: readonly string[] = Object.keys(resolveSessionLimits());

/** The names of the queue options both Server and Client accept (`QueueOptions`). @internal */
export const QUEUE_OPTION_KEYS: readonly string[] = ['ownQueue', 'queue'];

/**
 * @internal
 * @returns `port` when it is an integer in 1..`max`
 * @throws MmArgumentError GW_ERR_BAD_PORT otherwise, saying what it got (`got a string ('4096')`)
 */
export function checkPort(port: unknown, max: number, min = 1): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > max) {
    const got = typeof port === 'number' ? String(port) : typeof port === 'string' ? `a string ('${port.slice(0, 20)}')` : describeType(port);
    throw new MmArgumentError('GW_ERR_BAD_PORT', `port must be an integer in ${min}..${max}, got ${got}`);
  }
  return port;
}

/**
 * @internal
 * @returns the key bytes, or null for no encryption (absent or '')
 * @throws MmArgumentError GW_ERR_BAD_KEY when it is not 32 or 64 hex digits
 */
export function checkKey(key: unknown): Uint8Array | null {
  const parsed = parseKey(key);
  if (typeof parsed === 'string') throw new MmArgumentError('GW_ERR_BAD_KEY', parsed);
  return parsed;
}

/**
 * @internal
 * @returns the session limits with defaults filled in
 * @throws MmArgumentError GW_ERR_BAD_OPTION on an out-of-range limit
 */
export function checkLimits(options: SessionOptions): SessionLimits {
  try {
    return resolveSessionLimits(options);
  } catch (err) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', (err as Error).message);
  }
}

/**
 * @internal
 * @param maxDepth deepest nesting accepted (default MAX_TABLE_DEPTH)
 * @throws MmArgumentError GW_ERR_BAD_OPTION on a bad depth
 */
export function makeCodec(maxDepth: number | undefined): TableCodec {
  try {
    return new TableCodec({ maxDepth });
  } catch (err) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', (err as Error).message);
  }
}

/** @internal timer period for the given limits (limits.ts TIMER_*) */
export function timerPeriod(limits: SessionLimits): number {
  const shortest = Math.min(limits.keepaliveIntervalMs, limits.keepaliveTimeoutMs, limits.handshakeTimeoutMs);
  return Math.max(TIMER_MIN_MS, Math.min(TIMER_MAX_MS, Math.floor(shortest / 4)));
}

/**
 * @internal Encode a table to send.
 * @throws TypeError when the table holds something outside the subset; RangeError when its
 *   encoding exceeds `maxMessageBytes`
 */
export function encodeTable(codec: TableCodec, table: Table, limits: SessionLimits): Uint8Array {
  const bytes = codec.encode(table);
  if (bytes.length > limits.maxMessageBytes) {
    throw new RangeError(`table encodes to ${bytes.length} bytes, above maxMessageBytes ${limits.maxMessageBytes}`);
  }
  return bytes;
}
