/**
 * FrameDecoder, the TypeScript twin of `native/frame-decoder.{h,cc}`: same states, same check
 * order, same codes, same units (STYLE.md §2). Splits gamewire's frames, `u32 LE body length`
 * then the body (docs/protocol.md), across arbitrary splits of the byte stream.
 */
import { appendPending, EMPTY_BYTES } from './carry-buffer.js';
import { ErrorCode } from './errors.js';
import { FRAME_PREFIX_BYTES } from './limits.js';
import { FRAME_UNIT_STRIDE, UnitFlag, type FrameDecoder, type FrameDecoderOptions } from './types.js';
import { checkFeedSpan, frameDecoderOptions } from './validate.js';

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
  private pending: Uint8Array = EMPTY_BYTES;
  private carryBuf: Uint8Array = EMPTY_BYTES;

  /**
   * @param options.maxFrameBytes largest body length, 1..MAX_FRAME_BYTES_LIMIT (default `MAX_FRAME_BYTES`)
   * @param options.maxUnits units per feed, 1..2^20 (default `MAX_UNITS_PER_FEED`)
   * @throws RangeError when an option is out of range
   */
  constructor(options: FrameDecoderOptions = {}) {
    const { maxFrameBytes, maxUnits } = frameDecoderOptions(options);
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
    checkFeedSpan(input, offset, length);
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
          this.pending = appendPending(this.pending, this.pendingFill, input, pos, take, this.maxFrameBytes);
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
}
