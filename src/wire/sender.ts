/**
 * The sending side of a session (docs/protocol.md §2, §5, §7): messages queued in a tick are
 * framed, sealed in one `sealBatch` call and written with one stream write at the flush (one
 * microtask later, or at `flush()`); keepalives, CLOSE and the handshake's own frames go the
 * same way. On WebCrypto frames are sealed in order now and written in order later.
 */
import { AEAD_TAG_BYTES } from '../core/limits.js';
import { ErrorCode, errorReason } from '../core/errors.js';
import { AEAD_JOB_STRIDE, type Aead } from '../core/types.js';
import { encodeChunkPrefix } from '../codec/varint.js';
import { isAsyncAead, type AsyncAead } from '../platform/types.js';
import type { ByteStream } from '../transport/types.js';
import { CHUNK_PREFIX_BYTES, INITIAL_BUFFER_BYTES, KEEP_BUFFER_BYTES, WS_WRITE_PIECE_BYTES } from './limits.js';
import { FRAME_PREFIX_BYTES as FRAME_PREFIX, FrameType, plainFrame, writeU32LE } from './protocol.js';
import { nowMs } from './session-limits.js';

const EMPTY_BYTES = new Uint8Array(0);

/** `buf` if it holds `need` bytes, else a larger copy of its first `fill` bytes. */
export function grow(buf: Uint8Array, fill: number, need: number): Uint8Array {
  if (buf.length >= need) return buf;
  const next = new Uint8Array(Math.max(need, buf.length * 2, INITIAL_BUFFER_BYTES));
  next.set(buf.subarray(0, fill));
  return next;
}

/** What the sender asks of its session. */
export interface SenderOwner {
  /** The handshake completed (messages may flow). */
  readonly established: boolean;
  readonly closed: boolean;
  /** Sealing failed (counter exhausted): drop the peer without a CLOSE. */
  sealFailed(reason: string): void;
}

/** The outbound half of a session. */
export class Sender {
  /** This side's sealing Aead, set once keys are derived; null in plaintext. */
  tx: Aead | AsyncAead | null = null;
  /** When bytes were last written (`nowMs()` clock): the keepalive interval runs from here. */
  lastSendAt: number;

