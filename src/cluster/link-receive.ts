/**
 * The receive side of the node link (docs/cluster.md §4): a NATS message on this node's subject is
 * hostile until its header checks out (version, sender id, incarnations), then its acks go to the
 * channel toward the sender and its records to the LinkHandler, in the sender's sequence. A
 * paused sender's batches are held unacknowledged, so its own window stops it.
 */
import { BATCH_HEAD_BYTES, decodeRecords, ENVELOPE_VERSION, EnvelopeError, FLAG_ACK, FLAG_RECORDS, FLAG_RESEND, FLAG_RESTART, getU32 } from './envelope.js';
import type { LinkChannel } from './link-channel.js';
import type { NodeLink } from './node-link.js';

const NODE_ID_CHAR = /^[A-Za-z0-9_-]+$/;

/** One batch from NATS (this node's subject) or from a data connection: hostile until its header checks out. */
export function receiveBatch(link: NodeLink, data: Uint8Array): void {
  link.stats.bytesReceived += data.length;
  if (data.length < BATCH_HEAD_BYTES + 1 || data[0] !== ENVELOPE_VERSION) return badHeader(link);
  const idLen = data[26]!;
  const head = BATCH_HEAD_BYTES + idLen;
  if (idLen === 0 || data.length < head) return badHeader(link);
  const flags = data[1]!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const srcEpoch = view.getFloat64(2, true);
  const dstEpoch = view.getFloat64(10, true);
  if (!Number.isSafeInteger(srcEpoch) || srcEpoch <= 0) return badHeader(link);
  const srcId = Buffer.from(data.buffer, data.byteOffset + BATCH_HEAD_BYTES, idLen).toString('latin1');
  if (!NODE_ID_CHAR.test(srcId) || srcId === link.self.nodeId) return badHeader(link);
  if (dstEpoch !== link.self.epoch) {
    link.stats.staleBatches++;
    return;
  }
  let channel = link.channels.get(srcId);
  if (channel === undefined || channel.peer.epoch < srcEpoch) channel = link.channel({ nodeId: srcId, epoch: srcEpoch });
  else if (channel.peer.epoch > srcEpoch || channel.failed) {
    link.stats.staleBatches++;
    return;
  }
  if ((flags & FLAG_ACK) !== 0) channel.onAck(getU32(data, 22), Date.now());
  if ((flags & FLAG_RECORDS) === 0) {
    if ((flags & FLAG_RESEND) !== 0) channel.resendFrom(getU32(data, 18), Date.now());
    return;
  }
  link.stats.batchesReceived++;
  const seq = getU32(data, 18);
  if ((flags & FLAG_RESTART) !== 0) {
    // The sender dropped its channel to us (a link failure) and goes on from `from`: what it
    // numbered before that is not coming. A resent copy once we are past `from` changes nothing.
    const from = getU32(data, 22);
    if (channel.recvExpected === -1 || ((from - channel.recvExpected) >>> 0) <= 0x7fffffff) channel.recvExpected = from;
  }
  if (channel.recvExpected !== -1 && seq !== channel.recvExpected) {
    // Behind the sequence: already delivered. A sender whose data connection broke sends its
    // unacknowledged batches again over NATS (docs/cluster.md §4a), some of which arrived.
    if (((channel.recvExpected - seq) >>> 0) <= 0x7fffffff) {
      link.stats.duplicateBatches++;
      return;
    }
    // Ahead: NATS lost the batch expected (published while this node had not resubscribed
    // after a reconnect). Delivering this one would break the order; the sender still holds
    // every unacknowledged batch, so ask for them again from the missing one.
    link.stats.gaps++;
    if (channel.askResend(Date.now())) link.emit('gap', channel.peer, (seq - channel.recvExpected) >>> 0);
    return;
  }
  channel.recvExpected = (seq + 1) >>> 0;
  if (channel.paused) {
    // A sender that respects its window never has more than that unacknowledged; one that
    // does not is cut off here rather than growing this node's memory.
    if (channel.heldBytes + data.length > 2 * link.options.windowBytes + link.options.maxBatchBytes) {
      link.failChannel(channel, 'overflow');
      return;
    }
    channel.held.push(Buffer.from(data));
    channel.heldBytes += data.length;
    return;
  }
  deliverBatch(link, channel, data, seq);
}

/**
 * Hand the records of one accepted batch to the handler and owe the sender an ack for it (sent
 * in the next header toward it, or ack-only at the end of the tick).
 */
export function deliverBatch(link: NodeLink, channel: LinkChannel, data: Uint8Array, seq: number): void {
  const idLen = data[26]!;
  let result: EnvelopeError;
  try {
    result = decodeRecords(channel.peer, data, BATCH_HEAD_BYTES + idLen, data.length, link.handler);
  } catch (error) {
    link.stats.handlerErrors++;
    link.emit('handler-error', error as Error);
    result = EnvelopeError.Ok;
  }
  if (result !== EnvelopeError.Ok) {
    link.stats.badBatches++;
    link.emit('bad-batch', channel.peer.nodeId, result);
  }
  channel.recvDelivered = seq;
  if (!channel.ackOwed) {
    channel.ackOwed = true;
    if (!channel.dirty) link.markDirty(channel);
  }
}

function badHeader(link: NodeLink): void {
  link.stats.badBatches++;
  link.emit('bad-batch', '', 'header');
}
