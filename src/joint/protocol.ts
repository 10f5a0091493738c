/**
 * The joint protocol's bytes (joint.md §2-5): constants and encoders, shared by the relay and the
 * client side; the one place that knows how a joint unit or frame header is laid out. (Named
 * `protocol`, not `wire`, because `src/wire/` is gamewire's own protocol.) Every encoder comes in two forms: `write*(out, offset, …)` writes into a caller
 * buffer and returns the offset after the unit (no allocation, for hot paths), and `encode*(…)`
 * returns a new `Uint8Array` (for tests and rare messages). The `write*` forms do not check that
 * `out` is large enough: size it with the matching `*_BYTES` constant or `frameHeaderBytes()`.
 */
import { MAX_CONTROL_PAYLOAD_BYTES, MAX_FRAME_SIZE, MAX_SHORT_FRAME_SIZE, MIN_FRAME_SIZE } from './limits.js';

/** Leading byte of a command (client → relay) or a control message (relay → client), joint.md §2. */
export const LEAD_COMMAND = 0x00;
/** Leading byte of a broadcast prefix `01 mode` (client → relay only), joint.md §5. */
export const LEAD_BROADCAST = 0x01;
/** Added to `jOwn` in data frames; `jIn` travels as is (joint.md §1). */
export const OWN_JOINT_FLAG = 0x80;

