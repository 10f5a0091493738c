/**
 * The commands that wait for the cluster (docs/cluster.md §3, §8): create claims its id in the
 * directory first, and an enter of a joint owned on another node asks that node (ENTER, answered
 * by ENTER_OK / ENTER_ERR). While one waits, the connection's later commands queue behind it and
 * its socket is not read (`PauseCause.Command`), so its replies come in command order.
 *
 * During a NATS outage (docs/cluster.md §7) an enter that needs another node is held, not failed:
 * nothing can find or reach the owner node meanwhile, and the outage ends one of two ways within
 * `natsGraceMs`. NATS back: the held enters go on as if just sent (and an ENTER already sent gets
 * a fresh `directoryTimeoutMs`). Isolated: they answer error 1, the reason cross-node joints end
 * with then.
 */
import { ENTER_AT_MAX, type NodeRef, type NodeRefLike } from '../cluster/index.js';
import { CreateError, EnterError, ReplyStatus } from '../joint/protocol.js';
import { idKey, Joint } from '../joint/relay-state.js';
import { PauseCause, setPaused } from './backpressure.js';
import { RemoteMembership, type BridgeContext } from './cluster-context.js';
import { proxyKey, RemoteOwner, RemoteUser } from './cluster-remote.js';
import { HeardAgain } from './cluster-heard.js';
import type { RelayConnection } from './connection.js';
import { WorkerHandoff } from './worker-handoff.js';

/** A cross-node enter waiting for ENTER_OK / ENTER_ERR. */
interface PendingEnter {
  conn: RelayConnection;
  cmdNr: number;
  key: string;
  peer: NodeRef;
  /** Null while its time ran out during a NATS outage: re-armed when NATS is back. */
  timer: NodeJS.Timeout | null;
}

/** A cross-node enter held while NATS is down (before its owner node was found or asked). */
interface HeldEnter {
  conn: RelayConnection;
  cmdNr: number;
  id: Buffer;
  key: string;
}

export class EnterFlow {
  private readonly pending = new Map<number, PendingEnter>();
  /** Enters held during a NATS outage (at most one per connection: its socket is not read meanwhile). */
  private held: HeldEnter[] = [];
  /** After an outage, the owner nodes heard again. */
  private readonly heard: HeardAgain;
  /** In a `relay --workers` worker: moves connections to the worker that owns their joint. */
  private readonly handoff = WorkerHandoff.get();
  private nextReqId = 1;

  constructor(private readonly ctx: BridgeContext) {
    this.heard = new HeardAgain(ctx);
    this.handoff?.retain(ctx.host.log);
  }

  // ---- user side: commands of connections here ---------------------------------------------

