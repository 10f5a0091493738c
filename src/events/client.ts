/**
 * EventClient: the player's side of the Neteria protocol (neteria.md). It discovers servers
 * (OHAI), registers (REGISTER), submits events and learns their judgement (EVENT → LEGAL /
 * ILLEGAL), and receives pushes (NOTIFY). It keeps the original's four polled collections
 * (§7.2) and also raises callbacks; the original's client defects (K2, K3) are fixed.
 *
 * This file is the public face, the socket, registration and the read of each datagram; the
 * rest is done by its parts: `discovery.ts` (OHAI and the servers that answer), `in-flight.ts`
 * (events awaiting a judgement, their resends and timeouts), `records.ts` (the polled
 * collections and NOTIFY delivery once per id) and `json-data.ts` (what event data may hold);
 * `client-types.ts` holds the options, records and counters they share.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { checkHostArgument, checkPortArgument, rejectUnknownOptions } from '../core/validate.js';
import { checkCount, checkPort, checkPositive } from './checks.js';
import {
  CLIENT_OPTIONS,
  closedError,
  type ClientContext,
  type DiscoveredServer,
  type DiscoverOptions,
  type EventClientOptions,
  type EventClientStats,
  type ResolvedClientOptions,
  type Rollback,
  type SentEvent,
} from './client-types.js';
import { Discoveries } from './discovery.js';
import { Endpoint, type PeerAddress } from './endpoint.js';
import { EventsError } from './errors.js';
import { InFlight } from './in-flight.js';
import { pythonTimestamp, Uuid1Generator } from './ids.js';
import { checkJsonData } from './json-data.js';
import {
  CLIENT_BIND_ATTEMPTS_COUNT,
  CLIENT_PORT_MAX,
  CLIENT_PORT_MIN,
  DEFAULT_SERVER_PORT,
  MAX_DATAGRAM_BYTES,
  MAX_DISCOVERED_SERVERS_COUNT,
  MAX_PENDING_EVENTS_COUNT,
  MAX_RECORDS_COUNT,
  MAX_RETRIES,
  NOTIFY_DEDUP_WINDOW_COUNT,
  PROTOCOL_VERSION,
  RETRY_TIMEOUT_MS,
} from './limits.js';
import { defaultDebugLog, RateLimitedLog } from './log.js';
import * as msg from './messages.js';
import type { Judgement, Priority } from './messages.js';
import { Records } from './records.js';

export type {
  DiscoveredServer,
  DiscoverOptions,
  EventClientOptions,
  EventClientStats,
  Rollback,
  RollbackReason,
  SentEvent,
} from './client-types.js';

/** Broadcast address used by `discover()` when no address is given (neteria.md §5). */
export const BROADCAST_ADDRESS = '255.255.255.255';

interface Registering {
  server: PeerAddress;
  retries: number;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (e: EventsError) => void;
}

/**
 * A player's connection to an authoritative event server.
 *
 * ```ts
 * const client = new EventClient({ onIllegal: (e) => undo(e.data) });
 * await client.register('127.0.0.1', 40080);
 * const verdict = await client.event({ move: 'left' }); // 'LEGAL' | 'ILLEGAL'
 * ```
 */
export class EventClient {
  /** This client's id (cuuid). */
  readonly id: string;
  /** Counters since creation. */
  readonly stats: EventClientStats = {
    received: 0, dropped: 0, eventsSent: 0, eventResends: 0, legal: 0, illegal: 0, timeouts: 0,
    lateJudgements: 0, notifies: 0, duplicateNotifies: 0, recordsDropped: 0,
  };
  /** Servers that answered OHAI, by `address:port` (neteria.md §5); at most `maxDiscoveredServers`, last answered last. */
  readonly servers = new Map<string, DiscoveredServer>();
  /** Events sent and not yet judged, by id (§7.2 "pending"). */
  readonly pending = new Map<string, SentEvent>();
  /** Events to undo: judged ILLEGAL, timed out, or refused as unregistered (§7.2, K2). Oldest first. */
  readonly rollbacks: Rollback[] = [];
  /** High-priority events judged LEGAL (§7.2). Oldest first. */
  readonly confirmations: SentEvent[] = [];
  /** `event_data` of every NOTIFY received, by its id (§7.2). */
  readonly notifies = new Map<string, unknown>();

