/**
 * Cluster: one relay node's membership of a cluster, the building blocks wired together
 * (docs/cluster.md). The relay (phase 2) calls `Cluster.join` with its record handler, keeps
 * `link.channel(peer)` per remote node, claims and releases ids through `directory`, and
 * reacts to the events below.
 */
import { EventEmitter } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError, GamewireTypeError } from '../core/errors.js';
import { DataLink, emptyDataLinkStats, type DataLinkStats } from './data-link.js';
import { JointDirectory } from './directory.js';
import type { LinkHandler } from './envelope.js';
import {
  DATA_CONNECT_TIMEOUT_MS,
  DATA_HELLO_TIMEOUT_MS,
  DATA_MAX_PENDING,
  DATA_PORT,
  DATA_RETRY_MS,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_DATA_LINK,
  DIRECTORY_TIMEOUT_MS,
  HEARTBEAT_MS,
  LINK_HIGH_WATER_BYTES,
  LINK_LOW_WATER_BYTES,
  LINK_MAX_BATCH_BYTES,
  LINK_MAX_BUFFERED_BYTES,
  LINK_RESEND_MS,
  LINK_STALL_TIMEOUT_MS,
  LINK_WINDOW_BYTES,
  MAX_PEERS,
  MEMBERSHIP_CHECK_MS,
  NATS_GRACE_MS,
  NATS_RECONNECT_WAIT_MS,
  PEER_TIMEOUT_MS,
} from './limits.js';
import { Membership, type PeerDownReason } from './membership.js';
import { NatsHealth } from './nats-health.js';
import { checkNodeId, generateNodeId, nextEpoch, type NodeRef } from './node-id.js';
import { NodeLink } from './node-link.js';

/** `Relay.listen({ cluster })` and `gamewire relay --cluster`: how a node joins. */
export interface ClusterOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. Required. */
  servers: string | string[];
  /** This node's id (`--node-id`), default generated (host-pid-random). `[A-Za-z0-9_-]`, 1..64. */
  nodeId?: string;
  /** Subject prefix and KV bucket, default `gamewire` (`DEFAULT_CLUSTER_NAME`). */
  name?: string;
  /** `HEARTBEAT_MS`. */
  heartbeatMs?: number;
  /** `PEER_TIMEOUT_MS`. */
  peerTimeoutMs?: number;
  /** `MEMBERSHIP_CHECK_MS`. */
  membershipCheckMs?: number;
  /** `MAX_PEERS`. */
  maxPeers?: number;
  /** `NATS_GRACE_MS`. */
  natsGraceMs?: number;
  /** `NATS_RECONNECT_WAIT_MS`. */
  reconnectWaitMs?: number;
  /** `DIRECTORY_TIMEOUT_MS`. */
  directoryTimeoutMs?: number;
  /** `LINK_MAX_BATCH_BYTES`. */
  linkMaxBatchBytes?: number;
  /** `LINK_WINDOW_BYTES`. */
  linkWindowBytes?: number;
  /** `LINK_HIGH_WATER_BYTES`. */
  linkHighWaterBytes?: number;
  /** `LINK_LOW_WATER_BYTES`. */
  linkLowWaterBytes?: number;
  /** `LINK_MAX_BUFFERED_BYTES`. */
  linkMaxBufferedBytes?: number;
  /** `LINK_STALL_TIMEOUT_MS`; 0 = never. */
  linkStallTimeoutMs?: number;
  /** `LINK_RESEND_MS`. */
  linkResendMs?: number;
  /** Transport of the node link's batches, `'tcp'` (default, `DEFAULT_DATA_LINK`) or `'nats'` (docs/cluster.md §4a). */
  dataLink?: 'tcp' | 'nats';
  /**
   * Address of the data listener, advertised to the peers; default: the local address this node
   * uses to reach the first NATS server. `0.0.0.0` / `::` listen on every interface and advertise
   * that default address.
   */
  dataHost?: string;
  /** `DATA_PORT`; 0 = chosen by the OS. */
  dataPort?: number;
  /** `DATA_CONNECT_TIMEOUT_MS`. */
  dataConnectTimeoutMs?: number;
  /** `DATA_HELLO_TIMEOUT_MS`. */
  dataHelloTimeoutMs?: number;
  /** `DATA_RETRY_MS`. */
  dataRetryMs?: number;
  /** `DATA_MAX_PENDING`. */
  dataMaxPending?: number;
}

