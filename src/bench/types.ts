/**
 * The contract of `gamewire bench` (docs/bench.md): the options a run takes, the driver each
 * protocol implements, and the result every output (table, JSON, HTML, compare) is made from.
 *
 * One engine (load.ts) drives every protocol: it decides *when* a frame is sent (closed loop: a
 * window of frames in flight per sender; open loop: a fixed rate per sender, latency measured from
 * the intended send time, so a stalled server cannot hide behind a slowed generator), stamps it
 * (stamp.ts) and checks what comes back. A driver only knows *how* to move bytes over its protocol.
 */

import type { StampVerify } from './stamp.js';

export type { StampVerify };

/** The protocols a bench can load. */
export type BenchKind = 'relay' | 'mm' | 'udp' | 'events';

/**
 * What traffic a run makes. relay: `users-to-owner` (every user sends to its joint's owner),
 * `broadcast` (the owner sends to all users of its joint), `echo` (a user sends to the owner,
 * which sends it back; latency is the round trip). mm: `c2s`, `broadcast` (the server echoes each
 * client's table to every client), `echo`. udp: `c2s`, `echo`. events: `event` (register, then
 * events judged by the server; latency is event to verdict).
 */
export type BenchMode = 'users-to-owner' | 'broadcast' | 'echo' | 'c2s' | 'event';

/** Inclusive range of payload sizes in bytes; each frame draws its size uniformly from it. */
export interface SizeRange {
  readonly min: number;
  readonly max: number;
}

/** Where to send the load. */
export interface BenchTarget {
  readonly host: string;
  readonly port: number;
}

/** Options of one run, as the API takes them (the CLI maps its flags onto these). */
export interface BenchOptions extends BenchTarget {
  readonly kind: BenchKind;
  /** Default per kind: relay users-to-owner, mm c2s, udp c2s, events event. */
  readonly mode?: BenchMode;
  /** Sending clients: relay users per joint, mm/udp/events clients. Default 10. */
  readonly users?: number;
  /** relay: joints (rooms) loaded at once, each with one owner and `users` users. Default 1. */
  readonly joints?: number;
  /** Payload bytes per frame (at least STAMP_BYTES), or a range. Default 64. */
  readonly size?: number | SizeRange;
  /** relay: connect over WebSocket instead of raw TCP. */
  readonly ws?: boolean;
  /** mm: the server's hex key (AES-GCM). */
  readonly key?: string;
  /** udp: the UdpPipe handshake token of the target (1-64 printable ASCII); default UdpPipe's. */
  readonly token?: string;
  /** Closed loop: frames in flight per sender. Default 16. Ignored when `rate` is set. */
  readonly window?: number;
  /** Open loop: frames per second per sender, latency from the intended send time. */
  readonly rate?: number;
  /** Measured seconds. Default 10. */
  readonly durationSec?: number;
  /** Seconds of load before measuring starts (not counted). Default 1. */
  readonly warmupSec?: number;
  /** After the measured period, how long frames in flight may still arrive before they count as lost. Default 2000. */
  readonly drainMs?: number;
  /**
   * A frame not delivered within this (from when it was handed to the driver) is counted lost and
   * frees its window slot (closed loop) or its place among the frames in flight (open loop, which
   * bounds the generator's memory). Default 5000.
   */
  readonly frameTimeoutMs?: number;
  /** Worker threads the connections are spread over (0 = all on the calling thread). Default 0. */
  readonly workers?: number;
  /**
   * What each payload's checksum covers (stamp.ts): `full` (default) every byte; `stamp` the
   * stamp and three sampled words of the filler, which costs the generator the same at every
   * size but misses a changed byte outside the sample (docs/bench.md, the delivery counts).
   */
  readonly verify?: StampVerify;
  /** Give up on connecting after this long. Default 10000. */
  readonly connectTimeoutMs?: number;
  /** Called about once a second while measuring (the CLI's progress line). */
  readonly onProgress?: (progress: BenchProgress) => void;
  /** Stops the run early (the measured part ends, then the drain). */
  readonly signal?: AbortSignal;
}

/** A live snapshot, once a second. */
export interface BenchProgress {
  readonly elapsedSec: number;
  readonly framesPerSec: number;
  readonly p99Ms: number;
}

/** What the engine gives a driver. Every field is resolved (defaults applied). */
export interface DriverContext {
  readonly options: ResolvedBenchOptions;
  /** This thread's index among the workers (0 when there are none). */
  readonly worker: number;
  readonly workers: number;
  /**
   * Global id of this thread's first sender: sender i of this driver is stamped as
   * `senderBase + i`, so ids are unique across workers.
   */
  readonly senderBase: number;
}

/**
 * How one protocol moves stamped payloads. The engine sets `deliver` and `fail` before `open`.
 * A driver never looks inside a payload: it sends the bytes and hands back the bytes it receives.
 */
