/**
 * The relay: a drop-in replacement for peote-server (joint.md), hardened (§16) and streaming.
 *
 * Per read: the bytes go through the connection's JointParser; each unit is executed at once
 * (commands) or forwarded at once (data pieces, rewritten and split at 32767); the bytes owed to
 * each destination collect in its outbox, and every touched outbox is flushed once at the end
 * of the read: one socket write per destination per read. A run of broadcast frames is
 * rewritten once per distinct jIn and the same bytes are handed to every raw-TCP user.
 */
import type { Server } from 'node:http';
import { createJointParser, ErrorCode, errorName, JOINT_UNIT_STRIDE, JointDirection, JointUnitKind, UnitFlag, type JointParser } from '../core/index.js';
import { MAX_FRAME_DATA_BYTES, MAX_FRAME_SIZE } from '../joint/limits.js';
import { JointState, type Joint, type JointStateListener, type Membership } from '../joint/relay-state.js';
import {
  Command,
  CreateError,
  EnterError,
  frameHeaderBytes,
  KEEPALIVE,
  KickError,
  MAX_FRAME_HEADER_BYTES,
  OWN_JOINT_FLAG,
  REPLY_BYTES,
  ReplyStatus,
  USER_CONNECT_BYTES,
  USER_DISCONNECT_BYTES,
  IN_DISCONNECT_BYTES,
  writeInDisconnect,
  writeOwnerFrameHeader,
  writeReply,
  writeUserConnect,
  writeUserDisconnect,
  writeUserFrameHeader,
  type WireReason,
} from '../joint/protocol.js';
import { listenStreams, type StreamListener } from '../transport/stream-listener.js';
import type { ByteStream, StreamCloseInfo } from '../transport/types.js';
import { PauseCause, RelayConnection } from './connection.js';
import { IpLimiter, normalizeIp } from './ip-limiter.js';
import { Outbox } from './outbox.js';
import { KEEPALIVE_SWEEP_MAX_MS, PARSER_SPARES_MAX, PARSER_UNITS_PER_FEED } from './limits.js';
import { createLogger, type Logger } from './logger.js';
import { createRelayRegistry, serveMetrics } from './metrics.js';
import { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './options.js';
import { DisconnectReason, RelayStats, type RelayStatsSnapshot } from './stats.js';
import { TokenBucket } from './token-bucket.js';

const KIND_COMMAND = JointUnitKind.Command;
const KIND_DATA = JointUnitKind.Data;
const KIND_BROADCAST = JointUnitKind.Broadcast;
const FLAG_FRAME_START = UnitFlag.FrameStart;
const FLAG_FRAME_END = UnitFlag.FrameEnd;
const FLAG_IN_CARRY = UnitFlag.InCarry;
/** Data bytes per frame toward a user: size 32767 = jIn + 32766 (joint.md §2.5). */
const MAX_USER_FRAME_DATA = MAX_FRAME_SIZE - 1;
/**
 * Pieces of at least this many bytes reach a raw-TCP owner as a view of the read buffer (one more
 * iovec in the write) instead of a copy; smaller ones are cheaper to copy than to queue. The
 * 1 KiB bench case could not tell the two apart on a loaded machine, so only large pieces share.
 */
const SHARE_INPUT_MIN_BYTES = 4096;
/**
 * Pieces below this many bytes from a user to an owner are copied as a run (one copy of the read's
 * span, then a move per piece inside the slab: no per-piece call overhead); larger ones are copied
 * one by one, which passes over their bytes once instead of twice. `npm run bench -- relay`
 * (server CPU per frame): the run wins clearly at 64 B and loses at 1 KiB.
 */
const RUN_MAX_PIECE_BYTES = 512;
/** Data bytes per frame toward an owner: size 32767 = jOwn + userNr + 32765. */
const MAX_OWNER_FRAME_DATA = MAX_FRAME_DATA_BYTES;

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

  private readonly state: JointState;
  private readonly log: Logger;
  private readonly statsData = new RelayStats();
  private readonly ipLimiter: IpLimiter;
  /** Connections admitted and not yet released (the total cap, `maxConnections`). */
  private admitted = 0;
  private readonly connections = new Set<RelayConnection>();
  private dirty: RelayConnection[] = [];
  /** Joints owned per source IP (`maxJointsPerIp`); an address owning none has no entry. */
  private readonly jointsByIp = new Map<string, number>();
  /** Parsers given back by idle connections, reset, for the next one that talks. */
  private readonly spareParsers: JointParser[] = [];
  /** Owners fed user data by the read in progress; checked against the high-water mark after its flush. */
  private fed: RelayConnection[] = [];

  // The broadcast run in progress (see `broadcast`): consecutive broadcast pieces of one read to
  // one joint with one exclusion. Raw-TCP recipients are grouped by jIn; each group's frames are
  // written once into `runBoxes[jIn]` and shared by all of its members when the run ends.
  private runJoint: Joint | null = null;
  private runExcluded = -2;
  private runGroups: number[] = [];
  private readonly runMembers: RelayConnection[][] = [];
  private readonly runBoxes: Outbox[] = [];
  private runSingles: Membership[] = [];
  private listener: StreamListener | null = null;
  private metricsServer: Server | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepEveryMs = KEEPALIVE_SWEEP_MAX_MS;
  private nextId = 1;
  private openStreams = 0;
  private streamsDrained: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  private constructor(options: ResolvedRelayOptions, log: Logger) {
    this.options = options;
    this.log = log;
    this.host = options.host;
    this.port = 0;
    this.metricsPort = undefined;
    this.ipLimiter = new IpLimiter(options.maxConnectionsPerIp);
    this.state = new JointState(this, { maxUsersPerJoint: options.maxUsersPerJoint, maxIdBytes: options.maxIdBytes });
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
    const relay = new Relay(resolved, log);
    await relay.start();
    return relay;
  }

  private async start(): Promise<void> {
    const o = this.options;
    try {
      this.listener = await listenStreams({
        host: o.host,
        port: o.port,
        websocket: o.websocket,
        handshakeTimeoutMs: o.loginTimeoutMs,
        maxWebSocketPayloadBytes: o.maxWebSocketPayloadBytes,
        admit: (address) => {
          if (o.maxConnections > 0 && this.admitted >= o.maxConnections) {
            this.statsData.refusedTotal++;
            this.log.info('connection refused: total cap', { ip: address, max: o.maxConnections });
            return null;
          }
          const release = this.ipLimiter.admit(address);
          if (release === null) {
            this.statsData.refusedPerIp++;
            this.log.info('connection refused: per-IP cap', { ip: address, max: o.maxConnectionsPerIp });
            return null;
          }
          this.admitted++;
          return () => {
            this.admitted--;
            release();
          };
        },
        onStream: (stream) => this.accept(stream),
      });
    } catch (err) {
      throw listenError(err, o.host, o.port);
    }
    (this as { port: number }).port = this.listener.port;
    if (o.metricsPort !== undefined) {
      try {
        const registry = createRelayRegistry(this.statsData, () => ({ joints: this.state.joints, users: this.state.users, backlogBytes: this.backlogBytes() }));
        const served = await serveMetrics(registry, o.metricsHost, o.metricsPort);
        this.metricsServer = served.server;
        (this as { metricsPort: number | undefined }).metricsPort = served.port;
      } catch (err) {
        await this.listener.close();
        throw err;
      }
    }
    // One sweep serves keepalive, the idle and stall timeouts and the release of idle slabs.
    const periods = [o.keepaliveMs, o.idleTimeoutMs, o.stallTimeoutMs].filter((ms) => ms > 0);
    this.sweepEveryMs = Math.max(1, Math.min(KEEPALIVE_SWEEP_MAX_MS, Math.floor(Math.min(KEEPALIVE_SWEEP_MAX_MS * 4, ...periods) / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepEveryMs);
    this.sweepTimer.unref();
    this.log.info('relay listening', {
      host: this.host,
      port: this.port,
      metricsPort: this.metricsPort,
      websocket: o.websocket,
      kick: o.kick,
    });
  }

  /** Counters and gauges now (the same figures the metrics endpoint serves). */
  stats(): RelayStatsSnapshot {
    const s = this.statsData;
    return {
      connections: s.connections,
      accepted: s.accepted,
      refusedPerIp: s.refusedPerIp,
      refusedTotal: s.refusedTotal,
      jointsRefused: s.jointsRefused,
      joints: this.state.joints,
      users: this.state.users,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      framesIn: s.framesIn,
      framesOut: s.framesOut,
      drops: s.drops,
      throttled: s.throttled,
      backpressured: s.backpressured,
      backpressuredNow: s.backpressuredNow,
      backlogBytes: this.backlogBytes(),
      disconnects: { ...s.disconnects },
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

  private accept(stream: ByteStream): void {
    if (this.closing !== null) {
      stream.destroy();
      return;
    }
    const o = this.options;
    const now = Date.now();
    const bytesBucket = o.inboundBytesPerSec > 0 ? new TokenBucket(o.inboundBytesPerSec, Math.max(1, o.inboundBytesPerSec * o.inboundBurstSeconds), now) : null;
    const unitsBucket = o.inboundUnitsPerSec > 0 ? new TokenBucket(o.inboundUnitsPerSec, Math.max(1, o.inboundUnitsPerSec * o.inboundBurstSeconds), now) : null;
    const conn = new RelayConnection(this.nextId++, stream, o.maxOwnJoints, o.maxInJoints, bytesBucket, unitsBucket);
    this.connections.add(conn);
    this.streams.add(stream);
    this.openStreams++;
    this.statsData.connections++;
    this.statsData.accepted++;
    stream.onData = (data) => this.onData(conn, data);
    stream.onClose = (info) => this.onStreamClose(conn, info);
    stream.onWritten = () => this.onWritten(conn);
    this.log.debug('connection open', { conn: conn.id, kind: stream.kind, ip: stream.remoteAddress, port: stream.remotePort });
  }

  private onStreamClose(conn: RelayConnection, info: StreamCloseInfo): void {
    this.streams.delete(conn.stream);
    this.openStreams--;
    if (!conn.closed) {
      this.drop(conn, info.clean ? DisconnectReason.PeerClosed : DisconnectReason.SocketError, info.error?.message);
      this.flushDirty();
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
    if ((conn.pausedBy & PauseCause.Backpressure) !== 0) this.statsData.backpressuredNow--;
    conn.pausedBy = 0;
    // Whoever waited for this peer's backlog to drain is read again: it will never drain now.
    this.release(conn);
    this.giveBackParser(conn);
    this.countJoints(conn, -conn.ownedCount);
    this.connections.delete(conn);
    this.statsData.connections--;
    this.statsData.disconnects[reason]++;
    conn.outbox.clear();
    this.state.removeEndpoint(conn);
    if (graceful) conn.stream.end();
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
      this.flushDirty();
      return;
    }
    const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const parser = conn.parser ?? (conn.parser = this.spareParsers.pop() ?? createJointParser({ direction: JointDirection.ToRelay, maxUnits: PARSER_UNITS_PER_FEED }));
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
    this.flushDirty();
    if (this.fed.length > 0) this.pressBack(conn);
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
        this.setPaused(conn, PauseCause.Throttle, true);
      } else clearTimeout(conn.throttleTimer);
      conn.throttleUntil = now + waitMs;
      conn.throttleTimer = setTimeout(() => {
        conn.throttleTimer = null;
        if (!conn.closed) this.setPaused(conn, PauseCause.Throttle, false);
      }, waitMs);
    }
    return true;
  }

  /**
   * Charge one command to `conn`'s budget (`commandsPerSec`, burst `commandBurst`).
   * @returns false when it went past it and was dropped (`rate_limit`).
   */
  private admitCommand(conn: RelayConnection): boolean {
    const rate = this.options.commandsPerSec;
    if (rate === 0) return true;
    const now = Date.now();
    const bucket = (conn.commandBucket ??= new TokenBucket(rate, this.options.commandBurst, now));
    if (bucket.take(1, now)) return true;
    this.drop(conn, DisconnectReason.RateLimit, 'commands/s');
    return false;
  }

  /** True when a create by `conn` would pass the relay-wide or its IP's joint cap. */
  private jointCapReached(conn: RelayConnection): boolean {
    const o = this.options;
    if (o.maxJoints > 0 && this.state.joints >= o.maxJoints) return true;
    return o.maxJointsPerIp > 0 && (this.jointsByIp.get(normalizeIp(conn.stream.remoteAddress)) ?? 0) >= o.maxJointsPerIp;
  }

  /** Add `delta` to the joints owned from `conn`'s IP. */
  private countJoints(conn: RelayConnection, delta: number): void {
    if (delta === 0) return;
    const ip = normalizeIp(conn.stream.remoteAddress);
    const left = (this.jointsByIp.get(ip) ?? 0) + delta;
    if (left <= 0) this.jointsByIp.delete(ip);
    else this.jointsByIp.set(ip, left);
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

  /** Pause or resume reading `conn` for one cause; the socket reads only while no cause holds. */
  private setPaused(conn: RelayConnection, cause: number, on: boolean): void {
    const before = conn.pausedBy;
    const after = on ? before | cause : before & ~cause;
    conn.pausedBy = after;
    if (before === 0 && after !== 0) conn.stream.pause?.();
    else if (before !== 0 && after === 0) conn.stream.resume?.();
  }

  // ---- backpressure (docs/limits.md) -------------------------------------------------------

  /** Note that the read in progress queued user data for `owner` (see `pressBack`). */
  private feed(owner: RelayConnection): void {
    if (owner.fed) return;
    owner.fed = true;
    this.fed.push(owner);
  }

  /**
   * After a read's flush: every owner it fed that is now past the high-water mark holds `source`
   * paused until its backlog is back at the low-water mark. Pausing the sender, not dropping the
   * receiver, is what keeps one user's flood from ending the joint; each paused user gets one read
   * per drain cycle, so the owner's bandwidth is shared between its senders.
   */
  private pressBack(source: RelayConnection): void {
    const high = this.options.outboundHighWaterBytes;
    const fed = this.fed;
    for (let i = 0; i < fed.length; i++) {
      const owner = fed[i]!;
      owner.fed = false;
      if (high === 0 || owner === source || owner.closed || source.closed) continue;
      if (owner.stream.bufferedBytes <= high) continue;
      let waiters = owner.waiters;
      if (waiters === null) waiters = owner.waiters = new Set();
      if (waiters.has(source)) continue;
      waiters.add(source);
      source.waitingOn++;
      if ((source.pausedBy & PauseCause.Backpressure) === 0) {
        this.statsData.backpressured++;
        this.statsData.backpressuredNow++;
        this.setPaused(source, PauseCause.Backpressure, true);
      }
    }
    fed.length = 0;
  }

  /** A flush of `conn` reached the kernel: progress; release its paused senders at the low-water mark. */
  private onWritten(conn: RelayConnection): void {
    conn.progressMs = Date.now();
    if (conn.waiters !== null && conn.stream.bufferedBytes <= this.options.outboundLowWaterBytes) this.release(conn);
  }

  /** Read again every sender paused for `dest` (once no other congested peer holds it too). */
  private release(dest: RelayConnection): void {
    const waiters = dest.waiters;
    if (waiters === null) return;
    dest.waiters = null;
    for (const source of waiters) {
      if (--source.waitingOn > 0 || source.closed) continue;
      this.statsData.backpressuredNow--;
      this.setPaused(source, PauseCause.Backpressure, false);
    }
  }

  /** Run the `count` units of the last feed. */
  private execute(conn: RelayConnection, input: Buffer, count: number): void {
    const parser = conn.parser!;
    const units = parser.units;
    const stop = count * JOINT_UNIT_STRIDE;
    for (let p = 0; p < stop; p += JOINT_UNIT_STRIDE) {
      const kind = units[p]!;
      if (kind === KIND_DATA && units[p + 2]! < OWN_JOINT_FLAG && p + JOINT_UNIT_STRIDE < stop) {
        // Two or more small pieces for one in-joint in a row (a user streaming to an owner): one copy.
        const next = this.userRun(conn, units, p, stop, input);
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
      if (kind !== KIND_BROADCAST && this.runJoint !== null) this.endRun();
      if (kind === KIND_DATA) {
        if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
        if ((flags & FLAG_FRAME_END) !== 0) this.statsData.framesIn++;
        if (a < OWN_JOINT_FLAG) this.userData(conn, a, input, offset, length);
        else this.ownerData(conn, a - OWN_JOINT_FLAG, b, input, offset, length);
      } else if (kind === KIND_BROADCAST) {
        if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
        if ((flags & FLAG_FRAME_END) !== 0) this.statsData.framesIn++;
        this.broadcast(conn, a - OWN_JOINT_FLAG, b, input, offset, length);
      } else if (kind === KIND_COMMAND) {
        this.statsData.framesIn++;
        if (!this.admitCommand(conn)) break;
        const src = (flags & FLAG_IN_CARRY) !== 0 ? parser.carry() : input;
        this.command(conn, a, b, src, offset, length);
      }
      if (conn.closed) break;
    }
    if (this.runJoint !== null) this.endRun();
  }

  /**
   * user → owner for a run of consecutive small data pieces (under `RUN_MAX_PIECE_BYTES`) of one
   * read to one in-joint (a user streaming small frames): the same bytes as `userData` piece by
   * piece, with one copy of the whole input span instead of one per piece. The span is copied to
   * the end of the reserved room, so the last piece is already in place; every earlier piece moves
   * down (within the slab, no allocation) to make room for its header, which is one or two bytes
   * longer than the input's.
   * @returns the unit index after the run, or `p` when there is no run of two (the caller goes on
   *   piece by piece).
   */
  private userRun(conn: RelayConnection, units: Int32Array, p: number, stop: number, input: Buffer): number {
    const jIn = units[p + 2]!;
    let end = p;
    let outBytes = 0;
    let prevEnd = -1;
    for (; end < stop; end += JOINT_UNIT_STRIDE) {
      const n = units[end + 5]!;
      const offset = units[end + 4]!;
      if (units[end]! !== KIND_DATA || units[end + 2]! !== jIn || n === 0 || n >= RUN_MAX_PIECE_BYTES) break;
      const header = frameHeaderBytes(n + 2) + 2;
      // Only input frame headers (at most 3 bytes, never more than the output header) between pieces.
      if ((units[end + 1]! & FLAG_IN_CARRY) !== 0 || (prevEnd >= 0 && (offset < prevEnd || offset - prevEnd > header - 1))) break;
      prevEnd = offset + n;
      outBytes += header + n;
    }
    if (end - p < 2 * JOINT_UNIT_STRIDE) return p;
    const m = conn.entered[jIn];
    const last = end - JOINT_UNIT_STRIDE;
    for (let q = p; q < end; q += JOINT_UNIT_STRIDE) {
      const flags = units[q + 1]!;
      if ((flags & FLAG_FRAME_START) !== 0) conn.frameSeq = this.state.sequence;
      if ((flags & FLAG_FRAME_END) !== 0) this.statsData.framesIn++;
    }
    if (this.runJoint !== null) this.endRun();
    const pieces = (end - p) / JOINT_UNIT_STRIDE;
    if (m === undefined) {
      this.statsData.drops += pieces;
      return end;
    }
    const joint = m.joint;
    const owner = joint.owner as RelayConnection;
    const jOwn = joint.jOwn;
    const userNr = m.userNr;
    const box = owner.outbox;
    const base = box.reserve(outBytes);
    const buf = box.buf;
    const first = units[p + 4]!;
    const span = units[last + 4]! + units[last + 5]! - first;
    const staged = base + outBytes - span - first;
    input.copy(buf, staged + first, first, first + span);
    let at = base;
    for (let q = p; q < end; q += JOINT_UNIT_STRIDE) {
      const n = units[q + 5]!;
      const from = staged + units[q + 4]!;
      // The header cannot reach bytes still to move: every piece is staged at or after where its
      // data goes, since the input's header and gap before it are shorter than the output's header.
      const data = writeOwnerFrameHeader(buf, at, jOwn, userNr, n);
      if (from !== data) buf.copyWithin(data, from, from + n);
      at = data + n;
      box.commit(at);
    }
    this.statsData.framesOut += pieces;
    this.markDirty(owner);
    this.feed(owner);
    return end;
  }

  /** user → owner (joint.md §2.3): `jIn, data` becomes `jOwn+128, userNr, data` at the owner. */
  private userData(conn: RelayConnection, jIn: number, src: Buffer, offset: number, length: number): void {
    const m = conn.entered[jIn];
    if (m === undefined) {
      this.statsData.drops++;
      return;
    }
    const joint = m.joint;
    const owner = joint.owner as RelayConnection;
    this.toOwner(owner, joint.jOwn, m.userNr, src, offset, length);
    this.feed(owner);
  }

  /** owner → user unicast (joint.md §2.3): `jOwn+128, userNr, data` becomes `jIn, data`. */
  private ownerData(conn: RelayConnection, jOwn: number, userNr: number, src: Buffer, offset: number, length: number): void {
    const m = conn.own[jOwn]?.users[userNr];
    // A user who entered after this frame began (the userNr was reused) gets none of it.
    if (m === undefined || m.seq > conn.frameSeq) {
      this.statsData.drops++;
      return;
    }
    this.toUser(m.user as RelayConnection, m.jIn, src, offset, length);
  }

  /** Broadcast (joint.md §5): to every user of own joint `jOwn`, or all but `excluded`. */
  private broadcast(conn: RelayConnection, jOwn: number, excluded: number, src: Buffer, offset: number, length: number): void {
    const joint = conn.own[jOwn];
    if (joint === undefined) {
      // joint.md §5, D2: a broadcast on a joint the sender does not own is a protocol error.
      // What the run owes goes out before the close's events.
      if (this.runJoint !== null) this.endRun();
      this.drop(conn, DisconnectReason.ProtocolError, 'broadcast on a joint the sender does not own');
      return;
    }
    if (this.runJoint !== joint || this.runExcluded !== excluded) {
      if (this.runJoint !== null) this.endRun();
      this.startRun(conn, joint, excluded);
    }
    const singles = this.runSingles;
    for (let i = 0; i < singles.length; i++) this.toUser(singles[i]!.user as RelayConnection, singles[i]!.jIn, src, offset, length);
    const groups = this.runGroups;
    for (let g = 0; g < groups.length; g++) {
      const jIn = groups[g]!;
      const frames = this.writeUserFrames(this.runBoxes[jIn]!, jIn, src, offset, length);
      this.statsData.framesOut += frames * this.runMembers[jIn]!.length;
    }
    // Not shareable (a user entered after this frame began): hand this piece over now.
    if (this.runJoint === null) this.endRun();
  }

  /**
   * Begin a broadcast run: split the recipients into jIn groups of raw-TCP users (shared bytes)
   * and singles (WebSocket users: one message per unit). Users who entered after the current
   * frame began get none of it.
   */
  private startRun(conn: RelayConnection, joint: Joint, excluded: number): void {
    const members = joint.members;
    const seq = conn.frameSeq;
    this.runSingles = [];
    this.runGroups = [];
    let shareable = true;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.userNr === excluded) continue;
      if (m.seq > seq) {
        shareable = false;
        continue;
      }
      const user = m.user as RelayConnection;
      if (user.stream.kind !== 'tcp') {
        this.runSingles.push(m);
        continue;
      }
      let list = this.runMembers[m.jIn];
      if (list === undefined) {
        list = this.runMembers[m.jIn] = [];
        this.runBoxes[m.jIn] = new Outbox(false);
      }
      if (list.length === 0) this.runGroups.push(m.jIn);
      list.push(user);
    }
    // With a late entrant the eligible set changes at the next frame start: no run then, so each
    // piece is judged afresh.
    this.runJoint = shareable ? joint : null;
    this.runExcluded = shareable ? excluded : -2;
  }

  /** End the broadcast run: hand each group's bytes to each of its members, uncopied. */
  private endRun(): void {
    const groups = this.runGroups;
    for (let g = 0; g < groups.length; g++) {
      const jIn = groups[g]!;
      const list = this.runMembers[jIn]!;
      const bytes = this.runBoxes[jIn]!.takePending();
      if (bytes.length > 0) {
        for (let i = 0; i < list.length; i++) {
          const user = list[i]!;
          user.outbox.appendShared(bytes);
          this.markDirty(user);
        }
      }
      list.length = 0;
    }
    this.runGroups = [];
    this.runSingles = [];
    this.runJoint = null;
    this.runExcluded = -2;
  }

  /** Queue `length` data bytes to an owner as frames of at most 32767 (joint.md §2.5, D1). */
  private toOwner(owner: RelayConnection, jOwn: number, userNr: number, src: Buffer, offset: number, length: number): void {
    const box = owner.outbox;
    const shareInput = owner.stream.kind === 'tcp';
    while (length > 0) {
      const n = length < MAX_OWNER_FRAME_DATA ? length : MAX_OWNER_FRAME_DATA;
      let at = box.reserve(n + MAX_FRAME_HEADER_BYTES);
      at = writeOwnerFrameHeader(box.buf, at, jOwn, userNr, n);
      if (shareInput && n >= SHARE_INPUT_MIN_BYTES) {
        // The read buffer is never reused or written, so the socket can send its bytes as they are.
        box.commit(at);
        box.appendShared(src.subarray(offset, offset + n));
      } else {
        copyBytes(src, offset, n, box.buf, at);
        box.commit(at + n);
      }
      this.statsData.framesOut++;
      offset += n;
      length -= n;
    }
    this.markDirty(owner);
  }

  /** Queue `length` data bytes to a user as frames of at most 32767. */
  private toUser(user: RelayConnection, jIn: number, src: Buffer, offset: number, length: number): void {
    this.statsData.framesOut += this.writeUserFrames(user.outbox, jIn, src, offset, length);
    this.markDirty(user);
  }

  /** Write `length` data bytes as user frames (jIn header) of at most 32767 into `box`. @returns frames written. */
  private writeUserFrames(box: Outbox, jIn: number, src: Buffer, offset: number, length: number): number {
    let frames = 0;
    while (length > 0) {
      const n = length < MAX_USER_FRAME_DATA ? length : MAX_USER_FRAME_DATA;
      let at = box.reserve(n + MAX_FRAME_HEADER_BYTES);
      at = writeUserFrameHeader(box.buf, at, jIn, n);
      copyBytes(src, offset, n, box.buf, at);
      box.commit(at + n);
      frames++;
      offset += n;
      length -= n;
    }
    return frames;
  }

  // ---- commands (joint.md §3) --------------------------------------------------------------

  private command(conn: RelayConnection, cmd: number, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    switch (cmd) {
      case Command.Create: {
        // joint.md §3.1 order: "id taken" (2) before any "too many" (1); the relay-wide and per-IP
        // caps (issue 14) answer 1 (MAX), as a connection's own 128 does.
        if (this.jointCapReached(conn) && this.state.find(src, offset, length) === undefined) {
          this.statsData.jointsRefused++;
          this.reply(conn, cmdNr, ReplyStatus.Error, CreateError.Max);
          this.log.debug('create refused: joint cap', { conn: conn.id, joints: this.state.joints });
          return;
        }
        const result = this.state.create(conn, src, offset, length);
        if (result >= 0) this.countJoints(conn, 1);
        if (result >= 0) this.reply(conn, cmdNr, ReplyStatus.Ok, result);
        else this.reply(conn, cmdNr, ReplyStatus.Error, -result);
        if (result === -CreateError.IdTaken || result === -CreateError.Max) this.log.debug('create refused', { conn: conn.id, err: -result });
        return;
      }
      case Command.Enter: {
        const result = this.state.enter(conn, src, offset, length);
        if (typeof result === 'number') {
          this.reply(conn, cmdNr, ReplyStatus.Error, -result);
          return;
        }
        // joint.md §6.1: the OK to the user, then userConnect to the owner.
        this.reply(conn, cmdNr, ReplyStatus.Ok, result.jIn);
        const owner = result.joint.owner as RelayConnection;
        const box = owner.outbox;
        const at = box.reserve(USER_CONNECT_BYTES);
        box.commit(writeUserConnect(box.buf, at, result.joint.jOwn, result.userNr));
        this.statsData.framesOut++;
        this.markDirty(owner);
        return;
      }
      case Command.Leave:
        // joint.md §3: an unknown jIn is ignored.
        this.state.leave(conn, src[offset]!);
        return;
      case Command.Delete: {
        const before = conn.ownedCount;
        this.state.delete(conn, src[offset]!);
        this.countJoints(conn, conn.ownedCount - before);
        return;
      }
      case Command.Kick: {
        if (!this.options.kick) {
          // Off by default: an original client must see what the original does with cmd 4 (§17).
          this.drop(conn, DisconnectReason.ProtocolError, errorName(ErrorCode.JointUnknownCommand));
          return;
        }
        const jOwn = src[offset]!;
        const userNr = src[offset + 1]!;
        const present = conn.own[jOwn]?.users[userNr] !== undefined;
        if (present) this.reply(conn, cmdNr, ReplyStatus.Ok, userNr);
        else this.reply(conn, cmdNr, ReplyStatus.Error, KickError.NoSuchUser);
        if (present) this.state.kick(conn, jOwn, userNr);
        return;
      }
      default:
        // The parser refuses cmd > 4; keep the close path anyway (D3).
        this.drop(conn, DisconnectReason.ProtocolError, errorName(ErrorCode.JointUnknownCommand));
    }
  }

  /**
   * Reply `00 03 nr status value` (joint.md §4.1). With `cmdNr` 0 ("no reply expected") nothing
   * is sent: a reply numbered 0 would read as a server event.
   */
  private reply(conn: RelayConnection, cmdNr: number, status: number, value: number): void {
    if (cmdNr === 0) return;
    const box = conn.outbox;
    const at = box.reserve(REPLY_BYTES);
    box.commit(writeReply(box.buf, at, cmdNr, status, value));
    this.statsData.framesOut++;
    this.markDirty(conn);
  }

  // ---- JointStateListener ------------------------------------------------------------------

  /** @internal A user left: tell the owner userDisconnect (joint.md §4.2). */
  userGone(m: Membership, reason: WireReason): void {
    const owner = m.joint.owner as RelayConnection;
    if (owner.closed) return;
    const box = owner.outbox;
    const at = box.reserve(USER_DISCONNECT_BYTES);
    box.commit(writeUserDisconnect(box.buf, at, m.joint.jOwn, m.userNr, reason));
    this.statsData.framesOut++;
    this.markDirty(owner);
  }

  /** @internal A joint is gone for a user: tell it inDisconnect (joint.md §4.2). */
  jointGone(m: Membership, reason: WireReason): void {
    const user = m.user as RelayConnection;
    if (user.closed) return;
    const box = user.outbox;
    const at = box.reserve(IN_DISCONNECT_BYTES);
    box.commit(writeInDisconnect(box.buf, at, m.jIn, reason));
    this.statsData.framesOut++;
    this.markDirty(user);
  }

  // ---- outbound ----------------------------------------------------------------------------

  private markDirty(conn: RelayConnection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.dirty.push(conn);
  }

  /**
   * Flush every touched outbox once; drop the peers that are slow readers by their own doing:
   * past `maxOutboundBytes` with nobody paused on their behalf (owner traffic to a user, which must
   * never pause the owner or the other users), or past twice that in any case (a memory ceiling
   * that paused users, one read each, reach only in the hundreds).
   */
  private flushDirty(): void {
    const cap = this.options.maxOutboundBytes;
    let now = 0;
    while (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = [];
      if (now === 0) now = Date.now();
      for (let i = 0; i < list.length; i++) {
        const conn = list[i]!;
        conn.dirty = false;
        if (conn.closed) continue;
        const stream = conn.stream;
        // The stall clock starts when a backlog begins; progress moves it on (`onWritten`).
        if (stream.bufferedBytes === 0) conn.progressMs = now;
        this.statsData.bytesOut += conn.outbox.flushTo(stream);
        conn.lastSendMs = now;
        conn.keepaliveArmed = true;
        if (cap === 0) continue;
        const backlog = stream.bufferedBytes;
        if (backlog > cap && ((conn.waiters === null && !conn.fed) || backlog > 2 * cap)) {
          // Dropping queues events for others: the while loop flushes them too.
          this.drop(conn, DisconnectReason.SlowReader, `${backlog} bytes unsent`);
        }
      }
    }
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
    this.flushDirty();
  }
}

/**
 * The error `Relay.listen` rejects with when the port cannot be bound: one line that says where
 * and why (`EADDRINUSE` → "address already in use"), keeping `code`, `address` and `port` as Node's
 * errors have them, and the original as `cause`.
 */
function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why =
    code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : (err as Error)?.message ?? String(err);
  const out = new Error(`relay cannot listen on ${host}:${port}: ${why}${code ? ` (${code})` : ''}`, { cause: err });
  // Keep Node's fields (`code`, `address`, `port`, ...) for callers that read them.
  return Object.assign(out, { code, address: host, port });
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

/** Copy bytes between Buffers; a byte loop below 64 bytes beats the native call (bench relay). */
function copyBytes(src: Buffer, offset: number, length: number, dst: Buffer, at: number): void {
  if (length < 64) {
    for (let i = 0; i < length; i++) dst[at + i] = src[offset + i]!;
  } else {
    src.copy(dst, at, offset, offset + length);
  }
}

/** Error codes of create and enter, re-exported for users of the relay API. */
export { CreateError, EnterError };
