/**
 * The relay's joint tables (joint/relay-state.ts) with the native engine's routing table kept in
 * step: the engine forwards data on its I/O thread by its own copy of who owns which joint and who
 * is in it, and only the control plane changes that copy (DESIGN.md "Data plane and control
 * plane"). Every change of the tables goes through here: a create or a delete (`own`), an enter
 * (`enter`), and every membership that ends, which the tables report to their listener as
 * `userGone` or `jointGone` (at least one per removal; `leave` is idempotent in the engine). The
 * engine applies the calls in the order they are made, so a route exists before the replies and
 * events queued after it go out, and before the connection's next data is parsed.
 */
import type { WireReason } from '../../joint/protocol.js';
import { JointState, type JointEndpoint, type JointStateLimits, type JointStateListener, type Membership } from '../../joint/relay-state.js';
import type { RelayConnection } from '../connection.js';
import type { RelayEngineBinding } from './binding.js';
import { REMOTE_CONN, type RelayEngineRemoteBinding } from '../../core/relay-engine-binding.js';
import type { EngineStream } from './engine-stream.js';

/** The engine's id of a connection of the native engine; a user or owner of another node is REMOTE. */
function engineId(endpoint: JointEndpoint): number {
  if ((endpoint as { remote?: boolean }).remote === true) return REMOTE_CONN;
  return ((endpoint as RelayConnection).stream as EngineStream).conn;
}

/** Take membership `m` out of the engine's table: by the user's in-joint, or (a user of another node) by its userNr. */
function unroute(routes: RelayEngineBinding | null, m: Membership): void {
  if (routes === null) return;
  if ((m.user as { remote?: boolean }).remote === true) (routes as RelayEngineRemoteBinding).leaveMember(engineId(m.joint.owner), m.joint.jOwn, m.userNr);
  else routes.leave(engineId(m.user), m.jIn);
}

export class RoutedJointState extends JointState {
  /** Set once the engine exists (before any connection, hence before any change). */
  routes: RelayEngineBinding | null = null;

  constructor(listener: JointStateListener, limits: JointStateLimits) {
    // `super` needs the listener before `this` exists: the wrapper reads `routes` through `state`.
    let state: RoutedJointState | null = null;
    super(
      {
        userGone(m: Membership, reason: WireReason): void {
          unroute(state!.routes, m);
          listener.userGone(m, reason);
        },
        jointGone(m: Membership, reason: WireReason): void {
          unroute(state!.routes, m);
          listener.jointGone(m, reason);
        },
      },
      limits,
    );
    state = this;
  }

  override create(owner: JointEndpoint, id: Uint8Array, offset?: number, length?: number): number {
    const jOwn = super.create(owner, id, offset, length);
    if (jOwn >= 0) this.routes?.own(engineId(owner), jOwn, true);
    return jOwn;
  }

  override enter(user: JointEndpoint, id: Uint8Array, offset?: number, length?: number): Membership | number {
    const m = super.enter(user, id, offset, length);
    if (typeof m !== 'number') this.routes?.enter(engineId(user), m.jIn, engineId(m.joint.owner), m.joint.jOwn, m.userNr);
    return m;
  }

  /** Its users are unrouted one by one (`jointGone`) before the joint itself stops being owned. */
  override delete(owner: JointEndpoint, jOwn: number): boolean {
    const deleted = super.delete(owner, jOwn);
    if (deleted) this.routes?.own(engineId(owner), jOwn, false);
    return deleted;
  }
}
