/**
 * The client side of the joint protocol (joint.md §2-5): one connection per `host:port` in the
 * process, shared by every joint this process owns or has entered there (the original's
 * multiplexing, joint.md §1). Commands get the lowest free cmdNr; replies, events and data are
 * routed to the listener of their joint number. Outgoing bytes of one tick are written at once.
 *
 * Browser-safe: the stream comes from the `connect` hook of the peote entry that asked for it.
 */
import { ErrorCode, errorReason } from '../core/errors.js';
import { JOINT_UNIT_STRIDE, JointDirection, JointUnitKind, UnitFlag, type JointParser } from '../core/types.js';
import type { ByteStream } from '../transport/types.js';
import {
  Command,
  LEAD_BROADCAST,
  LEAD_COMMAND,
  MAX_FRAME_HEADER_BYTES,
  OWN_JOINT_FLAG,
  ReplyStatus,
  ServerEvent,
  writeOwnerFrameHeader,
  writeUserFrameHeader,
  writeFrameSize,
} from './protocol.js';
import { MAX_FRAME_DATA_BYTES, MAX_ID_BYTES, MAX_IN_JOINTS, MAX_OWN_JOINTS, MAX_USERS_PER_JOINT } from './limits.js';
import { CLIENT_MAX_OUTBOUND_BYTES, CLIENT_MAX_PENDING_REQUESTS, CLIENT_MAX_WEBSOCKET_MESSAGE_BYTES, CLIENT_OUTPUT_KEEP_BYTES } from './client-limits.js';
import type { JointClientPlatform } from './client-platform.js';

// The connection's outcomes and listener interfaces live in client-listeners.ts; re-exported for
// the peote layer and tests, which import them from here.
export { ClientReason, createErrorReason, enterErrorReason, connectError, type InJointListener, type OwnJointListener, type ReplyCallback } from './client-listeners.js';
import { ClientReason, connectError, createErrorReason, enterErrorReason, type InJointListener, type OwnJointListener, type ReplyCallback } from './client-listeners.js';

const enum State {
  Connecting,
  Open,
  Closed,
}

interface Pending {
  command: number;
  idKey: string;
  listener: OwnJointListener | InJointListener;
  done: ReplyCallback;
}

const connections = new Map<string, JointClientConnection>();

/**
 * One connection to a relay, shared by every joint of this process at the same `host:port`.
 * Get it with `JointClientConnection.get`; it closes itself when its last joint is gone.
 */
export class JointClientConnection {
  /** `host:port`, the sharing key. */
  readonly key: string;
  readonly host: string;
  readonly port: number;

  private state = State.Connecting;
  private stream: ByteStream | null = null;
  private readonly parser: JointParser;
  private readonly own = new Map<number, OwnJointListener>();
  private readonly entered = new Map<number, InJointListener>();
  private readonly pending = new Map<number, Pending>();
  /** Ids of the joints entered or being entered (hex), and the id of each jIn. */
  private readonly enteredIds = new Set<string>();
  private readonly idOfJIn = new Map<number, string>();
  private out = new Uint8Array(1024);
  private outLength = 0;
  private flushQueued = false;

  /**
   * The connection for `host:port`, opened now if there is none.
   * @param hooks the caller's entry's connector and parsers, used when a connection is opened
   *   (an open one is shared whichever entry opened it)
   * @throws Error when the hooks have no connector (a browser page without WebSocket)
   */
  static get(hooks: JointClientPlatform, host: string, port: number): JointClientConnection {
    return JointClientConnection.slot(hooks, host, port, 0);
  }

  /**
   * The connection for entering joint `id` at `host:port`: the shared one, unless it already is
   * in (or entering) that joint, since a connection must not enter a joint twice (joint.md §1).
   * Then a second connection `host:port#1` (and so on) is used, as a second process would.
   * @param hooks as for `get`
   * @throws Error when the hooks have no connector
   */
  static forEnter(hooks: JointClientPlatform, host: string, port: number, id: Uint8Array): JointClientConnection {
    const idKey = idKeyOf(id);
    for (let slot = 0; ; slot++) {
      const connection = JointClientConnection.slot(hooks, host, port, slot);
      if (!connection.enteredIds.has(idKey)) return connection;
    }
  }

