/**
 * The relay's control plane (joint.md §3-4, §6): what create, enter, leave, delete and kick do to
 * the joint tables, the replies and events they cause, and the budgets that bound them (commands
 * per second per connection, joints relay-wide and per IP).
 *
 * Commands are rare next to data frames, so clarity wins over speed here; the data plane
 * (forwarding.ts) only reads the tables these change.
 */
import { ErrorCode, errorName } from '../core/index.js';
import {
  Command,
  CreateError,
  IN_DISCONNECT_BYTES,
  KickError,
  REPLY_BYTES,
  ReplyStatus,
  USER_CONNECT_BYTES,
  USER_DISCONNECT_BYTES,
  writeInDisconnect,
  writeReply,
  writeUserConnect,
  writeUserDisconnect,
  type WireReason,
} from '../joint/protocol.js';
import type { JointState, Membership } from '../joint/relay-state.js';
import type { ClusterBridge } from './cluster-bridge.js';
import type { RemoteOwner } from './cluster-remote.js';
import type { DropConnection, RelayConnection } from './connection.js';
import type { Forwarder } from './forwarding.js';
import { normalizeIp } from './ip-limiter.js';
import type { Logger } from './logger.js';
import type { ResolvedRelayOptions } from './options.js';
import { DisconnectReason, type RelayStats } from './stats.js';
import { TokenBucket } from './token-bucket.js';

/** One per relay: runs each command unit and tells peers what joint changes mean for them. */
export class Commands {
  /** Joints owned per source IP (`maxJointsPerIp`); an address owning none has no entry. */
  private readonly jointsByIp = new Map<string, number>();
  /** With the `cluster` option: creates claim ids, enters reach joints of other nodes. */
  cluster: ClusterBridge | null = null;

  /**
   * @param state the joint tables; changed here and by closes, read by the data plane.
   * @param out marks the outboxes that replies and events were written to, for the read's flush.
   * @param drop ends a connection: past its command budget, an unknown or disabled command.
   */
  constructor(
    private readonly options: Readonly<ResolvedRelayOptions>,
    private readonly stats: RelayStats,
    private readonly log: Logger,
    private readonly state: JointState,
    private readonly out: Forwarder,
    private readonly drop: DropConnection,
  ) {}

  /**
   * Charge one command to `conn`'s budget (`commandsPerSec`, burst `commandBurst`).
   * @returns false when it went past it and was dropped (`rate_limit`).
   */
  admit(conn: RelayConnection): boolean {
    const rate = this.options.commandsPerSec;
    if (rate === 0) return true;
    // The first command needs no bucket (a full one always has a token): most connections send
    // one create or enter and go quiet, and then hold none (issue 13). The second makes the
    // bucket and pays for both, which at worst counts the first a moment late.
    if (!conn.commandSeen) {
      conn.commandSeen = true;
      return true;
    }
    const now = Date.now();
    let bucket = conn.commandBucket;
    if (bucket === null) {
      bucket = conn.commandBucket = new TokenBucket(rate, this.options.commandBurst, now);
      bucket.take(1, now);
    }
    if (bucket.take(1, now)) return true;
    this.drop(conn, DisconnectReason.RateLimit, 'commands/s');
    return false;
  }

  /**
   * Run command `cmd` numbered `cmdNr` with the payload at `src[offset, offset + length)` (joint.md
   * §3), or queue it (copied) behind one of `conn`'s commands that waits for the cluster.
   */
  run(conn: RelayConnection, cmd: number, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    const queue = conn.cmdQueue;
    if (queue !== null) queue.push({ cmd, cmdNr, payload: Buffer.from(src.subarray(offset, offset + length)) });
    else this.exec(conn, cmd, cmdNr, src, offset, length);
  }

