/**
 * Options of `UdpPipe`: every value udpipe.md §6 leaves open, with the defaults of limits.ts.
 */
import { rejectUnknownOptions } from '../core/validate.js';
import * as L from './limits.js';

/** A sink for one verbose log line. */
export type UdpLog = (line: string) => void;

/** Options of `new UdpPipe(options)`. Every field is optional. */
export interface UdpPipeOptions {
  /**
   * `'loop'` (default): callbacks fire from Node's event loop as datagrams arrive, timers run on
   * an internal interval. `'step'`: datagrams wait in a bounded inbox and nothing happens until
   * you call `step()`, as in the original (udpipe.md §4).
   */
  mode?: 'loop' | 'step';
  /** Shared handshake token, default DEFAULT_TOKEN; same as `setToken()`. */
  token?: string;
  /** `'udp4'` (default) or `'udp6'`. */
  type?: 'udp4' | 'udp6';
  /** Keepalive period per direction (ms), default PING_INTERVAL_MS. */
  pingIntervalMs?: number;
  /** No PONG for this long stalls a session (ms), default STALL_AFTER_MS (scaled with pingIntervalMs: 3.5 intervals); must exceed pingIntervalMs. */
  stallAfterMs?: number;
  /** No PONG for this long ends a session (ms), default DISCONNECT_AFTER_MS (scaled: 10 intervals); must be ≥ stallAfterMs. */
  disconnectAfterMs?: number;
  /**
   * Send PINGs on the timer (default true). With false, only `ping()` sends them: call it more
   * often than `stallAfterMs`, or the session stalls and then times out for want of PONGs.
   */
  autoPing?: boolean;
  /** Sessions a server holds (count), default MAX_CLIENTS_COUNT. */
  maxClients?: number;
  /** Messages queued per stalled session (count), default MAX_QUEUE_COUNT. */
  maxQueueCount?: number;
  /** Bytes queued per stalled session (bytes), default MAX_QUEUE_BYTES; must be ≥ maxDatagramBytes. */
  maxQueueBytes?: number;
  /** Largest datagram sent or accepted (bytes), default MAX_DATAGRAM_BYTES (1200). */
  maxDatagramBytes?: number;
  /** Resend interval of HELLO / CONNECT / CLOSE (ms), default HANDSHAKE_RETRY_MS. */
  handshakeRetryMs?: number;
  /** Resends after the first HELLO / CONNECT / CLOSE (count), default HANDSHAKE_RETRIES. */
  handshakeRetries?: number;
  /** Whole-handshake deadline (ms), default HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
  /** Half-open handshakes a server holds (count), default MAX_HALF_OPEN_COUNT. */
  maxHalfOpen?: number;
  /** HELLOs accepted per source IP per second (count), default HELLO_RATE_PER_SECOND. */
  helloRatePerSecond?: number;
  /** Source IPs tracked by the HELLO rate limit (count), default MAX_RATE_ENTRIES_COUNT. */
  maxRateEntries?: number;
  /** Size our client pads HELLO to (bytes), default HELLO_PAD_BYTES. */
  helloPadBytes?: number;
  /** Datagrams waiting for `step()` in step mode (count), default MAX_INBOX_COUNT. */
  maxInboxCount?: number;
  /** Payload bytes waiting for `step()` in step mode (bytes), default MAX_INBOX_BYTES (4 MiB); must be ≥ maxDatagramBytes. */
  maxInboxBytes?: number;
  /** Internal timer period in loop mode (ms); default min(pingIntervalMs, handshakeRetryMs) / 4 within [MIN_TICK_MS, MAX_TICK_MS]. */
  tickMs?: number;
  /**
   * Extension (default false): refuse with `GO AWAY! TOKEN` / `GO AWAY! FULL` so the client can
   * fire `onBadToken` / `onMaxClients` too. Not understood by the original UDPIPE, whose clients
   * see an unknown reply. Either way the server fires the matching callback.
   */
  refusalReasons?: boolean;
  /**
   * Never send a reply larger than the datagram that caused it (default true), so the server
   * cannot amplify a spoofed flood. Our client pads its requests; a bare 7-byte `CONNECT` or a
   * short `HELLO` from another implementation then gets no answer. Set false to answer them.
   */
  strictReplySize?: boolean;
  /**
   * IP announced in `CONNECT <ip> <port>`. Default: the address `start()` bound, or, for a
   * wildcard bind, the first external IPv4 (IPv6) address of the machine, else loopback.
   */
  publicAddress?: string;
  /**
   * Log every protocol step: `true` logs to stderr, a function receives each line. Default: on
   * when the environment has UDPIPEVERBOSE=1 (the original's verbose module) or DEBUG mentions
   * `gamewire:udp`.
   */
  verbose?: boolean | UdpLog;
}

/** Every option name `new UdpPipe(options)` accepts; any other is a TypeError (a typo is not ignored). */
export const UDP_PIPE_OPTIONS: readonly (keyof UdpPipeOptions)[] = [
  'mode', 'token', 'type', 'pingIntervalMs', 'stallAfterMs', 'disconnectAfterMs', 'autoPing', 'maxClients',
  'maxQueueCount', 'maxQueueBytes', 'maxDatagramBytes', 'handshakeRetryMs', 'handshakeRetries',
  'handshakeTimeoutMs', 'maxHalfOpen', 'helloRatePerSecond', 'maxRateEntries', 'helloPadBytes',
  'maxInboxCount', 'maxInboxBytes', 'tickMs', 'refusalReasons', 'strictReplySize', 'publicAddress', 'verbose',
];

