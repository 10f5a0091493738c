/**
 * The mm Server: accepts raw TCP and WebSocket clients on one port (told apart by the first
 * byte), speaks gamewire's protocol with each (docs/protocol.md) and queues every event for
 * `pollEvents()`. Node only (it listens on a socket).
 */
import type { Table, TableCodec } from '../codec/table.js';
import { AddressCounter, AddressRate, normalizeIp } from '../transport/address-limiter.js';
import { listenStreams, type StreamListener } from '../transport/stream-listener.js';
import type { ByteStream } from '../transport/types.js';
import { MAX_CONNECTIONS, WS_WRITE_PIECE_BYTES } from '../wire/limits.js';
import { nodePlatform } from '../platform/node.js';
import { CloseCode, closeFrameBody, plainFrame } from '../wire/protocol.js';
import { Session, nowMs, type SessionLimits, type SessionOptions } from '../wire/session.js';
import { checkAddress, checkKey, checkLimits, encodeTable, makeCodec, timerPeriod } from './checks.js';
import { Connection } from './connection.js';
import { MmArgumentError } from './errors.js';
import { EventType, type EventOwner, type MmEvent } from './events.js';
import { HeldMessages } from './held-messages.js';
import {
  CONNECT_BURST_PER_IP,
  CONNECT_RATE_PER_IP,
  MAX_CONNECTIONS_PER_IP,
  MAX_HELD_BYTES_PER_CONNECTION,
  MAX_HELD_EVENTS_PER_CONNECTION,
  MAX_PENDING_HANDSHAKES,
  MAX_PENDING_HANDSHAKES_PER_IP,
  MAX_PORT,
  MAX_QUEUED_EVENTS_PER_CONNECTION,
  MAX_QUEUED_BYTES_PER_CONNECTION,
  SEND_HIGH_WATER_BYTES,
  CONGESTED_QUEUED_BYTES_PER_CONNECTION,
  MAX_RATE_ENTRIES,
  MIN_PORT,
  SERVER_HANDSHAKE_TIMEOUT_MS,
} from './limits.js';
import { nodeContext } from './node-context.js';
import { QueueSelector, type QueueOptions } from './queue-owner.js';
import { SocketObject } from './socket-object.js';

/** Options of a Server; every limit has a safe default (src/wire/limits.ts). */
export interface ServerOptions extends SessionOptions, QueueOptions {
  /**
   * Established connections at once (default `MAX_CONNECTIONS` = 1024). Handshakes in progress
   * are counted apart (`maxPendingHandshakes`). Past it a new connection gets CLOSE "server full".
   */
  maxConnections?: number;
  /** Connections per source IP, handshakes included (default `MAX_CONNECTIONS_PER_IP` = 32; 0 = no cap). */
  maxConnectionsPerIp?: number;
  /** Handshakes in progress over all addresses (default `MAX_PENDING_HANDSHAKES` = 64). */
  maxPendingHandshakes?: number;
  /** Handshakes in progress per source IP (default `MAX_PENDING_HANDSHAKES_PER_IP` = 8). */
  maxPendingHandshakesPerIp?: number;
  /** New connections per second per source IP, a token bucket (default `CONNECT_RATE_PER_IP` = 10; 0 = no limit). */
  connectRatePerIp?: number;
  /** Depth of that bucket in connections (default `CONNECT_BURST_PER_IP` = 20). */
  connectBurstPerIp?: number;
  /** Deepest table nesting accepted (default `MAX_TABLE_DEPTH` = 64). */
  maxTableDepth?: number;
  /** Accept WebSocket clients on the same port (default true). */
  websocket?: boolean;
  /**
   * Events one connection may have queued before the server stops reading from it until the
   * application polls (default `MAX_QUEUED_EVENTS_PER_CONNECTION` = 256). Messages it had already
   * sent are held in order and queued as the application polls; a connection holding more than
   * `MAX_HELD_EVENTS_PER_CONNECTION` messages or `MAX_HELD_BYTES_PER_CONNECTION` bytes is dropped
   * with the ERROR reason "event flood". 0 turns the cap off (one peer can then push others'
   * events out of a full queue).
   */
  maxQueuedEvents?: number;
  /**
   * Payload bytes one connection may have queued before the server stops reading from it until
   * the application polls, like `maxQueuedEvents` (default `MAX_QUEUED_BYTES_PER_CONNECTION` =
   * 1 MiB; 0 = no byte cap). One message always passes.
   */
  maxQueuedBytes?: number;
  /**
   * Outbound backlog (bytes) past which a connection is congested (default `SEND_HIGH_WATER_BYTES`
   * = 512 KiB; 0 = off). While one is, every connection may queue only `congestedQueuedBytes` per
   * poll: whoever sends the most is slowed, so an application forwarding what it receives cannot
   * be made to overflow a client that reads at a fair pace.
   */
  sendHighWaterBytes?: number;
  /** Queued bytes per connection per poll while a connection is congested (default 64 KiB). */
  congestedQueuedBytes?: number;
  /**
   * Messages a paused connection may hold before it is dropped with "event flood" (default
   * `MAX_HELD_EVENTS_PER_CONNECTION` = 65536). A backstop: pausing already bounds what is held
   * to the rest of one socket read.
   */
  maxHeldEvents?: number;
}

