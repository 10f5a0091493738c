/**
 * FrameDecoder, the TypeScript twin of `native/frame-decoder.{h,cc}`: same states, same check
 * order, same codes, same units (STYLE.md §2). Splits gamewire's frames, `u32 LE body length`
 * then the body (docs/protocol.md), across arbitrary splits of the byte stream.
 */
import { ErrorCode } from './errors.js';
import { FRAME_PREFIX_BYTES, MAX_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT, MAX_UNITS_PER_FEED } from './limits.js';
import { FRAME_UNIT_STRIDE, UnitFlag, type FrameDecoder, type FrameDecoderOptions } from './types.js';

const enum State {
  Prefix,
  Body,
}

// What one pass of the loop did: moved on, or stopped (input ended or units full).
// A positive value is an ErrorCode.
const STEP_PROGRESS = -1;
const STEP_STOP = -2;

// Whole frames only: every unit is both the start and the end of its frame.
const WHOLE_FRAME = UnitFlag.FrameStart | UnitFlag.FrameEnd;

// Smallest pending buffer worth allocating; growth doubles from here up to the limit.
const MIN_PENDING_BYTES = 256;

/**
 * Largest `maxUnits` accepted: 2^20 units is a 12 MiB result array, far past any read.
 * TODO(issue pending): move to `limits.ts` beside MAX_UNITS_PER_FEED.
 */
const MAX_UNITS_LIMIT = 2 ** 20;

const EMPTY = new Uint8Array(0);

// Below this many bytes a loop beats allocating the subarray that `set` needs.
const SMALL_COPY_BYTES = 64;

