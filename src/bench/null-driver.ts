/**
 * A driver without a network: every payload sent comes back to the engine on the next turn of the
 * event loop (one setImmediate per batch), to `fanout` receivers. It measures the generator's own
 * ceiling (nothing else costs anything), and with its injected faults it is the misbehaving target
 * the engine's tests need: loss, corruption, duplication, reordering, stalls, refusals.
 */
import { share } from './workers.js';
import type { BenchDriver, DriverContext, DriverFactory } from './types.js';

/** Behaviour and faults of a null driver. Every "every N" counts frames this driver was sent, from 1. */
export interface NullDriverOptions {
  /** Receivers of each frame. Default 1. */
  readonly fanout?: number;
  /** What the driver claims about order. Default true. */
  readonly ordered?: boolean;
  /** Senders per thread; default the thread's share of users x joints. */
  readonly senders?: number;
  /** Drop every Nth frame (none of its deliveries happen). */
  readonly dropEvery?: number;
  /** Flip a byte in the first delivery of every Nth frame. */
  readonly corruptEvery?: number;
  /** Deliver every Nth frame twice to its first receiver. */
  readonly duplicateEvery?: number;
  /** Hold every Nth frame back and deliver it after the next frame of the same sender. */
  readonly reorderEvery?: number;
  /** Report an error through `fail` on every Nth frame (it is still delivered). */
  readonly failEvery?: number;
  /**
   * Stop delivering for `forMs` every `everyMs` (from open): what arrives meanwhile is held and
   * delivered when the stall ends. With `refuse`, send() also returns false meanwhile (a full
   * socket buffer).
   */
  readonly stall?: { readonly everyMs: number; readonly forMs: number; readonly refuse?: boolean };
  /** open() takes this long (ms). */
  readonly openDelayMs?: number;
  /** open() rejects with this message. */
  readonly openError?: string;
}

/** A null driver factory with these options (what `benchWith` takes). */
export function nullDriver(options: NullDriverOptions = {}): DriverFactory {
  return (context) => new NullDriver(context, options);
}

/** The null driver as a DriverModule export: `{ url: <this module>, name: 'nullDriver', args: [options] }`. */
export const NULL_DRIVER_URL = new URL('./null-driver.js', import.meta.url).href;

class NullDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered: boolean;
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => undefined;
  fail: (error: Error) => void = () => undefined;

  private readonly fanoutCount: number;
  private readonly faults: NullDriverOptions;
  private sentCount = 0;
  private openedAt = 0;
  private closed = false;
  private readonly queue: Array<Uint8Array | number> = [];
  private scheduled = false;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly heldBack = new Map<number, Uint8Array>();

  constructor(context: DriverContext, options: NullDriverOptions) {
    const { users, joints } = context.options;
    this.senders = options.senders ?? share(users * joints, context.worker, context.workers).count;
    this.ordered = options.ordered ?? true;
    this.fanoutCount = options.fanout ?? 1;
    this.faults = options;
  }

  fanout(): number {
    return this.fanoutCount;
  }

  async open(): Promise<void> {
    if (this.faults.openDelayMs !== undefined) await new Promise((r) => setTimeout(r, this.faults.openDelayMs));
    if (this.faults.openError !== undefined) throw new Error(this.faults.openError);
    this.openedAt = performance.now();
  }

  send(sender: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    const f = this.faults;
    if (f.stall?.refuse === true && this.stallLeft() > 0) return false;
    const n = ++this.sentCount;
    if (f.failEvery !== undefined && n % f.failEvery === 0) this.fail(new Error('null driver: injected error'));
    if (f.dropEvery !== undefined && n % f.dropEvery === 0) return true;
    // A transport copies: the engine may reuse its buffer once send() returns.
    const frame = Buffer.from(payload);
    if (f.reorderEvery !== undefined && n % f.reorderEvery === 0 && !this.heldBack.has(sender)) {
      this.heldBack.set(sender, frame);
      return true;
    }
    this.push(sender, frame, f.corruptEvery !== undefined && n % f.corruptEvery === 0, f.duplicateEvery !== undefined && n % f.duplicateEvery === 0);
    const held = this.heldBack.get(sender);
    if (held !== undefined) {
      this.heldBack.delete(sender);
      this.push(sender, held, false, false);
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.heldBack.clear();
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
  }

  private push(sender: number, frame: Uint8Array, corrupt: boolean, duplicate: boolean): void {
    const first = sender * this.fanoutCount;
    for (let j = 0; j < this.fanoutCount; j++) {
      let bytes = frame;
      if (corrupt && j === 0) {
        bytes = Buffer.from(frame);
        bytes[bytes.byteLength - 1]! ^= 0x40;
      }
      this.queue.push(bytes, first + j);
      if (duplicate && j === 0) this.queue.push(bytes, first + j);
    }
    this.schedule();
  }

  /** ms left of the current stall, 0 outside one. */
  private stallLeft(): number {
    const stall = this.faults.stall;
    if (stall === undefined) return 0;
    const phase = (performance.now() - this.openedAt) % stall.everyMs;
    return phase < stall.forMs ? stall.forMs - phase : 0;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    const left = this.stallLeft();
    if (left > 0) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        this.flush();
      }, Math.ceil(left));
    } else setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.stallLeft() > 0) return this.schedule();
    // Only what is queued now: deliveries may make the engine send more, which waits for the next turn.
    const batch = this.queue.splice(0);
    for (let i = 0; i < batch.length; i += 2) this.deliver(batch[i] as Uint8Array, batch[i + 1] as number);
  }
}
