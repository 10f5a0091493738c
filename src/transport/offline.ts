/**
 * An emulated in-process link with latency and bandwidth (joint.md §13): no socket, deliveries
 * are callbacks run after the delay a serial link of `netLag` ms and `netSpeed` bytes/s would
 * add. Browser-safe: it uses only timers.
 */

/** Default latency (ms) of an emulated link: the original's (joint.md §13). */
export const DEFAULT_LINK_LAG_MS = 20;
/** Default bandwidth (bytes/s) of an emulated link: 1 MiB/s (joint.md §13). */
export const DEFAULT_LINK_SPEED_BYTES_PER_SEC = 1024 * 1024;
/**
 * Bound of one delivery's delay (ms), default 60 s. joint.md §13 asks that the queued delay be
 * bounded (the original's can grow without limit); a send that would wait longer is delivered
 * after this bound, still in order.
 */
export const DEFAULT_LINK_MAX_DELAY_MS = 60_000;
/**
 * Bytes one link may hold queued and undelivered (bytes), default 16 MiB, as the relay's outbound
 * cap. A send past it is refused (`send` returns -1): the sender, which sends faster than the
 * emulated bandwidth, is the one held back, and memory stays bounded whatever it sends (issue 13).
 */
export const DEFAULT_LINK_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Options of an EmulatedLink. */
export interface EmulatedLinkOptions {
  /** Latency added to every send (ms, >= 0; default 20). */
  netLagMs?: number;
  /** Bandwidth (bytes/s, > 0; default 1 MiB/s). */
  netSpeedBytesPerSec?: number;
  /** Largest delay of one delivery (ms; default 60000). */
  maxDelayMs?: number;
  /** Bytes queued and undelivered past which a send is refused (default 16 MiB; 0 = no bound). */
  maxQueuedBytes?: number;
}

interface Delivery {
  dueAt: number;
  bytes: number;
  run: () => void;
}

/**
 * One direction of an emulated link. Every `send` is delivered after
 * `max(0, lastDelay − msSinceLastSend) + floor(netLag + 1000 · bytes / netSpeed)` ms
 * (joint.md §13): it queues behind what remains of the previous send's delay, as on a serial
 * line. Deliveries run in send order from one timer.
 *
 * ```ts
 * const link = new EmulatedLink({ netLagMs: 10 });
 * link.send(bytes.length, () => peer.receive(bytes));
 * ```
 */
export class EmulatedLink {
  /** Latency (ms). */
  readonly netLagMs: number;
  /** Bandwidth (bytes/s). */
  readonly netSpeedBytesPerSec: number;
  /** Bound of one delay (ms). */
  readonly maxDelayMs: number;
  /** Bound of the bytes queued (0 = none). */
  readonly maxQueuedBytes: number;
  /** Bytes of the deliveries queued and not yet run. */
  queuedBytes = 0;

  private lastDelay = 0;
  private lastSendAt = 0;
  private readonly queue: Delivery[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDueAt = 0;
  private closed = false;

  /**
   * @throws RangeError for a negative lag, a bandwidth <= 0 or a negative bound
   */
  constructor(options: EmulatedLinkOptions = {}) {
    const lag = options.netLagMs ?? DEFAULT_LINK_LAG_MS;
    const speed = options.netSpeedBytesPerSec ?? DEFAULT_LINK_SPEED_BYTES_PER_SEC;
    const max = options.maxDelayMs ?? DEFAULT_LINK_MAX_DELAY_MS;
    const maxQueued = options.maxQueuedBytes ?? DEFAULT_LINK_MAX_QUEUED_BYTES;
    if (!(Number.isInteger(maxQueued) && maxQueued >= 0)) throw new RangeError(`maxQueuedBytes must be an integer >= 0, got ${maxQueued}`);
    this.maxQueuedBytes = maxQueued;
    if (!(Number.isFinite(lag) && lag >= 0)) throw new RangeError(`netLagMs must be a finite number >= 0, got ${lag}`);
    if (!(speed > 0)) throw new RangeError(`netSpeedBytesPerSec must be > 0, got ${speed}`);
    if (!(Number.isFinite(max) && max >= 0)) throw new RangeError(`maxDelayMs must be a finite number >= 0, got ${max}`);
    this.netLagMs = lag;
    this.netSpeedBytesPerSec = speed;
    this.maxDelayMs = max;
  }

  /** Deliveries queued and not yet run. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * The delay (ms) a send of `bytes` bytes made now would get, without sending.
   * @param bytes payload size (>= 0)
   */
  delayFor(bytes: number, now = Date.now()): number {
    const remaining = Math.max(0, this.lastDelay - (now - this.lastSendAt));
    // joint.md §13: the serial-link model; bounded because the original's grows without limit.
    return Math.min(this.maxDelayMs, remaining + Math.floor(this.netLagMs + (1000 * bytes) / this.netSpeedBytesPerSec));
  }

  /**
   * Queue a delivery of `bytes` bytes; `deliver` runs after the modelled delay, after every
   * earlier delivery of this link. Does nothing once the link is closed.
   * @returns the delay (ms), or -1 when the send is refused: it would put more than
   *   `maxQueuedBytes` in the queue (a send of 0 bytes, a notice, is never refused)
   */
  send(bytes: number, deliver: () => void): number {
    if (this.closed) return 0;
    if (bytes > 0 && this.maxQueuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) return -1;
    const now = Date.now();
    const delay = this.delayFor(bytes, now);
    this.lastDelay = delay;
    this.lastSendAt = now;
    this.queue.push({ dueAt: now + delay, bytes, run: deliver });
    this.queuedBytes += bytes;
    this.arm(now);
    return delay;
  }

  /** Drop every queued delivery and refuse new ones. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(now: number): void {
    if (this.head >= this.queue.length) return;
    const dueAt = this.queue[this.head]!.dueAt;
    if (this.timer !== undefined) {
      if (this.timerDueAt <= dueAt) return;
      clearTimeout(this.timer);
    }
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => this.fire(), Math.max(0, dueAt - now));
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    // In send order: a clamped delay never overtakes an earlier delivery.
    while (!this.closed && this.head < this.queue.length && this.queue[this.head]!.dueAt <= now) {
      const item = this.queue[this.head++]!;
      this.queuedBytes -= item.bytes;
      item.run();
    }
    if (this.closed) return;
    if (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.arm(now);
  }
}
