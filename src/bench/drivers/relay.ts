/**
 * The relay driver of `gamewire bench relay` (docs/bench.md): loads any relay that speaks the
 * joint protocol (joint.md), gamewire's `Relay` or the original peote-server, over raw TCP or
 * WebSocket (§9).
 *
 * Per joint one owner connection creates a joint with an id unique to the run and `users` user
 * connections enter it. Every payload travels as one chunk of the chunk layer (§10): a relay may
 * re-fragment frames (§8; the original and ours both stream), so frame boundaries say nothing at
 * the receiver, and the chunk prefix is what gives the payload back whole. Modes:
 *
 * - `users-to-owner`: each user sends to its owner; delivered at the owner.
 * - `broadcast`: the owner sends with the broadcast command (`01 01`, §5); delivered at each user.
 * - `echo`: each user sends to the owner, whose side of the driver sends every payload straight
 *   back to that user; delivered at the user (latency is the round trip).
 *
 * Hot path: frames are written into the sending connection's slab (no allocation per frame) and
 * every connection written to in a tick is flushed once, in a microtask, as one socket write.
 */
import { randomBytes } from 'node:crypto';
import {
  CHUNK_UNIT_STRIDE,
  createChunkAssembler,
  createJointParser,
  ErrorCode,
  errorReason,
  GamewireErrorCode,
  GamewireRangeError,
  JOINT_UNIT_STRIDE,
  JointDirection,
  JointUnitKind,
  UnitFlag,
  type ChunkAssembler,
  type JointParser,
} from '../../core/index.js';
import {
  CreateError,
  encodeCreate,
  encodeDelete,
  encodeEnter,
  encodeLeave,
  EnterError,
  OWN_JOINT_FLAG,
  ReplyStatus,
  ServerEvent,
  WireReason,
} from '../../joint/protocol.js';
import type { BenchDriver, BenchMode, DriverContext, DriverFactory, ResolvedBenchOptions } from '../types.js';
import { CHUNK_PREFIX_BYTES, endsOnChunk, wholeChunkPrefix, writeChunk } from './relay-chunk.js';
import { RelayLink, targetName, TickFlush } from './relay-link.js';
import { RELAY_CLOSE_TIMEOUT_MS, RELAY_CONNECTS_IN_FLIGHT, RELAY_MAX_BACKLOG_BYTES, RELAY_MAX_PAYLOAD_BYTES, RELAY_MAX_USERS, RELAY_SEND_HIGH_WATER_BYTES, RELAY_UNITS_PER_FEED } from './relay-limits.js';

/** The modes the relay driver runs. */
export const RELAY_MODES: readonly BenchMode[] = ['users-to-owner', 'broadcast', 'echo'];

// The only request a connection has in flight (one create or one enter), so cmdNr is always 1.
const REQUEST_NR = 1;

const KIND_CONTROL = JointUnitKind.Control;
const KIND_DATA = JointUnitKind.Data;
const FLAG_IN_CARRY = UnitFlag.InCarry;

const enum Role {
  Owner,
  User,
}

const enum Phase {
  Idle,
  Opening,
  Open,
  Closing,
}

/** One joint of the run: its id, its owner and its users. */
interface JointRun {
  /** Global joint index (0..joints-1 across workers). */
  readonly index: number;
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly owner: Peer;
  readonly users: Peer[];
}

/** A pending create or enter. */
interface Request {
  readonly what: 'create' | 'enter';
  readonly resolve: (value: number) => void;
  readonly reject: (error: Error) => void;
}

/** One connection and its side of the joint protocol. */
class Peer {
  readonly link = new RelayLink();
  /** jOwn (owner) or jIn (user) once the relay assigned it, else -1. */
  jointNr = -1;
  /** Bytes received in all, to tell "closed without a word" (a connection cap) from a failure. */
  bytesIn = 0;
  /** Set once this connection reported a failure (its close is not reported again). */
  failed = false;
  /** Set once the connection is established (a failed connect is reported by connect()). */
  connected = false;
  request: Request | null = null;
  readonly parser: JointParser;
  readonly assembler: ChunkAssembler;
  /** 1 where the assembler may hold a partial chunk of that stream (no whole-chunk shortcut then). */
  readonly midChunk: Uint8Array;

