/**
 * The EventClient's shared types: its public options, records and counters, and the context
 * every part shares (client.ts builds it).
 */
import type { Endpoint, PeerAddress } from './endpoint.js';
import { EventsError } from './errors.js';
import type { DebugLog, RateLimitedLog } from './log.js';
import type { Priority } from './messages.js';

/** An event this client sent, as the callbacks and the polled collections hold it. */
export interface SentEvent {
  /** The event id (euuid). */
  id: string;
  /** The `event_data` given to `event()`. */
  data: unknown;
  priority: Priority;
  /** When it was first sent (ms since 1970). */
  sentAt: number;
  /** Resends so far (the `retry` field of the last copy sent). */
  retries: number;
}

/** Why an event is in `rollbacks`. */
export type RollbackReason = 'illegal' | 'timeout' | 'not-registered';

/** An entry of `rollbacks`: undo it if you applied it (always for a high-priority event). */
export interface Rollback extends SentEvent {
  reason: RollbackReason;
}

/** A server that answered `discover()`. */
export interface DiscoveredServer {
  address: string;
  port: number;
  version: string;
  /** `server_name` as sent (null when the server has none). */
  serverName: unknown;
}

/** Options of `discover()`. */
export interface DiscoverOptions {
  /** Where to send OHAI, default 255.255.255.255 (broadcast); a unicast address asks one server. */
  address?: string;
  /** Server port, default the client's `serverPort` (40080). */
  port?: number;
  /**
   * How long to collect answers (ms), default the client's `retryTimeoutMs`. A unicast probe
   * resolves at the first answer.
   */
  timeout?: number;
  /** Register with the first server that answered, as the original's auto-registration. */
  register?: boolean;
}

/** Options of EventClient; every limit defaults to its constant in limits.ts. */
export interface EventClientOptions {
  /**
   * Local UDP port. Default: random in [50000, 60000) as the original (CLIENT_PORT_MIN/MAX,
   * retried CLIENT_BIND_ATTEMPTS_COUNT times); 0 lets the OS choose.
   */
  port?: number;
  /** Local bind address, default all interfaces. */
  host?: string;
  /** Default server port for `discover()` and `register()`, default 40080. */
  serverPort?: number;
  /** This client's id (cuuid), default a fresh uuid1 string. */
  id?: string;
  /** Version sent in OHAI, default "1.0.3". */
  version?: string;
  /** Resend interval of REGISTER and EVENT (ms), default 2000 (RETRY_TIMEOUT_MS). */
  retryTimeoutMs?: number;
  /** Resends after the first send, default 4 (MAX_RETRIES). */
  maxRetries?: number;
  /** Events awaiting a judgement at once, default 1024 (MAX_PENDING_EVENTS_COUNT). */
  maxPendingEvents?: number;
  /** Entries kept in rollbacks / confirmations / notifies, default 4096 (MAX_RECORDS_COUNT). */
  maxRecords?: number;
  /** NOTIFY ids remembered against duplicates, default 4096 (NOTIFY_DEDUP_WINDOW_COUNT). */
  notifyDedupWindow?: number;
  /** Servers kept in `servers`, the least recently answering forgotten first, default 256 (MAX_DISCOVERED_SERVERS_COUNT). */
  maxDiscoveredServers?: number;
  /** An event was judged LEGAL (normal: apply it now; high: it is confirmed). */
  onLegal?: (event: SentEvent) => void;
  /** An event was judged ILLEGAL: the rollback hook (undo a high-priority event). */
  onIllegal?: (event: SentEvent) => void;
  /** A NOTIFY arrived (once per id, K3). */
  onNotify?: (data: unknown, eventId: string) => void;
  /** No judgement after every retry (K2): undo a high-priority event; a normal one is refused. */
  onTimeout?: (event: SentEvent) => void;
  /**
   * The server answered BYE EVENT (this client is not, or no longer, registered); every pending
   * event was rejected with GW_ERR_NOT_REGISTERED and moved to rollbacks. Register again.
   */
  onNotRegistered?: () => void;
  /** A socket error; the client keeps running. */
  onError?: (error: Error) => void;
  /** Debug line sink; default stderr when DEBUG contains "gamewire". Rate-limited for drops. */
  log?: DebugLog;
}

/** Counters, for tests and monitoring. */
export interface EventClientStats {
  received: number;
  /** Datagrams dropped without reply: bad input, or not from the server we talk to. */
  dropped: number;
  eventsSent: number;
  eventResends: number;
  legal: number;
  illegal: number;
  timeouts: number;
  /** Judgements for ids no longer pending (duplicates, or after a timeout): acked, not applied. */
  lateJudgements: number;
  notifies: number;
  /** NOTIFY copies already delivered once: acked, not delivered again. */
  duplicateNotifies: number;
  /** Records dropped from a full rollbacks / confirmations / notifies collection. */
  recordsDropped: number;
}

/** Every option name an EventClient accepts; any other is a TypeError (a typo is not ignored). */
export const CLIENT_OPTIONS = [
  'port', 'host', 'serverPort', 'id', 'version', 'retryTimeoutMs', 'maxRetries', 'maxPendingEvents',
  'maxRecords', 'notifyDedupWindow', 'maxDiscoveredServers', 'onLegal', 'onIllegal', 'onNotify',
  'onTimeout', 'onNotRegistered', 'onError', 'log',
] as const;

/** The options after defaults, as the client's parts read them. */
export type ResolvedClientOptions = {
  port: number | undefined; host: string | undefined; serverPort: number; version: string;
  retryTimeoutMs: number; maxRetries: number; maxPendingEvents: number; maxRecords: number;
  notifyDedupWindow: number; maxDiscoveredServers: number;
};

/** What every part of one EventClient shares; client.ts builds it. */
export interface ClientContext {
  /** This client's id (cuuid). */
  readonly id: string;
  readonly opts: ResolvedClientOptions;
  readonly stats: EventClientStats;
  /** The options as given, for the application's callbacks. */
  readonly hooks: EventClientOptions;
  readonly log: RateLimitedLog;
  /** The bound socket; undefined until bound and after close(). */
  readonly endpoint: Endpoint | undefined;
  /** The server this client registered (or is registering) with. */
  readonly server: PeerAddress | undefined;
  /** Send to the server, if there is one (an ack). */
  sendToServer(text: string): void;
  /** Count a datagram dropped without reply, and log why. */
  drop(from: PeerAddress, reason: string): void;
  /** Log a socket error and pass it to `onError`; the client keeps running. */
  reportError(err: Error): void;
}

/** GW_ERR_CLOSED, for whatever close() cut short. */
export function closedError(): EventsError {
  return new EventsError('GW_ERR_CLOSED', 'the EventClient was closed');
}
