/**
 * The stand-ins for the far end of a cross-node joint (docs/cluster.md §8): a user of another node
 * in a joint owned here (`RemoteUser`), and the owner of a joint on another node that users here
 * entered (`RemoteOwner`). Both are JointEndpoints, so the joint tables hold them like local
 * connections; the data plane tells them apart by `remote` and hands their traffic to the bridge.
 */
import type { LinkChannel, NodeRef, NodeRefLike } from '../cluster/index.js';
import { JointEndpoint, type Membership } from '../joint/relay-state.js';

/**
 * A user of another node, in one joint owned here: one per membership, so its in-joint table has
 * room for exactly one joint. Entered through `JointState.enter`, it gets the userNr, the user
 * limit and the userConnect of a local user (joint.md §1, §3.1).
 */
export class RemoteUser extends JointEndpoint {
  declare readonly remote: boolean;
  /** Its membership, once entered. */
  m: Membership | null = null;
  /** The node was told the joint is gone (JOINT_GONE), so its removal sends nothing more. */
  told = false;

  constructor(
    /** The user's node incarnation. */
    readonly peer: NodeRef,
    /** That node's handle of the membership (TO_USER, KICK carry it). */
    readonly userRef: number,
  ) {
    super(1, 1);
  }
}

/**
 * The owner of one joint on another node, as the users here see it. Its joint is a stand-in
 * `Joint` outside this node's JointState (the id belongs to the owner node): its `users` and
 * `members` are the users here, by the userNr the owner node gave them.
 */
export class RemoteOwner extends JointEndpoint {
  declare readonly remote: boolean;

  constructor(
    /** The owner's node incarnation. */
    readonly peer: NodeRef,
    /** The owner node's handle of the joint. */
    readonly jointRef: number,
    /** The link toward it. */
    readonly channel: LinkChannel,
  ) {
    super(1, 1);
  }
}

Object.defineProperty(RemoteUser.prototype, 'remote', { value: true });
Object.defineProperty(RemoteOwner.prototype, 'remote', { value: true });

/** The key of a stand-in joint: its owner node incarnation and that node's handle of the joint. */
export function proxyKey(peer: NodeRefLike, jointRef: number): string {
  return `${peer.nodeId}/${peer.epoch}/${jointRef}`;
}

/** `a` and `b` are the same node incarnation (a record from an earlier one is stale). */
export function sameNode(a: NodeRef, b: NodeRefLike): boolean {
  return a.nodeId === b.nodeId && a.epoch === b.epoch;
}
