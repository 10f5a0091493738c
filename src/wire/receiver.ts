/**
 * The receiving side of a session (docs/protocol.md §2, §5): one read is split into frames by
 * the FrameDecoder and opened with one `openBatch` per read; DATA payloads are reassembled into
 * messages by the ChunkAssembler. While keys are derived or frames open asynchronously
 * (WebCrypto), frames wait in order on a chain, their bytes capped. The session decides what a
 * frame means (handshake, FINISHED, DATA, CLOSE).
 */
import { AEAD_TAG_BYTES } from '../core/limits.js';
import { ErrorCode, errorReason } from '../core/errors.js';
import { AEAD_JOB_STRIDE, CHUNK_UNIT_STRIDE, FRAME_UNIT_STRIDE, UnitFlag, type Aead, type ChunkAssembler, type FrameDecoder } from '../core/types.js';
import { isAsyncAead, type AsyncAead, type WirePlatform } from '../platform/types.js';
import { CHUNK_PREFIX_BYTES, FLOOD_WINDOW_MS, INITIAL_BUFFER_BYTES, KEEP_BUFFER_BYTES } from './limits.js';
import { CloseCode } from './protocol.js';
import { nowMs, type SessionLimits } from './session-limits.js';
import type { SessionHandler } from './session.js';

const EMPTY_BYTES = new Uint8Array(0);

/** What the receiver asks of its session. */
export interface ReceiverOwner {
  readonly closed: boolean;
  /** A frame before keys exist (HELLO, WELCOME, or any frame of a plaintext session). */
  onPlainFrame(buf: Uint8Array, off: number, len: number): void;
  /** An opened sealed frame (FINISHED, then DATA, KEEPALIVE, CLOSE). */
  onSealedFrame(buf: Uint8Array, off: number, len: number): void;
  /** Report an error and close (with a CLOSE frame unless `sendClose` is false). */
  fail(reason: string, code: number, sendClose?: boolean): void;
}

/** The inbound half of a session. */
export class Receiver {
  /** This side's opening Aead, set once keys are derived; null in plaintext. */
  rx: Aead | AsyncAead | null = null;
  /** Inbound frames wait here while keys are derived or frames are opened asynchronously. */
  rxChain: Promise<void> | null = null;
  /** When bytes last arrived (`nowMs()` clock): the keepalive timeout runs from here. */
  lastReceiveAt: number;
  /** Bytes of received frames copied onto `rxChain` and not yet opened (≤ maxPendingDecryptBytes). */
  pendingBytes = 0;

  private readonly frames: FrameDecoder;
  private readonly chunks: ChunkAssembler;
  // Scratch buffers start empty (a pending handshake costs none, issue 14).
  private rxPlain: Uint8Array = EMPTY_BYTES;
  private rxJobs = new Int32Array(64 * AEAD_JOB_STRIDE);
  private floodWindowAt: number;
  private floodCount = 0;

  /**
   * @param platform makes the parsers
   * @param limits the session's limits
   * @param owner the session
   * @param handler the session owner's callbacks: whole messages go to its `onMessage`
   * @param now the session's start (`nowMs()` clock)
   */
  constructor(
    platform: WirePlatform,
    private readonly limits: SessionLimits,
    private readonly owner: ReceiverOwner,
    private readonly handler: SessionHandler,
    now: number,
  ) {
    this.frames = platform.frameDecoder({ maxFrameBytes: limits.maxFrameBytes });
    this.chunks = platform.chunkAssembler({ maxChunkBytes: limits.maxMessageBytes, prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: 1 });
    this.lastReceiveAt = this.floodWindowAt = now;
  }

  /** Run `fn` after the frames waiting on the chain, or now when none wait. */
  afterPending(fn: () => void): void {
    if (this.rxChain !== null) this.rxChain = this.rxChain.then(fn);
    else fn();
  }

