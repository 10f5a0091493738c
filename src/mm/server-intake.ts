/**
 * What a Server's connections may queue (backpressure): received messages go to the event
 * queue while the connection is under its caps; past them it is paused, its messages held in
 * order until polls drain them. While any connection's outbound backlog is congested, every
 * connection queues under a smaller byte cap.
 */
import { CloseCode } from '../wire/protocol.js';
import type { SessionLimits } from '../wire/session.js';
import type { Connection } from './connection.js';
import { MmArgumentError } from './errors.js';
import { EventType } from './events.js';
import { HeldMessages } from './held-messages.js';
import {
  CONGESTED_QUEUED_BYTES_PER_CONNECTION,
  MAX_HELD_BYTES_PER_CONNECTION,
  MAX_HELD_EVENTS_PER_CONNECTION,
  MAX_QUEUED_BYTES_PER_CONNECTION,
  MAX_QUEUED_EVENTS_PER_CONNECTION,
  SEND_HIGH_WATER_BYTES,
} from './limits.js';
import type { QueueSelector } from './queue-owner.js';
import { checkCount, type ServerOptions } from './server-options.js';

/** @internal The intake caps of a Server, checked from its options. */
export interface IntakeLimits {
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  sendHighWater: number;
  congestedQueuedBytes: number;
  maxHeldEvents: number;
  maxHeldBytes: number;
}

/**
 * @internal Read the intake options (before the server's queue exists, so a bad option is
 * reported in the same order as before the split).
 * @throws MmArgumentError on a bad intake option
 */
export function readIntakeLimits(options: ServerOptions, limits: SessionLimits): IntakeLimits {
  const maxQueued = options.maxQueuedEvents ?? MAX_QUEUED_EVENTS_PER_CONNECTION;
  if (!Number.isInteger(maxQueued) || maxQueued < 0) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', `maxQueuedEvents must be a non-negative integer, got ${maxQueued}`);
  }
  const maxQueuedBytes = checkCount('maxQueuedBytes', options.maxQueuedBytes ?? MAX_QUEUED_BYTES_PER_CONNECTION, 0);
  const sendHighWater = checkCount('sendHighWaterBytes', options.sendHighWaterBytes ?? SEND_HIGH_WATER_BYTES, 0);
  const congestedQueuedBytes = checkCount('congestedQueuedBytes', options.congestedQueuedBytes ?? CONGESTED_QUEUED_BYTES_PER_CONNECTION, 1);
  const maxHeld = options.maxHeldEvents ?? MAX_HELD_EVENTS_PER_CONNECTION;
  if (!Number.isInteger(maxHeld) || maxHeld < 1) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', `maxHeldEvents must be a positive integer, got ${maxHeld}`);
  }
  return {
    maxQueuedEvents: maxQueued,
    maxQueuedBytes,
    sendHighWater,
    congestedQueuedBytes,
    maxHeldEvents: maxHeld,
    maxHeldBytes: Math.max(MAX_HELD_BYTES_PER_CONNECTION, limits.maxMessageBytes + 1024 * 1024),
  };
}

/** @internal The receive side of one Server: queueing, pausing, holding and congestion. */
export class ServerIntake {
  private readonly queues: QueueSelector;
  private readonly maxQueuedEvents: number;
  private readonly maxQueuedBytes: number;
  private readonly sendHighWater: number;
  private readonly congestedQueuedBytes: number;
  /** Connections whose outbound backlog passed `sendHighWaterBytes` (until under a quarter of it). */
  private readonly congested = new Set<Connection>();
  /** Paused connections (reading stopped until their events are polled), with their held messages. */
  private readonly paused = new Map<Connection, HeldMessages>();
  private readonly maxHeldEvents: number;
  private readonly maxHeldBytes: number;
  private resumeListening = false;

  constructor(queues: QueueSelector, limits: IntakeLimits) {
    this.queues = queues;
    this.maxQueuedEvents = limits.maxQueuedEvents;
    this.maxQueuedBytes = limits.maxQueuedBytes;
    this.sendHighWater = limits.sendHighWater;
    this.congestedQueuedBytes = limits.congestedQueuedBytes;
    this.maxHeldEvents = limits.maxHeldEvents;
    this.maxHeldBytes = limits.maxHeldBytes;
  }

  /** After queueing for `c`: past the high-water mark it is congested (see `intakeAllows`). */
  watchBacklog(c: Connection): void {
    if (this.sendHighWater > 0 && !this.congested.has(c) && c.session.backlogBytes > this.sendHighWater) this.congested.add(c);
  }

