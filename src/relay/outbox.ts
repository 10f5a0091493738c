/**
 * The bytes the relay owes one peer since its last flush. Units are written straight into a slab
 * (no per-frame allocation) and handed to the stream without a copy: bytes before `start` belong
 * to the socket and are never written again while it may still hold them; a full slab is abandoned
 * to the socket and replaced. Once a raw-TCP socket reports nothing unsent after a flush, the slab
 * is reused from its start (no allocation per read for a peer that keeps up).
 * One flush per read (or per timer tick) means one socket write per destination (DESIGN.md).
 */
import type { ByteStream } from '../transport/types.js';
import { OUTBOX_RETAIN_MAX_BYTES, OUTBOX_SLAB_BYTES } from './limits.js';

export class Outbox {
  /** The slab; write units at `end` after `reserve()`. */
  buf: Buffer = EMPTY;
  /** Offset where the pending bytes begin. */
  private start = 0;
  /** Offset after the pending bytes. */
  end = 0;
  /** WebSocket peers: the end offset of every unit, since each unit is one message (joint.md §9). */
  private readonly unitEnds: number[] | null;
  /**
   * Size of the next slab: the smallest at first and after `release()`, else the size of the last
   * one, so a peer that keeps the relay busy does not go back to small slabs after each full one.
   */
  private slabBytes = OUTBOX_SLAB_BYTES;
  /** Byte-stream peers: buffers queued before the slab's pending bytes (shared broadcast runs). */
  private chunks: Buffer[] = NO_CHUNKS;
  private chunkBytes = 0;

  /** @param messages true for a WebSocket peer: keep unit boundaries. */
  constructor(messages: boolean) {
    this.unitEnds = messages ? [] : null;
  }

  /** Bytes waiting for the next flush. */
  get pending(): number {
    return this.end - this.start + this.chunkBytes;
  }

  /**
   * Byte-stream peers only: queue `bytes` (shared with other peers, never modified) after what is
   * pending, without a copy.
   */
  appendShared(bytes: Buffer): void {
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    if (this.end > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.end));
      this.chunkBytes += this.end - this.start;
      this.start = this.end;
    }
    this.chunks.push(bytes);
    this.chunkBytes += bytes.length;
  }

  /**
   * Take the pending bytes out as a buffer that will never be written again (for sharing), instead
   * of flushing them to a stream. Byte-stream outboxes without shared chunks only.
   */
  takePending(): Buffer {
    const out = this.buf.subarray(this.start, this.end);
    this.start = this.end;
    if (this.buf.length - this.end < 256) this.abandon();
    return out;
  }

  /**
   * Make room for `bytes` more bytes at `end` (moving the pending bytes to a new slab if needed).
   * @returns `end`, where the caller writes; it then calls `commit()`.
   */
  reserve(bytes: number): number {
    if (this.end + bytes <= this.buf.length) return this.end;
    const pending = this.end - this.start;
    // Doubling keeps a read that owes this peer a lot at O(n) copying, not O(n²).
    const slab = Buffer.allocUnsafe(Math.max(this.slabBytes, this.buf.length, 2 * (pending + bytes)));
    if (pending > 0) this.buf.copy(slab, 0, this.start, this.end);
    const ends = this.unitEnds;
    if (ends !== null) for (let i = 0; i < ends.length; i++) ends[i]! -= this.start;
    this.buf = slab;
    this.start = 0;
    this.end = pending;
    return pending;
  }

  /** Mark the unit written up to `end` as complete. */
  commit(end: number): void {
    this.end = end;
    if (this.unitEnds !== null) this.unitEnds.push(end);
  }

  /**
   * Hand everything pending to `stream` (without a copy) and flush it.
   * @returns the bytes handed over.
   */
  flushTo(stream: ByteStream): number {
    const bytes = this.end - this.start + this.chunkBytes;
    if (bytes === 0) return 0;
    const buf = this.buf;
    const write = stream.writeOwned ?? stream.write;
    const ends = this.unitEnds;
    if (this.chunkBytes > 0) {
      for (let i = 0; i < this.chunks.length; i++) write.call(stream, this.chunks[i]!);
      this.chunks = NO_CHUNKS;
      this.chunkBytes = 0;
    }
    if (ends === null) {
      if (this.end > this.start) write.call(stream, buf.subarray(this.start, this.end));
    } else {
      let from = this.start;
      for (let i = 0; i < ends.length; i++) {
        write.call(stream, buf.subarray(from, ends[i]));
        from = ends[i]!;
      }
      ends.length = 0;
    }
    stream.flush();
    if (ends === null && stream.kind === 'tcp' && stream.bufferedBytes === 0 && this.buf.length <= OUTBOX_RETAIN_MAX_BYTES) {
      // Nothing is left unsent (`bufferedBytes` counts every byte queued or held by the socket):
      // the kernel has the bytes and nobody references the slab, so it is written again from its
      // start. A peer that keeps up thus costs no allocation per read; one that lags gets fresh slabs.
      this.start = this.end = 0;
      return bytes;
    }
    this.start = this.end;
    // A slab with little room left is abandoned to the socket rather than reused for scraps.
    if (this.buf.length - this.end < 256) this.abandon();
    return bytes;
  }

  /** Leave the full slab to whoever holds its bytes; the next one is as large. */
  private abandon(): void {
    this.slabBytes = Math.min(OUTBOX_RETAIN_MAX_BYTES, Math.max(this.slabBytes, this.buf.length));
    this.buf = EMPTY;
    this.start = this.end = 0;
  }

  /**
   * Give the slab back when nothing is pending, and start small again: called for a peer that was
   * sent nothing for a while, so an idle peer holds no slab (issue 13: memory per idle connection).
   * The socket may still hold bytes of the old slab; they stay valid, as the slab is never reused.
   */
  release(): void {
    if (this.end !== this.start || this.chunkBytes !== 0) return;
    this.buf = EMPTY;
    this.start = this.end = 0;
    this.slabBytes = OUTBOX_SLAB_BYTES;
  }

  /**
   * Send `unit`, a constant never modified, as it is when nothing is pending (else behind what is):
   * a keepalive to an idle peer then needs no slab.
   * @returns the bytes handed over.
   */
  sendAlone(stream: ByteStream, unit: Uint8Array): number {
    if (this.pending > 0) {
      const at = this.reserve(unit.length);
      this.buf.set(unit, at);
      this.commit(at + unit.length);
      return this.flushTo(stream);
    }
    (stream.writeOwned ?? stream.write).call(stream, unit);
    stream.flush();
    return unit.length;
  }

  /** Forget anything pending (the peer is gone). */
  clear(): void {
    this.chunks = NO_CHUNKS;
    this.chunkBytes = 0;
    this.buf = EMPTY;
    this.start = this.end = 0;
    if (this.unitEnds !== null) this.unitEnds.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
/** No shared chunks: one empty list for every outbox (replaced by a fresh array before a push). */
const NO_CHUNKS: Buffer[] = [];
