import { GamewireErrorCode } from './error-codes.js';

export { GamewireErrorCode } from './error-codes.js';

/**
 * The closed set of error codes produced by code that reads network bytes.
 * Shared with `native/common.h` (same names, same values); a test checks they match.
 * Hostile input yields one of these as a value; it is never thrown into user code.
 */
export const ErrorCode = {
  Ok: 0,
  // FrameDecoder (gamewire's own frames, docs/protocol.md)
  FrameTooLarge: 10,
  FrameEmpty: 11,
  // JointParser (joint.md §2-5)
  JointBadLeadByte: 20,
  JointBadFrameSize: 21,
  JointUnknownCommand: 22,
  JointBadCommandLength: 23,
  JointBadBroadcastMode: 24,
  JointBadBroadcastFrame: 25,
  // ChunkAssembler and varints (joint.md §10)
  ChunkTooLarge: 30,
  VarintNonMinimal: 31,
  // Aead
  AuthFailed: 40,
  CounterExhausted: 41,
  // EventRing
  RingPayloadTooLarge: 50,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const C = GamewireErrorCode;
const NAMES: Record<number, [string, string]> = {
  [ErrorCode.Ok]: ['GW_OK', 'ok'],
  [ErrorCode.FrameTooLarge]: [C.FrameTooLarge, 'frame larger than the maximum frame size'],
  [ErrorCode.FrameEmpty]: [C.FrameEmpty, 'frame with a zero length'],
  [ErrorCode.JointBadLeadByte]: [C.JointBadLeadByte, 'undefined leading byte in the joint stream'],
  [ErrorCode.JointBadFrameSize]: [C.JointBadFrameSize, 'data frame size below 2'],
  [ErrorCode.JointUnknownCommand]: [C.JointUnknownCommand, 'unknown joint command'],
  [ErrorCode.JointBadCommandLength]: [C.JointBadCommandLength, 'joint command with a wrong payload length'],
  [ErrorCode.JointBadBroadcastMode]: [C.JointBadBroadcastMode, 'broadcast mode other than 0 or 1'],
  [ErrorCode.JointBadBroadcastFrame]: [C.JointBadBroadcastFrame, 'broadcast prefix not followed by an owner data frame'],
  [ErrorCode.ChunkTooLarge]: [C.ChunkTooLarge, 'chunk length over maxChunkSize'],
  [ErrorCode.VarintNonMinimal]: [C.VarintNonMinimal, 'zero byte in a varint continuation position'],
  [ErrorCode.AuthFailed]: [C.AuthFailed, 'authentication failed'],
  [ErrorCode.CounterExhausted]: [C.CounterExhausted, 'nonce counter exhausted'],
  [ErrorCode.RingPayloadTooLarge]: [C.RingPayloadTooLarge, 'event payload larger than the ring arena'],
};

/** The ErrorCode value of each string code that has one (the reverse of NAMES). */
const VALUES = new Map<string, number>(Object.entries(NAMES).map(([value, [name]]) => [name, Number(value)]));

/** The stable string code of an error value, e.g. `GW_ERR_FRAME_TOO_LARGE`. */
export function errorName(code: number): string {
  return NAMES[code]?.[0] ?? `GW_ERR_UNKNOWN_${code}`;
}

/** A human-readable reason for an error value. */
export function errorReason(code: number): string {
  return NAMES[code]?.[1] ?? `unknown error ${code}`;
}

/** Every code, for tests that check `native/common.h` agrees. */
export const ALL_ERROR_CODES: readonly number[] = Object.values(ErrorCode);

/** Options of the gamewire error classes (`cause`: the exception or error behind this one). */
export interface GamewireErrorOptions {
  cause?: unknown;
}

/**
 * The one error type of gamewire: every error it makes carries a stable `code` (a value of
 * GamewireErrorCode, docs/errors.md) and a `reason` for people.
 *
 * Outcomes of the network (hostile bytes, timeouts, socket errors) are GamewireErrors delivered as
 * an event, a callback argument or a rejection, never thrown at the application (STYLE.md §4).
 * Misuse of the API is thrown at the call as a GamewireTypeError or GamewireRangeError, which stay
 * TypeError / RangeError; `instanceof GamewireError` is true for them too, so one check catches
 * every gamewire error. Each style may subclass these (UdpError, EventsError, MmArgumentError,
 * PeoteBytesError) to keep its own name.
 */
export class GamewireError extends Error {
  /** Stable code, e.g. `GW_ERR_FRAME_TOO_LARGE` (GamewireErrorCode). */
  readonly code: string;
  /** What happened, for people; the same as `message`. */
  readonly reason: string;
  /** The ErrorCode value behind `code` when it is one of core's (native/common.h), else undefined. */
  readonly value: number | undefined;

  /**
   * @param code an ErrorCode value (its name and reason are looked up) or a GamewireErrorCode
   * @param reason what happened; defaults to the reason of an ErrorCode value, else to the code
   */
  constructor(code: number | GamewireErrorCode, reason?: string, options?: GamewireErrorOptions) {
    const value = typeof code === 'number' ? code : VALUES.get(code);
    const text = reason ?? (value !== undefined ? errorReason(value) : String(code));
    super(text, options);
    this.name = 'GamewireError';
    this.value = value;
    this.code = typeof code === 'number' ? errorName(code) : code;
    this.reason = text;
  }

  /**
   * `err instanceof GamewireError` holds for every gamewire error: its subclasses, and the misuse
   * errors that must stay TypeError / RangeError (one prototype chain cannot hold both). A
   * subclass (`instanceof UdpError`) keeps the ordinary test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    const ordinary = Function.prototype[Symbol.hasInstance].call(this, value);
    if (ordinary || this !== GamewireError) return ordinary;
    return value instanceof GamewireTypeError || value instanceof GamewireRangeError;
  }
}

/**
 * The misuse classes below: `Base` (TypeError or RangeError, so existing `instanceof` checks
 * hold) with the fields of GamewireError. One body for both, so they cannot drift apart.
 */
function misuseError(Base: new (message?: string, options?: ErrorOptions) => Error, name: string) {
  return class extends Base {
    readonly code: string;
    readonly reason: string;
    /** Always undefined: misuse has no ErrorCode value; here so every GamewireError has the field. */
    readonly value: undefined = undefined;

    constructor(code: GamewireErrorCode, reason: string, options?: GamewireErrorOptions) {
      super(reason, options);
      this.name = name;
      this.code = code;
      this.reason = reason;
    }
  };
}

/** Misuse of the API by the wrong type of an argument: a TypeError with a GamewireErrorCode. */
export class GamewireTypeError extends misuseError(TypeError, 'GamewireTypeError') {}

/** Misuse of the API by a value out of its range: a RangeError with a GamewireErrorCode. */
export class GamewireRangeError extends misuseError(RangeError, 'GamewireRangeError') {}

/** Make the error value `code` into a GamewireError (the one place this happens). */
export function toGamewireError(code: number, detail?: string): GamewireError {
  return new GamewireError(code, detail ? `${errorReason(code)}: ${detail}` : errorReason(code));
}
