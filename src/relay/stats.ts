/**
 * Plain counters the relay bumps on its hot path (a number increment, no metric library call);
 * `metrics.ts` reads them when Prometheus scrapes, and `Relay.stats()` returns a copy.
 */

/** Why a connection was closed, as counted in `disconnects` and logged. */
export const DisconnectReason = {
  /** The peer closed its socket (FIN or WebSocket close). */
  PeerClosed: 'peer_closed',
  /** The socket failed (reset, error). */
  SocketError: 'socket_error',
  /** A protocol error: undefined lead byte, bad size or length, bad broadcast, unknown command (joint.md §16 D9). */
  ProtocolError: 'protocol_error',
  /** Past the inbound byte or unit rate (token bucket). */
  RateLimit: 'rate_limit',
  /** Past the outbound backlog cap with nobody paused on its behalf (it alone reads too slowly). */
  SlowReader: 'slow_reader',
  /** Unsent bytes and no progress on them for `stallTimeoutMs`: it stopped reading. */
  Stalled: 'stalled',
  /** Inbound silence past `idleTimeoutMs`. */
  Idle: 'idle',
  /** The relay is shutting down. */
  Shutdown: 'shutdown',
  /** Cluster: another node took or freed an id this connection's joint held (this node was declared dead); see docs/cluster.md. */
  ClusterLost: 'cluster_lost',
} as const;
export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/** Counters and gauges of one relay. */
export class RelayStats {
  /** Open connections (gauge). */
  connections = 0;
  /** Connections accepted as streams since start. */
  accepted = 0;
  /** Connections refused by the per-IP cap. */
  refusedPerIp = 0;
  /** Connections refused by the total cap (`maxConnections`). */
  refusedTotal = 0;
  /**
   * Sockets closed at accept, before CONNECT, because the native engine's sockets without a first
   * byte reached its backstop (kMaxPendingConnections, 16384). Always 0 on the Node engine: it has
   * no such backstop (the connection caps judge every socket at accept, so its pending sockets are
   * at most `maxConnections`).
   */
  refusedPending = 0;
  /** Creates refused by the relay-wide or per-IP joint cap (`maxJoints`, `maxJointsPerIp`). */
  jointsRefused = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Data frames received (completed) and commands. */
  framesIn = 0;
  /** Frames and control messages sent. */
  framesOut = 0;
  /** Data frame pieces dropped because their routing did not resolve (joint.md §2.3). */
  drops = 0;
  /** Times a connection was paused for exceeding its inbound rate. */
  throttled = 0;
  /** Times a sender was paused because a peer it feeds passed the high-water mark (backpressure). */
  backpressured = 0;
  /** Senders paused by backpressure now (gauge). */
  backpressuredNow = 0;
  /** Disconnects by reason. */
  readonly disconnects: Record<DisconnectReason, number> = {
    peer_closed: 0,
    socket_error: 0,
    protocol_error: 0,
    rate_limit: 0,
    slow_reader: 0,
    stalled: 0,
    idle: 0,
    shutdown: 0,
    cluster_lost: 0,
  };
}

/** A snapshot of a relay's counters (`Relay.stats()`). */
export interface RelayStatsSnapshot {
  connections: number;
  /** Sockets accepted and not yet streams: waiting for their first byte or in a WebSocket upgrade (gauge). */
  pendingConnections: number;
  /** Of those, the ones in a WebSocket upgrade (gauge). */
  pendingUpgrades: number;
  accepted: number;
  refusedPerIp: number;
  refusedTotal: number;
  /** Sockets closed at accept by the native engine's pending-socket backstop (0 on the Node engine). */
  refusedPending: number;
  jointsRefused: number;
  joints: number;
  users: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  drops: number;
  throttled: number;
  backpressured: number;
  backpressuredNow: number;
  /** Bytes queued toward all peers and not yet taken by their sockets (gauge). */
  backlogBytes: number;
  disconnects: Record<DisconnectReason, number>;
  /** With the `cluster` option: this node and its links (`Cluster.stats()` plus cross-node counts). */
  cluster?: RelayClusterStats;
}

