/**
 * The native implementations: thin wrappers over the addon's classes (`native/addon.cc`), with
 * the same interfaces, constructor signatures and misuse checks as the TypeScript twins.
 *
 * Boundary (DESIGN.md "The native boundary"): each wrapper allocates its typed arrays once and
 * hands them to the addon at construction; a `feed()`, batch or poll is one call into C++ that
 * fills them. A parser's state array is `[consumed, error, carrySize, units...]` and `units` is
 * a view of it; the one unit per feed that lies in carry is copied into a JS-owned carry buffer,
 * which grows (one extra call, rarely) when a carried frame is larger than it.
 */
import { EMPTY_BYTES, grownSize } from './carry-buffer.js';
import { ErrorCode } from './errors.js';
import { JOINT_MAX_PAYLOAD_BYTES } from './joint-parser.js';
import { addon, addonLoadError, type AddonExports } from './load.js';
import {
  CHUNK_UNIT_STRIDE,
  FRAME_UNIT_STRIDE,
  JOINT_UNIT_STRIDE,
  JointDirection,
  RING_ENTRY_STRIDE,
  type Aead,
  type ChunkAssembler,
  type ChunkAssemblerOptions,
  type EventRing,
  type EventRingOptions,
  type FrameDecoder,
  type FrameDecoderOptions,
  type JointParser,
  type JointParserOptions,
} from './types.js';
import {
  checkAeadBatch,
  checkAeadKey,
  checkAeadOne,
  checkFeedSpan,
  checkJointFeed,
  checkRingBatch,
  checkRingPush,
  checkStream,
  chunkAssemblerOptions,
  eventRingOptions,
  frameDecoderOptions,
  jointParserOptions,
} from './validate.js';

/** Slots before the units in a parser's state array: [consumed, error, carrySize] (addon.cc kMetaSlots). */
const META_SLOTS = 3;
const META_CONSUMED = 0;
const META_ERROR = 1;
const META_CARRY_SIZE = 2;