/** Command numbers, the `cmd` byte of `00 cmd cmdNr len payload` (joint.md §3). */
export const Command = {
  Create: 0,
  Enter: 1,
  Leave: 2,
  Delete: 3,
  /** Extension (joint.md §17): `00 04 nr 02 jOwn userNr`; only toward a relay known to support it. */
  Kick: 4,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

/** Reply status byte (joint.md §4.1). */
export const ReplyStatus = { Ok: 0, Error: 1 } as const;

/** Server event numbers, `00 len 00 event args…` (joint.md §4.2). */
export const ServerEvent = {
  UserConnect: 0,
  UserDisconnect: 1,
  InDisconnect: 2,
  Keepalive: 255,
} as const;
export type ServerEvent = (typeof ServerEvent)[keyof typeof ServerEvent];

/** Error codes of a failed create (joint.md §3.1). */
export const CreateError = {
  /** The connection already owns the maximum number of joints (client: MAX). */
  Max: 1,
  /** The id exists somewhere on the relay (client: ID). */
  IdTaken: 2,
  /** Extension: the id is longer than the relay's configured maximum (original client: MALICIOUS). */
  IdTooLong: 3,
} as const;

/** Error codes of a failed enter (joint.md §3.1). */
export const EnterError = {
  /** No joint with this id (client: ID). */
  NoSuchJoint: 1,
  /** The joint is owned by the entering connection (client: MALICIOUS). */
  OwnJoint: 2,
  /** The connection is already in this joint (client: ID). */
  AlreadyIn: 3,
  /** The joint has no free userNr (client: FULL). */
  Full: 4,
  /** The connection is already in the maximum number of joints (client: MAX). */
  Max: 5,
} as const;

/** Extension: error code of a failed kick (no such own joint or user). */
export const KickError = { NoSuchUser: 1 } as const;

/**
 * Reason byte of userDisconnect / inDisconnect (joint.md §4.3). The original docs name 0 and 1
 * the other way round; these are the values the original code and wire use.
 */
export const WireReason = {
  /** The user sent leave (cmd 2) or the owner sent delete (cmd 3). */
  Explicit: 0,
  /** The peer's connection closed or failed (any cause, joint.md §6.3). */
  Closed: 1,
  /** Extension (joint.md §17): the owner kicked the user (cmd 4). */
  Kicked: 2,
} as const;
export type WireReason = (typeof WireReason)[keyof typeof WireReason];

/** Bytes of a reply `00 03 nr status value`. */
export const REPLY_BYTES = 5;
/** Bytes of userConnect `00 04 00 00 jOwn userNr`. */
export const USER_CONNECT_BYTES = 6;
/** Bytes of userDisconnect `00 05 00 01 jOwn userNr reason`. */
export const USER_DISCONNECT_BYTES = 7;
/** Bytes of inDisconnect `00 04 00 02 jIn reason`. */
export const IN_DISCONNECT_BYTES = 6;
/** Largest frame header: 2 size bytes plus a 2-byte owner routing header. */
export const MAX_FRAME_HEADER_BYTES = 4;

/** The keepalive event the relay sends after outbound silence (joint.md §4.2, §7). Do not modify. */
export const KEEPALIVE: Readonly<Uint8Array> = Uint8Array.of(0x00, 0x04, 0x00, ServerEvent.Keepalive, 0x00, 0x00);

/**
 * Bytes of the size field for a frame of `size` body bytes: 1 below 128, else 2 (joint.md §2.2).
 * @param size body bytes including the routing header, 2..32767.
 */
export function frameHeaderBytes(size: number): 1 | 2 {
  return size <= MAX_SHORT_FRAME_SIZE ? 1 : 2;
}

/**
 * Write a data frame's size field: `size` in one byte below 128, else `[(size >> 8) + 0x80, size & 0xFF]`.
 * @param size body bytes including the routing header, 2..32767 (not checked: hot path).
 * @returns the offset after the size field.
 */
export function writeFrameSize(out: Uint8Array, offset: number, size: number): number {
  if (size <= MAX_SHORT_FRAME_SIZE) {
    out[offset] = size;
    return offset + 1;
  }
  out[offset] = (size >> 8) + 0x80;
  out[offset + 1] = size & 0xff;
  return offset + 2;
}

/**
 * Write the header of a frame from the relay to a user (or from a user to the relay):
 * size, then `jIn`. The caller copies `dataBytes` bytes of data after it.
 * @param jIn 0..127.
 * @param dataBytes 1..32766.
 * @returns the offset where the data goes.
 */
export function writeUserFrameHeader(out: Uint8Array, offset: number, jIn: number, dataBytes: number): number {
  offset = writeFrameSize(out, offset, dataBytes + 1);
  out[offset] = jIn;
  return offset + 1;
}

/**
 * Write the header of a frame from the relay to an owner (or from an owner to the relay):
 * size, then `jOwn + 128`, `userNr`. The caller copies `dataBytes` bytes of data after it.
 * @param jOwn 0..127 (raw; the +128 is added here).
 * @param userNr 0..255.
 * @param dataBytes 1..32765.
 * @returns the offset where the data goes.
 */
export function writeOwnerFrameHeader(out: Uint8Array, offset: number, jOwn: number, userNr: number, dataBytes: number): number {
  offset = writeFrameSize(out, offset, dataBytes + 2);
  out[offset] = jOwn + OWN_JOINT_FLAG;
  out[offset + 1] = userNr;
  return offset + 2;
}

/** Write a reply `00 03 nr status value` (joint.md §4.1). @returns the offset after it. */
export function writeReply(out: Uint8Array, offset: number, cmdNr: number, status: number, value: number): number {
  out[offset] = LEAD_COMMAND;
  out[offset + 1] = 3;
  out[offset + 2] = cmdNr;
  out[offset + 3] = status;
  out[offset + 4] = value;
  return offset + REPLY_BYTES;
}

/** Write userConnect `00 04 00 00 jOwn userNr` (joint.md §4.2). @returns the offset after it. */
export function writeUserConnect(out: Uint8Array, offset: number, jOwn: number, userNr: number): number {
  const at = writeEventHead(out, offset, USER_CONNECT_BYTES, ServerEvent.UserConnect);
  out[at] = jOwn;
  out[at + 1] = userNr;
  return at + 2;
}

/** Write userDisconnect `00 05 00 01 jOwn userNr reason` (joint.md §4.2). @returns the offset after it. */
export function writeUserDisconnect(out: Uint8Array, offset: number, jOwn: number, userNr: number, reason: number): number {
  const at = writeEventHead(out, offset, USER_DISCONNECT_BYTES, ServerEvent.UserDisconnect);
  out[at] = jOwn;
  out[at + 1] = userNr;
  out[at + 2] = reason;
  return at + 3;
}

/** Write inDisconnect ("joint gone") `00 04 00 02 jIn reason` (joint.md §4.2). @returns the offset after it. */
export function writeInDisconnect(out: Uint8Array, offset: number, jIn: number, reason: number): number {
  const at = writeEventHead(out, offset, IN_DISCONNECT_BYTES, ServerEvent.InDisconnect);
  out[at] = jIn;
  out[at + 1] = reason;
  return at + 2;
}

/**
 * Write the head `00 len 00 event` of a server event of `bytes` bytes in all (joint.md §4.2: the
 * length counts what follows it, and cmdNr 0 is what tells an event from a reply).
 * @returns the offset where the event's arguments go.
 */
function writeEventHead(out: Uint8Array, offset: number, bytes: number, event: ServerEvent): number {
  out[offset] = LEAD_COMMAND;
  out[offset + 1] = bytes - 2;
  out[offset + 2] = 0;
  out[offset + 3] = event;
  return offset + 4;
}

/**
 * A command `00 cmd cmdNr len payload` (joint.md §3).
 * @param cmdNr 0 (no reply expected) or 1..255.
 * @param payload 0..255 bytes (default empty).
 * @throws RangeError when the payload is longer than 255 bytes or a number is out of its byte.
 */
export function encodeCommand(cmd: number, cmdNr: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES) throw new RangeError(`command payload is ${payload.length} bytes; the maximum is ${MAX_CONTROL_PAYLOAD_BYTES}`);
  checkByte('cmd', cmd);
  checkByte('cmdNr', cmdNr);
  const out = new Uint8Array(4 + payload.length);
  out[0] = LEAD_COMMAND;
  out[1] = cmd;
  out[2] = cmdNr;
  out[3] = payload.length;
  out.set(payload, 4);
  return out;
}

