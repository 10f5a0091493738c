/**
 * The native engine's side of a cluster (issue 19, docs/native-engine.md "Cluster"): the engine
 * forwards between local connections on its thread, and hands every piece whose far end is on
 * another node back as a `4 REMOTE` record (un-rewritten: source connection, kind, jIn or jOwn,
 * userNr or the excluded one, frame flags), all of a loop turn's records in its one batch. This
 * turns them into the cluster bridge's calls, as forwarding.ts does for the Node engine:
 *
 * - TO_OWNER (a user here, the owner on another node): `bridge.toOwner` with the user's membership;
 * - TO_USER (an owner here, the user on another node): `bridge.toUser`, with the frame-sequence
 *   rule (a user who entered after the frame began gets none of it, joint.md §5);
 * - BROADCAST (an owner here with users on other nodes): `bridge.broadcast` with one user of each
 *   node that had a user in the joint when the frame began (the bridge sends one BROADCAST per
 *   node, or TO_USERs to a node with a late entrant).
 *
 * The frame-sequence number of an owner's frame is taken when its first piece is handled here
 * (`conn.frameSeq`), as forwarding.ts takes it when it reads it; the engine applies the same rule
 * by its own enter sequence before it emits a record.
 *
 * Also here: the engine stream of a clustered relay (`pause`/`resume` reach the engine, so the
 * cluster's backpressure and a cross-node enter in flight hold the connection unread), and the
 * registry through which the bridge's parts find the engine's remote routes.
 */
import type { Joint, JointState } from '../../joint/relay-state.js';
import type { ClusterBridge } from '../cluster-bridge.js';
import type { RemoteUser } from '../cluster-remote.js';
import type { RelayConnection } from '../connection.js';
import type { RelayStats } from '../stats.js';
import { REMOTE_CONN, RemoteKind, type RelayEngineRemoteBinding } from '../../core/relay-engine-binding.js';
import { EngineStream } from './engine-stream.js';

/** The parser's frame-start flag in a REMOTE record's slot 7. */
const FRAME_START = 1;

/** The engine's id of a connection of the native engine. */
function engineId(conn: RelayConnection): number {
  return (conn.stream as EngineStream).conn;
}

/** What the remote records need of the relay. */
export interface EngineRemoteHost {
  readonly state: JointState;
  readonly stats: RelayStats;
  /** The bridge, once the relay joined the cluster (null before, and without `cluster`). */
  readonly bridge: () => ClusterBridge | null;
}

export class EngineRemote {
  /** User side: the in-joint number of each connection's membership in each stand-in joint. */
  private readonly proxyIn = new Map<RelayConnection, Map<Joint, number>>();
  /** One user of each node of the broadcast being handed over (reused). */
  private readonly nodes: RemoteUser[] = [];

  constructor(
    private readonly engine: RelayEngineRemoteBinding,
    private readonly host: EngineRemoteHost,
    /** outboundHighWaterBytes (BACKLOG events). */
    private readonly highWater: number,
  ) {}

