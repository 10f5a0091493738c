/**
 * The relay's side of a cluster (issue 18 phase 2, docs/cluster.md §8): joins through
 * `Cluster.join` with a LinkHandler over the relay's joint tables, so that joints owned on one
 * node can be entered from any node and every event of joint.md crosses nodes.
 *
 * - The **owner node** holds the truth of a joint: a user of another node enters it as a
 *   `RemoteUser` through `JointState.enter` (userNr, user limit and userConnect as on one relay).
 * - The **user node** keeps, per remote joint, a stand-in `Joint` owned by a `RemoteOwner`, with
 *   its users here by the userNr the owner node gave them; its memberships sit in the
 *   connections' `entered` tables next to local ones, so the data plane finds them the same way.
 * - Ids are claimed in the directory before a create, released on delete and close.
 * - A create or a cross-node enter waits for the cluster. The connection's later commands queue
 *   behind it and its socket is not read meanwhile (`PauseCause.Command`), so its replies come in
 *   command order.
 */
import { Cluster, ENTER_AT_MAX, type ClusterOptions, type LinkHandler, type NodeRef, type NodeRefLike } from '../cluster/index.js';
import { CreateError, EnterError, ReplyStatus, WireReason } from '../joint/protocol.js';
import { idKey, Joint, Membership, type JointState } from '../joint/relay-state.js';
import { PauseCause, setPaused } from './backpressure.js';
import { RemoteOwner, RemoteUser } from './cluster-remote.js';
import type { Commands } from './commands.js';
import type { DropConnection, RelayConnection } from './connection.js';
import type { Forwarder } from './forwarding.js';
import { REMOTE_RESUME_CHECK_MS } from './limits.js';
import type { Logger } from './logger.js';
import type { ResolvedRelayOptions } from './options.js';
import { DisconnectReason, type RelayClusterStats } from './stats.js';

/** A membership of a connection here in a joint owned on another node. */
class RemoteMembership extends Membership {
  /** This node's handle of it (the owner node addresses TO_USER and KICK to it). */
  userRef = 0;
}

/** A cross-node enter waiting for ENTER_OK / ENTER_ERR. */
interface PendingEnter {
  conn: RelayConnection;
  cmdNr: number;
  key: string;
  peer: NodeRef;
  timer: NodeJS.Timeout;
}

/** What the bridge needs of the relay. */
export interface BridgeHost {
  readonly options: Readonly<ResolvedRelayOptions>;
  readonly state: JointState;
  readonly commands: Commands;
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly drop: DropConnection;
}

/** One per clustered relay. */
export class ClusterBridge {
  private cluster!: Cluster;
  /** Owner side: the remote users in joints here, by their node id. */
  private readonly remoteUsers = new Map<string, Set<RemoteUser>>();
  /** Owner side: this node's handle of each joint here that has (had) remote users. */
  private readonly refOfJoint = new Map<Joint, number>();
  private readonly jointOfRef = new Map<number, Joint>();
  private nextJointRef = 1;
  /** User side: stand-in joints by `nodeId/epoch/jointRef`. */
  private readonly proxies = new Map<string, Joint>();
  /** User side: memberships by userRef (which is the reqId of their enter). */
  private readonly byUserRef = new Map<number, RemoteMembership>();
  private readonly pending = new Map<number, PendingEnter>();
  private nextReqId = 1;
  /** Sources paused because the link toward a node is congested, by node id. */
  private readonly waiting = new Map<string, Set<RelayConnection>>();
  /** Congested nodes each paused source waits for (read again when none is left). */
  private readonly linkHolds = new Map<RelayConnection, number>();
  private readonly releases = new Set<Promise<unknown>>();
  /** Owner side: joints here fed by remote users during the batch being delivered. */
  private readonly fedJoints = new Set<Joint>();
  /** Owner side: joints whose owner is congested, and the nodes told PAUSE_JOINT for them. */
  private readonly pausedJoints = new Map<Joint, NodeRef[]>();
  private resumeTimer: NodeJS.Timeout | null = null;
  /** User side: stand-in joints paused by their owner node. */
  private readonly pausedProxies = new Set<Joint>();
  /** User side: paused stand-in joints each connection here is in. */
  private readonly holds = new Map<RelayConnection, number>();
  private flushQueued = false;
  private closed = false;
  private remoteUserCount = 0;
  private readonly counts = { framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0, drops: 0, linkFailures: 0, peersDown: 0, linkPauses: 0, jointPauses: 0 };
  /** The NATS message buffer of the records being delivered, as a Buffer view (one per batch). */
  private lastData: Uint8Array | null = null;
  private lastBuf: Buffer = Buffer.alloc(0);

