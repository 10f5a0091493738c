/**
 * Backpressure across nodes (docs/cluster.md §4, §8), both ways:
 * - a link toward a node is congested (its channel's bytes past `LINK_HIGH_WATER_BYTES`): the
 *   connections here that fed it are not read until it drains, and one paused for several
 *   congested links is read again only when all have drained;
 * - an owner here is fed past `outboundHighWaterBytes` by users of other nodes: its joint is
 *   paused on their nodes (PAUSE_JOINT, `PauseCause.RemoteOwner`) until it drains to
 *   `outboundLowWaterBytes`, checked every REMOTE_RESUME_CHECK_MS.
 */
import type { NodeRef, NodeRefLike } from '../cluster/index.js';
import type { Joint } from '../joint/relay-state.js';
import { PauseCause, setPaused } from './backpressure.js';
import type { BridgeContext } from './cluster-context.js';
import { proxyKey, type RemoteUser } from './cluster-remote.js';
import type { RelayConnection } from './connection.js';
import { engineRemoteOf } from './engine/engine-remote.js';
import { REMOTE_RESUME_CHECK_MS } from './limits.js';

export class ClusterPressure {
  /** Sources paused because the link toward a node is congested, by node id. */
  private readonly waiting = new Map<string, Set<RelayConnection>>();
  /** Congested nodes each paused source waits for (read again when none is left). */
  private readonly linkHolds = new Map<RelayConnection, number>();
  /** Owner side: joints here fed by remote users during the batch being delivered. */
  readonly fedJoints = new Set<Joint>();
  /** Owner side: joints whose owner is congested, and the nodes told PAUSE_JOINT for them. */
  private readonly pausedJoints = new Map<Joint, NodeRef[]>();
  private resumeTimer: NodeJS.Timeout | null = null;
  /** User side: stand-in joints paused by their owner node. */
  private readonly pausedProxies = new Set<Joint>();
  /** User side: paused stand-in joints each connection here is in. */
  private readonly holds = new Map<RelayConnection, number>();

  constructor(private readonly ctx: BridgeContext) {}

  // ---- congested links ---------------------------------------------------------------------

  /** `conn` fed the congested link toward `peer`: not read until that link drains. */
  pauseFor(conn: RelayConnection, peer: NodeRef): void {
    if (conn.closed) return;
    let set = this.waiting.get(peer.nodeId);
    if (set === undefined) this.waiting.set(peer.nodeId, (set = new Set()));
    if (set.has(conn)) return;
    set.add(conn);
    const n = (this.linkHolds.get(conn) ?? 0) + 1;
    this.linkHolds.set(conn, n);
    if (n > 1) return;
    this.ctx.counts.linkPauses++;
    setPaused(conn, PauseCause.Link, true);
  }

  /** The link toward `nodeId` drained (or is gone): its sources are read again unless another holds them. */
  resume(nodeId: string): void {
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

  // ---- congested owners, user side ---------------------------------------------------------

  /**
   * PAUSE_JOINT / RESUME_JOINT (the cross-node form of `pressBack`): the owner of that joint is
   * congested, so its users here are not read until it drains.
   */
  onPauseJoint(from: NodeRefLike, jointRef: number, pause: boolean): void {
    const joint = this.ctx.proxies.get(proxyKey(from, jointRef));
    if (joint === undefined) return;
    if (pause ? this.pausedProxies.has(joint) : !this.pausedProxies.delete(joint)) return;
    if (pause) this.pausedProxies.add(joint);
    for (const m of joint.members) this.hold(m.user as RelayConnection, pause ? 1 : -1);
  }

  /** `conn` entered stand-in `joint`: paused with it if its owner is congested. */
  userEnteredProxy(conn: RelayConnection, joint: Joint): void {
    // The native engine routes its data to the bridge (REMOTE records) from now on.
    const routes = engineRemoteOf(this.ctx.host.state);
    const m = routes !== undefined ? joint.members[joint.members.length - 1] : undefined;
    if (m !== undefined && m.user === conn) routes!.proxyEntered(conn, joint, m.jIn, m.userNr);
    if (this.pausedProxies.has(joint)) this.hold(conn, 1);
  }

  /** `conn` left stand-in `joint`: no longer held by it. */
  userLeftProxy(conn: RelayConnection, joint: Joint): void {
    engineRemoteOf(this.ctx.host.state)?.proxyLeft(conn, joint);
    if (this.pausedProxies.has(joint)) this.hold(conn, -1);
  }

  /** Stand-in `joint` has no users here left. */
  proxyGone(joint: Joint): void {
    this.pausedProxies.delete(joint);
  }

  private hold(conn: RelayConnection, delta: number): void {
    const n = (this.holds.get(conn) ?? 0) + delta;
    if (n <= 0) this.holds.delete(conn);
    else this.holds.set(conn, n);
    if (conn.closed) return;
    if (delta > 0 && n === 1) setPaused(conn, PauseCause.RemoteOwner, true);
    else if (n <= 0) setPaused(conn, PauseCause.RemoteOwner, false);
  }

  // ---- congested owners, owner side --------------------------------------------------------

  /** After a delivered batch's flush: press back on the nodes feeding owners here, if any were fed. */
  afterFlush(): void {
    if (this.fedJoints.size > 0) this.pressBackRemote();
  }

  /**
   * Each owner here that remote users fed past `outboundHighWaterBytes` gets its joint paused on
   * the users' nodes (PAUSE_JOINT), until its backlog is back at `outboundLowWaterBytes`.
   */
  private pressBackRemote(): void {
    const { ctx } = this;
    const high = ctx.host.options.outboundHighWaterBytes;
    for (const joint of this.fedJoints) {
      const owner = joint.owner as RelayConnection;
      if (high === 0 || owner.closed || this.pausedJoints.has(joint) || owner.stream.bufferedBytes <= high) continue;
      const ref = ctx.refOfJoint.get(joint);
      if (ref === undefined) continue;
      const nodes: NodeRef[] = [];
      for (const m of joint.members) {
        const user = m.user as RemoteUser;
        if (!user.remote || nodes.some((p) => p.nodeId === user.peer.nodeId)) continue;
        nodes.push(user.peer);
        ctx.cluster.link.channel(user.peer).pauseJoint(ref);
      }
      ctx.counts.jointPauses++;
      this.pausedJoints.set(joint, nodes);
    }
    this.fedJoints.clear();
    if (this.pausedJoints.size > 0 && this.resumeTimer === null) {
      this.resumeTimer = setInterval(() => this.resumeOwners(), REMOTE_RESUME_CHECK_MS);
      this.resumeTimer.unref();
    }
  }

  private resumeOwners(): void {
    const { ctx } = this;
    const low = ctx.host.options.outboundLowWaterBytes;
    for (const [joint, nodes] of this.pausedJoints) {
      const owner = joint.owner as RelayConnection;
      const ref = ctx.refOfJoint.get(joint);
      // A joint that ended told its nodes JOINT_GONE, which ends the pause there too.
      if (ref === undefined || owner.closed) {
        this.pausedJoints.delete(joint);
        continue;
      }
      if (owner.stream.bufferedBytes > low) continue;
      this.pausedJoints.delete(joint);
      for (const peer of nodes) ctx.cluster.link.channel(peer).resumeJoint(ref);
    }
    if (this.pausedJoints.size === 0 && this.resumeTimer !== null) {
      clearInterval(this.resumeTimer);
      this.resumeTimer = null;
    }
  }

  /** Stop the resume check (the bridge closes). */
  close(): void {
    if (this.resumeTimer !== null) clearInterval(this.resumeTimer);
    this.resumeTimer = null;
  }
}
