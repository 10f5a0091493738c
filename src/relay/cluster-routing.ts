/**
 * Data across nodes (docs/cluster.md §8): the forwarder hands frames for a far end here, they go
 * out as TO_OWNER / TO_USER / BROADCAST records on the link, and those records from other nodes
 * come back into the forwarder as if a local connection had sent them. A congested link pauses
 * the connection that fed it (cluster-pressure.ts).
 */
import type { NodeRefLike } from '../cluster/index.js';
import type { Joint, Membership } from '../joint/relay-state.js';
import type { BridgeContext } from './cluster-context.js';
import { proxyKey, sameNode, type RemoteOwner, type RemoteUser } from './cluster-remote.js';
import type { RelayConnection } from './connection.js';

export class DataRouting {
  constructor(private readonly ctx: BridgeContext) {}

  // ---- out: from the forwarder ---------------------------------------------------------------

  /** user here → owner on another node: TO_OWNER; a congested link pauses `conn`. */
  toOwner(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    const owner = m.joint.owner as RemoteOwner;
    this.ctx.counts.framesOut++;
    this.ctx.counts.bytesOut += length;
    if (!owner.channel.toOwner(owner.jointRef, m.userNr, src, offset, length)) this.ctx.pressure.pauseFor(conn, owner.peer);
  }

  /** owner here → user on another node: TO_USER; a congested link pauses the owner. */
  toUser(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    const user = m.user as RemoteUser;
    this.ctx.counts.framesOut++;
    this.ctx.counts.bytesOut += length;
    if (!this.ctx.cluster.link.channel(user.peer).toUser(user.userRef, src, offset, length)) this.ctx.pressure.pauseFor(conn, user.peer);
  }

  /**
   * owner here → its users on other nodes: one BROADCAST per node (`nodes`: one user of each).
   * A node fans a BROADCAST out to every user it has in the joint, so a node with a user who
   * entered after this frame began (joint.md §5: that user gets none of it) gets the piece as one
   * TO_USER per user who was there when the frame began instead: the owner node's enter sequence
   * decides, as on one relay, and the link keeps these records in order with the ENTER_OK.
   */
  broadcast(conn: RelayConnection, joint: Joint, excluded: number, nodes: RemoteUser[], src: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const ref = ctx.refOfJoint.get(joint);
    if (ref === undefined) return;
    // No enter anywhere on this relay since the frame began: nobody can be late (the common case).
    const late = conn.frameSeq < ctx.host.state.sequence ? lateNodes(joint, excluded, conn.frameSeq) : null;
    for (let i = 0; i < nodes.length; i++) {
      const peer = nodes[i]!.peer;
      if (late !== null && late.has(peer.nodeId)) {
        this.unicastOnNode(conn, joint, excluded, peer.nodeId, src, offset, length);
        continue;
      }
      ctx.counts.framesOut++;
      ctx.counts.bytesOut += length;
      if (!ctx.cluster.link.channel(peer).broadcast(ref, excluded, src, offset, length)) ctx.pressure.pauseFor(conn, peer);
    }
  }

  /** One broadcast piece as TO_USER to each user of node `nodeId` who was in `joint` when the frame began. */
  private unicastOnNode(conn: RelayConnection, joint: Joint, excluded: number, nodeId: string, src: Uint8Array, offset: number, length: number): void {
    const seq = conn.frameSeq;
    const members = joint.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const user = m.user as RemoteUser;
      if (m.userNr !== excluded && m.seq <= seq && user.remote && user.peer.nodeId === nodeId) this.toUser(conn, m, src, offset, length);
    }
  }

  // ---- in: records from other nodes ----------------------------------------------------------

  /** TO_OWNER: a remote user's data to its owner here (joint.md §2.3). */
  onToOwner(from: NodeRefLike, jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const user = ctx.remoteUser(from, jointRef, userNr);
    if (user === null) return;
    const joint = user.m!.joint;
    ctx.counts.framesIn++;
    ctx.counts.bytesIn += length;
    // The NATS buffer is borrowed: copied into the owner's outbox, never shared.
    ctx.host.forwarder.toOwner(joint.owner as RelayConnection, joint.jOwn, userNr, ctx.view(data), offset, length, false);
    ctx.pressure.fedJoints.add(joint);
    ctx.scheduleFlush();
  }

  /** TO_USER: an owner's data to a user here. */
  onToUser(from: NodeRefLike, userRef: number, data: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const m = ctx.byUserRef.get(userRef);
    if (m === undefined || !sameNode((m.joint.owner as RemoteOwner).peer, from)) {
      ctx.counts.drops++;
      return;
    }
    ctx.counts.framesIn++;
    ctx.counts.bytesIn += length;
    ctx.host.forwarder.toUser(m.user as RelayConnection, m.jIn, ctx.view(data), offset, length);
    ctx.scheduleFlush();
  }

  /** BROADCAST: to every user here of that joint but `exclude` (joint.md §5). */
  onBroadcast(from: NodeRefLike, jointRef: number, exclude: number, data: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const joint = ctx.proxies.get(proxyKey(from, jointRef));
    if (joint === undefined) {
      ctx.counts.drops++;
      return;
    }
    ctx.counts.framesIn++;
    ctx.counts.bytesIn += length;
    const buf = ctx.view(data);
    const members = joint.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.userNr !== exclude) ctx.host.forwarder.toUser(m.user as RelayConnection, m.jIn, buf, offset, length);
    }
    ctx.scheduleFlush();
  }
}

/**
 * The nodes with a user in `joint` (other than `excluded`) who entered after the owner's current
 * frame began (`frameSeq`), or null when there is none.
 */
function lateNodes(joint: Joint, excluded: number, frameSeq: number): Set<string> | null {
  let late: Set<string> | null = null;
  const members = joint.members;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    const user = m.user as RemoteUser;
    if (m.seq <= frameSeq || m.userNr === excluded || !user.remote) continue;
    (late ??= new Set()).add(user.peer.nodeId);
  }
  return late;
}
