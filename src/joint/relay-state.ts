/**
 * The relay's bookkeeping of joints, owners and users (joint.md §1, §3, §6), without sockets or
 * bytes: create, enter, leave, delete, kick and the close cleanup of §6.3. The caller (the relay)
 * turns results and notifications into wire messages.
 */
import { LowestFree } from './numbers.js';
import { CreateError, EnterError, WireReason } from './protocol.js';
import { MAX_ID_BYTES, MAX_IN_JOINTS, MAX_OWN_JOINTS, MAX_USERS_PER_JOINT } from './limits.js';

/**
 * The empty table every endpoint and joint starts with, shared: tables grow as numbers are taken
 * (lowest free first, so they stay dense), and an idle connection or an empty joint holds none of
 * its own (issues 13 and 14: memory per idle connection, a create storm). Frozen, so a write that
 * forgot to make a table first fails loudly instead of corrupting every endpoint.
 */
const NO_SLOTS: never[] = Object.freeze([]) as never[];

/** Per-connection numbering and tables; one per relay connection. */
export class JointEndpoint {
  /** Own joints by `jOwn` (the shared empty table until the first create). */
  own: (Joint | undefined)[] = NO_SLOTS;
  /** Entered joints by `jIn` (the shared empty table until the first enter). */
  entered: (Membership | undefined)[] = NO_SLOTS;
  // Number pools made at the first create or enter: most connections only own or only enter,
  // and an idle relay connection should cost little (issue 13).
  private ownPool: LowestFree | null = null;
  private inPool: LowestFree | null = null;

  /**
   * @param maxOwnJoints own joints allowed, 1..128 (default 128).
   * @param maxInJoints entered joints allowed, 1..128 (default 128).
   */
  constructor(
    private readonly maxOwnJoints = MAX_OWN_JOINTS,
    private readonly maxInJoints = MAX_IN_JOINTS,
  ) {}

  /** Joints this connection owns now (without making its pool). */
  get ownedCount(): number {
    return this.ownPool?.used ?? 0;
  }

  /** `jOwn` numbers of this connection. */
  get ownNumbers(): LowestFree {
    return (this.ownPool ??= new LowestFree(this.maxOwnJoints));
  }

  /** `jIn` numbers of this connection. */
  get inNumbers(): LowestFree {
    return (this.inPool ??= new LowestFree(this.maxInJoints));
  }
}

/** A joint: an id, its owner, and its users by `userNr`. */
export class Joint {
  /** Users by userNr (the shared empty table until the first enter). */
  users: (Membership | undefined)[] = NO_SLOTS;
  /** The same users, densely packed for broadcast (order not meaningful); shared empty until the first enter. */
  members: Membership[] = NO_SLOTS;
  // Made at the first enter: an empty joint holds no pool (issue 14: a create storm's memory).
  private userPool: LowestFree | null = null;

  /** `userNr` numbers of this joint. */
  get userNumbers(): LowestFree {
    return (this.userPool ??= new LowestFree(this.maxUsers));
  }

  /** The id as raw bytes (made from `key` on demand: the joint keeps one copy of its id). */
  get id(): Uint8Array {
    const bytes = new Uint8Array(this.key.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.key.charCodeAt(i);
    return bytes;
  }

  constructor(
    /** The id as a Map key (latin1: one char per byte, so exact raw-byte comparison). */
    readonly key: string,
    readonly owner: JointEndpoint,
    readonly jOwn: number,
    private readonly maxUsers: number,
  ) {}
}

/** A user's place in a joint. */
export class Membership {
  /** Position in `joint.members`, kept for O(1) removal. */
  index = -1;
  /**
   * Enter sequence number (`JointState.sequence` when it entered): a frame that began before
   * it entered is not delivered to it, so a user never receives the tail of someone else's frame.
   */
  seq = 0;
  constructor(
    readonly joint: Joint,
    readonly user: JointEndpoint,
    readonly userNr: number,
    readonly jIn: number,
  ) {}
}

/** What the relay state reports as it changes, so the relay can tell the peers. */
export interface JointStateListener {
  /** A user left a joint (`reason` 0 leave, 1 closed, 2 kicked): tell the owner userDisconnect. */
  userGone(membership: Membership, reason: WireReason): void;
  /** A joint is gone for one of its users (`reason` 0 delete, 1 owner closed, 2 kicked): tell the user inDisconnect. */
  jointGone(membership: Membership, reason: WireReason): void;
}

/** Limits of a JointState; the protocol-fixed values are hard maxima (joint.md §7). */
export interface JointStateLimits {
  /** Users per joint, 1..256 (default 256). */
  maxUsersPerJoint?: number;
  /** Id length in bytes, 0..255 (default 255). */
  maxIdBytes?: number;
}

/** Result of create or enter: the number (>= 0) or `-err` (joint.md §3.1). */
export type AssignResult = number;

/**
 * All joints of one relay: one global id namespace (joint.md §1).
 */
export class JointState {
  readonly maxUsersPerJoint: number;
  readonly maxIdBytes: number;
  private readonly byId = new Map<string, Joint>();
  private userCount = 0;
  private enterSeq = 0;

