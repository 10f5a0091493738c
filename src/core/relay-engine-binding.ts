/**
 * The native relay engine's binding (`addon.RelayEngine`, native/addon-engine.cc), typed for the
 * relay's control plane (src/relay/engine/). The contract, with threads, ownership and limits, is
 * docs/native-engine.md. Linux only: on other platforms, without the addon or under
 * GAMEWIRE_NATIVE=0, `relayEngineBinding` is undefined and the relay runs its Node engine.
 */
import { addon } from './load.js';

/** What `new RelayEngine(config, onEvents)` takes: the relay's resolved options, passed through. */
export interface RelayEngineConfig {
  host: string;
  port: number;
  /** A first byte `G` starts a WebSocket handshake (not built in yet: such connections are refused and counted). */
  websocket: boolean;
  maxWebSocketPayloadBytes: number;
  /** Accept to first byte (ms); 0 = none. */
  loginTimeoutMs: number;
  /** Inbound silence (ms); 0 = never. */
  idleTimeoutMs: number;
  /** Unsent bytes without progress (ms); 0 = never. */
  stallTimeoutMs: number;
  /** Outbound silence before a keepalive (ms, joint.md §7); 0 = off. */
  keepaliveMs: number;
  maxOutboundBytes: number;
  outboundHighWaterBytes: number;
  outboundLowWaterBytes: number;
  /** 0 = unlimited. */
  inboundBytesPerSec: number;
  /** 0 = unlimited. */
  inboundUnitsPerSec: number;
  inboundBurstSeconds: number;
  /** 0 throttle, 1 disconnect. */
  inboundPolicy: number;
  /** How long a graceful `close` (the relay's shutdown) flushes before the socket closes anyway (ms); default 1000 (`closeGraceMs`). */
  closeGraceMs?: number;
  /**
   * Events handed to JavaScript and not yet handled past which no socket is accepted (events),
   * 1..65536; default 65536 (`kMaxEventsInFlight`). Lower only in tests.
   */
  maxEventsInFlight?: number;
  /**
   * After a busy loop turn (4 KiB moved), wait this long (µs, 0..10000) before the next one, so
   * reads and writes carry more frames each; default 0 = never (`batchDelayUs` of the relay).
   */
  batchDelayUs?: number;
  /**
   * SO_REUSEPORT on the listening socket (`gamewire relay --workers`: every worker's engine listens
   * on the port its primary holds with `reservePort`, and the kernel spreads the connections).
   */
  reusePort?: boolean;
}

/**
 * One batch of events: `count` records of `RELAY_EVENT_STRIDE` int32 `[type, conn, a, b, c,
 * offset, length, 0]`, each record's bytes at `bytes.subarray(offset, offset + length)`. One call
 * per batch (a loop turn of the I/O thread), never per frame. Types (`RelayEventType`): CONNECT
 * (a socket accepted, nothing read: b = port, bytes = IP), ACCEPT (first bytes or handshake done:
 * a = 0 tcp / 1 websocket), COMMAND (a = cmd, b = cmdNr, bytes = payload), CLOSED (a = reason
 * code, bytes = detail), REMOTE (a data piece for another node: a = `RemoteKind`, b = jIn
 * (TO_OWNER) or jOwn, c = userNr (TO_OWNER: its route's, TO_USER: the addressee) or the excluded
 * userNr / -1 (BROADCAST), slot 7 = the parser's frame flags (1 start, 2 end), bytes = the data,
 * un-rewritten), BACKLOG (a = 1: what `send` queued left the backlog past outboundHighWaterBytes
 * after a flush; a = 0: it drained to outboundLowWaterBytes), see docs/native-engine.md.
 */
export type RelayEngineEvents = (records: Int32Array, count: number, bytes: Buffer) => void;

/** One engine instance. Connection ids are positive int32 (slot and generation); stale ids are ignored. */
export interface RelayEngineBinding {
  /** Bind and listen on the configured host and port. @returns the port. @throws Error with `code` (EADDRINUSE...). */
  listen(): number;
  /** Start the I/O thread. @throws Error when not listening or already started. */
  start(): void;
  /** Start reading an ACCEPTed connection (each new one is held until this). */
  admit(conn: number): void;
  /** A COMMAND was handled: go on parsing the connection's held input. */
  resume(conn: number): void;
  /** Queue `bytes` (copied) to `conn`. */
  send(conn: number, bytes: Uint8Array): void;
  /** Joint `jOwn` of `owner` exists (`owned` true, at a create) or no more (false: a delete; its routes go too). */
  own(owner: number, jOwn: number, owned: boolean): void;
  /**
   * Route `user`'s in-joint `jIn` to `owner`'s joint `jOwn` as user `userNr` (both directions).
   * Either side (not both) may be `RelayEngine.REMOTE` (0), the far end of a cross-node route:
   * its pieces come back as REMOTE events instead of being written (a remote owner: jOwn and
   * userNr are only reported back; a remote user: jIn is unused).
   */
  enter(user: number, jIn: number, owner: number, jOwn: number, userNr: number): void;
  /** Remove that route; idempotent. */
  leave(user: number, jIn: number): void;
  /**
   * Close; its routes go at once; no CLOSED event comes back. `graceful` (the relay's shutdown):
   * flush what is queued (WebSocket: then close 1000) for at most `closeGraceMs`; otherwise
   * (default) at once, what is queued dropped, no close frame, as the Node engine's `destroy()`.
   * Between CONNECT and ACCEPT: refuse the socket at once (no bytes).
   */
  close(conn: number, reasonCode: number, graceful?: boolean): void;
  /** Counters into `out` (at least `statsNames.length` slots), in `RelayEngine.statsNames` order. */
  stats(out: Float64Array): void;
  /** Close every connection and the listener, join the I/O thread; batches not yet delivered are dropped. Idempotent. */
  stop(): void;
}

