/**
 * Limits of the mm style. The protocol's limits (frame, message, send buffer, keepalive) live in
 * `src/wire/limits.ts` and are re-exported here; each is overridable per Server or Client.
 */
export {
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_SEND_BUFFER_BYTES,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_TIMEOUT_MS,
  HANDSHAKE_TIMEOUT_MS,
  MAX_INBOUND_PER_SECOND,
  MAX_CONNECTIONS,
} from '../wire/limits.js';
export { EVENT_RING_CAPACITY, EVENT_RING_ARENA_BYTES } from '../core/limits.js';
export { MAX_TABLE_DEPTH } from '../codec/table.js';

/** Lowest explicit port a Server accepts (0 means "let the OS choose"). */
export const MIN_PORT = 1024;
/** Highest port. */
export const MAX_PORT = 65535;

/** `waitForConnect` bounds (seconds): 0.25 to 10, default 2, as the original. */
export const WAIT_FOR_CONNECT_MIN_S = 0.25;
export const WAIT_FOR_CONNECT_MAX_S = 10;
export const WAIT_FOR_CONNECT_DEFAULT_S = 2;

/**
 * Period of the timer that checks keepalives and timeouts (milliseconds): a quarter of the
 * shortest configured timer, clamped to 5..250, so a 100 ms test timeout is honoured within
 * 25 ms and default settings cost 4 wake-ups per second per Server or Client.
 */
export const TIMER_MIN_MS = 5;
export const TIMER_MAX_MS = 250;

/** Milliseconds a Client waits for the TCP or WebSocket connection (default 10000). */
export const CONNECT_TIMEOUT_MS = 10_000;
