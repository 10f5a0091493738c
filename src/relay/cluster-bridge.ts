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
 *
 * This file is the face the relay (relay.ts, commands.ts, forwarding.ts) calls and the cluster's
 * events are wired in; the work is done by its parts: cluster-enter.ts (create and enter across
 * nodes), cluster-routing.ts (data), cluster-endings.ts (leave, kick, close, node failures),
 * cluster-pressure.ts (backpressure across nodes), over the shared tables of cluster-context.ts.
 */
import { Cluster, type ClusterOptions, type LinkHandler, type NodeRef } from '../cluster/index.js';
import type { WireReason } from '../joint/protocol.js';
import type { Joint, Membership } from '../joint/relay-state.js';
import { BridgeContext, type BridgeHost } from './cluster-context.js';
import { MembershipEndings } from './cluster-endings.js';
import { EnterFlow } from './cluster-enter.js';
import type { RemoteUser } from './cluster-remote.js';
import { DataRouting } from './cluster-routing.js';
import type { RelayConnection } from './connection.js';
import type { RelayClusterStats } from './stats.js';

export type { BridgeHost } from './cluster-context.js';

/** The cluster part of the relay's stats (`RelayClusterStats`), read by metrics.ts. */
export type ClusterBridgeStats = RelayClusterStats;

/** One per clustered relay. */
export class ClusterBridge {
  private readonly ctx: BridgeContext;
  private readonly enters: EnterFlow;
  private readonly routing: DataRouting;
  private readonly endings: MembershipEndings;

  private constructor(host: BridgeHost) {
    this.ctx = new BridgeContext(host);
    this.enters = new EnterFlow(this.ctx);
    this.routing = new DataRouting(this.ctx);
    this.endings = new MembershipEndings(this.ctx, this.enters);
  }

  /**
   * Join the cluster. @throws {TypeError|RangeError} bad cluster options; rejects when NATS or
   * JetStream cannot be reached.
   */
  static async join(options: ClusterOptions, host: BridgeHost): Promise<ClusterBridge> {
    const bridge = new ClusterBridge(host);
    bridge.ctx.cluster = await Cluster.join(options, bridge.handler);
    bridge.wire();
    return bridge;
  }

  /** This node's incarnation. */
  get self(): NodeRef {
    return this.ctx.cluster.self;
  }

  private wire(): void {
    const c = this.ctx.cluster;
    const log = this.ctx.host.log;
    const status = (): Record<string, string | number> => ({ node: c.self.nodeId, peers: c.membership.peers().length, nats: c.health.state });
    c.on('peer-up', (peer) => log.info('cluster peer up', { ...status(), peer: peer.nodeId }));
    c.on('peer-down', (peer, reason) => {
      log.info('cluster peer down', { ...status(), peer: peer.nodeId, reason });
      this.endings.endPeer(peer, false);
    });
    c.on('link-failed', (peer, why) => {
      this.ctx.counts.linkFailures++;
      log.warn('cluster link failed', { ...status(), peer: peer.nodeId, why });
      c.link.drop(peer.nodeId, peer.epoch);
      this.endings.endPeer(peer, true);
    });
    c.on('drain', (peer) => this.ctx.pressure.resume(peer.nodeId));
    c.on('nats-down', (cause) => log.warn('cluster NATS down', { ...status(), cause }));
    c.on('nats-up', (downMs) => {
      log.info('cluster NATS back', { ...status(), downMs });
      this.enters.natsUp();
    });
    c.on('isolated', () => {
      log.warn('cluster isolated: cross-node joints closed', status());
      this.enters.isolated();
    });
    c.on('rejoined', (self, lost) => {
      log.info('cluster rejoined', { ...status(), epoch: self.epoch, lost: lost.length });
      for (const id of lost) this.endings.lost(id);
    });
    c.on('lost', (id) => this.endings.lost(id));
    c.on('conflict', (epoch) => log.error('cluster: another process runs with this node id', { node: c.self.nodeId, epoch }));
    c.on('warning', (error) => log.warn('cluster warning', { node: c.self.nodeId, error: error.message }));
    log.info('cluster joined', status());
  }

  // ---- commands (user → this relay): see cluster-enter.ts, cluster-endings.ts -------------

  /** Create with the id claimed in the directory first (joint.md §3.1 order). */
  create(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    this.enters.create(conn, cmdNr, src, offset, length);
  }

  /** Enter a joint that is not here: its owner node answers. */
  enter(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    this.enters.enter(conn, cmdNr, src, offset, length);
  }

  /** Leave (cmd 2) a joint owned on another node. */
  leave(m: Membership): void {
    this.endings.leave(m);
  }

  /** Joint `joint` here ends (delete: 0; owner closed: 1). Call it before the joint tables remove it. */
  jointEnding(joint: Joint, reason: 0 | 1): void {
    this.endings.jointEnding(joint, reason);
  }

