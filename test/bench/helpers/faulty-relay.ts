/**
 * A tiny joint relay (joint.md) for the bench tests that misbehaves on purpose: raw TCP only,
 * store-and-forward (each data frame is forwarded whole, once complete), and per option it drops,
 * corrupts, reorders, duplicates or stalls data frames, or sends garbage. Create, enter, leave,
 * delete, unicast and broadcast-to-all work as on a real relay (§3-6); it enforces no limits.
 *
 * Faults count inbound data frames over the whole relay (1, 2, 3, ...): `dropEvery: 5` drops
 * frames 5, 10, 15... Every fault applies to all copies of a frame (each user of a broadcast).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, JOINT_UNIT_STRIDE, JointDirection, JointParserJs, JointUnitKind, UnitFlag } from '../../../src/core/index.js';
import {
  Command,
  CreateError,
  encodeDataFrame,
  encodeInDisconnect,
  encodeReply,
  encodeUserConnect,
  encodeUserDisconnect,
  EnterError,
  OWN_JOINT_FLAG,
  ReplyStatus,
  WireReason,
} from '../../../src/joint/protocol.js';

export interface FaultyRelayOptions {
  /** Drop every Nth data frame. */
  dropEvery?: number;
  /** Flip the last byte of every Nth data frame. */
  corruptEvery?: number;
  /** Hold every Nth data frame and forward it after the next frame from the same connection. */
  reorderEvery?: number;
  /** Forward every Nth data frame twice. */
  duplicateEvery?: number;
  /** Every Nth data frame stops all forwarding for `stallMs`: it and everything after it waits. */
  stallEvery?: number;
  /** Length of a stall (ms), default 200. */
  stallMs?: number;
  /** After this many data frames, send the receiver of the next one a `01` byte (a protocol error toward a client). */
  garbageAfter?: number;
  /** After this many data frames, stop reading every connection (their senders' buffers fill). */
  stopReadingAfter?: number;
  /** Never read an owner again once its joint is created (its echoes pile up at the owner). */
  stopReadingOwners?: boolean;
  /** Answer every create with this error code (joint.md §3.1) instead of OK. */
  createError?: number;
}

interface Joint {
  readonly id: string;
  readonly owner: Conn;
  readonly jOwn: number;
  /** userNr → the user. */
  readonly users: Map<number, { conn: Conn; jIn: number }>;
}

interface Conn {
  readonly socket: Socket;
  readonly parser: JointParserJs;
  readonly own: Map<number, Joint>;
  /** jIn → (joint, userNr). */
  readonly entered: Map<number, { joint: Joint; userNr: number }>;
  /** Pieces of the data frame being received, and its route. */
  pieces: Buffer[];
  /** A frame held back by `reorderEvery`, sent after this connection's next frame. */
  held: Delivery[] | null;
}

/** One forward: bytes for one connection. */
interface Delivery {
  readonly to: Conn;
  readonly bytes: Buffer;
}

/** What the faults did, for assertions. */
export interface FaultCounts {
  frames: number;
  dropped: number;
  corrupted: number;
  reordered: number;
  duplicated: number;
  stalled: number;
}

/** Lowest integer >= 0 that `used` does not hold (joint.md §1: numbers are lowest-free). */
function lowestFree(used: Iterable<number>): number {
  const taken = new Set(used);
  let n = 0;
  while (taken.has(n)) n++;
  return n;
}

