/**
 * PeoteServer: owns a joint that PeoteClients enter (peote-net's API, joint.md).
 */
import { JointClientConnection, type OwnJointListener } from '../joint/client-connection.js';
import type { JointClientPlatform } from '../joint/client-platform.js';
import { LocalJointTable, localJointKey } from '../joint/client-local.js';
import { LOCAL_USER_NR_BASE, MAX_LOCAL_USERS } from '../joint/client-limits.js';
import { MAX_USERS_PER_JOINT } from '../joint/limits.js';
import { LowestFree } from '../joint/numbers.js';
import { ChunkReceiver, checkMaxChunkSize, encodeChunk, pickMode, type PeoteMode } from './chunks.js';
import { encodeJointId } from './joint-id.js';
import { DEFAULT_NET_LAG_MS, DEFAULT_NET_SPEED_BYTES_PER_SEC } from './limits.js';
import { LocalSession, type LocalOwnerEnd, type LocalUserEnd } from './local-session.js';
import { Reason } from './reason.js';
import { checkHostArgument, checkPayload, checkPortArgument, rejectUnknownOptions } from '../core/validate.js';
import { checkRemoteId, dispatchCall, type RemoteInterface, type RemoteObject, type RemoteProxy, type RemoteSchema } from './remote.js';

/** Options of a PeoteServer. Give `onData` (raw) or `onDataChunk` (chunks) or neither (RPC). */
export interface PeoteServerOptions {
  /** The joint exists: `jointNr` is set and users may enter. */
  onCreate?: (server: PeoteServer) => void;
  /**
   * Something failed. `userNr` is -1 for the joint itself: create failed (ID, MAX, MALICIOUS,
   * DISCONNECT when the relay cannot be reached) or the connection was lost (CLOSE). With a
   * userNr: that user sent malformed chunks or RPC calls (MALICIOUS). `cause` says why when
   * the connection failed (e.g. `connect to 127.0.0.1:7680 failed: connect ECONNREFUSED …`);
   * `Reason.describe(reason, cause)` gives both.
   */
  onError?: (server: PeoteServer, userNr: number, reason: Reason, cause?: Error) => void;
  /** A user entered; it gets `userNr` (0..255 through the relay, >= 256 local). */
  onUserConnect?: (server: PeoteServer, userNr: number) => void;
  /** A user left (DISCONNECT), its connection closed (CLOSE), or ours did (CLOSE). */
  onUserDisconnect?: (server: PeoteServer, userNr: number, reason: Reason) => void;
  /** Raw mode: data from a user, in pieces as they arrive (joint.md §8). The bytes are yours. */
  onData?: (server: PeoteServer, userNr: number, bytes: Uint8Array) => void;
  /** Chunk mode: one whole chunk from a user (joint.md §10). The bytes are yours. */
  onDataChunk?: (server: PeoteServer, userNr: number, chunk: Uint8Array) => void;
  /** RPC mode: the user registered a remote object under `remoteId`; build a proxy with `proxy()`. */
  onRemote?: (server: PeoteServer, userNr: number, remoteId: number) => void;
  /** Largest chunk (bytes), 1..2^29, default 32768; must match the peers (joint.md §10.2). */
  maxChunkSize?: number;
  /** Emulate the joint in this process, without a relay (joint.md §13). Default false. */
  offline?: boolean;
  /** Emulated latency (ms) toward local clients, default 20. */
  netLag?: number;
  /** Emulated bandwidth (bytes/s) toward local clients, default 1 MiB/s. */
  netSpeed?: number;
}

/** Every server of the process by `host:port:jointId`, for local routing (joint.md §13). */
export const localServers = new LocalJointTable<PeoteServer>();

/** The option names a PeoteServer accepts; any other is a TypeError (a typo is not ignored). */
const SERVER_OPTIONS = [
  'onCreate', 'onError', 'onUserConnect', 'onUserDisconnect', 'onData', 'onDataChunk', 'onRemote',
  'maxChunkSize', 'offline', 'netLag', 'netSpeed',
] as const;

/**
 * Servers of this process whose create() awaits the relay's reply. An enter issued meanwhile
 * for the same port and joint id (any host name: it may be an alias of the same relay) waits
 * for that reply, so "create, then enter" in one program works (issue 16 item 1) instead of
 * racing the create to the relay and getting ID.
 */
