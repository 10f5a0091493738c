/**
 * Defaults of the relay (joint.md §7 for the protocol ones). Every one is a `RelayOptions` field
 * of the same meaning; see docs/relay.md for the table.
 */
export {
  KEEPALIVE_MS,
  LOGIN_TIMEOUT_MS,
  MAX_CONNECTIONS_PER_IP,
  MAX_ID_BYTES,
  MAX_IN_JOINTS,
  MAX_OWN_JOINTS,
  MAX_USERS_PER_JOINT,
  MAX_WEBSOCKET_PAYLOAD_BYTES,
} from '../joint/limits.js';

/**
 * Concurrent connections in all (connections), default 10000; 0 = unlimited. Counted at accept,
 * before any byte is read, beside the per-IP cap; connection N+1 is closed at once, no bytes
 * (the original has no such cap).
 */
export const MAX_CONNECTIONS = 10_000;

/**
 * Inbound silence after which a connection is dropped (ms), default 0 = never. Off by default
 * because peote-net clients send nothing while idle (the relay's keepalive goes the other way),
 * so only deployments whose clients talk regularly should set it; it then also ends peers that
 * sent half a unit and went silent. Checked by the keepalive sweep, so its resolution is at most
 * `KEEPALIVE_SWEEP_MAX_MS`.
 */
export const IDLE_TIMEOUT_MS = 0;

/** Default address (the original's: localhost). */
export const DEFAULT_HOST = '127.0.0.1';

/** Default port (the original's, joint.md §7). */
export const DEFAULT_PORT = 7680;

/**
 * Outbound backlog per connection (bytes), default 16 MiB: bytes queued toward a peer and not yet
 * taken by its socket. Past it, after a flush, the peer is a slow reader and is disconnected
 * (reason `slow_reader`, full cleanup); the original buffers without bound. 0 = no cap.
 */
export const MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/**
 * Token-bucket burst when only a rate is given (seconds of rate): one second's worth, so a client
 * may send a full second of traffic at once and then at the rate.
 */
export const RATE_BURST_SECONDS = 1;

/**
 * Bytes of a fresh outbox slab. Frames toward a peer are written into the slab and handed to the
 * socket without a copy; a full slab is left to the socket and a new one allocated, so memory
 * follows what is in flight.
 */
export const OUTBOX_SLAB_BYTES = 16 * 1024;

/**
 * Largest outbox slab kept for reuse after a flush (bytes). A slab grows to what one read owes
 * its peer; past this size it is left to the socket after the flush instead of being kept, so an
 * idle peer never pins more than this.
 */
export const OUTBOX_RETAIN_MAX_BYTES = 1024 * 1024;

/** On `close()`, time given to peers to finish closing (ms) before they are destroyed. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Units the relay's JointParser hands out per feed (units). A read with more units is parsed in
 * several feeds; 256 keeps the result array at 6 KiB per connection.
 */
export const PARSER_UNITS_PER_FEED = 256;

/** Longest interval of the keepalive sweep (ms); shorter keepalives sweep at a quarter of their period. */
export const KEEPALIVE_SWEEP_MAX_MS = 1000;
