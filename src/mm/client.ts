/**
 * The mm Client: connects to a Server over TCP (Node) or WebSocket (Node or browser), speaks
 * gamewire's protocol and queues its events for `pollEvents()`. Imports no Node built-in: the
 * entry's context (its platform) supplies sockets and crypto; each entry exports a Client bound
 * to its context (`gamewire/mm` the Node one, `gamewire/browser` the browser one).
 */
import type { Table, TableCodec } from '../codec/table.js';
import { CloseCode } from '../wire/protocol.js';
import { Session, nowMs, type SessionLimits, type SessionOptions } from '../wire/session.js';
import { rejectUnknownOptions } from '../core/validate.js';
import { QUEUE_OPTION_KEYS, SESSION_OPTION_KEYS, checkAddress, checkKey, checkLimits, checkPort, encodeTable, makeCodec, timerPeriod } from './checks.js';
import { MmArgumentError } from './errors.js';
import { EventType, type EventOwner, type MmEvent } from './events.js';
import {
  CONNECT_TIMEOUT_MS,
  MAX_PORT,
  WAIT_FOR_CONNECT_DEFAULT_S,
  WAIT_FOR_CONNECT_MAX_S,
  WAIT_FOR_CONNECT_MIN_S,
} from './limits.js';
import type { MmContext } from './context.js';
import { QueueSelector, type QueueOptions } from './queue-owner.js';
import { SocketObject } from './socket-object.js';

/** Options of a Client; every limit has a safe default (src/wire/limits.ts). */
export interface ClientOptions extends SessionOptions, QueueOptions {
  /** 'tcp' (Node default) or 'websocket' (always in browsers). */
  transport?: 'tcp' | 'websocket';
  /** A full ws:// or wss:// URL for WebSocket (default `ws://address:port/`). */
  url?: string;
  /** Milliseconds to wait for the TCP/WebSocket connection (default 10000). */
  connectTimeoutMs?: number;
  /** Deepest table nesting accepted (default `MAX_TABLE_DEPTH` = 64). */
  maxTableDepth?: number;
}

/** Every option name a Client accepts; any other is a TypeError (a typo is not ignored). */
const CLIENT_OPTION_KEYS: readonly string[] = [...SESSION_OPTION_KEYS, ...QUEUE_OPTION_KEYS, 'transport', 'url', 'connectTimeoutMs', 'maxTableDepth'];

function fail(code: string, message: string): never {
  throw new MmArgumentError(code, message);
}

/**
 * A client for tables and polling. It starts connecting at once; poll for CONNECTED or await
 * `waitForConnect()`.
 *
 * @example
 * const client = new Client('127.0.0.1', 4096);
 * const [ok] = await client.waitForConnect();
 * if (ok) client.send({ x: 1, y: 2 });
 */
export class Client extends SocketObject implements EventOwner {
  private readonly limits: SessionLimits;
  private readonly codec: TableCodec;
  private readonly queues: QueueSelector;
  private session: Session | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private done = false;
  private settled: boolean | null = null;
  private readonly waiters: Array<(ok: boolean) => void> = [];
  /** Whether a key was given (for inspect; the key itself is never kept here). */
  private readonly encrypted: boolean;

