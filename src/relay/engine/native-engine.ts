/**
 * The control plane of the native relay engine (issue 19, docs/native-engine.md): the addon's I/O
 * thread owns the sockets, parses the joint stream and forwards data frames by its routing table;
 * this object owns that engine and handles what it reports, one JavaScript call per batch of
 * events, never per frame:
 *
 * - CONNECT (a socket accepted, nothing read): the relay's admission (the same total and per-IP
 *   caps, stats and logs as the Node engine); a refused socket is closed at once;
 * - ACCEPT (its first bytes, or its WebSocket handshake): a `RelayConnection` whose stream writes
 *   through `engine.send`, then `admit`;
 * - COMMAND: the relay's own command handling (src/relay/commands.ts over the JointState), whose
 *   changes of the tables update the engine's routing table (routed-joint-state.ts); the replies and
 *   events are sent, then the connection is resumed;
 * - CLOSED: the relay's drop, with the engine's reason: the same cleanup, events to other peers,
 *   stats and logs as on the Node engine.
 *
 * In a `relay --workers` worker it also hands connections to sibling workers and adopts theirs
 * (worker-handoff.ts, docs/native-engine.md "Handover"): the engine's `detach` and `adopt`.
 */
import type { ByteStream } from '../../transport/types.js';
import { Command } from '../../joint/protocol.js';
import { WorkerHandoff, type HandoffEngine } from '../worker-handoff.js';
import type { Admission } from '../admission.js';
import type { Commands } from '../commands.js';
import type { DropConnection, RelayConnection } from '../connection.js';
import type { Forwarder } from '../forwarding.js';
import { KEEPALIVE_SWEEP_MAX_MS } from '../limits.js';
import type { Logger } from '../logger.js';
import type { ResolvedRelayOptions } from '../options.js';
import { DisconnectReason, type RelayStats } from '../stats.js';
import {
  RELAY_ENGINE_REASONS,
  engineReasonCode,
  RELAY_EVENT_STRIDE,
  RelayEventType,
  type RelayEngineBinding,
  type RelayEngineConfig,
  type RelayEngineConstructor,
} from './binding.js';
import type { RelayEngineHandoverBinding, RelayEngineRemoteBinding } from '../../core/relay-engine-binding.js';
import { ClusterEngineStream, EngineRemote, registerEngineRemote } from './engine-remote.js';
import { EngineCounters, EngineStatsView } from './engine-stats.js';
import { EngineStream } from './engine-stream.js';
import type { SharedPort } from '../worker-listener.js';
import type { RoutedJointState } from './routed-joint-state.js';

/** How often `stop` looks whether the engine has flushed the connections it is closing (ms). */
const STOP_POLL_MS = 5;
/** A refused connection is closed with this engine reason (it never was a connection of the relay). */
const REFUSED_CODE = engineReasonCode(DisconnectReason.Shutdown);
/** The engine's reasons as the relay's; `login_timeout` after ACCEPT is the relay's `idle`. */
const REASONS: readonly DisconnectReason[] = RELAY_ENGINE_REASONS.map((name) => (name === 'login_timeout' ? DisconnectReason.Idle : name));

/** What the native engine needs of its relay (src/relay/relay.ts). */
export interface NativeEngineHost {
  readonly options: Readonly<ResolvedRelayOptions>;
  readonly log: Logger;
  readonly stats: RelayStats;
  readonly admission: Admission;
  readonly state: RoutedJointState;
  readonly commands: Commands;
  readonly forwarder: Forwarder;
  /** The relay's connection for a new stream (its counts, logs and close handler), or null while closing. */
  accept(stream: ByteStream): RelayConnection | null;
  drop: DropConnection;
}

/**
 * The engine's share of the relay's options (engine-spec.md), passed through unchanged; under
 * `--workers`, the port its primary holds, with SO_REUSEPORT.
 */
export function engineConfig(o: Readonly<ResolvedRelayOptions>, shared?: SharedPort): RelayEngineConfig {
  return {
    host: o.host,
    port: shared?.port ?? o.port,
    reusePort: shared !== undefined,
    websocket: o.websocket,
    maxWebSocketPayloadBytes: o.maxWebSocketPayloadBytes,
    loginTimeoutMs: o.loginTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    stallTimeoutMs: o.stallTimeoutMs,
    keepaliveMs: o.keepaliveMs,
    maxOutboundBytes: o.maxOutboundBytes,
    outboundHighWaterBytes: o.outboundHighWaterBytes,
    outboundLowWaterBytes: o.outboundLowWaterBytes,
    inboundBytesPerSec: o.inboundBytesPerSec,
    inboundUnitsPerSec: o.inboundUnitsPerSec,
    inboundBurstSeconds: o.inboundBurstSeconds,
    inboundPolicy: o.inboundPolicy === 'disconnect' ? 1 : 0,
    closeGraceMs: o.closeGraceMs,
    batchDelayUs: o.batchDelayUs,
  };
}