  // Scratch buffers start empty and get INITIAL_BUFFER_BYTES at first use: a connection that
  // never completes its handshake costs no buffers (issue 14: pending handshakes are cheap).
  // The chunk stream of queued messages, and flags.
  private data: Uint8Array = EMPTY_BYTES;
  private dataFill = 0;
  private keepaliveDue = false;
  private closeFrame: Uint8Array | null = null;
  private flushScheduled = false;
  // Flush scratch: plaintext frames (encrypted mode), the wire bytes, and the AEAD jobs.
  private plain: Uint8Array = EMPTY_BYTES;
  private out: Uint8Array = EMPTY_BYTES;
  private jobs = new Int32Array(16 * AEAD_JOB_STRIDE);
  private txChain: Promise<void> = Promise.resolve();
  private asyncInFlightBytes = 0;
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * @param stream where the frames go
   * @param maxFrameBytes largest frame body (the session's limit)
   * @param owner the session
   * @param now the session's start (`nowMs()` clock)
   */
  constructor(
    private readonly stream: ByteStream,
    private readonly maxFrameBytes: number,
    private readonly owner: SenderOwner,
    now: number,
  ) {
    this.lastSendAt = now;
  }

  /** Bytes queued or sealing, not yet handed to the stream. */
  get queuedBytes(): number {
    return this.dataFill + this.asyncInFlightBytes;
  }

  /** Append one message to the chunk stream and flush at the end of this tick. */
  queueMessage(bytes: Uint8Array, offset: number, length: number): void {
    const need = this.dataFill + CHUNK_PREFIX_BYTES + length;
    this.data = grow(this.data, this.dataFill, need);
    this.dataFill += encodeChunkPrefix(length, CHUNK_PREFIX_BYTES, this.data, this.dataFill);
    this.data.set(bytes.subarray(offset, offset + length), this.dataFill);
    this.dataFill += length;
    this.scheduleFlush();
  }

  /** Send a KEEPALIVE now (with the flush). */
  keepalive(): void {
    this.keepaliveDue = true;
    this.flush();
  }

  /** Send a sealed CLOSE `body` after what is queued, now. */
  sealedClose(body: Uint8Array): void {
    this.closeFrame = body;
    this.flush();
  }

  /** Forget the queued messages (the session closed, or refuses in plaintext). */
  dropQueued(): void {
    this.dataFill = 0;
  }

  /** A plaintext frame (handshake), queued on the stream; the caller flushes. */
  writeRaw(body: Uint8Array): void {
    this.stream.write(plainFrame(body));
    this.lastSendAt = nowMs();
  }

  /** Seal FINISHED (the first sealed frame in this direction, counter 0) and write it. */
  sendFinished(body: Uint8Array): void {
    const tx = this.tx!;
    if (isAsyncAead(tx)) {
      const sealing = tx.seal(body);
      this.txChain = this.txChain
        .then(() => sealing)
        .then(
          (sealed) => {
            this.writeRaw(sealed);
            this.stream.flush();
          },
          // A failed seal drops the peer here rather than leaving an unhandled rejection.
          () => this.owner.sealFailed(errorReason(ErrorCode.CounterExhausted)),
        );
      return;
    }
    const out = new Uint8Array(body.length + AEAD_TAG_BYTES);
    tx.seal(body, 0, body.length, out, 0);
    this.writeRaw(out);
    this.stream.flush();
  }

  /** Run `fn` once every frame sealed so far is written (at once on the synchronous path). */
  afterWrites(fn: () => void): void {
    // Also on a rejected chain (a failed seal): the stream must be ended and destroyed either way.
    if (this.tx !== null && isAsyncAead(this.tx)) void this.txChain.then(fn, fn);
    else fn();
  }

  /** Write everything queued now: one seal batch, one stream write. */
  flush(): void {
    if (this.tx === null && !this.owner.established) return;
    if (this.owner.closed && this.closeFrame === null) return;
    const sealed = this.tx !== null;
    const tag = sealed ? AEAD_TAG_BYTES : 0;
    const maxPayload = this.maxFrameBytes - 1 - tag;
    const dataFrames = Math.ceil(this.dataFill / maxPayload);
    const control = (this.keepaliveDue && dataFrames === 0 ? 1 : 0) + (this.closeFrame ? 1 : 0);
    const frameCount = dataFrames + control;
    if (frameCount === 0) return;
    const plainBytes = this.dataFill + dataFrames + (control === 0 ? 0 : 1 + (this.closeFrame?.length ?? 0));
    const wireBytes = plainBytes + frameCount * (FRAME_PREFIX + tag);
    // Big scratch buffers are kept while flushes stay big (a stream of large messages grows
    // them once, not by doubling again for each one) and released by the first small flush: a
    // keepalive at the latest, so an idle connection holds none for long.
    const releaseBig = wireBytes <= KEEP_BUFFER_BYTES;
    // The wire bytes of a big flush go into a buffer of their own that the stream takes over,
    // instead of a kept scratch buffer the stream would have to copy.
    const owned = !releaseBig && this.stream.writeOwned !== undefined && !(this.tx !== null && isAsyncAead(this.tx));
    // Plain frames are built straight into `out`; sealed ones into `plain`, then sealed into `out`.
    const out = owned ? new Uint8Array(wireBytes) : (this.out = grow(this.out, 0, wireBytes));
    if (sealed) this.plain = grow(this.plain, 0, plainBytes);
    if (this.jobs.length < frameCount * AEAD_JOB_STRIDE) this.jobs = new Int32Array(frameCount * AEAD_JOB_STRIDE * 2);
    const target = sealed ? this.plain : out;
    const jobs = this.jobs;
    let outAt = 0;
    let plainAt = 0;
    let n = 0;
    const frame = (type: number, src: Uint8Array | null, srcOff: number, len: number): void => {
      const at = sealed ? plainAt : outAt + FRAME_PREFIX;
      target[at] = type;
      if (src !== null && len > 0) target.set(src.subarray(srcOff, srcOff + len), at + 1);
      const body = 1 + len;
      writeU32LE(out, outAt, body + tag);
      const j = n * AEAD_JOB_STRIDE;
      jobs[j] = at;
      jobs[j + 1] = body;
      jobs[j + 2] = outAt + FRAME_PREFIX;
      jobs[j + 3] = 0;
      n++;
      plainAt += body;
      outAt += FRAME_PREFIX + body + tag;
    };
    for (let off = 0; off < this.dataFill; off += maxPayload) frame(FrameType.Data, this.data, off, Math.min(maxPayload, this.dataFill - off));
    if (this.keepaliveDue && dataFrames === 0) frame(FrameType.Keepalive, null, 0, 0);
    if (this.closeFrame) frame(FrameType.Close, this.closeFrame, 1, this.closeFrame.length - 1);
    this.keepaliveDue = false;
    this.closeFrame = null;
    this.dataFill = 0;
    if (releaseBig && this.data.length > KEEP_BUFFER_BYTES) this.data = new Uint8Array(INITIAL_BUFFER_BYTES);
    this.lastSendAt = nowMs();
    const tx = this.tx;
    if (tx !== null && isAsyncAead(tx)) {
      this.flushAsync(tx, n);
      return;
    }
    if (tx !== null) {
      const done = tx.sealBatch(this.plain, out, jobs, n);
      if (done < n) {
        this.owner.sealFailed(errorReason(-jobs[done * AEAD_JOB_STRIDE + 3]! || ErrorCode.CounterExhausted));
        return;
      }
    }
    this.writeOut(out, outAt, owned);
    if (!releaseBig) return;
    if (this.out.length > KEEP_BUFFER_BYTES) this.out = new Uint8Array(INITIAL_BUFFER_BYTES);
    if (this.plain.length > KEEP_BUFFER_BYTES) this.plain = new Uint8Array(INITIAL_BUFFER_BYTES);
  }

  /** WebCrypto path: seal in frame order now (counters are taken at call), write in order later. */
  private flushAsync(tx: AsyncAead, n: number): void {
    const sealing: Promise<Uint8Array>[] = [];
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const j = i * AEAD_JOB_STRIDE;
      const body = this.plain.slice(this.jobs[j]!, this.jobs[j]! + this.jobs[j + 1]!);
      bytes += body.length + FRAME_PREFIX + AEAD_TAG_BYTES;
      sealing.push(tx.seal(body));
    }
    this.asyncInFlightBytes += bytes;
    this.txChain = this.txChain
      .then(() => Promise.all(sealing))
      .then(
        (sealed) => {
          this.asyncInFlightBytes -= bytes;
          const wire = new Uint8Array(bytes);
          let at = 0;
          for (const s of sealed) {
            writeU32LE(wire, at, s.length);
            wire.set(s, at + FRAME_PREFIX);
            at += FRAME_PREFIX + s.length;
          }
          this.writeOut(wire, at);
        },
        () => {
          this.asyncInFlightBytes -= bytes;
          this.owner.sealFailed(errorReason(ErrorCode.CounterExhausted));
        },
      );
  }

  /** Write `buf[0, length)`; `owned`: the stream may keep `buf` (nobody writes to it again). */
  private writeOut(buf: Uint8Array, length: number, owned = false): void {
    const stream = this.stream;
    if (!stream.open) return;
    const piece = stream.kind === 'websocket' ? WS_WRITE_PIECE_BYTES : length;
    for (let off = 0; off < length; off += piece) {
      const part = buf.subarray(off, Math.min(length, off + piece));
      if (owned) stream.writeOwned!(part);
      else stream.write(part);
    }
    stream.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushTask);
  }
}