function copyBytes(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  if (n <= SMALL_COPY_BYTES) {
    for (let i = 0; i < n; i++) dst[dstOffset + i] = src[srcOffset + i]!;
  } else {
    dst.set(src.subarray(srcOffset, srcOffset + n), dstOffset);
  }
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/**
 * Splits gamewire's length-prefixed frames, enforcing `maxFrameBytes`.
 *
 * Results are units of `FRAME_UNIT_STRIDE` slots in `units`: `[flags, offset, length]`, flags
 * always `FrameStart | FrameEnd`. A frame whose body lies wholly inside the input is a view
 * into it; the one frame per feed that began in an earlier feed has `UnitFlag.InCarry` and its
 * offset points into `carry()`.
 */
export class FrameDecoderJs implements FrameDecoder {
  /** Largest accepted body length (bytes). */
  readonly maxFrameBytes: number;
  /** Units of the last `feed()`. Reused; do not keep. */
  readonly units: Int32Array;
  private readonly maxUnits: number;
  private state: State = State.Prefix;
  private errorCode: number = ErrorCode.Ok;
  private consumedBytes = 0;
  // Prefix bytes seen so far (0..3 between feeds) and their value.
  private prefixHave = 0;
  private prefixValue = 0;
  // Body length of the frame being read and how much of it is in `pending`.
  private bodyLength = 0;
  private pendingFill = 0;
  // A frame split across feeds is assembled in `pending`; once complete it is swapped into
  // `carryBuf`, so a new partial frame later in the same feed cannot overwrite it.
  private pending: Uint8Array = EMPTY;
  private carryBuf: Uint8Array = EMPTY;

  /**
   * @param options.maxFrameBytes largest body length, 1..MAX_FRAME_BYTES_LIMIT (default `MAX_FRAME_BYTES`)
   * @param options.maxUnits units per feed, 1..2^20 (default `MAX_UNITS_PER_FEED`)
   * @throws RangeError when an option is out of range
   */
  constructor(options: FrameDecoderOptions = {}) {
    const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    const maxUnits = options.maxUnits ?? MAX_UNITS_PER_FEED;
    checkInteger('maxFrameBytes', maxFrameBytes, 1, MAX_FRAME_BYTES_LIMIT);
    checkInteger('maxUnits', maxUnits, 1, MAX_UNITS_LIMIT);
    this.maxFrameBytes = maxFrameBytes;
    this.maxUnits = maxUnits;
    this.units = new Int32Array(maxUnits * FRAME_UNIT_STRIDE);
  }

  /** Bytes of the last `feed()`'s input consumed; less than its length when units filled up or on error. */
  get consumed(): number {
    return this.consumedBytes;
  }

  /** `ErrorCode.Ok`, or the error that stopped parsing; sticky until `reset()`. */
  get error(): number {
    return this.errorCode;
  }

  /** The buffer `InCarry` units point into. Borrowed until the next `feed()`. */
  carry(): Uint8Array {
    return this.carryBuf;
  }

  /**
   * Parse `input[offset, offset + length)`.
   * @param input stream bytes; views into it are borrowed until the next `feed()`
   * @param offset first byte to parse
   * @param length bytes to parse
   * @returns the number of units written to `units`; then check `error` and `consumed`
   *   (on error, `consumed` is the offset of the offending prefix relative to `offset`)
   * @throws TypeError when `input` is not a Uint8Array; RangeError when `offset`/`length` fall
   *   outside `input`
   */
  feed(input: Uint8Array, offset: number, length: number): number {
    if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > input.length) {
      throw new RangeError(`offset ${offset} + length ${length} must lie within input.length ${input.length}`);
    }
    this.consumedBytes = 0;
    if (this.errorCode !== ErrorCode.Ok) return 0; // sticky until reset()
    const units = this.units;
    const end = offset + length;
    let pos = offset;
    let unitStart = offset; // where the frame being read began in this input (offset if earlier)
    let count = 0;
    let step = STEP_PROGRESS;
    while (step === STEP_PROGRESS) {
      switch (this.state) {
        case State.Prefix: {
          // Bound units per feed: stop before the next frame; the caller feeds the rest.
          if (count === this.maxUnits) {
            step = STEP_STOP;
            break;
          }
          unitStart = this.prefixHave === 0 ? pos : offset;
          if (this.prefixHave === 0 && end - pos >= FRAME_PREFIX_BYTES) {
            this.prefixValue = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
            pos += FRAME_PREFIX_BYTES;
          } else {
            // A prefix split across reads is kept in state, byte by byte.
            while (this.prefixHave < FRAME_PREFIX_BYTES && pos < end) {
              this.prefixValue = (this.prefixValue | (input[pos]! << (8 * this.prefixHave))) >>> 0;
              this.prefixHave++;
              pos++;
            }
            if (this.prefixHave < FRAME_PREFIX_BYTES) {
              step = STEP_STOP;
              break;
            }
          }
          this.bodyLength = this.prefixValue;
          this.prefixHave = 0;
          this.prefixValue = 0;
          // Empty frames cost a unit and carry nothing (ws: empty units count toward limits).
          if (this.bodyLength === 0) {
            step = ErrorCode.FrameEmpty;
            break;
          }
          // The limit is checked now, before one body byte is buffered.
          if (this.bodyLength > this.maxFrameBytes) {
            step = ErrorCode.FrameTooLarge;
            break;
          }
          this.pendingFill = 0;
          this.state = State.Body;
          break;
        }
        case State.Body: {
          const avail = end - pos;
          if (this.pendingFill === 0 && avail >= this.bodyLength) {
            // Wholly inside this input: a borrowed view, no copy.
            const u = count * FRAME_UNIT_STRIDE;
            units[u] = WHOLE_FRAME;
            units[u + 1] = pos;
            units[u + 2] = this.bodyLength;
            count++;
            pos += this.bodyLength;
            this.state = State.Prefix;
            break;
          }
          if (avail === 0) {
            step = STEP_STOP;
            break;
          }
          const take = Math.min(avail, this.bodyLength - this.pendingFill);
          // Grow with the bytes that arrived, not the declared length: a bare prefix must not
          // make us allocate maxFrameBytes (memory amplification by a hostile peer).
          this.growPending(this.pendingFill + take);
          copyBytes(this.pending, this.pendingFill, input, pos, take);
          this.pendingFill += take;
          pos += take;
          if (this.pendingFill < this.bodyLength) {
            step = STEP_STOP;
            break;
          }
          // Complete: hand it out from carryBuf, and keep the old carryBuf for the next partial frame.
          const done = this.pending;
          this.pending = this.carryBuf;
          this.carryBuf = done;
          this.pendingFill = 0;
          const u = count * FRAME_UNIT_STRIDE;
          units[u] = WHOLE_FRAME | UnitFlag.InCarry;
          units[u + 1] = 0;
          units[u + 2] = this.bodyLength;
          count++;
          this.state = State.Prefix;
          break;
        }
      }
    }
    if (step !== STEP_STOP) {
      this.errorCode = step;
      this.consumedBytes = unitStart - offset;
      return count;
    }
    this.consumedBytes = pos - offset;
    return count;
  }

  /** Forget all state and any error; keeps the buffers for reuse. */
  reset(): void {
    this.state = State.Prefix;
    this.errorCode = ErrorCode.Ok;
    this.consumedBytes = 0;
    this.prefixHave = 0;
    this.prefixValue = 0;
    this.bodyLength = 0;
    this.pendingFill = 0;
  }

  /** Make `pending` hold at least `bytes` (<= maxFrameBytes), keeping its contents; grows by doubling. */
  private growPending(bytes: number): void {
    if (this.pending.length >= bytes) return;
    const size = Math.min(Math.max(bytes, this.pending.length * 2, MIN_PENDING_BYTES), this.maxFrameBytes);
    const grown = new Uint8Array(size);
    grown.set(this.pending.subarray(0, this.pendingFill));
    this.pending = grown;
  }
}
