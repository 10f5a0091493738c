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
 * (reason `slow_reader`, full cleanup) when nobody is paused on its behalf: its backlog is then
 * owner traffic to a user (unicast or broadcast), events or replies, which it alone fails to read.
 * A peer whose backlog comes from backpressured users (an owner) is held to twice this as a memory
 * ceiling only. The original buffers without bound. 0 = no cap.
 */
export const MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/**
 * Backpressure high-water mark (bytes), default 512 KiB: once a peer's outbound backlog passes it,
 * the users whose data was just queued for it (user → owner traffic) stop being read until the
 * backlog is back at `OUTBOUND_LOW_WATER_BYTES`; TCP then slows those senders, and each gets one
 * read per drain cycle, so one flooding user cannot starve the others. Half a megabyte keeps a
 * loopback or LAN link busy while the kernel's own send buffer drains. 0 = no backpressure.
 */
export const OUTBOUND_HIGH_WATER_BYTES = 512 * 1024;

/**
 * Backpressure low-water mark (bytes), default 128 KiB: the paused senders of a peer are read
 * again once its backlog is at or below this (checked as each flush reaches the kernel).
 */
export const OUTBOUND_LOW_WATER_BYTES = 128 * 1024;

/**
 * Stall timeout (ms), default 30 s: a peer with unsent bytes whose socket takes none of them for
 * this long has stopped reading and is disconnected (reason `stalled`, full cleanup), whatever its
 * role. Long enough for a game client paused by a debugger or a GC storm; short enough that a
 * dead owner does not hold its users' senders paused for long. 0 = never.
 */
export const STALL_TIMEOUT_MS = 30_000;

/**
 * Joints on the relay in all (joints), default 100,000; 0 = unlimited. An empty joint costs a few
 * hundred bytes, so the default bounds a create storm to tens of megabytes (issue 14: 10,000
 * connections creating 128 joints each grew the relay to 3.7 GB). Past it a create gets error 1
 * (MAX), as for a connection's own 128.
 */
export const MAX_JOINTS = 100_000;

/**
 * Joints owned by the connections of one source IP (joints), default 1000; 0 = unlimited. Enough
 * for a lobby server hosting a thousand rooms from one machine; keeps one address from taking the
 * relay-wide budget. Past it a create gets error 1 (MAX).
 */
export const MAX_JOINTS_PER_IP = 1000;

/**
 * Commands per second per connection (commands/s), default 64, with a burst of
 * `COMMAND_BURST_COUNT`; 0 = unlimited. Commands are rare in a game (a create or enter per room
 * change); a connection past the bucket is dropped with reason `rate_limit`, so a create storm
 * costs the relay a bounded number of commands before it ends and never delays other traffic long.
 */
export const COMMANDS_PER_SEC = 64;

/** Commands a connection may send at once before `COMMANDS_PER_SEC` applies (commands), default 512: every joint a connection may own and enter, twice. */
export const COMMAND_BURST_COUNT = 512;

/**
 * Token-bucket burst when only a rate is given (seconds of rate): one second's worth, so a client
 * may send a full second of traffic at once and then at the rate.
 */
export const RATE_BURST_SECONDS = 1;

/**
 * Smallest outbox slab (bytes), default 512. Frames toward a peer are written into the slab and
 * handed to the socket without a copy; a full slab is left to the socket and a new one of twice
 * what is pending allocated, so memory follows what is in flight. Small because most peers of a
 * game relay are idle most of the time (issue 13: an idle connection costs at most twice a bare
 * socket); a busy peer's slab grows to its reads within a few flushes and is kept.
 */
export const OUTBOX_SLAB_BYTES = 512;

/**
 * Largest outbox slab kept for reuse after a flush (bytes). A slab grows to what one read owes
 * its peer; past this size it is left to the socket after the flush instead of being kept, so an
 * idle peer never pins more than this.
 */
export const OUTBOX_RETAIN_MAX_BYTES = 1024 * 1024;

/** On `close()`, time given to peers to finish closing (ms) before they are destroyed. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Native engine, under load (µs), 500: after a loop turn that moved at least 4 KiB, the I/O
 * thread waits this long (or until the control plane calls) before it polls again, so each read
 * and write carries more frames; most of a busy relay's CPU is the kernel's cost per syscall and
 * wakeup, and this cuts it (docs/native-engine.md "Batching under load"). Costs up to this much
 * latency per hop, only while busy; 0 turns it off. The Node engine does not wait.
 */
export const BATCH_DELAY_US = 500;

/** Largest `batchDelayUs` (µs), 10 ms: the engine's kMaxBatchDelayUs. */
export const MAX_BATCH_DELAY_US = 10_000;

/**
 * Units the relay's JointParser hands out per feed (units). A read with more units is parsed in
 * several feeds; 32 keeps the result array under 1 KiB per connection (issue 13: an idle
 * connection costs little), and a 64 KiB read of 32-byte frames then costs about 60 feeds instead
 * of 8: some 10 µs per read, against the milliseconds its 2000 frames take to forward.
 */
export const PARSER_UNITS_PER_FEED = 32;

/**
 * Parsers a relay keeps for reuse (parsers), default 64. A connection silent for a keepalive sweep
 * at a unit boundary gives its parser back (an idle connection holds none); the next one to talk
 * takes a spare instead of making one, so a churn of briefly idle peers allocates nothing.
 */
export const PARSER_SPARES_MAX = 64;

/** Longest interval of the keepalive sweep (ms); shorter keepalives sweep at a quarter of their period. */
export const KEEPALIVE_SWEEP_MAX_MS = 1000;

/**
 * Most relay processes of `gamewire relay --workers n` (processes), default 256. More processes
 * than this on one machine is a misconfiguration (each is a whole relay and a cluster node);
 * past it the command line is refused (exit 2).
 */
export const MAX_WORKERS_COUNT = 256;

/**
 * Delay before a `--workers` process that died is started again (ms), default 1000: long enough
 * that a worker failing at start does not spin the CPU, short enough to be back well within the
 * peers' `peerTimeoutMs` bookkeeping. It comes back as a new incarnation of its cluster node.
 */
export const WORKER_RESTART_MS = 1000;

/**
 * How long a `--workers` process waits for the answer to a connection handoff (ms), default
 * 2000 (`--worker-handoff-timeout-ms`): the primary and the adopting worker answer in well under
 * a millisecond on one machine; a worker that does not answer in 2 s is stuck or dying. Past it
 * the handing worker closes its copy of the socket without reading it again (the adopter may hold
 * the connection: it must never have two readers), so a connection whose adopter died in that
 * window is lost, as with a crash of that worker. Counted as `timeout` in
 * `gamewire_relay_worker_handoffs_total`. Used by worker-handoff.ts.
 */
export const WORKER_HANDOFF_TIMEOUT_MS = 2000;

/**
 * How long a `--workers` process on the native engine waits for its primary to hand over the
 * port its primary holds (ms), default 5000: the primary answers at once, after one bind; a
 * primary that does not answer in 5 s is stuck. Past it the worker's relay fails to start
 * (ETIMEDOUT) and the primary starts the worker again. Used by worker-listener.ts.
 */
export const WORKER_LISTENER_TIMEOUT_MS = 5000;

/**
 * Cluster: how often an owner whose remote users were paused (PAUSE_JOINT) is checked for a
 * backlog back at `outboundLowWaterBytes` (ms), default 20. The timer runs only while some joint
 * is paused; the remote users wait at most this long past the drain (a local user is resumed at
 * the drain itself).
 */
export const REMOTE_RESUME_CHECK_MS = 20;
