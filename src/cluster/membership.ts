/**
 * Membership: every node publishes a heartbeat on `<cluster>.hb` and tracks the others'. A peer
 * silent past `peerTimeoutMs` is declared dead; a heartbeat of the same node id with a larger
 * epoch ends the old incarnation and starts the new one (docs/cluster.md §Membership).
 *
 * Heartbeat (15 + n bytes): `ver u8 = 1 | kind u8 (1 beat, 2 leave) | epoch f64 LE | seq u32 LE |
 * idLen u8 | id[idLen]`. Anything else on the subject is counted and ignored.
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { checkNodeId, type NodeRef } from './node-id.js';
import { MAX_NODE_ID_BYTES } from './limits.js';

const HEARTBEAT_VERSION = 1;
/** Bytes before idLen: ver, kind, epoch, seq. */
const HEARTBEAT_HEAD_BYTES = 14;
const enum Kind {
  Beat = 1,
  Leave = 2,
}
const NODE_ID_CHAR = /^[A-Za-z0-9_-]+$/;

/** Why a peer incarnation ended. */
export type PeerDownReason = 'timeout' | 'left' | 'replaced' | 'isolated';

export interface MembershipOptions {
  /** Subject prefix (the cluster name). */
  cluster: string;
  /** Heartbeat interval (ms), `HEARTBEAT_MS`. */
  heartbeatMs: number;
  /** Peer timeout (ms), `PEER_TIMEOUT_MS`. */
  peerTimeoutMs: number;
  /** Check resolution (ms), `MEMBERSHIP_CHECK_MS`. */
  checkMs: number;
  /** Peers tracked (nodes), `MAX_PEERS`. */
  maxPeers: number;
}

export interface MembershipStats {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Messages on the heartbeat subject that did not parse. */
  badHeartbeats: number;
  /** Heartbeats of an older incarnation than the one tracked (a zombie of a replaced node). */
  staleHeartbeats: number;
  /** Heartbeats of new node ids refused because `maxPeers` were tracked. */
  peersRefused: number;
  /** Another process sends heartbeats with this node's id. */
  selfConflicts: number;
  peersUp: number;
  peersDown: number;
}

export interface MembershipEvents {
  /** A peer incarnation was seen for the first time. */
  'peer-up': [peer: NodeRef];
  /** A peer incarnation ended; the relay cleans up its joints and users. Emitted once per incarnation. */
  'peer-down': [peer: NodeRef, reason: PeerDownReason];
  /** Another process publishes heartbeats with this node's id (`epoch` is theirs). */
  conflict: [epoch: number];
}

interface PeerState {
  nodeId: string;
  epoch: number;
  lastSeenMs: number;
  ref: NodeRef;
}

/**
 * Tracks the live nodes of the cluster from their heartbeats. Start it with `start()`; it then
 * publishes its own heartbeat every `heartbeatMs` and declares peers dead on silence.
 */
export class Membership extends EventEmitter<MembershipEvents> {
  private readonly peersById = new Map<string, PeerState>();
  private sub: Subscription | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  private suspended = false;
  private closed = false;
  readonly stats: MembershipStats = {
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    badHeartbeats: 0,
    staleHeartbeats: 0,
    peersRefused: 0,
    selfConflicts: 0,
    peersUp: 0,
    peersDown: 0,
  };

  /**
   * @param nc the node's NATS connection (not closed by this object).
   * @param self this node's id and incarnation; `reincarnate` changes the epoch.
   * @param options see MembershipOptions (resolved by `resolveClusterOptions`).
   */
  constructor(
    private readonly nc: NatsConnection,
    private selfRef: NodeRef,
    private readonly options: Readonly<MembershipOptions>,
  ) {
    super();
  }

  /** This node's current incarnation. */
  get self(): NodeRef {
    return this.selfRef;
  }

  /** The subject heartbeats travel on. */
  get subject(): string {
    return `${this.options.cluster}.hb`;
  }

  /** Subscribe, publish the first heartbeat and arm the timers. */
  start(): void {
    if (this.sub !== null || this.closed) return;
    this.sub = this.nc.subscribe(this.subject, { callback: (_err, msg) => this.receive(msg.data) });
    this.beat(Kind.Beat);
    this.beatTimer = setInterval(() => this.beat(Kind.Beat), this.options.heartbeatMs);
    this.checkTimer = setInterval(() => this.check(Date.now()), this.options.checkMs);
    this.beatTimer.unref();
    this.checkTimer.unref();
  }

  /** The live peers (other nodes), one incarnation each. */
  peers(): NodeRef[] {
    const out: NodeRef[] = [];
    for (const peer of this.peersById.values()) out.push(peer.ref);
    return out;
  }

  /** The live incarnation of `nodeId` (this node's own included), or undefined. */
  peer(nodeId: string): NodeRef | undefined {
    if (nodeId === this.selfRef.nodeId) return this.selfRef;
    return this.peersById.get(nodeId)?.ref;
  }

  /** True when this incarnation of that node is alive as far as this node knows (itself included). */
  isAlive(nodeId: string, epoch: number): boolean {
    if (nodeId === this.selfRef.nodeId) return epoch === this.selfRef.epoch;
    const peer = this.peersById.get(nodeId);
    return peer !== undefined && peer.epoch === epoch;
  }

  /**
   * While this node has no NATS connection it hears no one, so silence proves nothing: no peer is
   * declared dead until `resume()`, which gives every peer a full `peerTimeoutMs` again.
   */
  suspend(): void {
    this.suspended = true;
  }