const creating = new Set<PeoteServer>();

/**
 * @internal The server of this process whose create of `jointId` on port `port` is awaiting
 * its reply, if any.
 */
export function pendingCreate(port: number, jointId: string): PeoteServer | undefined {
  for (const server of creating) if (server.port === port && server.jointId === jointId) return server;
  return undefined;
}

const enum State {
  Idle,
  Creating,
  Created,
}

const NO_REMOTES: ReadonlyMap<number, RemoteObject> = new Map();

/**
 * Owns one joint at a time, through a relay (one shared connection per `host:port`) or
 * offline. Clients of the same process that enter it are routed locally.
 *
 * ```ts
 * const server = new PeoteServer({
 *   onCreate: (s) => console.log('joint', s.jointNr),
 *   onUserConnect: (s, user) => s.sendChunk(user, new TextEncoder().encode('welcome')),
 *   onDataChunk: (s, user, chunk) => s.broadcastChunk(chunk, user),
 * });
 * server.create('127.0.0.1', 7680, 'lobby');
 * ```
 */
export class PeoteServer implements LocalOwnerEnd {
  /** raw, chunk or rpc: chosen by the options (joint.md §10.3). */
  readonly mode: PeoteMode;
  /** Largest chunk (bytes). */
  readonly maxChunkSize: number;
  /** True when the joint is emulated in-process. */
  readonly offline: boolean;
  /** Emulated latency (ms). */
  readonly netLag: number;
  /** Emulated bandwidth (bytes/s). */
  readonly netSpeed: number;
  /** The joint number: 0..127 on a relay, >= 128 offline; -1 when there is no joint. */
  jointNr = -1;
  /** Host, port and id of the last `create`. */
  host = '';
  port = 0;
  jointId = '';

  /** The connector and parsers of the entry this was made through. */
  private readonly hooks: JointClientPlatform;
  private readonly options: PeoteServerOptions;
  private state = State.Idle;
  private key = '';
  /** Bumped by every create/delete, so late replies and timers of an old joint are ignored. */
  private generation = 0;
  private connection: JointClientConnection | null = null;
  private createTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly remoteUsers = new Set<number>();
  private readonly localUsers = new Map<number, LocalSession>();
  private readonly localNumbers = new LowestFree(MAX_LOCAL_USERS);
  private receiver: ChunkReceiver | null = null;
  private readonly remotes = new Map<number, Map<number, RemoteObject>>();
  /** Run once the pending create is answered (or abandoned): enters waiting for it. */
  private createWaiters: (() => void)[] = [];

  /**
   * The entries (`gamewire/peote`, `gamewire/peote/browser`) export a subclass that passes
   * their own hooks; users call that one with `options` only.
   * @param hooks connector and parsers of the entry, read when a joint starts
   * @param options callbacks and limits (default: RPC mode, maxChunkSize 32768)
   * @throws TypeError when both onData and onDataChunk are given, or for an unknown option
   * @throws RangeError for maxChunkSize, netLag or netSpeed out of range
   */
  constructor(hooks: JointClientPlatform, options: PeoteServerOptions = {}) {
    rejectUnknownOptions('PeoteServer', options, SERVER_OPTIONS);
    options ??= {};
    this.hooks = hooks;
    this.options = options;
    this.mode = pickMode(options, 'PeoteServer');
    this.maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    this.offline = options.offline ?? false;
    this.netLag = options.netLag ?? DEFAULT_NET_LAG_MS;
    this.netSpeed = options.netSpeed ?? DEFAULT_NET_SPEED_BYTES_PER_SEC;
    if (!(Number.isFinite(this.netLag) && this.netLag >= 0)) throw new RangeError(`netLag must be >= 0 ms, got ${this.netLag}`);
    if (!(this.netSpeed > 0)) throw new RangeError(`netSpeed must be > 0 bytes/s, got ${this.netSpeed}`);
  }

  /** True from onCreate until delete() or the connection is lost. */
  get created(): boolean {
    return this.state === State.Created;
  }

  /** The userNrs present now (relay users and local users). */
  get users(): number[] {
    return [...this.remoteUsers, ...[...this.localUsers.values()].filter((s) => s.connected).map((s) => s.userNr)];
  }