  /** One REMOTE record of a batch: `conn` sent it (open), `bytes[offset, offset + length)` its data. */
  onRecord(conn: RelayConnection, kind: number, j: number, nr: number, flags: number, bytes: Buffer, offset: number, length: number): void {
    const bridge = this.host.bridge();
    if (bridge === null) {
      this.host.stats.drops++;
      return;
    }
    if (kind === RemoteKind.ToOwner) {
      const m = conn.entered[j];
      if (m === undefined || (m.joint.owner as RelayConnection).remote !== true) {
        this.host.stats.drops++;
        return;
      }
      bridge.toOwner(conn, m, bytes, offset, length);
      return;
    }
    if ((flags & FRAME_START) !== 0) conn.frameSeq = this.host.state.sequence;
    const joint = conn.own[j];
    if (joint === undefined) {
      this.host.stats.drops++;
      return;
    }
    if (kind === RemoteKind.ToUser) {
      const m = joint.users[nr];
      if (m === undefined || m.seq > conn.frameSeq || (m.user as RelayConnection).remote !== true) {
        this.host.stats.drops++;
        return;
      }
      bridge.toUser(conn, m, bytes, offset, length);
      return;
    }
    if (kind !== RemoteKind.Broadcast) return;
    const nodes = this.nodes;
    nodes.length = 0;
    const members = joint.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const user = m.user as RemoteUser;
      if (user.remote !== true || m.userNr === nr || m.seq > conn.frameSeq) continue;
      let seen = false;
      for (let k = 0; k < nodes.length; k++) if (nodes[k]!.peer.nodeId === user.peer.nodeId) seen = true;
      if (!seen) nodes.push(user);
    }
    if (nodes.length > 0) bridge.broadcast(conn, joint, nr, nodes, bytes, offset, length);
    nodes.length = 0;
  }

  // ---- routes (the joint tables' changes that involve another node) ----------------------------

  /** `conn` here entered stand-in `joint` (owned on another node) as `jIn`, user `userNr` there. */
  proxyEntered(conn: RelayConnection, joint: Joint, jIn: number, userNr: number): void {
    let joints = this.proxyIn.get(conn);
    if (joints === undefined) this.proxyIn.set(conn, (joints = new Map()));
    joints.set(joint, jIn);
    this.engine.enter(engineId(conn), jIn, REMOTE_CONN, 0, userNr);
  }

  /** `conn` left stand-in `joint`. */
  proxyLeft(conn: RelayConnection, joint: Joint): void {
    const joints = this.proxyIn.get(conn);
    const jIn = joints?.get(joint);
    if (jIn === undefined) return;
    joints!.delete(joint);
    if (joints!.size === 0) this.proxyIn.delete(conn);
    if (!conn.closed) this.engine.leave(engineId(conn), jIn);
  }

  /** BACKLOG event of `conn`: what the control plane sent it is past the high-water mark (or drained). */
  onBacklog(conn: RelayConnection, high: boolean): void {
    if (conn.stream instanceof ClusterEngineStream) conn.stream.backlog(high, this.highWater);
  }

  /** `conn` closed (the engine removed its routes itself). */
  closed(conn: RelayConnection): void {
    this.proxyIn.delete(conn);
  }
}

/**
 * An engine connection of a clustered relay: `pause`/`resume` (backpressure.ts `setPaused`: a
 * congested link, a congested remote owner, a cross-node enter in flight) stop and restart the
 * engine's reading of it, input held behind a command included; and the bytes the control plane
 * writes between two flushes (an outbox's chunks, a WebSocket peer's units) go to the engine as
 * one `send` at `flush`, so a batch of cluster records costs one engine call per destination.
 */
export class ClusterEngineStream extends EngineStream {
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private readonly remoteEngine: RelayEngineRemoteBinding;
  /**
   * What `bufferedBytes` says while the engine reports this connection's backlog past the high-water
   * mark (BACKLOG events): just past it, so the cluster's owner-side backpressure (PAUSE_JOINT)
   * sees a congested owner, and no cap drops it (the engine applies those itself).
   */
  private highBytes = 0;

  constructor(engine: RelayEngineRemoteBinding, ...rest: ConstructorParameters<typeof EngineStream> extends [unknown, ...infer R] ? R : never) {
    super(engine, ...rest);
    this.remoteEngine = engine;
  }

  override get bufferedBytes(): number {
    return this.highBytes;
  }

  /** The engine's BACKLOG event: past `highWater` (true) or drained (false). */
  backlog(high: boolean, highWater: number): void {
    this.highBytes = high ? highWater + 1 : 0;
  }

  override write(data: Uint8Array): void {
    if (!this.open || data.length === 0) return;
    // Copied at flush (within the outbox's flushTo), before the outbox may reuse its slab.
    this.parts.push(data);
    this.partBytes += data.length;
  }

  override flush(): void {
    const parts = this.parts;
    if (parts.length === 0) return;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    super.write(bytes);
  }

  pause(): void {
    if (this.open && !this.engineClosed) this.remoteEngine.pause(this.conn);
  }

  resume(): void {
    if (this.open && !this.engineClosed) this.remoteEngine.unpause(this.conn);
  }

  override close(code: number): void {
    this.flush();
    super.close(code);
  }
}

/** The engine's remote routes of a relay's joint tables, for the cluster bridge's parts. */
const registry = new WeakMap<JointState, EngineRemote>();

/** Register `remote` as the remote routes of `state` (the native engine does, with `cluster`). */
export function registerEngineRemote(state: JointState, remote: EngineRemote): void {
  registry.set(state, remote);
}

/** The native engine's remote routes of `state`, or undefined (the Node engine has none). */
export function engineRemoteOf(state: JointState): EngineRemote | undefined {
  return registry.get(state);
}
