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
  /** Batches missing in a sender's sequence (lost across a NATS reconnect). */
  gaps: number;
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
  /** `lost` batches from `peer` never arrived (lost across a NATS reconnect). */
  gap: [peer: NodeRef, lost: number];
  /** A batch that did not decode; `from` is the claimed sender ('' when the header is bad). */
  'bad-batch': [from: string, error: EnvelopeError | 'header'];
  /** The handler threw while a batch was delivered (the rest of that batch is dropped). */
  'handler-error': [error: Error];
}
