/**
 * The node link: records between relay nodes, batched per destination node (docs/cluster.md
 * §Node link). Records queued for one node during one event-loop tick go out as one NATS message
 * on `<cluster>.n.<nodeId>` at the end of the tick, or as soon as the batch reaches
 * `maxBatchBytes`. One NATS connection publishes in order and NATS delivers one publisher's
 * messages to a subscriber in order, so the records of one sender stay in order.
 *
 * Flow control is end to end: the receiver acknowledges the batches it delivered (in the header
 * of its own batches toward the sender, or in an ack-only batch once per tick), the sender keeps
 * at most `windowBytes` unacknowledged in NATS and the rest in its own buffer, whose size gives
 * the backpressure signal (`send` returns false past `highWaterBytes`, `drain` below
 * `lowWaterBytes`) and whose hard cap (`maxBufferedBytes`) ends the link (`overflow`).
 *
 * With a data link (data-link.ts, docs/cluster.md §4a) the same batches go over a direct TCP
 * connection to the peer once it is up; NATS carries them until then and after it fails.
 *
 * Files: link-channel.ts (records, batching and the window toward one node), link-receive.ts
 * (header checks, acks, delivery), link-types.ts (options, counters, events), data-link.ts (the
 * TCP transport); this one holds the channels, the end-of-tick flush, the stall check and
 * pause/resume.
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { FRAME_PREFIX_BYTES, type DataLink } from './data-link.js';
import { BATCH_HEAD_BYTES, ENVELOPE_VERSION, FLAG_ACK, FLAG_RECORDS, FLAG_RESTART, getU32, putU32, type LinkHandler } from './envelope.js';
import { MAX_PEERS } from './limits.js';
import { LinkChannel } from './link-channel.js';
import { deliverBatch, receiveBatch } from './link-receive.js';
import type { NodeLinkEvents, NodeLinkOptions, NodeLinkStats } from './link-types.js';
import type { NodeRef } from './node-id.js';

export { LinkChannel } from './link-channel.js';
export type { NodeLinkEvents, NodeLinkOptions, NodeLinkStats } from './link-types.js';

/**
 * The link of one node to all others. Create it with the node's NATS connection, its
 * incarnation and the handler of incoming records, then `start()`.
 */
export class NodeLink extends EventEmitter<NodeLinkEvents> {
  /** @internal */ readonly channels = new Map<string, LinkChannel>();
  /**
   * The next batch number of channels dropped while their peer incarnation may live on (a link
   * failure): a new channel to that incarnation goes on from it with FLAG_RESTART, so the peer,
   * which still holds the old sequence, neither takes its batches for duplicates nor waits for
   * the discarded ones. At most MAX_PEERS entries (the oldest go).
   */
  private readonly droppedAt = new Map<string, { epoch: number; seq: number }>();
  private dirtyList: LinkChannel[] = [];
  private flushScheduled = false;
  private sub: Subscription | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private selfRef: NodeRef;
  private selfId: Buffer;
  /** The data link (TCP transport), when the cluster uses one; set by `Cluster.join`. */
  data: DataLink | null = null;
  /** @internal header bytes of every batch this node sends (27 + its id length). */
  headBytes: number;
  readonly stats: NodeLinkStats = {
    batchesSent: 0,
    acksSent: 0,
    recordsSent: 0,
    bytesSent: 0,
    batchesReceived: 0,
    bytesReceived: 0,
    badBatches: 0,
    staleBatches: 0,
    gaps: 0,
    resendRequests: 0,
    resentBatches: 0,
    duplicateBatches: 0,
    overflows: 0,
    stalls: 0,
    publishErrors: 0,
    handlerErrors: 0,
  };

  /**
   * @param nc the node's NATS connection (not closed by the link).
   * @param self this node's incarnation.
   * @param handler receives the records of the other nodes.
   * @param options resolved link options (`resolveClusterOptions`).
   */
  constructor(
    private readonly nc: NatsConnection,
    self: NodeRef,
    /** @internal */ readonly handler: LinkHandler,
    /** @internal */ readonly options: Readonly<NodeLinkOptions>,
  ) {
    super();
    this.selfRef = self;
    this.selfId = Buffer.from(self.nodeId, 'latin1');
    this.headBytes = BATCH_HEAD_BYTES + this.selfId.length;
  }

