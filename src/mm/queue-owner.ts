/**
 * Which queue an object's events go to: the global one (as the original), or its own once it
 * was created with `ownQueue: true` or its `pollEvents()` was called.
 */
import type { EventRingOptions } from '../core/types.js';
import type { EventQueue, EventOwner, MmEvent } from './events.js';
import type { MmContext } from './context.js';

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

  /**
   * @param context the entry's platform and global queue
   * @param options own queue or the global one, and the own queue's size
   */
  constructor(
    private readonly context: MmContext,
    options: QueueOptions,
  ) {
    this.options = options.queue;
    if (options.ownQueue === true) this.own = context.newQueue(this.options);
  }

  get queue(): EventQueue {
    return this.own ?? this.context.globalQueue();
  }

  /** Switch to an own queue (once), registering `owners` there. */
  poll(owners: () => Iterable<EventOwner>): MmEvent[] {
    if (this.own === null) {
      this.own = this.context.newQueue(this.options);
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
    if (this.usedGlobal) this.context.globalQueue().retire(owner);
    this.own?.retire(owner);
  }
}
