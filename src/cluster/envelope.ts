/**
 * The binary envelope of the node link (docs/cluster.md §Envelope): one NATS message is one
 * batch, a header then records, many per message. Integers are little-endian. Joint and user
 * references are numbers chosen by the node that owns the thing (`jointRef` by the joint's owner
 * node, `userRef` by the user's node), so no record carries a joint id except ENTER.
 *
 * Batch header (27 + n bytes):
 * `ver u8 = 1 | flags u8 | srcEpoch f64 | dstEpoch f64 | seq u32 | ack u32 | srcIdLen u8 | srcId[n]`
 * flags: bit 0 = the batch carries records (seq counts it), bit 1 = `ack` is valid, bit 2 =
 * a resend request (no records): `seq` is the first batch its sender is missing, bit 3 = a
 * restarted sequence: `ack` holds its first number (see FLAG_RESTART).
 */

/** Envelope version; a batch of another version is refused. */
export const ENVELOPE_VERSION = 1;
/** Header bytes before the source node id. */
export const BATCH_HEAD_BYTES = 27;
/** flags bit: records follow, `seq` numbers this batch. */
export const FLAG_RECORDS = 1;
/** flags bit: `ack` holds the last batch received in order from the destination. */
export const FLAG_ACK = 2;
/**
 * flags bit, on a batch without records: the sender of this batch saw a gap (or reconnected to
 * NATS) and asks the destination to send again every unacknowledged batch from `seq` on.
 */
export const FLAG_RESEND = 4;
/**
 * flags bit, on a batch with records (never with FLAG_ACK): the sender dropped its channel to
 * this node incarnation (a link failure) and opened a new one, whose sequence starts at the
 * number in `ack`; the batches before it are not coming. Set until the new sequence is acked.
 */
export const FLAG_RESTART = 8;

/** Record types; each name is the joint.md event it carries across nodes. */
export const RecordType = {
  /** user node → owner node: a user asks to enter. `reqId u32, userRef u32, flags u8, idLen u8, id` (flags: ENTER_AT_MAX) */
  Enter: 0x01,
  /** owner node → user node: entered. `reqId u32, jointRef u32, userNr u8` */
  EnterOk: 0x02,
  /** owner node → user node: refused with a joint.md §3.1 enter code. `reqId u32, err u8` */
  EnterErr: 0x03,
  /** user node → owner node: the user sent leave (reason 0). `jointRef u32, userNr u8` */
  Leave: 0x04,
  /** user node → owner node: the user's connection closed (reason 1). `jointRef u32, userNr u8` */
  UserGone: 0x05,
  /** user node → owner node: data to the owner. `jointRef u32, userNr u8, len u16, data` */
  ToOwner: 0x06,
  /** owner node → user node: unicast to one user. `userRef u32, len u16, data` */
  ToUser: 0x07,
  /** owner node → user node: broadcast, to every user of the joint on that node but one. `jointRef u32, exclude u16 (0xFFFF none), len u16, data` */
  Broadcast: 0x08,
  /** owner node → user node: the owner kicked the user (joint.md §17, reason 2). `userRef u32` */
  Kick: 0x09,
  /** owner node → user node: the joint is gone, reason 0 deleted / 1 owner's connection closed. `jointRef u32, reason u8` */
  JointGone: 0x0a,
  /** owner node → user node: the owner is congested, stop reading this joint's users. `jointRef u32` */
  PauseJoint: 0x0b,
  /** owner node → user node: the owner drained, read this joint's users again. `jointRef u32` */
  ResumeJoint: 0x0c,
} as const;

/** Bytes of each record before its variable part (type byte included). */
export const RecordBytes = {
  Enter: 11,
  EnterOk: 10,
  EnterErr: 6,
  Leave: 6,
  UserGone: 6,
  ToOwner: 8,
  ToUser: 7,
  Broadcast: 9,
  Kick: 5,
  JointGone: 6,
  PauseJoint: 5,
  ResumeJoint: 5,
} as const;

/**
 * ENTER flag: the user's connection already is in 128 joints. The owner node then answers
 * error 5 (MAX) unless error 1 (no joint) or 4 (full) comes first, which is joint.md §3.1's order
 * on one relay; the user node cannot check it alone without reordering the codes.
 */
export const ENTER_AT_MAX = 1;

/** `exclude` of a broadcast to every user. */
export const NO_EXCLUDE = 0xffff;

/** Why a batch was refused (docs/cluster.md); the records before the fault were delivered. */
export const EnvelopeError = {
  Ok: 0,
  /** A record runs past the end of the batch. */
  Truncated: 1,
  /** A record type outside RecordType. */
  UnknownType: 2,
  /** A field out of its range (unknown ENTER flags, a broadcast's exclude neither 0..255 nor 0xFFFF, a JOINT_GONE reason above 1). */
  BadField: 3,
} as const;
export type EnvelopeError = (typeof EnvelopeError)[keyof typeof EnvelopeError];

/**
 * What the receiving node does with each record. `from` is the sending incarnation. Views
 * (`data` + offset/length, `id`) are borrowed: valid during the call only.
 */
