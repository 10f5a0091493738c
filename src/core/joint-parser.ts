/**
 * JointParser, TypeScript twin of `native/joint-parser.{h,cc}`: splits a joint-protocol byte
 * stream into units (joint.md §2-5) across arbitrary splits, in the relay's view (ToRelay, §2.1)
 * or the client's (ToClient, §2.4). The two read side by side: same states, same check order,
 * same codes (STYLE.md §2).
 */
import { ErrorCode } from './errors.js';
import {
  JOINT_UNIT_STRIDE,
  JointDirection,
  JointUnitKind,
  UnitFlag,
  type JointParser,
  type JointParserOptions,
} from './types.js';
import { checkJointFeed, jointParserOptions, MAX_UNITS_LIMIT } from './validate.js';

/** Largest command/control payload (bytes): its length is one byte (joint.md §7). */
export const JOINT_MAX_PAYLOAD_BYTES = 255;

/**
 * Hard ceiling for `maxUnits` (units): 2^20, a 24 MiB result array. Past it the constructor
 * throws; the default is `MAX_UNITS_PER_FEED`.
 */
export const JOINT_MAX_UNITS_LIMIT = MAX_UNITS_LIMIT;

/** One state per byte position of a unit (joint.md §2). Same names and order as the C++ core. */
const enum State {
  /** b0 of a unit */
  Lead,
  /** ToRelay: cmd */
  Command,
  /** ToRelay: cmdNr */
  CommandNr,
  /** len of a command (ToRelay) or control message (ToClient) */
  PayloadLength,
  /** len payload bytes */
  Payload,
  /** ToRelay: mode after `01` */
  BroadcastMode,
  /** ToRelay: b0 of the owner frame that must follow `01 mode` */
  BroadcastLead,
  /** second byte of a 2-byte size */
  SizeLow,
  /** r0: jIn, or jOwn + 128 */
  Route,
  /** userNr after r0 >= 0x80 (unicast, or broadcast mode 0) */
  RouteUser,
  /** data bytes of the frame */
  Data,
}

// Lead bytes (joint.md §2.1, §2.4).
const LEAD_COMMAND = 0x00; // command (ToRelay) or control message (ToClient)
const LEAD_BROADCAST = 0x01; // broadcast prefix (ToRelay only)
const LEAD_MIN_FRAME = 0x02; // 02..7F: 1-byte size
const LEAD_LONG_FRAME = 0x80; // 80..FF: 2-byte size, 15 bits big-endian
// Routing bytes >= 0x80 are jOwn + 128 and a userNr follows (joint.md §1, §2.3).
const OWN_ROUTE = 0x80;
// Smallest data frame size (joint.md §2.2).
const MIN_FRAME_SIZE = 2;

// Commands (joint.md §3, §17).
const CMD_LEAVE = 2;
const CMD_DELETE = 3;
const CMD_KICK = 4;
const MAX_CMD = CMD_KICK;

// The mode byte of the `01 mode` prefix in force (joint.md §5), or none.
const BROADCAST_ALL_BUT_ONE = 0;
const BROADCAST_ALL = 1;
const NO_BROADCAST = -1;

// Offsets are int32 in the result array; a longer input is parsed in several feeds.
const MAX_FEED_END = 0x7fffffff;

const KIND_COMMAND = JointUnitKind.Command;
const KIND_CONTROL = JointUnitKind.Control;
const KIND_DATA = JointUnitKind.Data;
const KIND_BROADCAST = JointUnitKind.Broadcast;
const FLAG_FRAME_START = UnitFlag.FrameStart;
const FLAG_FRAME_END = UnitFlag.FrameEnd;
const FLAG_IN_CARRY = UnitFlag.InCarry;

function put(units: Int32Array, i: number, kind: number, flags: number, a: number, b: number, offset: number, length: number): void {
  units[i] = kind;
  units[i + 1] = flags;
  units[i + 2] = a;
  units[i + 3] = b;
  units[i + 4] = offset;
  units[i + 5] = length;
}

/**
 * Splits a joint byte stream into units: commands or control messages (whole), and pieces of
 * data or broadcast frames (streamed: what a read holds of a frame is handed out at once, with
 * the routing header stripped).
 *
 * ```ts
 * const parser = new JointParserJs({ direction: JointDirection.ToRelay });
 * const n = parser.feed(chunk, 0, chunk.length);
 * for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
 *   const src = parser.units[i + 1] & UnitFlag.InCarry ? parser.carry() : chunk;
 *   // parser.units[i] kind, [i + 2] a, [i + 3] b, bytes src[units[i + 4], + units[i + 5])
 * }
 * if (parser.error !== ErrorCode.Ok) dropPeer(toGamewireError(parser.error));
 * ```
 */
export class JointParserJs implements JointParser {
  /** Which stream this parser reads. */
  readonly direction: JointDirection;
  /**
   * Units of the last `feed()`: `[kind, flags, a, b, offset, length]` × count. Reused; do not keep.
   */
  readonly units: Int32Array;

  private readonly maxUnits: number;
  private readonly toClient: boolean;
  private state: State = State.Lead;
  private errorCode: number = ErrorCode.Ok;
  private consumedBytes = 0;

