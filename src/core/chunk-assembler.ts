/**
 * ChunkAssembler, the TypeScript twin of `native/chunk-assembler.{h,cc}`: same states, same
 * check order, same codes, same units (STYLE.md §2). Reassembles chunks (joint.md §10: varint of
 * length - 1 with N bytes, then the payload) per stream, across arbitrary splits.
 */
import * as carryBuffer from './carry-buffer.js';
import { BodyCollector, CarryBuffer } from './carry-buffer.js';
import { ErrorCode } from './errors.js';
import { CHUNK_UNIT_STRIDE, UnitFlag, type ChunkAssembler, type ChunkAssemblerOptions } from './types.js';
import { checkFeedSpan, checkStream, chunkAssemblerOptions } from './validate.js';
import * as varint from './varint.js';

const enum State {
  Prefix,
  Payload,
}

// What one pass of the loop did: moved on, or stopped (input ended or units full).
// A positive value is an ErrorCode.
const STEP_PROGRESS = -1;
const STEP_STOP = -2;

// Whole chunks only: every unit is both the start and the end of its chunk.
const WHOLE_CHUNK = UnitFlag.FrameStart | UnitFlag.FrameEnd;

// Held file-locally, as the varint consts below and for the same reason.
const BODY_NEED_MORE = carryBuffer.BODY_NEED_MORE;

// joint.md §10.1 varint bytes (flag, value bits, bits per group), held in file-local consts:
// the prefix loop reads them per byte, and reading the imported bindings there made the
// 32-1400 B feed 10-20% slower (a local node --import tsx run against the file-local literals).
const VARINT_MORE = varint.VARINT_MORE;
const VARINT_GROUP_MASK = varint.VARINT_GROUP_MASK;
const VARINT_GROUP_BITS = varint.VARINT_GROUP_BITS;

/** One stream's parsing state (`Stream` in C++). */
class Stream {
  state: State = State.Prefix;
  error: number = ErrorCode.Ok;
  // Prefix bytes read so far (0..N-1 between feeds) and the value decoded from them.
  prefixHave = 0;
  prefixValue = 0;
  // Length of the chunk being read.
  chunkLength = 0;
  // A chunk split across feeds is assembled here (grown up to maxChunkBytes, reused).
  readonly body = new BodyCollector();
}

/**
 * Reassembles chunks per stream, enforcing `maxChunkBytes`. An error fails only its stream.
 *
 * Results are units of `CHUNK_UNIT_STRIDE` slots in `units`: `[flags, offset, length]`, flags
 * always `FrameStart | FrameEnd`. A chunk whose payload lies wholly inside the input is a view
 * into it; the one chunk per feed that began in an earlier feed has `UnitFlag.InCarry` and its
 * offset points into `carry()`.
 */
export class ChunkAssemblerJs implements ChunkAssembler {
  /** Largest chunk (bytes). */
  readonly maxChunkBytes: number;
  /** Varint width N of the chunk prefix, 1..4. */
  readonly prefixBytes: number;
  /** Stream ids are 0..maxStreams-1. */
  readonly maxStreams: number;
  /** Units of the last `feed()`. Reused; do not keep. */
  readonly units: Int32Array;
  private readonly maxUnits: number;
  private readonly streams: Stream[];
  private errorCode: number = ErrorCode.Ok;
  private consumedBytes = 0;
  // A completed split chunk is swapped here from its stream's pending buffer, so a new partial
  // chunk later in the same feed cannot overwrite it.
  private readonly carryBuf = new CarryBuffer();

  /**
   * @param options.maxChunkBytes largest chunk, 1..min(varintMax(prefixBytes) + 1, MAX_CHUNK_BYTES_LIMIT)
   *   (default `MAX_CHUNK_BYTES` = 32768)
   * @param options.prefixBytes prefix width N, 1..4 (default derived from maxChunkBytes, joint.md §10.2)
   * @param options.maxStreams stream ids 0..maxStreams-1, 1..2^20 (default `MAX_STREAMS`)
   * @param options.maxUnits units per feed, 1..2^20 (default `MAX_UNITS_PER_FEED`)
   * @throws RangeError when an option is out of range
   */
  constructor(options: ChunkAssemblerOptions = {}) {
    const { maxChunkBytes, prefixBytes, maxStreams, maxUnits } = chunkAssemblerOptions(options);
    this.maxChunkBytes = maxChunkBytes;
    this.prefixBytes = prefixBytes;
    this.maxStreams = maxStreams;
    this.maxUnits = maxUnits;
    this.units = new Int32Array(maxUnits * CHUNK_UNIT_STRIDE);
    this.streams = Array.from({ length: maxStreams }, () => new Stream());
  }

  /** Bytes of the last `feed()`'s input consumed; less than its length when units filled up or on error. */
  get consumed(): number {
    return this.consumedBytes;
  }

