/**
 * PeoteClient: enters a joint owned by a PeoteServer (peote-net's API, joint.md).
 */
import { JointClientConnection, type InJointListener } from '../joint/client-connection.js';
import type { JointClientPlatform } from '../joint/client-platform.js';
import { localJointKey } from '../joint/client-local.js';
import { ChunkReceiver, checkMaxChunkSize, encodeChunk, pickMode, type PeoteMode } from './chunks.js';
import type { LocalSession, LocalUserEnd } from './local-session.js';
import { localServers, pendingCreate } from './peote-server.js';
import { checkHostArgument, checkPayload, checkPortArgument, rejectUnknownOptions } from '../core/validate.js';
import { encodeJointId } from './joint-id.js';
import { Reason } from './reason.js';
import { checkRemoteId, dispatchCall, type RemoteInterface, type RemoteObject, type RemoteProxy, type RemoteSchema } from './remote.js';

/** Options of a PeoteClient. Give `onData` (raw) or `onDataChunk` (chunks) or neither (RPC). */
export interface PeoteClientOptions {
  /** The client is in the joint: `jointNr` is set. */
  onEnter?: (client: PeoteClient) => void;
  /**
   * Something failed: enter was refused (ID, FULL, MAX, MALICIOUS; DISCONNECT when the relay
   * cannot be reached), or the server sent malformed chunks or RPC calls (MALICIOUS). `cause`
   * says why when the connection failed (e.g. `connect to 127.0.0.1:7680 failed: connect
   * ECONNREFUSED …`); `Reason.describe(reason, cause)` gives both.
   */
  onError?: (client: PeoteClient, reason: Reason, cause?: Error) => void;
  /**
   * The client is out of the joint: the server deleted it (DISCONNECT), the server's connection
   * closed (CLOSE), or ours did (CLOSE, with its `cause` when known). Not called after our own leave().
   */
  onDisconnect?: (client: PeoteClient, reason: Reason, cause?: Error) => void;
  /** Raw mode: data from the server, in pieces as they arrive (joint.md §8). The bytes are yours. */
  onData?: (client: PeoteClient, bytes: Uint8Array) => void;
  /** Chunk mode: one whole chunk from the server (joint.md §10). The bytes are yours. */
  onDataChunk?: (client: PeoteClient, chunk: Uint8Array) => void;
  /** RPC mode: the server registered a remote object under `remoteId`; build a proxy with `proxy()`. */
  onRemote?: (client: PeoteClient, remoteId: number) => void;
  /** Largest chunk (bytes), 1..2^29, default 32768; must match the server (joint.md §10.2). */
  maxChunkSize?: number;
}

const enum State {
  Idle,
  Entering,
  Entered,
}

/** The option names a PeoteClient accepts; any other is a TypeError (a typo is not ignored). */
const CLIENT_OPTIONS = ['onEnter', 'onError', 'onDisconnect', 'onData', 'onDataChunk', 'onRemote', 'maxChunkSize'] as const;


/**
 * Is in one joint at a time, through a relay (one shared connection per `host:port`) or, when
 * a server of this process owns `host:port:jointId`, locally (joint.md §13).
 *
 * ```ts
 * const client = new PeoteClient({
 *   onEnter: (c) => c.sendChunk(new TextEncoder().encode('hello')),
 *   onDataChunk: (c, chunk) => console.log(new TextDecoder().decode(chunk)),
 *   onDisconnect: (c, reason) => console.log('gone:', Reason.toString(reason)),
 * });
 * client.enter('127.0.0.1', 7680, 'lobby');
 * ```
 */
export class PeoteClient implements LocalUserEnd {
  /** raw, chunk or rpc: chosen by the options (joint.md §10.3). */
  readonly mode: PeoteMode;
  /** Largest chunk (bytes). */
  readonly maxChunkSize: number;
  /** The joint number: 0..127 through a relay, >= 128 local; -1 outside a joint. */
  jointNr = -1;
  /** Host, port and id of the last `enter`. */
  host = '';
  port = 0;
  jointId = '';

  /** The connector and parsers of the entry this was made through. */
  private readonly hooks: JointClientPlatform;
  private readonly options: PeoteClientOptions;
  private state = State.Idle;
  /** Bumped by every enter/leave, so late replies of an old joint are ignored. */
  private generation = 0;
  private connection: JointClientConnection | null = null;
  private session: LocalSession | null = null;
  private localNr = -1;
  private receiver: ChunkReceiver | null = null;
  private readonly remotes = new Map<number, RemoteObject>();

