/**
 * What a Server is configured with and what it reports: its options (every limit with its
 * default) and its stats, plus the option check the budgets and the intake share.
 */
import type { SessionOptions } from '../wire/session.js';
import { MmArgumentError } from './errors.js';
import type { QueueOptions } from './queue-owner.js';

/** Options of a Server; every limit has a safe default (src/wire/limits.ts). */
export interface ServerOptions extends SessionOptions, QueueOptions {
  /**
   * Established connections at once (default `MAX_CONNECTIONS` = 1024). Handshakes in progress
   * are counted apart (`maxPendingHandshakes`). Past it a new connection gets CLOSE "server full".
   */
  maxConnections?: number;
  /** Connections per source IP, handshakes included (default `MAX_CONNECTIONS_PER_IP` = 32; 0 = no cap). */
  maxConnectionsPerIp?: number;
  /** Handshakes in progress over all addresses (default `MAX_PENDING_HANDSHAKES` = 64). */
  maxPendingHandshakes?: number;
  /** Handshakes in progress per source IP (default `MAX_PENDING_HANDSHAKES_PER_IP` = 8). */
  maxPendingHandshakesPerIp?: number;
  /** New connections per second per source IP, a token bucket (default `CONNECT_RATE_PER_IP` = 10; 0 = no limit). */
  connectRatePerIp?: number;
  /** Depth of that bucket in connections (default `CONNECT_BURST_PER_IP` = 20). */
  connectBurstPerIp?: number;
  /** Deepest table nesting accepted (default `MAX_TABLE_DEPTH` = 64). */
  maxTableDepth?: number;
  /** Accept WebSocket clients on the same port (default true). */
  websocket?: boolean;
  /**
   * Events one connection may have queued before the server stops reading from it until the
   * application polls (default `MAX_QUEUED_EVENTS_PER_CONNECTION` = 256). Messages it had already
   * sent are held in order and queued as the application polls; a connection holding more than
   * `MAX_HELD_EVENTS_PER_CONNECTION` messages or `MAX_HELD_BYTES_PER_CONNECTION` bytes is dropped
   * with the ERROR reason "event flood". 0 turns the cap off (one peer can then push others'
   * events out of a full queue).
   */
  maxQueuedEvents?: number;
  /**
   * Payload bytes one connection may have queued before the server stops reading from it until
   * the application polls, like `maxQueuedEvents` (default `MAX_QUEUED_BYTES_PER_CONNECTION` =
   * 1 MiB; 0 = no byte cap). One message always passes.
   */
  maxQueuedBytes?: number;
  /**
   * Outbound backlog (bytes) past which a connection is congested (default `SEND_HIGH_WATER_BYTES`
   * = 512 KiB; 0 = off). While one is, every connection may queue only `congestedQueuedBytes` per
   * poll: whoever sends the most is slowed, so an application forwarding what it receives cannot
   * be made to overflow a client that reads at a fair pace.
   */
  sendHighWaterBytes?: number;
  /** Queued bytes per connection per poll while a connection is congested (default 64 KiB). */
  congestedQueuedBytes?: number;
  /**
   * Messages a paused connection may hold before it is dropped with "event flood" (default
   * `MAX_HELD_EVENTS_PER_CONNECTION` = 65536). A backstop: pausing already bounds what is held
   * to the rest of one socket read.
   */
  maxHeldEvents?: number;
}

/** The options a Server adds to the session and queue options (the `satisfies` keeps the list complete). */
export const SERVER_OWN_OPTION_KEYS: readonly string[] = Object.keys({
  maxConnections: true,
  maxConnectionsPerIp: true,
  maxPendingHandshakes: true,
  maxPendingHandshakesPerIp: true,
  connectRatePerIp: true,
  connectBurstPerIp: true,
  maxTableDepth: true,
  websocket: true,
  maxQueuedEvents: true,
  maxQueuedBytes: true,
  sendHighWaterBytes: true,
  congestedQueuedBytes: true,
  maxHeldEvents: true,
} satisfies Record<Exclude<keyof ServerOptions, keyof SessionOptions | keyof QueueOptions>, true>);

/** Counters and gauges of a Server (`stats()`). */
export interface ServerStats {
  /** Established connections now. */
  connections: number;
  /** Connections accepted and not yet established (first byte, WebSocket upgrade or HELLO..FINISHED) now. */
  pendingHandshakes: number;
  /** Of those, connections in their WebSocket upgrade now. */
  pendingUpgrades: number;
  /** Connections closed at accept because their IP went over `connectRatePerIp`. */
  refusedRate: number;
  /** Connections closed at accept because their IP held `maxConnectionsPerIp`. */
  refusedPerIp: number;
  /** Connections closed at accept because their IP had `maxPendingHandshakesPerIp` handshakes in progress. */
  refusedPendingPerIp: number;
  /** Connections closed at accept because `maxPendingHandshakes` were in progress. */
  refusedPending: number;
  /** Connections refused with CLOSE "server full" (`maxConnections` established). */
  refusedFull: number;
  /** Admitted connections that closed before their handshake completed (timeouts, mismatches, drops). */
  handshakesFailed: number;
}

/** @internal An integer option at least `min`, or MmArgumentError naming it. */
export function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