  private readonly opts: ResolvedClientOptions;
  private readonly hooks: EventClientOptions;
  private readonly log: RateLimitedLog;
  private readonly uuids = new Uuid1Generator();
  private readonly records: Records;
  private readonly inflight: InFlight;
  private readonly discoveries: Discoveries;
  private endpoint: Endpoint | undefined;
  private binding: Promise<Endpoint> | undefined;
  private server: PeerAddress | undefined;
  private registering: Registering | undefined;
  private isRegistered = false;
  private closed = false;
  /** True once listen() was called: the socket is the application's to keep, not ours to release. */
  private listening = false;

  /**
   * @param options see EventClientOptions; the socket is bound on first use or by `listen()`.
   * @throws {RangeError} for a port outside 0..65535 or a non-positive count or time;
   *   {TypeError} for an unknown option.
   */
  constructor(options: EventClientOptions = {}) {
    rejectUnknownOptions('EventClient', options, CLIENT_OPTIONS);
    options ??= {};
    this.opts = {
      port: options.port,
      host: options.host,
      serverPort: options.serverPort ?? DEFAULT_SERVER_PORT,
      version: options.version ?? PROTOCOL_VERSION,
      retryTimeoutMs: options.retryTimeoutMs ?? RETRY_TIMEOUT_MS,
      maxRetries: options.maxRetries ?? MAX_RETRIES,
      maxPendingEvents: options.maxPendingEvents ?? MAX_PENDING_EVENTS_COUNT,
      maxRecords: options.maxRecords ?? MAX_RECORDS_COUNT,
      notifyDedupWindow: options.notifyDedupWindow ?? NOTIFY_DEDUP_WINDOW_COUNT,
      maxDiscoveredServers: options.maxDiscoveredServers ?? MAX_DISCOVERED_SERVERS_COUNT,
    };
    if (this.opts.port !== undefined) checkPort('port', this.opts.port);
    checkPort('serverPort', this.opts.serverPort);
    checkPositive('retryTimeoutMs', this.opts.retryTimeoutMs);
    checkCount('maxRetries', this.opts.maxRetries, 0);
    checkCount('maxPendingEvents', this.opts.maxPendingEvents, 1);
    checkCount('maxRecords', this.opts.maxRecords, 1);
    checkCount('notifyDedupWindow', this.opts.notifyDedupWindow, 1);
    checkCount('maxDiscoveredServers', this.opts.maxDiscoveredServers, 1);
    this.id = options.id ?? this.uuids.next();
    if (typeof this.id !== 'string') throw new TypeError('id must be a string');
    this.hooks = options;
    this.log = new RateLimitedLog(options.log ?? defaultDebugLog());
    const client = this;
    const ctx: ClientContext = {
      id: this.id,
      opts: this.opts,
      stats: this.stats,
      hooks: this.hooks,
      log: this.log,
      get endpoint() {
        return client.endpoint;
      },
      get server() {
        return client.server;
      },
      sendToServer: (text) => this.sendToServer(text),
      drop: (from, reason) => this.drop(from, reason),
      reportError: (err) => this.reportError(err),
    };
    this.records = new Records(ctx, this.rollbacks, this.confirmations, this.notifies);
    this.inflight = new InFlight(ctx, this.pending, this.records);
    this.discoveries = new Discoveries(ctx, this.servers);
  }

  /** True once OK REGISTER arrived, until BYE EVENT or close(). */
  get registered(): boolean {
    return this.isRegistered;
  }

  /** The server this client registered with (or is registering with). */
  get serverAddress(): PeerAddress | undefined {
    return this.server ? { ...this.server } : undefined;
  }

  /**
   * Bind the socket now (otherwise the first discover() / register() does).
   * @returns the bound local address.
   * @throws (rejects) the bind error; EventsError GW_ERR_CLOSED after close().
   */
  async listen(): Promise<PeerAddress> {
    this.listening = true;
    return (await this.bound()).address();
  }

