/**
 * Limits of gamewire's own protocol (docs/protocol.md §8). Each is a default; `WireOptions`
 * overrides it per server or client.
 */
import { MAX_FRAME_BYTES as CORE_MAX_FRAME_BYTES } from '../core/limits.js';

/** Protocol version this build speaks (docs/protocol.md §3); a format fact. */
export const WIRE_VERSION = 1;

/**
 * Largest frame body (bytes), default 64 KiB (the FrameDecoder default). A longer length
 * prefix drops the peer before its body is buffered. Messages larger than a frame are chunked,
 * so this also bounds how long one frame can hold up a keepalive.
 */
export const MAX_FRAME_BYTES = CORE_MAX_FRAME_BYTES;

/** Smallest allowed `maxFrameBytes` (bytes): room for a handshake frame plus the AEAD tag. */
export const MIN_FRAME_BYTES = 128;

/** Largest allowed `maxFrameBytes` (bytes), 16 MiB: a frame is buffered whole before it is opened. */
export const MAX_FRAME_BYTES_LIMIT = 16 * 1024 * 1024;

/**
 * Largest message (bytes of encoded table), default 16 MiB. Checked when its chunk prefix is
 * read (ChunkAssembler), so a claimed 1 GiB message is refused before any byte is buffered; the
 * sender is dropped. Sending a larger table is a RangeError at `send`.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Outbound backlog per connection (bytes), default 8 MiB: bytes queued in gamewire plus bytes
 * the socket has not yet sent. Past it the connection closes with reason "send buffer
 * overflow", so one slow client cannot grow the server's memory without bound.
 */
export const MAX_SEND_BUFFER_BYTES = 8 * 1024 * 1024;

/** Smallest allowed `maxSendBufferBytes` (bytes): below it a connection could not queue one small table. */
export const MIN_SEND_BUFFER_BYTES = 1024;

/** Milliseconds without sending before a KEEPALIVE frame is sent (default 1000). */
export const KEEPALIVE_INTERVAL_MS = 1000;

/**
 * Milliseconds without receiving any frame before the peer is dropped with reason "keepalive
 * timeout" (default 10000). Any frame counts, so a long message in progress keeps the link alive.
 */
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/** Milliseconds from connect until the handshake must be complete (default 5000). */
export const HANDSHAKE_TIMEOUT_MS = 5000;

/** Smallest allowed `keepaliveIntervalMs` and `handshakeTimeoutMs` (ms): the owner's timer runs every 5 ms at best. */
export const MIN_TIMER_MS = 10;
/** Smallest allowed `keepaliveTimeoutMs` (ms): two of the shortest keepalive intervals. */
export const MIN_KEEPALIVE_TIMEOUT_MS = 2 * MIN_TIMER_MS;
/** Largest allowed keepalive interval / timeout and handshake timeout (ms), one hour. */
export const MAX_TIMER_MS = 3_600_000;

/**
 * Length of the window `maxInboundPerSecond` is counted over (ms), 1000; the count restarts at
 * each window, so a burst of at most twice the limit can straddle two windows.
 */
export const FLOOD_WINDOW_MS = 1000;

/**
 * Inbound messages plus non-data frames per connection per second (default 200 000). Past it the
 * peer is dropped with reason "flood". A 60-tick game sends a few hundred; 0 disables the check.
 * This bounds the parsing work one peer causes, not its share of an event queue: it is far
 * above any queue's capacity on purpose, and the mm Server bounds each connection's queued
 * events separately (`MAX_QUEUED_EVENTS_PER_CONNECTION`, with backpressure).
 */
export const MAX_INBOUND_PER_SECOND = 200_000;

/**
 * Received bytes waiting to be decrypted per connection (bytes), default 32 MiB: twice the
 * largest message. Only the asynchronous crypto path (WebCrypto, the browser build) queues
 * frames; each waits, copied, until the frames before it are opened. Past this limit the peer is
 * dropped with reason "receive backlog overflow" (code 5, Overflow), so a peer that sends faster
 * than the browser decrypts cannot grow its memory without bound. Must be ≥ `maxFrameBytes`.
 */
export const MAX_PENDING_DECRYPT_BYTES = 32 * 1024 * 1024;

/** Milliseconds a closing connection may take to flush its CLOSE frame before it is destroyed. */
export const CLOSE_LINGER_MS = 1000;

/** Size each per-session scratch buffer starts at (bytes), 4 KiB; buffers grow to fit a flush. */
export const INITIAL_BUFFER_BYTES = 4096;

/**
 * Scratch buffers above this size (bytes), 256 KiB, are kept while flushes (or received reads)
 * stay above it, and released by the first smaller one (a keepalive, within
 * `keepaliveIntervalMs`, at the latest), starting again at INITIAL_BUFFER_BYTES: a stream of
 * large messages does not reallocate them for each, and an idle connection holds no big buffer.
 */
export const KEEP_BUFFER_BYTES = 256 * 1024;

/** Longest close reason (bytes of UTF-8); longer reasons are cut. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Bytes of each side's handshake random; a format fact. */
export const HANDSHAKE_RANDOM_BYTES = 32;

/** Chunk prefix width inside DATA frames (joint.md §10 varint, N = 4); a format fact. */
export const CHUNK_PREFIX_BYTES = 4;

/**
 * Connections one server holds at once (default 1024). Past it a new connection gets a CLOSE
 * with code ServerFull and is dropped before any state is kept for it.
 */
export const MAX_CONNECTIONS = 1024;

/**
 * Largest single write on a WebSocket stream (bytes), default 64 KiB: a tick's bytes are cut
 * into binary messages of at most this size, which the server's listener accepts
 * (`maxWebSocketPayloadBytes`). WebSocket message boundaries carry no meaning (§2).
 */
export const WS_WRITE_PIECE_BYTES = 65536;