// The addon's instances, as native/addon.cc defines their methods.
interface NativeParser {
  feed(input: Uint8Array, offset: number, length: number): number;
  reset(): void;
  copyCarry(carry: Uint8Array): void;
}
interface NativeChunkAssembler {
  feed(stream: number, input: Uint8Array, offset: number, length: number): number;
  dropStream(stream: number): void;
  copyCarry(carry: Uint8Array): void;
}
interface NativeAead {
  seal(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number;
  open(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number;
  sealBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number;
  openBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number;
}
interface NativeEventRing {
  push(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number;
  pushBatch(meta: Float64Array, count: number, payloads: Uint8Array): number;
  poll(): number;
}

function requireAddon(name: string): AddonExports {
  if (addon === null) {
    const why = addonLoadError()?.message.split('\n')[0] ?? 'GAMEWIRE_NATIVE=0';
    throw new Error(`${name}: the gamewire addon is not loaded (${why})`);
  }
  return addon;
}

/**
 * JointParser on the addon; the same interface and results as `JointParserJs`.
 * `units` and `carry()` are borrowed until the next `feed()`.
 */
export class JointParserNative implements JointParser {
  /** Which stream this parser reads. */
  readonly direction: JointDirection;
  /** Units of the last `feed()`: `[kind, flags, a, b, offset, length]` × count. Reused; do not keep. */
  readonly units: Int32Array;
  private readonly state: Int32Array;
  private readonly carryBuf = new Uint8Array(JOINT_MAX_PAYLOAD_BYTES);
  private readonly native: NativeParser;

  /**
   * @param options.direction `JointDirection.ToRelay` (0) or `JointDirection.ToClient` (1).
   * @param options.maxUnits units per `feed()`, 1..2^20 (default `MAX_UNITS_PER_FEED`).
   * @throws {TypeError} when `options` is not an object.
   * @throws {RangeError} when `direction` is not 0 or 1, or `maxUnits` is out of range.
   * @throws {Error} when the addon is not loaded.
   */
  constructor(options: JointParserOptions) {
    const { direction, maxUnits } = jointParserOptions(options);
    const lib = requireAddon('JointParserNative');
    this.direction = direction;
    this.state = new Int32Array(META_SLOTS + maxUnits * JOINT_UNIT_STRIDE);
    this.units = this.state.subarray(META_SLOTS);
    this.native = new lib.JointParser(direction, this.state, this.carryBuf) as NativeParser;
  }

  /** Bytes of the last `feed()`'s input consumed: less than its length only when `units` filled up or on error. */
  get consumed(): number {
    return this.state[META_CONSUMED]!;
  }

  /** `ErrorCode.Ok`, or the error that stopped parsing; sticky until `reset()`. */
  get error(): number {
    return this.state[META_ERROR]!;
  }

  /** The buffer the (at most one) `InCarry` unit of the last `feed()` points into; borrowed until the next `feed()`. */
  carry(): Uint8Array {
    return this.carryBuf;
  }

  /**
   * Parse `input[offset, offset + length)`; see `JointParserJs.feed`.
   * @returns the number of units written to `units`.
   * @throws {TypeError} when `input` is not a Uint8Array or a bound is not a number.
   * @throws {RangeError} when `offset` or `length` is outside `input`.
   */
  feed(input: Uint8Array, offset: number, length: number): number {
    checkJointFeed(input, offset, length);
    return this.native.feed(input, offset, length);
  }

  /** Forget all state, any partial unit and any error. */
  reset(): void {
    this.native.reset();
    this.state[META_CONSUMED] = 0;
    this.state[META_ERROR] = ErrorCode.Ok;
  }
}

/**
 * The part the FrameDecoder and ChunkAssembler wrappers share: the state array and a carry
 * buffer grown on demand up to `limit`.
 */
abstract class CarryingParser {
  readonly units: Int32Array;
  protected readonly state: Int32Array;
  protected carryBuf: Uint8Array = EMPTY_BYTES;

  constructor(maxUnits: number, stride: number) {
    this.state = new Int32Array(META_SLOTS + maxUnits * stride);
    this.units = this.state.subarray(META_SLOTS);
  }

  /** Bytes of the last `feed()`'s input consumed; less than its length when units filled up or on error. */
  get consumed(): number {
    return this.state[META_CONSUMED]!;
  }

  /** The buffer `InCarry` units point into. Borrowed until the next `feed()`. */
  carry(): Uint8Array {
    return this.carryBuf;
  }

  /** After a feed: when the carried unit did not fit the carry buffer, grow it and fetch the bytes. */
  protected settleCarry(native: { copyCarry(carry: Uint8Array): void }, limit: number): void {
    const need = this.state[META_CARRY_SIZE]!;
    if (need <= this.carryBuf.length) return;
    const size = grownSize(this.carryBuf.length, need, limit);
    const grown = new Uint8Array(size);
    native.copyCarry(grown);
    this.carryBuf = grown;
  }
}

/** FrameDecoder on the addon; the same interface and results as `FrameDecoderJs`. */
export class FrameDecoderNative extends CarryingParser implements FrameDecoder {
  /** Largest accepted body length (bytes). */
  readonly maxFrameBytes: number;
  private readonly native: NativeParser;

  /**
   * @param options.maxFrameBytes largest body length, 1..MAX_FRAME_BYTES_LIMIT (default `MAX_FRAME_BYTES`)
   * @param options.maxUnits units per feed, 1..2^20 (default `MAX_UNITS_PER_FEED`)
   * @throws RangeError when an option is out of range; Error when the addon is not loaded
   */
  constructor(options: FrameDecoderOptions = {}) {
    const { maxFrameBytes, maxUnits } = frameDecoderOptions(options);
    super(maxUnits, FRAME_UNIT_STRIDE);
    const lib = requireAddon('FrameDecoderNative');
    this.maxFrameBytes = maxFrameBytes;
    this.native = new lib.FrameDecoder(maxFrameBytes, this.state, this.carryBuf) as NativeParser;
  }

  /** `ErrorCode.Ok`, or the error that stopped parsing; sticky until `reset()`. */
  get error(): number {
    return this.state[META_ERROR]!;
  }

  /**
   * Parse `input[offset, offset + length)`; see `FrameDecoderJs.feed`.
   * @returns the number of units written to `units`; then check `error` and `consumed`
   * @throws RangeError when `offset`/`length` fall outside `input`; TypeError when `input` is not a Uint8Array
   */
  feed(input: Uint8Array, offset: number, length: number): number {
    checkFeedSpan(input, offset, length);
    const count = this.native.feed(input, offset, length);
    this.settleCarry(this.native, this.maxFrameBytes);
    return count;
  }

  /** Forget all state and any error; keeps the buffers for reuse. */
  reset(): void {
    this.native.reset();
    this.state[META_CONSUMED] = 0;
    this.state[META_ERROR] = ErrorCode.Ok;
  }
}

/** ChunkAssembler on the addon; the same interface and results as `ChunkAssemblerJs`. */
export class ChunkAssemblerNative extends CarryingParser implements ChunkAssembler {
  /** Largest chunk (bytes). */
  readonly maxChunkBytes: number;
  /** Varint width N of the chunk prefix, 1..4. */
  readonly prefixBytes: number;
  /** Stream ids are 0..maxStreams-1. */
  readonly maxStreams: number;
  private readonly native: NativeChunkAssembler;

  /**
   * @param options.maxChunkBytes largest chunk, 1..min(varintMax(prefixBytes) + 1, MAX_CHUNK_BYTES_LIMIT)
   *   (default `MAX_CHUNK_BYTES` = 32768)
   * @param options.prefixBytes prefix width N, 1..4 (default derived from maxChunkBytes, joint.md §10.2)
   * @param options.maxStreams stream ids 0..maxStreams-1, 1..2^20 (default `MAX_STREAMS`)
   * @param options.maxUnits units per feed, 1..2^20 (default `MAX_UNITS_PER_FEED`)
   * @throws RangeError when an option is out of range; Error when the addon is not loaded
   */
  constructor(options: ChunkAssemblerOptions = {}) {
    const { maxChunkBytes, prefixBytes, maxStreams, maxUnits } = chunkAssemblerOptions(options);
    super(maxUnits, CHUNK_UNIT_STRIDE);
    const lib = requireAddon('ChunkAssemblerNative');
    this.maxChunkBytes = maxChunkBytes;
    this.prefixBytes = prefixBytes;
    this.maxStreams = maxStreams;
    this.native = new lib.ChunkAssembler(maxChunkBytes, prefixBytes, maxStreams, this.state, this.carryBuf) as NativeChunkAssembler;
  }

  /** The fed stream's state after the last `feed()`: `ErrorCode.Ok` or its sticky error. */
  get error(): number {
    return this.state[META_ERROR]!;
  }

  /**
   * Parse `input[offset, offset + length)` as bytes of `stream`; see `ChunkAssemblerJs.feed`.
   * @returns the number of whole chunks written to `units`; then check `error` and `consumed`
   * @throws RangeError when `stream` is out of range or `offset`/`length` fall outside `input`
   */
  feed(stream: number, input: Uint8Array, offset: number, length: number): number {
    checkStream(stream, this.maxStreams);
    checkFeedSpan(input, offset, length);
    const count = this.native.feed(stream, input, offset, length);
    this.settleCarry(this.native, this.maxChunkBytes);
    return count;
  }

  /**
   * Forget a stream's partial chunk and error, and free its buffer (on disconnect).
   * @throws RangeError when `stream` is out of range
   */
  dropStream(stream: number): void {
    checkStream(stream, this.maxStreams);
    this.native.dropStream(stream);
  }
}

/**
 * AES-GCM on the addon (one reused OpenSSL context per direction of use); the same interface,
 * checks and bytes as `AeadJs`. Input and output spans may be the same memory, disjoint, or
 * (unlike a bare EVP call) partly overlapping: the core copies such an input aside first.
 */
export class AeadNative implements Aead {
  /** 16 (AES-128) or 32 (AES-256). */
  readonly keyBytes: number;
  private readonly native: NativeAead;
  // Mirrors the core's counter: every success advances both by one, so no call is needed to read it.
  private next: number;

  /**
   * @param key 16 bytes (AES-128) or 32 bytes (AES-256); copied.
   * @param noncePrefix `AEAD_NONCE_PREFIX_BYTES` (4) bytes; copied.
   * @param startCounter the first counter (default 0), an integer in [0, `AEAD_MAX_COUNTER`].
   * @throws TypeError when key or noncePrefix is not a Uint8Array; RangeError on a wrong length
   *   or startCounter; Error when the addon is not loaded.
   */
  constructor(key: Uint8Array, noncePrefix: Uint8Array, startCounter = 0) {
    checkAeadKey(key, noncePrefix, startCounter);
    const lib = requireAddon('AeadNative');
    this.keyBytes = key.length;
    this.native = new lib.Aead(key, noncePrefix, startCounter) as NativeAead;
    this.next = startCounter;
  }

  /** The counter the next seal/open uses. */
  get counter(): number {
    return this.next;
  }

  /**
   * Encrypt `input[inOffset, +inLength)` into `output` at `outOffset` (ciphertext then tag).
   * @returns `inLength + 16`, or `-ErrorCode.CounterExhausted` (nothing written).
   * @throws RangeError when a span lies outside its buffer (output needs inLength + 16 bytes).
   */
  seal(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    checkAeadOne(input, inOffset, inLength, output, outOffset, true);
    const r = this.native.seal(input, inOffset, inLength, output, outOffset);
    if (r >= 0) this.next++;
    return r;
  }

  /**
   * Verify and decrypt `input[inOffset, +inLength)` (ciphertext then tag) into `output`.
   * @returns plaintext bytes, `-ErrorCode.AuthFailed` (output region zeroed) or
   *   `-ErrorCode.CounterExhausted`; the counter advances only on success.
   * @throws RangeError when a span lies outside its buffer (output needs inLength - 16 bytes).
   */
  open(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    checkAeadOne(input, inOffset, inLength, output, outOffset, false);
    const r = this.native.open(input, inOffset, inLength, output, outOffset);
    if (r >= 0) this.next++;
    return r;
  }

  /**
   * Seal `count` jobs `[inOffset, inLength, outOffset, result]` in one call.
   * @returns the number of jobs sealed.
   * @throws RangeError, before any job runs, when `count` exceeds `jobs` or a job's span lies
   *   outside its buffer (checked in C++); TypeError on wrong argument types.
   */
  sealBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number {
    checkAeadBatch(input, output, jobs, count);
    const done = this.native.sealBatch(input, output, jobs, count);
    this.next += done;
    return done;
  }

  /**
   * Open `count` jobs in order in one call, stopping at the first failure.
   * @returns the number of jobs opened.
   * @throws as `sealBatch`.
   */
  openBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number {
    checkAeadBatch(input, output, jobs, count);
    const done = this.native.openBatch(input, output, jobs, count);
    this.next += done;
    return done;
  }
}

/** EventRing on the addon; the same interface and results as `EventRingJs`. */
export class EventRingNative implements EventRing {
  readonly capacity: number;
  readonly arenaBytes: number;
  /** The payload arena. Polled offsets point into it; borrowed until the next push. */
  readonly arena: Uint8Array;
  /** Entries of the last poll, `RING_ENTRY_STRIDE` slots each, oldest first. Reused. */
  readonly polled: Float64Array;
  // [size, dropped], written by every call.
  private readonly meta = new Float64Array(2);
  private readonly native: NativeEventRing;

  /**
   * @param options.capacity entries, default `EVENT_RING_CAPACITY` (2000); an integer >= 1.
   * @param options.arenaBytes payload arena bytes, default `EVENT_RING_ARENA_BYTES` (17 MiB).
   * @throws RangeError on a capacity or arenaBytes out of range; Error when the addon is not loaded.
   */
  constructor(options: EventRingOptions = {}) {
    const { capacity, arenaBytes } = eventRingOptions(options);
    const lib = requireAddon('EventRingNative');
    this.capacity = capacity;
    this.arenaBytes = arenaBytes;
    this.arena = new Uint8Array(arenaBytes);
    this.polled = new Float64Array(capacity * RING_ENTRY_STRIDE);
    this.native = new lib.EventRing(capacity, this.arena, this.polled, this.meta) as NativeEventRing;
  }

  /** Entries queued now. */
  get size(): number {
    return this.meta[0]!;
  }

  /** Entries dropped since construction (full ring or arena pressure). */
  get dropped(): number {
    return this.meta[1]!;
  }

  /**
   * Queue one event, copying `payload[offset, +length)` into the arena.
   * @returns entries dropped to make room, or `-ErrorCode.RingPayloadTooLarge`.
   * @throws TypeError when payload is not a Uint8Array; RangeError when kind is not an int32 or
   *   the span lies outside payload.
   */
  push(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number {
    checkRingPush(kind, payload, offset, length);
    // `+` as a Float64Array store converts: "any number, stored as is".
    return this.native.push(kind, +peer, +timestamp, payload, offset, length);
  }

  /**
   * Queue `count` events in one call; `meta` holds `[kind, peer, timestamp, offset, length]` each.
   * @returns the total entries dropped, or the first negative ErrorCode.
   * @throws TypeError on wrong argument types; RangeError, before anything is queued, when
   *   `count` exceeds `meta`, a kind is not an int32 or a span lies outside `payloads`.
   */
  pushBatch(meta: Float64Array, count: number, payloads: Uint8Array): number {
    checkRingBatch(meta, count, payloads);
    return this.native.pushBatch(meta, count, payloads);
  }

  /**
   * Move every queued entry into `polled` (oldest first) and empty the ring, in one call.
   * @returns the number of entries; their offsets point into `arena`, valid until the next push.
   */
  poll(): number {
    return this.native.poll();
  }
}
