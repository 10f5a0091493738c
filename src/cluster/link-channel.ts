/**
 * The send side of the node link toward one node incarnation (docs/cluster.md §4): records are
 * written into the batch being built, sealed at the end of the tick or at `maxBatchBytes`, and
 * published while the window (`windowBytes` unacknowledged) admits them; the rest waits here and
 * its size is the backpressure signal. The channel also keeps the receive sequence of that node,
 * since acks for it ride in the headers of the batches sent to it.
 */
import {
  ENTER_AT_MAX,
  FLAG_RECORDS,
  FLAG_RESEND,
  getU32,
  NO_EXCLUDE,
  putU16,
  putU32,
  RecordBytes,
  RecordType,
} from './envelope.js';
import { FRAME_PREFIX_BYTES, type DataConn } from './data-link.js';
import { MAX_RECORD_DATA_BYTES } from './limits.js';
import type { NodeLink } from './node-link.js';
import type { NodeRef } from './node-id.js';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError } from '../core/errors.js';

/** Largest record: a broadcast header and 65535 data bytes. */
const MAX_RECORD_BYTES = RecordBytes.Broadcast + MAX_RECORD_DATA_BYTES;
/** Compact the in-flight queue once this many entries were consumed. */
const COMPACT_AFTER_COUNT = 1024;
const NONE = Buffer.alloc(0);
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
  /** Sealed batches waiting for the window, each behind its 4-byte length (the data link's framing). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Batches sent and not yet acknowledged, framed as `pending`: kept to be sent again over NATS if the data connection carrying them is lost. */
  private inflightBatches: Buffer[] = [];
  private inflightHead = 0;
  private inflightBytes = 0;
  private firstInflightSeq = 0;
  private nextSeq = 1;
  /**
   * @internal The first number of this channel's sequence when it replaced a dropped channel
   * to the same incarnation (it goes on from that one's numbers), until the peer acks it; -1 none.
   */
  restartFrom = -1;
  /** @internal */ lastAckProgressMs = 0;
  /** @internal */ dirty = false;
  /** The last resend the peer asked for (first batch, time), to serve one ask per `resendMs`. */
  private resentSeq = -1;
  private resentAtMs = 0;

  // ---- transport (docs/cluster.md §4a) ----
  /** @internal the data connection the batches go over; null: NATS. */
  conn: DataConn | null = null;
  /**
   * @internal a data connection that is up but not used yet: batches wait until nothing is in
   * flight over NATS, so none sent over it can overtake one still in nats-server.
   */
  readyConn: DataConn | null = null;
  /** @internal a dial of the peer's data port is running. */
  dialing = false;
  /** @internal no dial before this time (after a failed dial or a lost connection). */
  dataRetryAtMs = 0;

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
  /** The last resend this node asked the peer for (first batch, time): one ask per `resendMs`. */
  private askedSeq = -1;
  private askedAtMs = 0;

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
    const ackOwed = this.ackOwed;
    link.writeHeader(b, this, FLAG_RECORDS, seq);
    const framed = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + this.pos);
    putU32(framed, 0, this.pos);
    b.copy(framed, FRAME_PREFIX_BYTES, 0, this.pos);
    this.pos = 0;
    if (this.pending.length === 0 && this.fits(framed.length)) this.publish(framed, seq);
    else {
      this.pending.push(framed);
      this.pendingBytes += framed.length - FRAME_PREFIX_BYTES - head;
      // The ack in a batch that waits does not reach the peer, whose window may be waiting for
      // it (both sides waiting for each other's ack): it still goes ack-only at the tick's end.
      this.ackOwed = ackOwed;
    }
  }

  /** @internal Send an ack-only batch when one is owed and no batch carried it. */
  flushAck(): void {
    if (!this.ackOwed || this.failed) return;
    const link = this.link;
    const framed = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + link.headBytes);
    putU32(framed, 0, link.headBytes);
    link.writeHeader(framed.subarray(FRAME_PREFIX_BYTES), this, 0, 0);
    if (link.send(this, framed)) link.stats.acksSent++;
  }

  /**
   * @internal Ask the peer for its unacknowledged batches again from `recvExpected` (a gap, or
   * this node's NATS reconnect), unless the same batch was asked for less than `resendMs` ago.
   * @returns true when the request went out.
   */
  askResend(nowMs: number, force = false): boolean {
    if (this.failed || this.recvExpected === -1) return false;
    const seq = this.recvExpected;
    if (!force && seq === this.askedSeq && nowMs - this.askedAtMs < this.link.options.resendMs) return false;
    this.askedSeq = seq;
    this.askedAtMs = nowMs;
    const link = this.link;
    const framed = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + link.headBytes);
    putU32(framed, 0, link.headBytes);
    link.writeHeader(framed.subarray(FRAME_PREFIX_BYTES), this, FLAG_RESEND, seq);
    if (link.send(this, framed)) link.stats.resendRequests++;
    return true;
  }

  /**
   * @internal The peer asks for every unacknowledged batch from `seq` on (it saw a gap, or
   * reconnected to NATS): send them again, in order, over the transport in use. They are still
   * counted in flight, so the window is unchanged; the peer drops those it already has.
   */
  resendFrom(seq: number, nowMs: number, asked = true): void {
    if (this.failed) return;
    const count = this.inflightBatches.length - this.inflightHead;
    const d = (seq - this.firstInflightSeq) >>> 0;
    if (d >= count) return;
    // Only the peer's asks are paced: this node's own resend at its reconnect may have been lost
    // (the peer not yet resubscribed), and the peer's ask that follows must not be refused for it.
    if (asked) {
      if (seq === this.resentSeq && nowMs - this.resentAtMs < this.link.options.resendMs) return;
      this.resentSeq = seq;
      this.resentAtMs = nowMs;
    }
    const link = this.link;
    for (let i = this.inflightHead + d; i < this.inflightBatches.length; i++) {
      link.resend(this, this.inflightBatches[i]!);
      link.stats.resentBatches++;
    }
  }

  /**
   * @internal This node is back on NATS: what it published over NATS just before and during the
   * outage may have reached the server before the peer resubscribed. Send every unacknowledged
   * batch again (nothing to do when they went over a data connection, which NATS does not touch),
   * and ask the peer for what it sent meanwhile.
   */
  natsBack(nowMs: number): void {
    if (this.failed) return;
    if (this.conn === null && this.inflightBatches.length > this.inflightHead) this.resendFrom(this.firstInflightSeq, nowMs, false);
    this.askResend(nowMs, true);
  }

  /** @internal Continue the numbering of a dropped channel to the same incarnation (NodeLink.channel). */
  restartAt(seq: number): void {
    this.nextSeq = seq;
    this.restartFrom = seq;
  }

  /** @internal The next batch number (NodeLink.drop keeps it for a channel that replaces this one). */
  get sequence(): number {
    return this.nextSeq;
  }

  /** @internal The peer acknowledged every batch up to `ack`. */
  onAck(ack: number, nowMs: number): void {
    if (this.restartFrom !== -1 && ((ack - this.restartFrom) >>> 0) <= 0x7fffffff) this.restartFrom = -1;
    const count = this.inflightBatches.length - this.inflightHead;
    const d = (ack - this.firstInflightSeq) >>> 0;
    if (d >= count) return;
    const cost = this.link.headBytes + FRAME_PREFIX_BYTES;
    for (let i = 0; i <= d; i++) {
      this.inflightBytes -= this.inflightBatches[this.inflightHead]!.length - cost;
      this.inflightBatches[this.inflightHead++] = NONE;
    }
    this.firstInflightSeq = (ack + 1) >>> 0;
    this.lastAckProgressMs = nowMs;
    if (this.inflightHead >= COMPACT_AFTER_COUNT) {
      this.inflightBatches = this.inflightBatches.slice(this.inflightHead);
      this.inflightHead = 0;
    }
    this.pump();
    if (this.readyConn !== null && this.inflightBytes === 0) this.switchToReady();
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
    this.inflightBatches = [];
    this.inflightHead = 0;
    this.inflightBytes = 0;
    this.held = [];
    this.heldBytes = 0;
    this.conn?.destroy();
    this.readyConn?.destroy();
    this.conn = this.readyConn = null;
  }

  /** @internal A data connection to the peer is up: use it now, or once nothing is in flight over NATS. */
  useConn(conn: DataConn): void {
    if (this.failed || this.conn !== null || this.readyConn !== null) {
      conn.destroy();
      return;
    }
    this.readyConn = conn;
    if (this.inflightBytes === 0) this.switchToReady();
  }

  /**
   * @internal The data connection `conn` closed. If the channel was using it, every batch not
   * yet acknowledged goes again, in order, over NATS: the receiver delivered a prefix of them
   * and drops those as duplicates, so nothing is lost or reordered. Later batches follow over
   * NATS until a new dial succeeds, `retryMs` from now.
   */
  connLost(conn: DataConn, nowMs: number): void {
    const link = this.link;
    this.dataRetryAtMs = nowMs + (link.data?.options.retryMs ?? 0);
    if (conn === this.readyConn) {
      this.readyConn = null;
      this.pump();
      return;
    }
    if (conn !== this.conn || this.failed) return;
    this.conn = null;
    const data = link.data!;
    data.stats.failovers++;
    for (let i = this.inflightHead; i < this.inflightBatches.length; i++) {
      link.publishRaw(this.subject, this.inflightBatches[i]!.subarray(FRAME_PREFIX_BYTES));
      data.stats.retransmitted++;
    }
    this.lastAckProgressMs = nowMs;
    this.pump();
  }

  /** Publish the waiting batches while the window admits them. */
  private pump(): void {
    const cost = this.link.headBytes + FRAME_PREFIX_BYTES;
    while (this.pending.length > 0 && this.fits(this.pending[0]!.length)) {
      const framed = this.pending.shift()!;
      this.pendingBytes -= framed.length - cost;
      this.publish(framed, getU32(framed, FRAME_PREFIX_BYTES + 18));
    }
  }

  private switchToReady(): void {
    this.conn = this.readyConn;
    this.readyConn = null;
  }

  /** @internal True when there are bytes in flight. */
  hasInflight(): boolean {
    return this.inflightBytes > 0;
  }

  /**
   * The window admits a framed batch of `size` bytes (a lone batch always goes, whatever its
   * size). While a data connection waits to be used, nothing more goes until the window is empty.
   */
  private fits(size: number): boolean {
    if (this.inflightBytes === 0) return true;
    if (this.readyConn !== null) return false;
    return this.inflightBytes + size - FRAME_PREFIX_BYTES - this.link.headBytes <= this.link.options.windowBytes;
  }

  private publish(framed: Buffer, seq: number): void {
    if (this.readyConn !== null) this.switchToReady();
    if (this.inflightBatches.length === this.inflightHead) {
      this.firstInflightSeq = seq;
      this.lastAckProgressMs = Date.now();
    }
    this.inflightBatches.push(framed);
    this.inflightBytes += framed.length - FRAME_PREFIX_BYTES - this.link.headBytes;
    if (this.link.send(this, framed)) this.link.stats.batchesSent++;
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