/** The cluster part of `Relay.stats()`. */
export interface RelayClusterStats {
  nodeId: string;
  epoch: number;
  /** Live peer nodes. */
  peers: number;
  /** This node's NATS connection: `up`, `down` or `isolated`. */
  nats: string;
  /** Users of other nodes in joints owned here (one per membership). */
  remoteUsers: number;
  /** Memberships of connections here in joints owned by other nodes. */
  remoteMemberships: number;
  /** Data records sent to / received from other nodes (TO_OWNER, TO_USER, BROADCAST). */
  framesOut: number;
  framesIn: number;
  /** Data bytes in those records. */
  bytesOut: number;
  bytesIn: number;
  /** Records from other nodes that did not resolve (a joint or user already gone, or not theirs). */
  drops: number;
  linkBatchesSent: number;
  linkBatchesReceived: number;
  linkBytesSent: number;
  linkBytesReceived: number;
  linkFailures: number;
  /** Times a connection here was paused because the link it fed was past its high-water mark. */
  linkPauses: number;
  /** Times a joint here was paused on its users' nodes (PAUSE_JOINT): its owner was congested by remote users. */
  jointPauses: number;
  directoryClaims: number;
  directoryClaimsTaken: number;
  directoryReleases: number;
  directoryLookups: number;
  directoryFailures: number;
  peersDown: number;
  // The TCP data link (docs/cluster.md §4a) and the node link's repairs:
  /** Outgoing / authenticated incoming data connections now. */
  dataLinkOutbound: number;
  dataLinkInbound: number;
  /** Dials of a peer's data port started, and those that failed. */
  dataLinkDials: number;
  dataLinkDialFailures: number;
  /** Data connections in use that were lost (their unacknowledged batches went again over NATS), and those batches. */
  dataLinkFailovers: number;
  dataLinkRetransmitted: number;
  /** Bytes on the data connections, length prefixes included. */
  dataLinkBytesSent: number;
  dataLinkBytesReceived: number;
  /** Incoming data connections refused at or before the hello, and authenticated ones dropped for a bad message. */
  dataLinkRefused: number;
  dataLinkBadMessages: number;
  /** Batches that came again after they were delivered (a failover or a resend), dropped. */
  linkDuplicateBatches: number;
  /** Batches after a missing one (lost by NATS), dropped and asked for again. */
  linkGaps: number;
  /** Batches sent again because a peer asked for them or this node reconnected to NATS. */
  linkResentBatches: number;
}

/**
 * `Relay.stats()`: the counters of `s` copied, with the gauges the relay reads from its parts
 * (`live`) and, on a cluster node, the cluster's figures.
 */
export function snapshotOf(
  s: RelayStats,
  live: Pick<RelayStatsSnapshot, 'pendingConnections' | 'pendingUpgrades' | 'joints' | 'users' | 'backlogBytes'>,
  cluster: RelayClusterStats | undefined,
): RelayStatsSnapshot {
  return {
    connections: s.connections,
    pendingConnections: live.pendingConnections,
    pendingUpgrades: live.pendingUpgrades,
    accepted: s.accepted,
    refusedPerIp: s.refusedPerIp,
    refusedTotal: s.refusedTotal,
    refusedPending: s.refusedPending,
    jointsRefused: s.jointsRefused,
    joints: live.joints,
    users: live.users,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    framesIn: s.framesIn,
    framesOut: s.framesOut,
    drops: s.drops,
    throttled: s.throttled,
    backpressured: s.backpressured,
    backpressuredNow: s.backpressuredNow,
    backlogBytes: live.backlogBytes,
    disconnects: { ...s.disconnects },
    ...(cluster !== undefined ? { cluster } : {}),
  };
}