  /**
   * @param role owner or user.
   * @param joint the joint's global index.
   * @param user the user's index in its joint, -1 for the owner.
   * @param receiver what `deliver` reports for payloads arriving here.
   */
  constructor(
    readonly role: Role,
    readonly joint: number,
    readonly user: number,
    readonly receiver: number,
  ) {
    this.parser = createJointParser({ direction: JointDirection.ToClient, maxUnits: RELAY_UNITS_PER_FEED });
    // An owner reassembles one chunk stream per userNr (joint.md §10.3), a user one.
    const streams = role === Role.Owner ? RELAY_MAX_USERS : 1;
    this.assembler = createChunkAssembler({ maxChunkBytes: RELAY_MAX_PAYLOAD_BYTES, prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: streams, maxUnits: RELAY_UNITS_PER_FEED });
    this.midChunk = new Uint8Array(streams);
  }

  /** "the owner of joint 3" / "user 2 of joint 3", for messages. */
  describe(): string {
    return this.role === Role.Owner ? `the owner of joint ${this.joint}` : `user ${this.user} of joint ${this.joint}`;
  }
}

/** Hooks for tests; not part of the bench options. */
export interface RelayDriverHooks {
  /** The id of joint `index` (default `gwbench-<random>-<index>`). */
  jointId?: (index: number) => string;
}

/**
 * Check the options the relay driver depends on.
 * @throws {RangeError} (GamewireRangeError, `GW_ERR_BAD_OPTION`) naming the option: a mode the
 *   driver does not run, `users` outside 1..256, `joints` below 1, or `size` outside 1..32768.
 */
export function checkRelayOptions(o: ResolvedBenchOptions): void {
  if (!RELAY_MODES.includes(o.mode)) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `mode must be ${RELAY_MODES.join(', ')} for a relay bench, got "${o.mode}"`);
  }
  if (!Number.isInteger(o.users) || o.users < 1 || o.users > RELAY_MAX_USERS) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `users must be an integer in 1..${RELAY_MAX_USERS} for a relay bench (users per joint; joint.md §7), got ${o.users}`);
  }
  if (!Number.isInteger(o.joints) || o.joints < 1) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `joints must be a positive integer, got ${o.joints}`);
  }
  if (!Number.isInteger(o.size.min) || o.size.min < 1 || !Number.isInteger(o.size.max) || o.size.max > RELAY_MAX_PAYLOAD_BYTES || o.size.max < o.size.min) {
    throw new GamewireRangeError(
      GamewireErrorCode.BadOption,
      `size ${o.size.min === o.size.max ? o.size.max : `${o.size.min}..${o.size.max}`} is outside 1..${RELAY_MAX_PAYLOAD_BYTES}: a relay bench sends each payload as one joint chunk, at most ${RELAY_MAX_PAYLOAD_BYTES} bytes (RELAY_MAX_PAYLOAD_BYTES, joint.md §10.2)`,
    );
  }
}

/**
 * The relay driver (see the file comment). Made by `createDriver`; the engine sets `deliver` and
 * `fail`, then calls `open`, `send` and `close`.
 */