  /**
   * Closed: nothing is read any more, so give back the buffers now rather than when the
   * application lets go of the connection handle. A partial message (up to `maxMessageBytes`)
   * held by the chunk assembler, and with the native parsers C++ memory V8 does not see, would
   * otherwise stay until a major GC collects the session.
   */
  release(): void {
    this.chunks.dropStream(0);
    this.frames.reset();
    this.rxPlain = EMPTY_BYTES;
    this.rxJobs = new Int32Array(AEAD_JOB_STRIDE);
  }

  /** Bytes read from the stream. */
  onData(data: Uint8Array): void {
    const owner = this.owner;
    if (owner.closed) return;
    this.lastReceiveAt = nowMs();
    const frames = this.frames;
    let off = 0;
    while (off < data.length && !owner.closed) {
      const n = frames.feed(data, off, data.length - off);
      if (n > 0) this.onFrames(n, data);
      if (owner.closed) return;
      if (frames.error !== ErrorCode.Ok) {
        const code = frames.error;
        owner.fail(code === ErrorCode.FrameTooLarge ? `${errorReason(code)} (${this.limits.maxFrameBytes} bytes)` : errorReason(code), CloseCode.ProtocolError);
        return;
      }
      if (frames.consumed === 0 && n === 0) return;
      off += frames.consumed;
    }
  }

  private onFrames(n: number, data: Uint8Array): void {
    const owner = this.owner;
    const units = this.frames.units;
    if (this.limits.maxInboundPerSecond > 0 && this.countInbound(n)) return;
    let i = 0;
    while (i < n && !owner.closed) {
      const u = i * FRAME_UNIT_STRIDE;
      const src = (units[u]! & UnitFlag.InCarry) !== 0 ? this.frames.carry() : data;
      const off = units[u + 1]!;
      const len = units[u + 2]!;
      if (this.rxChain !== null) {
        // Keys are being derived, or frames are opened asynchronously: keep order on the chain.
        // Each waiting frame is a copy, so the bytes waiting are capped: a peer sending faster
        // than we decrypt is dropped instead of growing memory.
        if (this.pendingBytes + len > this.limits.maxPendingDecryptBytes) {
          owner.fail(`receive backlog overflow (more than ${this.limits.maxPendingDecryptBytes} bytes waiting for decryption)`, CloseCode.Overflow);
          return;
        }
        this.pendingBytes += len;
        const copy = src.slice(off, off + len);
        const done = (): void => {
          this.pendingBytes -= len;
        };
        this.rxChain = this.rxChain
          .then(() => this.onFrameLater(copy))
          .then(done, (err: unknown) => {
            done();
            owner.fail(`internal error: ${(err as Error).message}`, CloseCode.ProtocolError);
          });
        i++;
        continue;
      }
      const rx = this.rx;
      if (rx === null) {
        owner.onPlainFrame(src, off, len);
        i++;
        continue;
      }
      if (isAsyncAead(rx)) {
        this.rxChain = Promise.resolve();
        continue; // this frame goes through the chain on the next pass
      }
      i = this.openBatch(rx, src, i, n);
    }
  }

