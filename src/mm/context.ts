/**
 * What one mm entry runs on: its platform (sockets, crypto, parsers, rings) and its global event
 * queue. `gamewire/mm` makes one on the Node platform (node-context.ts), `gamewire/browser` one on
 * the browser platform; Client, Server and the queue functions of that entry use it. Browser-safe.
 */
import type { EventRingOptions } from '../core/types.js';
import type { Platform } from '../platform/types.js';
import { EventQueue, type MmEvent } from './events.js';

/** An entry's platform and its global queue (created at first use). */
export class MmContext {
  private global: EventQueue | null = null;
  private globalOptions: EventRingOptions | undefined;

  /** @param platform what Clients connect with and queues are built on */
  constructor(readonly platform: Platform) {}

  /** A new queue on this context's platform (an object's own queue). */
  newQueue(options?: EventRingOptions): EventQueue {
    return new EventQueue(this.platform, options);
  }

  /** The one global queue (created at first use). */
  globalQueue(): EventQueue {
    if (this.global === null) this.global = this.newQueue(this.globalOptions);
    return this.global;
  }

  /**
   * Set the global queue's capacity and payload arena. Takes effect at once when the queue is
   * empty or not yet created.
   * @throws RangeError when the queue still holds events, or on a bad capacity
   */
  configureEventQueue(options: EventRingOptions): void {
    if (this.global !== null && this.global.size > 0) throw new RangeError('configureEventQueue: poll the queued events first');
    this.globalOptions = { ...options };
    if (this.global !== null) {
      const old = this.global;
      this.global = this.newQueue(this.globalOptions);
      old.moveOwnersTo(this.global);
    }
  }

  /** Every event since the last call, from the global queue, oldest first. */
  pollEvents(): MmEvent[] {
    return this.globalQueue().poll();
  }

  /** Events the global queue dropped because it was full (since it was created). */
  droppedEvents(): number {
    return this.global === null ? 0 : this.global.dropped;
  }
}