  /**
   * Create (joint.md §3.1 order): id too long (3), id here (2), then the claim: taken anywhere or
   * no answer (2), then the connection's own limit (1, the claim given back).
   */
  create(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const { state, commands } = ctx.host;
    if (length > state.maxIdBytes) return commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTooLong);
    if (state.find(src, offset, length) !== undefined) return commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
    const id = Buffer.from(src.subarray(offset, offset + length));
    this.begin(conn);
    ctx.cluster.directory.claim(id).then(
      (result) => {
        if (ctx.closed) return;
        if (conn.closed) {
          if (result === 'claimed') ctx.release(id);
          return;
        }
        if (result !== 'claimed') commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
        else {
          const r = state.create(conn, id);
          if (r >= 0) commands.countJoints(conn, 1);
          else ctx.release(id);
          commands.reply(conn, cmdNr, r >= 0 ? ReplyStatus.Ok : ReplyStatus.Error, r >= 0 ? r : -r);
        }
        this.finish(conn);
      },
      () => {
        if (ctx.closed || conn.closed) return;
        commands.reply(conn, cmdNr, ReplyStatus.Error, CreateError.IdTaken);
        this.finish(conn);
      },
    );
  }

  /**
   * Enter a joint that is not here (docs/cluster.md §3 "User numbers across nodes"): already in
   * (3) is known here; the owner node answers no such joint (1), full (4) and at max (5).
   */
  enter(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number): void {
    const { ctx } = this;
    const commands = ctx.host.commands;
    if (length > 255) return commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.NoSuchJoint);
    const id = Buffer.from(src.subarray(offset, offset + length));
    const key = idKey(id);
    for (const m of conn.entered) if (m !== undefined && m.joint.key === key) return commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.AlreadyIn);
    if (this.handoff !== null && this.handOff(conn, cmdNr, src, offset, length, id)) return;
    this.begin(conn);
    this.locate(conn, cmdNr, id, key);
  }

  /**
   * `relay --workers`: a connection that holds nothing and enters a joint a sibling worker of this
   * machine owns goes there, socket and all, instead of across NATS (worker-handoff.ts). It leaves
   * this relay at once (the read loop stops at it), with the bytes of this read from the enter on.
   * @returns true when it was handed over.
   */
  private handOff(conn: RelayConnection, cmdNr: number, src: Uint8Array, offset: number, length: number, id: Buffer): boolean {
    const { cluster } = this.ctx;
    const owner = cluster.directory.cached(id);
    if (owner === null) return false;
    const to = this.handoff!.sibling(owner.nodeId);
    if (to === 0 || cluster.membership.peer(owner.nodeId)?.epoch !== owner.epoch || cluster.health.state !== 'up') return false;
    if (conn.ownedCount !== 0 || conn.cmdQueue !== null || conn.pausedBy !== 0 || conn.outbox.pending !== 0 || conn.entered.some((m) => m !== undefined)) return false;
    // The command as it was read (`00 01 cmdNr len id`, joint.md §3), in the read being delivered,
    // not a parser's carried copy: then the rest of that read follows it in `src`.
    const start = offset - 4;
    if ((conn.stream as { delivering?: unknown }).delivering !== src || start < 0) return false;
    if (src[start] !== 0 || src[start + 1] !== 1 || src[start + 2] !== cmdNr || src[start + 3] !== length) return false;
    return this.handoff!.offer(conn.stream, to, src.subarray(start));
  }

  /** Find the owner node of `id` (mirror, then directory) and ask it; held while NATS is down. */
  private locate(conn: RelayConnection, cmdNr: number, id: Buffer, key: string): void {
    const { ctx } = this;
    const nats = ctx.cluster.health.state;
    if (nats === 'down') {
      this.held.push({ conn, cmdNr, id, key });
      return;
    }
    if (nats !== 'up') return this.fail(conn, cmdNr);
    const cached = ctx.cluster.directory.cached(id);
    if (cached !== null) this.ask(conn, cmdNr, id, key, cached);
    else
      ctx.cluster.directory.lookup(id).then(
        (owner) => this.ask(conn, cmdNr, id, key, owner),
        () => {
          if (ctx.closed || conn.closed) return;
          // NATS went down under the lookup: hold it like an enter made during the outage.
          if (ctx.cluster.health.state === 'down') this.held.push({ conn, cmdNr, id, key });
          else this.fail(conn, cmdNr);
        },
      );
  }

  /** Send ENTER to `owner`, the node the directory names for `id`. */
  private ask(conn: RelayConnection, cmdNr: number, id: Buffer, key: string, owner: NodeRef | null): void {
    const { ctx } = this;
    if (ctx.closed || conn.closed) return;
    // A node whose first heartbeat has not arrived yet is taken at the directory's word; one
    // known in a later incarnation means a stale entry.
    const known = owner === null ? undefined : ctx.cluster.membership.peer(owner.nodeId);
    const peer = known !== undefined && known.epoch === owner!.epoch ? known : owner;
    if (peer === null || owner!.nodeId === ctx.cluster.self.nodeId || (known !== undefined && known.epoch > owner!.epoch)) return this.fail(conn, cmdNr);
    // Just after an outage: not before the owner node is heard back, or the ENTER may be lost.
    this.heard.whenHeard(peer.nodeId, () => this.send(conn, cmdNr, id, key, peer));
  }

  /** Send ENTER to `peer` (or hold it again if NATS went down meanwhile). */
  private send(conn: RelayConnection, cmdNr: number, id: Buffer, key: string, peer: NodeRef): void {
    const { ctx } = this;
    if (ctx.closed || conn.closed) return;
    const nats = ctx.cluster.health.state;
    if (nats === 'down') {
      this.held.push({ conn, cmdNr, id, key });
      return;
    }
    if (nats !== 'up') return this.fail(conn, cmdNr);
    const reqId = this.nextReqId++;
    this.pending.set(reqId, { conn, cmdNr, key, peer, timer: this.enterTimer(peer, reqId) });
    ctx.cluster.link.channel(peer).enter(reqId, reqId, id, conn.inNumbers.used >= conn.inNumbers.capacity);
  }

  /**
   * Bounded like a directory operation: an owner node that never answers is an error 1. A time
   * that runs out while NATS is down waits for the outage's end instead (`natsUp`, `isolated`).
   */
  private enterTimer(peer: NodeRef, reqId: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const p = this.pending.get(reqId);
      if (p !== undefined && this.ctx.cluster.health.state === 'down') p.timer = null;
      else this.onEnterErr(peer, reqId, EnterError.NoSuchJoint);
    }, this.ctx.cluster.options.directoryTimeoutMs);
    timer.unref();
    return timer;
  }

  /** Answer an enter of `conn` with error 1 (no such joint) and run what queued behind it. */
  private fail(conn: RelayConnection, cmdNr: number): void {
    if (this.ctx.closed || conn.closed) return;
    this.ctx.host.commands.reply(conn, cmdNr, ReplyStatus.Error, EnterError.NoSuchJoint);
    this.finish(conn);
  }

  /** NATS is back within the grace period: the held enters go on, and ENTERs whose time ran out get a fresh one. */
  natsUp(): void {
    this.heard.start(this.ctx.cluster.options.peerTimeoutMs);
    const held = this.held;
    this.held = [];
    for (const h of held) if (!h.conn.closed) this.locate(h.conn, h.cmdNr, h.id, h.key);
    for (const [reqId, p] of this.pending) if (p.timer === null) p.timer = this.enterTimer(p.peer, reqId);
  }

  /**
   * NATS stayed down for `natsGraceMs` (docs/cluster.md §7): every held or unanswered cross-node
   * enter answers error 1, as the cross-node joints end with reason 1. Those to owner nodes known
   * only from the directory (never heard, so no `peer-down`) end here too.
   */
  isolated(): void {
    // What waits for a node to be heard again runs now and fails (NATS is not up).
    this.heard.stop();
    const held = this.held;
    this.held = [];
    for (const h of held) this.fail(h.conn, h.cmdNr);
    for (const [reqId, p] of [...this.pending]) this.onEnterErr(p.peer, reqId, EnterError.NoSuchJoint);
  }

  // ---- owner side: ENTER from other nodes --------------------------------------------------

  /** ENTER: a user of `from` enters a joint here (joint.md §3.1 order, §6.1). */
  onEnter(from: NodeRefLike, reqId: number, userRef: number, flags: number, id: Uint8Array): void {
    const { ctx } = this;
    // A sender not heard yet is alive (it just sent this); one known in a later life is stale.
    const known = ctx.cluster.membership.peer(from.nodeId);
    if (known !== undefined && known.epoch > from.epoch) return;
    const peer: NodeRef = known !== undefined && known.epoch === from.epoch ? known : Object.freeze({ nodeId: from.nodeId, epoch: from.epoch });
    const channel = ctx.cluster.link.channel(peer);
    const state = ctx.host.state;
    const joint = state.find(id);
    if (joint === undefined) return void channel.enterErr(reqId, EnterError.NoSuchJoint);
    if (joint.userNumbers.used >= joint.userNumbers.capacity) return void channel.enterErr(reqId, EnterError.Full);
    if ((flags & ENTER_AT_MAX) !== 0) return void channel.enterErr(reqId, EnterError.Max);
    const user = new RemoteUser(peer, userRef);
    const m = state.enter(user, id);
    if (typeof m === 'number') return void channel.enterErr(reqId, -m);
    user.m = m;
    ctx.index(user);
    channel.enterOk(reqId, ctx.refFor(joint), m.userNr);
    ctx.host.commands.userConnect(m);
    ctx.scheduleFlush();
  }

  // ---- user side: the answers --------------------------------------------------------------

  /** ENTER_OK: the enter of a connection here succeeded; give it its jIn. */
  onEnterOk(from: NodeRefLike, reqId: number, jointRef: number, userNr: number): void {
    const { ctx } = this;
    const p = this.pending.get(reqId);
    if (p === undefined || p.peer.nodeId !== from.nodeId || p.peer.epoch !== from.epoch) {
      // Late (the enter timed out) or unknown: the owner node must not keep a user nobody has.
      ctx.cluster.link.channel(from as NodeRef).userGone(jointRef, userNr);
      return;
    }
    this.pending.delete(reqId);
    if (p.timer !== null) clearTimeout(p.timer);
    const { conn, peer } = p;
    const pkey = proxyKey(peer, jointRef);
    let joint = ctx.proxies.get(pkey);
    const jIn = conn.closed || userNr > 255 || joint?.users[userNr] !== undefined ? -1 : conn.inNumbers.take();
    if (jIn < 0) {
      ctx.cluster.link.channel(peer).userGone(jointRef, userNr);
      if (conn.closed) return;
      ctx.host.commands.reply(conn, p.cmdNr, ReplyStatus.Error, EnterError.Max);
      this.finish(conn);
      return;
    }
    if (joint === undefined) {
      joint = new Joint(p.key, new RemoteOwner(peer, jointRef, ctx.cluster.link.channel(peer)), 0, 256);
      ctx.proxies.set(pkey, joint);
    }
    const m = new RemoteMembership(joint, conn, userNr, jIn);
    m.userRef = reqId;
    if (Object.isFrozen(joint.users)) {
      joint.users = [];
      joint.members = [];
    }
    joint.users[userNr] = m;
    m.index = joint.members.length;
    joint.members.push(m);
    if (Object.isFrozen(conn.entered)) conn.entered = [];
    conn.entered[jIn] = m;
    ctx.byUserRef.set(reqId, m);
    ctx.pressure.userEnteredProxy(conn, joint);
    ctx.host.commands.reply(conn, p.cmdNr, ReplyStatus.Ok, jIn);
    this.finish(conn);
  }

  /** ENTER_ERR: the owner node refused the enter (joint.md §3.1 code). */
  onEnterErr(from: NodeRefLike, reqId: number, err: number): void {
    const p = this.pending.get(reqId);
    if (p === undefined || p.peer.nodeId !== from.nodeId) return;
    this.pending.delete(reqId);
    if (p.timer !== null) clearTimeout(p.timer);
    if (p.conn.closed) return;
    this.ctx.host.commands.reply(p.conn, p.cmdNr, ReplyStatus.Error, err);
    this.finish(p.conn);
  }

  /** `peer` (this incarnation or an earlier one) is gone: its pending enters answer error 1. */
  failPending(peer: NodeRef): void {
    for (const [reqId, p] of [...this.pending]) if (p.peer.nodeId === peer.nodeId && p.peer.epoch <= peer.epoch) this.onEnterErr(p.peer, reqId, EnterError.NoSuchJoint);
  }

  /** Stop the enter timers (the bridge closes). */
  close(): void {
    for (const p of this.pending.values()) if (p.timer !== null) clearTimeout(p.timer);
    this.pending.clear();
    this.held = [];
    this.heard.close();
    this.handoff?.release();
  }

  // ---- the command queue -------------------------------------------------------------------

  /** A command of `conn` waits for the cluster: later ones queue, its socket is not read. */
  private begin(conn: RelayConnection): void {
    conn.cmdQueue = [];
    setPaused(conn, PauseCause.Command, true);
  }

  /** `conn`'s waiting command was answered: run what queued behind it, in order, until the next wait. */
  private finish(conn: RelayConnection): void {
    const queue = conn.cmdQueue;
    conn.cmdQueue = null;
    if (queue !== null) {
      for (let i = 0; i < queue.length && !conn.closed; i++) {
        const c = queue[i]!;
        this.ctx.host.commands.exec(conn, c.cmd, c.cmdNr, c.payload, 0, c.payload.length);
        const next = conn.cmdQueue as RelayConnection['cmdQueue'];
        if (next !== null) {
          // The next one waits too: the rest stays queued behind it.
          for (let j = i + 1; j < queue.length; j++) next.push(queue[j]!);
          break;
        }
      }
    }
    if (conn.cmdQueue === null && !conn.closed) setPaused(conn, PauseCause.Command, false);
    this.ctx.host.forwarder.flushDirty();
  }
}
