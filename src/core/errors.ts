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

const NAMES: Record<number, [string, string]> = {
  [ErrorCode.Ok]: ['GW_OK', 'ok'],
  [ErrorCode.FrameTooLarge]: ['GW_ERR_FRAME_TOO_LARGE', 'frame larger than the maximum frame size'],
  [ErrorCode.FrameEmpty]: ['GW_ERR_FRAME_EMPTY', 'frame with a zero length'],
  [ErrorCode.JointBadLeadByte]: ['GW_ERR_JOINT_BAD_LEAD_BYTE', 'undefined leading byte in the joint stream'],
  [ErrorCode.JointBadFrameSize]: ['GW_ERR_JOINT_BAD_FRAME_SIZE', 'data frame size below 2'],
  [ErrorCode.JointUnknownCommand]: ['GW_ERR_JOINT_UNKNOWN_COMMAND', 'unknown joint command'],
  [ErrorCode.JointBadCommandLength]: ['GW_ERR_JOINT_BAD_COMMAND_LENGTH', 'joint command with a wrong payload length'],
  [ErrorCode.JointBadBroadcastMode]: ['GW_ERR_JOINT_BAD_BROADCAST_MODE', 'broadcast mode other than 0 or 1'],
  [ErrorCode.JointBadBroadcastFrame]: ['GW_ERR_JOINT_BAD_BROADCAST_FRAME', 'broadcast prefix not followed by an owner data frame'],
  [ErrorCode.ChunkTooLarge]: ['GW_ERR_CHUNK_TOO_LARGE', 'chunk length over maxChunkSize'],
  [ErrorCode.VarintNonMinimal]: ['GW_ERR_VARINT_NON_MINIMAL', 'zero byte in a varint continuation position'],
  [ErrorCode.AuthFailed]: ['GW_ERR_AUTH_FAILED', 'authentication failed'],
  [ErrorCode.CounterExhausted]: ['GW_ERR_COUNTER_EXHAUSTED', 'nonce counter exhausted'],
  [ErrorCode.RingPayloadTooLarge]: ['GW_ERR_RING_PAYLOAD_TOO_LARGE', 'event payload larger than the ring arena'],
};

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

/**
 * An error caused by a peer or the network, delivered as an event or callback argument,
 * never thrown at the application. `code` is stable (`GW_ERR_*`), `reason` is for people.
 */
export class GamewireError extends Error {
  readonly code: string;
  readonly reason: string;
  readonly value: number;

  constructor(value: number, reason: string = errorReason(value)) {
    super(reason);
    this.name = 'GamewireError';
    this.value = value;
    this.code = errorName(value);
    this.reason = reason;
  }
}

/** Make the error value `code` into a GamewireError (the one place this happens). */
export function toGamewireError(code: number, detail?: string): GamewireError {
  return new GamewireError(code, detail ? `${errorReason(code)}: ${detail}` : errorReason(code));
}