  /**
   * Connect to a server.
   * @param context the entry's platform and global queue (the entry passes it)
   * @param address host name or address, or a ws:// / wss:// URL (WebSocket)
   * @param port 1..65535
   * @param key 32 or 64 hex digits, the server's key; absent or '' for no encryption
   * @param options transport, limits and queue options
   * @throws MmArgumentError (a RangeError with `code`) on a bad address, port, key or option;
   *   TypeError for an unknown option name
   */
  constructor(context: MmContext, address: string, port: number, key?: string, options: ClientOptions = {}) {
    super();
    rejectUnknownOptions('Client', options, CLIENT_OPTION_KEYS);
    options ??= {};
    checkAddress(address);
    checkPort(port, MAX_PORT);
    const parsed = checkKey(key);
    this.encrypted = parsed !== null;
    this.limits = checkLimits(options);
    this.codec = makeCodec(options.maxTableDepth);
    const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) fail('GW_ERR_BAD_OPTION', `connectTimeoutMs must be a positive integer, got ${connectTimeoutMs}`);
    this.address = address;
    this.port = port;
    const platform = context.platform;
    this.queues = new QueueSelector(context, options);
    this.queues.register(this);
    this.timer = setInterval(() => this.session?.tick(nowMs()), timerPeriod(this.limits));
    (this.timer as { unref?: () => void }).unref?.();
    platform.connect(address, port, { transport: options.transport, url: options.url, timeoutMs: connectTimeoutMs }).then(
      (stream) => {
        if (this.done) {
          stream.destroy();
          return;
        }
        this.session = new Session('client', stream, parsed, platform, this.limits, {
          onEstablished: () => this.settle(true),
          onMessage: (bytes, offset, length) => {
            const bad = this.codec.scan(bytes, offset, length);
            if (bad !== null) {
              this.session!.fail(`invalid table: ${bad}`, CloseCode.ProtocolError);
              return;
            }
            this.queues.queue.push(EventType.RECEIVE, this, bytes, offset, length);
          },
          onError: (reason) => this.queues.queue.pushText(EventType.ERROR, this, reason),
          onClose: (reason, byPeer) => {
            if (this.settled === true) {
              if (byPeer || !this.done) this.queues.queue.pushText(EventType.SERVER_CLOSE, this, reason);
            } else this.settle(false, reason);
            this.end();
          },
        });
      },
      (err: Error) => {
        if (this.done) return;
        const reason = `connect to ${address}:${port} failed: ${err.message}`;
        this.queues.queue.pushText(EventType.ERROR, this, reason);
        this.settle(false, reason);
        this.end();
      },
    );
  }

  /**
   * Send a table to the server; it goes out at the end of this tick with everything else sent.
   * @returns true when queued; false before CONNECTED, after a close, or on send buffer overflow
   * @throws TypeError when the table holds something outside the subset (nothing is sent);
   *   RangeError when its encoding exceeds maxMessageBytes
   */
  send(table: Table): boolean {
    const bytes = encodeTable(this.codec, table, this.limits);
    return this.session !== null && this.session.queueMessage(bytes, 0, bytes.length);
  }

  /** Close the connection with a CLOSE frame ("disconnected by client"). No event follows. */
  disconnect(): void {
    if (this.done) return;
    this.done = true;
    if (this.settled === null) this.settle(false, 'disconnected by client');
    this.session?.close(CloseCode.Normal, 'disconnected by client');
    this.end();
  }

  /** True between CONNECTED (true) and the close. */
  isConnected(): boolean {
    return this.session !== null && this.session.established;
  }

  /**
   * Wait until the handshake completes or fails.
   * @param timeout seconds, 0.25..10 (default 2)
   * @returns `[ok, secondsTaken]`; ok is false on failure or timeout (the attempt goes on after a timeout)
   * @throws RangeError when timeout is out of range
   */
  waitForConnect(timeout: number = WAIT_FOR_CONNECT_DEFAULT_S): Promise<[boolean, number]> {
    if (typeof timeout !== 'number' || !(timeout >= WAIT_FOR_CONNECT_MIN_S && timeout <= WAIT_FOR_CONNECT_MAX_S)) {
      return Promise.reject(new RangeError(`timeout must be ${WAIT_FOR_CONNECT_MIN_S}..${WAIT_FOR_CONNECT_MAX_S} seconds, got ${timeout}`));
    }
    const since = nowMs();
    const taken = (): number => (nowMs() - since) / 1000;
    if (this.settled !== null) return Promise.resolve([this.settled, 0]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve([false, taken()]);
      }, timeout * 1000);
      const waiter = (ok: boolean): void => {
        clearTimeout(timer);
        resolve([ok, taken()]);
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * This client's own event queue. The first call moves the client off the global queue;
   * events already there stay there.
   */
  pollEvents(): MmEvent[] {
    return this.queues.poll(() => [this]);
  }

  /** Events dropped by the queue this client uses. */
  droppedEvents(): number {
    return this.queues.dropped();
  }

  /** One line for `console.log` / `util.inspect`: never the key, never the internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const state = this.done ? 'closed' : this.isConnected() ? 'connected' : this.settled === false ? 'failed' : 'connecting';
    return `Client { socket ${this.id}, ${this.address}:${this.port}, ${state}${this.encrypted ? ', encrypted' : ''} }`;
  }

  /** A short description for logs and JSON (not the internals). */
  toJSON(): { kind: 'Client'; socket: number; address: string; port: number } {
    return { kind: 'Client', socket: this.id, address: this.address, port: this.port };
  }

  private settle(ok: boolean, reason = ''): void {
    if (this.settled !== null) return;
    this.settled = ok;
    this.queues.queue.pushConnected(this, ok, reason);
    for (const w of this.waiters.splice(0)) w(ok);
  }

  private end(): void {
    this.done = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.queues.retire(this);
  }
}