/** Create joint `id` (joint.md §3, cmd 0). @throws RangeError for an id over 255 bytes. */
export function encodeCreate(cmdNr: number, id: Uint8Array): Uint8Array {
  return encodeCommand(Command.Create, cmdNr, id);
}
/** Enter joint `id` (joint.md §3, cmd 1). @throws RangeError for an id over 255 bytes. */
export function encodeEnter(cmdNr: number, id: Uint8Array): Uint8Array {
  return encodeCommand(Command.Enter, cmdNr, id);
}
/** Leave in-joint `jIn` (joint.md §3, cmd 2): `00 02 00 01 jIn`. */
export function encodeLeave(jIn: number): Uint8Array {
  return encodeCommand(Command.Leave, 0, Uint8Array.of(jIn));
}
/** Delete own joint `jOwn` (raw 0..127; joint.md §3, cmd 3): `00 03 00 01 jOwn`. */
export function encodeDelete(jOwn: number): Uint8Array {
  return encodeCommand(Command.Delete, 0, Uint8Array.of(jOwn));
}
/** Extension: kick `userNr` from own joint `jOwn` (joint.md §17): `00 04 nr 02 jOwn userNr`. */
export function encodeKick(cmdNr: number, jOwn: number, userNr: number): Uint8Array {
  return encodeCommand(Command.Kick, cmdNr, Uint8Array.of(jOwn, userNr));
}

/** A reply `00 03 nr status value` (joint.md §4.1). */
export function encodeReply(cmdNr: number, status: number, value: number): Uint8Array {
  const out = new Uint8Array(REPLY_BYTES);
  writeReply(out, 0, cmdNr, status, value);
  return out;
}
/** userConnect `00 04 00 00 jOwn userNr`. */
export function encodeUserConnect(jOwn: number, userNr: number): Uint8Array {
  const out = new Uint8Array(USER_CONNECT_BYTES);
  writeUserConnect(out, 0, jOwn, userNr);
  return out;
}
/** userDisconnect `00 05 00 01 jOwn userNr reason`. */
export function encodeUserDisconnect(jOwn: number, userNr: number, reason: number): Uint8Array {
  const out = new Uint8Array(USER_DISCONNECT_BYTES);
  writeUserDisconnect(out, 0, jOwn, userNr, reason);
  return out;
}
/** inDisconnect `00 04 00 02 jIn reason`. */
export function encodeInDisconnect(jIn: number, reason: number): Uint8Array {
  const out = new Uint8Array(IN_DISCONNECT_BYTES);
  writeInDisconnect(out, 0, jIn, reason);
  return out;
}

/**
 * One data frame: size, routing header, data (joint.md §2.2-2.3).
 * @param route the routing header: `[jIn]` from a user or to a user, `[jOwn + 128, userNr]`
 *   from an owner or to an owner, `[jOwn + 128]` or `[jOwn + 128, excluded]` after a broadcast prefix.
 * @param data 1.. bytes; with the header at most 32767 bytes.
 * @throws RangeError when the frame would be smaller than 2 or larger than 32767 bytes.
 */
export function encodeDataFrame(route: ArrayLike<number>, data: Uint8Array): Uint8Array {
  const size = route.length + data.length;
  if (data.length === 0 || size < MIN_FRAME_SIZE || size > MAX_FRAME_SIZE) {
    throw new RangeError(`frame of ${data.length} data bytes with a ${route.length}-byte header: size must be ${MIN_FRAME_SIZE}..${MAX_FRAME_SIZE} with at least one data byte`);
  }
  const out = new Uint8Array(frameHeaderBytes(size) + size);
  let at = writeFrameSize(out, 0, size);
  for (let i = 0; i < route.length; i++) out[at++] = route[i]!;
  out.set(data, at);
  return out;
}

/**
 * A broadcast `01 mode` + owner frame (joint.md §5): to every user of own joint `jOwn`, or to
 * every user but `excludedUserNr`.
 * @param excludedUserNr 0..255, or -1 (default) for all users.
 * @throws RangeError like `encodeDataFrame`.
 */
export function encodeBroadcast(jOwn: number, data: Uint8Array, excludedUserNr = -1): Uint8Array {
  const route = excludedUserNr < 0 ? [jOwn + OWN_JOINT_FLAG] : [jOwn + OWN_JOINT_FLAG, excludedUserNr];
  const frame = encodeDataFrame(route, data);
  const out = new Uint8Array(2 + frame.length);
  out[0] = LEAD_BROADCAST;
  out[1] = excludedUserNr < 0 ? 1 : 0;
  out.set(frame, 2);
  return out;
}

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`${name} must be 0..255, got ${value}`);
}