export type ResolvedClusterOptions = Required<Omit<ClusterOptions, 'servers'>> & { servers: string[] };

const DEFAULTS: Omit<ResolvedClusterOptions, 'servers' | 'nodeId'> = {
  name: DEFAULT_CLUSTER_NAME,
  heartbeatMs: HEARTBEAT_MS,
  peerTimeoutMs: PEER_TIMEOUT_MS,
  membershipCheckMs: MEMBERSHIP_CHECK_MS,
  maxPeers: MAX_PEERS,
  natsGraceMs: NATS_GRACE_MS,
  reconnectWaitMs: NATS_RECONNECT_WAIT_MS,
  directoryTimeoutMs: DIRECTORY_TIMEOUT_MS,
  linkMaxBatchBytes: LINK_MAX_BATCH_BYTES,
  linkWindowBytes: LINK_WINDOW_BYTES,
  linkHighWaterBytes: LINK_HIGH_WATER_BYTES,
  linkLowWaterBytes: LINK_LOW_WATER_BYTES,
  linkMaxBufferedBytes: LINK_MAX_BUFFERED_BYTES,
  linkStallTimeoutMs: LINK_STALL_TIMEOUT_MS,
  linkResendMs: LINK_RESEND_MS,
  dataLink: DEFAULT_DATA_LINK,
  dataHost: '',
  dataPort: DATA_PORT,
  dataConnectTimeoutMs: DATA_CONNECT_TIMEOUT_MS,
  dataHelloTimeoutMs: DATA_HELLO_TIMEOUT_MS,
  dataRetryMs: DATA_RETRY_MS,
  dataMaxPending: DATA_MAX_PENDING,
};

/** Inclusive bounds of each numeric option (the lower ones keep timers and buffers sane). */
const RANGES: Record<keyof typeof DEFAULTS & string, [number, number] | null> = {
  name: null,
  heartbeatMs: [10, 60_000],
  peerTimeoutMs: [20, 600_000],
  membershipCheckMs: [5, 60_000],
  maxPeers: [1, 1_000_000],
  natsGraceMs: [0, 600_000],
  reconnectWaitMs: [10, 60_000],
  directoryTimeoutMs: [10, 600_000],
  linkMaxBatchBytes: [256, 1024 * 1024 - 1024],
  linkWindowBytes: [1024, 1024 * 1024 * 1024],
  linkHighWaterBytes: [1, 1024 * 1024 * 1024],
  linkLowWaterBytes: [0, 1024 * 1024 * 1024],
  linkMaxBufferedBytes: [1024, 1024 * 1024 * 1024],
  linkStallTimeoutMs: [0, 3_600_000],
  linkResendMs: [1, 600_000],
  dataLink: null,
  dataHost: null,
  dataPort: [0, 65_535],
  dataConnectTimeoutMs: [10, 600_000],
  dataHelloTimeoutMs: [10, 600_000],
  dataRetryMs: [10, 600_000],
  dataMaxPending: [1, 1_000_000],
};

