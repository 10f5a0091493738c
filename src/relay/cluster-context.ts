/**
 * The state the parts of the relay's cluster bridge share (docs/cluster.md §8): the cross-node
 * membership tables of both sides, the counters, and the few helpers every part needs (index and
 * unindex a remote user, take a membership here out, flush once per delivered batch). The parts
 * (cluster-enter.ts, cluster-routing.ts, cluster-endings.ts, cluster-pressure.ts) keep their own
 * state and meet here, so none of them reaches into another.
 */
import type { Cluster, NodeRefLike } from '../cluster/index.js';
import { detachMembership, Membership, type Joint, type JointState } from '../joint/relay-state.js';
import { ClusterPressure } from './cluster-pressure.js';
import { proxyKey, sameNode, type RemoteOwner, type RemoteUser } from './cluster-remote.js';
import type { Commands } from './commands.js';
import type { DropConnection, RelayConnection } from './connection.js';
import type { Forwarder } from './forwarding.js';
import type { Logger } from './logger.js';
import type { ResolvedRelayOptions } from './options.js';

/** What the bridge needs of the relay. */
export interface BridgeHost {
  readonly options: Readonly<ResolvedRelayOptions>;
  readonly state: JointState;
  readonly commands: Commands;
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly drop: DropConnection;
}

/** A membership of a connection here in a joint owned on another node. */
export class RemoteMembership extends Membership {
  /** This node's handle of it (the owner node addresses TO_USER and KICK to it). */
  userRef = 0;
}

/** One per clustered relay, shared by the bridge's parts. */
export class BridgeContext {
  cluster!: Cluster;
  closed = false;
  readonly counts = { framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0, drops: 0, linkFailures: 0, peersDown: 0, linkPauses: 0, jointPauses: 0 };
  /** Owner side: the remote users in joints here, by their node id. */
  readonly remoteUsers = new Map<string, Set<RemoteUser>>();
  remoteUserCount = 0;
  /** Owner side: this node's handle of each joint here that has (had) remote users. */
  readonly refOfJoint = new Map<Joint, number>();
  readonly jointOfRef = new Map<number, Joint>();
  private nextJointRef = 1;
  /** User side: stand-in joints by `proxyKey`. */
  readonly proxies = new Map<string, Joint>();
  /** User side: memberships by userRef (which is the reqId of their enter). */
  readonly byUserRef = new Map<number, RemoteMembership>();
  /** Congestion both ways: links toward nodes, and owners here fed by other nodes. */
  readonly pressure: ClusterPressure;
  private readonly releases = new Set<Promise<unknown>>();
  private flushQueued = false;
  /** The NATS message buffer of the records being delivered, as a Buffer view (one per batch). */
  private lastData: Uint8Array | null = null;
  private lastBuf: Buffer = Buffer.alloc(0);

  constructor(readonly host: BridgeHost) {
    this.pressure = new ClusterPressure(this);
  }

  /** Owner side: `user` entered a joint here. */
  index(user: RemoteUser): void {
    let set = this.remoteUsers.get(user.peer.nodeId);
    if (set === undefined) this.remoteUsers.set(user.peer.nodeId, (set = new Set()));
    set.add(user);
    this.remoteUserCount++;
  }

  unindex(user: RemoteUser): void {
    const set = this.remoteUsers.get(user.peer.nodeId);
    if (set === undefined || !set.delete(user)) return;
    this.remoteUserCount--;
    if (set.size === 0) this.remoteUsers.delete(user.peer.nodeId);
  }

  /** Owner side: this node's handle of `joint`, given on its first remote user. */
  refFor(joint: Joint): number {
    let ref = this.refOfJoint.get(joint);
    if (ref === undefined) {
      ref = this.nextJointRef++;
      this.refOfJoint.set(joint, ref);
      this.jointOfRef.set(ref, joint);
    }
    return ref;
  }

  /** The remote user `userNr` of joint `jointRef` here, if it belongs to `from`. */
  remoteUser(from: NodeRefLike, jointRef: number, userNr: number): RemoteUser | null {
    const user = this.jointOfRef.get(jointRef)?.users[userNr]?.user as RemoteUser | undefined;
    if (user === undefined || !user.remote || !sameNode(user.peer, from)) {
      this.counts.drops++;
      return null;
    }
    return user;
  }

  /** Take a membership of a connection here in a remote joint out of both tables. */
  removeHere(m: RemoteMembership): void {
    const joint = m.joint;
    if (!detachMembership(m)) return;
    this.byUserRef.delete(m.userRef);
    this.pressure.userLeftProxy(m.user as RelayConnection, joint);
    if (joint.members.length === 0) {
      this.pressure.proxyGone(joint);
      const owner = joint.owner as RemoteOwner;
      this.proxies.delete(proxyKey(owner.peer, owner.jointRef));
    }
  }

  /** Give id `id` back to the directory; `settled` waits for the releases in flight. */
  release(id: Uint8Array): void {
    const done = this.cluster.directory.release(id).catch((error: Error) => this.host.log.warn('cluster: release failed', { error: error.message }));
    this.releases.add(done);
    void done.finally(() => this.releases.delete(done));
  }

  settled(): Promise<unknown> {
    return Promise.allSettled([...this.releases]);
  }

  /** A Buffer over `data` (the records of one batch share one). */
  view(data: Uint8Array): Buffer {
    if (data !== this.lastData) {
      this.lastData = data;
      this.lastBuf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
    return this.lastBuf;
  }

  /** The records of one batch are delivered in one go: flush the outboxes they filled once, after. */
  scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.lastData = null;
      if (this.closed) return;
      this.host.forwarder.flushDirty();
      this.pressure.afterFlush();
    });
  }
}
