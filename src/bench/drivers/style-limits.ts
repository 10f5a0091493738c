/**
 * Limits of the mm, udp and events bench drivers and of their ready-made responders
 * (docs/bench.md). A driver refuses a send (`send` returns false, the engine retries the same
 * frame later) rather than queue without bound when the target falls behind.
 */

/**
 * Payload bytes one mm sender may have unanswered (sent, no ack / echo / own broadcast copy back
 * yet), default 1 MiB. Keeps a client's socket backlog far below the session's
 * `maxSendBufferBytes` (8 MiB), past which the connection would be closed ("send buffer
 * overflow"). Past it `send` returns false; one frame always passes.
 */
export const MM_MAX_IN_FLIGHT_BYTES = 1024 * 1024;

/**
 * Entries of the event queue the mm driver's clients share (one queue per driver, polled on
 * every turn), default 16384. A broadcast run queues up to users × window × fanout tables
 * between two polls; a full queue drops its oldest events, reported as an error and seen as
 * lost frames.
 */
export const MM_DRIVER_QUEUE_CAPACITY = 16_384;

/**
 * How long (ms) a poll loop keeps polling on every turn of the event loop (setImmediate) after
 * it last saw an event or while frames are unanswered, default 10. Past it, it polls on a 1 ms
 * timer (`POLL_IDLE_INTERVAL_MS`) so an idle driver or responder does not spin a core.
 */
export const POLL_BUSY_GRACE_MS = 10;

/**
 * Poll period (ms) of an idle poll loop, default 1: the shortest Node timer. The first event
 * after an idle spell waits at most about this long; the loop then polls on every turn.
 */
export const POLL_IDLE_INTERVAL_MS = 1;

/**
 * Datagrams one udp sender may have unanswered, default 1024 (a power of two: the slots are a
 * ring indexed by the datagram's token). A slot is reused once answered or older than the
 * frame timeout (then it was lost); while the next slot is neither, `send` returns false.
 */
export const UDP_MAX_IN_FLIGHT_COUNT = 1024;

/**
 * How long (ms) the udp driver's close() waits for each session's CLOSED before it destroys the
 * socket, default 1000. A target that is gone would otherwise hold close() for every CLOSE
 * resend (UdpPipe: 9 × 500 ms).
 */
export const UDP_CLOSE_WAIT_MS = 1000;

/**
 * Resend interval (ms) of the probe the udp driver sends at open to check that a bench responder
 * answers, default 100 (datagrams may be lost, so it is resent until answered or
 * `connectTimeoutMs`).
 */
export const UDP_PROBE_INTERVAL_MS = 100;

/**
 * Events one events client may await a verdict for, default 1024 (EventClient's own
 * `maxPendingEvents` default). Past it `send` returns false.
 */
export const EVENTS_MAX_IN_FLIGHT_COUNT = 1024;

/**
 * Largest payload (bytes) an events frame carries, default 7168: base64 makes it 9558
 * characters, which with the EVENT's JSON fields (about 250 bytes, retry counter included)
 * stays under the protocol's 10240-byte datagram. A larger `size` is a RangeError at once.
 */
export const EVENTS_MAX_PAYLOAD_BYTES = 7168;

/**
 * Connections (mm), sessions (udp) and registrations (events) a ready-made bench server
 * admits, default 4096, all from one IP and at any connect rate: a load generator is one
 * address opening many connections at once, which the styles' default budgets refuse.
 */
export const BENCH_SERVER_MAX_CLIENTS = 4096;

/**
 * Judged event ids the ready-made events server remembers per client, default 65536, for
 * `BENCH_SERVER_JUDGED_RETENTION_MS`. The EventServer drops a client's new events while its
 * window is full, so this over the retention bounds the verdicts per second per client
 * (here 32768/s; the EventServer defaults allow about 200/s).
 */
export const BENCH_SERVER_EVENT_WINDOW_COUNT = 65_536;

/**
 * How long (ms) the ready-made events server remembers a judged id, default 2000: one EVENT
 * resend interval, enough to answer a resent EVENT from memory on loopback.
 */
export const BENCH_SERVER_JUDGED_RETENTION_MS = 2000;
