/**
 * The relay's data plane (joint.md §2.3, §2.5, §5): data pieces rewritten user → owner and
 * owner → user, broadcast runs, and the flush, once per read, of every outbox touched (one socket
 * write per destination per read, DESIGN.md).
 *
 * Data frames are the volume and commands are rare (DESIGN.md "Data plane and control plane"), so
 * this is the hot path: the read loop calls these methods with plain numbers and the read buffer,
 * and every piece is written straight into the destination's outbox slab, with no closure or
 * object made per piece. Its state is the connections' (outbox, dirty, frameSeq) and the broadcast
 * run in progress.
 */
import { JOINT_UNIT_STRIDE, JointUnitKind, UnitFlag } from '../core/index.js';
import { MAX_FRAME_DATA_BYTES, MAX_FRAME_SIZE } from '../joint/limits.js';
import { frameHeaderBytes, MAX_FRAME_HEADER_BYTES, writeOwnerFrameHeader, writeUserFrameHeader } from '../joint/protocol.js';
import type { Joint, JointState, Membership } from '../joint/relay-state.js';
import type { Backpressure } from './backpressure.js';
import type { ClusterBridge } from './cluster-bridge.js';
import type { RemoteUser } from './cluster-remote.js';
import type { DropConnection, RelayConnection } from './connection.js';
import type { ResolvedRelayOptions } from './options.js';
import { Outbox } from './outbox.js';
import { DisconnectReason, type RelayStats } from './stats.js';

const KIND_DATA = JointUnitKind.Data;
const FLAG_FRAME_START = UnitFlag.FrameStart;
const FLAG_FRAME_END = UnitFlag.FrameEnd;
const FLAG_IN_CARRY = UnitFlag.InCarry;
/** Data bytes per frame toward a user: size 32767 = jIn + 32766 (joint.md §2.5). */
const MAX_USER_FRAME_DATA = MAX_FRAME_SIZE - 1;
/** Data bytes per frame toward an owner: size 32767 = jOwn + userNr + 32765. */
const MAX_OWNER_FRAME_DATA = MAX_FRAME_DATA_BYTES;
/**
 * Pieces of at least this many bytes reach a raw-TCP owner as a view of the read buffer (one more
 * iovec in the write) instead of a copy; smaller ones are cheaper to copy than to queue. The
 * 1 KiB bench case could not tell the two apart on a loaded machine, so only large pieces share.
 */
const SHARE_INPUT_MIN_BYTES = 4096;
/**
 * Pieces below this many bytes from a user to an owner are copied as a run (one copy of the read's
 * span, then a move per piece inside the slab: no per-piece call overhead); larger ones are copied
 * one by one, which passes over their bytes once instead of twice. `npm run bench -- relay`
 * (server CPU per frame): the run wins clearly at 64 B and loses at 1 KiB.
 */
const RUN_MAX_PIECE_BYTES = 512;

/** One per relay: forwards the data units of every read and flushes what they queued. */
export class Forwarder {
  /** Connections whose outbox got bytes since the last flush. */
  private dirty: RelayConnection[] = [];

  // The broadcast run in progress (see `broadcast`): consecutive broadcast pieces of one read to
  // one joint with one exclusion. Raw-TCP recipients are grouped by jIn; each group's frames are
  // written once into `runBoxes[jIn]` and shared by all of its members when the run ends.
  private runJoint: Joint | null = null;
  private runExcluded = -2;
  private runGroups: number[] = [];
  private readonly runMembers: RelayConnection[][] = [];
  private readonly runBoxes: Outbox[] = [];
  private runSingles: Membership[] = [];
  /** Cluster: one remote user per node with users in the run's joint (one BROADCAST per node). */
  private runNodes: RemoteUser[] = [];
  /** With the `cluster` option: carries traffic to and from the other nodes. */
  cluster: ClusterBridge | null = null;

  /**
   * @param state the joint tables the data plane reads (changed only by commands and closes).
   * @param backpressure told of every owner that user data is queued for.
   * @param drop ends a connection: a broadcast on a joint it does not own, a slow reader.
   */
  constructor(
    private readonly options: Readonly<ResolvedRelayOptions>,
    private readonly stats: RelayStats,
    private readonly state: JointState,
    private readonly backpressure: Backpressure,
    private readonly drop: DropConnection,
  ) {}