/** Options with every default applied and checked. */
export interface ResolvedOptions {
  mode: 'loop' | 'step';
  type: 'udp4' | 'udp6';
  pingIntervalMs: number;
  stallAfterMs: number;
  disconnectAfterMs: number;
  autoPing: boolean;
  maxClients: number;
  maxQueueCount: number;
  maxQueueBytes: number;
  maxDatagramBytes: number;
  handshakeRetryMs: number;
  handshakeRetries: number;
  handshakeTimeoutMs: number;
  maxHalfOpen: number;
  helloRatePerSecond: number;
  maxRateEntries: number;
  helloPadBytes: number;
  maxInboxCount: number;
  maxInboxBytes: number;
  tickMs: number;
  refusalReasons: boolean;
  strictReplySize: boolean;
  publicAddress: string | undefined;
  log: UdpLog | undefined;
}

function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${String(value)}`);
  return v;
}

function resolveLog(verbose: UdpPipeOptions['verbose']): UdpLog | undefined {
  if (typeof verbose === 'function') return verbose;
  const env = process.env.UDPIPEVERBOSE === '1' || (process.env.DEBUG ?? '').includes('gamewire:udp');
  if (verbose === true || (verbose === undefined && env)) return (line) => process.stderr.write(`gamewire:udp ${line}\n`);
  return undefined;
}

/**
 * Apply defaults and check every option.
 * @throws {RangeError} naming the option and its bound when a value is out of range;
 *   {TypeError} for an unknown option name.
 */
export function resolveOptions(o: UdpPipeOptions = {}): ResolvedOptions {
  rejectUnknownOptions('UdpPipe', o, UDP_PIPE_OPTIONS);
  o ??= {};
  const mode = o.mode ?? 'loop';
  if (mode !== 'loop' && mode !== 'step') throw new RangeError(`mode must be 'loop' or 'step', got ${String(o.mode)}`);
  const type = o.type ?? 'udp4';
  if (type !== 'udp4' && type !== 'udp6') throw new RangeError(`type must be 'udp4' or 'udp6', got ${String(o.type)}`);
  const pingIntervalMs = positive('pingIntervalMs', o.pingIntervalMs, L.PING_INTERVAL_MS, false);
  const stallAfterMs = positive('stallAfterMs', o.stallAfterMs, (pingIntervalMs * L.STALL_AFTER_MS) / L.PING_INTERVAL_MS, false);
  if (stallAfterMs <= pingIntervalMs) throw new RangeError('stallAfterMs must exceed pingIntervalMs (udpipe.md §6)');
  const disconnectAfterMs = positive('disconnectAfterMs', o.disconnectAfterMs, Math.max((pingIntervalMs * L.DISCONNECT_AFTER_MS) / L.PING_INTERVAL_MS, stallAfterMs), false);
  if (disconnectAfterMs < stallAfterMs) throw new RangeError('disconnectAfterMs must be ≥ stallAfterMs (udpipe.md §6)');
  const maxDatagramBytes = positive('maxDatagramBytes', o.maxDatagramBytes, L.MAX_DATAGRAM_BYTES);
  if (maxDatagramBytes > L.MAX_DATAGRAM_BYTES_LIMIT) throw new RangeError(`maxDatagramBytes must be ≤ ${L.MAX_DATAGRAM_BYTES_LIMIT}`);
  const maxQueueBytes = positive('maxQueueBytes', o.maxQueueBytes, Math.max(L.MAX_QUEUE_BYTES, maxDatagramBytes));
  if (maxQueueBytes < maxDatagramBytes) throw new RangeError('maxQueueBytes must be ≥ maxDatagramBytes');
  const maxInboxBytes = positive('maxInboxBytes', o.maxInboxBytes, Math.max(L.MAX_INBOX_BYTES, maxDatagramBytes));
  if (maxInboxBytes < maxDatagramBytes) throw new RangeError('maxInboxBytes must be ≥ maxDatagramBytes');
  const handshakeRetryMs = positive('handshakeRetryMs', o.handshakeRetryMs, L.HANDSHAKE_RETRY_MS, false);
  const tickDefault = Math.min(L.MAX_TICK_MS, Math.max(L.MIN_TICK_MS, Math.min(pingIntervalMs, handshakeRetryMs) / 4));
  return {
    mode,
    type,
    pingIntervalMs,
    stallAfterMs,
    disconnectAfterMs,
    autoPing: o.autoPing ?? true,
    maxClients: positive('maxClients', o.maxClients, L.MAX_CLIENTS_COUNT),
    maxQueueCount: positive('maxQueueCount', o.maxQueueCount, L.MAX_QUEUE_COUNT),
    maxQueueBytes,
    maxDatagramBytes,
    handshakeRetryMs,
    handshakeRetries: nonNegative('handshakeRetries', o.handshakeRetries, L.HANDSHAKE_RETRIES),
    handshakeTimeoutMs: positive('handshakeTimeoutMs', o.handshakeTimeoutMs, L.HANDSHAKE_TIMEOUT_MS, false),
    maxHalfOpen: positive('maxHalfOpen', o.maxHalfOpen, L.MAX_HALF_OPEN_COUNT),
    helloRatePerSecond: positive('helloRatePerSecond', o.helloRatePerSecond, L.HELLO_RATE_PER_SECOND),
    maxRateEntries: positive('maxRateEntries', o.maxRateEntries, L.MAX_RATE_ENTRIES_COUNT),
    helloPadBytes: nonNegative('helloPadBytes', o.helloPadBytes, L.HELLO_PAD_BYTES),
    maxInboxCount: positive('maxInboxCount', o.maxInboxCount, L.MAX_INBOX_COUNT),
    maxInboxBytes,
    tickMs: positive('tickMs', o.tickMs, tickDefault, false),
    refusalReasons: o.refusalReasons ?? false,
    strictReplySize: o.strictReplySize ?? true,
    publicAddress: o.publicAddress,
    log: resolveLog(o.verbose),
  };
}