  private constructor(private readonly host: BridgeHost) {}

  /**
   * Join the cluster. @throws {TypeError|RangeError} bad cluster options; rejects when NATS or
   * JetStream cannot be reached.
   */
  static async join(options: ClusterOptions, host: BridgeHost): Promise<ClusterBridge> {
    const bridge = new ClusterBridge(host);
    bridge.cluster = await Cluster.join(options, bridge.handler);
    bridge.wire();
    return bridge;
  }

  /** This node's incarnation. */
  get self(): NodeRef {
    return this.cluster.self;
  }

  private wire(): void {
    const c = this.cluster;
    const log = this.host.log;
    const status = (): Record<string, string | number> => ({ node: c.self.nodeId, peers: c.membership.peers().length, nats: c.health.state });
    c.on('peer-up', (peer) => log.info('cluster peer up', { ...status(), peer: peer.nodeId }));
    c.on('peer-down', (peer, reason) => {
      log.info('cluster peer down', { ...status(), peer: peer.nodeId, reason });
      this.endPeer(peer, false);
    });
    c.on('link-failed', (peer, why) => {
      this.counts.linkFailures++;
      log.warn('cluster link failed', { ...status(), peer: peer.nodeId, why });
      c.link.drop(peer.nodeId, peer.epoch);
      this.endPeer(peer, true);
    });
    c.on('drain', (peer) => this.resume(peer.nodeId));
    c.on('nats-down', (cause) => log.warn('cluster NATS down', { ...status(), cause }));
    c.on('nats-up', (downMs) => log.info('cluster NATS back', { ...status(), downMs }));
    c.on('isolated', () => log.warn('cluster isolated: cross-node joints closed', status()));
    c.on('rejoined', (self, lost) => {
      log.info('cluster rejoined', { ...status(), epoch: self.epoch, lost: lost.length });
      for (const id of lost) this.lost(id);
    });
    c.on('lost', (id) => this.lost(id));
    c.on('conflict', (epoch) => log.error('cluster: another process runs with this node id', { node: c.self.nodeId, epoch }));
    c.on('warning', (error) => log.warn('cluster warning', { node: c.self.nodeId, error: error.message }));
    log.info('cluster joined', status());
  }

  // ---- commands (user → this relay) --------------------------------------------------------

