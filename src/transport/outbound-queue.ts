/**
 * The outbound queue of one stream (TcpStream, WsStream): writes wait here until the stream's
 * `flush()` takes them as one batch for the socket (DESIGN.md: one coalesced write per tick).
 * It also owns the stream's open/closed state, so a closed stream queues nothing and reports no
 * progress. Imports nothing, so WsStream stays browser-safe.
 */

/** The stream whose `onWritten` hook the queue calls. */
export interface WrittenHookOwner {
  readonly onWritten?: (() => void) | undefined;
}

/** Chunks queued for the next flush, oldest first, and their byte total. */
export class OutboundQueue {
  /** Queued chunks; the shared empty list while nothing is queued (no array per idle stream). */
  private chunks: Uint8Array[] = NONE;
  private queuedBytes = 0;
  private isClosed = false;
  private readonly owner: WrittenHookOwner;
  /**
   * Write callback of a flush's last chunk: made at the first flush that needs it, then reused
   * (no closure per flush, none for a stream never flushed with a hook).
   */
  private written: (() => void) | null = null;

  /** @param owner the stream; its `onWritten` is read at each flush, so it may be set later. */
  constructor(owner: WrittenHookOwner) {
    this.owner = owner;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes queued and not yet taken. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queue a copy of `data` (callers reuse their buffers, STYLE.md §5; one memcpy per message). */
  write(data: Uint8Array): void {
    if (this.isClosed || data.length === 0) return;
    if (this.chunks === NONE) this.chunks = [];
    this.chunks.push(Uint8Array.prototype.slice.call(data));
    this.queuedBytes += data.length;
  }

  /** Queue `data` itself: the caller hands it over and never changes those bytes again. */
  writeOwned(data: Uint8Array): void {
    if (this.isClosed || data.length === 0) return;
    if (this.chunks === NONE) this.chunks = [];
    this.chunks.push(data);
    this.queuedBytes += data.length;
  }

  /**
   * Take everything queued for one flush, leaving the queue empty.
   * @returns the chunks, oldest first (the caller's now), or null when closed or empty.
   */
  take(): Uint8Array[] | null {
    if (this.isClosed || this.chunks.length === 0) return null;
    const chunks = this.chunks;
    this.chunks = NONE;
    this.queuedBytes = 0;
    return chunks;
  }

  /**
   * The callback to pass with the last write of a flush: chunks complete in order, so it means
   * the whole flush reached the kernel, and it calls the owner's `onWritten` unless the stream
   * closed meanwhile. The relay's backpressure waits on it.
   * @returns undefined when the owner has no `onWritten` hook (nothing to call back).
   */
  lastWriteCallback(): (() => void) | undefined {
    if (this.owner.onWritten === undefined) return undefined;
    return (this.written ??= () => {
      if (!this.isClosed) this.owner.onWritten?.();
    });
  }

  /** Drop everything queued (the stream is being destroyed). */
  clear(): void {
    this.chunks = NONE;
    this.queuedBytes = 0;
  }

  /** The stream closed: drop everything queued; later writes are ignored, no callback fires. */
  close(): void {
    this.isClosed = true;
    this.clear();
  }
}

/** The empty queue, shared: never pushed to (writes replace it with a fresh array first). */
const NONE: Uint8Array[] = [];
