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
 * Payload bytes one connection may have waiting in its queue before the Server stops reading
 * from it until the application polls (default 1 MiB), beside `MAX_QUEUED_EVENTS_PER_CONNECTION`:
 * a peer sending large messages is slowed to about this much per poll, so an application that
 * forwards what it receives (a broadcast per RECEIVE) cannot be driven by one peer into
 * overflowing its other clients (issue 13). One message always passes, whatever its size.
 * Overridable per Server (`maxQueuedBytes`; 0 = no byte cap).
 */
export const MAX_QUEUED_BYTES_PER_CONNECTION = 1024 * 1024;

/**
 * Outbound backlog of a connection (bytes) past which the Server counts it as congested (default
 * 512 KiB, a sixteenth of the 8 MiB `maxSendBufferBytes` at which a connection is dropped). While
 * any connection is congested, every connection's intake is cut to
 * `CONGESTED_QUEUED_BYTES_PER_CONNECTION` per poll: the peers that send the most are paused
 * first (TCP slows them), the modest ones not at all, and a receiver that reads at a fair pace is
 * not dropped for what a flooder sent (issue 13). Congestion ends once every congested
 * connection's backlog is back under a quarter of this. Overridable (`sendHighWaterBytes`; 0 = off).
 */
export const SEND_HIGH_WATER_BYTES = 512 * 1024;

/** Queued payload bytes per connection per poll while a connection is congested (default 64 KiB; `congestedQueuedBytes`). */
export const CONGESTED_QUEUED_BYTES_PER_CONNECTION = 64 * 1024;

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

/**
 * Connections one source IP may hold on a Server at once, handshakes included (default 32).
 * `::ffff:1.2.3.4` and `1.2.3.4` count as one address. A household or LAN party behind one NAT
 * stays far below it, while one address can take at most 32 of the default 1024 slots (issue 14:
 * 1,100 connections from one IP took every slot). Past it a new connection is closed at accept,
 * before a byte is read, without a reply (`refusedPerIp` in `stats()`). 0 = no cap.
 */
export const MAX_CONNECTIONS_PER_IP = 32;

/**
 * Connections in their handshake at once, over all addresses (default 64): accepted and not yet
 * established (waiting for the first byte, in the WebSocket upgrade, or between HELLO and
 * FINISHED). Counted apart from `maxConnections`, so clients stuck in a handshake can never
 * take an established slot. A handshake takes one or two round trips, so 64 serves hundreds of
 * connects per second at internet latencies. Past it new connections are closed at accept
 * without a reply (`refusedPending`).
 */
export const MAX_PENDING_HANDSHAKES = 64;

/**
 * Handshakes one source IP may have in progress at once (default 8). Past it its new
 * connections are closed at accept without a reply (`refusedPendingPerIp`), so one address can
 * hold at most 8 of the 64 pending slots.
 */
export const MAX_PENDING_HANDSHAKES_PER_IP = 8;

/**
 * New connections per second one source IP may open, a token bucket (default 10 per second with
 * a burst of `CONNECT_BURST_PER_IP` = 20). A game client connects once and reconnects after a
 * drop; 10 per second sustained is far above that. Past it connections are closed at accept,
 * before any byte is read, state kept or crypto done (`refusedRate`): refusing costs the server
 * less than the attempt costs the attacker (bench `mm-refusal`). 0 = no rate limit.
 */
export const CONNECT_RATE_PER_IP = 10;

/** Depth of the per-IP connect bucket (connections), default 20: a client's reconnects after an outage fit. */
export const CONNECT_BURST_PER_IP = 20;

/**
 * Source IPs whose connect rate is tracked at once (default 4096). An IP whose bucket has
 * refilled is forgotten first; when every tracked IP is still refilling, the oldest is forgotten
 * (it starts with a full bucket again): memory stays bounded under a flood from many addresses
 * and a new address is never refused because the table is full.
 */
export const MAX_RATE_ENTRIES = 4096;

/**
 * Milliseconds a Server gives a new connection, from accept, to complete its handshake (first
 * byte, WebSocket upgrade if any, HELLO..FINISHED), default 3000 (the `handshakeTimeoutMs`
 * option; the Client keeps `HANDSHAKE_TIMEOUT_MS`, 5000). A handshake is one and a half round
 * trips, so 3 s serves links with second-long round trips, and a connection that stalls its
 * handshake gives its pending slot back soon. Past it: "handshake timeout" (CLOSE code 6), or
 * the socket is destroyed if it has not sent its first byte or finished its upgrade.
 */
export const SERVER_HANDSHAKE_TIMEOUT_MS = 3000;
