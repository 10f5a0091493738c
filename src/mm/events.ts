/**
 * The mm event queue: every network event goes into an EventRing (default 2000 entries; when
 * full the oldest is dropped and counted), and `pollEvents()` hands them out in order. Payloads
 * stay raw in the ring (a received table's MessagePack bytes, a reason's UTF-8) and are decoded
 * at poll time, so a dropped event costs no decoding.
 */
import type { EventRing, EventRingOptions } from '../core/types.js';
import { RING_ENTRY_STRIDE } from '../core/types.js';
import { EVENT_RING_ARENA_BYTES, EVENT_RING_CAPACITY, MAX_EVENT_RING_ARENA_BYTES } from '../core/limits.js';
import { TableCodec, type Table } from '../codec/table.js';
import { QUEUE_ARENA_BYTES_PER_ENTRY } from './limits.js';
import type { Platform } from '../platform/types.js';
import type { Client } from './client.js';
import type { Connection } from './connection.js';
import type { Server } from './server.js';

/** Event kinds, as the MM engine's `network.EVENT_*`. */
export const EventType = {
  /** Server side: a new connection completed its handshake; `object` is the Connection. */
  CONNECT: 1,
  /** Client side: the connection attempt ended; `result` true or false (then `error` says why). */
  CONNECTED: 2,
  /** A table arrived; `object` is the Client or the sending Connection, `packet` the table. */
  RECEIVE: 3,
  /** Client side: the server closed the connection or it was lost; `reason` says which. */
  SERVER_CLOSE: 4,
  /** Server side: a connection ended, whatever the cause; its handle is invalid afterwards. */
  CLIENT_CLOSE: 5,
  /** Something went wrong; `error` is the reason. A close event of the same object follows. */
  ERROR: 6,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The objects events are about. */
export type EventObject = Server | Client | Connection;

/** Fields every event has. `timestamp`: seconds since the Unix epoch, with sub-ms precision. */
interface EventBase {
  readonly timestamp: number;
}
/** A new connection (server side). */
export interface ConnectEvent extends EventBase {
  readonly type: typeof EventType.CONNECT;
  readonly object: Connection;
}
/** The outcome of a connection attempt (client side). */
export interface ConnectedEvent extends EventBase {
  readonly type: typeof EventType.CONNECTED;
  readonly object: Client;
  readonly result: boolean;
  /** Why it failed (result false). */
  readonly error?: string;
}
/** A received table. */
export interface ReceiveEvent extends EventBase {
  readonly type: typeof EventType.RECEIVE;
  readonly object: Client | Connection;
  readonly packet: Table;
}
/** The server went away (client side). */
export interface ServerCloseEvent extends EventBase {
  readonly type: typeof EventType.SERVER_CLOSE;
  readonly object: Client;
  readonly reason: string;
}
/** A connection ended (server side). */
export interface ClientCloseEvent extends EventBase {
  readonly type: typeof EventType.CLIENT_CLOSE;
  readonly object: Connection;
  readonly reason: string;
}
/** An error with its reason. */
export interface ErrorEvent extends EventBase {
  readonly type: typeof EventType.ERROR;
  readonly object: EventObject;
  readonly error: string;
}
/** One polled event; switch on `type`. */
export type MmEvent = ConnectEvent | ConnectedEvent | ReceiveEvent | ServerCloseEvent | ClientCloseEvent | ErrorEvent;

/** Anything that can be the `object` of an event: it has a unique id. */
export interface EventOwner {
  /** Unique id (also `getSocket()`). */
  readonly id: number;
  /** Called when a RECEIVE payload fails to decode at poll time: drop the sender. */
  dropForBadTable?(reason: string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const RESULT_TRUE = Uint8Array.of(1);
const RESULT_FALSE = Uint8Array.of(0);

/** Seconds since the epoch, from the monotonic clock. */
export function eventTimestamp(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

let nextId = 1;
/** A fresh object id, unique in this process (ids double as `getSocket()` values). */
export function newObjectId(): number {
  return nextId++;
}

/**
 * A queue of events over one EventRing, with the objects its events refer to.
 *
 * The ring holds object ids, not objects; `objects` resolves them at poll time. An object is
 * kept there while it may still push events, and after it retires only while one of its events
 * is still queued: `queuedOwners` mirrors the ring's order (one id per queued event) so that
 * when the full ring drops its oldest events, their owners' counts drop too, and a retired
 * owner with nothing left queued is released at once. An application that never polls this
 * queue therefore keeps at most `capacity` retired objects alive, not every connection ever made.
 */
export class EventQueue {
  private ringNow: EventRing;
  /** Arena size the ring starts with and returns to; null: fixed by the caller's `arenaBytes`. */
  private readonly baseArenaBytes: number | null;
  /** Drops of rings this queue replaced (growth, shrink). */
  private droppedBefore = 0;
  /** Payload bytes queued now (mirrors the ring, to grow it before it would drop). */
  private queuedBytes = 0;
  /** Payload length of each queued event, parallel to `queuedOwners`. */
  private readonly queuedLengths: Float64Array;
  /** Called once at the end of the next `poll()`. */
  private pollListeners: Array<() => void> = [];
  private readonly objects = new Map<number, EventOwner>();
  /** Queued events per owner id (ids with none are absent). */
  private readonly pending = new Map<number, number>();
  /** Queued payload bytes per owner id (ids with none are absent). */
  private readonly pendingBytes = new Map<number, number>();
  /** Owners that push no more events but still have events queued. */
  private retired = new Set<number>();
  /** True inside `poll()`: owners resolved there must stay until its end. */
  private polling = false;
  /** Owner id of each queued event, oldest first: a circular buffer of `ring.capacity` slots. */
  private readonly queuedOwners: Float64Array;
  private queuedHead = 0;
  private queuedCount = 0;
  private readonly codec = new TableCodec();

  /**
   * @param rings makes the EventRing (the entry's platform: core's loader choice on Node, the
   *   TypeScript ring in browsers)
   * @param options ring capacity (default 2000) and payload arena bytes (default: capacity ×
   *   `QUEUE_ARENA_BYTES_PER_ENTRY`, growing on demand up to `EVENT_RING_ARENA_BYTES`; an
   *   explicit value fixes the arena at that size)
   * @throws RangeError on a bad capacity
   */
  constructor(
    private readonly rings: Pick<Platform, 'eventRing'>,
    options?: EventRingOptions,
  ) {
    const capacity = options?.capacity ?? EVENT_RING_CAPACITY;
    if (options?.arenaBytes !== undefined) {
      this.baseArenaBytes = null;
      this.ringNow = this.rings.eventRing(options);
    } else {
      const base = Number.isInteger(capacity) && capacity > 0 ? Math.min(EVENT_RING_ARENA_BYTES, capacity * QUEUE_ARENA_BYTES_PER_ENTRY) : 0;
      this.baseArenaBytes = base;
      this.ringNow = this.rings.eventRing({ capacity, arenaBytes: base });
    }
    this.queuedOwners = new Float64Array(this.ringNow.capacity);
    this.queuedLengths = new Float64Array(this.ringNow.capacity);
  }

  /** The ring events are queued in now (replaced when its arena grows or shrinks). */
  get ring(): EventRing {
    return this.ringNow;
  }

  /** Events dropped because the ring was full (since it was created). */
  get dropped(): number {
    return this.droppedBefore + this.ringNow.dropped;
  }

  /** Events of `id` waiting in this queue. */
  queuedFor(id: number): number {
    return this.pending.get(id) ?? 0;
  }

  /** Payload bytes of `id`'s events waiting in this queue. */
  queuedBytesFor(id: number): number {
    return this.pendingBytes.get(id) ?? 0;
  }

  /** Run `fn` once at the end of the next `poll()`. */
  onNextPoll(fn: () => void): void {
    this.pollListeners.push(fn);
  }

  /** Events waiting. */
  get size(): number {
    return this.ring.size;
  }

  /** @internal Objects this queue keeps alive (registered and not released), for leak tests. */
  get retainedObjects(): number {
    return this.objects.size;
  }

  /** Make `owner` resolvable for its events. */
  register(owner: EventOwner): void {
    this.objects.set(owner.id, owner);
  }

  /** Register every owner of this queue in `other` too (when a queue is replaced). */
  moveOwnersTo(other: EventQueue): void {
    for (const owner of this.objects.values()) if (!this.retired.has(owner.id)) other.register(owner);
  }

  /** `owner` will push no more events: forget it once none of its events is queued. */
  retire(owner: EventOwner): void {
    // Only owners registered here: a queue nobody polls must not collect ids of every
    // connection ever retired through QueueSelector (which retires in both queues).
    if (this.objects.get(owner.id) !== owner) return;
    if (this.polling || this.pending.has(owner.id)) this.retired.add(owner.id);
    else this.objects.delete(owner.id);
  }

  /** Queue an event with a raw payload (copied). */
  push(type: EventType, owner: EventOwner, payload: Uint8Array = EMPTY, offset = 0, length = payload.length): void {
    this.reserve(length);
    this.track(owner.id, length, this.ringNow.push(type, owner.id, eventTimestamp(), payload, offset, length));
  }

  /** Queue an event whose payload is a reason string. */
  pushText(type: EventType, owner: EventOwner, text: string): void {
    const bytes = encoder.encode(text);
    this.push(type, owner, bytes, 0, bytes.length);
  }

  /**
   * Grow a growable arena before a push of `length` bytes would make the ring drop for space:
   * double it (at least to fit twice what would be queued, so fragmentation of the circular
   * arena does not drop either) up to `EVENT_RING_ARENA_BYTES`. Queued events move over in order.
   */
  private reserve(length: number): void {
    const base = this.baseArenaBytes;
    const old = this.ringNow;
    if (base === null || length === 0 || 2 * (this.queuedBytes + length) <= old.arenaBytes) return;
    const ceiling = Math.min(MAX_EVENT_RING_ARENA_BYTES, Math.max(EVENT_RING_ARENA_BYTES, length));
    if (old.arenaBytes >= ceiling) return; // as large as allowed: the ring drops the oldest as before
    let size = Math.max(1024, old.arenaBytes * 2);
    while (size < 2 * (this.queuedBytes + length) && size < ceiling) size *= 2;
    size = Math.min(size, ceiling);
    const ring = this.rings.eventRing({ capacity: old.capacity, arenaBytes: size });
    const n = old.size === 0 ? 0 : old.poll();
    if (n > 0) ring.pushBatch(old.polled, n, old.arena); // fits: size > queued bytes, same capacity
    this.droppedBefore += old.dropped;
    this.ringNow = ring;
  }

  /**
   * Mirror one ring push: `dropped` oldest events left the ring (their owners' counts go down),
   * then, unless the push failed (negative), the new event joined it.
   */
  private track(id: number, length: number, dropped: number): void {
    if (dropped < 0) return;
    const cap = this.queuedOwners.length;
    for (let k = 0; k < dropped && this.queuedCount > 0; k++) {
      const old = this.queuedOwners[this.queuedHead]!;
      const oldLength = this.queuedLengths[this.queuedHead]!;
      this.queuedBytes -= oldLength;
      const left = this.pendingBytes.get(old)! - oldLength;
      if (left > 0) this.pendingBytes.set(old, left);
      else this.pendingBytes.delete(old);
      this.queuedHead = (this.queuedHead + 1) % cap;
      this.queuedCount--;
      const n = this.pending.get(old)! - 1;
      if (n > 0) this.pending.set(old, n);
      else {
        this.pending.delete(old);
        if (this.retired.delete(old)) this.objects.delete(old);
      }
    }
    const tail = (this.queuedHead + this.queuedCount) % cap;
    this.queuedOwners[tail] = id;
    this.queuedLengths[tail] = length;
    this.queuedBytes += length;
    this.queuedCount++;
    this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
    if (length > 0) this.pendingBytes.set(id, (this.pendingBytes.get(id) ?? 0) + length);
  }

  /** Queue a CONNECTED event. */
  pushConnected(owner: EventOwner, result: boolean, error = ''): void {
    if (result) {
      this.push(EventType.CONNECTED, owner, RESULT_TRUE);
      return;
    }
    const text = encoder.encode(error);
    const payload = new Uint8Array(1 + text.length);
    payload.set(RESULT_FALSE, 0);
    payload.set(text, 1);
    this.push(EventType.CONNECTED, owner, payload);
  }

  /** Take every queued event, oldest first, decoding payloads now. */
  poll(): MmEvent[] {
    const ring = this.ringNow;
    const n = ring.size === 0 ? 0 : ring.poll();
    const polledBytes = this.queuedBytes;
    // The ring is empty now. Events pushed while decoding (a bad table drops its sender) are
    // tracked afresh; retired owners are released at the end unless such an event needs them.
    this.pending.clear();
    this.pendingBytes.clear();
    this.queuedHead = 0;
    this.queuedCount = 0;
    this.queuedBytes = 0;
    this.polling = true;
    const events: MmEvent[] = new Array(n);
    const polled = ring.polled;
    const arena = ring.arena;
    let kept = 0;
    let drops: Array<EventOwner | string> | undefined;
    for (let i = 0; i < n; i++) {
      const s = i * RING_ENTRY_STRIDE;
      const type = polled[s]! as EventType;
      const owner = this.objects.get(polled[s + 1]!);
      if (owner === undefined) continue; // cannot happen: owners outlive their events
      const timestamp = polled[s + 2]!;
      const off = polled[s + 3]!;
      const len = polled[s + 4]!;
      const object = owner as unknown as EventObject;
      let event: MmEvent;
      switch (type) {
        case EventType.RECEIVE: {
          const decoded = this.codec.decodeScanned(arena, off, len);
          if (decoded.ok) event = { type, timestamp, object: object as Client | Connection, packet: decoded.table };
          else {
            // Dropped after the loop: the drop pushes events, and a push reuses the arena that
            // the payloads still to decode in this loop live in.
            (drops ??= []).push(owner, decoded.error);
            event = { type: EventType.ERROR, timestamp, object, error: decoded.error };
          }
          break;
        }
        case EventType.CONNECTED:
          event =
            len > 0 && arena[off] === 1
              ? { type, timestamp, object: object as Client, result: true }
              : { type, timestamp, object: object as Client, result: false, error: decoder.decode(arena.subarray(off + 1, off + len)) };
          break;
        case EventType.ERROR:
          event = { type, timestamp, object, error: decoder.decode(arena.subarray(off, off + len)) };
          break;
        case EventType.SERVER_CLOSE:
          event = { type, timestamp, object: object as Client, reason: decoder.decode(arena.subarray(off, off + len)) };
          break;
        case EventType.CLIENT_CLOSE:
          event = { type, timestamp, object: object as Connection, reason: decoder.decode(arena.subarray(off, off + len)) };
          break;
        default:
          event = { type: EventType.CONNECT, timestamp, object: object as Connection };
      }
      events[kept++] = event;
    }
    events.length = kept;
    if (drops !== undefined) for (let i = 0; i < drops.length; i += 2) (drops[i] as EventOwner).dropForBadTable?.(drops[i + 1] as string);
    // A burst grew the arena: give its pages back once the ring is empty again and this poll
    // took little (under a quarter of the start size), so steady heavy traffic keeps the
    // larger arena instead of reallocating it at every poll.
    const base = this.baseArenaBytes;
    if (base !== null && this.ringNow.arenaBytes > base && this.ringNow.size === 0 && polledBytes * 4 <= base) {
      this.droppedBefore += this.ringNow.dropped;
      this.ringNow = this.rings.eventRing({ capacity: this.ringNow.capacity, arenaBytes: base });
    }
    this.polling = false;
    const retired = this.retired;
    this.retired = new Set();
    for (const id of retired) {
      if (this.pending.has(id)) this.retired.add(id);
      else this.objects.delete(id);
    }
    if (this.pollListeners.length > 0) {
      const listeners = this.pollListeners;
      this.pollListeners = [];
      for (const fn of listeners) fn();
    }
    return events;
  }
}
