/**
 * EventServer: the authoritative side of the Neteria protocol (neteria.md). Clients discover
 * it (OHAI), register (REGISTER), submit events that the middleware judges LEGAL or ILLEGAL
 * (EVENT), and receive pushes (NOTIFY). The original's defects K1-K8 (§11) are fixed here.
 */
import { rejectUnknownOptions } from '../core/validate.js';
import { AddressCounter, AddressRate, normalizeIp } from '../transport/address-limiter.js';
import { checkCount, checkPort, checkPositive } from './checks.js';
import { Endpoint, type PeerAddress } from './endpoint.js';
import { Uuid1Generator } from './ids.js';
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
  /**
   * True once the client acknowledged (OK EVENT / OK NOTIFY) something sent to its registered
   * address: it receives there. Only proven clients get resends and are safe from eviction.
   */
  proven: boolean;
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
  /**
   * Registrations per source address (IP and port), default 1 (MAX_REGISTRATIONS_PER_ADDRESS_COUNT);
   * a new cuuid from an address at the cap replaces that address's oldest registration.
   */
  maxRegistrationsPerAddress?: number;
  /** Registrations per source IP, default 10 (MAX_REGISTRATIONS_PER_IP_COUNT); past it BYE REGISTER. 0 = no cap. */
  maxRegistrationsPerIp?: number;
  /**
   * Age (ms) after which an unproven registration may be evicted by a new client when the
   * registry is full, default 30 000 (UNPROVEN_GRACE_MS).
   */
  unprovenGraceMs?: number;
  /**
   * Reply credit one address may bank (bytes), at least 10240, default 65536
   * (MAX_REPLY_CREDIT_BYTES). Every datagram but NOTIFY is paid from the credit its destination
   * earned by sending to us.
   */
  maxReplyCreditBytes?: number;
  /** OHAI answers per source IP per second, default 1 (OHAI_REPLIES_PER_SECOND), burst 4. */
  ohaiRepliesPerSecond?: number;
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

/** Every option an EventServer knows (the `satisfies` keeps it complete); any other is a TypeError. */
const SERVER_OPTIONS = Object.keys({
  port: true,
  host: true,
  middleware: true,
  serverName: true,
  discoverable: true,
  registrationLimit: true,
  maxRegistrationsPerAddress: true,
  maxRegistrationsPerIp: true,
  unprovenGraceMs: true,
  maxReplyCreditBytes: true,
  ohaiRepliesPerSecond: true,
  version: true,
  allowedVersions: true,
  retryTimeoutMs: true,
  maxRetries: true,
  registrationIdleMs: true,
  recentEventWindow: true,
  judgedRetentionMs: true,
  maxPendingNotifies: true,
  onRegister: true,
  onExpire: true,
  onNotifyDelivered: true,
  onNotifyFailed: true,
  onError: true,
  log: true,
} satisfies Record<keyof EventServerOptions, true>);

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
  /**
   * Registrations removed for a new one: the oldest unproven one of a full registry, or the
   * oldest at an address over `maxRegistrationsPerAddress`. `onExpire` is called for each.
   */
  evicted: number;
  /** Replies and resends not sent because the destination's reply credit could not pay them. */
  repliesWithheld: number;
  /** Resends (verdict or NOTIFY) skipped because the client has not proven its address. */
  resendsWithheld: number;
  /** OHAIs left unanswered because their IP went over `ohaiRepliesPerSecond`. */
  ohaiLimited: number;
  /** Bytes received in valid datagrams, and bytes sent (all datagrams). */
  bytesIn: number;
  bytesOut: number;
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

/** Bytes an address may still be sent (issue 14: never more out than in). */
interface Credit {
  bytes: number;
}