  /** This node's incarnation. */
  get self(): NodeRef {
    return this.selfRef;
  }

  /** Subscribe to this node's subject and arm the stall check. */
  start(): void {
    if (this.sub !== null) return;
    this.sub = this.nc.subscribe(`${this.options.cluster}.n.${this.selfRef.nodeId}`, {
      callback: (_err, msg) => receiveBatch(this, msg.data),
    });
    const stall = this.options.stallTimeoutMs;
    if (stall > 0) {
      this.stallTimer = setInterval(() => this.checkStalls(Date.now()), Math.max(50, Math.min(1000, stall / 4)));
      this.stallTimer.unref();
    }
  }

  /**
   * The channel toward `peer` (created on first use). A channel for an older incarnation of the
   * same node is discarded and replaced; asking for an older incarnation than the one known
   * returns the known one.
   */
  channel(peer: NodeRef): LinkChannel {
    const known = this.channels.get(peer.nodeId);
    if (known !== undefined) {
      if (known.peer.epoch >= peer.epoch) return known;
      known.discard();
    }
    const channel = new LinkChannel(this, { nodeId: peer.nodeId, epoch: peer.epoch }, `${this.options.cluster}.n.${peer.nodeId}`);
    const dropped = this.droppedAt.get(peer.nodeId);
    if (dropped !== undefined) {
      this.droppedAt.delete(peer.nodeId);
      if (dropped.epoch === peer.epoch) channel.restartAt(dropped.seq);
    }
    this.channels.set(peer.nodeId, channel);
    return channel;
  }

  /**
   * Forget `nodeId` (it died, or the relay ended its cross-node joints): its queues are freed.
   * @param epoch when given, only a channel of that incarnation or an older one is dropped.
   */
  drop(nodeId: string, epoch = Infinity): void {
    const channel = this.channels.get(nodeId);
    this.data?.dropInbound(nodeId, epoch);
    if (channel === undefined || channel.peer.epoch > epoch) return;
    this.channels.delete(nodeId);
    channel.discard();
    this.droppedAt.delete(nodeId);
    if (this.droppedAt.size >= MAX_PEERS) this.droppedAt.delete(this.droppedAt.keys().next().value!);
    this.droppedAt.set(nodeId, { epoch: channel.peer.epoch, seq: channel.sequence });
  }

  /**
   * Stop delivering what `nodeId` sends (the receiver's last resort; the relay normally uses the
   * per-joint PAUSE_JOINT records). Its batches are held, unacknowledged, so the sender's window
   * fills and its sources are paused in turn; `resume` delivers them in order.
   */
  pause(nodeId: string): void {
    const channel = this.channels.get(nodeId);
    if (channel !== undefined) channel.paused = true;
  }

  /** See `pause`. */
  resume(nodeId: string): void {
    const channel = this.channels.get(nodeId);
    if (channel === undefined || !channel.paused) return;
    channel.paused = false;
    const held = channel.held;
    channel.held = [];
    channel.heldBytes = 0;
    for (const batch of held) {
      if (channel.failed || channel.paused) {
        if (channel.paused) {
          channel.held.push(batch);
          channel.heldBytes += batch.length;
        }
        continue;
      }
      deliverBatch(this, channel, batch, getU32(batch, 18));
    }
  }

  /** Become a new incarnation (after an isolation): every channel is forgotten. */
  reincarnate(self: NodeRef): void {
    if (self.nodeId !== this.selfRef.nodeId) throw new TypeError('reincarnate: nodeId must stay the same');
    this.selfRef = self;
    for (const channel of this.channels.values()) channel.discard();
    this.channels.clear();
    this.droppedAt.clear();
    this.dirtyList = [];
    this.data?.reincarnate();
  }