export interface BenchDriver {
  /** Sending streams this driver opened (the engine drives each with its own window or rate). */
  readonly senders: number;
  /** Receivers of each frame sender i sends: 1 for unicast and echo, the joint's users for broadcast. */
  fanout(sender: number): number;
  /** Whether the transport promises per-sender order (reordering is counted only then). */
  readonly ordered: boolean;
  /**
   * True when `send()` is done with the payload once it returns (it copied the bytes or wrote them
   * synchronously): the engine then writes every frame of a sender into one reused buffer.
   * Default false: every frame gets its own buffer, so a driver may keep the payload (a queued
   * `socket.write(payload)`) until it is sent.
   */
  readonly copiesPayload?: boolean;
  /** Connects everything; rejects with a clear error when the target is not there. */
  open(): Promise<void>;
  /**
   * Sends one payload from `sender`. Returns false, sending nothing, when the transport cannot take
   * it now (its buffer is full); the engine retries later with the same stamp.
   */
  send(sender: number, payload: Uint8Array): boolean;
  /**
   * Set by the engine: a payload arrived at `receiver` (any number; only used to count per
   * receiver). The payload may be a view into the driver's receive buffer: the engine reads it
   * during the call only. Deliveries of a sender must reach the engine of the thread that sent it
   * (a driver keeps each delivery group, e.g. a joint's owner and users, on one thread).
   */
  deliver: (payload: Uint8Array, receiver: number) => void;
  /**
   * Set by the engine, as `deliver`: the payload `bytes[offset, offset + length)` arrived at
   * `receiver`, read during the call without a view per payload (a driver that finds payloads in
   * its receive buffer calls this rather than `deliver(bytes.subarray(...))`, whose view per
   * delivery showed in the generator's profile). A driver need not declare it.
   */
  deliverAt?: (bytes: Uint8Array, offset: number, length: number, receiver: number) => void;
  /** Set by the engine: something went wrong (a connection lost, a protocol error). Counted and reported. */
  fail: (error: Error) => void;
  /** Closes every connection; resolves when all are closed. */
  close(): Promise<void>;
}

/** Builds the driver for this thread's share of the connections. */
export type DriverFactory = (context: DriverContext) => BenchDriver;

/** BenchOptions with every default applied (what a result records). */
export interface ResolvedBenchOptions {
  readonly kind: BenchKind;
  readonly host: string;
  readonly port: number;
  readonly mode: BenchMode;
  readonly users: number;
  readonly joints: number;
  readonly size: SizeRange;
  readonly ws: boolean;
  readonly key: string | null;
  /** udp: the handshake token, or null for UdpPipe's default. */
  readonly token: string | null;
  /** null in an open-loop run. */
  readonly window: number | null;
  /** null in a closed-loop run. */
  readonly rate: number | null;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly drainMs: number;
  readonly frameTimeoutMs: number;
  readonly workers: number;
  readonly connectTimeoutMs: number;
  readonly verify: StampVerify;
}

/** Latency in milliseconds, from HdrHistogram. */
export interface LatencySummary {
  readonly samples: number;
  readonly min: number;
  readonly mean: number;
  readonly stdev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** A per-second rate over the measured seconds. */
export interface RateSummary {
  readonly mean: number;
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
  readonly total: number;
}

/** What happened to the frames of the measured period. */
export interface DeliveryCounts {
  /** Frames sent (each counts once, whatever its fanout). */
  readonly sent: number;
  /** Deliveries expected: the sum of each sent frame's fanout. */
  readonly expected: number;
  /** Deliveries that arrived intact, first time. */
  readonly delivered: number;
  /** Expected deliveries that never arrived (by the end of the drain, or the frame timeout). */
  readonly lost: number;
  /** Deliveries that arrived after a later frame of the same sender (ordered transports only). */
  readonly reordered: number;
  /** Deliveries whose stamp or checksum did not verify. */
  readonly corrupted: number;
  /** Deliveries of a frame the receiver had already had. */
  readonly duplicated: number;
  /** Sends the transport refused for a while (the frame was retried). */
  readonly refused: number;
}

/** One second of the measured period (for latency over time). */
export interface TimelinePoint {
  readonly second: number;
  readonly frames: number;
  readonly bytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What the generator itself cost, so a user can tell when the result is the generator's limit. */
export interface GeneratorCost {
  readonly workers: number;
  /** CPU time of the whole process over the measured period (all threads), in ms. */
  readonly cpuMs: number;
  /** cpuMs as a share of one core over the measured period, in percent (200 = two cores busy). */
  readonly cpuPercent: number;
  /** Generator CPU per delivered frame, in microseconds. */
  readonly cpuUsPerFrame: number;
}

/** Everything one run measured. `--json` writes this (schema: docs/bench-result.schema.json). */
export interface BenchResult {
  readonly schema: 'gamewire-bench/1';
  readonly options: ResolvedBenchOptions;
  readonly startedAt: string;
  /** Measured seconds actually run (shorter when aborted). */
  readonly durationSec: number;
  readonly latency: LatencySummary;
  /** Percentile curve for charts: [percentile, ms] pairs from p0 to p100. */
  readonly percentiles: ReadonlyArray<readonly [number, number]>;
  readonly framesPerSec: RateSummary;
  readonly bytesPerSec: RateSummary;
  readonly counts: DeliveryCounts;
  /** Errors by message, most frequent first. */
  readonly errors: ReadonlyArray<{ readonly message: string; readonly count: number }>;
  readonly timeline: readonly TimelinePoint[];
  readonly generator: GeneratorCost;
}

/** `--compare`: the same load against two targets, alternately. */
export interface BenchComparison {
  readonly schema: 'gamewire-bench-compare/1';
  readonly a: BenchTarget;
  readonly b: BenchTarget;
  /** Rounds in the order they ran: a, b, a, b ... */
  readonly rounds: readonly { readonly target: 'a' | 'b'; readonly result: BenchResult }[];
  /** Medians of the rounds of each target. */
  readonly summary: {
    readonly a: ComparedFigures;
    readonly b: ComparedFigures;
    /** b / a for each figure. */
    readonly ratio: ComparedFigures;
  };
}

export interface ComparedFigures {
  readonly framesPerSec: number;
  readonly bytesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
}