  /** Congestion ends for connections gone or drained under a quarter of the mark; then paused peers may read again. */
  checkCongestion(): void {
    if (this.congested.size === 0) return;
    const low = this.sendHighWater / 4;
    for (const c of this.congested) if (c.session.closed || c.session.backlogBytes <= low) this.congested.delete(c);
    if (this.congested.size === 0 && this.paused.size > 0) this.resumeDrained();
  }

  /** On the server's tick: a paused connection is not read, so its silence is no timeout. */
  markPausedAlive(now: number): void {
    for (const c of this.paused.keys()) if (!c.session.closed) c.session.markAlive(now);
  }

  /** On the server's tick, after the sessions': resume what polls have drained. */
  resumeIfPaused(): void {
    // Also here: the queue may have been polled or replaced without this server hearing of it.
    if (this.paused.size > 0) this.resumeDrained();
  }

  /**
   * May `conn` queue one more message of `length` bytes now? Under the event and byte caps, and
   * while any connection is congested under the smaller congested byte cap; one message always
   * passes an empty share.
   */
  private intakeAllows(conn: Connection, length: number): boolean {
    const queue = this.queues.queue;
    if (this.maxQueuedEvents !== 0 && queue.queuedFor(conn.id) >= this.maxQueuedEvents) return false;
    const bytes = queue.queuedBytesFor(conn.id);
    if (bytes === 0) return true;
    const cap = this.congested.size > 0 ? Math.min(this.congestedQueuedBytes, this.maxQueuedBytes || Infinity) : this.maxQueuedBytes;
    return cap === 0 || bytes + length <= cap;
  }

  /**
   * Queue a received message of `conn`, or, once it has `maxQueuedEvents` events waiting, hold
   * it and stop reading from `conn` until the application polls (backpressure).
   */
  receive(conn: Connection, bytes: Uint8Array, offset: number, length: number): void {
    const queue = this.queues.queue;
    let held = this.paused.get(conn);
    if (held === undefined) {
      if (this.intakeAllows(conn, length)) {
        queue.push(EventType.RECEIVE, conn, bytes, offset, length);
        return;
      }
      held = new HeldMessages();
      this.paused.set(conn, held);
      conn.session.stream.pause?.();
      this.listenForPoll();
    }
    if (held.count >= this.maxHeldEvents || held.byteLength + length > this.maxHeldBytes) {
      held.clear();
      conn.session.fail('event flood', CloseCode.Flood);
      return;
    }
    held.add(bytes, offset, length);
  }

  /** `conn` closed with `reason`: CLIENT_CLOSE now, or after the messages it still has held. */
  closed(conn: Connection, reason: string): void {
    const held = this.paused.get(conn);
    if (held !== undefined && held.count > 0) {
      // Messages it sent before closing are still held: CLIENT_CLOSE follows them as polls drain them.
      held.closeReason = reason;
      return;
    }
    this.paused.delete(conn);
    this.announceClose(conn, reason);
  }

  private listenForPoll(): void {
    if (this.resumeListening) return;
    this.resumeListening = true;
    this.queues.queue.onNextPoll(() => {
      this.resumeListening = false;
      this.resumeDrained();
    });
  }

  /**
   * Queue held messages of paused connections while they are under the limit; resume reading
   * from those with nothing held any more.
   */
  private resumeDrained(): void {
    const queue = this.queues.queue;
    this.checkCongestion();
    for (const [c, held] of this.paused) {
      if (c.session.closed && held.closeReason === null) {
        this.paused.delete(c);
        continue;
      }
      held.drain((bytes, offset, length) => {
        if (!this.intakeAllows(c, length)) return false;
        queue.push(EventType.RECEIVE, c, bytes, offset, length);
        return true;
      });
      if (held.count === 0 && held.closeReason !== null) {
        this.paused.delete(c);
        this.announceClose(c, held.closeReason);
      } else if (held.count === 0 && this.intakeAllows(c, 1)) {
        this.paused.delete(c);
        c.session.stream.resume?.();
      }
    }
    if (this.paused.size > 0) this.listenForPoll();
  }

  private announceClose(conn: Connection, reason: string): void {
    if (conn.announced) this.queues.queue.pushText(EventType.CLIENT_CLOSE, conn, reason);
    this.queues.retire(conn);
  }
}