  private static slot(hooks: JointClientPlatform, host: string, port: number, slot: number): JointClientConnection {
    const key = slot === 0 ? `${host}:${port}` : `${host}:${port}#${slot}`;
    let connection = connections.get(key);
    if (!connection) {
      connection = new JointClientConnection(hooks, host, port, key);
      connections.set(key, connection);
    }
    return connection;
  }

  /** The connections open or opening in this process (for tests and diagnostics). */
  static get count(): number {
    return connections.size;
  }

  /** The connection for `host:port` if one is open or opening. */
  static find(host: string, port: number, slot = 0): JointClientConnection | undefined {
    return connections.get(slot === 0 ? `${host}:${port}` : `${host}:${port}#${slot}`);
  }

  private constructor(hooks: JointClientPlatform, host: string, port: number, key: string) {
    const connect = hooks.connect;
    if (!connect) throw new Error('no joint connector installed: import gamewire/peote (Node) or gamewire/peote/browser');
    this.key = key;
    this.host = host;
    this.port = port;
    this.parser = hooks.jointParser({ direction: JointDirection.ToClient });
    connect(host, port).then(
      (stream) => this.opened(stream),
      (err: unknown) => this.fail(ClientReason.Disconnect, connectError(host, port, err)),
    );
  }

  /** True once the stream is up. */
  get isOpen(): boolean {
    return this.state === State.Open;
  }

  /** Joints owned, entered or pending on this connection. */
  get joints(): number {
    return this.own.size + this.entered.size + this.pending.size;
  }

  /** The kind of stream (`tcp`/`websocket`), or null while connecting. */
  get kind(): 'tcp' | 'websocket' | null {
    return this.stream?.kind ?? null;
  }

  /**
   * Create joint `id` (cmd 0). On an OK reply `listener` is installed before `done` runs, so
   * nothing that follows the reply is missed.
   * @throws RangeError for an id over 255 bytes
   */
  create(id: Uint8Array, listener: OwnJointListener, done: ReplyCallback): void {
    this.request(Command.Create, id, listener, done);
  }

  /**
   * Enter joint `id` (cmd 1). On an OK reply `listener` is installed before `done` runs.
   * @throws RangeError for an id over 255 bytes
   */
  enter(id: Uint8Array, listener: InJointListener, done: ReplyCallback): void {
    this.request(Command.Enter, id, listener, done);
  }

  /** Leave in-joint `jIn` (cmd 2); its listener hears nothing more. */
  leave(jIn: number): void {
    if (!this.entered.delete(jIn)) return;
    this.forgetIn(jIn);
    this.writeControl(Command.Leave, jIn);
    this.releaseIfIdle();
  }

  /** Delete own joint `jOwn` (cmd 3); its listener hears nothing more. */
  delete(jOwn: number): void {
    if (!this.own.delete(jOwn)) return;
    this.writeControl(Command.Delete, jOwn);
    this.releaseIfIdle();
  }

  /** Send `data` to the owner of in-joint `jIn`, in frames of at most 32765 data bytes (joint.md §2.5). */
  sendToOwner(jIn: number, data: Uint8Array, offset = 0, length = data.length - offset): void {
    if (this.state === State.Closed || !this.entered.has(jIn)) return;
    const end = offset + length;
    for (let at = offset; at < end; at += MAX_FRAME_DATA_BYTES) {
      const n = Math.min(MAX_FRAME_DATA_BYTES, end - at);
      const o = this.reserve(n + MAX_FRAME_HEADER_BYTES);
      const d = writeUserFrameHeader(this.out, o, jIn, n);
      this.out.set(data.subarray(at, at + n), d);
      this.outLength = d + n;
    }
    this.scheduleFlush();
  }