export class FaultyRelay {
  readonly faults: FaultCounts = { frames: 0, dropped: 0, corrupted: 0, reordered: 0, duplicated: 0, stalled: 0 };
  private readonly conns = new Set<Conn>();
  private readonly joints = new Map<string, Joint>();
  private stallQueue: Delivery[] | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private garbageSent = false;
  private resumed = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: FaultyRelayOptions,
  ) {}

  /** Listen on 127.0.0.1, an OS-chosen port. */
  static listen(options: FaultyRelayOptions = {}): Promise<FaultyRelay> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        const relay = new FaultyRelay(server, port, options);
        server.on('connection', (socket) => relay.accept(socket));
        resolve(relay);
      });
    });
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Read every connection again after `stopReadingAfter` (for good). */
  resumeReading(): void {
    this.resumed = true;
    for (const c of this.conns) c.socket.resume();
  }

  /** Destroy every connection and stop listening. */
  async close(): Promise<void> {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = { socket, parser: new JointParserJs({ direction: JointDirection.ToRelay }), own: new Map(), entered: new Map(), pieces: [], held: null };
    this.conns.add(conn);
    socket.on('data', (data: Buffer) => this.read(conn, data));
    socket.on('error', () => {});
    socket.on('close', () => this.gone(conn));
  }

  private read(conn: Conn, data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      const n = conn.parser.feed(data, offset, data.length - offset);
      const u = conn.parser.units;
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        const flags = u[i + 1]!;
        const src = flags & UnitFlag.InCarry ? conn.parser.carry() : data;
        const bytes = Buffer.from(src.subarray(u[i + 4]!, u[i + 4]! + u[i + 5]!));
        if (u[i] === JointUnitKind.Command) this.command(conn, u[i + 2]!, u[i + 3]!, bytes);
        else {
          conn.pieces.push(bytes);
          if (flags & UnitFlag.FrameEnd) {
            const frame = Buffer.concat(conn.pieces);
            conn.pieces = [];
            this.frame(conn, u[i] === JointUnitKind.Broadcast, u[i + 2]!, u[i + 3]!, frame);
          }
        }
      }
      if (conn.parser.error !== ErrorCode.Ok) {
        conn.socket.destroy();
        return;
      }
      if (conn.parser.consumed === 0) return;
      offset += conn.parser.consumed;
    }
  }

  private command(conn: Conn, cmd: number, cmdNr: number, payload: Buffer): void {
    const id = payload.toString('latin1');
    if (cmd === Command.Create) {
      if (this.options.createError !== undefined) return void conn.socket.write(encodeReply(cmdNr, ReplyStatus.Error, this.options.createError));
      if (this.joints.has(id)) return void conn.socket.write(encodeReply(cmdNr, ReplyStatus.Error, CreateError.IdTaken));
      const jOwn = lowestFree(conn.own.keys());
      const joint: Joint = { id, owner: conn, jOwn, users: new Map() };
      this.joints.set(id, joint);
      conn.own.set(jOwn, joint);
      conn.socket.write(encodeReply(cmdNr, ReplyStatus.Ok, jOwn));
      if (this.options.stopReadingOwners) conn.socket.pause();
    } else if (cmd === Command.Enter) {
      const joint = this.joints.get(id);
      if (joint === undefined) return void conn.socket.write(encodeReply(cmdNr, ReplyStatus.Error, EnterError.NoSuchJoint));
      const userNr = lowestFree(joint.users.keys());
      const jIn = lowestFree(conn.entered.keys());
      joint.users.set(userNr, { conn, jIn });
      conn.entered.set(jIn, { joint, userNr });
      conn.socket.write(encodeReply(cmdNr, ReplyStatus.Ok, jIn));
      joint.owner.socket.write(encodeUserConnect(joint.jOwn, userNr));
    } else if (cmd === Command.Leave) {
      const m = conn.entered.get(payload[0]!);
      if (m === undefined) return;
      conn.entered.delete(payload[0]!);
      m.joint.users.delete(m.userNr);
      m.joint.owner.socket.write(encodeUserDisconnect(m.joint.jOwn, m.userNr, WireReason.Explicit));
    } else if (cmd === Command.Delete) {
      const joint = conn.own.get(payload[0]!);
      if (joint !== undefined) this.deleteJoint(joint, WireReason.Explicit);
    } else conn.socket.destroy();
  }

  private deleteJoint(joint: Joint, reason: number): void {
    for (const { conn, jIn } of joint.users.values()) {
      conn.entered.delete(jIn);
      if (!conn.socket.destroyed) conn.socket.write(encodeInDisconnect(jIn, reason));
    }
    joint.owner.own.delete(joint.jOwn);
    this.joints.delete(joint.id);
  }

  private gone(conn: Conn): void {
    this.conns.delete(conn);
    for (const joint of [...conn.own.values()]) this.deleteJoint(joint, WireReason.Closed);
    for (const { joint, userNr } of conn.entered.values()) {
      joint.users.delete(userNr);
      if (!joint.owner.socket.destroyed) joint.owner.socket.write(encodeUserDisconnect(joint.jOwn, userNr, WireReason.Closed));
    }
    conn.entered.clear();
  }

  /** A whole data frame from `conn`: route it (joint.md §2.3, §5), then apply the faults. */
  private frame(conn: Conn, broadcast: boolean, route: number, userNr: number, data: Buffer): void {
    const out: Delivery[] = [];
    if (route < OWN_JOINT_FLAG) {
      const m = conn.entered.get(route);
      if (m !== undefined) out.push({ to: m.joint.owner, bytes: Buffer.from(encodeDataFrame([m.joint.jOwn + OWN_JOINT_FLAG, m.userNr], data)) });
    } else {
      const joint = conn.own.get(route - OWN_JOINT_FLAG);
      if (joint !== undefined) {
        for (const [nr, user] of joint.users) {
          if (broadcast ? userNr !== nr : userNr === nr) out.push({ to: user.conn, bytes: Buffer.from(encodeDataFrame([user.jIn], data)) });
        }
      }
    }
    const o = this.options;
    const n = ++this.faults.frames;
    if (o.stopReadingAfter !== undefined && n >= o.stopReadingAfter && !this.resumed) for (const c of this.conns) c.socket.pause();
    const every = (k: number | undefined) => k !== undefined && k > 0 && n % k === 0;
    if (o.garbageAfter !== undefined && n > o.garbageAfter && !this.garbageSent && out.length > 0) {
      this.garbageSent = true;
      out[0]!.to.socket.write(Buffer.of(0x01));
      return;
    }
    if (every(o.dropEvery)) {
      this.faults.dropped++;
      return;
    }
    if (every(o.corruptEvery)) {
      this.faults.corrupted++;
      for (const d of out) d.bytes[d.bytes.length - 1] ^= 0xff;
    }
    if (every(o.duplicateEvery)) {
      this.faults.duplicated++;
      out.push(...out.map((d) => ({ to: d.to, bytes: Buffer.from(d.bytes) })));
    }
    if (every(o.stallEvery)) {
      this.faults.stalled++;
      this.stall(o.stallMs ?? 200);
    }
    if (every(o.reorderEvery) && conn.held === null) {
      this.faults.reordered++;
      conn.held = out;
      return;
    }
    this.emit(out);
    if (conn.held !== null) {
      const held = conn.held;
      conn.held = null;
      this.emit(held);
    }
  }

  /** Hold every forward until `ms` from now (a stall already running is extended). */
  private stall(ms: number): void {
    this.stallQueue ??= [];
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      const queue = this.stallQueue ?? [];
      this.stallQueue = null;
      this.stallTimer = null;
      this.emit(queue);
    }, ms);
  }

  private emit(out: Delivery[]): void {
    if (this.stallQueue !== null) {
      this.stallQueue.push(...out);
      return;
    }
    for (const d of out) if (!d.to.socket.destroyed) d.to.socket.write(d.bytes);
  }
}
