/**
 * HeldMessages: the messages a paused connection had already sent when the server stopped
 * reading from it (backpressure), copied in arrival order until the queue has room for them.
 */

import { grownSize } from '../core/carry-buffer.js';

/** A FIFO of raw messages in one growing buffer. */
export class HeldMessages {
  private bytes = new Uint8Array(0);
  private fill = 0;
  /** [offset, length] per held message, from `head` on. */
  private spans: number[] = [];
  private head = 0;
  /** Set when the connection closed with messages still held: its close reason, announced after them. */
  closeReason: string | null = null;

  /** Messages held. */
  get count(): number {
    return (this.spans.length - this.head) / 2;
  }

  /** Payload bytes held. */
  get byteLength(): number {
    return this.fill - (this.head < this.spans.length ? this.spans[this.head]! : this.fill);
  }

  /** Copy one message in. */
  add(src: Uint8Array, offset: number, length: number): void {
    if (this.fill + length > this.bytes.length) {
      // Compact what is still held to the front, then grow (doubling) if it still does not fit.
      const start = this.head < this.spans.length ? this.spans[this.head]! : this.fill;
      const live = this.fill - start;
      const need = live + length;
      const grown = need > this.bytes.length ? new Uint8Array(grownSize(this.bytes.length, need, Infinity)) : this.bytes;
      grown.set(this.bytes.subarray(start, this.fill), 0); // set() copies overlapping ranges correctly
      const spans: number[] = [];
      for (let i = this.head; i < this.spans.length; i += 2) spans.push(this.spans[i]! - start, this.spans[i + 1]!);
      this.bytes = grown;
      this.fill = live;
      this.spans = spans;
      this.head = 0;
    }
    this.bytes.set(src.subarray(offset, offset + length), this.fill);
    this.spans.push(this.fill, length);
    this.fill += length;
  }

  /**
   * Hand out held messages, oldest first, while `take` returns true.
   * `take` gets the buffer, offset and length of the next message; the bytes are valid during the call.
   */
  drain(take: (bytes: Uint8Array, offset: number, length: number) => boolean): void {
    while (this.head < this.spans.length) {
      if (!take(this.bytes, this.spans[this.head]!, this.spans[this.head + 1]!)) return;
      this.head += 2;
    }
    this.clear();
  }

  /** Forget everything and release the buffer. */
  clear(): void {
    this.bytes = new Uint8Array(0);
    this.fill = 0;
    this.spans = [];
    this.head = 0;
  }
}