export class NativeEngine {
  /** The relay's figures: its own counts and the engine's (`Relay.stats()`, the metrics). */
  readonly stats: EngineStatsView;
  private readonly counters: EngineCounters;
  private readonly engine: RelayEngineBinding;
  /** Open connections by engine id (ids carry a generation, so a stale one finds nothing). */
  private readonly conns = new Map<number, RelayConnection>();
  /** Sockets admitted at CONNECT and not yet ACCEPTed (or closed): their counted IP. */
  private readonly pending = new Map<number, string>();
  /** Sockets refused at CONNECT in this batch, whose ACCEPT may follow in it: closed once. */
  private readonly refused = new Set<number>();
  /** Connections whose command this batch handled: resumed after its replies are sent. */
  private readonly held: RelayConnection[] = [];
  /** Releases a finished stream's admission, one function for every stream. */
  private readonly release: (stream: EngineStream) => void;
  private slabTimer: NodeJS.Timeout | null = null;
  /** With `cluster` (and an engine with remote routes): its REMOTE records and cross-node routes. */
  private readonly remote: EngineRemote | null = null;
  private stopping = false;
  private stopped = false;
  /** In a `relay --workers` worker with an engine that hands over: its handoffs (worker-handoff.ts). */
  private readonly handoff: WorkerHandoff | null = null;
  /** Adopted from a sibling worker, not yet ACCEPTed: their streams are never handed on again. */
  private readonly adopted = new Set<number>();
  private readonly handoffEngine: HandoffEngine = {
    detach: (stream) => this.detachStream(stream),
    adopt: (fd, bytes, address, port) => this.adoptSocket(fd, bytes, address, port),
  };

  /**
   * @param Engine the addon's `RelayEngine`.
   * @param statNames the names of the counters `engine.stats` fills, in order.
   */
  constructor(
    private readonly host: NativeEngineHost,
    Engine: RelayEngineConstructor,
    statNames: readonly string[],
    shared?: SharedPort,
  ) {
    this.engine = new Engine(engineConfig(host.options, shared), (records, count, bytes) => this.onEvents(records, count, bytes));
    host.state.routes = this.engine;
    if (host.options.cluster !== undefined && (Engine as { remote?: boolean }).remote === true) {
      this.remote = new EngineRemote(this.engine as RelayEngineRemoteBinding, { state: host.state, stats: host.stats, bridge: () => host.forwarder.cluster }, host.options.outboundHighWaterBytes);
      registerEngineRemote(host.state, this.remote);
    }
    if ((Engine as { handover?: boolean }).handover === true) this.handoff = WorkerHandoff.get();
    this.counters = new EngineCounters(statNames, (out) => this.engine.stats(out));
    this.stats = new EngineStatsView(host.stats, this.counters);
    this.release = (stream) => {
      const conn = this.remote !== null ? this.conns.get(stream.conn) : undefined;
      if (conn !== undefined) this.remote!.closed(conn);
      this.conns.delete(stream.conn);
      host.admission.release(stream.ip);
    };
  }

  /**
   * Bind, listen and start the I/O thread.
   * @returns the bound port.
   * @throws the engine's listen error (with `code`, as Node's).
   */
  listen(): number {
    const port = this.engine.listen();
    this.engine.start();
    this.handoff?.useEngine(this.handoffEngine);
    // Replies and events leave the outboxes at once (the engine copies them), so between batches
    // every outbox is empty: a periodic release keeps idle connections without a slab (issue 13).
    this.slabTimer = setInterval(() => {
      for (const conn of this.conns.values()) conn.outbox.release();
    }, KEEPALIVE_SWEEP_MAX_MS);
    this.slabTimer.unref();
    return port;
  }