  /**
   * Look for servers: send OHAI (broadcast by default, or unicast) and collect the answers.
   * Servers that refuse our version (BYE REGISTER) are not listed.
   * @returns the servers that answered, also recorded in `servers`.
   * @throws (rejects) EventsError GW_ERR_CLOSED when closed meanwhile, or a register() error
   *   when `register` is set.
   */
  async discover(options: DiscoverOptions = {}): Promise<DiscoveredServer[]> {
    const port = options.port ?? this.opts.serverPort;
    checkPortArgument('port', port);
    const timeout = options.timeout ?? this.opts.retryTimeoutMs;
    checkPositive('timeout', timeout);
    if (options.address !== undefined) checkHostArgument('address', options.address);
    const requested = options.address ?? BROADCAST_ADDRESS;
    const broadcast = requested === BROADCAST_ADDRESS || requested.endsWith('.255');
    const address = await resolve4(requested);
    const endpoint = await this.bound();
    const found = await this.discoveries.run(endpoint, address, port, broadcast, timeout);
    if (this.closed) throw closedError();
    if (options.register && found.length > 0) await this.register(found[0]!.address, found[0]!.port);
    return found;
  }

  /**
   * Register with a server: REGISTER, resent every retry timeout up to maxRetries times until
   * OK REGISTER (neteria.md §6). Registering again (e.g. after BYE EVENT) is allowed.
   * @param host server IPv4 address or host name.
   * @param port server port, default `serverPort` (40080).
   * When it fails and the socket was bound only for it (no listen(), no other registration,
   * event or discovery), the socket is closed, so a failed register leaves nothing open; the
   * next call binds again.
   * @throws TypeError for a host that is not a non-empty string or a port that is not a number;
   *   RangeError for a port outside 1..65535.
   * @throws (rejects) EventsError GW_ERR_REGISTER_REJECTED on BYE REGISTER (registry full),
   *   GW_ERR_REGISTER_TIMEOUT when no answer came, GW_ERR_CLOSED on close(); the lookup error
   *   for a host name that does not resolve.
   */
  async register(host: string, port: number = this.opts.serverPort): Promise<void> {
    checkHostArgument('host', host);
    checkPortArgument('port', port);
    const address = await resolve4(host);
    const endpoint = await this.bound();
    try {
      await this.registerWith(endpoint, address, port);
    } catch (err) {
      await this.releaseIfUnused();
      throw err;
    }
  }

  private async registerWith(endpoint: Endpoint, address: string, port: number): Promise<void> {
    if (this.registering) this.registering.reject(new EventsError('GW_ERR_REGISTER_REJECTED', 'superseded by a new register()'));
    this.server = { address, port };
    this.isRegistered = false;
    const text = msg.register(this.id);
    await new Promise<void>((resolve, reject) => {
      const r: Registering = { server: { address, port }, retries: 0, timer: undefined, resolve, reject };
      const finish = (): void => {
        clearTimeout(r.timer);
        if (this.registering === r) this.registering = undefined;
      };
      r.resolve = () => { finish(); resolve(); };
      r.reject = (e) => { finish(); reject(e); };
      const attempt = (): void => {
        if (r.retries > this.opts.maxRetries) {
          r.reject(new EventsError('GW_ERR_REGISTER_TIMEOUT', `no OK REGISTER from ${address}:${port} after ${this.opts.maxRetries} retries`));
          return;
        }
        endpoint.send(text, r.server, (err) => this.reportError(err));
        r.retries++;
        r.timer = setTimeout(attempt, this.opts.retryTimeoutMs);
      };
      this.registering = r;
      attempt();
    });
  }