export interface LinkHandler {
  enter(from: NodeRefLike, reqId: number, userRef: number, flags: number, id: Uint8Array): void;
  enterOk(from: NodeRefLike, reqId: number, jointRef: number, userNr: number): void;
  enterErr(from: NodeRefLike, reqId: number, err: number): void;
  leave(from: NodeRefLike, jointRef: number, userNr: number): void;
  userGone(from: NodeRefLike, jointRef: number, userNr: number): void;
  toOwner(from: NodeRefLike, jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number): void;
  toUser(from: NodeRefLike, userRef: number, data: Uint8Array, offset: number, length: number): void;
  /** `exclude` is a userNr, or -1 for none. */
  broadcast(from: NodeRefLike, jointRef: number, exclude: number, data: Uint8Array, offset: number, length: number): void;
  kick(from: NodeRefLike, userRef: number): void;
  jointGone(from: NodeRefLike, jointRef: number, reason: number): void;
  pauseJoint(from: NodeRefLike, jointRef: number): void;
  resumeJoint(from: NodeRefLike, jointRef: number): void;
}

/** A node incarnation (structurally the same as NodeRef). */
export interface NodeRefLike {
  readonly nodeId: string;
  readonly epoch: number;
}

const u32 = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
const u16 = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);

/**
 * Deliver the records of `buf[offset, end)` to `handler`, in order, checking each length before
 * reading it (cheapest first: type, fixed part, then the variable part).
 * @returns EnvelopeError.Ok, or why it stopped.
 */
export function decodeRecords(from: NodeRefLike, buf: Uint8Array, offset: number, end: number, handler: LinkHandler): EnvelopeError {
  let p = offset;
  while (p < end) {
    const type = buf[p]!;
    const left = end - p;
    switch (type) {
      case RecordType.ToOwner: {
        if (left < RecordBytes.ToOwner) return EnvelopeError.Truncated;
        const len = u16(buf, p + 6);
        if (left < RecordBytes.ToOwner + len) return EnvelopeError.Truncated;
        handler.toOwner(from, u32(buf, p + 1), buf[p + 5]!, buf, p + RecordBytes.ToOwner, len);
        p += RecordBytes.ToOwner + len;
        break;
      }
      case RecordType.ToUser: {
        if (left < RecordBytes.ToUser) return EnvelopeError.Truncated;
        const len = u16(buf, p + 5);
        if (left < RecordBytes.ToUser + len) return EnvelopeError.Truncated;
        handler.toUser(from, u32(buf, p + 1), buf, p + RecordBytes.ToUser, len);
        p += RecordBytes.ToUser + len;
        break;
      }
      case RecordType.Broadcast: {
        if (left < RecordBytes.Broadcast) return EnvelopeError.Truncated;
        const exclude = u16(buf, p + 5);
        if (exclude > 255 && exclude !== NO_EXCLUDE) return EnvelopeError.BadField;
        const len = u16(buf, p + 7);
        if (left < RecordBytes.Broadcast + len) return EnvelopeError.Truncated;
        handler.broadcast(from, u32(buf, p + 1), exclude === NO_EXCLUDE ? -1 : exclude, buf, p + RecordBytes.Broadcast, len);
        p += RecordBytes.Broadcast + len;
        break;
      }
      case RecordType.Enter: {
        if (left < RecordBytes.Enter) return EnvelopeError.Truncated;
        const flags = buf[p + 9]!;
        if ((flags & ~ENTER_AT_MAX) !== 0) return EnvelopeError.BadField;
        const idLen = buf[p + 10]!;
        if (left < RecordBytes.Enter + idLen) return EnvelopeError.Truncated;
        const start = p + RecordBytes.Enter;
        handler.enter(from, u32(buf, p + 1), u32(buf, p + 5), flags, buf.subarray(start, start + idLen));
        p = start + idLen;
        break;
      }
      case RecordType.EnterOk:
        if (left < RecordBytes.EnterOk) return EnvelopeError.Truncated;
        handler.enterOk(from, u32(buf, p + 1), u32(buf, p + 5), buf[p + 9]!);
        p += RecordBytes.EnterOk;
        break;
      case RecordType.EnterErr:
        if (left < RecordBytes.EnterErr) return EnvelopeError.Truncated;
        handler.enterErr(from, u32(buf, p + 1), buf[p + 5]!);
        p += RecordBytes.EnterErr;
        break;
      case RecordType.Leave:
      case RecordType.UserGone: {
        if (left < RecordBytes.Leave) return EnvelopeError.Truncated;
        const jointRef = u32(buf, p + 1);
        const userNr = buf[p + 5]!;
        if (type === RecordType.Leave) handler.leave(from, jointRef, userNr);
        else handler.userGone(from, jointRef, userNr);
        p += RecordBytes.Leave;
        break;
      }
      case RecordType.Kick:
        if (left < RecordBytes.Kick) return EnvelopeError.Truncated;
        handler.kick(from, u32(buf, p + 1));
        p += RecordBytes.Kick;
        break;
      case RecordType.JointGone: {
        if (left < RecordBytes.JointGone) return EnvelopeError.Truncated;
        const reason = buf[p + 5]!;
        if (reason > 1) return EnvelopeError.BadField;
        handler.jointGone(from, u32(buf, p + 1), reason);
        p += RecordBytes.JointGone;
        break;
      }
      case RecordType.PauseJoint:
      case RecordType.ResumeJoint:
        if (left < RecordBytes.PauseJoint) return EnvelopeError.Truncated;
        if (type === RecordType.PauseJoint) handler.pauseJoint(from, u32(buf, p + 1));
        else handler.resumeJoint(from, u32(buf, p + 1));
        p += RecordBytes.PauseJoint;
        break;
      default:
        return EnvelopeError.UnknownType;
    }
  }
  return EnvelopeError.Ok;
}

/** Write a u32 LE at `p`. */
export function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
}

/** Write a u16 LE at `p`. */
export function putU16(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
}

/** Read a u32 LE at `p`. */
export const getU32 = u32;
