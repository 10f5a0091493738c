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
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  BATCH_HEAD_BYTES,
  decodeRecords,
  ENTER_AT_MAX,
  ENVELOPE_VERSION,
  EnvelopeError,
  FLAG_ACK,
  FLAG_RECORDS,
  getU32,
  NO_EXCLUDE,
  putU16,
  putU32,
  RecordBytes,
  RecordType,
  type LinkHandler,
} from './envelope.js';
import { MAX_RECORD_DATA_BYTES } from './limits.js';
import type { NodeRef } from './node-id.js';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError } from '../core/errors.js';

const NODE_ID_CHAR = /^[A-Za-z0-9_-]+$/;
/** Largest record: a broadcast header and 65535 data bytes. */
const MAX_RECORD_BYTES = RecordBytes.Broadcast + MAX_RECORD_DATA_BYTES;
/** Compact the in-flight size queue once this many entries were consumed. */
const COMPACT_AFTER_COUNT = 1024;

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
  /** NATS messages published with records. */
  batchesSent: number;
  /** Ack-only NATS messages published. */
  acksSent: number;
  recordsSent: number;
  /** Bytes published (headers included). */
  bytesSent: number;
  batchesReceived: number;
  bytesReceived: number;
  /** Batches refused: bad header or a record that does not decode (the records before it were delivered). */
  badBatches: number;
  /** Batches for an earlier incarnation of this node, or from an earlier one of the sender. */
  staleBatches: number;
  /** Batches missing in a sender's sequence (lost across a NATS reconnect). */
  gaps: number;
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

/**
 * One destination node incarnation, both directions: what this node sends it (the batch being
 * built, sealed batches waiting for the window, batches in flight) and the sequence of what it
 * receives from it. The relay keeps a reference per remote node and calls its record methods.
 */
export class LinkChannel {
  /** Set once the channel failed (overflow, stall, dropped); sends are refused from then on. */
  failed = false;
  /** True while the queued bytes are past the high-water mark (sends return false). */
  congested = false;

  // ---- send side ----
  private scratch: Buffer | null = null;
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inflightSizes: number[] = [];
  private inflightHead = 0;
  private inflightBytes = 0;
  private firstInflightSeq = 0;
  private nextSeq = 1;
  /** @internal */ lastAckProgressMs = 0;
  /** @internal */ dirty = false;

  // ---- receive side ----
  /** @internal next batch number expected from the peer, -1 before the first. */
  recvExpected = -1;
  /** @internal last batch delivered (acknowledged in our next header). */
  recvDelivered = 0;
  /** @internal */ ackOwed = false;
  /** @internal */ paused = false;
  /** @internal batches held while paused (copies), bounded by the peer's window. */
  held: Buffer[] = [];
  /** @internal */ heldBytes = 0;

  /** @internal built by NodeLink.channel */
  constructor(
    private readonly link: NodeLink,
    /** The destination incarnation. */
    readonly peer: NodeRef,
    /** @internal */ readonly subject: string,
  ) {}

  /** Bytes queued toward the peer: the batch being built, sealed and waiting, and in flight. */
  get bufferedBytes(): number {
    return (this.pos > 0 ? this.pos - this.link.headBytes : 0) + this.pendingBytes + this.inflightBytes;
  }

  /** Bytes published and not yet acknowledged. */
  get inflight(): number {
    return this.inflightBytes;
  }

  // ---- records: each returns true while below the high-water mark, false when congested or failed ----

  /**
   * ENTER: a user of this node asks to enter `id` owned by the peer. `id` is copied.
   * @param atMax true when the user's connection is already in 128 joints (see ENTER_AT_MAX).
   */
  enter(reqId: number, userRef: number, id: Uint8Array, atMax = false): boolean {
    if (id.length > 255) throw new GamewireRangeError(GamewireErrorCode.BadOption, `id must be 0..255 bytes, got ${id.length}`);
    const p = this.reserve(RecordBytes.Enter + id.length);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.Enter;
    putU32(b, p + 1, reqId);
    putU32(b, p + 5, userRef);
    b[p + 9] = atMax ? ENTER_AT_MAX : 0;
    b[p + 10] = id.length;
    b.set(id, p + RecordBytes.Enter);
    return this.wrote();
  }

  /** ENTER_OK: the user entered `jointRef` with `userNr`. */
  enterOk(reqId: number, jointRef: number, userNr: number): boolean {
    const p = this.reserve(RecordBytes.EnterOk);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.EnterOk;
    putU32(b, p + 1, reqId);
    putU32(b, p + 5, jointRef);
    b[p + 9] = userNr;
    return this.wrote();
  }

