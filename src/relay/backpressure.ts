/**
 * Who pays for pressure (DESIGN.md "Scale", docs/limits.md): a destination that cannot take more
 * slows its sources. The relay does not drop an owner whose users outrun it, nor stop the owner;
 * it stops reading the users that fed it, and reads them again once its backlog drains.
 *
 * A socket is read only while no pause cause holds it. The causes are bits, not a flag, because a
 * throttled user can also be held by a congested owner, and the end of one must not resume a
 * reader that the other still holds.
 */
import type { RelayConnection } from './connection.js';
import type { ResolvedRelayOptions } from './options.js';
import type { RelayStats } from './stats.js';

/** Why a connection's socket is not read (bits of `RelayConnection.pausedBy`). */
export const PauseCause = {
  /** Past its inbound rate (`inboundPolicy: 'throttle'`). */
  Throttle: 1,
  /** A peer it feeds is past the outbound high-water mark (backpressure). */
  Backpressure: 2,
  /** Cluster: a create or a cross-node enter waits for its answer; later commands queue (cluster-enter.ts). */
  Command: 4,
  /** Cluster: the node link it feeds is past its high-water mark; read again on its `drain`. */
  Link: 8,
  /** Cluster: the owner of a joint it is in, on another node, is past its high-water mark (PAUSE_JOINT). */
  RemoteOwner: 16,
} as const;

/** Pause or resume reading `conn` for one cause; the socket reads only while no cause holds. */
export function setPaused(conn: RelayConnection, cause: number, on: boolean): void {
  const before = conn.pausedBy;
  const after = on ? before | cause : before & ~cause;
  conn.pausedBy = after;
  if (before === 0 && after !== 0) conn.stream.pause?.();
  else if (before !== 0 && after === 0) conn.stream.resume?.();
}

/**
 * The relay's backpressure: which owners a read fed, which senders wait on which congested
 * owner, and their release. One per relay; its state lives in the connections (`fed`, `waiters`,
 * `waitingOn`), so a peer that is not congested costs nothing here.
 */
export class Backpressure {
  /** Owners fed user data by the read in progress; checked against the high-water mark after its flush. */
  private readonly fed: RelayConnection[] = [];

  constructor(
    private readonly options: Readonly<ResolvedRelayOptions>,
    private readonly stats: RelayStats,
  ) {}

  /** Note that the read in progress queued user data for `owner` (see `pressBack`). */
  feed(owner: RelayConnection): void {
    if (owner.fed) return;
    owner.fed = true;
    this.fed.push(owner);
  }

  /**
   * After a read's flush: every owner it fed that is now past the high-water mark holds `source`
   * paused until its backlog is back at the low-water mark. Pausing the sender, not dropping the
   * receiver, is what keeps one user's flood from ending the joint; each paused user gets one read
   * per drain cycle, so the owner's bandwidth is shared between its senders.
   */
  pressBack(source: RelayConnection): void {
    const fed = this.fed;
    if (fed.length === 0) return;
    const high = this.options.outboundHighWaterBytes;
    for (let i = 0; i < fed.length; i++) {
      const owner = fed[i]!;
      owner.fed = false;
      if (high === 0 || owner === source || owner.closed || source.closed) continue;
      if (owner.stream.bufferedBytes <= high) continue;
      let waiters = owner.waiters;
      if (waiters === null) waiters = owner.waiters = new Set();
      if (waiters.has(source)) continue;
      waiters.add(source);
      source.waitingOn++;
      if ((source.pausedBy & PauseCause.Backpressure) === 0) {
        this.stats.backpressured++;
        this.stats.backpressuredNow++;
        setPaused(source, PauseCause.Backpressure, true);
      }
    }
    fed.length = 0;
  }

  /** A flush of `conn` reached the kernel: progress; release its paused senders at the low-water mark. */
  onWritten(conn: RelayConnection): void {
    conn.progressMs = Date.now();
    if (conn.waiters !== null && conn.stream.bufferedBytes <= this.options.outboundLowWaterBytes) this.release(conn);
  }

  /**
   * `conn` is closing: it no longer counts as paused, and whoever waited for its backlog to drain
   * is read again, since it never will drain now.
   */
  forget(conn: RelayConnection): void {
    if ((conn.pausedBy & PauseCause.Backpressure) !== 0) this.stats.backpressuredNow--;
    conn.pausedBy = 0;
    this.release(conn);
  }

  /** Read again every sender paused for `dest` (once no other congested peer holds it too). */
  private release(dest: RelayConnection): void {
    const waiters = dest.waiters;
    if (waiters === null) return;
    dest.waiters = null;
    for (const source of waiters) {
      if (--source.waitingOn > 0 || source.closed) continue;
      this.stats.backpressuredNow--;
      setPaused(source, PauseCause.Backpressure, false);
    }
  }
}