/**
 * Fill in the defaults and check every option.
 * @throws {TypeError} on an unknown option, a missing `servers`, a bad `nodeId` or `name`.
 * @throws {RangeError} on a number out of its range, or an inconsistent pair (heartbeat not
 *   below the peer timeout, grace not below it, low water above high water above the cap).
 */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) throw new GamewireTypeError(GamewireErrorCode.BadOption, 'cluster options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'servers' && key !== 'nodeId' && !(key in DEFAULTS)) throw new GamewireTypeError(GamewireErrorCode.BadOption, `unknown cluster option ${JSON.stringify(key)}`);
  }
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new GamewireTypeError(GamewireErrorCode.BadOption, 'servers must be a NATS URL or a non-empty array of them');
  }
  const resolved = { ...DEFAULTS, servers: [...servers], nodeId: options.nodeId === undefined ? generateNodeId() : checkNodeId(options.nodeId) } as ResolvedClusterOptions;
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const range = RANGES[key];
    if (range === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw new GamewireRangeError(GamewireErrorCode.BadOption, `${key} must be an integer in ${range[0]}..${range[1]}, got ${String(value)}`);
    }
    (resolved as unknown as Record<string, number>)[key] = value;
  }
  if (options.name !== undefined) resolved.name = checkNodeId(options.name, 'name');
  if (options.dataLink !== undefined) {
    if (options.dataLink !== 'tcp' && options.dataLink !== 'nats') throw new GamewireTypeError(GamewireErrorCode.BadOption, `dataLink must be 'tcp' or 'nats', got ${JSON.stringify(options.dataLink)}`);
    resolved.dataLink = options.dataLink;
  }
  if (options.dataHost !== undefined) {
    if (typeof options.dataHost !== 'string' || options.dataHost.length === 0 || options.dataHost.length > 255) throw new GamewireTypeError(GamewireErrorCode.BadOption, `dataHost must be a host name or address of 1..255 characters, got ${JSON.stringify(options.dataHost)}`);
    resolved.dataHost = options.dataHost;
  }
  if (resolved.heartbeatMs >= resolved.peerTimeoutMs) throw new GamewireRangeError(GamewireErrorCode.BadOption, `heartbeatMs (${resolved.heartbeatMs}) must be below peerTimeoutMs (${resolved.peerTimeoutMs})`);
  if (resolved.natsGraceMs >= resolved.peerTimeoutMs) throw new GamewireRangeError(GamewireErrorCode.BadOption, `natsGraceMs (${resolved.natsGraceMs}) must be below peerTimeoutMs (${resolved.peerTimeoutMs})`);
  if (resolved.linkLowWaterBytes > resolved.linkHighWaterBytes || resolved.linkHighWaterBytes > resolved.linkMaxBufferedBytes) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, 'linkLowWaterBytes <= linkHighWaterBytes <= linkMaxBufferedBytes must hold');
  }
  return resolved;
}

export interface ClusterEvents {
  /** A node (incarnation) joined. */
  'peer-up': [peer: NodeRef];
  /**
   * A node incarnation is gone (`timeout`: silent past peerTimeoutMs, `left`: said goodbye,
   * `replaced`: restarted, `isolated`: this node lost NATS). The relay ends every cross-node joint
   * with it: its joints' users here get inDisconnect reason 1, its users in joints here make
   * the owners get userDisconnect reason 1. Once per incarnation.
   */
  'peer-down': [peer: NodeRef, reason: PeerDownReason];
  /**
   * The link to `peer` failed (`overflow`: past linkMaxBufferedBytes; `stalled`: no ack for
   * linkStallTimeoutMs): handle as `peer-down`. A gap (a batch lost by NATS) is no failure: the
   * missing batches are asked for again.
   */
  'link-failed': [peer: NodeRef, why: 'overflow' | 'stalled'];
  /** The bytes queued toward `peer` drained: resume the sources paused for it. */
  drain: [peer: NodeRef];
  /** NATS lost: no cross-node traffic goes out now (it queues, bounded); creates of new ids fail. */
  'nats-down': [cause: string];
  /** NATS lost for natsGraceMs: `peer-down` ('isolated') was emitted for every peer just before. */
  isolated: [];
  /**
   * NATS is back within the grace period. The link sent its unacknowledged batches again and
   * asked each peer to do the same, so batches NATS lost around the outage arrive after all.
   */
  'nats-up': [downMs: number];
  /** NATS is back after an isolation: this node is the incarnation `self` now; `lost` ids are someone else's (close those joints). */
  rejoined: [self: NodeRef, lost: Uint8Array[]];
  /** An id this node holds was freed or taken by another node (see JointDirectory 'lost'): close that joint, its users get reason 1. */
  lost: [id: Uint8Array];
  /** Another process runs with this node's id. */
  conflict: [epoch: number];
  /** A background directory operation failed (logged by the relay; the cluster goes on). */
  warning: [error: Error];
}