  /**
   * user → owner for a run of consecutive small data pieces (under `RUN_MAX_PIECE_BYTES`) of one
   * read to one in-joint (a user streaming small frames): the same bytes as `userData` piece by
   * piece, with one copy of the whole input span instead of one per piece. The span is copied to
   * the end of the reserved room, so the last piece is already in place; every earlier piece moves
   * down (within the slab, no allocation) to make room for its header, which is one or two bytes
   * longer than the input's.
   * @returns the unit index after the run, or `p` when there is no run of two (the caller goes on
   *   piece by piece).
   */
  userRun(conn: RelayConnection, units: Int32Array, p: number, stop: number, input: Buffer): number {
    const jIn = units[p + 2]!;
    // A joint of another node: piece by piece (TO_OWNER records), not a run.
    if ((conn.entered[jIn]?.joint.owner as RelayConnection | undefined)?.remote === true) return p;
    let end = p;
    let outBytes = 0;
    let prevEnd = -1;
    for (; end < stop; end += JOINT_UNIT_STRIDE) {
      const n = units[end + 5]!;
      const offset = units[end + 4]!;
      if (units[end]! !== KIND_DATA || units[end + 2]! !== jIn || n === 0 || n >= RUN_MAX_PIECE_BYTES) break;
      const header = frameHeaderBytes(n + 2) + 2;
      // Only input frame headers (at most 3 bytes, never more than the output header) between pieces.
      if ((units[end + 1]! & FLAG_IN_CARRY) !== 0 || (prevEnd >= 0 && (offset < prevEnd || offset - prevEnd > header - 1))) break;
      prevEnd = offset + n;
      outBytes += header + n;
    }
    if (end - p < 2 * JOINT_UNIT_STRIDE) return p;
    const m = conn.entered[jIn];
    const last = end - JOINT_UNIT_STRIDE;
    for (let q = p; q < end; q += JOINT_UNIT_STRIDE) {
      const flags = units[q + 1]!;
      if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
      if ((flags & FLAG_FRAME_END) !== 0) this.stats.framesIn++;
    }
    this.endRun();
    const pieces = (end - p) / JOINT_UNIT_STRIDE;
    if (m === undefined) {
      this.stats.drops += pieces;
      return end;
    }
    const joint = m.joint;
    const owner = joint.owner as RelayConnection;
    const jOwn = joint.jOwn;
    const userNr = m.userNr;
    const box = owner.outbox;
    const base = box.reserve(outBytes);
    const buf = box.buf;
    const first = units[p + 4]!;
    const span = units[last + 4]! + units[last + 5]! - first;
    const staged = base + outBytes - span - first;
    input.copy(buf, staged + first, first, first + span);
    let at = base;
    for (let q = p; q < end; q += JOINT_UNIT_STRIDE) {
      const n = units[q + 5]!;
      const from = staged + units[q + 4]!;
      // The header cannot reach bytes still to move: every piece is staged at or after where its
      // data goes, since the input's header and gap before it are shorter than the output's header.
      const data = writeOwnerFrameHeader(buf, at, jOwn, userNr, n);
      if (from !== data) buf.copyWithin(data, from, from + n);
      at = data + n;
      box.commit(at);
    }
    this.stats.framesOut += pieces;
    this.markDirty(owner);
    this.backpressure.feed(owner);
    return end;
  }

  /** user → owner (joint.md §2.3): `jIn, data` becomes `jOwn+128, userNr, data` at the owner. */
  userData(conn: RelayConnection, jIn: number, src: Buffer, offset: number, length: number): void {
    const m = conn.entered[jIn];
    if (m === undefined) {
      this.stats.drops++;
      return;
    }
    const joint = m.joint;
    const owner = joint.owner as RelayConnection;
    if (owner.remote) return this.cluster!.toOwner(conn, m, src, offset, length);
    this.toOwner(owner, joint.jOwn, m.userNr, src, offset, length);
    this.backpressure.feed(owner);
  }

  /** owner → user unicast (joint.md §2.3): `jOwn+128, userNr, data` becomes `jIn, data`. */
  ownerData(conn: RelayConnection, jOwn: number, userNr: number, src: Buffer, offset: number, length: number): void {
    const m = conn.own[jOwn]?.users[userNr];
    // A user who entered after this frame began (the userNr was reused) gets none of it.
    if (m === undefined || m.seq > conn.frameSeq) {
      this.stats.drops++;
      return;
    }
    const user = m.user as RelayConnection;
    if (user.remote) return this.cluster!.toUser(conn, m, src, offset, length);
    this.toUser(user, m.jIn, src, offset, length);
  }

