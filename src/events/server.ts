/**
 * EventServer: the authoritative side of the Neteria protocol (neteria.md). Clients discover
 * it (OHAI), register (REGISTER), submit events that the middleware judges LEGAL or ILLEGAL
 * (EVENT), and receive pushes (NOTIFY). The original's defects K1-K8 (§11) are fixed here.
 */
import { checkCount, checkPort, checkPositive } from './checks.js';
import { Endpoint, type PeerAddress } from './endpoint.js';
import { Uuid1Generator } from './ids.js';
import {
  DEFAULT_SERVER_PORT,
  EXPIRY_SWEEP_MAX_MS,
  JUDGED_RETENTION_MARGIN_MS,
  MAX_DATAGRAM_BYTES,
  MAX_PENDING_NOTIFIES_COUNT,
  MAX_RETRIES,
  PROTOCOL_VERSION,
  RECENT_EVENT_WINDOW_COUNT,
  REGISTRATION_IDLE_MS,
  REGISTRATION_LIMIT,
  RETRY_TIMEOUT_MS,
} from './limits.js';
import { defaultDebugLog, RateLimitedLog, type DebugLog } from './log.js';
import * as msg from './messages.js';

/** The game's rules. */
export interface Middleware {
  /**
   * Decide whether an event is legal. Only `true` (or a promise of `true`) is LEGAL; anything
   * else, a throw or a rejection is ILLEGAL (the error is logged and passed to `onError`).
   * Called once per (client, event id), never again for a duplicate (K1).
   */
  judge(clientId: string, eventId: string, data: unknown): boolean | Promise<boolean>;
  /**
   * Carry out a legal event. Called once, right after LEGAL is sent (neteria.md §7.1). A throw
   * or rejection is logged and passed to `onError`; the judgement already sent stands.
   */
  execute?(clientId: string, eventId: string, data: unknown): void | Promise<void>;
}

/** A registered client, as `clients()` lists it. */
export interface ClientInfo {
  /** The client's cuuid. */
  id: string;
  /** Registered source IP and port; events must come from exactly this address (K4). */
  address: string;
  port: number;
  /** When it (last) registered and when a valid datagram last came from it (ms since 1970). */
  registeredAt: number;
  lastSeen: number;
}

/** Options of EventServer; every limit defaults to its constant in limits.ts. */
export interface EventServerOptions {
  /** UDP port, default 40080 (DEFAULT_SERVER_PORT); 0 picks a free port. */
  port?: number;
  /** Bind address, default all interfaces. */
  host?: string;
  /** The rules; default accepts everything, as the original's default middleware. */
  middleware?: Middleware;
  /** `server_name` in OHAI Client, default null. */
  serverName?: string | null;
  /** Answer OHAI, default true. */
  discoverable?: boolean;
  /** Distinct clients admitted, default 50 (REGISTRATION_LIMIT); exact (K7). */
  registrationLimit?: number;
  /** Version sent in OHAI Client, default "1.0.3". */
  version?: string;
  /** Client versions answered with OHAI Client, default `[version]`; others get BYE REGISTER. */
  allowedVersions?: readonly string[];
  /** Resend interval for LEGAL/ILLEGAL and NOTIFY (ms), default 2000 (RETRY_TIMEOUT_MS). */
  retryTimeoutMs?: number;
  /** Resends after the first send, default 4 (MAX_RETRIES). */
  maxRetries?: number;
  /** Idle time before a registration expires (ms), default 10 min (REGISTRATION_IDLE_MS, K5). */
  registrationIdleMs?: number;
  /** Judged event ids kept per client, default 4096 (RECENT_EVENT_WINDOW_COUNT, K1). */
  recentEventWindow?: number;
  /**
   * How long a judged event id is remembered (ms), default
   * (maxRetries + 1) × retryTimeoutMs + 10 s (JUDGED_RETENTION_MARGIN_MS, K1).
   */
  judgedRetentionMs?: number;
  /** Notifications awaiting OK NOTIFY at once, default 8192 (MAX_PENDING_NOTIFIES_COUNT). */
  maxPendingNotifies?: number;
  /** A client registered (`renewed`: it was already known and re-registered). */
  onRegister?: (client: ClientInfo, renewed: boolean) => void;
  /** A registration expired after `registrationIdleMs` of silence (K5). */
  onExpire?: (client: ClientInfo) => void;
  /** A NOTIFY was acknowledged. */
  onNotifyDelivered?: (clientId: string, eventId: string, data: unknown) => void;
  /** A NOTIFY got no OK NOTIFY after every retry, or its client expired first (K2). */
  onNotifyFailed?: (clientId: string, eventId: string, data: unknown) => void;
  /** A socket error, or a judge / execute that threw; the server keeps serving. */
  onError?: (error: Error, context: string) => void;
  /** Debug line sink; default stderr when DEBUG contains "gamewire". Rate-limited for drops. */
  log?: DebugLog;
}

