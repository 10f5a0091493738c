/**
 * Defaults of the relay cluster (issue 18, docs/cluster.md). Every one is a `ClusterOptions`
 * field of the same meaning (camelCase, no unit suffix: `peerTimeoutMs`, `linkHighWaterBytes`...).
 */

/**
 * Heartbeat interval (ms), default 500: each node publishes one small message this often on
 * `<prefix>.hb`. Four heartbeats fit in `PEER_TIMEOUT_MS`, so one or two lost or late ones (a GC
 * pause, a NATS hiccup) do not kill a healthy node. Must be below `peerTimeoutMs` (RangeError).
 */
export const HEARTBEAT_MS = 500;

/**
 * Peer timeout (ms), default 2000: a peer whose heartbeats stop for this long is declared dead
 * (`peer-down`, reason `timeout`); its joints and users are then cleaned up by the survivors. The
 * issue bounds detection at 3 s: 2000 + `MEMBERSHIP_CHECK_MS` + a loopback hop is ~2.1 s.
 * Lower finds crashes sooner but declares a merely paused process dead.
 */
export const PEER_TIMEOUT_MS = 2000;

/**
 * How often the peer table is checked for silent peers (ms), default 100: the resolution of
 * `PEER_TIMEOUT_MS`. A sweep over a few hundred peers costs microseconds.
 */
export const MEMBERSHIP_CHECK_MS = 100;

/**
 * Peers tracked per node (nodes), default 1024: heartbeats of further node ids are ignored and
 * counted (`stats.peersRefused`), so a flood of forged node ids cannot grow the table.
 */
export const MAX_PEERS = 1024;

/**
 * Node id length (bytes), default and maximum 64. Node ids travel in subjects and in every batch
 * header, so they are `[A-Za-z0-9_-]`, 1..64 characters (TypeError otherwise).
 */
export const MAX_NODE_ID_BYTES = 64;

/**
 * NATS grace period (ms), default 1500: how long a node keeps its cross-node joints after losing
 * its NATS connection. Past it the node is `isolated`: the relay closes every cross-node joint and
 * user with reason 1 (same-node traffic goes on) and the node rejoins later as a new incarnation.
 * Must be below `peerTimeoutMs` (RangeError), so a node gives up its remote users before its
 * peers declare it dead and free its joint ids.
 */
export const NATS_GRACE_MS = 1500;

/**
 * Wait between reconnect attempts to NATS (ms), default 250: a restarted nats-server is found
 * within about this long. The client retries without end; the grace period decides what is lost.
 */
export const NATS_RECONNECT_WAIT_MS = 250;

/**
 * Timeout of one directory operation on the KV bucket (ms), default 2000: a claim, lookup or
 * release not answered in time fails with `unavailable` (the relay answers the create with an
 * error) instead of holding the command forever.
 */
export const DIRECTORY_TIMEOUT_MS = 2000;

/**
 * Attempts at opening the directory's KV bucket (attempts), 3. Nodes that start together each
 * create the bucket when they find none, and JetStream may refuse all but the first create
 * ("subjects overlap with an existing stream", or the name in use) while that one is applied;
 * the next attempt finds the bucket and opens it. Past this the node fails to join.
 */
export const BUCKET_OPEN_ATTEMPTS = 3;

/** Wait before the next attempt at opening the bucket (ms, times the attempt number), 100. */
export const BUCKET_RETRY_MS = 100;

/**
 * Largest batch of records in one NATS message (bytes), default 64 KiB: a batch is published once
 * per event-loop tick or as soon as it reaches this size. NATS's own default `max_payload` is
 * 1 MiB; 64 KiB keeps a batch within one loopback/LAN write while amortising the per-message
 * cost over hundreds of small frames. A record larger than this gets a batch of its own.
 */
export const LINK_MAX_BATCH_BYTES = 64 * 1024;

/**
 * Bytes in flight per destination node (bytes), default 1 MiB: sent but not yet acknowledged by
 * the receiver, over NATS or the data connection (whose socket backlog they include). Batches
 * past it wait in the sender's buffer, so a receiver that stops consuming never has more than
 * this parked in NATS for one sender (NATS would otherwise drop it as a slow consumer). The
 * sender keeps these batches until acknowledged, to send them again over NATS if the data
 * connection carrying them is lost.
 */
export const LINK_WINDOW_BYTES = 1024 * 1024;

