/**
 * The Prometheus endpoint (`--metrics-port`): a registry of its own per relay (so several relays
 * in one process do not collide), filled from `RelayStats` at scrape time by `collect()`.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ClusterBridgeStats } from './cluster-bridge.js';
import { DisconnectReason, type RelayStats } from './stats.js';
import { workerHandoffStats } from './worker-handoff.js';

/** Metric names, all prefixed `gamewire_relay_`. */
export const METRIC_PREFIX = 'gamewire_relay_';

/**
 * Build the registry over `stats`; `joints` and `users` are read from the relay state.
 * @param cluster the cluster figures of a cluster node, null otherwise (the cluster metrics read 0).
 */
export function createRelayRegistry(
  stats: RelayStats,
  counts: () => { joints: number; users: number; backlogBytes: number; pendingConnections: number; pendingUpgrades: number },
  cluster: () => ClusterBridgeStats | null = () => null,
): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: METRIC_PREFIX + name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: METRIC_PREFIX + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge('connections', 'Open connections', () => stats.connections);
  gauge('joints', 'Joints on the relay', () => counts().joints);
  gauge('pending_connections', 'Sockets accepted and waiting for their first byte or in a WebSocket upgrade', () => counts().pendingConnections);
  gauge('pending_upgrades', 'Sockets in a WebSocket upgrade', () => counts().pendingUpgrades);
  gauge('users', 'Users in joints (one per membership)', () => counts().users);
  gauge('outbound_backlog_bytes', 'Bytes queued toward all peers and not yet taken by their sockets', () => counts().backlogBytes);
  counter('connections_accepted_total', 'Connections accepted', () => stats.accepted);
  counter('connections_refused_total', 'Connections refused by the per-IP cap', () => stats.refusedPerIp);
  counter('connections_refused_cap_total', 'Connections refused by the total cap (maxConnections)', () => stats.refusedTotal);
  counter('connections_refused_pending_total', 'Sockets closed at accept: the native engine had too many sockets without a first byte (0 on the Node engine)', () => stats.refusedPending);
  counter('joints_refused_total', 'Creates refused by the relay-wide or per-IP joint cap', () => stats.jointsRefused);
  counter('bytes_in_total', 'Bytes received from peers', () => stats.bytesIn);
  counter('bytes_out_total', 'Bytes sent to peers', () => stats.bytesOut);
  counter('frames_in_total', 'Data frames and commands received', () => stats.framesIn);
  counter('frames_out_total', 'Data frames and control messages sent', () => stats.framesOut);
  counter('drops_total', 'Data frame pieces dropped: routing did not resolve', () => stats.drops);
  counter('throttled_total', 'Connections paused for exceeding the inbound rate', () => stats.throttled);
  counter('backpressured_total', 'Senders paused because a peer they feed passed the outbound high-water mark', () => stats.backpressured);
  gauge('backpressured', 'Senders paused by backpressure now', () => stats.backpressuredNow);
  const c = (read: (s: ClusterBridgeStats) => number) => () => {
    const s = cluster();
    return s === null ? 0 : read(s);
  };
  gauge('cluster_peers', 'Cluster: live peer nodes', c((s) => s.peers));
  gauge('cluster_remote_users', 'Cluster: users of other nodes in joints owned here', c((s) => s.remoteUsers));
  gauge('cluster_remote_memberships', 'Cluster: memberships of connections here in joints of other nodes', c((s) => s.remoteMemberships));
  counter('cluster_frames_out_total', 'Cluster: data records sent to other nodes', c((s) => s.framesOut));
  counter('cluster_frames_in_total', 'Cluster: data records received from other nodes', c((s) => s.framesIn));
  counter('cluster_bytes_out_total', 'Cluster: data bytes sent to other nodes', c((s) => s.bytesOut));
  counter('cluster_bytes_in_total', 'Cluster: data bytes received from other nodes', c((s) => s.bytesIn));
  counter('cluster_drops_total', 'Cluster: records from other nodes that did not resolve', c((s) => s.drops));
  counter('cluster_link_batches_sent_total', 'Cluster: node link batches sent with records (over NATS or a data connection)', c((s) => s.linkBatchesSent));
  counter('cluster_link_bytes_sent_total', 'Cluster: bytes published on the node link', c((s) => s.linkBytesSent));
  counter('cluster_link_bytes_received_total', 'Cluster: bytes received on the node link', c((s) => s.linkBytesReceived));
  counter('cluster_link_failures_total', 'Cluster: node links failed (overflow, stalled)', c((s) => s.linkFailures));
  counter('cluster_link_paused_total', 'Cluster: connections paused because the node link they fed was congested', c((s) => s.linkPauses));
  counter('cluster_joint_paused_total', 'Cluster: joints whose remote users were paused (PAUSE_JOINT) because their owner here was congested', c((s) => s.jointPauses));
  counter('cluster_peers_down_total', 'Cluster: peer incarnations ended (died, left, replaced, isolated)', c((s) => s.peersDown));
  counter('cluster_directory_claims_total', 'Cluster: joint id claims', c((s) => s.directoryClaims));
  counter('cluster_directory_claims_taken_total', 'Cluster: claims refused, the id held elsewhere', c((s) => s.directoryClaimsTaken));
  counter('cluster_directory_releases_total', 'Cluster: joint ids released', c((s) => s.directoryReleases));
  counter('cluster_directory_lookups_total', 'Cluster: directory lookups', c((s) => s.directoryLookups));
  counter('cluster_directory_failures_total', 'Cluster: directory operations failed or unanswered', c((s) => s.directoryFailures));
  counter('cluster_link_duplicate_batches_total', 'Cluster: node link batches that came again after they were delivered (failover or resend), dropped', c((s) => s.linkDuplicateBatches));
  counter('cluster_link_gap_batches_total', 'Cluster: node link batches after a missing one (lost by NATS), dropped and asked for again', c((s) => s.linkGaps));
  counter('cluster_link_resent_batches_total', 'Cluster: node link batches sent again because a peer asked or NATS reconnected', c((s) => s.linkResentBatches));
  new Gauge({
    name: METRIC_PREFIX + 'cluster_data_link_connections',
    help: 'Cluster: TCP data link connections now, outbound (to peers) and inbound (authenticated, from peers)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const s = cluster();
      this.labels('outbound').set(s === null ? 0 : s.dataLinkOutbound);
      this.labels('inbound').set(s === null ? 0 : s.dataLinkInbound);
    },
  });
  counter('cluster_data_link_dials_total', 'Cluster: dials of a peer data port started', c((s) => s.dataLinkDials));
  counter('cluster_data_link_dial_failures_total', 'Cluster: dials of a peer data port that failed (batches stay on NATS)', c((s) => s.dataLinkDialFailures));
  counter('cluster_data_link_failovers_total', 'Cluster: data connections in use that were lost; their unacknowledged batches went again over NATS', c((s) => s.dataLinkFailovers));
  counter('cluster_data_link_retransmitted_batches_total', 'Cluster: batches sent again over NATS after a data connection was lost', c((s) => s.dataLinkRetransmitted));
  counter('cluster_data_link_bytes_sent_total', 'Cluster: bytes sent on data connections', c((s) => s.dataLinkBytesSent));
  counter('cluster_data_link_bytes_received_total', 'Cluster: bytes received on data connections', c((s) => s.dataLinkBytesReceived));
  counter('cluster_data_link_refused_total', 'Cluster: incoming data connections refused at or before the hello', c((s) => s.dataLinkRefused));
  counter('cluster_data_link_bad_messages_total', 'Cluster: authenticated data connections dropped for a bad message', c((s) => s.dataLinkBadMessages));
  new Counter({
    name: METRIC_PREFIX + 'worker_handoffs_total',
    help: 'relay --workers: connections moved to a sibling worker (moved), taken from one (adopted), handoffs refused (kept here) or unanswered (timeout, closed here)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const h = workerHandoffStats();
      this.labels('moved').inc(h.movedOut);
      this.labels('adopted').inc(h.adopted);
      this.labels('refused').inc(h.refused);
      this.labels('timeout').inc(h.timedOut);
    },
  });
  new Counter({
    name: METRIC_PREFIX + 'disconnects_total',
    help: 'Connections closed, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of Object.values(DisconnectReason)) this.labels(reason).inc(stats.disconnects[reason]);
    },
  });
  return registry;
}

/**
 * Serve `registry` at `/metrics` (anything else: 404).
 * @returns the listening server and its port.
 */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err) + '\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}