  /**
   * Create joint `jointId` on the relay at `host:port` (or offline). Result: onCreate, or
   * onError(server, -1, reason, cause). Enters of this process issued before the reply wait for it.
   * @throws Error when this server already has a joint; TypeError for a host that is not a
   *   non-empty string, a port or id of the wrong type; RangeError for a port outside 1..65535
   *   or an id over 255 UTF-8 bytes
   */
  create(host: string, port: number, jointId: string): void {
    if (this.state !== State.Idle) throw new Error('PeoteServer.create: this server already has a joint; delete() it first');
    checkHostArgument('host', host);
    checkPortArgument('port', port);
    const id = encodeJointId(jointId);
    this.host = host;
    this.port = port;
    this.jointId = jointId;
    const generation = ++this.generation;
    const key = localJointKey(host, port, jointId);
    // joint.md §14 ID: the id is already used in this process on this connection key.
    if (!localServers.add(key, this)) {
      queueMicrotask(() => this.options.onError?.(this, -1, Reason.ID));
      return;
    }
    this.key = key;
    this.state = State.Creating;
    this.receiver = this.mode === 'raw' ? null : new ChunkReceiver(this.hooks, this.maxChunkSize, LOCAL_USER_NR_BASE + MAX_LOCAL_USERS);
    if (this.offline) {
      const nr = localServers.takeServerNr();
      if (nr < 0) {
        this.failCreate(generation, Reason.MAX, true);
        return;
      }
      this.jointNr = nr;
      // joint.md §13: onCreate after netLag.
      this.createTimer = setTimeout(() => {
        this.createTimer = undefined;
        if (generation !== this.generation) return;
        this.state = State.Created;
        this.options.onCreate?.(this);
      }, this.netLag);
      return;
    }
    const connection = JointClientConnection.get(this.hooks, host, port);
    this.connection = connection;
    creating.add(this);
    connection.create(id, this.listener(generation), (reason, jOwn, cause) => {
      if (generation !== this.generation) {
        // delete() came before the reply: drop the joint we no longer want.
        if (reason === null) connection.delete(jOwn);
        return;
      }
      if (reason !== null) {
        this.failCreate(generation, reason as Reason, false, cause);
        return;
      }
      this.jointNr = jOwn;
      this.state = State.Created;
      creating.delete(this);
      this.options.onCreate?.(this);
      this.releaseCreateWaiters();
    });
  }

  /** @internal Run `then` once the pending create is answered or abandoned (at once if none is pending). */
  afterCreate(then: () => void): void {
    if (creating.has(this)) this.createWaiters.push(then);
    else queueMicrotask(then);
  }

  private releaseCreateWaiters(): void {
    creating.delete(this);
    const waiters = this.createWaiters;
    this.createWaiters = [];
    for (const then of waiters) then();
  }

  /**
   * Delete the joint: relay users get onDisconnect(DISCONNECT) from the relay, local users after
   * the lag (joint.md §13). Nothing more is reported for it. Does nothing without a joint.
   */
  delete(): void {
    if (this.state === State.Idle) return;
    this.teardown(Reason.DISCONNECT);
  }

  /**
   * Send raw bytes to one user (frames of at most 32765 data bytes on a relay).
   * @returns false when there is no such user or no joint (nothing sent)
   * @throws TypeError when `bytes` is not a Uint8Array
   */
  send(userNr: number, bytes: Uint8Array): boolean {
    checkPayload('bytes', bytes);
    if (this.state !== State.Created || bytes.length === 0) return false;
    if (userNr >= LOCAL_USER_NR_BASE) {
      const session = this.localUsers.get(userNr);
      return session !== undefined && session.toUser(bytes) >= 0;
    }
    if (!this.remoteUsers.has(userNr)) return false;
    this.connection!.sendToUser(this.jointNr, userNr, bytes);
    return true;
  }

  /**
   * Send one chunk to a user: prefix and payload (joint.md §10).
   * @throws TypeError when `chunk` is not a Uint8Array; RangeError for an empty chunk or one over maxChunkSize
   */
  sendChunk(userNr: number, chunk: Uint8Array): boolean {
    return this.send(userNr, encodeChunk(chunk, this.maxChunkSize));
  }

