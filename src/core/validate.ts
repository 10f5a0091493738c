/**
 * Misuse checks shared by each TypeScript twin and its native wrapper (src/core/native.ts), so
 * both implementations refuse the same arguments with the same errors and messages. Network
 * input is never checked here: these throw only on bad calls from our own code (STYLE.md).
 * No Node built-ins: the TypeScript twins also run in browsers.
 */
import {
  AEAD_MAX_COUNTER,
  AEAD_NONCE_PREFIX_BYTES,
  AEAD_TAG_BYTES,
  EVENT_RING_ARENA_BYTES,
  EVENT_RING_CAPACITY,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_BYTES_LIMIT,
  MAX_EVENT_RING_ARENA_BYTES,
  MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_STREAMS,
  MAX_UNITS_PER_FEED,
} from './limits.js';
import {
  AEAD_JOB_STRIDE,
  JointDirection,
  RING_ENTRY_STRIDE,
  type ChunkAssemblerOptions,
  type EventRingOptions,
  type FrameDecoderOptions,
  type JointParserOptions,
} from './types.js';
import { chunkPrefixBytesFor, varintMax, VARINT_MAX_BYTES, VARINT_MIN_BYTES } from './varint.js';

/**
 * Largest `maxUnits` accepted: 2^20 units is a 12 MiB result array (24 MiB for the joint
 * parser), far past any read. The addon checks the same ceiling (addon.cc kMaxUnitsLimit).
 * TODO(issue pending): move to `limits.ts` beside MAX_UNITS_PER_FEED.
 */
export const MAX_UNITS_LIMIT = 2 ** 20;

/**
 * Largest `maxStreams` accepted: 2^20 stream records is ~100 MiB of state before any buffer.
 * TODO(issue pending): move to `limits.ts` beside MAX_STREAMS.
 */