  /** Broadcast (joint.md §5): to every user of own joint `jOwn`, or all but `excluded`. */
  broadcast(conn: RelayConnection, jOwn: number, excluded: number, src: Buffer, offset: number, length: number): void {
    const joint = conn.own[jOwn];
    if (joint === undefined) {
      // joint.md §5, D2: a broadcast on a joint the sender does not own is a protocol error.
      // What the run owes goes out before the close's events.
      this.endRun();
      this.drop(conn, DisconnectReason.ProtocolError, 'broadcast on a joint the sender does not own');
      return;
    }
    if (this.runJoint !== joint || this.runExcluded !== excluded) {
      this.endRun();
      this.startRun(conn, joint, excluded);
    }
    const singles = this.runSingles;
    for (let i = 0; i < singles.length; i++) this.toUser(singles[i]!.user as RelayConnection, singles[i]!.jIn, src, offset, length);
    if (this.runNodes.length > 0) this.cluster!.broadcast(conn, joint, excluded, this.runNodes, src, offset, length);
    const groups = this.runGroups;
    for (let g = 0; g < groups.length; g++) {
      const jIn = groups[g]!;
      const frames = this.writeUserFrames(this.runBoxes[jIn]!, jIn, src, offset, length);
      this.stats.framesOut += frames * this.runMembers[jIn]!.length;
    }
    // Not shareable (a user entered after this frame began): hand this piece over now.
    if (this.runJoint === null) this.shareRun();
  }

  /**
   * End the broadcast run in progress, if any: the read loop calls this before every unit that is
   * not a broadcast piece and at the end of each read, so a run never outlives its read.
   */
  endRun(): void {
    if (this.runJoint !== null) this.shareRun();
  }