/**
 * Backpressure high-water mark per destination node (bytes), default 2 MiB: once the bytes
 * queued for a node (unsent + in flight) pass it, every send toward it returns false; the relay
 * then pauses the sources that fed it, as for a slow connection, until `drain`.
 */
export const LINK_HIGH_WATER_BYTES = 2 * 1024 * 1024;

/**
 * Backpressure low-water mark per destination node (bytes), default 512 KiB: `drain` fires once
 * the queued bytes of a congested destination are back at or below it.
 */
export const LINK_LOW_WATER_BYTES = 512 * 1024;

/**
 * Hard cap of the bytes queued per destination node (bytes), default 16 MiB, as the relay's
 * `MAX_OUTBOUND_BYTES` for a connection. A record that would pass it is refused and the link to
 * that node is `overflow`ed: the relay ends the cross-node joints with that node (reason 1),
 * the remote node being the slow reader. Memory per destination never exceeds it.
 */
export const LINK_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * Stall timeout per destination node (ms), default 10 s: bytes in flight and no acknowledgement
 * for this long means the remote node stopped consuming (or lost our batches); the link is
 * `stalled` and the relay treats it as `overflow`. 0 = never.
 */
export const LINK_STALL_TIMEOUT_MS = 10_000;

/**
 * Least time between two requests for the same missing batch (ms), default 200. A batch lost
 * by NATS (published while the receiving node had not resubscribed after a reconnect) shows as
 * a gap at the next batch: the receiver drops the batches after the gap and asks the sender to
 * send its unacknowledged batches again from the missing one (the sender keeps them until they
 * are acknowledged), instead of failing the link. While the resent batches are on their way the
 * receiver sees more batches after the gap; it asks again for the same one only after this
 * long, so one loss costs about one window resent, not one per batch. Past
 * `LINK_STALL_TIMEOUT_MS` without progress the link fails as `stalled`.
 */
export const LINK_RESEND_MS = 200;

/**
 * Data bytes in one record of the link (bytes), maximum 65535: a record's data length is a u16. A joint
 * frame carries at most 32767 bytes (joint.md §2.5), so one record always holds one frame.
 */
export const MAX_RECORD_DATA_BYTES = 0xffff;

/** Subject prefix and KV bucket name of a cluster, default `gamewire`: several clusters may share one NATS. */
export const DEFAULT_CLUSTER_NAME = 'gamewire';

/**
 * Which transport carries the node link's batches, default `'tcp'`: a direct TCP connection from
 * each node to each peer it sends to (docs/cluster.md §4a), opened lazily, with NATS as the
 * fallback while it is not up. `'nats'`: every batch over NATS, as before the data link existed.
 * At 1 KiB frames NATS bytes are the ceiling of the cross-node path (§11); the direct connection
 * removes the nats-server hop from the data path.
 */
export const DEFAULT_DATA_LINK = 'tcp';

/**
 * Port of a node's data listener, default 0 (the OS picks one; peers learn it over NATS). Set it
 * when a firewall must know the port.
 */
export const DATA_PORT = 0;

/**
 * Time a dial of a peer's data port may take (ms), default 2000: the address request over NATS,
 * the TCP connect and the peer's answer to the hello. Past it the dial is abandoned and the link
 * stays on NATS until `DATA_RETRY_MS` has passed.
 */
export const DATA_CONNECT_TIMEOUT_MS = 2000;

/**
 * Time an incoming data connection has to present a valid hello (ms), default 2000. Past it the
 * connection is dropped and counted (`dataLink.refused`), so idle connections cannot pile up.
 */
export const DATA_HELLO_TIMEOUT_MS = 2000;

/**
 * Wait after a failed dial or a lost data connection before the next dial of that peer (ms),
 * default 1000. Meanwhile the batches go over NATS; a peer whose data port cannot be reached
 * costs one NATS request and one connect attempt per interval.
 */
export const DATA_RETRY_MS = 1000;

/**
 * Incoming data connections that have not yet presented a valid hello (connections), default 64.
 * Further ones are closed at once and counted (`dataLink.refused`): a flood of connections to the
 * data port holds at most this many sockets and 64 × 102 bytes of hello buffers.
 */
export const DATA_MAX_PENDING = 64;

/**
 * Largest message on a data connection (bytes), 2 MiB: one batch with its 4-byte length. The
 * largest batch a node can build is `linkMaxBatchBytes` (at most 1 MiB - 1 KiB) plus its header
 * and one record (65,544 bytes). A length past it drops the connection (`dataLink.badMessages`)
 * before anything is buffered. Fixed by the protocol, not an option.
 */
export const DATA_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