  /**
   * The relay's drop ends a connection of this engine with `reason`, unless the engine reported it
   * closed. As on the Node engine (relay.ts `drop`): only the shutdown flushes what is owed and
   * ends gracefully (WebSocket close 1000, within `closeGraceMs`); every other drop of the control
   * plane (a command's rate limit or protocol error, a lost cluster id) closes at once, what is
   * queued dropped, no close frame (the Node engine's `destroy()`).
   */
  close(conn: RelayConnection, reason: DisconnectReason): void {
    const stream = conn.stream as EngineStream;
    if (!stream.open) return;
    // A reason the engine has no code for (cluster_lost) is counted by the control plane; the
    // engine is told `shutdown` (engine-stats.ts reads neither from the engine).
    const code = engineReasonCode(reason);
    if (!stream.engineClosed) this.engine.close(stream.conn, code >= 0 ? code : REFUSED_CODE, reason === DisconnectReason.Shutdown);
    stream.finish(true);
  }

  /**
   * Stop: wait up to `graceMs` for the engine to flush what the closed connections were owed,
   * then stop its thread (it closes what is left). The relay has dropped every connection first.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    this.handoff?.dropEngine(this.handoffEngine);
    if (this.slabTimer !== null) clearInterval(this.slabTimer);
    const until = Date.now() + graceMs;
    while (Date.now() < until && (this.counters.get('backlogBytes') > 0 || this.counters.get('connections') > 0)) {
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
    this.counters.freeze();
    this.stopped = true;
    this.engine.stop();
  }

  /** One batch from the I/O thread (the records are valid for this call only). */
  private onEvents(records: Int32Array, count: number, bytes: Buffer): void {
    if (this.stopped) return;
    for (let i = 0; i < count; i++) {
      const p = i * RELAY_EVENT_STRIDE;
      try {
        if (records[p] === RelayEventType.Remote) {
          // Cluster data: one record per piece, handed to the bridge (engine-remote.ts).
          const conn = this.conns.get(records[p + 1]!);
          if (conn !== undefined && !conn.closed) this.remote?.onRecord(conn, records[p + 2]!, records[p + 3]!, records[p + 4]!, records[p + 7]!, bytes, records[p + 5]!, records[p + 6]!);
          continue;
        }
        if (records[p] === RelayEventType.Backlog) {
          const conn = this.conns.get(records[p + 1]!);
          if (conn !== undefined) this.remote?.onBacklog(conn, records[p + 2] === 1);
          continue;
        }
        this.onEvent(records[p]!, records[p + 1]!, records[p + 2]!, records[p + 3]!, bytes, records[p + 5]!, records[p + 6]!);
      } catch (err) {
        // A bug of ours must not take the engine's thread or the process down with it.
        this.host.log.error('native engine event failed', { type: records[p], conn: records[p + 1], error: (err as Error).message });
      }
    }
    // What the commands and closes owed goes out first, so that data parsed after a resume (a
    // user's first frame after its enter) reaches an owner that has heard of the user.
    try {
      this.host.forwarder.flushDirty();
    } catch (err) {
      this.host.log.error('native engine flush failed', { error: (err as Error).message });
    }
    const held = this.held;
    for (let i = 0; i < held.length; i++) {
      const conn = held[i]!;
      if (!conn.closed) this.engine.resume((conn.stream as EngineStream).conn);
    }
    held.length = 0;
    this.refused.clear();
  }

  private onEvent(type: number, id: number, a: number, b: number, bytes: Buffer, offset: number, length: number): void {
    if (type === RelayEventType.Command) {
      const conn = this.conns.get(id);
      if (conn === undefined || conn.closed) return;
      const commands = this.host.commands;
      if (!commands.admit(conn)) return;
      if (this.handoff !== null && a === Command.Enter && conn.stream.kind === 'tcp') this.runEnter(conn, b, bytes, offset, length);
      else commands.run(conn, a, b, bytes, offset, length);
      if (!conn.closed) this.held.push(conn);
    } else if (type === RelayEventType.Connect) {
      this.connect(id, bytes.toString('latin1', offset, offset + length));
    } else if (type === RelayEventType.Accept) {
      this.accept(id, a, b, bytes.toString('latin1', offset, offset + length));
    } else if (type === RelayEventType.Closed) {
      const conn = this.conns.get(id);
      if (conn === undefined) {
        // Ended before its first byte (or handshake): give back what CONNECT counted.
        const ip = this.pending.get(id);
        this.adopted.delete(id);
        if (ip !== undefined) {
          this.pending.delete(id);
          this.host.admission.release(ip);
        }
        return;
      }
      (conn.stream as EngineStream).engineClosed = true;
      const detail = length > 0 ? bytes.toString('utf8', offset, offset + length) : undefined;
      this.host.drop(conn, REASONS[a] ?? DisconnectReason.SocketError, detail);
    }
  }