  /**
   * Send raw bytes to every user, or every user but `excludeUserNr` (joint.md §5). Works offline
   * and toward local users too (the original's offline broadcast crashes; joint.md §13).
   * @throws TypeError when `bytes` is not a Uint8Array
   */
  broadcast(bytes: Uint8Array, excludeUserNr = -1): void {
    checkPayload('bytes', bytes);
    if (this.state !== State.Created || bytes.length === 0) return;
    if (this.connection && this.remoteUsers.size > 0 && !(this.remoteUsers.size === 1 && this.remoteUsers.has(excludeUserNr))) {
      const exclude = excludeUserNr >= 0 && excludeUserNr < MAX_USERS_PER_JOINT ? excludeUserNr : -1;
      this.connection.broadcast(this.jointNr, bytes, exclude);
    }
    for (const session of this.localUsers.values()) {
      if (session.connected && session.userNr !== excludeUserNr) session.toUser(bytes);
    }
  }

  /**
   * Broadcast one chunk (joint.md §10).
   * @throws TypeError when `chunk` is not a Uint8Array; RangeError for an empty chunk or one over maxChunkSize
   */
  broadcastChunk(chunk: Uint8Array, excludeUserNr = -1): void {
    this.broadcast(encodeChunk(chunk, this.maxChunkSize), excludeUserNr);
  }

  /**
   * Register `object` for calls from `userNr` under `remoteId`, and announce it to that user
   * with the 1-byte chunk `[remoteId]` (joint.md §12).
   * @throws RangeError for a remoteId outside 0..255
   */
  setRemote(userNr: number, object: RemoteObject, remoteId = 0): void {
    checkRemoteId(remoteId);
    let registry = this.remotes.get(userNr);
    if (!registry) this.remotes.set(userNr, (registry = new Map()));
    registry.set(remoteId, object);
    this.sendChunk(userNr, Uint8Array.of(remoteId));
  }

  /** A typed proxy for the remote object `remoteId` of user `userNr` (after onRemote). */
  proxy<S extends RemoteSchema>(userNr: number, remote: RemoteInterface<S>, remoteId = 0): RemoteProxy<S> {
    return remote.proxy(remoteId, (chunk) => this.sendChunk(userNr, chunk));
  }

  // ---- relay side -------------------------------------------------------------------------------

  private listener(generation: number): OwnJointListener {
    return {
      userConnect: (userNr) => {
        if (generation !== this.generation) return;
        this.remoteUsers.add(userNr);
        this.receiver?.reset(userNr);
        this.remotes.delete(userNr);
        this.options.onUserConnect?.(this, userNr);
      },
      userDisconnect: (userNr, reason) => {
        if (generation !== this.generation || !this.remoteUsers.delete(userNr)) return;
        this.receiver?.reset(userNr);
        this.remotes.delete(userNr);
        this.options.onUserDisconnect?.(this, userNr, reason as Reason);
      },
      data: (userNr, bytes, offset, length) => {
        if (generation === this.generation && this.remoteUsers.has(userNr)) this.receive(userNr, bytes, offset, length);
      },
      closed: (reason, cause) => {
        if (generation !== this.generation) return;
        const users = [...this.remoteUsers];
        this.connection = null;
        this.teardown(Reason.CLOSE);
        for (const userNr of users) this.options.onUserDisconnect?.(this, userNr, Reason.CLOSE);
        this.options.onError?.(this, -1, reason as Reason, cause);
      },
    };
  }

  /** Create failed: report it now (a relay reply) or in a microtask (`later`, inside create()). */
  private failCreate(generation: number, reason: Reason, later = false, cause?: Error): void {
    if (generation !== this.generation) return;
    this.connection = null;
    this.teardown(reason);
    if (later) queueMicrotask(() => this.options.onError?.(this, -1, reason, cause));
    else this.options.onError?.(this, -1, reason, cause);
  }