  /** Send `data` to user `userNr` of own joint `jOwn`, in frames of at most 32765 data bytes. */
  sendToUser(jOwn: number, userNr: number, data: Uint8Array, offset = 0, length = data.length - offset): void {
    if (this.state === State.Closed || !this.own.has(jOwn) || userNr < 0 || userNr >= MAX_USERS_PER_JOINT) return;
    const end = offset + length;
    for (let at = offset; at < end; at += MAX_FRAME_DATA_BYTES) {
      const n = Math.min(MAX_FRAME_DATA_BYTES, end - at);
      const o = this.reserve(n + MAX_FRAME_HEADER_BYTES);
      const d = writeOwnerFrameHeader(this.out, o, jOwn, userNr, n);
      this.out.set(data.subarray(at, at + n), d);
      this.outLength = d + n;
    }
    this.scheduleFlush();
  }

  /**
   * Broadcast `data` to every user of own joint `jOwn`, or all but `excludedUserNr` (joint.md §5).
   * Each frame of at most 32765 data bytes repeats the `01 mode` prefix.
   * @param excludedUserNr 0..255, or -1 for all users
   */
  broadcast(jOwn: number, data: Uint8Array, excludedUserNr = -1, offset = 0, length = data.length - offset): void {
    if (this.state === State.Closed || !this.own.has(jOwn)) return;
    const all = excludedUserNr < 0 || excludedUserNr >= MAX_USERS_PER_JOINT;
    const end = offset + length;
    for (let at = offset; at < end; at += MAX_FRAME_DATA_BYTES) {
      const n = Math.min(MAX_FRAME_DATA_BYTES, end - at);
      let o = this.reserve(n + MAX_FRAME_HEADER_BYTES + 2);
      const out = this.out;
      out[o++] = LEAD_BROADCAST;
      out[o++] = all ? 1 : 0;
      o = writeFrameSize(out, o, n + (all ? 1 : 2));
      out[o++] = jOwn + OWN_JOINT_FLAG;
      if (!all) out[o++] = excludedUserNr;
      out.set(data.subarray(at, at + n), o);
      this.outLength = o + n;
    }
    this.scheduleFlush();
  }

  /** Close now (tests, process shutdown): every joint hears `closed(Close)`. */
  destroy(): void {
    this.fail(ClientReason.Close, new Error(`connection to ${this.host}:${this.port} closed by this process`));
  }

  // ---- requests -------------------------------------------------------------------------------

  private request(command: number, id: Uint8Array, listener: Pending['listener'], done: ReplyCallback): void {
    if (id.length > MAX_ID_BYTES) throw new RangeError(`joint id is ${id.length} bytes; the maximum is ${MAX_ID_BYTES}`);
    if (this.state === State.Closed) {
      queueMicrotask(() => done(ClientReason.Close, -1));
      return;
    }
    // joint.md §3: the lowest cmdNr not pending; all 255 pending is an error, not a silent drop.
    let cmdNr = 0;
    if (this.pending.size < CLIENT_MAX_PENDING_REQUESTS) {
      for (let nr = 1; nr <= CLIENT_MAX_PENDING_REQUESTS; nr++) {
        if (!this.pending.has(nr)) {
          cmdNr = nr;
          break;
        }
      }
    }
    if (cmdNr === 0) {
      queueMicrotask(() => done(ClientReason.Max, -1));
      return;
    }
    const idKey = idKeyOf(id);
    if (command === Command.Enter) this.enteredIds.add(idKey);
    this.pending.set(cmdNr, { command, idKey, listener, done });
    const o = this.reserve(4 + id.length);
    const out = this.out;
    out[o] = LEAD_COMMAND;
    out[o + 1] = command;
    out[o + 2] = cmdNr;
    out[o + 3] = id.length;
    out.set(id, o + 4);
    this.outLength = o + 4 + id.length;
    this.scheduleFlush();
  }

  private writeControl(command: number, nr: number): void {
    if (this.state === State.Closed) return;
    const o = this.reserve(5);
    const out = this.out;
    // joint.md §3: cmd 2/3 always with len 1 (the original loses sync otherwise).
    out[o] = LEAD_COMMAND;
    out[o + 1] = command;
    out[o + 2] = 0;
    out[o + 3] = 1;
    out[o + 4] = nr;
    this.outLength = o + 5;
    this.scheduleFlush();
  }

