/**
 * The relay: a drop-in replacement for peote-server (joint.md), hardened (§16) and streaming.
 *
 * Per read: the bytes go through the connection's JointParser; each unit is executed at once
 * (commands) or forwarded at once (data pieces, rewritten and split at 32767); the bytes owed to
 * each destination collect in its outbox, and every touched outbox is flushed once at the end
 * of the read: one socket write per destination per read. A run of broadcast frames is
 * rewritten once per distinct jIn and the same bytes are handed to every raw-TCP user.
 *
 * This file is the relay's life and its read loop: listening and closing, accepting and dropping
 * connections, reading (rate budgets, parser, dispatch of each unit), the sweep and the stats.
 * A unit goes to forwarding.ts (data plane) or commands.ts (control plane); backpressure.ts decides
 * whose socket is read.
 */
import type { Server } from 'node:http';
import { createJointParser, ErrorCode, errorName, JOINT_UNIT_STRIDE, JointDirection, JointUnitKind, UnitFlag, type JointParser } from '../core/index.js';
import { CreateError, EnterError, KEEPALIVE, OWN_JOINT_FLAG, type WireReason } from '../joint/protocol.js';
import { JointState, type JointStateListener, type Membership } from '../joint/relay-state.js';
import { listenStreams, type StreamListener } from '../transport/stream-listener.js';
import type { ByteStream, StreamCloseInfo } from '../transport/types.js';
import { Admission } from './admission.js';
import { Backpressure, PauseCause, setPaused } from './backpressure.js';
import { Commands } from './commands.js';
import { RelayConnection } from './connection.js';
import { Forwarder } from './forwarding.js';
import type { ClusterBridge } from './cluster-bridge.js';
import { chooseEngine, type EngineChoice } from './engine/engine-choice.js';
import { NativeEngine } from './engine/native-engine.js';
import { RoutedJointState } from './engine/routed-joint-state.js';
import { listenError } from './listen-error.js';
import { KEEPALIVE_SWEEP_MAX_MS, PARSER_SPARES_MAX, PARSER_UNITS_PER_FEED } from './limits.js';
import { createLogger, type Logger } from './logger.js';
import { createRelayRegistry, serveMetrics } from './metrics.js';
import { resolveRelayOptions, type RelayEngineKind, type RelayOptions, type ResolvedRelayOptions } from './options.js';
import { DisconnectReason, RelayStats, snapshotOf, type RelayStatsSnapshot } from './stats.js';
import { TokenBucket } from './token-bucket.js';
import { requestSharedPort } from './worker-listener.js';

const KIND_COMMAND = JointUnitKind.Command;
const KIND_DATA = JointUnitKind.Data;
const KIND_BROADCAST = JointUnitKind.Broadcast;
const FLAG_FRAME_START = UnitFlag.FrameStart;
const FLAG_FRAME_END = UnitFlag.FrameEnd;
const FLAG_IN_CARRY = UnitFlag.InCarry;

/**
 * A running relay. Start one with `Relay.listen()`:
 *
 * ```ts
 * import { Relay } from 'gamewire/relay';
 * const relay = await Relay.listen({ host: '127.0.0.1', port: 7680 });
 * console.log(`relay on ${relay.host}:${relay.port}`);
 * // ...
 * await relay.close();
 * ```
 */
export class Relay implements JointStateListener {
  /** The bound address. */
  readonly host: string;
  /** The bound port (the OS-chosen one when `port` was 0). */
  readonly port: number;
  /** The metrics endpoint's port, or undefined without one. */
  readonly metricsPort: number | undefined;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedRelayOptions>;
  /** The engine that runs: the one asked for (`options.engine`) unless the native one cannot run here. */
  readonly engine: RelayEngineKind;