  /** ENTER_ERR: the enter failed with joint.md §3.1 code `err`. */
  enterErr(reqId: number, err: number): boolean {
    const p = this.reserve(RecordBytes.EnterErr);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.EnterErr;
    putU32(b, p + 1, reqId);
    b[p + 5] = err;
    return this.wrote();
  }

  /** LEAVE: user `userNr` of `jointRef` sent leave (the owner gets reason 0). */
  leave(jointRef: number, userNr: number): boolean {
    return this.refNr(RecordType.Leave, jointRef, userNr);
  }

  /** USER_GONE: the connection of user `userNr` of `jointRef` closed (the owner gets reason 1). */
  userGone(jointRef: number, userNr: number): boolean {
    return this.refNr(RecordType.UserGone, jointRef, userNr);
  }

  /** TO_OWNER: user data for the owner of `jointRef`. The bytes are copied. */
  toOwner(jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number): boolean {
    checkData(data, offset, length);
    const p = this.reserve(RecordBytes.ToOwner + length);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.ToOwner;
    putU32(b, p + 1, jointRef);
    b[p + 5] = userNr;
    putU16(b, p + 6, length);
    b.set(data.subarray(offset, offset + length), p + RecordBytes.ToOwner);
    return this.wrote();
  }

  /** TO_USER: owner data for one user. The bytes are copied. */
  toUser(userRef: number, data: Uint8Array, offset: number, length: number): boolean {
    checkData(data, offset, length);
    const p = this.reserve(RecordBytes.ToUser + length);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.ToUser;
    putU32(b, p + 1, userRef);
    putU16(b, p + 5, length);
    b.set(data.subarray(offset, offset + length), p + RecordBytes.ToUser);
    return this.wrote();
  }

  /** BROADCAST: owner data for every user of `jointRef` on the peer except `exclude` (-1: none). */
  broadcast(jointRef: number, exclude: number, data: Uint8Array, offset: number, length: number): boolean {
    checkData(data, offset, length);
    const p = this.reserve(RecordBytes.Broadcast + length);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.Broadcast;
    putU32(b, p + 1, jointRef);
    putU16(b, p + 5, exclude < 0 ? NO_EXCLUDE : exclude);
    putU16(b, p + 7, length);
    b.set(data.subarray(offset, offset + length), p + RecordBytes.Broadcast);
    return this.wrote();
  }

  /** KICK: the owner removed the user (it gets inDisconnect reason 2). */
  kick(userRef: number): boolean {
    return this.ref(RecordType.Kick, userRef);
  }

  /** JOINT_GONE: `jointRef` is gone, reason 0 (deleted) or 1 (the owner's connection closed). */
  jointGone(jointRef: number, reason: 0 | 1): boolean {
    const p = this.reserve(RecordBytes.JointGone);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = RecordType.JointGone;
    putU32(b, p + 1, jointRef);
    b[p + 5] = reason;
    return this.wrote();
  }

  /** PAUSE_JOINT: the owner of `jointRef` is congested; the peer stops reading that joint's users. */
  pauseJoint(jointRef: number): boolean {
    return this.ref(RecordType.PauseJoint, jointRef);
  }

  /** RESUME_JOINT: see `pauseJoint`. */
  resumeJoint(jointRef: number): boolean {
    return this.ref(RecordType.ResumeJoint, jointRef);
  }

  private ref(type: number, ref: number): boolean {
    const p = this.reserve(5);
    if (p < 0) return false;
    this.scratch![p] = type;
    putU32(this.scratch!, p + 1, ref);
    return this.wrote();
  }

  private refNr(type: number, ref: number, nr: number): boolean {
    const p = this.reserve(6);
    if (p < 0) return false;
    const b = this.scratch!;
    b[p] = type;
    putU32(b, p + 1, ref);
    b[p + 5] = nr;
    return this.wrote();
  }

  /** Room for `n` bytes in the batch being built; -1 when refused (failed or past the cap). */
  private reserve(n: number): number {
    if (this.failed) return -1;
    const link = this.link;
    if (this.bufferedBytes + n > link.options.maxBufferedBytes) {
      link.failChannel(this, 'overflow');
      return -1;
    }
    if (this.scratch === null) this.scratch = Buffer.allocUnsafe(link.options.maxBatchBytes + link.headBytes + MAX_RECORD_BYTES);
    if (this.pos === 0) this.pos = link.headBytes;
    const p = this.pos;
    this.pos = p + n;
    return p;
  }

  /** After a record: seal at the size threshold, schedule the tick's flush, say whether congested. */
  private wrote(): boolean {
    const link = this.link;
    link.stats.recordsSent++;
    if (this.pos >= link.options.maxBatchBytes) this.seal();
    else if (!this.dirty) link.markDirty(this);
    if (!this.congested && this.bufferedBytes > link.options.highWaterBytes) this.congested = true;
    return !this.congested;
  }

