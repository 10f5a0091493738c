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

/**
 * Events one connection (or Client) may have waiting in its queue before the Server stops
 * reading from it (default 256, well below the queue's 2000 entries): its socket is paused
 * until the application polls, so a fast peer is slowed to the poll rate instead of pushing
 * other connections' events out of the queue. Overridable per Server (`maxQueuedEvents`).
 */
export const MAX_QUEUED_EVENTS_PER_CONNECTION = 256;

/**
 * Messages a paused connection may hold (default 65536): those it had already sent when its
 * socket was paused (the rest of one socket read, at most two 64 KiB frames of one-byte
 * messages). They are kept in order, off the queue, and queued as the application polls, before
 * the socket is read again. Past this count, or `MAX_HELD_BYTES_PER_CONNECTION`, the connection
 * is dropped with the ERROR reason "event flood".
 */
export const MAX_HELD_EVENTS_PER_CONNECTION = 65_536;

/**
 * Payload bytes a paused connection may hold (default 17 MiB: one largest message plus the rest
 * of a read); at least `maxMessageBytes` + 1 MiB when that option is raised.
 */
export const MAX_HELD_BYTES_PER_CONNECTION = 17 * 1024 * 1024;

/**
 * Bytes of payload arena an mm queue starts with, per entry of capacity (default 512: the
 * default 2000-entry queue starts with a 1000 KiB arena, not core's 17 MiB). The arena doubles
 * when a burst needs more, up to `EVENT_RING_ARENA_BYTES` (17 MiB, which holds one largest
 * message), and returns to its start size at the first poll after the burst (one taking under a
 * quarter of the start size), so a burst's pages do not stay resident. An explicit `arenaBytes` option fixes the size instead.
 */
export const QUEUE_ARENA_BYTES_PER_ENTRY = 512;