  // Command/control in progress.
  private unitKind = 0;
  private cmd = 0;
  private cmdNr = 0;
  private need = 0;
  private pendingSize = 0;

  // Data frame in progress.
  private broadcast = NO_BROADCAST;
  private size = 0;
  private remaining = 0;
  private dataKind: number = KIND_DATA;
  private route = 0;
  private user = -1;
  private frameStart = false;

  // Two fixed buffers swapped when a split payload completes: no allocation per unit or feed.
  private pending = new Uint8Array(JOINT_MAX_PAYLOAD_BYTES);
  private carryBuffer = new Uint8Array(JOINT_MAX_PAYLOAD_BYTES);

  /**
   * @param options.direction `JointDirection.ToRelay` (0) or `JointDirection.ToClient` (1).
   * @param options.maxUnits units per `feed()`, 1..`JOINT_MAX_UNITS_LIMIT` (default `MAX_UNITS_PER_FEED`).
   * @throws {TypeError} when `options` is not an object.
   * @throws {RangeError} when `direction` is not 0 or 1, or `maxUnits` is out of range.
   */
  constructor(options: JointParserOptions) {
    const { direction, maxUnits } = jointParserOptions(options);
    this.direction = direction;
    this.toClient = direction === JointDirection.ToClient;
    this.maxUnits = maxUnits;
    this.units = new Int32Array(maxUnits * JOINT_UNIT_STRIDE);
  }

  /** Bytes of the last `feed()`'s input consumed: less than its length only when `units` filled up or on error. */
  get consumed(): number {
    return this.consumedBytes;
  }

  /** `ErrorCode.Ok`, or the error that stopped parsing; sticky until `reset()`. */
  get error(): number {
    return this.errorCode;
  }

  /**
   * The buffer that the (at most one) `InCarry` unit of the last `feed()` points into.
   * @returns borrowed until the next `feed()` or `reset()`.
   */
  carry(): Uint8Array {
    return this.carryBuffer;
  }

  /** Forget all state, any partial unit and any error. */
  reset(): void {
    this.state = State.Lead;
    this.errorCode = ErrorCode.Ok;
    this.consumedBytes = 0;
    this.unitKind = 0;
    this.cmd = 0;
    this.cmdNr = 0;
    this.need = 0;
    this.pendingSize = 0;
    this.broadcast = NO_BROADCAST;
    this.size = 0;
    this.remaining = 0;
    this.dataKind = KIND_DATA;
    this.route = 0;
    this.user = -1;
    this.frameStart = false;
  }

