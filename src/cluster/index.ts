/**
 * The relay cluster's building blocks (issue 18, docs/cluster.md): membership over NATS
 * heartbeats, the joint directory in a JetStream KV bucket, the batched node link and its
 * envelope, its TCP data link, and NATS outage detection, wired together by `Cluster`.
 *
 * ```ts
 * import { Cluster } from './cluster/index.js';
 * const cluster = await Cluster.join({ servers: 'nats://127.0.0.1:4222', nodeId: 'a' }, handler);
 * if ((await cluster.directory.claim(id)) === 'claimed') { ... }
 * await cluster.close();
 * ```
 */
export { Cluster, resolveClusterOptions, type ClusterOptions, type ClusterEvents, type ResolvedClusterOptions } from './cluster.js';
export { DataLink, DataConn, decodeAddress, localAddressToward, type DataLinkOptions, type DataLinkStats } from './data-link.js';
export { JointDirectory, directoryKey, jointIdOfKey, type ClaimResult, type DirectoryOptions, type DirectoryStats } from './directory.js';
export {
  decodeRecords,
  ENTER_AT_MAX,
  EnvelopeError,
  ENVELOPE_VERSION,
  BATCH_HEAD_BYTES,
  NO_EXCLUDE,
  RecordBytes,
  RecordType,
  type LinkHandler,
  type NodeRefLike,
} from './envelope.js';
export { Membership, decodeHeartbeat, type MembershipOptions, type MembershipStats, type PeerDownReason } from './membership.js';
export { NatsHealth, type NatsState, type NatsHealthStats } from './nats-health.js';
export { checkNodeId, generateNodeId, nextEpoch, type NodeRef } from './node-id.js';
export { LinkChannel, NodeLink, type NodeLinkOptions, type NodeLinkStats } from './node-link.js';
export * from './limits.js';
