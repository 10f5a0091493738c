/**
 * Which queue an object's events go to: the global one (as the original), or its own once it
 * was created with `ownQueue: true` or its `pollEvents()` was called.
 */
import type { EventRingOptions } from '../core/types.js';
import { EventQueue, globalEventQueue, type EventOwner, type MmEvent } from './events.js';

/** Options shared by Server and Client for their event queue. */
export interface QueueOptions {
  /** Give this object its own queue from the start (default false: the global queue). */
  ownQueue?: boolean;
  /**
   * Capacity (entries, default 2000) and payload arena (bytes) of the own queue. Without
   * `arenaBytes` the arena starts at capacity × `QUEUE_ARENA_BYTES_PER_ENTRY` (512), grows for a
   * burst up to `EVENT_RING_ARENA_BYTES` and shrinks back when polled empty; with it, the arena
   * is fixed at that size.
   */
  queue?: EventRingOptions;
}

/** @internal */
export class QueueSelector {
  private own: EventQueue | null = null;
  /** Whether owners were registered in the global queue (before any switch). */
  private usedGlobal = false;
  private readonly options: EventRingOptions | undefined;

  constructor(options: QueueOptions) {
    this.options = options.queue;
    if (options.ownQueue === true) this.own = new EventQueue(this.options);
  }

  get queue(): EventQueue {
    return this.own ?? globalEventQueue();
  }

  /** Switch to an own queue (once), registering `owners` there. */
  poll(owners: () => Iterable<EventOwner>): MmEvent[] {
    if (this.own === null) {
      this.own = new EventQueue(this.options);
      for (const owner of owners()) this.own.register(owner);
    }
    return this.own.poll();
  }

  /** Events dropped by the queue this object uses. */
  dropped(): number {
    return this.queue.dropped;
  }

  register(owner: EventOwner): void {
    if (this.own === null) this.usedGlobal = true;
    this.queue.register(owner);
  }

  /** Forget `owner` after the next poll, in whichever queue holds it. */
  retire(owner: EventOwner): void {
    if (this.usedGlobal) globalEventQueue().retire(owner);
    this.own?.retire(owner);
  }
}