  private readonly state: JointState;
  private readonly log: Logger;
  private readonly statsData = new RelayStats();
  private readonly admission: Admission;
  private readonly connections = new Set<RelayConnection>();
  /** Parsers given back by idle connections, reset, for the next one that talks. */
  private readonly spareParsers: JointParser[] = [];
  private readonly backpressure: Backpressure;
  private readonly forwarder: Forwarder;
  private readonly commands: Commands;
  /** With the native engine: its control plane, which owns the sockets' engine (engine/native-engine.ts). */
  private native: NativeEngine | null = null;
  /** With the `cluster` option: this node's part of the cluster (cluster-bridge.ts). */
  private bridge: ClusterBridge | null = null;
  private listener: StreamListener | null = null;
  private metricsServer: Server | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepEveryMs = KEEPALIVE_SWEEP_MAX_MS;
  private nextId = 1;
  /** Commands read so far (framesIn counts them too): tells a read of commands only. */
  private commandsIn = 0;
  private openStreams = 0;
  private streamsDrained: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private readonly handlers: Pick<ByteStream, 'onData' | 'onClose' | 'onWritten'>;

  private constructor(
    options: ResolvedRelayOptions,
    log: Logger,
    private readonly choice: EngineChoice,
  ) {
    this.options = options;
    this.log = log;
    this.host = options.host;
    this.port = 0;
    this.metricsPort = undefined;
    this.engine = choice.kind;
    this.admission = new Admission(options, this.statsData, log);
    const limits = { maxUsersPerJoint: options.maxUsersPerJoint, maxIdBytes: options.maxIdBytes };
    // The native engine's routing table follows every change of the joint tables.
    this.state = choice.native !== undefined ? new RoutedJointState(this, limits) : new JointState(this, limits);
    // One closure for the parts that may end a connection, made once, not per call.
    const drop = (conn: RelayConnection, reason: DisconnectReason, detail?: string) => this.drop(conn, reason, detail);
    this.backpressure = new Backpressure(options, this.statsData);
    this.forwarder = new Forwarder(options, this.statsData, this.state, this.backpressure, drop);
    this.commands = new Commands(options, this.statsData, log, this.state, this.forwarder, drop);
    // Stream handlers made once for every connection: the stream calls them as its methods, and
    // its `owner` is the connection (issue 13: an idle connection holds no closures of ours).
    const relay = this;
    this.handlers = {
      onData(this: ByteStream, data: Uint8Array): void {
        relay.onData(this.owner as RelayConnection, data);
      },
      onClose(this: ByteStream, info: StreamCloseInfo): void {
        relay.onStreamClose(this.owner as RelayConnection, info);
      },
      onWritten(this: ByteStream): void {
        relay.backpressure.onWritten(this.owner as RelayConnection);
      },
    };
  }

  /**
   * Start a relay: listen for raw TCP and WebSocket peers on one port (joint.md §9).
   * @param options limits and timers; every default is the original's (see `RelayOptions`).
   * @returns the listening relay.
   * @throws {RangeError|TypeError} synchronously-checked options, as a rejected promise.
   * Rejects also when the port cannot be bound.
   */
  static async listen(options: RelayOptions = {}): Promise<Relay> {
    const resolved = resolveRelayOptions(options);
    const log = options.logger ?? createLogger({ level: options.logLevel ?? 'info', base: { component: 'relay' } });
    const choice = chooseEngine(resolved);
    if (choice.why !== undefined) log.debug('native relay engine unavailable: running the node engine', { why: choice.why });
    const relay = new Relay(resolved, log, choice);
    await relay.start();
    return relay;
  }

