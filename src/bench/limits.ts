/**
 * Defaults and bounds of `gamewire bench` (docs/bench.md, docs/limits.md). Every default is the
 * BenchOptions field of the same meaning; every bound is checked by resolveOptions, which throws a
 * GamewireRangeError naming the option past it.
 */

/** Sending clients (users per joint for relay), default 10: enough to show contention, cheap to open. */
export const DEFAULT_USERS_COUNT = 10;

/**
 * Most sending clients of one run (clients), 100000: each costs a connection, a tally entry and a
 * receive-window bitmap, so the cap keeps a typo from exhausting the generator. Past it: RangeError.
 */
export const MAX_USERS_COUNT = 100_000;

/** relay joints loaded at once (joints), default 1. */
export const DEFAULT_JOINTS_COUNT = 1;

/** Most relay joints of one run (joints), 10000; past it: RangeError. */
export const MAX_JOINTS_COUNT = 10_000;

/** Payload bytes per frame, default 64: a typical game state update. */
export const DEFAULT_SIZE_BYTES = 64;

/**
 * Largest payload (bytes), 16 MiB, the relay's default frame limit; the generator allocates one
 * such buffer per frame in flight, so larger frames are a memory hazard. Past it: RangeError.
 */
export const MAX_SIZE_BYTES = 16 * 1024 * 1024;

/** Closed loop: frames in flight per sender, default 16. */
export const DEFAULT_WINDOW_COUNT = 16;

/**
 * Frames in flight per sender (frames), 65536, closed and open loop alike: the tally keeps one
 * entry per frame in flight and one bit per frame per receiver, so this bounds its memory. A
 * larger `window` is a RangeError; in an open loop a sender whose frames in flight reach it waits
 * (its frames' latency grows, as it would behind a full socket).
 */
export const MAX_IN_FLIGHT_COUNT = 65_536;

/**
 * Tally entries of one thread (frames), 2^22: one per frame that may be in flight, 13 bytes each
 * (~52 MiB), shared by the thread's senders. Each sender's ring is cut to its share (at least 32
 * frames); `window x users x joints` above it is a RangeError naming `window`.
 */
export const MAX_TALLY_ENTRIES_COUNT = 1 << 22;

/** Open loop: most frames per second per sender, 1000000 (beyond any one connection). Past it: RangeError. */
export const MAX_RATE_PER_SEC = 1_000_000;

/** Measured seconds, default 10. */
export const DEFAULT_DURATION_SEC = 10;

/**
 * Longest measured period (s), 3600: the timeline keeps one latency histogram per second
 * (17-70 KiB each), so an hour costs at most ~250 MiB. Past it: RangeError.
 */
export const MAX_DURATION_SEC = 3600;

/** Warm-up seconds before measuring, default 1: lets connections, JIT and server caches settle. */
export const DEFAULT_WARMUP_SEC = 1;

/** Longest warm-up (s), 600. Past it: RangeError. */
export const MAX_WARMUP_SEC = 600;

/** Drain after the measured period (ms), default 2000: frames still in flight may arrive. */
export const DEFAULT_DRAIN_MS = 2000;

/** Longest drain (ms), 600000. Past it: RangeError. */
export const MAX_DRAIN_MS = 600_000;

/** A frame not delivered within this (ms) is lost and frees its window slot; default 5000. */
export const DEFAULT_FRAME_TIMEOUT_MS = 5000;

/** Longest frame timeout (ms), 600000. Past it: RangeError. */
export const MAX_FRAME_TIMEOUT_MS = 600_000;

/** Worker threads, default 0: everything on the calling thread. */
export const DEFAULT_WORKERS_COUNT = 0;

/** Most worker threads (threads), 256; past it: RangeError. */
export const MAX_WORKERS_COUNT = 256;

/** Connect timeout (ms), default 10000. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Longest connect timeout (ms), 600000. Past it: RangeError. */
export const MAX_CONNECT_TIMEOUT_MS = 600_000;

/**
 * Distinct error messages a run keeps (messages), 100: a server failing every frame in a new way
 * must not grow the result without bound. Past it, further messages are counted under one
 * "other errors" entry.
 */
export const MAX_ERROR_MESSAGES_COUNT = 100;

/**
 * Longest sleep of the engine's timer (ms), 10: it sweeps timed-out frames, retries refused sends
 * and (open loop) sends what is due. An open loop wakes sooner, at the next frame's intended time,
 * and Node timers have a 1 ms resolution, so open-loop latency includes up to ~1 ms of it.
 */
export const TICK_MAX_MS = 10;

/** A sender whose send was refused is retried after this (ms), 1 (the timer resolution). */
export const RETRY_MS = 1;

/**
 * Readings of the clock one synchronous run of the engine may share (readings), 16: the arrival
 * times of the deliveries of one socket read, and the send times of a closed-loop burst, are
 * read once per 16 (a fresh reading every 16, and always in a new turn of the event loop). The
 * clock was 7-8% of the generator's CPU at 64 B (profiled). Past it nothing is refused: a time
 * may be older than the event by the time the engine took for at most 15 frames before it (about
 * 15 µs at 1 µs per frame), which makes a latency that much shorter (arrivals) or longer (sends).
 */
export const CLOCK_REUSE_COUNT = 16;

/**
 * Time the engine gives a driver past `connectTimeoutMs` before its own timer rejects (ms),
 * default 500: a driver that times out by itself says more ("3 of 11 connections ready") than the
 * engine can, so its message should win the race.
 */
export const CONNECT_TIMEOUT_GRACE_MS = 500;