  /**
   * Create (joint.md §3.1 order): id too long (3), id here (2), then the claim: taken anywhere or
   * no answer (2), then the connection's own limit (1, the claim given back).
   */
  create(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    const { state, commands } = this.host;
    if (length > state.maxIdBytes) return commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTooLong);
    if (state.find(src, offset, length) !== undefined) return commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
    const id = Buffer.from(src.subarray(offset, offset + length));
    this.begin(conn);
    this.cluster.directory.claim(id).then(
      (result) => {
        if (this.closed) return;
        if (conn.closed) {
          if (result === 'claimed') this.release(id);
          return;
        }
        if (result !== 'claimed') commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
        else {
          const r = state.create(conn, id);
          if (r >= 0) commands.countJoints(conn, 1);
          else this.release(id);
          commands.reply(conn, cmdNr, r >= 0 ? ReplyStatus.Ok : ReplyStatus.Error, r >= 0 ? r : -r);
        }
        this.finish(conn);
      },
      () => {
        if (this.closed || conn.closed) return;
        commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
        this.finish(conn);
      },
    );
  }

  /**
   * Enter a joint that is not here (docs/cluster.md §3 "User numbers across nodes"): already in
   * (3) is known here; the owner node answers no such joint (1), full (4) and at max (5).
   */
  enter(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    const commands = this.host.commands;
    if (length > 255) return commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.NoSuchJoint);
    const id = Buffer.from(src.subarray(offset, offset + length));
    const key = idKey(id);
    for (const m of conn.entered) if (m !== undefined && m.joint.key === key) return commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.AlreadyIn);
    this.begin(conn);
    const go = (owner: NodeRef | null): void => {
      if (this.closed || conn.closed) return;
      // A node whose first heartbeat has not arrived yet is taken at the directory's word; one
      // known in a later incarnation means a stale entry.
      const known = owner === null ? undefined : this.cluster.membership.peer(owner.nodeId);
      const peer = known !== undefined && known.epoch === owner!.epoch ? known : owner;
      if (peer === null || owner!.nodeId === this.cluster.self.nodeId || (known !== undefined && known.epoch > owner!.epoch)) {
        commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.NoSuchJoint);
        this.finish(conn);
        return;
      }
      const reqId = this.nextReqId++;
      // Bounded like a directory operation: an owner node that never answers is an error 1.
      const timer = setTimeout(() => this.onEnterErr(peer, reqId, EnterError.NoSuchJoint), this.cluster.options.directoryTimeoutMs);
      timer.unref();
      this.pending.set(reqId, { conn, cmdNr, key, peer, timer });
      this.cluster.link.channel(peer).enter(reqId, reqId, id, conn.inNumbers.used >= conn.inNumbers.capacity);
    };
    const cached = this.cluster.directory.cached(id);
    if (cached !== null) go(cached);
    else this.cluster.directory.lookup(id).then(go, () => go(null));
  }

  /** Leave (cmd 2) a joint owned on another node: LEAVE, and the membership here goes. */
  leave(m: Membership): void {
    const owner = m.joint.owner as RemoteOwner;
    owner.channel.leave(owner.jointRef, m.userNr);
    this.removeHere(m as RemoteMembership);
  }

  /**
   * Joint `joint` here ends (delete: reason 0; its owner's connection closed: 1): one JOINT_GONE
   * per node with users in it, and its id goes back to the directory. Call it before the joint
   * tables remove the joint; `userLeft` then ignores its remote users.
   */
  jointEnding(joint: Joint, reason: 0 | 1): void {
    const ref = this.refOfJoint.get(joint);
    if (ref !== undefined) {
      const told = new Set<string>();
      for (const m of joint.members) {
        const user = m.user as RemoteUser;
        if (!user.remote) continue;
        user.told = true;
        this.unindex(user);
        if (told.has(user.peer.nodeId)) continue;
        told.add(user.peer.nodeId);
        this.cluster.link.channel(user.peer).jointGone(ref, reason);
      }
      this.refOfJoint.delete(joint);
      this.jointOfRef.delete(ref);
    }
    this.release(joint.id);
  }

  /**
   * A remote user's membership here ended by the joint tables (`JointStateListener.jointGone`):
   * a kick tells its node KICK; a joint end was told already by `jointEnding`.
   */
  userLeft(m: Membership, reason: WireReason): void {
    const user = m.user as RemoteUser;
    if (user.told) return;
    user.told = true;
    this.unindex(user);
    const ref = this.refOfJoint.get(m.joint);
    if (ref === undefined) return;
    if (reason === WireReason.Kicked) this.cluster.link.channel(user.peer).kick(user.userRef);
  }

  /**
   * `conn` closes (before the joint tables clean it up): its joints end with reason 1, its
   * memberships in other nodes' joints send USER_GONE and go.
   */
  connectionClosing(conn: RelayConnection): void {
    conn.cmdQueue = null;
    for (const joint of conn.own) if (joint !== undefined) this.jointEnding(joint, 1);
    for (const m of conn.entered) {
      if (m === undefined || !(m.joint.owner as RemoteOwner).remote) continue;
      const owner = m.joint.owner as RemoteOwner;
      owner.channel.userGone(owner.jointRef, m.userNr);
      this.removeHere(m as RemoteMembership);
    }
  }

  // ---- data plane hooks (forwarding.ts) ----------------------------------------------------

  /** user here → owner on another node: TO_OWNER; a congested link pauses `conn`. */
  toOwner(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    const owner = m.joint.owner as RemoteOwner;
    this.counts.framesOut++;
    this.counts.bytesOut += length;
    if (!owner.channel.toOwner(owner.jointRef, m.userNr, src, offset, length)) this.pauseFor(conn, owner.peer);
  }

  /** owner here → user on another node: TO_USER; a congested link pauses the owner. */
  toUser(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    const user = m.user as RemoteUser;
    this.counts.framesOut++;
    this.counts.bytesOut += length;
    if (!this.cluster.link.channel(user.peer).toUser(user.userRef, src, offset, length)) this.pauseFor(conn, user.peer);
  }

  /** owner here → its users on other nodes: one BROADCAST per node (`nodes`: one user of each). */
  broadcast(conn: RelayConnection, joint: Joint, excluded: number, nodes: RemoteUser[], src: Uint8Array, offset: number, length: number): void {
    const ref = this.refOfJoint.get(joint);
    if (ref === undefined) return;
    for (let i = 0; i < nodes.length; i++) {
      const peer = nodes[i]!.peer;
      this.counts.framesOut++;
      this.counts.bytesOut += length;
      if (!this.cluster.link.channel(peer).broadcast(ref, excluded, src, offset, length)) this.pauseFor(conn, peer);
    }
  }

  // ---- LinkHandler: records from other nodes -----------------------------------------------

  /** Records from other nodes, to the `on*` methods below. */
  private readonly handler: LinkHandler = {
    enter: (from, reqId, userRef, flags, id) => this.onEnter(from, reqId, userRef, flags, id),
    enterOk: (from, reqId, jointRef, userNr) => this.onEnterOk(from, reqId, jointRef, userNr),
    enterErr: (from, reqId, err) => this.onEnterErr(from, reqId, err),
    leave: (from, jointRef, userNr) => this.onLeave(from, jointRef, userNr),
    userGone: (from, jointRef, userNr) => this.onUserGone(from, jointRef, userNr),
    toOwner: (from, jointRef, userNr, data, offset, length) => this.onToOwner(from, jointRef, userNr, data, offset, length),
    toUser: (from, userRef, data, offset, length) => this.onToUser(from, userRef, data, offset, length),
    broadcast: (from, jointRef, exclude, data, offset, length) => this.onBroadcast(from, jointRef, exclude, data, offset, length),
    kick: (from, userRef) => this.onKick(from, userRef),
    jointGone: (from, jointRef, reason) => this.onJointGone(from, jointRef, reason),
    pauseJoint: (from, jointRef) => this.onPauseJoint(from, jointRef, true),
    resumeJoint: (from, jointRef) => this.onPauseJoint(from, jointRef, false),
  };

  /** ENTER: a user of `from` enters a joint here (joint.md §3.1 order, §6.1). */
  private onEnter(from: NodeRefLike, reqId: number, userRef: number, flags: number, id: Uint8Array): void {
    // A sender not heard yet is alive (it just sent this); one known in a later life is stale.
    const known = this.cluster.membership.peer(from.nodeId);
    if (known !== undefined && known.epoch > from.epoch) return;
    const peer: NodeRef = known !== undefined && known.epoch === from.epoch ? known : Object.freeze({ nodeId: from.nodeId, epoch: from.epoch });
    const channel = this.cluster.link.channel(peer);
    const state = this.host.state;
    const joint = state.find(id);
    if (joint === undefined) return void channel.enterErr(reqId, EnterError.NoSuchJoint);
    if (joint.userNumbers.used >= joint.userNumbers.capacity) return void channel.enterErr(reqId, EnterError.Full);
    if ((flags & ENTER_AT_MAX) !== 0) return void channel.enterErr(reqId, EnterError.Max);
    const user = new RemoteUser(peer, userRef);
    const m = state.enter(user, id);
    if (typeof m === 'number') return void channel.enterErr(reqId, -m);
    user.m = m;
    let set = this.remoteUsers.get(peer.nodeId);
    if (set === undefined) this.remoteUsers.set(peer.nodeId, (set = new Set()));
    set.add(user);
    this.remoteUserCount++;
    let ref = this.refOfJoint.get(joint);
    if (ref === undefined) {
      ref = this.nextJointRef++;
      this.refOfJoint.set(joint, ref);
      this.jointOfRef.set(ref, joint);
    }
    channel.enterOk(reqId, ref, m.userNr);
    this.host.commands.userConnect(m);
    this.scheduleFlush();
  }

  /** ENTER_OK: the enter of a connection here succeeded; give it its jIn. */
  private onEnterOk(from: NodeRefLike, reqId: number, jointRef: number, userNr: number): void {
    const p = this.pending.get(reqId);
    if (p === undefined || p.peer.nodeId !== from.nodeId || p.peer.epoch !== from.epoch) {
      // Late (the enter timed out) or unknown: the owner node must not keep a user nobody has.
      this.cluster.link.channel(from as NodeRef).userGone(jointRef, userNr);
      return;
    }
    this.pending.delete(reqId);
    clearTimeout(p.timer);
    const { conn, peer } = p;
    const pkey = `${peer.nodeId}/${peer.epoch}/${jointRef}`;
    let joint = this.proxies.get(pkey);
    const jIn = conn.closed || userNr > 255 || joint?.users[userNr] !== undefined ? -1 : conn.inNumbers.take();
    if (jIn < 0) {
      this.cluster.link.channel(peer).userGone(jointRef, userNr);
      if (conn.closed) return;
      this.host.commands.reply(conn, p.cmdNr, ReplyStatus.Error, EnterError.Max);
      this.finish(conn);
      return;
    }
    if (joint === undefined) {
      joint = new Joint(p.key, new RemoteOwner(peer, jointRef, this.cluster.link.channel(peer)), 0, 256);
      this.proxies.set(pkey, joint);
    }
    const m = new RemoteMembership(joint, conn, userNr, jIn);
    m.userRef = reqId;
    if (Object.isFrozen(joint.users)) {
      joint.users = [];
      joint.members = [];
    }
    joint.users[userNr] = m;
    m.index = joint.members.length;
    joint.members.push(m);
    if (Object.isFrozen(conn.entered)) conn.entered = [];
    conn.entered[jIn] = m;
    this.byUserRef.set(reqId, m);
    if (this.pausedProxies.has(joint)) this.hold(conn, 1);
    this.host.commands.reply(conn, p.cmdNr, ReplyStatus.Ok, jIn);
    this.finish(conn);
  }

  /** ENTER_ERR: the owner node refused the enter (joint.md §3.1 code). */
  private onEnterErr(from: NodeRefLike, reqId: number, err: number): void {
    const p = this.pending.get(reqId);
    if (p === undefined || p.peer.nodeId !== from.nodeId) return;
    this.pending.delete(reqId);
    clearTimeout(p.timer);
    if (p.conn.closed) return;
    this.host.commands.reply(p.conn, p.cmdNr, ReplyStatus.Error, err);
    this.finish(p.conn);
  }

  /** LEAVE: the owner here gets userDisconnect 0. */
  private onLeave(from: NodeRefLike, jointRef: number, userNr: number): void {
    const user = this.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    user.told = true;
    this.unindex(user);
    this.host.state.leave(user, user.m!.jIn);
    this.scheduleFlush();
  }

  /** USER_GONE: the user's connection closed; the owner here gets userDisconnect 1. */
  private onUserGone(from: NodeRefLike, jointRef: number, userNr: number): void {
    const user = this.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    user.told = true;
    this.unindex(user);
    this.host.state.removeEndpoint(user);
    this.scheduleFlush();
  }

  /** TO_OWNER: a remote user's data to its owner here (joint.md §2.3). */
  private onToOwner(from: NodeRefLike, jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number): void {
    const user = this.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    const joint = user.m!.joint;
    this.counts.framesIn++;
    this.counts.bytesIn += length;
    // The NATS buffer is borrowed: copied into the owner's outbox, never shared.
    this.host.forwarder.toOwner(joint.owner as RelayConnection, joint.jOwn, userNr, this.view(data), offset, length, false);
    this.fedJoints.add(joint);
    this.scheduleFlush();
  }

  /** TO_USER: an owner's data to a user here. */
  private onToUser(from: NodeRefLike, userRef: number, data: Uint8Array, offset: number, length: number): void {
    const m = this.byUserRef.get(userRef);
    if (m === undefined || !sameNode((m.joint.owner as RemoteOwner).peer, from)) {
      this.counts.drops++;
      return;
    }
    this.counts.framesIn++;
    this.counts.bytesIn += length;
    this.host.forwarder.toUser(m.user as RelayConnection, m.jIn, this.view(data), offset, length);
    this.scheduleFlush();
  }

  /** BROADCAST: to every user here of that joint but `exclude` (joint.md §5). */
  private onBroadcast(from: NodeRefLike, jointRef: number, exclude: number, data: Uint8Array, offset: number, length: number): void {
    const joint = this.proxies.get(`${from.nodeId}/${from.epoch}/${jointRef}`);
    if (joint === undefined) {
      this.counts.drops++;
      return;
    }
    this.counts.framesIn++;
    this.counts.bytesIn += length;
    const buf = this.view(data);
    const members = joint.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.userNr !== exclude) this.host.forwarder.toUser(m.user as RelayConnection, m.jIn, buf, offset, length);
    }
    this.scheduleFlush();
  }

  /** KICK: a user here was kicked (joint.md §17): inDisconnect 2. */
  private onKick(from: NodeRefLike, userRef: number): void {
    const m = this.byUserRef.get(userRef);
    if (m === undefined || !sameNode((m.joint.owner as RemoteOwner).peer, from)) return;
    this.removeHere(m);
    this.host.commands.jointGone(m, WireReason.Kicked);
    this.scheduleFlush();
  }

  /** JOINT_GONE: the joint's users here get inDisconnect with `reason`. */
  private onJointGone(from: NodeRefLike, jointRef: number, reason: number): void {
    const joint = this.proxies.get(`${from.nodeId}/${from.epoch}/${jointRef}`);
    if (joint === undefined) return;
    this.endProxy(joint, reason === 0 ? WireReason.Explicit : WireReason.Closed);
    this.scheduleFlush();
  }

  // ---- failures ----------------------------------------------------------------------------

  /**
   * Every cross-node joint with `peer` ends as if its side had closed (reason 1): its users in
   * joints here leave the owners (userDisconnect 1), the joints it owns end for the users here
   * (inDisconnect 1), its pending enters answer error 1. After a link failure the peer may still
   * run, so `tell` sends it the same ends on a fresh channel.
   */
  private endPeer(peer: NodeRef, tell: boolean): void {
    if (this.closed) return;
    this.counts.peersDown++;
    const set = this.remoteUsers.get(peer.nodeId);
    if (set !== undefined) {
      const toldJoints = new Set<Joint>();
      for (const user of [...set]) {
        if (user.peer.epoch > peer.epoch) continue;
        user.told = true;
        this.unindex(user);
        const joint = user.m!.joint;
        const ref = this.refOfJoint.get(joint);
        if (tell && ref !== undefined && !toldJoints.has(joint)) {
          toldJoints.add(joint);
          this.cluster.link.channel(peer).jointGone(ref, 1);
        }
        this.host.state.removeEndpoint(user);
      }
    }
    for (const joint of [...this.proxies.values()]) {
      const owner = joint.owner as RemoteOwner;
      if (owner.peer.nodeId !== peer.nodeId || owner.peer.epoch > peer.epoch) continue;
      if (tell) for (const m of joint.members) this.cluster.link.channel(peer).userGone(owner.jointRef, m.userNr);
      this.endProxy(joint, WireReason.Closed);
    }
    for (const [reqId, p] of [...this.pending]) if (p.peer.nodeId === peer.nodeId && p.peer.epoch <= peer.epoch) this.onEnterErr(p.peer, reqId, EnterError.NoSuchJoint);
    this.resume(peer.nodeId);
    this.host.forwarder.flushDirty();
  }

  /** Another node took or freed id `id` of a joint here: its owner's connection is closed. */
  private lost(id: Uint8Array): void {
    const joint = this.host.state.find(id);
    if (joint === undefined) return;
    this.host.log.warn('cluster: a joint id was lost to another node', { node: this.cluster.self.nodeId, id: Buffer.from(id).toString('hex') });
    this.host.drop(joint.owner as RelayConnection, DisconnectReason.ClusterLost, 'joint id lost to another node');
    this.host.forwarder.flushDirty();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** A command of `conn` waits for the cluster: later ones queue, its socket is not read. */
  private begin(conn: RelayConnection): void {
    conn.cmdQueue = [];
    setPaused(conn, PauseCause.Command, true);
  }

  /** `conn`'s waiting command was answered: run what queued behind it, in order, until the next wait. */
  private finish(conn: RelayConnection): void {
    const queue = conn.cmdQueue;
    conn.cmdQueue = null;
    if (queue !== null) {
      for (let i = 0; i < queue.length && !conn.closed; i++) {
        const c = queue[i]!;
        this.host.commands.exec(conn, c.cmd, c.cmdNr, c.payload, 0, c.payload.length);
        const next = conn.cmdQueue as RelayConnection['cmdQueue'];
        if (next !== null) {
          // The next one waits too: the rest stays queued behind it.
          for (let j = i + 1; j < queue.length; j++) next.push(queue[j]!);
          break;
        }
      }
    }
    if (conn.cmdQueue === null && !conn.closed) setPaused(conn, PauseCause.Command, false);
    this.host.forwarder.flushDirty();
  }

  /** The remote user `userNr` of joint `jointRef` here, if it belongs to `from`. */
  private remoteUser(from: NodeRefLike, jointRef: number, userNr: number): RemoteUser | null {
    const user = this.jointOfRef.get(jointRef)?.users[userNr]?.user as RemoteUser | undefined;
    if (user === undefined || !user.remote || !sameNode(user.peer, from)) {
      this.counts.drops++;
      return null;
    }
    return user;
  }

  private unindex(user: RemoteUser): void {
    const set = this.remoteUsers.get(user.peer.nodeId);
    if (set === undefined || !set.delete(user)) return;
    this.remoteUserCount--;
    if (set.size === 0) this.remoteUsers.delete(user.peer.nodeId);
  }

  /** Every user here of stand-in `joint` leaves it and hears inDisconnect(`reason`). */
  private endProxy(joint: Joint, reason: WireReason): void {
    for (const m of [...joint.members]) {
      this.removeHere(m as RemoteMembership);
      this.host.commands.jointGone(m, reason);
    }
  }

  /**
   * PAUSE_JOINT / RESUME_JOINT (the cross-node form of `pressBack`): the owner of that joint is
   * congested, so its users here are not read until it drains.
   */
  private onPauseJoint(from: NodeRefLike, jointRef: number, pause: boolean): void {
    const joint = this.proxies.get(`${from.nodeId}/${from.epoch}/${jointRef}`);
    if (joint === undefined) return;
    if (pause ? this.pausedProxies.has(joint) : !this.pausedProxies.delete(joint)) return;
    if (pause) this.pausedProxies.add(joint);
    for (const m of joint.members) this.hold(m.user as RelayConnection, pause ? 1 : -1);
  }

  private hold(conn: RelayConnection, delta: number): void {
    const n = (this.holds.get(conn) ?? 0) + delta;
    if (n <= 0) this.holds.delete(conn);
    else this.holds.set(conn, n);
    if (conn.closed) return;
    if (delta > 0 && n === 1) setPaused(conn, PauseCause.RemoteOwner, true);
    else if (n <= 0) setPaused(conn, PauseCause.RemoteOwner, false);
  }

  /**
   * After a batch's flush: each owner here that remote users fed past `outboundHighWaterBytes`
   * gets its joint paused on the users' nodes (PAUSE_JOINT), until its backlog is back at
   * `outboundLowWaterBytes` (checked every REMOTE_RESUME_CHECK_MS).
   */
  private pressBackRemote(): void {
    const high = this.host.options.outboundHighWaterBytes;
    for (const joint of this.fedJoints) {
      const owner = joint.owner as RelayConnection;
      if (high === 0 || owner.closed || this.pausedJoints.has(joint) || owner.stream.bufferedBytes <= high) continue;
      const ref = this.refOfJoint.get(joint);
      if (ref === undefined) continue;
      const nodes: NodeRef[] = [];
      for (const m of joint.members) {
        const user = m.user as RemoteUser;
        if (!user.remote || nodes.some((p) => p.nodeId === user.peer.nodeId)) continue;
        nodes.push(user.peer);
        this.cluster.link.channel(user.peer).pauseJoint(ref);
      }
      this.counts.jointPauses++;
      this.pausedJoints.set(joint, nodes);
    }
    this.fedJoints.clear();
    if (this.pausedJoints.size > 0 && this.resumeTimer === null) {
      this.resumeTimer = setInterval(() => this.resumeOwners(), REMOTE_RESUME_CHECK_MS);
      this.resumeTimer.unref();
    }
  }

  private resumeOwners(): void {
    const low = this.host.options.outboundLowWaterBytes;
    for (const [joint, nodes] of this.pausedJoints) {
      const owner = joint.owner as RelayConnection;
      const ref = this.refOfJoint.get(joint);
      // A joint that ended told its nodes JOINT_GONE, which ends the pause there too.
      if (ref === undefined || owner.closed) {
        this.pausedJoints.delete(joint);
        continue;
      }
      if (owner.stream.bufferedBytes > low) continue;
      this.pausedJoints.delete(joint);
      for (const peer of nodes) this.cluster.link.channel(peer).resumeJoint(ref);
    }
    if (this.pausedJoints.size === 0 && this.resumeTimer !== null) {
      clearInterval(this.resumeTimer);
      this.resumeTimer = null;
    }
  }

  /** Take a membership of a connection here in a remote joint out of both tables. */
  private removeHere(m: RemoteMembership): void {
    const joint = m.joint;
    if (joint.users[m.userNr] !== m) return;
    joint.users[m.userNr] = undefined;
    const last = joint.members.pop()!;
    if (last !== m) {
      joint.members[m.index] = last;
      last.index = m.index;
    }
    m.index = -1;
    m.user.entered[m.jIn] = undefined;
    m.user.inNumbers.free(m.jIn);
    this.byUserRef.delete(m.userRef);
    if (this.pausedProxies.has(joint)) this.hold(m.user as RelayConnection, -1);
    if (joint.members.length === 0) {
      this.pausedProxies.delete(joint);
      const owner = joint.owner as RemoteOwner;
      this.proxies.delete(`${owner.peer.nodeId}/${owner.peer.epoch}/${owner.jointRef}`);
    }
  }

  private pauseFor(conn: RelayConnection, peer: NodeRef): void {
    if (conn.closed) return;
    let set = this.waiting.get(peer.nodeId);
    if (set === undefined) this.waiting.set(peer.nodeId, (set = new Set()));
    if (set.has(conn)) return;
    set.add(conn);
    const n = (this.linkHolds.get(conn) ?? 0) + 1;
    this.linkHolds.set(conn, n);
    if (n > 1) return;
    this.counts.linkPauses++;
    setPaused(conn, PauseCause.Link, true);
  }

  private resume(nodeId: string): void {
    const set = this.waiting.get(nodeId);
    if (set === undefined) return;
    this.waiting.delete(nodeId);
    for (const conn of set) {
      const n = (this.linkHolds.get(conn) ?? 1) - 1;
      if (n > 0) {
        this.linkHolds.set(conn, n);
        continue;
      }
      this.linkHolds.delete(conn);
      if (!conn.closed) setPaused(conn, PauseCause.Link, false);
    }
  }

  private release(id: Uint8Array): void {
    const done = this.cluster.directory.release(id).catch((error: Error) => this.host.log.warn('cluster: release failed', { error: error.message }));
    this.releases.add(done);
    void done.finally(() => this.releases.delete(done));
  }

  /** A Buffer over `data` (the records of one batch share one). */
  private view(data: Uint8Array): Buffer {
    if (data !== this.lastData) {
      this.lastData = data;
      this.lastBuf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
    return this.lastBuf;
  }

  /** The records of one batch are delivered in one go: flush the outboxes they filled once, after. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.lastData = null;
      if (this.closed) return;
      this.host.forwarder.flushDirty();
      if (this.fedJoints.size > 0) this.pressBackRemote();
    });
  }

  /** The cluster part of the relay's stats. */
  stats(): RelayClusterStats {
    const s = this.cluster.stats();
    return {
      nodeId: s.self.nodeId,
      epoch: s.self.epoch,
      peers: s.peers,
      nats: s.nats,
      remoteUsers: this.remoteUserCount,
      remoteMemberships: this.byUserRef.size,
      ...this.counts,
      linkBatchesSent: s.link.batchesSent,
      linkBatchesReceived: s.link.batchesReceived,
      linkBytesSent: s.link.bytesSent,
      linkBytesReceived: s.link.bytesReceived,
      directoryClaims: s.directory.claims,
      directoryClaimsTaken: s.directory.claimsTaken,
      directoryReleases: s.directory.releases,
      directoryLookups: s.directory.lookups,
      directoryFailures: s.directory.failures,
    };
  }

  /**
   * Leave the cluster: wait for the releases in flight (the relay closed its connections first,
   * so its joints' ids are being released), then say goodbye.
   * @param abrupt no goodbye, as a crash (tests).
   */
  async close(abrupt = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.resumeTimer !== null) clearInterval(this.resumeTimer);
    this.resumeTimer = null;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    if (!abrupt) await Promise.allSettled([...this.releases]);
    await this.cluster.close(abrupt);
  }
}

function sameNode(a: NodeRef, b: NodeRefLike): boolean {
  return a.nodeId === b.nodeId && a.epoch === b.epoch;
}

