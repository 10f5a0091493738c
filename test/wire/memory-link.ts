/**
 * An in-memory pair of ByteStreams for wire tests: bytes written and flushed on one end arrive
 * at the other a macrotask later, through an optional `tap` that may change, drop, split or
 * reorder them (the attacker in the middle).
 */
import type { ByteStream, StreamCloseInfo } from '../../src/transport/types.js';

/** Rewrites one flushed write on its way; returns the reads the peer sees. */
export type Tap = (bytes: Uint8Array) => Uint8Array[];

export class MemoryStream implements ByteStream {
  readonly kind = 'tcp' as const;
  readonly remoteAddress = 'memory';
  readonly remotePort = 1;
  onData: (data: Uint8Array) => void = () => {};
  onClose: (info: StreamCloseInfo) => void = () => {};
  peer!: MemoryStream;
  tap: Tap | null = null;
  /** Every flush: one entry per write() between flushes (to check coalescing). */
  readonly flushes: number[] = [];
  /** Bytes this side has flushed, in order. */
  readonly sent: Uint8Array[] = [];
  private queue: Uint8Array[] = [];
  private closed = false;
  /** Pretend the socket holds this many unsent bytes. */
  stuckBytes = 0;

  get open(): boolean {
    return !this.closed;
  }
  get bufferedBytes(): number {
    let n = this.stuckBytes;
    for (const q of this.queue) n += q.length;
    return n;
  }
  write(data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    this.queue.push(data.slice());
  }
  flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const parts = this.queue;
    this.queue = [];
    this.flushes.push(parts.length);
    const all = join(parts);
    this.sent.push(all);
    if (this.stuckBytes > 0) return;
    const reads = this.tap ? this.tap(all) : [all];
    const peer = this.peer;
    setTimeout(() => {
      for (const r of reads) if (!peer.closed) peer.onData(r);
    }, 0);
  }
  /** Deliver raw bytes to this end as if the peer sent them. */
  inject(bytes: Uint8Array): void {
    setTimeout(() => !this.closed && this.onData(bytes), 0);
  }
  end(): void {
    this.flush();
    setTimeout(() => {
      this.finish();
      this.peer.finish();
    }, 1);
  }
  destroy(): void {
    this.queue = [];
    this.finish();
    setTimeout(() => this.peer.finish(), 0);
  }
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose({ clean: true });
  }
}

/** Two connected in-memory streams: [client end, server end]. */
export function memoryPair(): [MemoryStream, MemoryStream] {
  const a = new MemoryStream();
  const b = new MemoryStream();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Split a flushed write into its frames (u32 LE length + body). */
export function splitFrames(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const len = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    out.push(bytes.slice(at, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** Concatenate byte arrays into a new one. */
export function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond()` holds, polling every 5 ms, up to `ms`. */
export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}