  /** Publish every batch being built now, instead of at the end of the tick. */
  flush(): void {
    this.flushScheduled = false;
    const list = this.dirtyList;
    this.dirtyList = [];
    for (const channel of list) {
      channel.dirty = false;
      if (channel.failed) continue;
      channel.seal();
      channel.flushAck();
    }
  }

  /**
   * Flush, unsubscribe, stop the timers and forget every channel. Their data connections are
   * destroyed: `Cluster.close` closes the data link first, gracefully.
   */
  close(): void {
    this.flush();
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    this.sub?.unsubscribe();
    this.sub = null;
    for (const channel of this.channels.values()) channel.discard();
    this.channels.clear();
  }

  /** @internal */
  markDirty(channel: LinkChannel): void {
    channel.dirty = true;
    this.dirtyList.push(channel);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** @internal Write the batch header of `channel` into `b` (also settles the ack it carries). */
  writeHeader(b: Buffer, channel: LinkChannel, flags: number, seq: number): void {
    // A restarted sequence's batches carry its first number where the ack goes; the ack then
    // goes ack-only at the end of the tick.
    const restart = (flags & FLAG_RECORDS) !== 0 && channel.restartFrom !== -1;
    if (restart) flags |= FLAG_RESTART;
    else if (channel.ackOwed) {
      flags |= FLAG_ACK;
      channel.ackOwed = false;
    }
    b[0] = ENVELOPE_VERSION;
    b[1] = flags;
    b.writeDoubleLE(this.selfRef.epoch, 2);
    b.writeDoubleLE(channel.peer.epoch, 10);
    putU32(b, 18, seq);
    putU32(b, 22, restart ? channel.restartFrom : (flags & FLAG_ACK) !== 0 ? channel.recvDelivered : 0);
    b[26] = this.selfId.length;
    this.selfId.copy(b, BATCH_HEAD_BYTES);
  }

  /**
   * @internal Send one framed batch of `channel` (4-byte length, then the batch): over its data
   * connection when it uses one, else over NATS, asking the data link for a connection.
   */
  send(channel: LinkChannel, framed: Buffer): boolean {
    this.stats.bytesSent += framed.length - FRAME_PREFIX_BYTES;
    const conn = channel.conn;
    if (conn !== null) {
      conn.write(framed);
      return true;
    }
    if (this.data !== null && channel.readyConn === null && !channel.dialing) this.data.want(channel);
    return this.publishRaw(channel.subject, framed.subarray(FRAME_PREFIX_BYTES));
  }

  /** @internal Send a batch again (a resend): over the channel's data connection when it uses one, else NATS. */
  resend(channel: LinkChannel, framed: Buffer): void {
    const conn = channel.conn;
    if (conn !== null) conn.write(framed);
    else this.publishRaw(channel.subject, framed.subarray(FRAME_PREFIX_BYTES));
  }

  /**
   * This node's NATS connection is back (within the grace period): batches published around the
   * outage may have been lost, at either end, before a node resubscribed. Every channel sends its
   * unacknowledged batches again and asks its peer to do the same; duplicates are dropped.
   * The two nodes reconnect in either order; whichever comes back last gets the other's batches.
   */
  natsBack(): void {
    const nowMs = Date.now();
    for (const channel of this.channels.values()) channel.natsBack(nowMs);
  }

  /** @internal Publish on NATS. */
  publishRaw(subject: string, bytes: Buffer): boolean {
    try {
      this.nc.publish(subject, bytes);
      return true;
    } catch {
      this.stats.publishErrors++;
      return false;
    }
  }

  /** @internal */
  failChannel(channel: LinkChannel, why: 'overflow' | 'stalled'): void {
    if (channel.failed) return;
    channel.discard();
    if (why === 'overflow') this.stats.overflows++;
    else this.stats.stalls++;
    this.emit(why, channel.peer);
  }

  private checkStalls(nowMs: number): void {
    const limit = this.options.stallTimeoutMs;
    for (const channel of this.channels.values()) {
      if (!channel.failed && channel.hasInflight() && nowMs - channel.lastAckProgressMs > limit) this.failChannel(channel, 'stalled');
    }
  }
}