/** Counters, for tests and monitoring. */
export interface EventServerStats {
  received: number;
  /** Datagrams dropped without reply: bad input (K8), unknown sender of an ack, full window. */
  dropped: number;
  judged: number;
  legal: number;
  illegal: number;
  /** Duplicate EVENTs answered from the window without judging (K1). */
  duplicates: number;
  /** EVENTs dropped because the client's window of recent ids was full. */
  windowFull: number;
  judgementResends: number;
  /** Judgements whose OK EVENT never came. */
  judgementsUnacked: number;
  notifiesSent: number;
  notifyResends: number;
  notifiesFailed: number;
  registrationsRejected: number;
  expired: number;
}

interface Judged {
  /** undefined while the judge is running. */
  legal: boolean | undefined;
  priority: string;
  /** When the EVENT first arrived (ms); the window is ordered by it. */
  at: number;
  retries: number;
  acked: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface Registration extends ClientInfo {
  judged: Map<string, Judged>;
}

interface PendingNotify {
  clientId: string;
  data: unknown;
  text: string;
  retries: number;
  timer: NodeJS.Timeout | undefined;
}

const enum State {
  Idle,
  Listening,
  Closed,
}

const ACCEPT_ALL: Middleware = { judge: () => true };

/**
 * The authoritative event server.
 *
 * ```ts
 * const server = new EventServer({ port: 40080, middleware: { judge: (c, e, d) => rules.ok(d) } });
 * await server.listen();
 * server.notify(clientId, { tick: 1 });
 * ```
 */
export class EventServer {
  /** Counters since creation. */
  readonly stats: EventServerStats = {
    received: 0, dropped: 0, judged: 0, legal: 0, illegal: 0, duplicates: 0, windowFull: 0,
    judgementResends: 0, judgementsUnacked: 0, notifiesSent: 0, notifyResends: 0,
    notifiesFailed: 0, registrationsRejected: 0, expired: 0,
  };

  private readonly opts: Required<
    Pick<EventServerOptions, 'port' | 'discoverable' | 'registrationLimit' | 'version' | 'retryTimeoutMs' | 'maxRetries'
      | 'registrationIdleMs' | 'recentEventWindow' | 'judgedRetentionMs' | 'maxPendingNotifies'>
  > & { host: string | undefined; serverName: string | null; allowedVersions: readonly string[] };
  private readonly hooks: EventServerOptions;
  private readonly middleware: Middleware;
  private readonly log: RateLimitedLog;
  private readonly uuids = new Uuid1Generator();
  private readonly registry = new Map<string, Registration>();
  private readonly notifies = new Map<string, PendingNotify>();
  private endpoint: Endpoint | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private state = State.Idle;