  /**
   * @throws RangeError when a limit is above its protocol maximum or below its minimum.
   */
  constructor(
    private readonly listener: JointStateListener,
    limits: JointStateLimits = {},
  ) {
    this.maxUsersPerJoint = checkLimit('maxUsersPerJoint', limits.maxUsersPerJoint ?? MAX_USERS_PER_JOINT, 1, MAX_USERS_PER_JOINT);
    this.maxIdBytes = checkLimit('maxIdBytes', limits.maxIdBytes ?? MAX_ID_BYTES, 0, MAX_ID_BYTES);
  }

  /** Enters so far; a membership's `seq` is the value at its enter (1, 2, ...). */
  get sequence(): number {
    return this.enterSeq;
  }

  /** Joints on the relay. */
  get joints(): number {
    return this.byId.size;
  }

  /** Memberships on the relay (a connection in two joints counts twice). */
  get users(): number {
    return this.userCount;
  }

  /** The joint with this id, if any. */
  find(id: Uint8Array, offset = 0, length = id.length): Joint | undefined {
    return this.byId.get(idKey(id, offset, length));
  }

  /**
   * Create joint `id` owned by `owner` (joint.md §6.1). Checks in the order of §3.1: id taken
   * (err 2) before too many own joints (err 1); an id over `maxIdBytes` is err 3 (extension).
   * @returns `jOwn` (0..127), or `-err`.
   */
  create(owner: JointEndpoint, id: Uint8Array, offset = 0, length = id.length): AssignResult {
    if (length > this.maxIdBytes) return -CreateError.IdTooLong;
    const key = idKey(id, offset, length);
    if (this.byId.has(key)) return -CreateError.IdTaken;
    const jOwn = owner.ownNumbers.take();
    if (jOwn < 0) return -CreateError.Max;
    const joint = new Joint(key, owner, jOwn, this.maxUsersPerJoint);
    // The first table holds exactly its first joint (jOwn 0); an empty array would grow to 17 slots.
    if (owner.own === NO_SLOTS) owner.own = [joint];
    else owner.own[jOwn] = joint;
    this.byId.set(key, joint);
    return jOwn;
  }

  /**
   * `user` enters joint `id` (joint.md §6.1). Checks in the order of §3.1: no such joint (1),
   * own joint (2), already in (3), full (4), too many entered joints (5).
   * @returns the membership (its `jIn` and `userNr`), or `-err`.
   */
  enter(user: JointEndpoint, id: Uint8Array, offset = 0, length = id.length): Membership | number {
    const joint = length > MAX_ID_BYTES ? undefined : this.byId.get(idKey(id, offset, length));
    if (joint === undefined) return -EnterError.NoSuchJoint;
    if (joint.owner === user) return -EnterError.OwnJoint;
    for (const m of joint.members) if (m.user === user) return -EnterError.AlreadyIn;
    if (joint.userNumbers.used >= joint.userNumbers.capacity) return -EnterError.Full;
    if (user.inNumbers.used >= user.inNumbers.capacity) return -EnterError.Max;
    const userNr = joint.userNumbers.take();
    const jIn = user.inNumbers.take();
    const m = new Membership(joint, user, userNr, jIn);
    m.seq = ++this.enterSeq;
    // First tables hold exactly their first entry (number 0); an empty array would grow to 17 slots.
    m.index = joint.members.length;
    if (joint.members === NO_SLOTS) {
      joint.users = [m];
      joint.members = [m];
    } else {
      joint.users[userNr] = m;
      joint.members.push(m);
    }
    if (user.entered === NO_SLOTS) user.entered = [m];
    else user.entered[jIn] = m;
    this.userCount++;
    return m;
  }

