/**
 * Every stable error code gamewire produces, in one table. docs/errors.md says, for each, which
 * style raises it, whether it is thrown (misuse of the API) or delivered (an outcome of the
 * network: an event, a callback argument, a rejection, a close reason), and what to do; a test
 * checks the two agree.
 *
 * The codes never change meaning once shipped: applications compare them (`err.code === ...`).
 * This module imports nothing, so every style and the browser bundle can read it.
 */
export const GamewireErrorCode = {
  // ---- network bytes (core's ErrorCode values, native/common.h): delivered, never thrown ----
  /** A frame larger than the maximum frame size. */
  FrameTooLarge: 'GW_ERR_FRAME_TOO_LARGE',
  /** A frame with a zero length. */
  FrameEmpty: 'GW_ERR_FRAME_EMPTY',
  /** An undefined leading byte in the joint stream. */
  JointBadLeadByte: 'GW_ERR_JOINT_BAD_LEAD_BYTE',
  /** A joint data frame size below 2. */
  JointBadFrameSize: 'GW_ERR_JOINT_BAD_FRAME_SIZE',
  /** An unknown joint command. */
  JointUnknownCommand: 'GW_ERR_JOINT_UNKNOWN_COMMAND',
  /** A joint command with a wrong payload length. */
  JointBadCommandLength: 'GW_ERR_JOINT_BAD_COMMAND_LENGTH',
  /** A broadcast mode other than 0 or 1. */
  JointBadBroadcastMode: 'GW_ERR_JOINT_BAD_BROADCAST_MODE',
  /** A broadcast prefix not followed by an owner data frame. */
  JointBadBroadcastFrame: 'GW_ERR_JOINT_BAD_BROADCAST_FRAME',
  /** A chunk length over maxChunkSize. */
  ChunkTooLarge: 'GW_ERR_CHUNK_TOO_LARGE',
  /** A zero byte in a varint continuation position. */
  VarintNonMinimal: 'GW_ERR_VARINT_NON_MINIMAL',
  /** A record whose authentication tag does not verify. */
  AuthFailed: 'GW_ERR_AUTH_FAILED',
  /** The nonce counter of a connection is used up. */
  CounterExhausted: 'GW_ERR_COUNTER_EXHAUSTED',
  /** An event payload larger than the EventRing arena. */
  RingPayloadTooLarge: 'GW_ERR_RING_PAYLOAD_TOO_LARGE',

  // ---- misuse of the mm API: thrown (MmArgumentError, a RangeError) ----
  /** `address` is not a non-empty string. */
  BadAddress: 'GW_ERR_BAD_ADDRESS',
  /** `port` is not an integer in the allowed range. */
  BadPort: 'GW_ERR_BAD_PORT',
  /** `key` is not 32 or 64 hex digits. */
  BadKey: 'GW_ERR_BAD_KEY',
  /** An option is out of its range. */
  BadOption: 'GW_ERR_BAD_OPTION',

  // ---- peote bytes (PeoteBytesError): thrown by PeoteBytesInput on bytes of the peer ----
  /** A read past the end of the bytes. */
  BytesUnderflow: 'GW_ERR_BYTES_UNDERFLOW',
  /** An element count larger than the bytes left can hold. */
  BytesRange: 'GW_ERR_BYTES_RANGE',

  // ---- events style (EventsError): delivered as rejections ----
  /** No judgement arrived after the first send and every retry (neteria.md §9, K2). */
  EventTimeout: 'GW_ERR_EVENT_TIMEOUT',
  /** The client is not registered, or the server answered BYE EVENT. */
  NotRegistered: 'GW_ERR_NOT_REGISTERED',
  /** The server answered BYE REGISTER (registry full, or version / encryption refused). */
  RegisterRejected: 'GW_ERR_REGISTER_REJECTED',
  /** No OK REGISTER arrived after the first send and every retry. */
  RegisterTimeout: 'GW_ERR_REGISTER_TIMEOUT',
  /** `event()` while MAX_PENDING_EVENTS_COUNT events await their judgement. */
  TooManyPending: 'GW_ERR_TOO_MANY_PENDING',
  /** The client or server was closed while the operation was under way. */
  Closed: 'GW_ERR_CLOSED',

  // ---- UDP session style (UdpError): delivered to onError ----
  /** A datagram larger than `maxDatagramBytes` arrived on a session; it was dropped. */
  UdpOversize: 'GW_ERR_UDP_OVERSIZE',
  /** A control word with malformed arguments arrived (e.g. `CONNECT` with a bad address); dropped. */
  UdpMalformed: 'GW_ERR_UDP_MALFORMED',
  /** The operating system reported a socket error (bind failure, ICMP unreachable, ...). */
  UdpSocket: 'GW_ERR_UDP_SOCKET',
  /** An application callback threw; caught, the pipe keeps serving. `cause` is the exception. */
  UdpCallback: 'GW_ERR_UDP_CALLBACK',
  /** A bug in gamewire surfaced while handling a datagram or a timer; caught, the pipe keeps serving. */
  UdpInternal: 'GW_ERR_UDP_INTERNAL',
} as const;

/** One of the stable codes of GamewireErrorCode. */
export type GamewireErrorCode = (typeof GamewireErrorCode)[keyof typeof GamewireErrorCode];
