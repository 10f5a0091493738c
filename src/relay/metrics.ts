/**
 * The Prometheus endpoint (`--metrics-port`): a registry of its own per relay (so several relays
 * in one process do not collide), filled from `RelayStats` at scrape time by `collect()`.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { DisconnectReason, type RelayClusterStats, type RelayStats } from './stats.js';

/** Metric names, all prefixed `gamewire_relay_`. */
export const METRIC_PREFIX = 'gamewire_relay_';

/**
 * Build the registry over `stats`; `joints` and `users` are read from the relay state.
 * @param cluster the cluster figures of a cluster node, null otherwise (the cluster metrics read 0).
 */
export function createRelayRegistry(
  stats: RelayStats,
  counts: () => { joints: number; users: number; backlogBytes: number; pendingConnections: number; pendingUpgrades: number },
  cluster: () => RelayClusterStats | null = () => null,
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
  counter('joints_refused_total', 'Creates refused by the relay-wide or per-IP joint cap', () => stats.jointsRefused);
  counter('bytes_in_total', 'Bytes received from peers', () => stats.bytesIn);
  counter('bytes_out_total', 'Bytes sent to peers', () => stats.bytesOut);
  counter('frames_in_total', 'Data frames and commands received', () => stats.framesIn);
  counter('frames_out_total', 'Data frames and control messages sent', () => stats.framesOut);
  counter('drops_total', 'Data frame pieces dropped: routing did not resolve', () => stats.drops);
  counter('throttled_total', 'Connections paused for exceeding the inbound rate', () => stats.throttled);
  counter('backpressured_total', 'Senders paused because a peer they feed passed the outbound high-water mark', () => stats.backpressured);
  gauge('backpressured', 'Senders paused by backpressure now', () => stats.backpressuredNow);
  const c = (read: (s: RelayClusterStats) => number) => () => {
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
  counter('cluster_link_batches_sent_total', 'Cluster: NATS messages published with records', c((s) => s.linkBatchesSent));
  counter('cluster_link_bytes_sent_total', 'Cluster: bytes published on the node link', c((s) => s.linkBytesSent));
  counter('cluster_link_bytes_received_total', 'Cluster: bytes received on the node link', c((s) => s.linkBytesReceived));
  counter('cluster_link_failures_total', 'Cluster: node links failed (overflow, stalled, gap)', c((s) => s.linkFailures));
  counter('cluster_link_paused_total', 'Cluster: connections paused because the node link they fed was congested', c((s) => s.linkPauses));
  counter('cluster_joint_paused_total', 'Cluster: joints whose remote users were paused (PAUSE_JOINT) because their owner here was congested', c((s) => s.jointPauses));
  counter('cluster_peers_down_total', 'Cluster: peer incarnations ended (died, left, replaced, isolated)', c((s) => s.peersDown));
  counter('cluster_directory_claims_total', 'Cluster: joint id claims', c((s) => s.directoryClaims));
  counter('cluster_directory_claims_taken_total', 'Cluster: claims refused, the id held elsewhere', c((s) => s.directoryClaimsTaken));
  counter('cluster_directory_releases_total', 'Cluster: joint ids released', c((s) => s.directoryReleases));
  counter('cluster_directory_lookups_total', 'Cluster: directory lookups', c((s) => s.directoryLookups));
  counter('cluster_directory_failures_total', 'Cluster: directory operations failed or unanswered', c((s) => s.directoryFailures));
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