export class RelayDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered = true;
  /** send() copies the payload into the connection's slab before it returns. */
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  deliverAt: (bytes: Uint8Array, offset: number, length: number, receiver: number) => void = (bytes, offset, length, receiver) =>
    this.deliver(bytes.subarray(offset, offset + length), receiver);
  fail: (error: Error) => void = () => {};

  private readonly options: ResolvedBenchOptions;
  private readonly joints: JointRun[] = [];
  /** Every connection: per joint the owner, then its users. */
  private readonly peers: Peer[] = [];
  /** The connection each sender sends on. */
  private readonly senderPeers: Peer[] = [];
  private readonly broadcast: boolean;
  private readonly echo: boolean;
  private readonly where: string;
  private phase = Phase.Idle;
  /** Connects under way, and those waiting for a slot (RELAY_CONNECTS_IN_FLIGHT). */
  private connecting = 0;
  private readonly connectQueue: (() => void)[] = [];
  private abortOpen: ((error: Error) => void) | null = null;
  private closing: Promise<void> | null = null;
  /** Connections written to in this tick, each pushed once at its end. */
  private readonly flush = new TickFlush();

  /**
   * @param context the engine's context; this thread loads joints j with `j % workers === worker`.
   * @param hooks test hooks.
   * @throws {RangeError} like `checkRelayOptions`.
   */
  constructor(context: DriverContext, hooks: RelayDriverHooks = {}) {
    const o = context.options;
    checkRelayOptions(o);
    this.options = o;
    this.broadcast = o.mode === 'broadcast';
    this.echo = o.mode === 'echo';
    this.where = targetName(o.host, o.port, o.ws);
    const run = randomBytes(6).toString('hex');
    const jointId = hooks.jointId ?? ((j: number) => `gwbench-${run}-${j}`);
    const workers = context.workers;
    for (let j = 0; j < o.joints; j++) {
      if (workers > 1 && j % workers !== context.worker) continue;
      const id = jointId(j);
      const idBytes = Buffer.from(id, 'utf8');
      // Receivers: the owner is `j`; user u of joint j is `j * users + u` (unique across workers).
      const owner = new Peer(Role.Owner, j, -1, j);
      const users: Peer[] = [];
      for (let u = 0; u < o.users; u++) users.push(new Peer(Role.User, j, u, j * o.users + u));
      this.joints.push({ index: j, id, idBytes, owner, users });
      this.peers.push(owner, ...users);
      if (this.broadcast) this.senderPeers.push(owner);
      else this.senderPeers.push(...users);
    }
    this.senders = this.senderPeers.length;
  }

  /** Receivers per frame: the joint's users for broadcast, else 1. */
  fanout(_sender: number): number {
    return this.broadcast ? this.options.users : 1;
  }

  /**
   * Connect every owner and user, create the joints and enter them.
   * Rejects with a one-line reason when the relay refuses, does not answer within
   * `connectTimeoutMs`, takes the id, or closes a connection (a per-IP cap); every connection
   * made is closed first.
   */
  async open(): Promise<void> {
    if (this.phase !== Phase.Idle) throw new Error('open() may be called once');
    this.phase = Phase.Opening;
    const ms = this.options.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const aborted = new Promise<never>((_, reject) => {
      this.abortOpen = reject;
      timer = setTimeout(() => {
        const ready = this.peers.filter((p) => p.jointNr >= 0).length;
        reject(new Error(`relay at ${this.where} did not answer within ${ms} ms (connectTimeoutMs): ${ready} of ${this.peers.length} connections ready`));
      }, ms);
    });
    try {
      await Promise.race([Promise.all(this.joints.map((j) => this.openJoint(j))), aborted]);
    } catch (err) {
      this.abortOpen = null;
      clearTimeout(timer);
      for (const p of this.peers) p.link.destroy();
      await Promise.all(this.peers.map((p) => p.link.whenClosed));
      if (this.phase === Phase.Opening) this.phase = Phase.Closing;
      throw err;
    }
    this.abortOpen = null;
    clearTimeout(timer);
    if (this.phase === Phase.Opening) this.phase = Phase.Open;
  }

  /**
   * Send one payload as a chunk from `sender`'s connection.
   * @param sender 0..senders-1.
   * @param payload 1..32768 bytes; copied before the call returns.
   * @returns false, sending nothing, while that connection has more than
   *   `RELAY_SEND_HIGH_WATER_BYTES` unsent; true otherwise, also when its connection is gone (the
   *   frame is then lost, as it would be on the wire: a lost connection was already reported).
   */
  send(sender: number, payload: Uint8Array): boolean {
    if (this.phase !== Phase.Open) return false;
    const peer = this.senderPeers[sender]!;
    if (peer.failed) return true;
    if (peer.link.buffered > RELAY_SEND_HIGH_WATER_BYTES) return false;
    this.sendChunk(peer, payload, 0, payload.length, -1);
    return true;
  }

  /** Leave and delete the joints, end every connection, and resolve when all are closed. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasOpening = this.phase === Phase.Opening;
    this.phase = Phase.Closing;
    if (wasOpening) this.abortOpen?.(new Error('the bench was closed while connecting'));
    // Users leave first so their owners see an explicit leave, then the owners delete (joint.md §6.2).
    for (const j of this.joints) for (const u of j.users) this.endPeer(u, encodeLeave);
    for (const j of this.joints) this.endPeer(j.owner, encodeDelete);
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(this.peers.map((p) => p.link.whenClosed));
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), RELAY_CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (timedOut) {
      for (const p of this.peers) p.link.destroy();
      await all;
    }
  }

  private endPeer(peer: Peer, goodbye: (jointNr: number) => Uint8Array): void {
    if (peer.link.closed) return;
    if (peer.jointNr >= 0 && !peer.failed) peer.link.write(goodbye(peer.jointNr));
    peer.link.end();
  }

  // ---- opening -----------------------------------------------------------------------------

  private async openJoint(joint: JointRun): Promise<void> {
    const owner = joint.owner;
    await this.connect(owner);
    owner.jointNr = await this.ask(owner, encodeCreate(REQUEST_NR, joint.idBytes), 'create', joint);
    await Promise.all(
      joint.users.map(async (user) => {
        await this.connect(user);
        user.jointNr = await this.ask(user, encodeEnter(REQUEST_NR, joint.idBytes), 'enter', joint);
      }),
    );
  }

  private async connect(peer: Peer): Promise<void> {
    const link = peer.link;
    link.onBytes = (data) => this.received(peer, data);
    link.onClose = (error) => this.closed(peer, error);
    if (this.connecting >= RELAY_CONNECTS_IN_FLIGHT) await new Promise<void>((resolve) => this.connectQueue.push(resolve));
    this.connecting++;
    try {
      // A joint still connecting when open() failed must not open new sockets: the link was
      // destroyed unstarted, so connect() rejects.
      await link.connect(this.options.host, this.options.port, this.options.ws);
    } finally {
      this.connecting--;
      this.connectQueue.shift()?.();
    }
    peer.connected = true;
  }

  /** Send a create or enter and wait for its reply: the assigned number, or a clear refusal. */
  private ask(peer: Peer, command: Uint8Array, what: Request['what'], joint: JointRun): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (peer.link.closed || peer.failed) {
        reject(new Error(`the relay at ${this.where} closed ${peer.describe()} before it could ${what} joint "${joint.id}"`));
        return;
      }
      peer.request = { what, resolve, reject };
      peer.link.write(command);
      peer.link.push();
    });
  }

  // ---- inbound -----------------------------------------------------------------------------

  private received(peer: Peer, input: Buffer): void {
    if (peer.failed) return;
    peer.bytesIn += input.length;
    const parser = peer.parser;
    let offset = 0;
    let left = input.length;
    for (;;) {
      const count = parser.feed(input, offset, left);
      if (count > 0) this.units(peer, input, count);
      if (peer.failed) return;
      if (parser.error !== ErrorCode.Ok) {
        this.peerFailed(peer, `protocol error from the relay: ${errorReason(parser.error)}`);
        return;
      }
      const consumed = parser.consumed;
      offset += consumed;
      left -= consumed;
      if (left <= 0 || consumed === 0) return;
    }
  }

  private units(peer: Peer, input: Buffer, count: number): void {
    const parser = peer.parser;
    const units = parser.units;
    const stop = count * JOINT_UNIT_STRIDE;
    for (let p = 0; p < stop && !peer.failed; p += JOINT_UNIT_STRIDE) {
      const kind = units[p]!;
      const offset = units[p + 4]!;
      const length = units[p + 5]!;
      if (kind === KIND_DATA) {
        const route = units[p + 2]!;
        if (peer.role === Role.Owner) {
          // joint.md §2.3: to the owner, `jOwn + 128, userNr`; the userNr names the chunk stream.
          if (route !== peer.jointNr + OWN_JOINT_FLAG || this.broadcast) this.unexpectedData(peer);
          else this.chunks(peer, units[p + 3]!, input, offset, length);
        } else if (route !== peer.jointNr || !(this.broadcast || this.echo)) this.unexpectedData(peer);
        else this.chunks(peer, 0, input, offset, length);
      } else if (kind === KIND_CONTROL) {
        this.control(peer, (units[p + 1]! & FLAG_IN_CARRY) !== 0 ? parser.carry() : input, offset, length);
      }
    }
  }

  private unexpectedData(peer: Peer): void {
    this.peerFailed(peer, `the relay sent ${peer.role === Role.Owner ? 'an owner' : 'a user'} data it has no reason to get in ${this.options.mode} mode (a wrong route)`);
  }

  /** Stream bytes of one chunk stream: every whole chunk is a payload. */
  private chunks(peer: Peer, stream: number, input: Uint8Array, offset: number, length: number): void {
    if (peer.midChunk[stream] === 0) {
      // One whole chunk, the usual case: no call into the assembler (relay-chunk.ts).
      const prefix = wholeChunkPrefix(input, offset, length);
      if (prefix > 0) {
        this.chunk(peer, stream, input, offset + prefix, length - prefix);
        return;
      }
    }
    const assembler = peer.assembler;
    for (;;) {
      const count = assembler.feed(stream, input, offset, length);
      const units = assembler.units;
      peer.midChunk[stream] = endsOnChunk(units, count, offset + length) ? 0 : 1;
      for (let c = 0; c < count * CHUNK_UNIT_STRIDE && !peer.failed; c += CHUNK_UNIT_STRIDE) {
        const src = (units[c]! & FLAG_IN_CARRY) !== 0 ? assembler.carry() : input;
        this.chunk(peer, stream, src, units[c + 1]!, units[c + 2]!);
      }
      if (peer.failed) return;
      if (assembler.error !== ErrorCode.Ok) {
        this.peerFailed(peer, `bad chunk from the relay: ${errorReason(assembler.error)}`);
        return;
      }
      const consumed = assembler.consumed;
      offset += consumed;
      length -= consumed;
      if (length <= 0 || consumed === 0) return;
    }
  }

  /** One whole chunk `src[at, at + bytes)` of `stream`: a delivery, or (the echo owner) sent back. */
  private chunk(peer: Peer, stream: number, src: Uint8Array, at: number, bytes: number): void {
    if (peer.role === Role.Owner && this.echo) {
      // The echo is not refused like a send: bound it, or a relay that stops reading the owner
      // while its users send would grow this process without limit.
      if (peer.link.buffered > RELAY_MAX_BACKLOG_BYTES) {
        this.peerFailed(peer, `the relay stopped reading the owner: over ${RELAY_MAX_BACKLOG_BYTES} bytes of echoes unsent`);
        return;
      }
      this.sendChunk(peer, src, at, bytes, stream);
    } else this.deliverAt(src, at, bytes, peer.receiver);
  }

  /** A control message `00 len payload` (joint.md §4): a reply or a server event. */
  private control(peer: Peer, src: Uint8Array, offset: number, length: number): void {
    // The shortest message is two bytes (`cmdNr` and a status or event).
    if (length < 2) return this.peerFailed(peer, `protocol error from the relay: a control message of ${length} bytes`);
    const cmdNr = src[offset]!;
    if (cmdNr !== 0) {
      if (length < 3) return this.peerFailed(peer, `protocol error from the relay: a reply of ${length} bytes`);
      const request = peer.request;
      // joint.md §4.2: a reply without a pending request is dropped.
      if (request === null || cmdNr !== REQUEST_NR) return;
      peer.request = null;
      const status = src[offset + 1]!;
      const value = src[offset + 2]!;
      if (status === ReplyStatus.Ok) request.resolve(value);
      else request.reject(new Error(this.refusal(peer, request.what, value)));
      return;
    }
    const event = src[offset + 1]!;
    switch (event) {
      case ServerEvent.Keepalive:
      case ServerEvent.UserConnect:
        return;
      case ServerEvent.UserDisconnect: {
        if (length < 5) break;
        const userNr = src[offset + 3]!;
        peer.assembler.dropStream(userNr);
        peer.midChunk[userNr] = 0;
        if (this.phase === Phase.Closing) return;
        const how = src[offset + 4] === WireReason.Explicit ? 'left' : 'lost its connection';
        return this.lostDuringRun(peer, `a user ${how} (userDisconnect)`);
      }
      case ServerEvent.InDisconnect: {
        if (length < 4) break;
        if (this.phase === Phase.Closing) return;
        const how = src[offset + 3] === WireReason.Explicit ? 'the owner deleted it' : "the owner's connection closed";
        return this.lostDuringRun(peer, `joint gone: ${how} (inDisconnect)`);
      }
    }
    this.peerFailed(peer, `protocol error from the relay: unknown control message ${Buffer.from(src.subarray(offset, offset + Math.min(length, 8))).toString('hex')}`);
  }

  /** The message for a create/enter error reply (joint.md §3.1). */
  private refusal(peer: Peer, what: Request['what'], err: number): string {
    const joint = this.joints.find((j) => j.index === peer.joint)!;
    const id = `"${joint.id}"`;
    if (what === 'create') {
      if (err === CreateError.IdTaken) return `joint id ${id} is taken on the relay at ${this.where} (create error 2): another client or bench run is using it`;
      if (err === CreateError.Max) return `the relay at ${this.where} refused to create joint ${id}: too many joints for this connection, its IP or the relay (create error 1)`;
      if (err === CreateError.IdTooLong) return `the relay at ${this.where} refused joint id ${id} as too long (create error 3)`;
      return `the relay at ${this.where} refused to create joint ${id} (create error ${err})`;
    }
    if (err === EnterError.Full) return `joint ${id} is full (enter error 4): the relay at ${this.where} allows fewer than ${this.options.users} users per joint`;
    if (err === EnterError.NoSuchJoint) return `joint ${id} is gone from the relay at ${this.where} (enter error 1)`;
    if (err === EnterError.Max) return `the relay at ${this.where} refused ${peer.describe()}: too many joints for one connection (enter error 5)`;
    return `the relay at ${this.where} refused ${peer.describe()} entry to joint ${id} (enter error ${err})`;
  }

  /** A joint broke: during open() that fails open(), afterwards the run is told. */
  private lostDuringRun(peer: Peer, reason: string): void {
    if (this.phase === Phase.Opening) {
      this.abortOpen?.(new Error(`${reason} for ${peer.describe()} while connecting to the relay at ${this.where}`));
      return;
    }
    if (this.phase === Phase.Open) this.fail(new Error(reason));
  }

  /** A connection broke the protocol or was lost: report once and close it. */
  private peerFailed(peer: Peer, reason: string): void {
    if (peer.failed) return;
    peer.failed = true;
    const request = peer.request;
    peer.request = null;
    if (request !== null) request.reject(new Error(`${reason} (${peer.describe()}, relay at ${this.where})`));
    else if (this.phase === Phase.Opening) this.abortOpen?.(new Error(`${reason} (${peer.describe()}, relay at ${this.where})`));
    else if (this.phase === Phase.Open) this.fail(new Error(reason));
    peer.link.destroy();
  }

  private closed(peer: Peer, error: Error | null): void {
    if (!peer.connected || peer.failed || this.phase === Phase.Closing || this.phase === Phase.Idle) return;
    if (peer.request !== null && peer.bytesIn === 0) {
      // joint.md §7: a relay past its per-IP cap accepts and closes at once, without a byte.
      return this.peerFailed(
        peer,
        `the relay closed the connection of ${peer.describe()} before answering its ${peer.request.what}` +
          ` (a connection cap? peote-server allows 23 connections per IP by default, gamewire relay --max-connections-per-ip)`,
      );
    }
    this.peerFailed(peer, error === null ? 'connection closed by the relay' : `connection lost: ${error.message}`);
  }

  // ---- outbound ----------------------------------------------------------------------------

  /** Write `src[offset, offset + length)` from `peer` as one chunk (relay-chunk.ts), sent at the end of the tick. */
  private sendChunk(peer: Peer, src: Uint8Array, offset: number, length: number, userNr: number): void {
    writeChunk(peer.link, peer.role === Role.User, peer.jointNr, userNr, src, offset, length);
    this.flush.mark(peer.link);
  }
}

/**
 * The registry's entry point: a relay driver for this thread's share of the joints.
 * @throws {RangeError} like `checkRelayOptions`.
 */
export const createDriver: DriverFactory = (context) => new RelayDriver(context);