/**
 * The calls of an engine with remote routes (`RelayEngine.remote` true: cluster data, the
 * `4 REMOTE` events); a separate face so that engines without them (older addons, test fakes)
 * still are `RelayEngineBinding`s.
 */
export interface RelayEngineRemoteBinding extends RelayEngineBinding {
  /** Remove member `userNr` of `owner`'s joint `jOwn`, local or remote, with its route; idempotent. */
  leaveMember(owner: number, jOwn: number, userNr: number): void;
  /** Stop reading `conn` until `unpause` (its own cause: the engine's backpressure and budgets apply besides). */
  pause(conn: number): void;
  unpause(conn: number): void;
}

/**
 * The handover calls (`relay --workers`, docs/native-engine.md "Handover"): an engine gives up a
 * connection's socket and adopts one. A separate face, as the remote one: older addons and test
 * fakes lack them (`RelayEngine.handover` true when present).
 */
export interface RelayEngineHandoverBinding extends RelayEngineBinding {
  /**
   * Give up open raw-TCP connection `conn`, synchronously (the I/O thread applies it after every
   * call made before it): its descriptor `fd`, now the caller's to send and close (the engine no
   * longer watches it and never closes it), and `bytes`, its input read and not parsed yet. The
   * engine forgets it (routes, pauses; counted as closed by its peer), no CLOSED event.
   * Call it while handling its COMMAND (before `resume`) or before `admit`.
   * @returns null, nothing changed, when it cannot be given up whole: not open (unknown, stale,
   *   closing), a WebSocket, output queued, a unit half parsed, parsing not stopped, or not started.
   */
  detach(conn: number): { fd: number; bytes: Buffer } | null;
  /**
   * Take a connected TCP socket as a new connection whose first input is `bytes` (at most
   * 128 KiB), synchronously. The engine takes a duplicate of `fd`: the caller keeps its own and
   * closes it. The caller has admitted it: no CONNECT; ACCEPT follows its first bytes (at once
   * when `bytes` is not empty), then the usual admit/COMMAND/CLOSED.
   * @returns its connection id, or 0 when the engine has no room (the descriptor is not taken).
   * @throws Error with `code` (EBADF, ENOTSOCK, ENOTCONN, EPROTOTYPE, EAFNOSUPPORT) when `fd` is not
   *   a connected TCP socket, or when the engine is not running.
   */
  adopt(fd: number, bytes: Uint8Array, remoteAddress: string, remotePort: number): number;
}

/** The class the addon exports. */
export type RelayEngineConstructor = (new (config: RelayEngineConfig, onEvents: RelayEngineEvents) => RelayEngineBinding) & {
  /** Counter names in `stats()` order (native/engine/engine-stats.h). */
  readonly statsNames: readonly string[];
  /** Int32 slots per event record (8). */
  readonly EVENT_STRIDE: number;
  /** True when the addon was built with the WebSocket codec: a first byte `G` is then a handshake. */
  readonly webSocket: boolean;
  /** The connection id of a route's far end on another node (0); undefined in an addon without remote routes. */
  readonly REMOTE?: number;
  /** True when the engine has remote routes, REMOTE events and pause/unpause (cluster data). */
  readonly remote?: boolean;
  /** True when the engine has detach/adopt (`RelayEngineHandoverBinding`). */
  readonly handover?: boolean;
  /**
   * Bind a socket with SO_REUSEPORT, not listening, that holds `host:port` (0: any free port) for
   * engines configured with `reusePort` (the primary of `gamewire relay --workers`). The caller
   * closes `fd`. @throws Error with `code` (EADDRINUSE, ENOTFOUND...). Undefined in older addons.
   */
  reservePort?(host: string, port: number): { fd: number; port: number };
};

/** Int32 slots per event record. */
export const RELAY_EVENT_STRIDE = 8;
/** Event types (a record's first slot). */
export const RelayEventType = { Accept: 1, Command: 2, Closed: 3, Remote: 4, Connect: 5, Backlog: 6 } as const;
/** A REMOTE event's kind (its `a`): what the piece is for, as the cluster link's records. */
export const RemoteKind = { ToOwner: 1, ToUser: 2, Broadcast: 3 } as const;
/** The REMOTE connection id (`RelayEngine.REMOTE`). */
export const REMOTE_CONN = 0;
/** The CLOSED event's reason codes, by code (native/engine/engine-stats.h `Reason`). */
export const RELAY_ENGINE_REASONS = ['peer_closed', 'socket_error', 'protocol_error', 'rate_limit', 'slow_reader', 'stalled', 'idle', 'shutdown', 'login_timeout'] as const;

/** The addon's RelayEngine, or undefined without the addon (or on a platform it was not built for). */
export const relayEngineBinding: RelayEngineConstructor | undefined = (addon as { RelayEngine?: RelayEngineConstructor } | null)?.RelayEngine;