  /**
   * @param options see EventServerOptions; nothing is bound until `listen()`.
   * @throws {RangeError} for a port outside 0..65535 or a non-positive count or time.
   */
  constructor(options: EventServerOptions = {}) {
    const retryTimeoutMs = options.retryTimeoutMs ?? RETRY_TIMEOUT_MS;
    const maxRetries = options.maxRetries ?? MAX_RETRIES;
    const version = options.version ?? PROTOCOL_VERSION;
    this.opts = {
      port: options.port ?? DEFAULT_SERVER_PORT,
      host: options.host,
      serverName: options.serverName ?? null,
      discoverable: options.discoverable ?? true,
      registrationLimit: options.registrationLimit ?? REGISTRATION_LIMIT,
      version,
      allowedVersions: options.allowedVersions ?? [version],
      retryTimeoutMs,
      maxRetries,
      registrationIdleMs: options.registrationIdleMs ?? REGISTRATION_IDLE_MS,
      recentEventWindow: options.recentEventWindow ?? RECENT_EVENT_WINDOW_COUNT,
      judgedRetentionMs: options.judgedRetentionMs ?? (maxRetries + 1) * retryTimeoutMs + JUDGED_RETENTION_MARGIN_MS,
      maxPendingNotifies: options.maxPendingNotifies ?? MAX_PENDING_NOTIFIES_COUNT,
    };
    checkPort('port', this.opts.port);
    checkPositive('retryTimeoutMs', retryTimeoutMs);
    checkCount('maxRetries', maxRetries, 0);
    checkCount('registrationLimit', this.opts.registrationLimit, 1);
    checkPositive('registrationIdleMs', this.opts.registrationIdleMs);
    checkCount('recentEventWindow', this.opts.recentEventWindow, 1);
    checkPositive('judgedRetentionMs', this.opts.judgedRetentionMs);
    checkCount('maxPendingNotifies', this.opts.maxPendingNotifies, 1);
    this.hooks = options;
    this.middleware = options.middleware ?? ACCEPT_ALL;
    this.log = new RateLimitedLog(options.log ?? defaultDebugLog());
  }