  /**
   * The entries (`gamewire/peote`, `gamewire/peote/browser`) export a subclass that passes
   * their own hooks; users call that one with `options` only.
   * @param hooks connector and parsers of the entry, read when a joint starts
   * @param options callbacks and limits (default: RPC mode, maxChunkSize 32768)
   * @throws TypeError when both onData and onDataChunk are given, or for an unknown option
   * @throws RangeError for maxChunkSize out of range
   */
  constructor(hooks: JointClientPlatform, options: PeoteClientOptions = {}) {
    rejectUnknownOptions('PeoteClient', options, CLIENT_OPTIONS);
    options ??= {};
    this.hooks = hooks;
    this.options = options;
    this.mode = pickMode(options, 'PeoteClient');
    this.maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
  }

  /** True from onEnter until leave() or onDisconnect. */
  get entered(): boolean {
    return this.state === State.Entered;
  }

  /** True when in (or entering) a joint of this process, without a relay. */
  get local(): boolean {
    return this.session !== null;
  }

  /**
   * Enter joint `jointId` at `host:port`. Result: onEnter, or onError(client, reason, cause).
   * When a server of this process is creating a joint of that id on that port, the enter waits
   * for its reply first (and then enters locally or through the relay).
   * @throws Error when this client is already in a joint; TypeError for a host that is not a
   *   non-empty string, a port or id of the wrong type; RangeError for a port outside 1..65535
   *   or an id over 255 UTF-8 bytes
   */
  enter(host: string, port: number, jointId: string): void {
    if (this.state !== State.Idle) throw new Error('PeoteClient.enter: this client is already in a joint; leave() first');
    checkHostArgument('host', host);
    checkPortArgument('port', port);
    const id = encodeJointId(jointId);
    this.host = host;
    this.port = port;
    this.jointId = jointId;
    const generation = ++this.generation;
    this.receiver = this.mode === 'raw' ? null : new ChunkReceiver(this.hooks, this.maxChunkSize, 1);
    this.remotes.clear();
    const creator = pendingCreate(port, jointId);
    if (creator) {
      this.state = State.Entering;
      creator.afterCreate(() => {
        if (generation === this.generation) this.route(host, port, jointId, id, generation);
      });
      return;
    }
    this.route(host, port, jointId, id, generation);
  }

  /** Enter locally when a server of this process owns the joint, else through the relay. */
  private route(host: string, port: number, jointId: string, id: Uint8Array, generation: number): void {
    const owner = localServers.get(localJointKey(host, port, jointId));
    if (owner) {
      // joint.md §13: a server of this process owns the key: connect locally.
      const nr = localServers.takeClientNr();
      if (nr < 0) return this.failEnter(Reason.MAX);
      const session = owner.attachLocal(this);
      if (typeof session === 'number') {
        localServers.freeClientNr(nr);
        return this.failEnter(session);
      }
      this.localNr = nr;
      this.session = session;
      this.state = State.Entering;
      session.start();
      return;
    }
    const connection = JointClientConnection.forEnter(this.hooks, host, port, id);
    this.connection = connection;
    this.state = State.Entering;
    connection.enter(id, this.listener(generation), (reason, jIn, cause) => {
      if (generation !== this.generation) {
        if (reason === null) connection.leave(jIn); // leave() came before the reply
        return;
      }
      if (reason !== null) {
        this.reset();
        this.options.onError?.(this, reason as Reason, cause);
        return;
      }
      this.jointNr = jIn;
      this.state = State.Entered;
      this.options.onEnter?.(this);
    });
  }

  /** Leave the joint. The server hears onUserDisconnect(DISCONNECT); nothing more reaches this client. */
  leave(): void {
    if (this.state === State.Idle) return;
    if (this.connection && this.state === State.Entered) this.connection.leave(this.jointNr);
    this.session?.userLeave(Reason.DISCONNECT);
    this.reset();
  }

  /**
   * Send raw bytes to the server (frames of at most 32765 data bytes on a relay).
   * @returns false outside a joint (nothing sent)
   * @throws TypeError when `bytes` is not a Uint8Array
   */
  send(bytes: Uint8Array): boolean {
    checkPayload('bytes', bytes);
    if (this.state !== State.Entered || bytes.length === 0) return false;
    if (this.session) return this.session.toOwner(bytes) >= 0;
    this.connection!.sendToOwner(this.jointNr, bytes);
    return true;
  }