  /** Run a command now (`run`, or the cluster bridge for the queued ones). */
  exec(conn: RelayConnection, cmd: number, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    switch (cmd) {
      case Command.Create: {
        // joint.md §3.1 order: "id taken" (2) before any "too many" (1); the relay-wide and per-IP
        // caps (issue 14) answer 1 (MAX), as a connection's own 128 does.
        if (this.jointCapReached(conn) && this.state.find(src, offset, length) === undefined) {
          this.stats.jointsRefused++;
          this.reply(conn, cmdNr, ReplyStatus.Error, CreateError.Max);
          this.log.debug('create refused: joint cap', { conn: conn.id, joints: this.state.joints });
          return;
        }
        if (this.cluster !== null) return this.cluster.create(conn, cmdNr, src, offset, length);
        const result = this.state.create(conn, src, offset, length);
        if (result >= 0) this.countJoints(conn, 1);
        if (result >= 0) this.reply(conn, cmdNr, ReplyStatus.Ok, result);
        else this.reply(conn, cmdNr, ReplyStatus.Error, -result);
        if (result === -CreateError.IdTaken || result === -CreateError.Max) this.log.debug('create refused', { conn: conn.id, err: -result });
        return;
      }
      case Command.Enter: {
        if (this.cluster !== null && this.state.find(src, offset, length) === undefined) return this.cluster.enter(conn, cmdNr, src, offset, length);
        const result = this.state.enter(conn, src, offset, length);
        if (typeof result === 'number') {
          this.reply(conn, cmdNr, ReplyStatus.Error, -result);
          return;
        }
        // joint.md §6.1: the OK to the user, then userConnect to the owner.
        this.reply(conn, cmdNr, ReplyStatus.Ok, result.jIn);
        this.userConnect(result);
        return;
      }
      case Command.Leave: {
        const m = conn.entered[src[offset]!];
        if (m !== undefined && (m.joint.owner as RemoteOwner).remote) return this.cluster!.leave(m);
        // joint.md §3: an unknown jIn is ignored.
        this.state.leave(conn, src[offset]!);
        return;
      }
      case Command.Delete: {
        const before = conn.ownedCount;
        const joint = conn.own[src[offset]!];
        if (joint !== undefined && this.cluster !== null) this.cluster.jointEnding(joint, 0);
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

  /** joint.md §6.1: the owner of `m`'s joint hears userConnect. */
  userConnect(m: Membership): void {
    const owner = m.joint.owner as RelayConnection;
    const box = owner.outbox;
    const at = box.reserve(USER_CONNECT_BYTES);
    box.commit(writeUserConnect(box.buf, at, m.joint.jOwn, m.userNr));
    this.stats.framesOut++;
    this.out.markDirty(owner);
  }

  /** A user left: tell the owner userDisconnect (joint.md §4.2). */
  userGone(m: Membership, reason: WireReason): void {
    const owner = m.joint.owner as RelayConnection;
    if (owner.closed) return;
    const box = owner.outbox;
    const at = box.reserve(USER_DISCONNECT_BYTES);
    box.commit(writeUserDisconnect(box.buf, at, m.joint.jOwn, m.userNr, reason));
    this.stats.framesOut++;
    this.out.markDirty(owner);
  }

  /** A joint is gone for a user: tell it inDisconnect (joint.md §4.2). */
  jointGone(m: Membership, reason: WireReason): void {
    const user = m.user as RelayConnection;
    if (user.remote) return this.cluster!.userLeft(m, reason);
    if (user.closed) return;
    const box = user.outbox;
    const at = box.reserve(IN_DISCONNECT_BYTES);
    box.commit(writeInDisconnect(box.buf, at, m.jIn, reason));
    this.stats.framesOut++;
    this.out.markDirty(user);
  }

  /** Add `delta` to the joints owned from `conn`'s IP (a close passes minus what it owned). */
  countJoints(conn: RelayConnection, delta: number): void {
    if (delta === 0) return;
    const ip = normalizeIp(conn.stream.remoteAddress);
    const left = (this.jointsByIp.get(ip) ?? 0) + delta;
    if (left <= 0) this.jointsByIp.delete(ip);
    else this.jointsByIp.set(ip, left);
  }

  /** True when a create by `conn` would pass the relay-wide or its IP's joint cap. */
  private jointCapReached(conn: RelayConnection): boolean {
    const o = this.options;
    if (o.maxJoints > 0 && this.state.joints >= o.maxJoints) return true;
    return o.maxJointsPerIp > 0 && (this.jointsByIp.get(normalizeIp(conn.stream.remoteAddress)) ?? 0) >= o.maxJointsPerIp;
  }

  /**
   * Reply `00 03 nr status value` (joint.md §4.1). With `cmdNr` 0 ("no reply expected") nothing
   * is sent: a reply numbered 0 would read as a server event.
   */
  reply(conn: RelayConnection, cmdNr: number, status: number, value: number): void {
    if (cmdNr === 0) return;
    const box = conn.outbox;
    const at = box.reserve(REPLY_BYTES);
    box.commit(writeReply(box.buf, at, cmdNr, status, value));
    this.stats.framesOut++;
    this.out.markDirty(conn);
  }
}