export const MAX_STREAMS_LIMIT = 2 ** 20;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** True when `v` is an integer in the int32 range. */
export function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** Throws a RangeError unless `value` is an integer in `min..max`. */
export function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** Throws a TypeError unless `value` is a Uint8Array. */
export function checkBytes(what: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Throws a RangeError unless `[offset, offset + length)` lies inside `buf` (overflow-safe). */
export function checkSpan(what: string, buf: Uint8Array, offset: number, length: number): void {
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

// ---------------------------------------------------------------------------------------------
// Parsers

/** The arguments of a JointParser `feed(input, offset, length)`. */
export function checkJointFeed(input: Uint8Array, offset: number, length: number): void {
  if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
  if (typeof offset !== 'number') throw new TypeError('offset must be a number');
  if (typeof length !== 'number') throw new TypeError('length must be a number');
  if (!Number.isInteger(offset) || offset < 0 || offset > input.length) {
    throw new RangeError(`offset must be an integer in 0..${input.length}, got ${offset}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > input.length - offset) {
    throw new RangeError(`length must be an integer in 0..${input.length - offset}, got ${length}`);
  }
}

/** The arguments of a FrameDecoder or ChunkAssembler `feed(…, input, offset, length)`. */
export function checkFeedSpan(input: Uint8Array, offset: number, length: number): void {
  if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > input.length) {
    throw new RangeError(`offset ${offset} + length ${length} must lie within input.length ${input.length}`);
  }
}

/** A ChunkAssembler stream id. Stream ids come from our own code, not the network: a bad one is misuse. */
export function checkStream(stream: number, maxStreams: number): void {
  if (!Number.isInteger(stream) || stream < 0 || stream >= maxStreams) {
    throw new RangeError(`stream must be an integer in 0..${maxStreams - 1}, got ${stream}`);
  }
}

/** JointParser options, checked, with defaults applied. */
export function jointParserOptions(options: JointParserOptions): { direction: JointDirection; maxUnits: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { direction, maxUnits = MAX_UNITS_PER_FEED } = options;
  if (direction !== JointDirection.ToRelay && direction !== JointDirection.ToClient) {
    throw new RangeError(`direction must be 0 (ToRelay) or 1 (ToClient), got ${String(direction)}`);
  }
  if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > MAX_UNITS_LIMIT) {
    throw new RangeError(`maxUnits must be an integer in 1..${MAX_UNITS_LIMIT}, got ${String(maxUnits)}`);
  }
  return { direction, maxUnits };
}

/** FrameDecoder options, checked, with defaults applied. */
export function frameDecoderOptions(options: FrameDecoderOptions): { maxFrameBytes: number; maxUnits: number } {
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const maxUnits = options.maxUnits ?? MAX_UNITS_PER_FEED;
  checkInteger('maxFrameBytes', maxFrameBytes, 1, MAX_FRAME_BYTES_LIMIT);
  checkInteger('maxUnits', maxUnits, 1, MAX_UNITS_LIMIT);
  return { maxFrameBytes, maxUnits };
}

/** ChunkAssembler options, checked, with defaults applied. */
export function chunkAssemblerOptions(options: ChunkAssemblerOptions): {
  maxChunkBytes: number;
  prefixBytes: number;
  maxStreams: number;
  maxUnits: number;
} {
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
  return { maxChunkBytes, prefixBytes, maxStreams, maxUnits };
}

// ---------------------------------------------------------------------------------------------
// Aead

/** The Aead constructor's arguments. */
export function checkAeadKey(key: Uint8Array, noncePrefix: Uint8Array, startCounter: number): void {
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
}

/**
 * The arguments of `seal` (`sealing`) or `open`: both spans inside their buffers, the output
 * span `inLength + 16` bytes for a seal and `inLength - 16` (at least 0) for an open.
 */
export function checkAeadOne(
  input: Uint8Array,
  inOffset: number,
  inLength: number,
  output: Uint8Array,
  outOffset: number,
  sealing: boolean,
): void {
  checkBytes('input', input);
  checkBytes('output', output);
  checkSpan('input', input, inOffset, inLength);
  checkSpan('output', output, outOffset, sealing ? inLength + AEAD_TAG_BYTES : Math.max(0, inLength - AEAD_TAG_BYTES));
}

/** A batch's buffers, jobs array and count; the per-job spans are the implementation's to check. */
export function checkAeadBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): void {
  checkBytes('input', input);
  checkBytes('output', output);
  if (!(jobs instanceof Int32Array)) throw new TypeError('jobs must be an Int32Array');
  if (!Number.isInteger(count) || count < 0 || count > jobs.length / AEAD_JOB_STRIDE) {
    throw new RangeError(`count must be an integer in [0, ${Math.floor(jobs.length / AEAD_JOB_STRIDE)}], got ${count}`);
  }
}

// ---------------------------------------------------------------------------------------------
// EventRing

/** EventRing options, checked, with defaults applied. */
export function eventRingOptions(options: EventRingOptions): { capacity: number; arenaBytes: number } {
  const capacity = options.capacity ?? EVENT_RING_CAPACITY;
  const arenaBytes = options.arenaBytes ?? EVENT_RING_ARENA_BYTES;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > INT32_MAX) {
    throw new RangeError(`capacity must be an integer in [1, ${INT32_MAX}], got ${capacity}`);
  }
  if (!Number.isInteger(arenaBytes) || arenaBytes < 0 || arenaBytes > MAX_EVENT_RING_ARENA_BYTES) {
    throw new RangeError(`arenaBytes must be an integer in [0, ${MAX_EVENT_RING_ARENA_BYTES}], got ${arenaBytes}`);
  }
  return { capacity, arenaBytes };
}

/** The arguments of an EventRing `push` that are not stored as is. */
export function checkRingPush(kind: number, payload: Uint8Array, offset: number, length: number): void {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (!isInt32(kind)) throw new RangeError(`kind must be an int32, got ${kind}`);
  checkSpan('payload', payload, offset, length);
}

/** The arguments of an EventRing `pushBatch`, every event's kind and span included. */
export function checkRingBatch(meta: Float64Array, count: number, payloads: Uint8Array): void {
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
}

// ---------------------------------------------------------------------------------------------
// Public API arguments shared by every style

/**
 * Throws a TypeError naming the first key of `options` that is not in `known`, e.g.
 * `UdpPipe: unknown option 'tokn' (known: mode, token, …)`. A misspelt option would otherwise
 * be ignored and its default used without a word (issue 16).
 * @param who what is being constructed or called, e.g. `'PeoteServer'` or `'Relay.listen'`
 * @param options the options object as given (undefined and null pass)
 * @param known every accepted key
 * @throws TypeError when `options` is not an object, or has a key outside `known`
 */
export function rejectUnknownOptions(who: string, options: unknown, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${who}: options must be an object, got ${describeType(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${who}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
}

/** `a string`, `an array`, `null`, `a number`...: for "got ..." in misuse messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a ${value.constructor.name}`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null ? 'an object' : `an instance of ${proto.constructor?.name ?? 'an unknown class'}`;
  }
  return `a ${typeof value}`;
}

/**
 * Throws unless `port` is an integer in `min..65535`: TypeError when it is not a number (naming
 * what it is, e.g. `port must be a number, got a string ('4096')`), RangeError when it is out of
 * range or fractional.
 */
export function checkPortArgument(name: string, port: unknown, min = 1): asserts port is number {
  if (typeof port !== 'number') {
    const shown = typeof port === 'string' ? ` ('${port.length > 20 ? `${port.slice(0, 20)}…` : port}')` : '';
    throw new TypeError(`${name} must be a number, got ${describeType(port)}${shown}`);
  }
  if (!Number.isInteger(port) || port < min || port > 65535) throw new RangeError(`${name} must be an integer in ${min}..65535, got ${port}`);
}

/** Throws a TypeError unless `host` is a non-empty string. */
export function checkHostArgument(name: string, host: unknown): asserts host is string {
  if (typeof host !== 'string' || host.length === 0) {
    throw new TypeError(`${name} must be a non-empty string, got ${typeof host === 'string' ? "''" : describeType(host)}`);
  }
}

/** Throws a TypeError unless `value` is a Uint8Array (a Buffer is one), naming the argument and what it got. */
export function checkPayload(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    const hint = typeof value === 'string' ? ' (encode text first, e.g. new TextEncoder().encode(text))' : '';
    throw new TypeError(`${name} must be a Uint8Array, got ${describeType(value)}${hint}`);
  }
}