  /** The fed stream's state after the last `feed()`: `ErrorCode.Ok` or its sticky error. */
  get error(): number {
    return this.errorCode;
  }

  /** The buffer `InCarry` units point into. Borrowed until the next `feed()`. */
  carry(): Uint8Array {
    return this.carryBuf.bytes;
  }

  /**
   * Parse `input[offset, offset + length)` as bytes of `stream`.
   * @param stream stream id, 0..maxStreams-1
   * @param input stream bytes; views into it are borrowed until the next `feed()`
   * @param offset first byte to parse
   * @param length bytes to parse
   * @returns the number of whole chunks written to `units`; then check `error` (this stream's)
   *   and `consumed` (on error, the offset of the offending prefix relative to `offset`)
   * @throws TypeError when `input` is not a Uint8Array; RangeError when `stream` is out of range
   *   or `offset`/`length` fall outside `input`
   */
  feed(stream: number, input: Uint8Array, offset: number, length: number): number {
    checkStream(stream, this.maxStreams);
    checkFeedSpan(input, offset, length);
    this.consumedBytes = 0;
    const s = this.streams[stream]!;
    this.errorCode = s.error;
    if (s.error !== ErrorCode.Ok) return 0; // sticky for this stream until dropStream
    const n = this.prefixBytes;
    const units = this.units;
    const end = offset + length;
    let pos = offset;
    let unitStart = offset; // where the chunk being read began in this input (offset if earlier)
    let count = 0;
    let step = STEP_PROGRESS;
    while (step === STEP_PROGRESS) {
      switch (s.state) {
        case State.Prefix: {
          // Bound units per feed: stop before the next chunk; the caller feeds the rest.
          if (count === this.maxUnits) {
            step = STEP_STOP;
            break;
          }
          unitStart = s.prefixHave === 0 ? pos : offset;
          // joint.md §10.1, one byte at a time: the prefix may be split across feeds (§10.3).
          let complete = false;
          while (pos < end) {
            const byte = input[pos]!;
            const i = s.prefixHave;
            // A zero byte after the first adds nothing: a shorter form existed.
            if (i > 0 && byte === 0) {
              step = ErrorCode.VarintNonMinimal;
              break;
            }
            pos++;
            s.prefixHave++;
            if (i === n - 1) {
              // The N-th byte carries 8 full bits; at most 255 << 21 < 2^31, so `|` is exact.
              s.prefixValue |= byte << (VARINT_GROUP_BITS * i);
              complete = true;
              break;
            }
            s.prefixValue |= (byte & VARINT_GROUP_MASK) << (VARINT_GROUP_BITS * i);
            if ((byte & VARINT_MORE) === 0) {
              complete = true;
              break;
            }
          }
          if (step !== STEP_PROGRESS) break;
          if (!complete) {
            step = STEP_STOP;
            break;
          }
          // joint.md §10.2: the prefix is length - 1, so zero-length chunks cannot be expressed.
          s.chunkLength = s.prefixValue + 1;
          s.prefixHave = 0;
          s.prefixValue = 0;
          // joint.md §10.3: checked now, before one payload byte is buffered.
          if (s.chunkLength > this.maxChunkBytes) {
            step = ErrorCode.ChunkTooLarge;
            break;
          }
          // The collector is empty here: a chunk handed out and dropStream() both leave it so.
          s.state = State.Payload;
          break;
        }
        case State.Payload: {
          const u = count * CHUNK_UNIT_STRIDE;
          if (s.body.fill === 0 && end - pos >= s.chunkLength) {
            // Wholly inside this input: a borrowed view, no copy.
            units[u] = WHOLE_CHUNK;
            units[u + 1] = pos;
            units[u + 2] = s.chunkLength;
            pos += s.chunkLength;
          } else {
            const next = s.body.collect(input, pos, end, s.chunkLength, this.maxChunkBytes, this.carryBuf, units, u);
            if (next === BODY_NEED_MORE) {
              pos = end;
              step = STEP_STOP;
              break;
            }
            pos = next;
          }
          count++;
          s.state = State.Prefix;
          break;
        }
      }
    }
    if (step !== STEP_STOP) {
      // An error fails only this stream.
      s.error = step;
      this.errorCode = s.error;
      this.consumedBytes = unitStart - offset;
      return count;
    }
    this.consumedBytes = pos - offset;
    return count;
  }

  /**
   * Forget a stream's partial chunk and error, and free its buffer (on disconnect).
   * @param stream stream id, 0..maxStreams-1
   * @throws RangeError when `stream` is out of range
   */
  dropStream(stream: number): void {
    checkStream(stream, this.maxStreams);
    // A fresh Stream also releases the pending buffer.
    this.streams[stream] = new Stream();
  }
}