  /** `user` leaves in-joint `jIn` (cmd 2): the owner hears reason 0. Unknown `jIn` is ignored. @returns true if it was in. */
  leave(user: JointEndpoint, jIn: number): boolean {
    const m = user.entered[jIn];
    if (m === undefined) return false;
    this.removeMembership(m);
    this.listener.userGone(m, WireReason.Explicit);
    return true;
  }

  /** `owner` deletes own joint `jOwn` (cmd 3): every user hears reason 0. Not owned: ignored. @returns true if deleted. */
  delete(owner: JointEndpoint, jOwn: number): boolean {
    const joint = owner.own[jOwn];
    if (joint === undefined) return false;
    this.removeJoint(joint, WireReason.Explicit);
    return true;
  }

  /**
   * Extension (joint.md §17): `owner` removes `userNr` from own joint `jOwn`; the user hears
   * inDisconnect(2), the owner userDisconnect(2). @returns true if the user was there.
   */
  kick(owner: JointEndpoint, jOwn: number, userNr: number): boolean {
    const m = owner.own[jOwn]?.users[userNr];
    if (m === undefined) return false;
    this.removeMembership(m);
    this.listener.jointGone(m, WireReason.Kicked);
    this.listener.userGone(m, WireReason.Kicked);
    return true;
  }

  /**
   * The close cleanup of joint.md §6.3: every own joint goes (users hear reason 1), every entered
   * joint's owner hears userDisconnect(1). Safe to call twice.
   */
  removeEndpoint(endpoint: JointEndpoint): void {
    for (let jOwn = 0; jOwn < endpoint.own.length; jOwn++) {
      const joint = endpoint.own[jOwn];
      if (joint !== undefined) this.removeJoint(joint, WireReason.Closed);
    }
    for (let jIn = 0; jIn < endpoint.entered.length; jIn++) {
      const m = endpoint.entered[jIn];
      if (m === undefined) continue;
      this.removeMembership(m);
      this.listener.userGone(m, WireReason.Closed);
    }
  }

  private removeJoint(joint: Joint, reason: WireReason): void {
    this.byId.delete(joint.key);
    joint.owner.own[joint.jOwn] = undefined;
    joint.owner.ownNumbers.free(joint.jOwn);
    // Users in userNr order, so a joint's users hear it in a stable order.
    for (let userNr = 0; userNr < joint.users.length; userNr++) {
      const m = joint.users[userNr];
      if (m === undefined) continue;
      this.removeMembership(m);
      this.listener.jointGone(m, reason);
    }
  }

  private removeMembership(m: Membership): void {
    if (!detachMembership(m)) return;
    m.joint.userNumbers.free(m.userNr);
    this.userCount--;
  }
}

/**
 * Take `m` out of its joint's tables and its user's (the user's `jIn` is freed; the joint's
 * `userNr` is the caller's: a cluster node mirrors joints whose numbers another node assigns).
 * @returns false when it was not in them.
 */
export function detachMembership(m: Membership): boolean {
  const joint = m.joint;
  if (joint.users[m.userNr] !== m) return false;
  joint.users[m.userNr] = undefined;
  const last = joint.members.pop()!;
  if (last !== m) {
    joint.members[m.index] = last;
    last.index = m.index;
  }
  m.index = -1;
  m.user.entered[m.jIn] = undefined;
  m.user.inNumbers.free(m.jIn);
  return true;
}

/** A Map key for raw id bytes: latin1 maps each byte to one char, so equal keys mean equal bytes. */
export function idKey(id: Uint8Array, offset = 0, length = id.length): string {
  let key = '';
  for (let i = offset; i < offset + length; i++) key += String.fromCharCode(id[i]!);
  return key;
}

function checkLimit(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}