/** Counters and gauges of a Server (`stats()`). */
export interface ServerStats {
  /** Established connections now. */
  connections: number;
  /** Connections accepted and not yet established (first byte, WebSocket upgrade or HELLO..FINISHED) now. */
  pendingHandshakes: number;
  /** Of those, connections in their WebSocket upgrade now. */
  pendingUpgrades: number;
  /** Connections closed at accept because their IP went over `connectRatePerIp`. */
  refusedRate: number;
  /** Connections closed at accept because their IP held `maxConnectionsPerIp`. */
  refusedPerIp: number;
  /** Connections closed at accept because their IP had `maxPendingHandshakesPerIp` handshakes in progress. */
  refusedPendingPerIp: number;
  /** Connections closed at accept because `maxPendingHandshakes` were in progress. */
  refusedPending: number;
  /** Connections refused with CLOSE "server full" (`maxConnections` established). */
  refusedFull: number;
  /** Admitted connections that closed before their handshake completed (timeouts, mismatches, drops). */
  handshakesFailed: number;
}

/** One admitted connection's claim on the per-IP and pending budgets. */
class Admission {
  pending = true;
  /** Accept time (`nowMs()`): the handshake deadline runs from here. */
  readonly at = nowMs();
  constructor(readonly ip: string) {}
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new MmArgumentError('GW_ERR_BAD_OPTION', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * A server for tables and polling.
 *
 * @example
 * const server = await Server.listen('127.0.0.1', 4096);
 * setInterval(() => {
 *   for (const ev of pollEvents()) if (ev.type === EventType.RECEIVE) server.broadcast(ev.packet);
 * }, 16);
 */
export class Server extends SocketObject implements EventOwner {
  /** Resolves when listening (then `getPort()` is the bound port); rejects when listen fails (an ERROR event too). */
  readonly ready: Promise<void>;
  private readonly key: Uint8Array | null;
  private readonly limits: SessionLimits;
  private readonly maxConnections: number;
  private readonly codec: TableCodec;
  private readonly queues: QueueSelector;
  private readonly conns = new Map<number, Connection>();
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
  private listener: StreamListener | null = null;
  private readonly perIp: AddressCounter;
  private readonly pendingPerIp: AddressCounter;
  private readonly maxPending: number;
  private pendingCount = 0;
  private establishedCount = 0;
  private readonly connectRate: AddressRate | null;
  private readonly counters = { refusedRate: 0, refusedPerIp: 0, refusedPendingPerIp: 0, refusedPending: 0, refusedFull: 0, handshakesFailed: 0 };
  private timer: ReturnType<typeof setInterval> | null = null;
  private closing = false;

  /**
   * Start listening.
   * @param address the address to bind, e.g. '127.0.0.1' or '0.0.0.0'
   * @param port 1024..65535, or 0/undefined to let the OS choose (see `getPort()` after `ready`)
   * @param key 32 hex digits (AES-128) or 64 (AES-256); absent or '' for no encryption
   * @param options limits and queue options
   * @throws MmArgumentError (a RangeError with `code`) on a bad address, port, key or option
   */
  constructor(address: string, port?: number, key?: string, options: ServerOptions = {}) {
    super();
    this.address = checkAddress(address);
    const p = port ?? 0;
    if (!Number.isInteger(p) || (p !== 0 && (p < MIN_PORT || p > MAX_PORT))) {
      throw new MmArgumentError('GW_ERR_BAD_PORT', `port must be 0 (OS chooses) or an integer in ${MIN_PORT}..${MAX_PORT}, got ${port}`);
    }
    this.port = p;
    this.key = checkKey(key);
    // The server's own, shorter handshake deadline unless the option sets one (SERVER_HANDSHAKE_TIMEOUT_MS).
    this.limits = checkLimits({ ...options, handshakeTimeoutMs: options.handshakeTimeoutMs ?? SERVER_HANDSHAKE_TIMEOUT_MS });
    const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new MmArgumentError('GW_ERR_BAD_OPTION', `maxConnections must be a positive integer, got ${maxConnections}`);
    }
    this.maxConnections = maxConnections;
    this.perIp = new AddressCounter(checkCount('maxConnectionsPerIp', options.maxConnectionsPerIp ?? MAX_CONNECTIONS_PER_IP, 0));
    this.maxPending = checkCount('maxPendingHandshakes', options.maxPendingHandshakes ?? MAX_PENDING_HANDSHAKES, 1);
    this.pendingPerIp = new AddressCounter(checkCount('maxPendingHandshakesPerIp', options.maxPendingHandshakesPerIp ?? MAX_PENDING_HANDSHAKES_PER_IP, 1));
    const rate = options.connectRatePerIp ?? CONNECT_RATE_PER_IP;
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new MmArgumentError('GW_ERR_BAD_OPTION', `connectRatePerIp must be a number >= 0, got ${rate}`);
    const burst = options.connectBurstPerIp ?? CONNECT_BURST_PER_IP;
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new MmArgumentError('GW_ERR_BAD_OPTION', `connectBurstPerIp must be a number >= 1, got ${burst}`);
    this.connectRate = rate > 0 ? new AddressRate(rate, burst, MAX_RATE_ENTRIES) : null;
    const maxQueued = options.maxQueuedEvents ?? MAX_QUEUED_EVENTS_PER_CONNECTION;
    if (!Number.isInteger(maxQueued) || maxQueued < 0) {
      throw new MmArgumentError('GW_ERR_BAD_OPTION', `maxQueuedEvents must be a non-negative integer, got ${maxQueued}`);
    }
    this.maxQueuedEvents = maxQueued;
    this.maxQueuedBytes = checkCount('maxQueuedBytes', options.maxQueuedBytes ?? MAX_QUEUED_BYTES_PER_CONNECTION, 0);
    this.sendHighWater = checkCount('sendHighWaterBytes', options.sendHighWaterBytes ?? SEND_HIGH_WATER_BYTES, 0);
    this.congestedQueuedBytes = checkCount('congestedQueuedBytes', options.congestedQueuedBytes ?? CONGESTED_QUEUED_BYTES_PER_CONNECTION, 1);
    const maxHeld = options.maxHeldEvents ?? MAX_HELD_EVENTS_PER_CONNECTION;
    if (!Number.isInteger(maxHeld) || maxHeld < 1) {
      throw new MmArgumentError('GW_ERR_BAD_OPTION', `maxHeldEvents must be a positive integer, got ${maxHeld}`);
    }
    this.maxHeldEvents = maxHeld;
    this.maxHeldBytes = Math.max(MAX_HELD_BYTES_PER_CONNECTION, this.limits.maxMessageBytes + 1024 * 1024);
    this.codec = makeCodec(options.maxTableDepth);
    this.queues = new QueueSelector(nodeContext, options);
    this.queues.register(this);
    this.ready = listenStreams({
      host: this.address,
      port: p,
      websocket: options.websocket !== false,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      maxWebSocketPayloadBytes: WS_WRITE_PIECE_BYTES,
      admit: (address) => this.admit(address),
      release: (admission) => this.release(admission),
      onStream: (stream, admission) => this.accept(stream, admission!),
    }).then(
      (listener) => {
        if (this.closing) {
          void listener.close();
          return;
        }
        this.listener = listener;
        this.port = listener.port;
        this.timer = setInterval(() => this.tick(), timerPeriod(this.limits));
        (this.timer as { unref?: () => void }).unref?.();
      },
      (err: Error) => {
        this.queues.queue.pushText(EventType.ERROR, this, `listen on ${this.address}:${p} failed: ${err.message}`);
        throw err;
      },
    );
    // Observed here so an unawaited failure is an ERROR event, not an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * Create a server and wait until it listens.
   * @returns the listening server
   * @throws MmArgumentError on bad arguments; rejects when listening fails
   */
  static async listen(address: string, port?: number, key?: string, options?: ServerOptions): Promise<Server> {
    const server = new Server(address, port, key, options);
    await server.ready;
    return server;
  }

  /**
   * Send a table to some connections. The table is encoded once; bytes go out at the end of
   * this tick, one write per connection.
   * @returns how many connections it was queued for
   * @throws TypeError when the table holds something outside the subset (nothing is sent);
   *   RangeError when its encoding exceeds maxMessageBytes
   */
  send(table: Table, ...connections: Connection[]): number {
    const bytes = encodeTable(this.codec, table, this.limits);
    let sent = 0;
    for (const c of connections) {
      if (!(c instanceof Connection)) throw new TypeError('send: connections must be Connection objects of this server');
      if (c.server === this && c.session.queueMessage(bytes, 0, bytes.length)) {
        sent++;
        this.watchBacklog(c);
      }
    }
    return sent;
  }

  /**
   * Send a table to every connection that completed its handshake.
   * @returns how many connections it was queued for
   * @throws TypeError / RangeError as `send`
   */
  broadcast(table: Table): number {
    const bytes = encodeTable(this.codec, table, this.limits);
    let sent = 0;
    for (const c of this.conns.values()) {
      if (c.session.queueMessage(bytes, 0, bytes.length)) {
        sent++;
        this.watchBacklog(c);
      }
    }
    return sent;
  }

  /**
   * Close connections with a CLOSE frame ("disconnected by server"); each gets a CLIENT_CLOSE event.
   * @returns how many were open
   */
  disconnect(...connections: Connection[]): number {
    let closed = 0;
    for (const c of connections) {
      if (!(c instanceof Connection) || c.server !== this || c.session.closed) continue;
      c.session.close(CloseCode.Normal, 'disconnected by server');
      closed++;
    }
    return closed;
  }

  /** Connections that completed their handshake and are open. */
  connectionCount(): number {
    return this.establishedCount;
  }

  /** Connection budgets: gauges now and refusal counters since creation (a new object). */
  stats(): ServerStats {
    return {
      connections: this.establishedCount,
      pendingHandshakes: this.pendingCount,
      pendingUpgrades: this.listener?.pendingUpgrades ?? 0,
      ...this.counters,
    };
  }

  /** The open connections (a new array). */
  connections(): Connection[] {
    return [...this.conns.values()].filter((c) => c.session.established);
  }

  /** True until `close()`. */
  isOpen(): boolean {
    return !this.closing;
  }

  /**
   * This server's own event queue (its events and its connections'). The first call moves the
   * server off the global queue; events already there stay there.
   */
  pollEvents(): MmEvent[] {
    return this.queues.poll(() => [this, ...this.conns.values()]);
  }

  /** Events dropped by the queue this server uses. */
  droppedEvents(): number {
    return this.queues.dropped();
  }

  /**
   * Close every connection (CLOSE "server closing"; each gets a CLIENT_CLOSE event) and stop
   * listening.
   * @returns a promise that resolves when the listening socket is closed
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const c of [...this.conns.values()]) c.session.close(CloseCode.ServerClosing, 'server closing');
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.queues.retire(this);
    try {
      await this.ready;
    } catch {
      return;
    }
    await this.listener?.close();
    this.listener = null;
  }

  /** A short description for logs and JSON (not the internals). */
  toJSON(): { kind: 'Server'; socket: number; address: string; port: number } {
    return { kind: 'Server', socket: this.id, address: this.address, port: this.port };
  }

  /** After queueing for `c`: past the high-water mark it is congested (see `intakeAllows`). */
  private watchBacklog(c: Connection): void {
    if (this.sendHighWater > 0 && !this.congested.has(c) && c.session.backlogBytes > this.sendHighWater) this.congested.add(c);
  }

  /** Congestion ends for connections gone or drained under a quarter of the mark; then paused peers may read again. */
  private checkCongestion(): void {
    if (this.congested.size === 0) return;
    const low = this.sendHighWater / 4;
    for (const c of this.congested) if (c.session.closed || c.session.backlogBytes <= low) this.congested.delete(c);
    if (this.congested.size === 0 && this.paused.size > 0) this.resumeDrained();
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

  private tick(): void {
    const now = nowMs();
    this.checkCongestion();
    for (const c of this.paused.keys()) if (!c.session.closed) c.session.markAlive(now);
    for (const c of this.conns.values()) c.session.tick(now);
    // Also here: the queue may have been polled or replaced without this server hearing of it.
    if (this.paused.size > 0) this.resumeDrained();
  }

  /**
   * Queue a received message of `conn`, or, once it has `maxQueuedEvents` events waiting, hold
   * it and stop reading from `conn` until the application polls (backpressure).
   */
  private receive(conn: Connection, bytes: Uint8Array, offset: number, length: number): void {
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

  /**
   * At accept, before a byte is read: the cheapest checks first, and nothing allocated for a
   * refused connection (issue 14: refusing must cost less than attacking).
   */
  private admit(address: string): Admission | null {
    if (this.closing) return null;
    const ip = normalizeIp(address);
    const c = this.counters;
    if (this.connectRate !== null && !this.connectRate.take(ip, nowMs())) {
      c.refusedRate++;
      return null;
    }
    if (this.pendingCount >= this.maxPending) {
      c.refusedPending++;
      return null;
    }
    if (!this.pendingPerIp.has(ip)) {
      c.refusedPendingPerIp++;
      return null;
    }
    if (!this.perIp.take(ip)) {
      c.refusedPerIp++;
      return null;
    }
    this.pendingPerIp.take(ip);
    this.pendingCount++;
    return new Admission(ip);
  }

  /** The connection is established: its pending slot goes back, its per-IP slot stays. */
  private settle(admission: Admission): void {
    if (!admission.pending) return;
    admission.pending = false;
    this.pendingCount--;
    this.pendingPerIp.give(admission.ip);
  }

  private release(admission: Admission): void {
    if (admission.pending) this.counters.handshakesFailed++;
    this.settle(admission);
    this.perIp.give(admission.ip);
  }

  private accept(stream: ByteStream, admission: Admission): void {
    if (this.closing || this.establishedCount >= this.maxConnections) {
      if (!this.closing) this.counters.refusedFull++;
      // Refused before any state is kept: a plaintext CLOSE the client reports (§4.5).
      const refusal = this.closing ? closeFrameBody(CloseCode.ServerClosing, 'server closing') : closeFrameBody(CloseCode.ServerFull, 'server full');
      stream.write(plainFrame(refusal));
      stream.end();
      return;
    }
    let conn: Connection;
    let established = false;
    const session = new Session('server', stream, this.key, nodePlatform, this.limits, {
      onEstablished: () => {
        if (this.establishedCount >= this.maxConnections) {
          // Filled while this handshake ran (handshakes are counted apart from maxConnections).
          this.counters.refusedFull++;
          session.close(CloseCode.ServerFull, 'server full');
          return;
        }
        established = true;
        this.establishedCount++;
        this.settle(admission);
        conn.announced = true;
        this.queues.queue.push(EventType.CONNECT, conn);
      },
      onMessage: (bytes, offset, length) => {
        // Shape and depth are checked now, so a bad table drops its sender; decoding waits for the poll.
        const bad = this.codec.scan(bytes, offset, length);
        if (bad !== null) {
          session.fail(`invalid table: ${bad}`, CloseCode.ProtocolError);
          return;
        }
        this.receive(conn, bytes, offset, length);
      },
      onError: (reason) => this.queues.queue.pushText(EventType.ERROR, conn, reason),
      onClose: (reason) => {
        this.conns.delete(conn.id);
        if (established) this.establishedCount--;
        established = false;
        const held = this.paused.get(conn);
        if (held !== undefined && held.count > 0) {
          // Messages it sent before closing are still held: CLIENT_CLOSE follows them as polls drain them.
          held.closeReason = reason;
          return;
        }
        this.paused.delete(conn);
        this.announceClose(conn, reason);
      },
    }, admission.at);
    conn = new Connection(this, session);
    if (session.closed) return;
    this.conns.set(conn.id, conn);
    this.queues.register(conn);
  }
}
