/**
 * Helpers the mm, udp and events drivers share: how many clients this thread opens, and the
 * first-in-first-out list of frames awaiting an answer.
 */
import type { BenchMode, DriverContext } from '../types.js';
import { share } from '../workers.js';

/** Clients this thread opens: its share of `users`, split as the engine splits senders (workers.ts `share`). */
export function senderShare(context: DriverContext): number {
  return share(context.options.users, context.worker, context.workers).count;
}

/**
 * @returns `mode` when `kind` supports it
 * @throws RangeError naming the mode and the ones `kind` supports
 */
export function checkMode(kind: string, mode: BenchMode, supported: readonly BenchMode[]): BenchMode {
  if (!supported.includes(mode)) throw new RangeError(`mode must be one of ${supported.join(', ')} for ${kind}, got '${mode}'`);
  return mode;
}

/** A FIFO of (counter, text) pairs, compacted as it drains (no per-item allocation but the array growth). */
export class PairFifo {
  private ns: number[] = [];
  private texts: string[] = [];
  private head = 0;

  get size(): number {
    return this.ns.length - this.head;
  }

  push(n: number, text: string): void {
    this.ns.push(n);
    this.texts.push(text);
  }

  /** Counter of the oldest pair, or -1 when empty. */
  peekN(): number {
    return this.head < this.ns.length ? this.ns[this.head]! : -1;
  }

  /** Remove the oldest pair and return its text (call only when not empty). */
  shift(): string {
    const text = this.texts[this.head]!;
    this.texts[this.head] = '';
    this.head++;
    if (this.head === this.ns.length) {
      this.ns.length = 0;
      this.texts.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.ns.length) {
      this.ns = this.ns.slice(this.head);
      this.texts = this.texts.slice(this.head);
      this.head = 0;
    }
    return text;
  }

  clear(): void {
    this.ns.length = 0;
    this.texts.length = 0;
    this.head = 0;
  }
}

/** A copy of `payload` with every byte inverted: what a driver delivers for a frame whose checksum failed, so the engine counts it corrupted. */
export function corrupted(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ 0xff;
  return out;
}