  /**
   * Submit an event for judgement (neteria.md §7). A `high` event should be applied locally at
   * once and undone in `onIllegal` / `onTimeout`; a `normal` one is applied on LEGAL. The EVENT
   * is resent with the same id every retry timeout, up to maxRetries times (§9).
   *
   * The returned promise is marked handled, so ignoring it (using the callbacks instead) raises
   * no unhandled rejection.
   * @param data `event_data`: any JSON value.
   * @param options.priority 'normal' (default) or 'high'.
   * @returns resolves 'LEGAL' or 'ILLEGAL'; rejects EventsError GW_ERR_EVENT_TIMEOUT (no
   *   judgement), GW_ERR_NOT_REGISTERED (not registered, or BYE EVENT), GW_ERR_TOO_MANY_PENDING,
   *   GW_ERR_CLOSED.
   * @throws {TypeError} naming the path (`data.hp`) when `data` holds what JSON cannot carry
   *   exactly: a function, symbol or `undefined`, NaN or ±Infinity, a BigInt outside ±(2^53 − 1),
   *   a Map, Set or other class instance without `toJSON`, a cycle; or for an unknown priority.
   *   {RangeError} when the datagram would exceed 10240 bytes.
   */
  event(data: unknown, options: { priority?: Priority } = {}): Promise<Judgement> {
    checkJsonData(data, 'data', 0, []);
    const priority = options.priority ?? 'normal';
    if (priority !== 'normal' && priority !== 'high') throw new TypeError(`priority must be 'normal' or 'high', got ${String(priority)}`);
    const euuid = this.uuids.next();
    const fields: msg.EventFields = { cuuid: this.id, euuid, dataJson: msg.dataJson(data), timestamp: pythonTimestamp(), priority };
    // The largest copy is the last resend; its retry field has the most digits.
    const size = msg.event(fields, this.opts.maxRetries).length;
    if (size > MAX_DATAGRAM_BYTES) throw new RangeError(`EVENT datagram of ${size} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
    let failure: EventsError | undefined;
    if (this.closed) failure = closedError();
    else if (!this.isRegistered || !this.endpoint || !this.server) failure = new EventsError('GW_ERR_NOT_REGISTERED', 'register() before sending events');
    else if (this.inflight.size >= this.opts.maxPendingEvents) {
      failure = new EventsError('GW_ERR_TOO_MANY_PENDING', `${this.inflight.size} events await a judgement (maxPendingEvents)`);
    }
    if (failure) return handled(Promise.reject(failure));
    const event: SentEvent = { id: euuid, data, priority, sentAt: Date.now(), retries: 0 };
    return handled(this.inflight.send(event, fields));
  }

  /** Empty and return `rollbacks`. */
  takeRollbacks(): Rollback[] {
    return this.rollbacks.splice(0);
  }

  /** Empty and return `confirmations`. */
  takeConfirmations(): SentEvent[] {
    return this.confirmations.splice(0);
  }

  /** Empty and return `notifies` (ids already seen stay remembered against duplicates). */
  takeNotifies(): Map<string, unknown> {
    const out = new Map(this.notifies);
    this.notifies.clear();
    return out;
  }

  /**
   * Stop: reject every pending event and registration with GW_ERR_CLOSED (pending events are
   * not moved to rollbacks), end discoveries, close the socket. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isRegistered = false;
    this.registering?.reject(closedError());
    this.discoveries.endAll();
    this.inflight.closeAll();
    const endpoint = this.endpoint ?? (await this.binding?.catch(() => undefined));
    this.endpoint = undefined;
    await endpoint?.close();
  }

  /** One line for `console.log` / `util.inspect`: no internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const server = this.server ? `${this.server.address}:${this.server.port}` : 'no server';
    const state = this.closed ? 'closed' : this.isRegistered ? 'registered' : this.registering ? 'registering' : 'not registered';
    return `EventClient { ${this.id}, ${server}, ${state}, ${this.inflight.size} pending }`;
  }

  // --- socket ----------------------------------------------------------------------------------

  /** Close a socket that only a failed call needed (issue 16: a failed register leaves nothing open). */
  private async releaseIfUnused(): Promise<void> {
    if (this.listening || this.closed || this.isRegistered || this.registering || this.inflight.size > 0 || this.discoveries.size > 0) return;
    const binding = this.binding;
    const endpoint = this.endpoint ?? (await binding?.catch(() => undefined));
    if (this.binding !== binding || this.isRegistered || this.registering || this.listening) return; // in use again meanwhile
    this.endpoint = undefined;
    this.binding = undefined;
    await endpoint?.close();
  }

  private bound(): Promise<Endpoint> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.binding) {
      this.binding = this.bind().then((endpoint) => {
        if (this.closed) {
          void endpoint.close();
          throw closedError();
        }
        this.endpoint = endpoint;
        return endpoint;
      });
      this.binding.catch(() => { this.binding = undefined; });
    }
    return this.binding;
  }

  private async bind(): Promise<Endpoint> {
    const handlers = { message: (b: Buffer, from: PeerAddress) => this.onDatagram(b, from), error: (e: Error) => this.reportError(e) };
    if (this.opts.port !== undefined) return Endpoint.bind(this.opts.port, this.opts.host, handlers);
    let lastError: unknown;
    for (let i = 0; i < CLIENT_BIND_ATTEMPTS_COUNT; i++) {
      const port = CLIENT_PORT_MIN + Math.floor(Math.random() * (CLIENT_PORT_MAX - CLIENT_PORT_MIN));
      try {
        return await Endpoint.bind(port, this.opts.host, handlers);
      } catch (err) {
        lastError = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    throw lastError;
  }

  // --- receiving -------------------------------------------------------------------------------

  private onDatagram(bytes: Buffer, from: PeerAddress): void {
    if (this.closed) return;
    this.stats.received++;
    const read = msg.readClientInbound(bytes);
    if (!read.ok) return this.drop(from, read.reason);
    const m = read.message;
    if (m.method === 'OHAI Client' || (m.method === 'BYE REGISTER' && !this.registering)) {
      this.discoveries.onAnswer(m, from);
      return;
    }
    // Everything else must come from the server we talk to, IP and port (K4, client side).
    if (!this.server || from.address !== this.server.address || from.port !== this.server.port) {
      return this.drop(from, `${m.method} not from our server`);
    }
    switch (m.method) {
      case 'OK REGISTER':
        if (this.registering) {
          this.isRegistered = true;
          this.registering.resolve();
        }
        return;
      case 'BYE REGISTER':
        // §6: the original client ignores it and keeps retrying; we stop and report.
        this.registering?.reject(new EventsError('GW_ERR_REGISTER_REJECTED', `${from.address}:${from.port} refused the registration (BYE REGISTER)`));
        return;
      case 'LEGAL':
      case 'ILLEGAL':
        // An ack that could not be sent (escaping grows non-ASCII ids) means the id is hostile.
        if (msg.okEvent(this.id, m.euuid).length > MAX_DATAGRAM_BYTES) return this.drop(from, `${m.method} whose ack would exceed ${MAX_DATAGRAM_BYTES} bytes`);
        this.inflight.onJudgement(m.method, m.euuid);
        return;
      case 'BYE EVENT':
        this.onByeEvent();
        return;
      case 'NOTIFY':
        if (msg.okNotify(this.id, m.euuid).length > MAX_DATAGRAM_BYTES) return this.drop(from, `NOTIFY whose ack would exceed ${MAX_DATAGRAM_BYTES} bytes`);
        this.records.onNotify(m.euuid, m.eventData);
        return;
    }
  }

  private onByeEvent(): void {
    // BYE EVENT names no event: the server does not know us, so every pending event is refused.
    const wasRegistered = this.isRegistered;
    this.isRegistered = false;
    this.inflight.refuseAll();
    if (wasRegistered) this.log.guard(() => this.hooks.onNotRegistered?.());
  }

  // --- plumbing --------------------------------------------------------------------------------

  private sendToServer(text: string): void {
    if (this.server) this.endpoint?.send(text, this.server, (err) => this.reportError(err));
  }

  private drop(from: PeerAddress, reason: string): void {
    this.stats.dropped++;
    this.log.line(() => `dropped datagram from ${from.address}:${from.port}: ${reason}`);
  }

  private reportError(err: Error): void {
    this.log.line(() => `socket: ${err.message}`);
    this.log.guard(() => this.hooks.onError?.(err));
  }
}

/** Mark a promise handled so that a caller relying on callbacks gets no unhandled rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** An IPv4 address for `host` (the events style is IPv4, as the original). */
async function resolve4(host: string): Promise<string> {
  if (isIPv4(host)) return host;
  return (await lookup(host, { family: 4 })).address;
}