  /** See `suspend`. */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    const now = Date.now();
    for (const peer of this.peersById.values()) peer.lastSeenMs = now;
    this.beat(Kind.Beat);
  }

  /**
   * Forget every peer without an event (this node was isolated and dropped its cross-node
   * state; the Cluster reported them down with reason 'isolated'). They come back with their
   * next heartbeat as `peer-up`.
   */
  forgetAll(): void {
    this.peersById.clear();
  }

  /** Become a new incarnation (after an isolation); peers see the old one 'replaced'. */
  reincarnate(self: NodeRef): void {
    if (self.nodeId !== this.selfRef.nodeId) throw new TypeError('reincarnate: nodeId must stay the same');
    this.selfRef = self;
    this.beat(Kind.Beat);
  }

  /**
   * Stop the timers and unsubscribe.
   * @param goodbye default true: tell the peers (they free this node at once); false leaves them
   *   to notice the silence, as after a crash.
   */
  stop(goodbye = true): void {
    if (this.closed) return;
    this.closed = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.beatTimer = this.checkTimer = null;
    if (goodbye) this.beat(Kind.Leave);
    this.sub?.unsubscribe();
    this.sub = null;
  }

  /** Declare the silent peers dead. Exposed for tests that drive time; the timer calls it. */
  check(nowMs: number): void {
    if (this.suspended || this.closed) return;
    const limit = this.options.peerTimeoutMs;
    for (const peer of this.peersById.values()) {
      if (nowMs - peer.lastSeenMs > limit) {
        this.peersById.delete(peer.nodeId);
        this.down(peer, 'timeout');
      }
    }
  }

  private beat(kind: Kind): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(this.subject, encode(kind, this.selfRef, this.seq++));
      this.stats.heartbeatsSent++;
    } catch {
      // A publish while draining/closing: the next beat or the peers' timeout covers it.
    }
  }

  private down(peer: PeerState, reason: PeerDownReason): void {
    this.stats.peersDown++;
    this.emit('peer-down', peer.ref, reason);
  }

  /** One message from the heartbeat subject: hostile until checked (any NATS client may publish). */
  private receive(data: Uint8Array): void {
    if (this.closed) return;
    const beat = decode(data);
    if (beat === null) {
      this.stats.badHeartbeats++;
      return;
    }
    this.stats.heartbeatsReceived++;
    const { nodeId, epoch, kind } = beat;
    if (nodeId === this.selfRef.nodeId) {
      if (epoch !== this.selfRef.epoch) {
        this.stats.selfConflicts++;
        this.emit('conflict', epoch);
      }
      return;
    }
    const known = this.peersById.get(nodeId);
    if (known !== undefined) {
      if (epoch < known.epoch) {
        this.stats.staleHeartbeats++;
        return;
      }
      if (epoch === known.epoch) {
        if (kind === Kind.Leave) {
          this.peersById.delete(nodeId);
          this.down(known, 'left');
        } else {
          known.lastSeenMs = Date.now();
        }
        return;
      }
      this.peersById.delete(nodeId);
      this.down(known, 'replaced');
    }
    if (kind === Kind.Leave) return;
    if (this.peersById.size >= this.options.maxPeers) {
      this.stats.peersRefused++;
      return;
    }
    const peer: PeerState = { nodeId, epoch, lastSeenMs: Date.now(), ref: Object.freeze({ nodeId, epoch }) };
    this.peersById.set(nodeId, peer);
    this.stats.peersUp++;
    this.emit('peer-up', peer.ref);
  }
}

/** Encode a heartbeat (layout atop the file). */
function encode(kind: Kind, self: NodeRef, seq: number): Uint8Array {
  const id = Buffer.from(self.nodeId, 'latin1');
  const out = Buffer.allocUnsafe(HEARTBEAT_HEAD_BYTES + 1 + id.length);
  out[0] = HEARTBEAT_VERSION;
  out[1] = kind;
  out.writeDoubleLE(self.epoch, 2);
  out.writeUInt32LE(seq >>> 0, 10);
  out[HEARTBEAT_HEAD_BYTES] = id.length;
  id.copy(out, HEARTBEAT_HEAD_BYTES + 1);
  return out;
}

/** Decode a heartbeat, cheapest check first; null when it is not one. */
export function decodeHeartbeat(data: Uint8Array): { kind: number; epoch: number; seq: number; nodeId: string } | null {
  return decode(data);
}

function decode(data: Uint8Array): { kind: number; epoch: number; seq: number; nodeId: string } | null {
  if (data.length < HEARTBEAT_HEAD_BYTES + 2 || data.length > HEARTBEAT_HEAD_BYTES + 1 + MAX_NODE_ID_BYTES) return null;
  if (data[0] !== HEARTBEAT_VERSION) return null;
  const kind = data[1]!;
  if (kind !== Kind.Beat && kind !== Kind.Leave) return null;
  const idLen = data[HEARTBEAT_HEAD_BYTES]!;
  if (idLen === 0 || HEARTBEAT_HEAD_BYTES + 1 + idLen !== data.length) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const epoch = view.getFloat64(2, true);
  if (!Number.isSafeInteger(epoch) || epoch <= 0) return null;
  const seq = view.getUint32(10, true);
  const nodeId = Buffer.from(data.buffer, data.byteOffset + HEARTBEAT_HEAD_BYTES + 1, idLen).toString('latin1');
  if (!NODE_ID_CHAR.test(nodeId)) return null;
  return { kind, epoch, seq, nodeId };
}

/** @internal for tests: a heartbeat's bytes. */
export function encodeHeartbeatForTest(kind: 1 | 2, self: NodeRef, seq: number): Uint8Array {
  checkNodeId(self.nodeId);
  return encode(kind, self, seq);
}
