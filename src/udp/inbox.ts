/**
 * The step-mode inbox of a UdpPipe (udpipe.md §4): datagrams wait here for `step()`, bounded in
 * count and bytes (maxInboxCount, maxInboxBytes), and `wait()` resolves as one arrives.
 */
import type { UdpSession } from './session.js';

/** Longest delay setTimeout honours (ms); a longer one fires at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A datagram waiting for `step()`; `session` null: it arrived on S. */
export interface InboxEntry {
  session: UdpSession | null;
  msg: Buffer;
  address: string;
  port: number;
}

/** @internal Datagrams waiting for `step()`, oldest first. */
export class Inbox {
  private readonly entries: InboxEntry[] = [];
  /** Payload bytes held (bounded by maxBytes). */
  private bytes = 0;
  /** Resolvers of pending `wait()` calls. */
  private waiters: Array<() => void> = [];
  private readonly maxCount: number;
  private readonly maxBytes: number;

  constructor(maxCount: number, maxBytes: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /**
   * Keep a datagram for the next `drain()` and wake the waiters.
   * @returns false, keeping nothing, when either bound would be passed.
   */
  push(session: UdpSession | null, msg: Buffer, address: string, port: number): boolean {
    if (this.entries.length >= this.maxCount || this.bytes + msg.length > this.maxBytes) return false;
    this.bytes += msg.length;
    this.entries.push({ session, msg, address, port });
    this.wake();
    return true;
  }

  /**
   * Hand every datagram waiting now to `handle`, oldest first (`handle` must not throw).
   * @returns how many.
   */
  drain(handle: (e: InboxEntry) => void): number {
    let handled = 0;
    // Entries pushed while handling (none today) wait for the next step: bounded work per call.
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      this.bytes -= e.msg.length;
      handle(e);
      handled++;
    }
    this.entries.splice(0, n);
    return handled;
  }

  /**
   * Resolves when a datagram waits, or at once if one does, `timeoutMs` ≤ 0 or `closed`; else
   * after `timeoutMs` or at `clear()`.
   */
  wait(timeoutMs: number, closed: boolean): Promise<void> {
    if (this.entries.length > 0 || timeoutMs <= 0 || closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      };
      // Node fires a longer timer at once: beyond its ceiling (~24.8 days, or Infinity) only a
      // datagram or destroy() ends the wait.
      const timer = timeoutMs <= MAX_TIMER_DELAY_MS ? setTimeout(done, timeoutMs) : undefined;
      this.waiters.push(done);
    });
  }

  /** Drop every datagram and resolve every pending wait (destroy). */
  clear(): void {
    this.entries.length = 0;
    this.bytes = 0;
    this.wake();
  }

  /** Resolve every pending `wait()`. */
  private wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
