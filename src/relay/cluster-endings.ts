/**
 * How cross-node memberships end (docs/cluster.md §6, §8), whether by the protocol (leave, kick,
 * delete, a connection closing: LEAVE, KICK, JOINT_GONE, USER_GONE) or by a failure (a node
 * down, a failed link, a joint id lost to another node). Either way each side hears the
 * joint.md reasons it would hear on one relay: a failed node counts as its side closing (1).
 */
import type { NodeRef, NodeRefLike } from '../cluster/index.js';
import { WireReason } from '../joint/protocol.js';
import type { Joint, Membership } from '../joint/relay-state.js';
import type { BridgeContext, RemoteMembership } from './cluster-context.js';
import type { EnterFlow } from './cluster-enter.js';
import { proxyKey, sameNode, type RemoteOwner, type RemoteUser } from './cluster-remote.js';
import type { RelayConnection } from './connection.js';
import { DisconnectReason } from './stats.js';

export class MembershipEndings {
  constructor(
    private readonly ctx: BridgeContext,
    /** Pending enters toward a failed node answer error 1. */
    private readonly enters: EnterFlow,
  ) {}

  // ---- ends from this node ---------------------------------------------------------------------

  /** Leave (cmd 2) a joint owned on another node: LEAVE, and the membership here goes. */
  leave(m: Membership): void {
    const owner = m.joint.owner as RemoteOwner;
    owner.channel.leave(owner.jointRef, m.userNr);
    this.ctx.removeHere(m as RemoteMembership);
  }

  /**
   * Joint `joint` here ends (delete: reason 0; its owner's connection closed: 1): one JOINT_GONE
   * per node with users in it, and its id goes back to the directory. Call it before the joint
   * tables remove the joint; `userLeft` then ignores its remote users.
   */
  jointEnding(joint: Joint, reason: 0 | 1): void {
    const { ctx } = this;
    const ref = ctx.refOfJoint.get(joint);
    if (ref !== undefined) {
      const told = new Set<string>();
      for (const m of joint.members) {
        const user = m.user as RemoteUser;
        if (!user.remote) continue;
        user.told = true;
        ctx.unindex(user);
        if (told.has(user.peer.nodeId)) continue;
        told.add(user.peer.nodeId);
        ctx.cluster.link.channel(user.peer).jointGone(ref, reason);
      }
      ctx.refOfJoint.delete(joint);
      ctx.jointOfRef.delete(ref);
    }
    ctx.release(joint.id);
  }

  /**
   * A remote user's membership here ended by the joint tables (`JointStateListener.jointGone`):
   * a kick tells its node KICK; a joint end was told already by `jointEnding`.
   */
  userLeft(m: Membership, reason: WireReason): void {
    const { ctx } = this;
    const user = m.user as RemoteUser;
    if (user.told) return;
    user.told = true;
    ctx.unindex(user);
    const ref = ctx.refOfJoint.get(m.joint);
    if (ref === undefined) return;
    if (reason === WireReason.Kicked) ctx.cluster.link.channel(user.peer).kick(user.userRef);
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
      this.ctx.removeHere(m as RemoteMembership);
    }
  }

  // ---- ends from other nodes -------------------------------------------------------------------

  /** LEAVE: the owner here gets userDisconnect 0. */
  onLeave(from: NodeRefLike, jointRef: number, userNr: number): void {
    const { ctx } = this;
    const user = ctx.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    user.told = true;
    ctx.unindex(user);
    ctx.host.state.leave(user, user.m!.jIn);
    ctx.scheduleFlush();
  }

  /** USER_GONE: the user's connection closed; the owner here gets userDisconnect 1. */
  onUserGone(from: NodeRefLike, jointRef: number, userNr: number): void {
    const { ctx } = this;
    const user = ctx.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    user.told = true;
    ctx.unindex(user);
    ctx.host.state.removeEndpoint(user);
    ctx.scheduleFlush();
  }

  /** KICK: a user here was kicked (joint.md §17): inDisconnect 2. */
  onKick(from: NodeRefLike, userRef: number): void {
    const { ctx } = this;
    const m = ctx.byUserRef.get(userRef);
    if (m === undefined || !sameNode((m.joint.owner as RemoteOwner).peer, from)) return;
    ctx.removeHere(m);
    ctx.host.commands.jointGone(m, WireReason.Kicked);
    ctx.scheduleFlush();
  }

  /** JOINT_GONE: the joint's users here get inDisconnect with `reason`. */
  onJointGone(from: NodeRefLike, jointRef: number, reason: number): void {
    const joint = this.ctx.proxies.get(proxyKey(from, jointRef));
    if (joint === undefined) return;
    this.endProxy(joint, reason === 0 ? WireReason.Explicit : WireReason.Closed);
    this.ctx.scheduleFlush();
  }

  // ---- failures ----------------------------------------------------------------------------

  /**
   * Every cross-node joint with `peer` ends as if its side had closed (reason 1): its users in
   * joints here leave the owners (userDisconnect 1), the joints it owns end for the users here
   * (inDisconnect 1), its pending enters answer error 1. After a link failure the peer may still
   * run, so `tell` sends it the same ends on a fresh channel.
   */
  endPeer(peer: NodeRef, tell: boolean): void {
    const { ctx } = this;
    if (ctx.closed) return;
    ctx.counts.peersDown++;
    const set = ctx.remoteUsers.get(peer.nodeId);
    if (set !== undefined) {
      const toldJoints = new Set<Joint>();
      for (const user of [...set]) {
        if (user.peer.epoch > peer.epoch) continue;
        user.told = true;
        ctx.unindex(user);
        const joint = user.m!.joint;
        const ref = ctx.refOfJoint.get(joint);
        if (tell && ref !== undefined && !toldJoints.has(joint)) {
          toldJoints.add(joint);
          ctx.cluster.link.channel(peer).jointGone(ref, 1);
        }
        ctx.host.state.removeEndpoint(user);
      }
    }
    for (const joint of [...ctx.proxies.values()]) {
      const owner = joint.owner as RemoteOwner;
      if (owner.peer.nodeId !== peer.nodeId || owner.peer.epoch > peer.epoch) continue;
      if (tell) for (const m of joint.members) ctx.cluster.link.channel(peer).userGone(owner.jointRef, m.userNr);
      this.endProxy(joint, WireReason.Closed);
    }
    this.enters.failPending(peer);
    ctx.pressure.resume(peer.nodeId);
    ctx.host.forwarder.flushDirty();
  }

  /** Another node took or freed id `id` of a joint here: its owner's connection is closed. */
  lost(id: Uint8Array): void {
    const { ctx } = this;
    const joint = ctx.host.state.find(id);
    if (joint === undefined) return;
    ctx.host.log.warn('cluster: a joint id was lost to another node', { node: ctx.cluster.self.nodeId, id: Buffer.from(id).toString('hex') });
    ctx.host.drop(joint.owner as RelayConnection, DisconnectReason.ClusterLost, 'joint id lost to another node');
    ctx.host.forwarder.flushDirty();
  }

  /** Every user here of stand-in `joint` leaves it and hears inDisconnect(`reason`). */
  private endProxy(joint: Joint, reason: WireReason): void {
    for (const m of [...joint.members]) {
      this.ctx.removeHere(m as RemoteMembership);
      this.ctx.host.commands.jointGone(m, reason);
    }
  }
}
