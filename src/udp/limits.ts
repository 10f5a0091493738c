/**
 * Defaults and limits of the UDP session style (udpipe.md §6). Every value is a default that the
 * `UdpPipe` options override, unless it is marked a format fact. Times are milliseconds (the
 * original, on LuaSocket, used seconds).
 */

/** Port `start()` binds when none is given (udpipe.md §1: the documentation's examples use 1234). */
export const DEFAULT_PORT = 1234;

/**
 * Token used when `setToken()` was never called. The original's default is unknown; every real
 * deployment should set its own. A token is 1..MAX_TOKEN_BYTES printable ASCII bytes without
 * spaces (a space ends the token: what follows is padding, see docs/udp.md "Words").
 */
export const DEFAULT_TOKEN = 'gamewire';

/**
 * Longest token (bytes). The server compares tokens in constant time over this many bytes, in a
 * buffer allocated once; a longer token is refused like a wrong one.
 */
export const MAX_TOKEN_BYTES = 64;

/**
 * Largest datagram sent or accepted (bytes), default 1200: below the IPv6 minimum MTU (1280)
 * minus headers, so datagrams are never fragmented on the way. `send()` of a larger payload
 * throws RangeError; a larger datagram received is dropped and reported with `onError`.
 */
export const MAX_DATAGRAM_BYTES = 1200;

/** Ceiling of `maxDatagramBytes` (bytes): the largest UDP payload over IPv4. */
export const MAX_DATAGRAM_BYTES_LIMIT = 65507;

/**
 * Keepalive period per direction (ms), default 1000: each side sends PING this often on every
 * open session (udpipe.md §2: both directions).
 */
export const PING_INTERVAL_MS = 1000;

/**
 * Time without a PONG after which a session is stalled (ms), default 3500: three pings went
 * unanswered and the fourth is due. Must exceed `pingIntervalMs` (udpipe.md §6). While stalled,
 * `send()` queues instead of sending.
 */
export const STALL_AFTER_MS = 3500;

/**
 * Time without a PONG after which a session is declared dead (ms), default 10000: `onDisconnect`
 * with reason `timeout`, queue dropped, socket freed. Must be ≥ `stallAfterMs` (udpipe.md §6).
 */
export const DISCONNECT_AFTER_MS = 10000;

/** Sessions a server holds at once, half-open and lingering ones included (count), default 64. Past it: GO AWAY!. */
export const MAX_CLIENTS_COUNT = 64;

/**
 * Messages queued per session while it is stalled (count), default 256. Past it, or past
 * MAX_QUEUE_BYTES, the oldest queued message is dropped and counted (`session.queueDropped`).
 */
export const MAX_QUEUE_COUNT = 256;

/** Payload bytes queued per session while it is stalled (bytes), default 64 KiB. Must be ≥ maxDatagramBytes. */
export const MAX_QUEUE_BYTES = 64 * 1024;

/**
 * Resend interval of HELLO, CONNECT and CLOSE while no answer came (ms), default 500. UDP loses
 * handshake datagrams as it loses data (udpipe.md §6).
 */
export const HANDSHAKE_RETRY_MS = 500;

/** Resends after the first HELLO / CONNECT / CLOSE (count), default 9: at most 10 sends per phase. */
export const HANDSHAKE_RETRIES = 9;

/**
 * Whole-handshake deadline (ms), default 5000: a client that is not connected by then gets
 * `onDisconnect(session, 'timeout')`; a server frees a half-open session (SC socket allocated,
 * no CONNECT yet) after the same time. `connect(host, port, timeout)` overrides it per call.
 */
export const HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * Half-open handshakes a server holds at once (count), default 16. Past it a HELLO is dropped
 * without reply, so a HELLO flood with a stolen token cannot exhaust sockets; real clients resend.
 */
export const MAX_HALF_OPEN_COUNT = 16;

/**
 * HELLOs accepted per source IP per second (count), default 10 (a real client sends at most
 * 1000 / HANDSHAKE_RETRY_MS = 2 per second). Past it HELLOs from that IP are dropped without reply.
 */
export const HELLO_RATE_PER_SECOND = 10;

/**
 * Source IPs tracked by the HELLO rate limit per one-second window (count), default 4096. When
 * the table is full, HELLOs from IPs not yet in it are dropped until the window ends: memory stays
 * bounded at the price of refusing new addresses during a wide spoofed flood.
 */
export const MAX_RATE_ENTRIES_COUNT = 4096;

/**
 * Size our client pads HELLO to (bytes), default 64: at least the largest CONNECT <ip> <port>
 * reply (59 bytes with an IPv6 address), so the server's "no reply larger than its request"
 * rule never silences our own clients.
 */
export const HELLO_PAD_BYTES = 64;

/**
 * Longest `CONNECT <ip> <port>` reply a client parses (bytes), default 128: the largest real one
 * is 59 bytes (an IPv6 address), so this leaves room for padding. A longer one is malformed
 * (`GW_ERR_UDP_MALFORMED`) and not split or copied.
 */
export const MAX_CONNECT_REPLY_BYTES = 128;

/**
 * Datagrams received in step mode and not yet handled by `step()` (count), default 4096. Past it
 * new datagrams are dropped and counted (`stats().inboxDropped`): a game loop that stops stepping
 * cannot make memory grow.
 */
export const MAX_INBOX_COUNT = 4096;

/**
 * Payload bytes of the datagrams waiting for `step()` in step mode (bytes), default 4 MiB. The
 * count cap alone would let 4096 datagrams of 64 KiB hold 256 MiB; past this one new datagrams
 * are dropped and counted (`stats().inboxDropped`) too. Must be ≥ `maxDatagramBytes`.
 */
export const MAX_INBOX_BYTES = 4 * 1024 * 1024;

/**
 * Longest time `step()` timers may lag in event-loop mode (ms): the internal timer runs every
 * min(pingIntervalMs, handshakeRetryMs) / 4, clamped to [MIN_TICK_MS, MAX_TICK_MS].
 */
export const MAX_TICK_MS = 100;
/** Shortest internal timer period (ms) in event-loop mode. */
export const MIN_TICK_MS = 5;