  /**
   * Bind the socket and start serving.
   * @returns the bound address (useful with port 0).
   * @throws (rejects) the bind error; Error if called twice or after close().
   */
  async listen(): Promise<PeerAddress> {
    if (this.state !== State.Idle) throw new Error('EventServer.listen() called twice or after close()');
    this.state = State.Listening;
    try {
      this.endpoint = await Endpoint.bind(this.opts.port, this.opts.host, {
        message: (bytes, from) => this.onDatagram(bytes, from),
        error: (err) => this.reportError(err, 'socket'),
      });
    } catch (err) {
      this.state = State.Closed;
      throw err;
    }
    // close() may have run while we awaited the bind (TS narrows `state` across the await).
    if ((this.state as State) === State.Closed) {
      await this.endpoint.close();
      this.endpoint = undefined;
      throw new Error('EventServer closed while binding');
    }
    const sweepMs = Math.max(10, Math.min(this.opts.registrationIdleMs / 4, EXPIRY_SWEEP_MAX_MS));
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), sweepMs);
    this.sweepTimer.unref();
    return this.endpoint.address();
  }

  /** The bound address. @throws {Error} before `listen()` resolved. */
  address(): PeerAddress {
    if (!this.endpoint) throw new Error('EventServer is not listening');
    return this.endpoint.address();
  }

  /** The registered clients (expired ones are removed first). */
  clients(): ClientInfo[] {
    this.sweep(Date.now());
    return [...this.registry.values()].map(info);
  }

  /**
   * Push `data` to a registered client (NOTIFY), resent every retry timeout until OK NOTIFY,
   * at most `maxRetries` times; then `onNotifyFailed` (K2).
   * @returns the NOTIFY's event id, or null when the client is not registered.
   * @throws {TypeError} when `data` is not JSON-serialisable; {RangeError} when the datagram
   *   would exceed 10240 bytes or `maxPendingNotifies` are outstanding; {Error} when not listening.
   */
  notify(clientId: string, data: unknown): string | null {
    if (this.state !== State.Listening || !this.endpoint) throw new Error('EventServer is not listening');
    const rec = this.live(clientId, Date.now());
    if (!rec) return null;
    const euuid = this.uuids.next();
    const text = msg.notify(msg.dataJson(data), euuid);
    if (text.length > MAX_DATAGRAM_BYTES) {
      throw new RangeError(`NOTIFY datagram of ${text.length} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
    }
    if (this.notifies.size >= this.opts.maxPendingNotifies) {
      throw new RangeError(`${this.notifies.size} notifications await OK NOTIFY (maxPendingNotifies)`);
    }
    const pending: PendingNotify = { clientId, data, text, retries: 0, timer: undefined };
    this.notifies.set(euuid, pending);
    this.send(text, rec);
    this.stats.notifiesSent++;
    pending.timer = setTimeout(() => this.resendNotify(euuid, pending), this.opts.retryTimeoutMs);
    return euuid;
  }

  /** Stop: cancel every resend, close the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.state === State.Closed && !this.endpoint) return;
    this.state = State.Closed;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const rec of this.registry.values()) clearJudgedTimers(rec);
    this.registry.clear();
    for (const p of this.notifies.values()) clearTimeout(p.timer);
    this.notifies.clear();
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    await endpoint?.close();
  }

  // --- receiving -------------------------------------------------------------------------------

  private onDatagram(bytes: Buffer, from: PeerAddress): void {
    if (this.state !== State.Listening) return;
    this.stats.received++;
    const read = msg.readServerInbound(bytes);
    if (!read.ok) {
      this.drop(from, read.reason);
      return;
    }
    const m = read.message;
    const now = Date.now();
    switch (m.method) {
      case 'OHAI':
        this.touchIfRegistered(m.cuuid, from, now);
        if (!this.opts.discoverable) return;
        this.reply(this.opts.allowedVersions.includes(m.version) ? msg.ohaiClient(this.opts.version, this.opts.serverName) : msg.BYE_REGISTER, from);
        return;
      case 'REGISTER':
        this.onRegister(m.cuuid, m.encryption, from, now);
        return;
      case 'EVENT': {
        const rec = this.registered(m.cuuid, from, now);
        if (!rec) {
          this.reply(msg.BYE_EVENT, from);
          return;
        }
        this.onEvent(rec, m.euuid, m.eventData, m.priority, from, now);
        return;
      }
      case 'OK EVENT': {
        const rec = this.registered(m.cuuid, from, now);
        if (!rec) return this.drop(from, 'OK EVENT from an unregistered address');
        const j = rec.judged.get(m.euuid);
        if (j && !j.acked) {
          j.acked = true;
          clearTimeout(j.timer);
          j.timer = undefined;
        }
        return;
      }
      case 'OK NOTIFY': {
        const rec = this.registered(m.cuuid, from, now);
        if (!rec) return this.drop(from, 'OK NOTIFY from an unregistered address');
        const p = this.notifies.get(m.euuid);
        if (p && p.clientId === rec.id) {
          clearTimeout(p.timer);
          this.notifies.delete(m.euuid);
          this.log.guard(() => this.hooks.onNotifyDelivered?.(rec.id, m.euuid, p.data));
        }
        return;
      }
    }
  }

  private onRegister(cuuid: string, encryption: boolean, from: PeerAddress, now: number): void {
    if (encryption) {
      // neteria.md §10: refuse rather than silently answer an RSA client in plaintext.
      this.stats.registrationsRejected++;
      this.reply(msg.BYE_REGISTER, from);
      return;
    }
    const known = this.live(cuuid, now);
    if (known) {
      // §6: re-registering always succeeds, even when full, and moves the client (K4).
      known.address = from.address;
      known.port = from.port;
      known.registeredAt = now;
      known.lastSeen = now;
      this.reply(msg.OK_REGISTER, from);
      this.log.guard(() => this.hooks.onRegister?.(info(known), true));
      return;
    }
    if (this.registry.size >= this.opts.registrationLimit) this.sweep(now);
    // K7: the original tests `count > limit` before inserting and so admits limit + 1.
    if (this.registry.size >= this.opts.registrationLimit) {
      this.stats.registrationsRejected++;
      this.reply(msg.BYE_REGISTER, from);
      return;
    }
    const rec: Registration = { id: cuuid, address: from.address, port: from.port, registeredAt: now, lastSeen: now, judged: new Map() };
    this.registry.set(cuuid, rec);
    this.reply(msg.OK_REGISTER, from);
    this.log.guard(() => this.hooks.onRegister?.(info(rec), false));
  }

  private onEvent(rec: Registration, euuid: string, data: unknown, priority: string, from: PeerAddress, now: number): void {
    const seen = rec.judged.get(euuid);
    if (seen) {
      // K1 / §9: never judge or execute twice. Still judging: the judgement will be sent when
      // ready. Judged: answer at once with the stored judgement (the original stays silent).
      this.stats.duplicates++;
      if (seen.legal !== undefined) this.reply(msg.judgement(seen.legal ? 'LEGAL' : 'ILLEGAL', euuid, seen.priority), from);
      return;
    }
    // An id whose judgement could not be sent within the datagram limit (escaping makes
    // non-ASCII ids up to 6x longer) is dropped unjudged rather than judged and never answered.
    if (msg.judgement('ILLEGAL', euuid, priority).length > MAX_DATAGRAM_BYTES) {
      this.drop(from, `EVENT whose judgement would exceed ${MAX_DATAGRAM_BYTES} bytes`);
      return;
    }
    this.prune(rec, now);
    if (rec.judged.size >= this.opts.recentEventWindow) {
      this.stats.windowFull++;
      this.drop(from, `window of ${rec.judged.size} recent event ids full for ${rec.id}`);
      return;
    }
    const j: Judged = { legal: undefined, priority, at: now, retries: 0, acked: false, timer: undefined };
    rec.judged.set(euuid, j);
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = this.middleware.judge(rec.id, euuid, data);
    } catch (err) {
      this.reportError(err, `judge threw for event ${euuid}; judged ILLEGAL`);
      verdict = false;
    }
    if (isThenable(verdict)) {
      verdict.then(
        (v) => this.judged(rec, euuid, j, v === true, data, from),
        (err: unknown) => {
          this.reportError(err, `judge rejected for event ${euuid}; judged ILLEGAL`);
          this.judged(rec, euuid, j, false, data, from);
        },
      );
    } else {
      this.judged(rec, euuid, j, verdict === true, data, from);
    }
  }

  private judged(rec: Registration, euuid: string, j: Judged, legal: boolean, data: unknown, from: PeerAddress): void {
    // An asynchronous judge may finish after close() or after the registration expired.
    if (this.state !== State.Listening || this.registry.get(rec.id) !== rec) return;
    j.legal = legal;
    this.stats.judged++;
    if (legal) this.stats.legal++;
    else this.stats.illegal++;
    const text = msg.judgement(legal ? 'LEGAL' : 'ILLEGAL', euuid, j.priority);
    // §4: the first judgement answers the datagram's source; resends go to the registration.
    this.reply(text, from);
    j.timer = setTimeout(() => this.resendJudgement(rec, j, text), this.opts.retryTimeoutMs);
    if (legal && this.middleware.execute) this.execute(rec.id, euuid, data);
  }

  private execute(clientId: string, euuid: string, data: unknown): void {
    try {
      const done = this.middleware.execute!(clientId, euuid, data);
      if (isThenable(done)) done.then(undefined, (err: unknown) => this.reportError(err, `execute rejected for event ${euuid}`));
    } catch (err) {
      this.reportError(err, `execute threw for event ${euuid}`);
    }
  }

  // --- resending -------------------------------------------------------------------------------

  private resendJudgement(rec: Registration, j: Judged, text: string): void {
    j.timer = undefined;
    if (j.acked || this.state !== State.Listening || this.registry.get(rec.id) !== rec) return;
    if (++j.retries > this.opts.maxRetries) {
      this.stats.judgementsUnacked++;
      return; // the id stays in the window, so a late duplicate is still answered (K1)
    }
    this.stats.judgementResends++;
    this.send(text, rec);
    j.timer = setTimeout(() => this.resendJudgement(rec, j, text), this.opts.retryTimeoutMs);
  }

  private resendNotify(euuid: string, p: PendingNotify): void {
    p.timer = undefined;
    if (this.state !== State.Listening || this.notifies.get(euuid) !== p) return;
    const rec = this.registry.get(p.clientId);
    if (!rec || ++p.retries > this.opts.maxRetries) {
      this.failNotify(euuid, p);
      return;
    }
    this.stats.notifyResends++;
    this.send(p.text, rec);
    p.timer = setTimeout(() => this.resendNotify(euuid, p), this.opts.retryTimeoutMs);
  }

  private failNotify(euuid: string, p: PendingNotify): void {
    clearTimeout(p.timer);
    this.notifies.delete(euuid);
    this.stats.notifiesFailed++;
    this.log.guard(() => this.hooks.onNotifyFailed?.(p.clientId, euuid, p.data));
  }

  // --- registry --------------------------------------------------------------------------------

  /** The registration of `cuuid` if it is live and `from` is exactly its address (K4). */
  private registered(cuuid: string, from: PeerAddress, now: number): Registration | undefined {
    const rec = this.live(cuuid, now);
    if (!rec || rec.address !== from.address || rec.port !== from.port) return undefined;
    rec.lastSeen = now;
    return rec;
  }

  private touchIfRegistered(cuuid: string, from: PeerAddress, now: number): void {
    this.registered(cuuid, from, now);
  }

  /** The registration of `cuuid`, expiring it first if it has been idle too long (K5). */
  private live(cuuid: string, now: number): Registration | undefined {
    const rec = this.registry.get(cuuid);
    if (rec && now - rec.lastSeen > this.opts.registrationIdleMs) {
      this.expire(rec);
      return undefined;
    }
    return rec;
  }

  private sweep(now: number): void {
    for (const rec of this.registry.values()) {
      if (now - rec.lastSeen > this.opts.registrationIdleMs) this.expire(rec);
    }
  }

  private expire(rec: Registration): void {
    this.registry.delete(rec.id);
    this.stats.expired++;
    clearJudgedTimers(rec);
    for (const [euuid, p] of this.notifies) {
      if (p.clientId === rec.id) this.failNotify(euuid, p);
    }
    this.log.guard(() => this.hooks.onExpire?.(info(rec)));
  }

  /** Forget judged ids older than the retention time (the window is in arrival order). */
  private prune(rec: Registration, now: number): void {
    for (const [id, j] of rec.judged) {
      if (now - j.at < this.opts.judgedRetentionMs || j.legal === undefined || j.timer !== undefined) break;
      rec.judged.delete(id);
    }
  }

  // --- plumbing --------------------------------------------------------------------------------

  private reply(text: string, to: PeerAddress): void {
    this.endpoint?.send(text, to, (err) => this.log.line(() => `send to ${to.address}:${to.port} failed: ${err.message}`));
  }

  private send(text: string, rec: Registration): void {
    this.reply(text, { address: rec.address, port: rec.port });
  }

  private drop(from: PeerAddress, reason: string): void {
    this.stats.dropped++;
    this.log.line(() => `dropped datagram from ${from.address}:${from.port}: ${reason}`);
  }

  private reportError(err: unknown, context: string): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.log.line(() => `${context}: ${error.message}`);
    this.log.guard(() => this.hooks.onError?.(error, context));
  }
}

function info(rec: Registration): ClientInfo {
  return { id: rec.id, address: rec.address, port: rec.port, registeredAt: rec.registeredAt, lastSeen: rec.lastSeen };
}

function clearJudgedTimers(rec: Registration): void {
  for (const j of rec.judged.values()) {
    clearTimeout(j.timer);
    j.timer = undefined;
  }
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
