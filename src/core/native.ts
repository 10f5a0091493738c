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
import { chunkPrefixBytesFor, varintMax, VARINT_MAX_BYTES, VARINT_MIN_BYTES } from '../codec/varint.js';
import { ErrorCode } from './errors.js';
import { addon, addonLoadError, type AddonExports } from './load.js';
import {
  AEAD_MAX_COUNTER,
  AEAD_NONCE_PREFIX_BYTES,
  AEAD_TAG_BYTES,
  EVENT_RING_ARENA_BYTES,
  EVENT_RING_CAPACITY,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_BYTES_LIMIT,
  MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_STREAMS,
  MAX_EVENT_RING_ARENA_BYTES,
  MAX_UNITS_PER_FEED,
} from './limits.js';
import {
  AEAD_JOB_STRIDE,
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

/** Slots before the units in a parser's state array: [consumed, error, carrySize] (addon.cc kMetaSlots). */
const META_SLOTS = 3;
const META_CONSUMED = 0;
const META_ERROR = 1;
const META_CARRY_SIZE = 2;

/** Largest `maxUnits` / `maxStreams`, as in the twins (their MAX_UNITS_LIMIT, MAX_STREAMS_LIMIT). */
const MAX_UNITS_LIMIT = 2 ** 20;
const MAX_STREAMS_LIMIT = 2 ** 20;
/** Largest command/control payload of the joint protocol (joint.md §7): the joint carry size. */
const JOINT_MAX_PAYLOAD_BYTES = 255;
/** Smallest carry buffer worth allocating; growth doubles from here up to the component's limit. */
const MIN_CARRY_BYTES = 256;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const EMPTY = new Uint8Array(0);

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

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

function checkBytes(what: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Throws a RangeError unless `[offset, offset + length)` lies inside `buf` (overflow-safe). */
function checkSpan(what: string, buf: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(`${what} offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`${what} length must be a non-negative integer, got ${length}`);
  }
  if (length > buf.length || offset > buf.length - length) {
    throw new RangeError(`${what} span [${offset}, ${offset} + ${length}) exceeds its buffer of ${buf.length} bytes`);
  }
}

/** The feed bounds check of the FrameDecoder and ChunkAssembler twins. */
function checkFeedSpan(input: Uint8Array, offset: number, length: number): void {
  checkBytes('input', input);
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > input.length) {
    throw new RangeError(`offset ${offset} + length ${length} must lie within input.length ${input.length}`);
  }
}

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
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
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { direction, maxUnits = MAX_UNITS_PER_FEED } = options;
    if (direction !== JointDirection.ToRelay && direction !== JointDirection.ToClient) {
      throw new RangeError(`direction must be 0 (ToRelay) or 1 (ToClient), got ${String(direction)}`);
    }
    if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > MAX_UNITS_LIMIT) {
      throw new RangeError(`maxUnits must be an integer in 1..${MAX_UNITS_LIMIT}, got ${String(maxUnits)}`);
    }
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
    if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
    if (typeof offset !== 'number') throw new TypeError('offset must be a number');
    if (typeof length !== 'number') throw new TypeError('length must be a number');
    if (!Number.isInteger(offset) || offset < 0 || offset > input.length) {
      throw new RangeError(`offset must be an integer in 0..${input.length}, got ${offset}`);
    }
    if (!Number.isInteger(length) || length < 0 || length > input.length - offset) {
      throw new RangeError(`length must be an integer in 0..${input.length - offset}, got ${length}`);
    }
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
  protected carryBuf: Uint8Array = EMPTY;

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
    const size = Math.min(Math.max(need, this.carryBuf.length * 2, MIN_CARRY_BYTES), limit);
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
    const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    const maxUnits = options.maxUnits ?? MAX_UNITS_PER_FEED;
    checkInteger('maxFrameBytes', maxFrameBytes, 1, MAX_FRAME_BYTES_LIMIT);
    checkInteger('maxUnits', maxUnits, 1, MAX_UNITS_LIMIT);
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
    const maxChunkBytes = options.maxChunkBytes ?? MAX_CHUNK_BYTES;
    checkInteger('maxChunkBytes', maxChunkBytes, 1, MAX_CHUNK_BYTES_LIMIT);
    const prefixBytes = options.prefixBytes ?? chunkPrefixBytesFor(maxChunkBytes);
    checkInteger('prefixBytes', prefixBytes, VARINT_MIN_BYTES, VARINT_MAX_BYTES);
    // joint.md §10.1: an N-byte prefix expresses lengths up to varintMax(N) + 1.
    checkInteger('maxChunkBytes', maxChunkBytes, 1, varintMax(prefixBytes) + 1);
    const maxStreams = options.maxStreams ?? MAX_STREAMS;
    checkInteger('maxStreams', maxStreams, 1, MAX_STREAMS_LIMIT);
    const maxUnits = options.maxUnits ?? MAX_UNITS_PER_FEED;
    checkInteger('maxUnits', maxUnits, 1, MAX_UNITS_LIMIT);
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
    this.checkStream(stream);
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
    this.checkStream(stream);
    this.native.dropStream(stream);
  }

  private checkStream(stream: number): void {
    if (!Number.isInteger(stream) || stream < 0 || stream >= this.maxStreams) {
      throw new RangeError(`stream must be an integer in 0..${this.maxStreams - 1}, got ${stream}`);
    }
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
    checkBytes('key', key);
    checkBytes('noncePrefix', noncePrefix);
    if (key.length !== 16 && key.length !== 32) {
      throw new RangeError(`key must be 16 bytes (AES-128) or 32 bytes (AES-256), got ${key.length}`);
    }
    if (noncePrefix.length !== AEAD_NONCE_PREFIX_BYTES) {
      throw new RangeError(`noncePrefix must be ${AEAD_NONCE_PREFIX_BYTES} bytes, got ${noncePrefix.length}`);
    }
    if (!Number.isInteger(startCounter) || startCounter < 0 || startCounter > AEAD_MAX_COUNTER) {
      throw new RangeError(`startCounter must be an integer in [0, ${AEAD_MAX_COUNTER}], got ${startCounter}`);
    }
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
    checkBytes('input', input);
    checkBytes('output', output);
    checkSpan('input', input, inOffset, inLength);
    checkSpan('output', output, outOffset, inLength + AEAD_TAG_BYTES);
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
    checkBytes('input', input);
    checkBytes('output', output);
    checkSpan('input', input, inOffset, inLength);
    checkSpan('output', output, outOffset, Math.max(0, inLength - AEAD_TAG_BYTES));
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
    this.checkBatch(input, output, jobs, count);
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
    this.checkBatch(input, output, jobs, count);
    const done = this.native.openBatch(input, output, jobs, count);
    this.next += done;
    return done;
  }

  // Types and count here; the per-job spans (and MAX_SEAL_JOB_BYTES) in C++, before any job runs.
  private checkBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): void {
    checkBytes('input', input);
    checkBytes('output', output);
    if (!(jobs instanceof Int32Array)) throw new TypeError('jobs must be an Int32Array');
    if (!Number.isInteger(count) || count < 0 || count > jobs.length / AEAD_JOB_STRIDE) {
      throw new RangeError(`count must be an integer in [0, ${Math.floor(jobs.length / AEAD_JOB_STRIDE)}], got ${count}`);
    }
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
    const capacity = options.capacity ?? EVENT_RING_CAPACITY;
    const arenaBytes = options.arenaBytes ?? EVENT_RING_ARENA_BYTES;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > INT32_MAX) {
      throw new RangeError(`capacity must be an integer in [1, ${INT32_MAX}], got ${capacity}`);
    }
    if (!Number.isInteger(arenaBytes) || arenaBytes < 0 || arenaBytes > MAX_EVENT_RING_ARENA_BYTES) {
      throw new RangeError(`arenaBytes must be an integer in [0, ${MAX_EVENT_RING_ARENA_BYTES}], got ${arenaBytes}`);
    }
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
    if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
    if (!isInt32(kind)) throw new RangeError(`kind must be an int32, got ${kind}`);
    checkSpan('payload', payload, offset, length);
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
    if (!(meta instanceof Float64Array)) throw new TypeError('meta must be a Float64Array');
    if (!(payloads instanceof Uint8Array)) throw new TypeError('payloads must be a Uint8Array');
    const maxCount = Math.floor(meta.length / RING_ENTRY_STRIDE);
    if (!Number.isInteger(count) || count < 0 || count > maxCount) {
      throw new RangeError(`count must be an integer in [0, ${maxCount}], got ${count}`);
    }
    for (let i = 0; i < count; i++) {
      const m = i * RING_ENTRY_STRIDE;
      if (!isInt32(meta[m]!)) throw new RangeError(`event ${i} kind must be an int32, got ${meta[m]}`);
      checkSpan(`event ${i} payload`, payloads, meta[m + 3]!, meta[m + 4]!);
    }
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