  /**
   * Parse `input[offset, offset + length)`. Unit offsets index `input` itself (or `carry()` for
   * an `InCarry` unit): borrowed until the next `feed()`. Stops early, without error, when
   * `units` is full (`consumed < length`: feed the rest). On a protocol error, returns the units
   * before it with `consumed` at the offending byte; the error is sticky until `reset()`.
   * @param input the bytes read.
   * @param offset start in `input`, 0..input.length.
   * @param length bytes to parse, 0..input.length - offset.
   * @returns the number of units written to `units`.
   * @throws {TypeError} when `input` is not a Uint8Array or a bound is not a number.
   * @throws {RangeError} when `offset` or `length` is outside `input`.
   */
  feed(input: Uint8Array, offset: number, length: number): number {
    checkJointFeed(input, offset, length);
    this.consumedBytes = 0;
    if (this.errorCode !== ErrorCode.Ok) return 0;
    const end = Math.min(offset + length, MAX_FEED_END);
    const units = this.units;
    const maxUnits = this.maxUnits;
    // Hot fields live in locals, as in the C++ core.
    let state = this.state;
    let remaining = this.remaining;
    let pos = offset;
    let count = 0;

    while (pos < end && count < maxUnits) {
      const byte = input[pos]!;
      switch (state) {
        case State.Lead:
          if (byte >= LEAD_LONG_FRAME) {
            this.size = (byte - LEAD_LONG_FRAME) << 8;
            state = State.SizeLow;
          } else if (byte >= LEAD_MIN_FRAME) {
            this.size = byte;
            state = State.Route;
          } else if (byte === LEAD_COMMAND) {
            this.cmd = 0;
            this.cmdNr = 0;
            if (this.toClient) {
              this.unitKind = KIND_CONTROL;
              state = State.PayloadLength;
            } else {
              this.unitKind = KIND_COMMAND;
              state = State.Command;
            }
          } else if (byte === LEAD_BROADCAST && !this.toClient) {
            state = State.BroadcastMode;
          } else {
            // joint.md §2.4: the relay never sends 01.
            return this.fail(ErrorCode.JointBadLeadByte, pos - offset, count);
          }
          ++pos;
          break;

        case State.Command:
          if (byte > MAX_CMD) return this.fail(ErrorCode.JointUnknownCommand, pos - offset, count);
          this.cmd = byte;
          state = State.CommandNr;
          ++pos;
          break;

        case State.CommandNr:
          this.cmdNr = byte;
          state = State.PayloadLength;
          ++pos;
          break;

        case State.PayloadLength:
          // joint.md §3, D4: leave and delete carry exactly one byte; kick (§17) two.
          if (
            this.unitKind === KIND_COMMAND &&
            (((this.cmd === CMD_LEAVE || this.cmd === CMD_DELETE) && byte !== 1) || (this.cmd === CMD_KICK && byte !== 2))
          ) {
            return this.fail(ErrorCode.JointBadCommandLength, pos - offset, count);
          }
          this.need = byte;
          ++pos;
          if (this.need === 0) {
            // joint.md D7: complete now, not when the next byte arrives.
            put(units, count * JOINT_UNIT_STRIDE, this.unitKind, 0, this.cmd, this.cmdNr, pos, 0);
            ++count;
            state = State.Lead;
            break;
          }
          this.pendingSize = 0;
          state = State.Payload;
          break;

        case State.Payload: {
          const avail = end - pos;
          const need = this.need;
          if (this.pendingSize === 0 && avail >= need) {
            put(units, count * JOINT_UNIT_STRIDE, this.unitKind, 0, this.cmd, this.cmdNr, pos, need);
            ++count;
            pos += need;
            state = State.Lead;
            break;
          }
          // Split across feeds: collect, and hand out whole from the carry buffer.
          let take = need - this.pendingSize;
          if (take > avail) take = avail;
          // A byte loop (at most 255): `set(subarray())` would allocate a view.
          const pending = this.pending;
          let at = this.pendingSize;
          for (const stop = pos + take; pos < stop; ++pos) pending[at++] = input[pos]!;
          this.pendingSize = at;
          if (this.pendingSize === need) {
            const full = this.pending;
            this.pending = this.carryBuffer;
            this.carryBuffer = full;
            this.pendingSize = 0;
            put(units, count * JOINT_UNIT_STRIDE, this.unitKind, FLAG_IN_CARRY, this.cmd, this.cmdNr, 0, need);
            ++count;
            state = State.Lead;
          }
          break;
        }

        case State.BroadcastMode:
          if (byte !== BROADCAST_ALL_BUT_ONE && byte !== BROADCAST_ALL) {
            return this.fail(ErrorCode.JointBadBroadcastMode, pos - offset, count);
          }
          this.broadcast = byte;
          state = State.BroadcastLead;
          ++pos;
          break;

        case State.BroadcastLead:
          // joint.md §5: nothing but the owner frame may follow the prefix.
          if (byte < LEAD_MIN_FRAME) return this.fail(ErrorCode.JointBadBroadcastFrame, pos - offset, count);
          if (byte >= LEAD_LONG_FRAME) {
            this.size = (byte - LEAD_LONG_FRAME) << 8;
            state = State.SizeLow;
          } else {
            this.size = byte;
            state = State.Route;
          }
          ++pos;
          break;

        case State.SizeLow:
          this.size |= byte;
          // joint.md §2.2: sizes 0 and 1 have no valid frame.
          if (this.size < MIN_FRAME_SIZE) return this.fail(ErrorCode.JointBadFrameSize, pos - offset, count);
          state = State.Route;
          ++pos;
          break;

        case State.Route:
          // joint.md §5, D2: a broadcast goes to an own joint, never forwarded as unicast.
          if (this.broadcast !== NO_BROADCAST && byte < OWN_ROUTE) {
            return this.fail(ErrorCode.JointBadBroadcastFrame, pos - offset, count);
          }
          this.route = byte;
          this.dataKind = this.broadcast === NO_BROADCAST ? KIND_DATA : KIND_BROADCAST;
          remaining = this.size - 1;
          ++pos;
          if (byte >= OWN_ROUTE && this.broadcast !== BROADCAST_ALL) {
            state = State.RouteUser;
            break;
          }
          this.user = -1;
          this.frameStart = true;
          state = State.Data; // size >= 2 leaves at least one data byte
          break;

        case State.RouteUser:
          this.user = byte;
          --remaining;
          ++pos;
          if (remaining === 0) {
            // A frame without data bytes yields no unit (empty pieces are never emitted).
            this.broadcast = NO_BROADCAST;
            state = State.Lead;
            break;
          }
          this.frameStart = true;
          state = State.Data;
          break;

        case State.Data: {
          let take = end - pos;
          if (take > remaining) take = remaining;
          remaining -= take;
          let flags = this.frameStart ? FLAG_FRAME_START : 0;
          if (remaining === 0) flags |= FLAG_FRAME_END;
          put(units, count * JOINT_UNIT_STRIDE, this.dataKind, flags, this.route, this.user, pos, take);
          ++count;
          this.frameStart = false;
          pos += take;
          if (remaining === 0) {
            // joint.md D2: the prefix covers exactly one frame.
            this.broadcast = NO_BROADCAST;
            state = State.Lead;
          }
          break;
        }
      }
    }

    this.state = state;
    this.remaining = remaining;
    this.consumedBytes = pos - offset;
    return count;
  }

  private fail(code: number, consumed: number, count: number): number {
    this.errorCode = code;
    this.consumedBytes = consumed;
    return count;
  }
}