  /** Open units [first, n) that share `src` in one batch, dispatch them. @returns the next unit index. */
  private openBatch(rx: Aead, src: Uint8Array, first: number, n: number): number {
    const owner = this.owner;
    const units = this.frames.units;
    const carry = this.frames.carry();
    let count = 0;
    let bytes = 0;
    const groupInCarry = src === carry;
    let i = first;
    for (; i < n; i++) {
      const u = i * FRAME_UNIT_STRIDE;
      // One batch reads one buffer: the carry unit (at most one per feed) goes alone.
      if (((units[u]! & UnitFlag.InCarry) !== 0) !== groupInCarry) break;
      const len = units[u + 2]!;
      if (this.rxJobs.length < (count + 1) * AEAD_JOB_STRIDE) {
        const grown = new Int32Array(this.rxJobs.length * 2);
        grown.set(this.rxJobs);
        this.rxJobs = grown;
      }
      const j = count * AEAD_JOB_STRIDE;
      this.rxJobs[j] = units[u + 1]!;
      this.rxJobs[j + 1] = len;
      this.rxJobs[j + 2] = bytes;
      this.rxJobs[j + 3] = 0;
      bytes += Math.max(0, len - AEAD_TAG_BYTES);
      count++;
    }
    if (this.rxPlain.length < bytes) this.rxPlain = new Uint8Array(Math.max(bytes, this.rxPlain.length * 2, INITIAL_BUFFER_BYTES));
    const plain = this.rxPlain;
    const opened = rx.openBatch(src, plain, this.rxJobs, count);
    for (let k = 0; k < opened && !owner.closed; k++) {
      const j = k * AEAD_JOB_STRIDE;
      owner.onSealedFrame(plain, this.rxJobs[j + 2]!, this.rxJobs[j + 3]!);
    }
    if (opened < count && !owner.closed) {
      owner.fail(errorReason(-this.rxJobs[opened * AEAD_JOB_STRIDE + 3]!), CloseCode.ProtocolError, false);
    }
    // As on the send side: kept while reads stay big, released by the first small one.
    if (bytes <= KEEP_BUFFER_BYTES && this.rxPlain.length > KEEP_BUFFER_BYTES) this.rxPlain = new Uint8Array(INITIAL_BUFFER_BYTES);
    return i;
  }

  /** A frame queued on the rx chain (async keys or WebCrypto). */
  private async onFrameLater(frame: Uint8Array): Promise<void> {
    const owner = this.owner;
    if (owner.closed) return;
    const rx = this.rx;
    if (rx === null) {
      owner.onPlainFrame(frame, 0, frame.length);
      return;
    }
    let plain: Uint8Array | null;
    if (isAsyncAead(rx)) plain = await rx.open(frame);
    else {
      plain = new Uint8Array(Math.max(0, frame.length - AEAD_TAG_BYTES));
      if (rx.open(frame, 0, frame.length, plain, 0) < 0) plain = null;
    }
    if (owner.closed) return;
    if (plain === null) {
      owner.fail(errorReason(ErrorCode.AuthFailed), CloseCode.ProtocolError, false);
      return;
    }
    owner.onSealedFrame(plain, 0, plain.length);
  }

  /** @returns true when the peer was dropped for flooding. */
  private countInbound(n: number): boolean {
    const now = this.lastReceiveAt;
    if (now - this.floodWindowAt >= FLOOD_WINDOW_MS) {
      this.floodWindowAt = now;
      this.floodCount = 0;
    }
    this.floodCount += n;
    if (this.floodCount > this.limits.maxInboundPerSecond) {
      this.owner.fail('flood', CloseCode.Flood);
      return true;
    }
    return false;
  }

  /** A DATA frame's payload: a piece of the chunk stream; whole messages go to `handler.onMessage`. */
  onDataPayload(buf: Uint8Array, off: number, len: number): void {
    const owner = this.owner;
    const chunks = this.chunks;
    const end = off + len;
    while (off < end && !owner.closed) {
      const n = chunks.feed(0, buf, off, end - off);
      const units = chunks.units;
      if (n > 0 && this.limits.maxInboundPerSecond > 0 && this.countInbound(n)) return;
      for (let i = 0; i < n && !owner.closed; i++) {
        const u = i * CHUNK_UNIT_STRIDE;
        const src = (units[u]! & UnitFlag.InCarry) !== 0 ? chunks.carry() : buf;
        this.handler.onMessage(src, units[u + 1]!, units[u + 2]!);
      }
      if (owner.closed) return;
      if (chunks.error !== ErrorCode.Ok) {
        const code = chunks.error;
        if (code === ErrorCode.ChunkTooLarge) owner.fail(`message too large (limit ${this.limits.maxMessageBytes} bytes)`, CloseCode.MessageTooLarge);
        else owner.fail(`protocol error: ${errorReason(code)}`, CloseCode.ProtocolError);
        return;
      }
      if (chunks.consumed === 0 && n === 0) return;
      off += chunks.consumed;
    }
  }
}