  /** A remote user's membership here ended by the joint tables (`JointStateListener.jointGone`). */
  userLeft(m: Membership, reason: WireReason): void {
    this.endings.userLeft(m, reason);
  }

  /** `conn` closes (before the joint tables clean it up). */
  connectionClosing(conn: RelayConnection): void {
    this.endings.connectionClosing(conn);
  }

  // ---- data plane hooks (forwarding.ts): see cluster-routing.ts ----------------------------

  /** user here → owner on another node. */
  toOwner(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    this.routing.toOwner(conn, m, src, offset, length);
  }

  /** owner here → user on another node. */
  toUser(conn: RelayConnection, m: Membership, src: Uint8Array, offset: number, length: number): void {
    this.routing.toUser(conn, m, src, offset, length);
  }

  /** owner here → its users on other nodes (`nodes`: one user of each). */
  broadcast(conn: RelayConnection, joint: Joint, excluded: number, nodes: RemoteUser[], src: Uint8Array, offset: number, length: number): void {
    this.routing.broadcast(conn, joint, excluded, nodes, src, offset, length);
  }

  // ---- LinkHandler: records from other nodes -----------------------------------------------

  /** Records from other nodes, to the part that handles each. */
  private readonly handler: LinkHandler = {
    enter: (from, reqId, userRef, flags, id) => this.enters.onEnter(from, reqId, userRef, flags, id),
    enterOk: (from, reqId, jointRef, userNr) => this.enters.onEnterOk(from, reqId, jointRef, userNr),
    enterErr: (from, reqId, err) => this.enters.onEnterErr(from, reqId, err),
    leave: (from, jointRef, userNr) => this.endings.onLeave(from, jointRef, userNr),
    userGone: (from, jointRef, userNr) => this.endings.onUserGone(from, jointRef, userNr),
    toOwner: (from, jointRef, userNr, data, offset, length) => this.routing.onToOwner(from, jointRef, userNr, data, offset, length),
    toUser: (from, userRef, data, offset, length) => this.routing.onToUser(from, userRef, data, offset, length),
    broadcast: (from, jointRef, exclude, data, offset, length) => this.routing.onBroadcast(from, jointRef, exclude, data, offset, length),
    kick: (from, userRef) => this.endings.onKick(from, userRef),
    jointGone: (from, jointRef, reason) => this.endings.onJointGone(from, jointRef, reason),
    pauseJoint: (from, jointRef) => this.ctx.pressure.onPauseJoint(from, jointRef, true),
    resumeJoint: (from, jointRef) => this.ctx.pressure.onPauseJoint(from, jointRef, false),
  };

  /** The cluster part of the relay's stats. */
  stats(): ClusterBridgeStats {
    const s = this.ctx.cluster.stats();
    return {
      nodeId: s.self.nodeId,
      epoch: s.self.epoch,
      peers: s.peers,
      nats: s.nats,
      remoteUsers: this.ctx.remoteUserCount,
      remoteMemberships: this.ctx.byUserRef.size,
      ...this.ctx.counts,
      linkBatchesSent: s.link.batchesSent,
      linkBatchesReceived: s.link.batchesReceived,
      linkBytesSent: s.link.bytesSent,
      linkBytesReceived: s.link.bytesReceived,
      directoryClaims: s.directory.claims,
      directoryClaimsTaken: s.directory.claimsTaken,
      directoryReleases: s.directory.releases,
      directoryLookups: s.directory.lookups,
      directoryFailures: s.directory.failures,
      dataLinkOutbound: s.dataLink.outbound,
      dataLinkInbound: s.dataLink.inbound,
      dataLinkDials: s.dataLink.dials,
      dataLinkDialFailures: s.dataLink.dialFailures,
      dataLinkFailovers: s.dataLink.failovers,
      dataLinkRetransmitted: s.dataLink.retransmitted,
      dataLinkBytesSent: s.dataLink.bytesSent,
      dataLinkBytesReceived: s.dataLink.bytesReceived,
      dataLinkRefused: s.dataLink.refused,
      dataLinkBadMessages: s.dataLink.badMessages,
      linkDuplicateBatches: s.link.duplicateBatches,
      linkGaps: s.link.gaps,
      linkResentBatches: s.link.resentBatches,
    };
  }

  /**
   * Leave the cluster: wait for the releases in flight (the relay closed its connections first,
   * so its joints' ids are being released), then say goodbye.
   * @param abrupt no goodbye, as a crash (tests).
   */
  async close(abrupt = false): Promise<void> {
    const { ctx } = this;
    if (ctx.closed) return;
    ctx.closed = true;
    ctx.pressure.close();
    this.enters.close();
    if (!abrupt) await ctx.settled();
    await ctx.cluster.close(abrupt);
  }
}