  /** @internal Close the batch being built (publish it, or queue it for the window). */
  seal(): void {
    const link = this.link;
    const head = link.headBytes;
    if (this.pos <= head) return;
    const b = this.scratch!;
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) >>> 0;
    link.writeHeader(b, this, FLAG_RECORDS, seq);
    const batch = Buffer.allocUnsafe(this.pos);
    b.copy(batch, 0, 0, this.pos);
    this.pos = 0;
    if (this.pending.length === 0 && this.fits(batch.length)) this.publish(batch, seq);
    else {
      this.pending.push(batch);
      this.pendingBytes += batch.length - head;
    }
  }

  /** @internal Send an ack-only batch when one is owed and no batch carried it. */
  flushAck(): void {
    if (!this.ackOwed || this.failed) return;
    const link = this.link;
    const b = Buffer.allocUnsafe(link.headBytes);
    link.writeHeader(b, this, 0, 0);
    if (link.publishRaw(this.subject, b)) link.stats.acksSent++;
  }

  /** @internal The peer acknowledged every batch up to `ack`. */
  onAck(ack: number, nowMs: number): void {
    const count = this.inflightSizes.length - this.inflightHead;
    const d = (ack - this.firstInflightSeq) >>> 0;
    if (d >= count) return;
    const head = this.link.headBytes;
    for (let i = 0; i <= d; i++) this.inflightBytes -= this.inflightSizes[this.inflightHead++]! - head;
    this.firstInflightSeq = (ack + 1) >>> 0;
    this.lastAckProgressMs = nowMs;
    if (this.inflightHead >= COMPACT_AFTER_COUNT) {
      this.inflightSizes = this.inflightSizes.slice(this.inflightHead);
      this.inflightHead = 0;
    }
    while (this.pending.length > 0 && this.fits(this.pending[0]!.length)) {
      const batch = this.pending.shift()!;
      this.pendingBytes -= batch.length - head;
      this.publish(batch, getU32(batch, 18));
    }
    if (this.congested && this.bufferedBytes <= this.link.options.lowWaterBytes) {
      this.congested = false;
      this.link.emit('drain', this.peer);
    }
  }

  /** @internal Forget everything queued (the channel failed or was dropped). */
  discard(): void {
    this.failed = true;
    this.scratch = null;
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.inflightSizes = [];
    this.inflightHead = 0;
    this.inflightBytes = 0;
    this.held = [];
    this.heldBytes = 0;
  }

  /** @internal True when there are bytes in flight. */
  hasInflight(): boolean {
    return this.inflightBytes > 0;
  }

  /** The window admits a batch of `size` bytes (a lone batch always goes, whatever its size). */
  private fits(size: number): boolean {
    return this.inflightBytes === 0 || this.inflightBytes + size - this.link.headBytes <= this.link.options.windowBytes;
  }

  private publish(batch: Buffer, seq: number): void {
    if (this.inflightSizes.length === this.inflightHead) {
      this.firstInflightSeq = seq;
      this.lastAckProgressMs = Date.now();
    }
    this.inflightSizes.push(batch.length);
    this.inflightBytes += batch.length - this.link.headBytes;
    if (this.link.publishRaw(this.subject, batch)) this.link.stats.batchesSent++;
  }
}

function checkData(data: Uint8Array, offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `offset ${offset} + length ${length} must lie within data (${data.length} bytes)`);
  }
  if (length > MAX_RECORD_DATA_BYTES) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `length must be at most ${MAX_RECORD_DATA_BYTES}, got ${length}`);
  }
}

/**
 * The link of one node to all others. Create it with the node's NATS connection, its
 * incarnation and the handler of incoming records, then `start()`.
 */
