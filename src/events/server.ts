/**
 * EventServer: the authoritative side of the Neteria protocol (neteria.md). Clients discover
 * it (OHAI), register (REGISTER), submit events that the middleware judges LEGAL or ILLEGAL
 * (EVENT), and receive pushes (NOTIFY). The original's defects K1-K8 (§11) are fixed here.
 *
 * This file is the public face and the read of each datagram; the work is done by its parts:
 * `registry.ts` (registrations, per-address budgets, expiry and eviction), `reply-credit.ts`
 * (what may be sent to whom: the anti-amplification rules), `judging.ts` (EVENT verdicts and
 * their resends) and `notifications.ts` (NOTIFY and its resends); `server-types.ts` holds the
 * options, counters and records they share.
 */
import { rejectUnknownOptions } from '../core/validate.js';
import { AddressCounter, AddressRate, normalizeIp } from '../transport/address-limiter.js';
import { checkCount, checkPort, checkPositive } from './checks.js';
import { Endpoint, type PeerAddress } from './endpoint.js';
import { Judging } from './judging.js';
import {
  DEFAULT_SERVER_PORT,
  EXPIRY_SWEEP_MAX_MS,
  JUDGED_RETENTION_MARGIN_MS,
  MAX_DATAGRAM_BYTES,
  MAX_PENDING_NOTIFIES_COUNT,
  MAX_REGISTRATIONS_PER_ADDRESS_COUNT,
  MAX_REGISTRATIONS_PER_IP_COUNT,
  MAX_REPLY_CREDIT_BYTES,
  MAX_RETRIES,
  MAX_TRACKED_ADDRESSES_COUNT,
  OHAI_REPLIES_PER_SECOND,
  OHAI_REPLY_BURST_COUNT,
  PROTOCOL_VERSION,
  RECENT_EVENT_WINDOW_COUNT,
  REGISTRATION_IDLE_MS,
  REGISTRATION_LIMIT,
  RETRY_TIMEOUT_MS,
  UNPROVEN_GRACE_MS,
} from './limits.js';
import { defaultDebugLog, RateLimitedLog } from './log.js';
import * as msg from './messages.js';
import { Notifications } from './notifications.js';
import { info, Registry } from './registry.js';
import { ReplyCredit } from './reply-credit.js';
import {
  SERVER_OPTIONS,
  type ClientInfo,
  type EventServerOptions,
  type EventServerStats,
  type Middleware,
  type ResolvedServerOptions,
  type ServerContext,
} from './server-types.js';

