/**
 * The node link's public shapes (docs/cluster.md §4): its options, counters and events. Apart so
 * the channel (link-channel.ts), the receive path (link-receive.ts) and NodeLink share them
 * without importing each other.
 */
import type { EnvelopeError } from './envelope.js';
import type { NodeRef } from './node-id.js';

export interface NodeLinkOptions {
  /** Subject prefix (the cluster name). */
  cluster: string;
  /** `LINK_MAX_BATCH_BYTES`. */
  maxBatchBytes: number;
  /** `LINK_WINDOW_BYTES`. */
  windowBytes: number;
  /** `LINK_HIGH_WATER_BYTES`. */
  highWaterBytes: number;
  /** `LINK_LOW_WATER_BYTES`. */
  lowWaterBytes: number;
  /** `LINK_MAX_BUFFERED_BYTES`. */
  maxBufferedBytes: number;
  /** `LINK_STALL_TIMEOUT_MS`; 0 = never. */
  stallTimeoutMs: number;
  /** `LINK_RESEND_MS`. */
  resendMs: number;
}

export interface NodeLinkStats {
  /** Batches with records sent (over NATS or a data connection; retransmissions not counted). */
  batchesSent: number;
  /** Ack-only batches sent. */
  acksSent: number;
  recordsSent: number;
  /** Batch bytes sent, headers included, over either transport (retransmissions not counted). */
  bytesSent: number;
  batchesReceived: number;
  bytesReceived: number;
  /** Batches refused: bad header or a record that does not decode (the records before it were delivered). */
  badBatches: number;
  /** Batches for an earlier incarnation of this node, or from an earlier one of the sender. */
  staleBatches: number;
  /**
   * Batches that arrived after a missing one (NATS lost it across a reconnect): dropped, and the
   * missing one and those after it asked for again (`resendRequests`); not a failure.
   */
  gaps: number;
  /** Requests sent to a sender for its unacknowledged batches again: after a gap, or after this node's NATS reconnect. */
  resendRequests: number;
  /** Batches sent again because the peer asked (after a gap or its reconnect) or this node reconnected to NATS. */
  resentBatches: number;
  /** Batches already delivered that came again (sent again over NATS after a data connection was lost); dropped. */
  duplicateBatches: number;
  overflows: number;
  stalls: number;
  /** Publishes the NATS client refused (connection closed). */
  publishErrors: number;
  /** Handler exceptions caught (a relay bug; the link goes on). */
  handlerErrors: number;
}

export interface NodeLinkEvents {
  /** The bytes queued toward `peer` are back at the low-water mark: resume the paused sources. */
  drain: [peer: NodeRef];
  /** A record toward `peer` was refused at `maxBufferedBytes`; the channel is failed. */
  overflow: [peer: NodeRef];
  /** `peer` acknowledged nothing for `stallTimeoutMs` with bytes in flight; the channel is failed. */
  stalled: [peer: NodeRef];
  /**
   * `lost` batches from `peer` are missing (lost by NATS across a reconnect): asked for again,
   * the link goes on (emitted once per request, at most every `resendMs` for one batch).
   */
  gap: [peer: NodeRef, lost: number];
  /** A batch that did not decode; `from` is the claimed sender ('' when the header is bad). */
  'bad-batch': [from: string, error: EnvelopeError | 'header'];
  /** The handler threw while a batch was delivered (the rest of that batch is dropped). */
  'handler-error': [error: Error];
}