export class NodeLink extends EventEmitter<NodeLinkEvents> {
  private readonly channels = new Map<string, LinkChannel>();
  private dirtyList: LinkChannel[] = [];
  private flushScheduled = false;
  private sub: Subscription | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private selfRef: NodeRef;
  private selfId: Buffer;
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
    private readonly handler: LinkHandler,
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
      callback: (_err, msg) => this.receive(msg.data),
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
    this.channels.set(peer.nodeId, channel);
    return channel;
  }

  /**
   * Forget `nodeId` (it died, or the relay ended its cross-node joints): its queues are freed.
   * @param epoch when given, only a channel of that incarnation or an older one is dropped.
   */
  drop(nodeId: string, epoch = Infinity): void {
    const channel = this.channels.get(nodeId);
    if (channel === undefined || channel.peer.epoch > epoch) return;
    this.channels.delete(nodeId);
    channel.discard();
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
      this.deliver(channel, batch, getU32(batch, 18));
    }
  }

  /** Become a new incarnation (after an isolation): every channel is forgotten. */
  reincarnate(self: NodeRef): void {
    if (self.nodeId !== this.selfRef.nodeId) throw new TypeError('reincarnate: nodeId must stay the same');
    this.selfRef = self;
    for (const channel of this.channels.values()) channel.discard();
    this.channels.clear();
    this.dirtyList = [];
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

  /** Flush, unsubscribe, stop the timers and forget every channel. */
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
    if (channel.ackOwed) {
      flags |= FLAG_ACK;
      channel.ackOwed = false;
    }
    b[0] = ENVELOPE_VERSION;
    b[1] = flags;
    b.writeDoubleLE(this.selfRef.epoch, 2);
    b.writeDoubleLE(channel.peer.epoch, 10);
    putU32(b, 18, seq);
    putU32(b, 22, (flags & FLAG_ACK) !== 0 ? channel.recvDelivered : 0);
    b[26] = this.selfId.length;
    this.selfId.copy(b, BATCH_HEAD_BYTES);
  }

  /** @internal */
  publishRaw(subject: string, bytes: Buffer): boolean {
    try {
      this.nc.publish(subject, bytes);
      this.stats.bytesSent += bytes.length;
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

  /** One NATS message on this node's subject: hostile until its header checks out. */
  private receive(data: Uint8Array): void {
    this.stats.bytesReceived += data.length;
    if (data.length < BATCH_HEAD_BYTES + 1 || data[0] !== ENVELOPE_VERSION) return this.badHeader();
    const idLen = data[26]!;
    const head = BATCH_HEAD_BYTES + idLen;
    if (idLen === 0 || data.length < head) return this.badHeader();
    const flags = data[1]!;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const srcEpoch = view.getFloat64(2, true);
    const dstEpoch = view.getFloat64(10, true);
    if (!Number.isSafeInteger(srcEpoch) || srcEpoch <= 0) return this.badHeader();
    const srcId = Buffer.from(data.buffer, data.byteOffset + BATCH_HEAD_BYTES, idLen).toString('latin1');
    if (!NODE_ID_CHAR.test(srcId) || srcId === this.selfRef.nodeId) return this.badHeader();
    if (dstEpoch !== this.selfRef.epoch) {
      this.stats.staleBatches++;
      return;
    }
    let channel = this.channels.get(srcId);
    if (channel === undefined || channel.peer.epoch < srcEpoch) channel = this.channel({ nodeId: srcId, epoch: srcEpoch });
    else if (channel.peer.epoch > srcEpoch || channel.failed) {
      this.stats.staleBatches++;
      return;
    }
    if ((flags & FLAG_ACK) !== 0) channel.onAck(getU32(data, 22), Date.now());
    if ((flags & FLAG_RECORDS) === 0) return;
    this.stats.batchesReceived++;
    const seq = getU32(data, 18);
    if (channel.recvExpected !== -1 && seq !== channel.recvExpected) {
      const lost = (seq - channel.recvExpected) >>> 0;
      this.stats.gaps++;
      this.emit('gap', channel.peer, lost);
    }
    channel.recvExpected = (seq + 1) >>> 0;
    if (channel.paused) {
      // A sender that respects its window never has more than that unacknowledged; one that
      // does not is cut off here rather than growing this node's memory.
      if (channel.heldBytes + data.length > 2 * this.options.windowBytes + this.options.maxBatchBytes) {
        this.failChannel(channel, 'overflow');
        return;
      }
      channel.held.push(Buffer.from(data));
      channel.heldBytes += data.length;
      return;
    }
    this.deliver(channel, data, seq);
  }

  private deliver(channel: LinkChannel, data: Uint8Array, seq: number): void {
    const idLen = data[26]!;
    let result: EnvelopeError;
    try {
      result = decodeRecords(channel.peer, data, BATCH_HEAD_BYTES + idLen, data.length, this.handler);
    } catch (error) {
      this.stats.handlerErrors++;
      this.emit('handler-error', error as Error);
      result = EnvelopeError.Ok;
    }
    if (result !== EnvelopeError.Ok) {
      this.stats.badBatches++;
      this.emit('bad-batch', channel.peer.nodeId, result);
    }
    channel.recvDelivered = seq;
    if (!channel.ackOwed) {
      channel.ackOwed = true;
      if (!channel.dirty) this.markDirty(channel);
    }
  }

  private badHeader(): void {
    this.stats.badBatches++;
    this.emit('bad-batch', '', 'header');
  }
}