  /** End the joint: tell local users (after the lag), free everything. */
  private teardown(localReason: number): void {
    this.generation++;
    if (this.createTimer !== undefined) clearTimeout(this.createTimer);
    this.createTimer = undefined;
    if (this.connection && this.state === State.Created) this.connection.delete(this.jointNr);
    this.connection = null;
    if (this.offline && this.jointNr >= 0) localServers.freeServerNr(this.jointNr);
    for (const session of this.localUsers.values()) session.ownerGone(localReason);
    this.localUsers.clear();
    for (let n = 0; n < MAX_LOCAL_USERS; n++) this.localNumbers.free(n);
    this.remoteUsers.clear();
    this.remotes.clear();
    this.receiver = null;
    localServers.remove(this.key, this);
    this.key = '';
    this.jointNr = -1;
    this.state = State.Idle;
    // Waiting enters go on now: the joint is gone, so they reach the relay (ID) or another owner.
    this.releaseCreateWaiters();
  }

  /** A short summary for `console.log` / `util.inspect`: no internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const where = this.state === State.Idle ? 'no joint' : `joint '${this.jointId}' at ${this.host}:${this.port}${this.offline ? ' (offline)' : ''}`;
    const state = this.state === State.Idle ? 'idle' : this.state === State.Creating ? 'creating' : `created, jointNr ${this.jointNr}, ${this.users.length} users`;
    return `PeoteServer { ${this.mode} mode, ${where}, ${state} }`;
  }

  // ---- data in ------------------------------------------------------------------------------------

  private receive(userNr: number, bytes: Uint8Array, offset: number, length: number): void {
    if (this.mode === 'raw') {
      this.options.onData?.(this, userNr, bytes.slice(offset, offset + length));
      return;
    }
    const receiver = this.receiver;
    if (!receiver) return;
    const { chunks, error } = receiver.feed(userNr, bytes, offset, length);
    const generation = this.generation;
    for (const chunk of chunks) {
      if (generation !== this.generation) return;
      this.chunk(userNr, chunk);
    }
    if (error !== null && generation === this.generation) this.options.onError?.(this, userNr, Reason.MALICIOUS);
  }

  private chunk(userNr: number, chunk: Uint8Array): void {
    if (this.mode === 'chunk') {
      this.options.onDataChunk?.(this, userNr, chunk);
      return;
    }
    // joint.md §12: a 1-byte chunk announces a remote object; calls are >= 2 bytes.
    if (chunk.length === 1) {
      this.options.onRemote?.(this, userNr, chunk[0]!);
      return;
    }
    const problem = dispatchCall(chunk, this.remotes.get(userNr) ?? NO_REMOTES);
    if (problem !== null) this.options.onError?.(this, userNr, Reason.MALICIOUS);
  }

  // ---- local users (LocalOwnerEnd) ------------------------------------------------------------

  /**
   * Attach a local client (called by PeoteClient.enter).
   * @internal
   * @returns the session, or the Reason it cannot enter
   */
  attachLocal(user: LocalUserEnd): LocalSession | Reason {
    // joint.md §14 ID: entering a local server whose joint is not up yet.
    if (!(this.state === State.Created || (this.offline && this.state === State.Creating))) return Reason.ID;
    const n = this.localNumbers.take();
    if (n < 0) return Reason.FULL;
    const session = new LocalSession(this, user, { netLagMs: this.netLag, netSpeedBytesPerSec: this.netSpeed }, this.offline);
    session.userNr = LOCAL_USER_NR_BASE + n;
    this.localUsers.set(session.userNr, session);
    return session;
  }

  /** @internal */
  localConnected(session: LocalSession): void {
    if (this.localUsers.get(session.userNr) !== session) return;
    session.connected = true;
    this.receiver?.reset(session.userNr);
    this.remotes.delete(session.userNr);
    this.options.onUserConnect?.(this, session.userNr);
  }

  /** @internal */
  localData(session: LocalSession, bytes: Uint8Array): void {
    if (this.localUsers.get(session.userNr) !== session) return;
    this.receive(session.userNr, bytes, 0, bytes.length);
  }

  /** @internal */
  localLeft(session: LocalSession, reason: number): void {
    if (this.localUsers.get(session.userNr) !== session) return;
    this.localUsers.delete(session.userNr);
    this.localNumbers.free(session.userNr - LOCAL_USER_NR_BASE);
    this.receiver?.reset(session.userNr);
    this.remotes.delete(session.userNr);
    if (session.connected) this.options.onUserDisconnect?.(this, session.userNr, reason as Reason);
  }
}