  // ---- output ---------------------------------------------------------------------------------

  /** Make room for `bytes` more output bytes. @returns the offset to write at. */
  private reserve(bytes: number): number {
    const need = this.outLength + bytes;
    if (need > this.out.length) {
      const grown = new Uint8Array(Math.max(need, this.out.length * 2));
      grown.set(this.out.subarray(0, this.outLength));
      this.out = grown;
    }
    return this.outLength;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** One write per tick (DESIGN.md); a WebSocket gets messages of at most 64 KiB (joint.md §9). */
  private flush(): void {
    this.flushQueued = false;
    const stream = this.stream;
    if (this.state !== State.Open || !stream) return;
    if (this.outLength > 0) {
      if (stream.bufferedBytes + this.outLength > CLIENT_MAX_OUTBOUND_BYTES) {
        this.fail(ClientReason.Close, new Error(`unsent bytes to ${this.host}:${this.port} passed CLIENT_MAX_OUTBOUND_BYTES (${CLIENT_MAX_OUTBOUND_BYTES})`));
        return;
      }
      const step = stream.kind === 'websocket' ? CLIENT_MAX_WEBSOCKET_MESSAGE_BYTES : this.outLength;
      for (let at = 0; at < this.outLength; at += step) {
        stream.write(this.out.subarray(at, Math.min(this.outLength, at + step)));
      }
      stream.flush();
      this.outLength = 0;
      if (this.out.length > CLIENT_OUTPUT_KEEP_BYTES) this.out = new Uint8Array(CLIENT_OUTPUT_KEEP_BYTES);
    }
    if (this.joints === 0) this.close();
  }

  private releaseIfIdle(): void {
    if (this.joints === 0) {
      // Stop sharing now: a joint made after this point gets a fresh connection.
      if (connections.get(this.key) === this) connections.delete(this.key);
      this.scheduleFlush();
    }
  }

  /** The last joint is gone: send what is queued, then end the stream. */
  private close(): void {
    if (this.state === State.Closed) return;
    if (connections.get(this.key) === this) connections.delete(this.key);
    this.state = State.Closed;
    const stream = this.stream;
    this.stream = null;
    if (stream) {
      stream.onClose = () => {};
      stream.end();
    }
  }

  // ---- input ----------------------------------------------------------------------------------

  private opened(stream: ByteStream): void {
    if (this.state === State.Closed) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    this.state = State.Open;
    stream.onData = (data) => this.receive(data);
    stream.onClose = (info) =>
      this.fail(ClientReason.Close, new Error(`connection to ${this.host}:${this.port} ${info.error ? `failed: ${info.error.message}` : 'closed by the relay'}`));
    if (this.joints === 0) {
      this.close();
      return;
    }
    this.flush();
  }

  /** Connection failed, closed by the peer, or broke the protocol: tell every joint, once. */
  private fail(reason: number, cause?: Error): void {
    if (this.state === State.Closed) return;
    if (connections.get(this.key) === this) connections.delete(this.key);
    this.state = State.Closed;
    const stream = this.stream;
    this.stream = null;
    this.outLength = 0;
    if (stream) {
      stream.onClose = () => {};
      stream.onData = () => {};
      stream.destroy();
    }
    const pending = [...this.pending.values()];
    const own = [...this.own.values()];
    const entered = [...this.entered.values()];
    this.pending.clear();
    this.own.clear();
    this.entered.clear();
    for (const p of pending) p.done(reason, -1, cause);
    for (const l of own) l.closed(reason, cause);
    for (const l of entered) l.closed(reason, cause);
  }

  private receive(data: Uint8Array): void {
    const parser = this.parser;
    let offset = 0;
    while (offset < data.length && this.state === State.Open) {
      const count = parser.feed(data, offset, data.length - offset);
      const units = parser.units;
      for (let i = 0; i < count && this.state === State.Open; i++) {
        const u = i * JOINT_UNIT_STRIDE;
        const kind = units[u]!;
        const src = (units[u + 1]! & UnitFlag.InCarry) !== 0 ? parser.carry() : data;
        const at = units[u + 4]!;
        const length = units[u + 5]!;
        if (kind === JointUnitKind.Data) {
          const route = units[u + 2]!;
          if (route >= OWN_JOINT_FLAG) this.own.get(route - OWN_JOINT_FLAG)?.data(units[u + 3]!, src, at, length);
          else this.entered.get(route)?.data(src, at, length);
        } else if (kind === JointUnitKind.Control) {
          const problem = this.control(src, at, length);
          if (problem !== null) {
            this.protocolError(problem);
            return;
          }
        }
      }
      if (parser.error !== ErrorCode.Ok) {
        this.protocolError(errorReason(parser.error));
        return;
      }
      if (parser.consumed === 0) return;
      offset += parser.consumed;
    }
  }

  /** One control message `00 len payload`. @returns null, or what was wrong with it. */
  private control(src: Uint8Array, at: number, length: number): string | null {
    if (length < 2) return `control message of ${length} bytes`;
    const cmdNr = src[at]!;
    if (cmdNr !== 0) {
      // joint.md §4.1: `nr status value`.
      if (length < 3) return `reply of ${length} bytes`;
      const pending = this.pending.get(cmdNr);
      if (!pending) return null; // joint.md §4.2: a reply without a pending request is dropped
      this.pending.delete(cmdNr);
      const status = src[at + 1]!;
      const value = src[at + 2]!;
      const create = pending.command === Command.Create;
      if (status === ReplyStatus.Ok) {
        const table = create ? this.own : this.entered;
        if (value >= (create ? MAX_OWN_JOINTS : MAX_IN_JOINTS) || table.has(value)) return `reply assigns joint number ${value}`;
        (table as Map<number, Pending['listener']>).set(value, pending.listener);
        if (!create) this.idOfJIn.set(value, pending.idKey);
        pending.done(null, value);
      } else {
        if (!create) this.enteredIds.delete(pending.idKey);
        pending.done(create ? createErrorReason(value) : enterErrorReason(value), -1);
        this.releaseIfIdle();
      }
      return null;
    }
    const event = src[at + 1]!;
    switch (event) {
      case ServerEvent.UserConnect:
        if (length < 4) return 'short userConnect';
        this.own.get(src[at + 2]!)?.userConnect(src[at + 3]!);
        return null;
      case ServerEvent.UserDisconnect:
        if (length < 5) return 'short userDisconnect';
        this.own.get(src[at + 2]!)?.userDisconnect(src[at + 3]!, src[at + 4]!);
        return null;
      case ServerEvent.InDisconnect: {
        if (length < 4) return 'short inDisconnect';
        const jIn = src[at + 2]!;
        const listener = this.entered.get(jIn);
        if (listener) {
          this.entered.delete(jIn);
          this.forgetIn(jIn);
          listener.gone(src[at + 3]!);
          this.releaseIfIdle();
        }
        return null;
      }
      case ServerEvent.Keepalive:
        return null; // joint.md §4.2: ignored
      default:
        return `unknown server event ${event}`; // joint.md §4.2: a protocol error
    }
  }

  private forgetIn(jIn: number): void {
    const idKey = this.idOfJIn.get(jIn);
    if (idKey === undefined) return;
    this.idOfJIn.delete(jIn);
    this.enteredIds.delete(idKey);
  }

  private protocolError(detail: string): void {
    this.fail(ClientReason.Malicious, new Error(`protocol error from the relay at ${this.host}:${this.port}: ${detail}`));
  }
}

/** A joint id as a map key (ids are raw bytes, compared exactly: joint.md §1). */
function idKeyOf(id: Uint8Array): string {
  let key = '';
  for (let i = 0; i < id.length; i++) key += (id[i]! < 16 ? '0' : '') + id[i]!.toString(16);
  return key;
}

/** Close every relay connection of this process now (tests, shutdown). */
export function destroyAllJointConnections(): void {
  for (const connection of [...connections.values()]) connection.destroy();
}