interface Registration extends ClientInfo {
  judged: Map<string, Judged>;
  /** Reply credit of its registered address, kept here so a busy table cannot evict it. */
  credit: Credit;
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
    notifiesFailed: 0, registrationsRejected: 0, expired: 0, evicted: 0, repliesWithheld: 0,
    resendsWithheld: 0, ohaiLimited: 0, bytesIn: 0, bytesOut: 0,
  };

  private readonly opts: Required<
    Pick<EventServerOptions, 'port' | 'discoverable' | 'registrationLimit' | 'version' | 'retryTimeoutMs' | 'maxRetries'
      | 'registrationIdleMs' | 'recentEventWindow' | 'judgedRetentionMs' | 'maxPendingNotifies' | 'unprovenGraceMs'
      | 'maxReplyCreditBytes'>
  > & { host: string | undefined; serverName: string | null; allowedVersions: readonly string[] };
  private readonly hooks: EventServerOptions;
  private readonly middleware: Middleware;
  private readonly log: RateLimitedLog;
  private readonly uuids = new Uuid1Generator();
  private readonly registry = new Map<string, Registration>();
  private readonly notifies = new Map<string, PendingNotify>();
  /** Registrations by `ip:port`, and counts by IP (the per-address caps). */
  private readonly byAddress = new Map<string, Set<Registration>>();
  private readonly maxPerAddress: number;
  private readonly perIp: AddressCounter;
  /** Reply credit of addresses without a registration there, oldest first (bounded). */
  private readonly credits = new Map<string, Credit>();
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
    this.maxPerAddress = options.maxRegistrationsPerAddress ?? MAX_REGISTRATIONS_PER_ADDRESS_COUNT;
    checkCount('maxRegistrationsPerAddress', this.maxPerAddress, 1);
    const perIp = options.maxRegistrationsPerIp ?? MAX_REGISTRATIONS_PER_IP_COUNT;
    checkCount('maxRegistrationsPerIp', perIp, 0);
    this.perIp = new AddressCounter(perIp);
    checkPositive('unprovenGraceMs', this.opts.unprovenGraceMs);
    checkCount('maxReplyCreditBytes', this.opts.maxReplyCreditBytes, MAX_DATAGRAM_BYTES);
    const ohaiRate = options.ohaiRepliesPerSecond ?? OHAI_REPLIES_PER_SECOND;
    checkPositive('ohaiRepliesPerSecond', ohaiRate);
    this.ohaiRate = new AddressRate(ohaiRate, OHAI_REPLY_BURST_COUNT, MAX_TRACKED_ADDRESSES_COUNT);
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
    this.byAddress.clear();
    this.credits.clear();
    this.ohaiRate.clear();
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
    this.stats.bytesIn += bytes.length;
    // Credit is earned by what arrives, before anything is answered (issue 14 item 4).
    const credit = this.creditFor(m.cuuid, from);
    credit.bytes = Math.min(this.opts.maxReplyCreditBytes, credit.bytes + bytes.length);
    switch (m.method) {
      case 'OHAI':
        this.touchIfRegistered(m.cuuid, from, now);
        if (!this.opts.discoverable) return;
        if (!this.ohaiRate.take(normalizeIp(from.address), now)) {
          this.stats.ohaiLimited++;
          return;
        }
        this.reply(this.opts.allowedVersions.includes(m.version) ? msg.ohaiClient(this.opts.version, this.opts.serverName) : msg.BYE_REGISTER, from, credit);
        return;
      case 'REGISTER':
        this.onRegister(m.cuuid, m.encryption, from, now, credit);
        return;
      case 'EVENT': {
        const rec = this.registered(m.cuuid, from, now);
        if (!rec) {
          this.reply(msg.BYE_EVENT, from, credit);
          return;
        }
        this.onEvent(rec, m.euuid, m.eventData, m.priority, from, now);
        return;
      }
      case 'OK EVENT': {
        const rec = this.registered(m.cuuid, from, now);
        if (!rec) return this.drop(from, 'OK EVENT from an unregistered address');
        const j = rec.judged.get(m.euuid);
        // Proof: it acknowledged a verdict that was sent to its address.
        if (j && j.legal !== undefined) rec.proven = true;
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
          rec.proven = true;
          clearTimeout(p.timer);
          this.notifies.delete(m.euuid);
          this.log.guard(() => this.hooks.onNotifyDelivered?.(rec.id, m.euuid, p.data));
        }
        return;
      }
    }
  }

  private onRegister(cuuid: string, encryption: boolean, from: PeerAddress, now: number, credit: Credit): void {
    if (encryption) {
      // neteria.md §10: refuse rather than silently answer an RSA client in plaintext.
      this.stats.registrationsRejected++;
      this.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    const known = this.live(cuuid, now);
    const key = addressKey(from);
    const ip = normalizeIp(from.address);
    if (known && addressKey(known) === key) {
      // §6: re-registering always succeeds, even when full.
      known.registeredAt = now;
      known.lastSeen = now;
      this.reply(msg.OK_REGISTER, from, known.credit);
      this.log.guard(() => this.hooks.onRegister?.(info(known), true));
      return;
    }
    // A new client, or a known one moving here (K4). One address keeps at most maxPerAddress
    // registrations, a new one replacing its oldest; an IP at its cap gets no new ones (issue 14 item 3).
    const here = this.byAddress.get(key);
    const replacing = here !== undefined && here.size >= this.maxPerAddress;
    const sameIp = known !== undefined && normalizeIp(known.address) === ip;
    if (!replacing && !sameIp && !this.perIp.has(ip)) {
      this.stats.registrationsRejected++;
      this.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    if (replacing) this.evict(oldest(here)!);
    if (known) {
      // §6: re-registering always succeeds, even when full, and moves the client (K4). The new
      // address has proven nothing yet, and its credit is what it sent.
      this.unlink(known);
      known.address = from.address;
      known.port = from.port;
      known.registeredAt = now;
      known.lastSeen = now;
      known.proven = false;
      known.credit = this.takeCredit(key, credit);
      this.link(known);
      this.reply(msg.OK_REGISTER, from, known.credit);
      this.log.guard(() => this.hooks.onRegister?.(info(known), true));
      return;
    }
    if (this.registry.size >= this.opts.registrationLimit) this.sweep(now);
    if (this.registry.size >= this.opts.registrationLimit) this.evictUnproven(now);
    // K7: the original tests `count > limit` before inserting and so admits limit + 1.
    if (this.registry.size >= this.opts.registrationLimit) {
      this.stats.registrationsRejected++;
      this.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    const rec: Registration = {
      id: cuuid, address: from.address, port: from.port, registeredAt: now, lastSeen: now, proven: false,
      judged: new Map(), credit: this.takeCredit(key, credit),
    };
    this.registry.set(cuuid, rec);
    this.link(rec);
    this.reply(msg.OK_REGISTER, from, rec.credit);
    this.log.guard(() => this.hooks.onRegister?.(info(rec), false));
  }

  private onEvent(rec: Registration, euuid: string, data: unknown, priority: string, from: PeerAddress, now: number): void {
    const seen = rec.judged.get(euuid);
    if (seen) {
      // K1 / §9: never judge or execute twice. Still judging: the judgement will be sent when
      // ready. Judged: answer at once with the stored judgement (the original stays silent).
      this.stats.duplicates++;
      if (seen.legal !== undefined) this.reply(msg.judgement(seen.legal ? 'LEGAL' : 'ILLEGAL', euuid, seen.priority), from, rec.credit);
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
    this.reply(text, from, this.creditFor(rec.id, from));
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
    // Resends only to a client that showed it receives at its address (issue 14 item 4); the
    // schedule runs on, so a client that proves itself meanwhile gets the later ones.
    if (!rec.proven) this.stats.resendsWithheld++;
    else if (this.reply(text, rec, rec.credit)) this.stats.judgementResends++;
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
    if (!rec.proven) this.stats.resendsWithheld++;
    else {
      this.stats.notifyResends++;
      this.send(p.text, rec);
    }
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
    this.stats.expired++;
    this.remove(rec);
  }

  /** Remove an unproven registration to make room (issue 14 item 3); reported like an expiry. */
  private evict(rec: Registration): void {
    this.stats.evicted++;
    this.remove(rec);
  }

  /** A full registry: evict the oldest unproven registration past its grace period, if any. */
  private evictUnproven(now: number): void {
    let victim: Registration | undefined;
    for (const rec of this.registry.values()) {
      if (rec.proven || now - rec.registeredAt < this.opts.unprovenGraceMs) continue;
      if (victim === undefined || rec.registeredAt < victim.registeredAt) victim = rec;
    }
    if (victim !== undefined) this.evict(victim);
  }

  private link(rec: Registration): void {
    const key = addressKey(rec);
    let set = this.byAddress.get(key);
    if (set === undefined) this.byAddress.set(key, (set = new Set()));
    set.add(rec);
    this.perIp.take(normalizeIp(rec.address));
  }

  private unlink(rec: Registration): void {
    const key = addressKey(rec);
    const set = this.byAddress.get(key);
    if (set?.delete(rec)) {
      if (set.size === 0) this.byAddress.delete(key);
      this.perIp.give(normalizeIp(rec.address));
    }
  }

  private remove(rec: Registration): void {
    this.registry.delete(rec.id);
    this.unlink(rec);
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

  /**
   * Send an answer (anything but NOTIFY) paid from `credit`, the destination's reply credit.
   * @returns false when the credit could not pay it (withheld, counted)
   */
  private reply(text: string, to: PeerAddress, credit: Credit): boolean {
    // Our datagrams are ASCII (pyString escapes the rest), so length is the byte count.
    if (credit.bytes < text.length) {
      this.stats.repliesWithheld++;
      this.log.line(() => `reply of ${text.length} bytes to ${to.address}:${to.port} withheld: it sent us fewer`);
      return false;
    }
    credit.bytes -= text.length;
    this.send(text, to);
    return true;
  }

  /** Send without a credit check: NOTIFY, which the application decides to send. */
  private send(text: string, to: PeerAddress): void {
    if (!this.endpoint) return;
    this.stats.bytesOut += text.length;
    this.endpoint.send(text, { address: to.address, port: to.port }, (err) => this.log.line(() => `send to ${to.address}:${to.port} failed: ${err.message}`));
  }

  /** The reply credit of `from`: its registration's when `cuuid` is registered there, else the table's. */
  private creditFor(cuuid: string, from: PeerAddress): Credit {
    const rec = this.registry.get(cuuid);
    if (rec !== undefined && rec.port === from.port && rec.address === from.address) return rec.credit;
    const key = addressKey(from);
    let c = this.credits.get(key);
    if (c === undefined) {
      if (this.credits.size >= MAX_TRACKED_ADDRESSES_COUNT) {
        // Oldest first (Map order): forgetting credit only ever lets an address receive less.
        this.credits.delete(this.credits.keys().next().value!);
      }
      c = { bytes: 0 };
      this.credits.set(key, c);
    }
    return c;
  }

  /** Move the table's credit of `key` onto a registration made there. */
  private takeCredit(key: string, credit: Credit): Credit {
    if (this.credits.get(key) === credit) this.credits.delete(key);
    return { bytes: credit.bytes };
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
  return { id: rec.id, address: rec.address, port: rec.port, registeredAt: rec.registeredAt, lastSeen: rec.lastSeen, proven: rec.proven };
}

function addressKey(a: PeerAddress): string {
  return `${a.address}:${a.port}`;
}

function oldest(set: Set<Registration>): Registration | undefined {
  let first: Registration | undefined;
  for (const rec of set) if (first === undefined || rec.registeredAt < first.registeredAt) first = rec;
  return first;
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