  private async start(): Promise<void> {
    const o = this.options;
    if (o.cluster !== undefined) {
      // Loaded only here: a single relay never loads the NATS client.
      const { ClusterBridge } = await import('./cluster-bridge.js');
      const host = { options: o, state: this.state, commands: this.commands, forwarder: this.forwarder, log: this.log, drop: (c: RelayConnection, r: DisconnectReason, d?: string) => this.drop(c, r, d) };
      this.bridge = this.commands.cluster = this.forwarder.cluster = await ClusterBridge.join(o.cluster, host);
    }
    const native = this.choice.native;
    try {
      if (native !== undefined) {
        const host = { options: o, log: this.log, stats: this.statsData, admission: this.admission, state: this.state as RoutedJointState, commands: this.commands, forwarder: this.forwarder, accept: (s: ByteStream) => this.accept(s), drop: (c: RelayConnection, r: DisconnectReason, d?: string) => this.drop(c, r, d) };
        // A worker of `gamewire relay --workers` listens on the port its primary holds (SO_REUSEPORT).
        const shared = await requestSharedPort();
        this.native = new NativeEngine(host, native.Engine, native.statNames, shared);
        (this as { port: number }).port = this.native.listen();
      } else this.listener = await listenStreams({
        host: o.host,
        port: o.port,
        websocket: o.websocket,
        handshakeTimeoutMs: o.loginTimeoutMs,
        maxWebSocketPayloadBytes: o.maxWebSocketPayloadBytes,
        // The admission is the counted IP, released by one shared function (no closure per connection).
        admit: (address) => this.admission.admit(address),
        release: (ip) => this.admission.release(ip),
        onStream: (stream) => void this.accept(stream),
      });
    } catch (err) {
      await this.native?.stop(0);
      await this.bridge?.close();
      throw listenError(err, o.host, o.port);
    }
    if (this.listener !== null) (this as { port: number }).port = this.listener.port;
    if (o.metricsPort !== undefined) {
      try {
        const registry = createRelayRegistry(this.figures(), () => this.live(), () => this.bridge?.stats() ?? null);
        const served = await serveMetrics(registry, o.metricsHost, o.metricsPort);
        this.metricsServer = served.server;
        (this as { metricsPort: number | undefined }).metricsPort = served.port;
      } catch (err) {
        await this.listener?.close();
        await this.native?.stop(0);
        await this.bridge?.close();
        throw err;
      }
    }
    // One sweep serves keepalive, the idle and stall timeouts and the release of idle slabs (the
    // native engine has its own, on its thread).
    const periods = [o.keepaliveMs, o.idleTimeoutMs, o.stallTimeoutMs].filter((ms) => ms > 0);
    this.sweepEveryMs = Math.max(1, Math.min(KEEPALIVE_SWEEP_MAX_MS, Math.floor(Math.min(KEEPALIVE_SWEEP_MAX_MS * 4, ...periods) / 4)));
    if (this.native === null) {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepEveryMs);
      this.sweepTimer.unref();
    }
    this.log.info('relay listening', {
      host: this.host,
      port: this.port,
      engine: this.engine,
      metricsPort: this.metricsPort,
      websocket: o.websocket,
      kick: o.kick,
      node: this.bridge?.self.nodeId,
    });
  }

  /** Counters and gauges now (the same figures the metrics endpoint serves). */
  stats(): RelayStatsSnapshot {
    return snapshotOf(this.figures(), this.live(), this.bridge?.stats());
  }

  /** The counters: the relay's own, or on the native engine those with the engine's beside them. */
  private figures(): RelayStats {
    return this.native?.stats ?? this.statsData;
  }

  /** The gauges read from the relay's parts. */
  private live(): Pick<RelayStatsSnapshot, 'pendingConnections' | 'pendingUpgrades' | 'joints' | 'users' | 'backlogBytes'> {
    const n = this.native?.stats;
    return {
      pendingConnections: n?.pendingConnections ?? this.listener?.pendingCount ?? 0,
      pendingUpgrades: n?.pendingUpgrades ?? this.listener?.pendingUpgrades ?? 0,
      joints: this.state.joints,
      users: this.state.users,
      backlogBytes: n?.backlogBytes ?? this.backlogBytes(),
    };
  }

  /** One line for `console.log(relay)`: where it listens and what it carries, not its internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const state = this.closing !== null ? 'closing' : 'listening';
    return `Relay { ${state} on ${this.host}:${this.port}, ${this.statsData.connections} connections, ${this.state.joints} joints, ${this.state.users} users }`;
  }

  /** Bytes queued toward all peers and not yet taken by their sockets (walks every connection). */
  private backlogBytes(): number {
    let sum = 0;
    for (const conn of this.connections) sum += conn.stream.bufferedBytes;
    return sum;
  }

  /**
   * Stop: refuse new connections, end every connection (flushing what is owed), wait up to
   * `closeGraceMs` for them to go, destroy the rest, and stop the metrics endpoint. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const listenerClosed = this.listener?.close() ?? Promise.resolve();
    const drained = new Promise<void>((resolve) => {
      if (this.openStreams === 0) resolve();
      else this.streamsDrained = resolve;
    });
    for (const conn of [...this.connections]) this.drop(conn, DisconnectReason.Shutdown, undefined, true);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.closeGraceMs)))]);
    clearTimeout(timer);
    for (const stream of this.streams) stream.destroy();
    await listenerClosed;
    // The engine's closes flush what each peer is owed: give them the grace, then stop its thread.
    await this.native?.stop(this.options.closeGraceMs);
    // After the connections: their joints' ids are being released, and peers hear goodbye.
    await this.bridge?.close();
    if (this.metricsServer !== null) {
      const server = this.metricsServer;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.log.info('relay closed', { port: this.port });
  }

  /** Streams not yet reported closed (for shutdown). */
  private readonly streams = new Set<ByteStream>();

  // ---- connections -------------------------------------------------------------------------

  /** A new stream of either engine becomes a connection; null (the stream destroyed) while closing. */
  private accept(stream: ByteStream): RelayConnection | null {
    if (this.closing !== null) {
      stream.destroy();
      return null;
    }
    const o = this.options;
    const now = Date.now();
    // The native engine applies the inbound rates on its thread.
    const rated = this.native === null;
    const bytesBucket = rated && o.inboundBytesPerSec > 0 ? new TokenBucket(o.inboundBytesPerSec, Math.max(1, o.inboundBytesPerSec * o.inboundBurstSeconds), now) : null;
    const unitsBucket = rated && o.inboundUnitsPerSec > 0 ? new TokenBucket(o.inboundUnitsPerSec, Math.max(1, o.inboundUnitsPerSec * o.inboundBurstSeconds), now) : null;
    const conn = new RelayConnection(this.nextId++, stream, o.maxOwnJoints, o.maxInJoints, bytesBucket, unitsBucket);
    this.connections.add(conn);
    this.streams.add(stream);
    this.openStreams++;
    this.statsData.connections++;
    this.statsData.accepted++;
    stream.owner = conn;
    stream.onData = this.handlers.onData;
    stream.onClose = this.handlers.onClose;
    stream.onWritten = this.handlers.onWritten;
    this.log.debug('connection open', { conn: conn.id, kind: stream.kind, ip: stream.remoteAddress, port: stream.remotePort });
    return conn;
  }

  private onStreamClose(conn: RelayConnection, info: StreamCloseInfo): void {
    this.streams.delete(conn.stream);
    this.openStreams--;
    if (!conn.closed) {
      this.drop(conn, info.clean ? DisconnectReason.PeerClosed : DisconnectReason.SocketError, info.error?.message);
      this.forwarder.flushDirty();
    }
    if (this.openStreams === 0 && this.streamsDrained !== null) {
      const done = this.streamsDrained;
      this.streamsDrained = null;
      done();
    }
  }

  /**
   * Close `conn` and run the full cleanup of joint.md §6.3 (D3): its joints go (users hear
   * inDisconnect 1), its memberships go (owners hear userDisconnect 1).
   */
  private drop(conn: RelayConnection, reason: DisconnectReason, detail?: string, graceful = false): void {
    if (conn.closed) return;
    if (graceful) {
      // Shutdown: send what is owed, then end.
      this.statsData.bytesOut += conn.outbox.flushTo(conn.stream);
    }
    conn.closed = true;
    if (conn.throttleTimer !== null) clearTimeout(conn.throttleTimer);
    conn.throttleTimer = null;
    this.backpressure.forget(conn);
    this.giveBackParser(conn);
    this.commands.countJoints(conn, -conn.ownedCount);
    this.connections.delete(conn);
    this.statsData.connections--;
    this.statsData.disconnects[reason]++;
    conn.outbox.clear();
    this.bridge?.connectionClosing(conn);
    this.state.removeEndpoint(conn);
    if (this.native !== null) this.native.close(conn, reason);
    else if (graceful) conn.stream.end();
    else if (reason !== DisconnectReason.PeerClosed && reason !== DisconnectReason.SocketError) conn.stream.destroy();
    const fields = { conn: conn.id, ip: conn.stream.remoteAddress, reason, detail };
    if (reason === DisconnectReason.PeerClosed || reason === DisconnectReason.Shutdown) this.log.debug('connection closed', fields);
    else this.log.info('connection dropped', fields);
  }

  // ---- inbound -----------------------------------------------------------------------------

  private onData(conn: RelayConnection, data: Uint8Array): void {
    if (conn.closed) return;
    const length = data.length;
    conn.lastReceiveMs = Date.now();
    this.statsData.bytesIn += length;
    if (conn.bytesBucket !== null && !this.admitInbound(conn, conn.bytesBucket, length, 'inbound bytes/s')) {
      this.forwarder.flushDirty();
      return;
    }
    const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const parser = conn.parser ?? (conn.parser = this.spareParsers.pop() ?? createJointParser({ direction: JointDirection.ToRelay, maxUnits: PARSER_UNITS_PER_FEED }));
    const framesBefore = this.statsData.framesIn;
    const commandsBefore = this.commandsIn;
    let offset = 0;
    let left = length;
    for (;;) {
      const count = parser.feed(input, offset, left);
      if (count > 0) {
        if (conn.unitsBucket !== null && !this.admitInbound(conn, conn.unitsBucket, count, 'inbound units/s')) break;
        this.execute(conn, input, count);
        if (conn.closed) break;
      }
      if (parser.error !== ErrorCode.Ok) {
        this.drop(conn, DisconnectReason.ProtocolError, errorName(parser.error));
        break;
      }
      const consumed = parser.consumed;
      offset += consumed;
      left -= consumed;
      if (consumed > 0) conn.parserIdle = endsAtBoundary(parser.units, count, offset);
      if (left <= 0 || consumed === 0) break;
    }
    // A read of commands only (create, enter: rare, and a connection that just made one often
    // goes quiet) gives its parser back at once; one with data keeps it until a sweep of silence.
    // Without this, a burst of new connections makes a parser each, dropped later: churn that
    // costs the process more than the parsers themselves (issue 13: memory per idle connection).
    if (conn.parserIdle && !conn.closed && this.statsData.framesIn - framesBefore === this.commandsIn - commandsBefore) this.giveBackParser(conn);
    this.forwarder.flushDirty();
    this.backpressure.pressBack(conn);
  }

  /**
   * Charge `n` to a rate bucket. `disconnect` policy: past the bucket the connection is dropped.
   * `throttle`: what was read is handled, and reading pauses until the bucket is out of debt.
   * @returns false when the connection was dropped.
   */
  private admitInbound(conn: RelayConnection, bucket: TokenBucket, n: number, what: string): boolean {
    const now = Date.now();
    if (this.options.inboundPolicy === 'disconnect' || conn.stream.pause === undefined) {
      if (bucket.take(n, now)) return true;
      this.drop(conn, DisconnectReason.RateLimit, what);
      return false;
    }
    const waitMs = bucket.charge(n, now);
    if (waitMs > 0 && now + waitMs > conn.throttleUntil) {
      if (conn.throttleTimer === null) {
        this.statsData.throttled++;
        setPaused(conn, PauseCause.Throttle, true);
      } else clearTimeout(conn.throttleTimer);
      conn.throttleUntil = now + waitMs;
      conn.throttleTimer = setTimeout(() => {
        conn.throttleTimer = null;
        if (!conn.closed) setPaused(conn, PauseCause.Throttle, false);
      }, waitMs);
    }
    return true;
  }

  /** Take `conn`'s parser back (reset) for the next connection that talks. */
  private giveBackParser(conn: RelayConnection): void {
    const parser = conn.parser;
    if (parser === null) return;
    conn.parser = null;
    conn.parserIdle = true;
    if (this.spareParsers.length >= PARSER_SPARES_MAX) return;
    parser.reset();
    this.spareParsers.push(parser);
  }

  /** Run the `count` units of the last feed: data to the forwarder, commands to the commands. */
  private execute(conn: RelayConnection, input: Buffer, count: number): void {
    const parser = conn.parser!;
    const units = parser.units;
    const fwd = this.forwarder;
    const stop = count * JOINT_UNIT_STRIDE;
    for (let p = 0; p < stop; p += JOINT_UNIT_STRIDE) {
      const kind = units[p]!;
      if (kind === KIND_DATA && units[p + 2]! < OWN_JOINT_FLAG && p + JOINT_UNIT_STRIDE < stop) {
        // Two or more small pieces for one in-joint in a row (a user streaming to an owner): one copy.
        const next = fwd.userRun(conn, units, p, stop, input);
        if (next > p) {
          p = next - JOINT_UNIT_STRIDE;
          continue;
        }
      }
      const flags = units[p + 1]!;
      const a = units[p + 2]!;
      const b = units[p + 3]!;
      const offset = units[p + 4]!;
      const length = units[p + 5]!;
      if (kind !== KIND_BROADCAST) fwd.endRun();
      if (kind === KIND_DATA) {
        if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
        if ((flags & FLAG_FRAME_END) !== 0) this.statsData.framesIn++;
        if (a < OWN_JOINT_FLAG) fwd.userData(conn, a, input, offset, length);
        else fwd.ownerData(conn, a - OWN_JOINT_FLAG, b, input, offset, length);
      } else if (kind === KIND_BROADCAST) {
        if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
        if ((flags & FLAG_FRAME_END) !== 0) this.statsData.framesIn++;
        fwd.broadcast(conn, a - OWN_JOINT_FLAG, b, input, offset, length);
      } else if (kind === KIND_COMMAND) {
        this.statsData.framesIn++;
        this.commandsIn++;
        if (!this.commands.admit(conn)) break;
        const src = (flags & FLAG_IN_CARRY) !== 0 ? parser.carry() : input;
        this.commands.run(conn, a, b, src, offset, length);
      }
      if (conn.closed) break;
    }
    fwd.endRun();
  }

  // ---- JointStateListener: the joint tables tell the relay, which tells the peers ----------

  /** @internal A user left: tell the owner userDisconnect (joint.md §4.2). */
  userGone(m: Membership, reason: WireReason): void {
    this.commands.userGone(m, reason);
  }

  /** @internal A joint is gone for a user: tell it inDisconnect (joint.md §4.2). */
  jointGone(m: Membership, reason: WireReason): void {
    this.commands.jointGone(m, reason);
  }

  /**
   * The periodic sweep: the idle and stall timeouts, idle slabs given back, and joint.md §7's
   * keepalive after `keepaliveMs` of outbound silence, once anything was sent.
   */
  private sweep(): void {
    const now = Date.now();
    const period = this.options.keepaliveMs;
    const idle = this.options.idleTimeoutMs;
    const stall = this.options.stallTimeoutMs;
    for (const conn of this.connections) {
      if (idle > 0 && now - conn.lastReceiveMs >= idle) {
        this.drop(conn, DisconnectReason.Idle, `silent for ${now - conn.lastReceiveMs} ms`);
        continue;
      }
      const backlog = conn.stream.bufferedBytes;
      if (stall > 0 && backlog > 0 && now - conn.progressMs >= stall) {
        this.drop(conn, DisconnectReason.Stalled, `${backlog} bytes unsent, none taken for ${now - conn.progressMs} ms`);
        continue;
      }
      // A peer sent nothing since the last sweep gives its slab back, and one silent since then at
      // a unit boundary its parser: idle peers hold neither.
      if (backlog === 0 && now - conn.lastSendMs >= this.sweepEveryMs) conn.outbox.release();
      if (conn.parserIdle && now - conn.lastReceiveMs >= this.sweepEveryMs) this.giveBackParser(conn);
      if (period <= 0) continue;
      if (!conn.keepaliveArmed || now - conn.lastSendMs < period) continue;
      // Nothing was sent for a whole period, so nothing is pending: the shared constant goes out
      // as it is, and an idle peer's keepalive allocates no slab (issue 13).
      this.statsData.framesOut++;
      this.statsData.bytesOut += conn.outbox.sendAlone(conn.stream, KEEPALIVE);
      conn.lastSendMs = now;
    }
    this.forwarder.flushDirty();
  }
}

/**
 * After a feed of `count` units that ended at input offset `end`: true when the parser holds no
 * partial unit, so it can be given back. The last unit must be complete (a command, or a frame's
 * last piece), not served from the carry (its end in the input is not known), and end exactly
 * where the feed did; a feed that consumed bytes without a unit holds a partial one.
 */
function endsAtBoundary(units: Int32Array, count: number, end: number): boolean {
  if (count === 0) return false;
  const q = (count - 1) * JOINT_UNIT_STRIDE;
  const flags = units[q + 1]!;
  if ((flags & FLAG_IN_CARRY) !== 0) return false;
  if (units[q]! !== KIND_COMMAND && (flags & FLAG_FRAME_END) === 0) return false;
  return units[q + 4]! + units[q + 5]! === end;
}

/** Error codes of create and enter, re-exported for users of the relay API. */
export { CreateError, EnterError };