  /**
   * Send one chunk to the server: prefix and payload (joint.md §10).
   * @throws TypeError when `chunk` is not a Uint8Array; RangeError for an empty chunk or one over maxChunkSize
   */
  sendChunk(chunk: Uint8Array): boolean {
    return this.send(encodeChunk(chunk, this.maxChunkSize));
  }

  /**
   * Register `object` for calls from the server under `remoteId`, and announce it with the
   * 1-byte chunk `[remoteId]` (joint.md §12).
   * @throws RangeError for a remoteId outside 0..255
   */
  setRemote(object: RemoteObject, remoteId = 0): void {
    checkRemoteId(remoteId);
    this.remotes.set(remoteId, object);
    this.sendChunk(Uint8Array.of(remoteId));
  }

  /** A typed proxy for the server's remote object `remoteId` (after onRemote). */
  proxy<S extends RemoteSchema>(remote: RemoteInterface<S>, remoteId = 0): RemoteProxy<S> {
    return remote.proxy(remoteId, (chunk) => this.sendChunk(chunk));
  }

  private listener(generation: number): InJointListener {
    const gone = (reason: number, cause?: Error) => {
      if (generation !== this.generation) return;
      this.reset();
      this.options.onDisconnect?.(this, reason as Reason, cause);
    };
    return {
      data: (bytes, offset, length) => {
        if (generation === this.generation) this.receive(bytes, offset, length);
      },
      gone: (reason) => gone(reason),
      closed: gone,
    };
  }

  private failEnter(reason: Reason): void {
    this.reset();
    queueMicrotask(() => this.options.onError?.(this, reason));
  }

  private reset(): void {
    this.generation++;
    if (this.localNr >= 0) localServers.freeClientNr(this.localNr);
    this.localNr = -1;
    this.session = null;
    this.connection = null;
    this.receiver = null;
    this.remotes.clear();
    this.jointNr = -1;
    this.state = State.Idle;
  }

  /** A short summary for `console.log` / `util.inspect`: no internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const where = this.state === State.Idle ? 'not in a joint' : `joint '${this.jointId}' at ${this.host}:${this.port}${this.local ? ' (local)' : ''}`;
    const state = this.state === State.Idle ? 'idle' : this.state === State.Entering ? 'entering' : `entered, jointNr ${this.jointNr}`;
    return `PeoteClient { ${this.mode} mode, ${where}, ${state} }`;
  }

  private receive(bytes: Uint8Array, offset: number, length: number): void {
    if (this.mode === 'raw') {
      this.options.onData?.(this, bytes.slice(offset, offset + length));
      return;
    }
    const receiver = this.receiver;
    if (!receiver) return;
    const { chunks, error } = receiver.feed(0, bytes, offset, length);
    const generation = this.generation;
    for (const chunk of chunks) {
      if (generation !== this.generation) return;
      this.chunk(chunk);
    }
    if (error !== null && generation === this.generation) this.options.onError?.(this, Reason.MALICIOUS);
  }

  private chunk(chunk: Uint8Array): void {
    if (this.mode === 'chunk') {
      this.options.onDataChunk?.(this, chunk);
      return;
    }
    // joint.md §12: a 1-byte chunk announces a remote object; calls are >= 2 bytes.
    if (chunk.length === 1) {
      this.options.onRemote?.(this, chunk[0]!);
      return;
    }
    if (dispatchCall(chunk, this.remotes) !== null) this.options.onError?.(this, Reason.MALICIOUS);
  }

  // ---- local session (LocalUserEnd) -----------------------------------------------------------

  /** @internal */
  localEntered(session: LocalSession): void {
    if (session !== this.session || this.state !== State.Entering) return;
    this.jointNr = this.localNr;
    this.state = State.Entered;
    this.options.onEnter?.(this);
  }

  /** @internal */
  localData(session: LocalSession, bytes: Uint8Array): void {
    if (session === this.session) this.receive(bytes, 0, bytes.length);
  }

  /** @internal */
  localGone(session: LocalSession, reason: number): void {
    if (session !== this.session) return;
    this.reset();
    this.options.onDisconnect?.(this, reason as Reason);
  }
}
