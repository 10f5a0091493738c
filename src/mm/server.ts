/**
 * The mm Server: accepts raw TCP and WebSocket clients on one port (told apart by the first
 * byte), speaks gamewire's protocol with each (docs/protocol.md) and queues every event for
 * `pollEvents()`. Node only (it listens on a socket).
 */
import type { Table, TableCodec } from '../codec/table.js';
import { listenStreams, type StreamListener } from '../transport/stream-listener.js';
import type { ByteStream } from '../transport/types.js';
import { MAX_CONNECTIONS, WS_WRITE_PIECE_BYTES } from '../wire/limits.js';
import { nodePlatform } from '../platform/node.js';
import { CloseCode, closeFrameBody, plainFrame } from '../wire/protocol.js';
import { Session, nowMs, type SessionLimits } from '../wire/session.js';
import { rejectUnknownOptions } from '../core/validate.js';
import { QUEUE_OPTION_KEYS, SESSION_OPTION_KEYS, checkAddress, checkKey, checkLimits, encodeTable, makeCodec, timerPeriod } from './checks.js';
import { Connection } from './connection.js';
import { MmArgumentError } from './errors.js';
import { EventType, type EventOwner, type MmEvent } from './events.js';
import { MAX_PORT, MIN_PORT, SERVER_HANDSHAKE_TIMEOUT_MS } from './limits.js';
import { nodeContext } from './node-context.js';
import { QueueSelector } from './queue-owner.js';
import { ConnectionBudgets, type Admission } from './server-budgets.js';
import { ServerIntake, readIntakeLimits } from './server-intake.js';
import { SERVER_OWN_OPTION_KEYS, type ServerOptions, type ServerStats } from './server-options.js';
import { SocketObject } from './socket-object.js';

export type { ServerOptions, ServerStats } from './server-options.js';

/** Every option a Server knows: the session's, the queue's and its own. */
const SERVER_OPTION_KEYS: readonly string[] = [...SESSION_OPTION_KEYS, ...QUEUE_OPTION_KEYS, ...SERVER_OWN_OPTION_KEYS];


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
  private readonly intake: ServerIntake;
  private listener: StreamListener | null = null;
  private readonly budgets: ConnectionBudgets;
  private establishedCount = 0;
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
    rejectUnknownOptions('Server', options, SERVER_OPTION_KEYS);
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
    this.budgets = new ConnectionBudgets(options);
    const intakeLimits = readIntakeLimits(options, this.limits);
    this.codec = makeCodec(options.maxTableDepth);
    this.queues = new QueueSelector(nodeContext, options);
    this.queues.register(this);
    this.intake = new ServerIntake(this.queues, intakeLimits);
    this.ready = listenStreams({
      host: this.address,
      port: p,
      websocket: options.websocket !== false,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      maxWebSocketPayloadBytes: WS_WRITE_PIECE_BYTES,
      // Refused while closing before any budget is touched.
      admit: (address) => (this.closing ? null : this.budgets.admit(address)),
      release: (admission) => this.budgets.release(admission),
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
        this.intake.watchBacklog(c);
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
        this.intake.watchBacklog(c);
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
      pendingHandshakes: this.budgets.pendingCount,
      pendingUpgrades: this.listener?.pendingUpgrades ?? 0,
      ...this.budgets.counters,
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

  private tick(): void {
    const now = nowMs();
    this.intake.checkCongestion();
    this.intake.markPausedAlive(now);
    for (const c of this.conns.values()) c.session.tick(now);
    this.intake.resumeIfPaused();
  }

  private accept(stream: ByteStream, admission: Admission): void {
    if (this.closing || this.establishedCount >= this.maxConnections) {
      if (!this.closing) this.budgets.counters.refusedFull++;
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
          this.budgets.counters.refusedFull++;
          session.close(CloseCode.ServerFull, 'server full');
          return;
        }
        established = true;
        this.establishedCount++;
        this.budgets.settle(admission);
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
        this.intake.receive(conn, bytes, offset, length);
      },
      onError: (reason) => this.queues.queue.pushText(EventType.ERROR, conn, reason),
      onClose: (reason) => {
        this.conns.delete(conn.id);
        if (established) this.establishedCount--;
        established = false;
        this.intake.closed(conn, reason);
      },
    }, admission.at);
    conn = new Connection(this, session);
    if (session.closed) return;
    this.conns.set(conn.id, conn);
    this.queues.register(conn);
  }
}