export type { ClientInfo, EventServerOptions, EventServerStats, Middleware } from './server-types.js';

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
    notifiesFailed: 0, registrationsRejected: 0, expired: 0, evicted: 0, repliesWithheld: 0,
    resendsWithheld: 0, ohaiLimited: 0, bytesIn: 0, bytesOut: 0,
  };

  private readonly opts: ResolvedServerOptions;
  private readonly hooks: EventServerOptions;
  private readonly middleware: Middleware;
  private readonly log: RateLimitedLog;
  private readonly registry: Registry;
  private readonly replies: ReplyCredit;
  private readonly judging: Judging;
  private readonly notifications: Notifications;
  private readonly ohaiRate: AddressRate;
  private endpoint: Endpoint | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private state = State.Idle;

  /**
   * @param options see EventServerOptions; nothing is bound until `listen()`.
   * @throws {RangeError} for a port outside 0..65535 or a non-positive count or time.
   */
  constructor(options: EventServerOptions = {}) {
    rejectUnknownOptions('EventServer', options, SERVER_OPTIONS);
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
      unprovenGraceMs: options.unprovenGraceMs ?? UNPROVEN_GRACE_MS,
      maxReplyCreditBytes: options.maxReplyCreditBytes ?? MAX_REPLY_CREDIT_BYTES,
    };
    checkPort('port', this.opts.port);
    checkPositive('retryTimeoutMs', retryTimeoutMs);
    checkCount('maxRetries', maxRetries, 0);
    checkCount('registrationLimit', this.opts.registrationLimit, 1);
    checkPositive('registrationIdleMs', this.opts.registrationIdleMs);
    checkCount('recentEventWindow', this.opts.recentEventWindow, 1);
    checkPositive('judgedRetentionMs', this.opts.judgedRetentionMs);
    checkCount('maxPendingNotifies', this.opts.maxPendingNotifies, 1);
    const maxPerAddress = options.maxRegistrationsPerAddress ?? MAX_REGISTRATIONS_PER_ADDRESS_COUNT;
    checkCount('maxRegistrationsPerAddress', maxPerAddress, 1);
    const perIp = options.maxRegistrationsPerIp ?? MAX_REGISTRATIONS_PER_IP_COUNT;
    checkCount('maxRegistrationsPerIp', perIp, 0);
    const perIpCounter = new AddressCounter(perIp);
    checkPositive('unprovenGraceMs', this.opts.unprovenGraceMs);
    checkCount('maxReplyCreditBytes', this.opts.maxReplyCreditBytes, MAX_DATAGRAM_BYTES);
    const ohaiRate = options.ohaiRepliesPerSecond ?? OHAI_REPLIES_PER_SECOND;
    checkPositive('ohaiRepliesPerSecond', ohaiRate);
    this.ohaiRate = new AddressRate(ohaiRate, OHAI_REPLY_BURST_COUNT, MAX_TRACKED_ADDRESSES_COUNT);
    this.hooks = options;
    this.middleware = options.middleware ?? ACCEPT_ALL;
    this.log = new RateLimitedLog(options.log ?? defaultDebugLog());
    const server = this;
    const ctx: ServerContext = {
      opts: this.opts,
      stats: this.stats,
      hooks: this.hooks,
      log: this.log,
      get listening() {
        return server.state === State.Listening;
      },
      get endpoint() {
        return server.endpoint;
      },
      drop: (from, reason) => this.drop(from, reason),
      reportError: (err, context) => this.reportError(err, context),
    };
    this.replies = new ReplyCredit(ctx, (cuuid) => this.registry.get(cuuid));
    this.registry = new Registry(ctx, this.replies, maxPerAddress, perIpCounter, (clientId) => this.notifications.failAllOf(clientId));
    this.judging = new Judging(ctx, this.middleware, this.registry, this.replies);
    this.notifications = new Notifications(ctx, this.registry, this.replies);
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
    this.sweepTimer = setInterval(() => this.registry.sweep(Date.now()), sweepMs);
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
    this.registry.sweep(Date.now());
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
    const rec = this.registry.live(clientId, Date.now());
    if (!rec) return null;
    return this.notifications.notify(rec, clientId, data);
  }

  /** Stop: cancel every resend, close the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.state === State.Closed && !this.endpoint) return;
    this.state = State.Closed;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.registry.clear();
    this.replies.clear();
    this.ohaiRate.clear();
    this.notifications.clear();
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
    this.stats.bytesIn += bytes.length;
    // Credit is earned by what arrives, before anything is answered (issue 14 item 4).
    const credit = this.replies.creditFor(m.cuuid, from);
    credit.bytes = Math.min(this.opts.maxReplyCreditBytes, credit.bytes + bytes.length);
    switch (m.method) {
      case 'OHAI':
        this.registry.touchIfRegistered(m.cuuid, from, now);
        if (!this.opts.discoverable) return;
        if (!this.ohaiRate.take(normalizeIp(from.address), now)) {
          this.stats.ohaiLimited++;
          return;
        }
        this.replies.reply(this.opts.allowedVersions.includes(m.version) ? msg.ohaiClient(this.opts.version, this.opts.serverName) : msg.BYE_REGISTER, from, credit);
        return;
      case 'REGISTER':
        this.registry.register(m.cuuid, m.encryption, from, now, credit);
        return;
      case 'EVENT': {
        const rec = this.registry.registered(m.cuuid, from, now);
        if (!rec) {
          this.replies.reply(msg.BYE_EVENT, from, credit);
          return;
        }
        this.judging.onEvent(rec, m.euuid, m.eventData, m.priority, from, now);
        return;
      }
      case 'OK EVENT': {
        const rec = this.registry.registered(m.cuuid, from, now);
        if (!rec) return this.drop(from, 'OK EVENT from an unregistered address');
        this.judging.acked(rec, m.euuid);
        return;
      }
      case 'OK NOTIFY': {
        const rec = this.registry.registered(m.cuuid, from, now);
        if (!rec) return this.drop(from, 'OK NOTIFY from an unregistered address');
        this.notifications.acked(rec, m.euuid);
        return;
      }
    }
  }

  // --- plumbing --------------------------------------------------------------------------------

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