  /**
   * Begin a broadcast run: split the recipients into jIn groups of raw-TCP users (shared bytes)
   * and singles (WebSocket users: one message per unit). Users who entered after the current
   * frame began get none of it.
   */
  private startRun(conn: RelayConnection, joint: Joint, excluded: number): void {
    const members = joint.members;
    const seq = conn.frameSeq;
    this.runSingles = [];
    this.runGroups = [];
    this.runNodes = NO_NODES;
    let shareable = true;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.userNr === excluded) continue;
      if (m.seq > seq) {
        shareable = false;
        continue;
      }
      const user = m.user as RelayConnection;
      if (user.remote) {
        this.addNode(m.user as RemoteUser);
        continue;
      }
      if (user.stream.kind !== 'tcp') {
        this.runSingles.push(m);
        continue;
      }
      let list = this.runMembers[m.jIn];
      if (list === undefined) {
        list = this.runMembers[m.jIn] = [];
        this.runBoxes[m.jIn] = new Outbox(false);
      }
      if (list.length === 0) this.runGroups.push(m.jIn);
      list.push(user);
    }
    // With a late entrant the eligible set changes at the next frame start: no run then, so each
    // piece is judged afresh.
    this.runJoint = shareable ? joint : null;
    this.runExcluded = shareable ? excluded : -2;
  }

  /** Hand each group's bytes of the run to each of its members, uncopied, and forget the run. */
  private shareRun(): void {
    const groups = this.runGroups;
    for (let g = 0; g < groups.length; g++) {
      const jIn = groups[g]!;
      const list = this.runMembers[jIn]!;
      const bytes = this.runBoxes[jIn]!.takePending();
      if (bytes.length > 0) {
        for (let i = 0; i < list.length; i++) {
          const user = list[i]!;
          user.outbox.appendShared(bytes);
          this.markDirty(user);
        }
      }
      list.length = 0;
    }
    this.runGroups = [];
    this.runSingles = [];
    this.runNodes = NO_NODES;
    this.runJoint = null;
    this.runExcluded = -2;
  }

  /** Cluster: count `user`'s node once in the broadcast run. */
  private addNode(user: RemoteUser): void {
    if (this.runNodes === NO_NODES) this.runNodes = [];
    const nodes = this.runNodes;
    for (let i = 0; i < nodes.length; i++) if (nodes[i]!.peer.nodeId === user.peer.nodeId) return;
    nodes.push(user);
  }

  /**
   * Queue `length` data bytes to an owner as frames of at most 32767 (joint.md §2.5, D1).
   * @param share false when `src` is borrowed (a cluster record): large pieces are copied too.
   */
  toOwner(owner: RelayConnection, jOwn: number, userNr: number, src: Buffer, offset: number, length: number, share = true): void {
    const box = owner.outbox;
    const shareInput = share && owner.stream.kind === 'tcp';
    while (length > 0) {
      const n = length < MAX_OWNER_FRAME_DATA ? length : MAX_OWNER_FRAME_DATA;
      let at = box.reserve(n + MAX_FRAME_HEADER_BYTES);
      at = writeOwnerFrameHeader(box.buf, at, jOwn, userNr, n);
      if (shareInput && n >= SHARE_INPUT_MIN_BYTES) {
        // The read buffer is never reused or written, so the socket can send its bytes as they are.
        box.commit(at);
        box.appendShared(src.subarray(offset, offset + n));
      } else {
        copyBytes(src, offset, n, box.buf, at);
        box.commit(at + n);
      }
      this.stats.framesOut++;
      offset += n;
      length -= n;
    }
    this.markDirty(owner);
  }

  /** Queue `length` data bytes to a user as frames of at most 32767. */
  toUser(user: RelayConnection, jIn: number, src: Buffer, offset: number, length: number): void {
    this.stats.framesOut += this.writeUserFrames(user.outbox, jIn, src, offset, length);
    this.markDirty(user);
  }

  /** Write `length` data bytes as user frames (jIn header) of at most 32767 into `box`. @returns frames written. */
  private writeUserFrames(box: Outbox, jIn: number, src: Buffer, offset: number, length: number): number {
    let frames = 0;
    while (length > 0) {
      const n = length < MAX_USER_FRAME_DATA ? length : MAX_USER_FRAME_DATA;
      let at = box.reserve(n + MAX_FRAME_HEADER_BYTES);
      at = writeUserFrameHeader(box.buf, at, jIn, n);
      copyBytes(src, offset, n, box.buf, at);
      box.commit(at + n);
      frames++;
      offset += n;
      length -= n;
    }
    return frames;
  }

  /** `conn`'s outbox got bytes: flush it with the others at the end of the read (or sweep). */
  markDirty(conn: RelayConnection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.dirty.push(conn);
  }

  /**
   * Flush every touched outbox once; drop the peers that are slow readers by their own doing:
   * past `maxOutboundBytes` with nobody paused on their behalf (owner traffic to a user, which must
   * never pause the owner or the other users), or past twice that in any case (a memory ceiling
   * that paused users, one read each, reach only in the hundreds).
   */
  flushDirty(): void {
    const cap = this.options.maxOutboundBytes;
    let now = 0;
    while (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = [];
      if (now === 0) now = Date.now();
      for (let i = 0; i < list.length; i++) {
        const conn = list[i]!;
        conn.dirty = false;
        if (conn.closed) continue;
        const stream = conn.stream;
        // The stall clock starts when a backlog begins; progress moves it on (`onWritten`).
        if (stream.bufferedBytes === 0) conn.progressMs = now;
        this.stats.bytesOut += conn.outbox.flushTo(stream);
        conn.lastSendMs = now;
        conn.keepaliveArmed = true;
        if (cap === 0) continue;
        const backlog = stream.bufferedBytes;
        if (backlog > cap && ((conn.waiters === null && !conn.fed) || backlog > 2 * cap)) {
          // Dropping queues events for others: the while loop flushes them too.
          this.drop(conn, DisconnectReason.SlowReader, `${backlog} bytes unsent`);
        }
      }
    }
  }
}

/** No remote nodes in the broadcast run: one shared empty list (replaced before a push). */
const NO_NODES: RemoteUser[] = [];

/** Copy bytes between Buffers; a byte loop below 64 bytes beats the native call (bench relay). */
function copyBytes(src: Buffer, offset: number, length: number, dst: Buffer, at: number): void {
  if (length < 64) {
    for (let i = 0; i < length; i++) dst[at + i] = src[offset + i]!;
  } else {
    src.copy(dst, at, offset, offset + length);
  }
}
