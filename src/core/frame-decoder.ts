/**
 * FrameDecoder, the TypeScript twin of `native/frame-decoder.{h,cc}`: same states, same check
 * order, same codes, same units (STYLE.md §2). Splits gamewire's frames, `u32 LE body length`
 * then the body (docs/protocol.md), across arbitrary splits of the byte stream.
 */
import * as carryBuffer from './carry-buffer.js';
import { BodyCollector, CarryBuffer } from './carry-buffer.js';
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

// Held file-locally, as chunk-assembler.ts holds its varint consts and for the same reason: an
// imported binding read in the loop is slower than a local const.
const BODY_NEED_MORE = carryBuffer.BODY_NEED_MORE;

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
  // Body length of the frame being read.
  private bodyLength = 0;
  // A frame split across feeds is assembled in `body`; once complete it is swapped into
  // `carryBuf`, so a new partial frame later in the same feed cannot overwrite it.
  private readonly body = new BodyCollector();
  private readonly carryBuf = new CarryBuffer();

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
    return this.carryBuf.bytes;
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
          // The collector is empty here: a body handed out and reset() both leave it so.
          this.state = State.Body;
          break;
        }
        case State.Body: {
          const u = count * FRAME_UNIT_STRIDE;
          if (this.body.fill === 0 && end - pos >= this.bodyLength) {
            // Wholly inside this input: a borrowed view, no copy.
            units[u] = WHOLE_FRAME;
            units[u + 1] = pos;
            units[u + 2] = this.bodyLength;
            pos += this.bodyLength;
          } else {
            const next = this.body.collect(input, pos, end, this.bodyLength, this.maxFrameBytes, this.carryBuf, units, u);
            if (next === BODY_NEED_MORE) {
              pos = end;
              step = STEP_STOP;
              break;
            }
            pos = next;
          }
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
    this.body.reset();
  }
}