/** A relay node's membership of the cluster; see `Cluster.join`. */
export class Cluster extends EventEmitter<ClusterEvents> {
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private selfRef: NodeRef;

  private constructor(
    /** The node's NATS connection. */
    readonly nc: NatsConnection,
    /** The resolved options. */
    readonly options: Readonly<ResolvedClusterOptions>,
    /** Who is alive. */
    readonly membership: Membership,
    /** Which node owns which joint id. */
    readonly directory: JointDirectory,
    /** Records to and from the other nodes. */
    readonly link: NodeLink,
    /** The node's NATS connection state. */
    readonly health: NatsHealth,
  ) {
    super();
    this.selfRef = membership.self;
  }

  /**
   * Connect to NATS, open the directory, start membership, the link and the outage watch.
   * @param options see ClusterOptions.
   * @param handler the relay's handler of incoming records.
   * @throws {TypeError|RangeError} on bad options; rejects when NATS or its JetStream cannot be
   *   reached within `directoryTimeoutMs`.
   */
  static async join(options: ClusterOptions, handler: LinkHandler): Promise<Cluster> {
    const resolved = resolveClusterOptions(options);
    const self: NodeRef = Object.freeze({ nodeId: resolved.nodeId, epoch: nextEpoch() });
    const nc = await connect({
      servers: resolved.servers,
      name: `gamewire-${resolved.nodeId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: resolved.reconnectWaitMs,
      reconnectJitter: 0,
      // A partition (no TCP close) is found by pings: two missed at peerTimeoutMs / 2 each.
      pingInterval: Math.max(100, Math.floor(resolved.peerTimeoutMs / 2)),
      maxPingOut: 2,
      timeout: resolved.directoryTimeoutMs,
    });
    try {
      const membership = new Membership(nc, self, {
        cluster: resolved.name,
        heartbeatMs: resolved.heartbeatMs,
        peerTimeoutMs: resolved.peerTimeoutMs,
        checkMs: resolved.membershipCheckMs,
        maxPeers: resolved.maxPeers,
      });
      const directory = await JointDirectory.open(nc, self, {
        cluster: resolved.name,
        timeoutMs: resolved.directoryTimeoutMs,
        orphanAfterMs: resolved.peerTimeoutMs,
        isAlive: (nodeId, epoch) => membership.isAlive(nodeId, epoch),
      });
      const link = new NodeLink(nc, self, handler, {
        cluster: resolved.name,
        maxBatchBytes: resolved.linkMaxBatchBytes,
        windowBytes: resolved.linkWindowBytes,
        highWaterBytes: resolved.linkHighWaterBytes,
        lowWaterBytes: resolved.linkLowWaterBytes,
        maxBufferedBytes: resolved.linkMaxBufferedBytes,
        stallTimeoutMs: resolved.linkStallTimeoutMs,
        resendMs: resolved.linkResendMs,
      });
      if (resolved.dataLink === 'tcp') {
        const data = new DataLink(nc, link, {
          cluster: resolved.name,
          host: resolved.dataHost,
          port: resolved.dataPort,
          servers: resolved.servers,
          connectTimeoutMs: resolved.dataConnectTimeoutMs,
          helloTimeoutMs: resolved.dataHelloTimeoutMs,
          retryMs: resolved.dataRetryMs,
          maxPending: resolved.dataMaxPending,
          maxInbound: resolved.maxPeers,
        });
        await data.listen();
        link.data = data;
      }
      const health = new NatsHealth(nc, resolved.natsGraceMs);
      const cluster = new Cluster(nc, resolved, membership, directory, link, health);
      cluster.wire();
      link.start();
      membership.start();
      health.start();
      return cluster;
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** This node's current incarnation. */
  get self(): NodeRef {
    return this.selfRef;
  }

  /** A snapshot of the counters of every part (the relay's metrics read it). */
  stats(): {
    self: NodeRef;
    peers: number;
    nats: string;
    membership: Membership['stats'];
    directory: JointDirectory['stats'];
    link: NodeLink['stats'];
    /** The TCP data link's counters; all 0 with `dataLink: 'nats'`. */
    dataLink: DataLinkStats;
    health: NatsHealth['stats'];
  } {
    return {
      self: this.selfRef,
      peers: this.membership.peers().length,
      nats: this.health.state,
      membership: { ...this.membership.stats },
      directory: { ...this.directory.stats },
      link: { ...this.link.stats },
      dataLink: this.link.data !== null ? { ...this.link.data.stats } : emptyDataLinkStats(),
      health: { ...this.health.stats },
    };
  }

  /**
   * Leave: flush the link, say goodbye (peers free this node's remaining ids at once), close
   * the NATS connection. The relay deletes its joints first, so their ids are released.
   * @param abrupt true: close the NATS connection with no goodbye and no flush (what a crash looks like to the peers; tests use it).
   */
  async close(abrupt = false): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.health.stop();
    if (!abrupt) {
      this.link.flush();
      await this.link.data?.close();
      this.link.close();
      this.membership.stop();
      await this.directory.close();
      await this.nc.flush().catch(() => undefined);
      await this.nc.close().catch(() => undefined);
      return;
    }
    // No goodbye: the peers only learn it from the silence, as after kill -9.
    this.membership.stop(false);
    await this.link.data?.close(true);
    await this.directory.close();
    await this.nc.close().catch(() => undefined);
    this.link.close();
  }

  private wire(): void {
    const { membership, directory, link, health } = this;
    membership.on('peer-up', (peer) => this.emit('peer-up', peer));
    membership.on('peer-down', (peer, reason) => this.peerDown(peer, reason));
    membership.on('conflict', (epoch) => this.emit('conflict', epoch));
    directory.on('warning', (error) => this.emit('warning', error));
    directory.on('lost', (id) => this.emit('lost', id));
    link.on('drain', (peer) => this.emit('drain', peer));
    link.on('overflow', (peer) => this.emit('link-failed', peer, 'overflow'));
    link.on('stalled', (peer) => this.emit('link-failed', peer, 'stalled'));
    link.on('handler-error', (error) => this.emit('warning', error));
    health.on('down', (cause) => {
      membership.suspend();
      this.emit('nats-down', cause);
    });
    health.on('isolated', () => {
      for (const peer of membership.peers()) {
        link.drop(peer.nodeId);
        this.emit('peer-down', peer, 'isolated');
      }
      membership.forgetAll();
    });
    health.on('isolated', () => this.emit('isolated'));
    health.on('up', (downMs, wasIsolated) => void this.regained(downMs, wasIsolated));
    this.sweepTimer = setInterval(() => {
      if (health.state !== 'up' || this.closing) return;
      directory.sweep().catch((error: Error) => this.emit('warning', error));
    }, this.options.peerTimeoutMs);
    this.sweepTimer.unref();
  }

  private peerDown(peer: NodeRef, reason: PeerDownReason): void {
    this.link.drop(peer.nodeId, peer.epoch);
    this.emit('peer-down', peer, reason);
    // One survivor frees the dead node's ids at once: the one with the smallest id among the
    // live nodes. The others' periodic sweep is the backstop; conditional deletes make each key
    // freed once whoever does it.
    if (reason === 'isolated') return;
    let smallest = this.selfRef.nodeId;
    for (const other of this.membership.peers()) if (other.nodeId < smallest) smallest = other.nodeId;
    if (smallest === this.selfRef.nodeId) this.directory.freeNode(peer).catch((error: Error) => this.emit('warning', error));
  }

  private async regained(downMs: number, wasIsolated: boolean): Promise<void> {
    this.directory.resetOrphans();
    if (!wasIsolated) {
      this.membership.resume();
      this.link.natsBack();
      this.emit('nats-up', downMs);
      return;
    }
    const self: NodeRef = Object.freeze({ nodeId: this.selfRef.nodeId, epoch: nextEpoch() });
    this.selfRef = self;
    this.link.reincarnate(self);
    this.membership.reincarnate(self);
    this.membership.resume();
    let lost: Uint8Array[] = [];
    try {
      lost = await this.directory.reassert(self);
    } catch (error) {
      this.emit('warning', error as Error);
    }
    this.emit('rejoined', self, lost);
  }
}
