/**
 * The EventServer's shared types: its public options, client record and counters, the records
 * its parts keep per registration, and the context every part shares (server.ts builds it).
 */
import type { Endpoint, PeerAddress } from './endpoint.js';
import type { RateLimitedLog, DebugLog } from './log.js';

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
export const SERVER_OPTIONS = Object.keys({
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

export interface Judged {
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
export interface Credit {
  bytes: number;
}

export interface Registration extends ClientInfo {
  judged: Map<string, Judged>;
  /** Reply credit of its registered address, kept here so a busy table cannot evict it. */
  credit: Credit;
}

export interface PendingNotify {
  clientId: string;
  data: unknown;
  text: string;
  retries: number;
  timer: NodeJS.Timeout | undefined;
}

/** The options after defaults, as the server's parts read them. */
export type ResolvedServerOptions = Required<
  Pick<EventServerOptions, 'port' | 'discoverable' | 'registrationLimit' | 'version' | 'retryTimeoutMs' | 'maxRetries'
    | 'registrationIdleMs' | 'recentEventWindow' | 'judgedRetentionMs' | 'maxPendingNotifies' | 'unprovenGraceMs'
    | 'maxReplyCreditBytes'>
> & { host: string | undefined; serverName: string | null; allowedVersions: readonly string[] };

/** What every part of one EventServer shares; server.ts builds it. */
export interface ServerContext {
  readonly opts: ResolvedServerOptions;
  readonly stats: EventServerStats;
  /** The options as given, for the application's callbacks. */
  readonly hooks: EventServerOptions;
  readonly log: RateLimitedLog;
  /** From listen() until close(): an asynchronous judge or a timer that fires outside it does nothing. */
  readonly listening: boolean;
  /** The bound socket; undefined before listen() resolved and after close(). */
  readonly endpoint: Endpoint | undefined;
  /** Count a datagram dropped without reply, and log why. */
  drop(from: PeerAddress, reason: string): void;
  /** Log an error of a socket, judge or execute and pass it to `onError`; the server keeps serving. */
  reportError(err: unknown, context: string): void;
}