  /**
   * A socket was accepted, nothing read yet: the connection caps judge it now, as the Node engine
   * does at accept, so a silent connection past a cap is refused at once (no bytes, no event back).
   */
  private connect(id: number, address: string): void {
    const ip = this.stopping ? null : this.host.admission.admit(address);
    if (ip === null) {
      this.engine.close(id, REFUSED_CODE);
      this.refused.add(id);
    } else {
      this.pending.set(id, ip);
    }
  }

  /**
   * A connection sent its first bytes (or finished its WebSocket handshake): it becomes a peer.
   * Without an admission from its CONNECT it was refused there (the engine read its first bytes
   * before the close arrived): closed again, not judged or counted twice.
   */
  private accept(id: number, kind: number, port: number, address: string): void {
    if (this.refused.has(id)) return;
    const ip = this.pending.get(id);
    if (ip === undefined) {
      this.engine.close(id, REFUSED_CODE);
      return;
    }
    this.pending.delete(id);
    const streamKind = kind === 1 ? 'websocket' : 'tcp';
    const stream =
      this.remote !== null
        ? new ClusterEngineStream(this.engine as RelayEngineRemoteBinding, id, streamKind, address, port, ip, this.release)
        : new EngineStream(this.engine, id, streamKind, address, port, ip, this.release);
    if (this.adopted.delete(id)) (stream as EngineStream & { adopted?: boolean }).adopted = true;
    const conn = this.host.accept(stream);
    if (conn === null) {
      stream.close(REFUSED_CODE);
      return;
    }
    this.conns.set(id, conn);
    this.engine.admit(id);
  }

  // ---- relay --workers: handing connections over (worker-handoff.ts) ----------------------------

  /**
   * An enter of a raw-TCP connection runs over the command as it was read (`00 01 cmdNr len id`,
   * joint.md §3), as on the Node engine, so the cluster's handoff (cluster-enter.ts) can tell it
   * and hand the connection to the worker that owns the joint, this command first.
   */
  private runEnter(conn: RelayConnection, cmdNr: number, bytes: Buffer, offset: number, length: number): void {
    const src = Buffer.allocUnsafe(4 + length);
    src[0] = 0;
    src[1] = Command.Enter;
    src[2] = cmdNr;
    src[3] = length;
    bytes.copy(src, 4, offset, offset + length);
    const stream = conn.stream as EngineStream & { delivering?: Uint8Array | null };
    stream.delivering = src;
    try {
      this.host.commands.run(conn, Command.Enter, cmdNr, src, 4, length);
    } finally {
      stream.delivering = null;
    }
  }

  /**
   * Give up `stream`'s connection (the engine's `detach`): its descriptor and the input the engine
   * read after its COMMAND. The stream then reports itself closed, cleanly, as a detached
   * TcpStream does, and the relay drops the connection (it held nothing).
   */
  private detachStream(stream: ByteStream): { fd: number; held: Buffer } | null {
    // Only a stream of this engine (a process may run several relays, each its own engine).
    if (!(stream instanceof EngineStream) || this.conns.get(stream.conn)?.stream !== stream || !stream.open || stream.engineClosed || this.stopping) return null;
    const got = (this.engine as RelayEngineHandoverBinding).detach(stream.conn);
    if (got === null) return null;
    stream.engineClosed = true;
    stream.finish(true);
    return { fd: got.fd, held: got.bytes };
  }

  /**
   * A sibling's connection (or one of ours whose handoff was refused), as if accepted here: the
   * relay's admission first, as at CONNECT, then the engine's `adopt` (a duplicate of `fd`), whose
   * ACCEPT finds the admission in `pending`.
   */
  private adoptSocket(fd: number, bytes: Buffer, address: string, port: number): boolean {
    if (this.stopping) return false;
    const ip = this.host.admission.admit(address);
    if (ip === null) return false;
    let id = 0;
    try {
      id = (this.engine as RelayEngineHandoverBinding).adopt(fd, bytes, address, port);
    } catch (err) {
      this.host.log.warn('native engine cannot adopt a socket', { error: (err as Error).message });
    }
    if (id <= 0) {
      this.host.admission.release(ip);
      return false;
    }
    this.pending.set(id, ip);
    this.adopted.add(id);
    return true;
  }
}
