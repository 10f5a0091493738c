/**
 * NATS outage detection (docs/cluster.md §NATS outage): the node's view of its own NATS
 * connection, from the client's status events, as three states. `down` at once when the client
 * reports a disconnect (or a stale connection); `isolated` once it stayed down for `natsGraceMs`;
 * `up` when the client has reconnected. The policy on top (what the relay closes, when the node
 * rejoins) is the Cluster's; this class only tells time.
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';

/** The node's NATS connection as the relay sees it. */
export type NatsState = 'up' | 'down' | 'isolated' | 'closed';

export interface NatsHealthEvents {
  /** The connection is lost; cross-node traffic is queued (bounded) and no directory operation succeeds. */
  down: [cause: string];
  /** Down for `natsGraceMs`: the relay closes every cross-node joint and user with reason 1. */
  isolated: [];
  /** Reconnected after `downMs`; `wasIsolated` says whether the node must rejoin as a new incarnation. */
  up: [downMs: number, wasIsolated: boolean];
  /** The connection was closed for good (by `Cluster.close`, or the client gave up). */
  closed: [];
}

export interface NatsHealthStats {
  outages: number;
  isolations: number;
  /** Longest outage seen (ms). */
  longestOutageMs: number;
}

/** Watches one NATS connection's status. */
export class NatsHealth extends EventEmitter<NatsHealthEvents> {
  private current: NatsState = 'up';
  private downSinceMs = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly stats: NatsHealthStats = { outages: 0, isolations: 0, longestOutageMs: 0 };

  /**
   * @param nc the node's NATS connection.
   * @param natsGraceMs `NATS_GRACE_MS`: time down before `isolated`.
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly natsGraceMs: number,
  ) {
    super();
  }

  /** Current state. */
  get state(): NatsState {
    return this.current;
  }

  /** Start reading the client's status events. */
  start(): void {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (this.stopped) break;
        switch (status.type) {
          case 'disconnect':
          case 'staleConnection':
          case 'reconnecting':
            this.lost(status.type);
            break;
          case 'reconnect':
            this.regained();
            break;
          case 'close':
            this.closedForGood();
            break;
          default:
            break;
        }
      }
    })().catch(() => this.closedForGood());
    void this.nc.closed().then(() => this.closedForGood());
  }

  /** Stop watching (no more events). */
  stop(): void {
    this.stopped = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private lost(cause: string): void {
    if (this.current !== 'up' || this.stopped) return;
    this.current = 'down';
    this.downSinceMs = Date.now();
    this.stats.outages++;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      if (this.current !== 'down' || this.stopped) return;
      this.current = 'isolated';
      this.stats.isolations++;
      this.emit('isolated');
    }, this.natsGraceMs);
    this.graceTimer.unref();
    this.emit('down', cause);
  }

  private regained(): void {
    if ((this.current !== 'down' && this.current !== 'isolated') || this.stopped) return;
    const wasIsolated = this.current === 'isolated';
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.current = 'up';
    const downMs = Date.now() - this.downSinceMs;
    if (downMs > this.stats.longestOutageMs) this.stats.longestOutageMs = downMs;
    this.emit('up', downMs, wasIsolated);
  }

  private closedForGood(): void {
    if (this.current === 'closed') return;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.current = 'closed';
    if (!this.stopped) this.emit('closed');
  }
}
