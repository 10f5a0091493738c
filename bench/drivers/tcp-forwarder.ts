/**
 * The BenchDriver of the relay suite's baselines (bench/relay.ts): plain Node TCP forwarders that
 * parse nothing, so they cannot answer a joint create or enter and the relay driver cannot load
 * them. This driver sends and reads the same bytes the relay driver does where the forwarder lets
 * it: every payload is one chunk (joint.md §10) in joint frames, written into a slab per
 * connection and pushed once per tick by the relay driver's own code (relay-chunk.ts writeChunk,
 * relay-link.ts RelayLink and TickFlush), and every receiver parses frames with a JointParser
 * and payloads with a ChunkAssembler. The generator thus does the relay driver's
 * per-frame work against both targets; what differs is what the server does.
 *
 * Joints: the forwarder child listens on one port per joint (`ports[j]`), each port a forwarder
 * of its own; with `workers` the joints are spread over the threads as the relay driver spreads
 * them (joint j on worker j % workers), so the load of both targets is spread alike.
 *
 * Topologies (the forwarder child numbers each port's connections in accept order; one joint's
 * connects are sequential, from one thread):
 * - `funnel` (users-to-owner): connection 0 is the owner, every later one a user. Each user sends
 *   `size 00 chunk` frames; the funnel forwards each read to the owner behind an owner frame
 *   header `size, 0x80, userNr` (joint.md §2.3), untouched. The owner parses the outer frames,
 *   then each user's forwarded frames with a parser of that user's own (any owner of such a
 *   funnel must), then the chunks.
 * - `fanout` (broadcast): connection 0 is the owner, which sends `size 00 chunk` frames, copied
 *   to every user as they are: what a relay sends a user (joint.md §2.3).
 * - `pair` (users-to-owner over separate pipes): connections 2k and 2k+1 are piped to each other;
 *   k's user side sends, its owner side receives.
 */
import { Buffer } from 'node:buffer';
import {
  CHUNK_UNIT_STRIDE,
  createChunkAssembler,
  createJointParser,
  ErrorCode,
  errorReason,
  JOINT_UNIT_STRIDE,
  JointDirection,
  JointUnitKind,
  UnitFlag,
  type ChunkAssembler,
  type JointParser,
} from '../../src/core/index.js';
import { MAX_FRAME_DATA_BYTES } from '../../src/joint/limits.js';
import { OWN_JOINT_FLAG } from '../../src/joint/protocol.js';
import { CHUNK_PREFIX_BYTES, endsOnChunk, wholeChunkPrefix, writeChunk } from '../../src/bench/drivers/relay-chunk.js';
import { RelayLink, TickFlush } from '../../src/bench/drivers/relay-link.js';
import { RELAY_SEND_HIGH_WATER_BYTES, RELAY_UNITS_PER_FEED } from '../../src/bench/drivers/relay-limits.js';
import type { BenchDriver, DriverContext, DriverFactory } from '../../src/bench/index.js';

/** What the forwarder child does with its connections (see the file comment). */
export type ForwarderTopology = 'funnel' | 'fanout' | 'pair';

/** Largest payload: one chunk in one frame (the suite sends 64 B and 1 KiB). */
const MAX_PAYLOAD_BYTES = MAX_FRAME_DATA_BYTES - CHUNK_PREFIX_BYTES;
/** The forwarder numbers connections as it accepts them: give it this long to accept the first (ms). */
const ACCEPT_SETTLE_MS = 50;

/** One joint's connections: its owner side (or pair receivers) and its senders. */
interface Group {
  readonly port: number;
  /** Receiver numbers of this joint start here (joint j: j * (users + 1)). */
  readonly firstReceiver: number;
}

/** One connection and its receive side. */
class Conn {
  readonly link = new RelayLink();
  readonly parser: JointParser = createJointParser({ direction: JointDirection.ToClient, maxUnits: RELAY_UNITS_PER_FEED });
  /** funnel owner: one parser per user's forwarded stream. */
  readonly inner: JointParser[] = [];
  readonly assembler: ChunkAssembler;
  /** 1 where the assembler may hold a partial chunk of that stream (as the relay driver's Peer). */
  readonly midChunk: Uint8Array;

  constructor(
    readonly receiver: number,
    streams: number,
  ) {
    this.assembler = createChunkAssembler({ prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: streams, maxUnits: RELAY_UNITS_PER_FEED });
    this.midChunk = new Uint8Array(streams);
  }
}

class ForwarderDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered = true;
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  deliverAt: (bytes: Uint8Array, offset: number, length: number, receiver: number) => void = (bytes, offset, length, receiver) =>
    this.deliver(bytes.subarray(offset, offset + length), receiver);
  fail: (error: Error) => void = () => {};

  private readonly users: number;
  private readonly conns: Conn[] = [];
  private readonly senderConns: Conn[] = [];
  private readonly flush = new TickFlush();
  private open_ = false;
  private closing = false;

  private readonly groups: Group[] = [];

  /**
   * @param ports the forwarder child's port of each joint (`options.joints` of them); a single
   *   joint may leave it empty and use `options.port`
   */
  constructor(
    private readonly context: DriverContext,
    private readonly topology: ForwarderTopology,
    ports: readonly number[],
  ) {
    const o = context.options;
    if (o.size.max > MAX_PAYLOAD_BYTES) throw new RangeError(`tcp forwarder driver: size must be at most ${MAX_PAYLOAD_BYTES} bytes, got ${o.size.max}`);
    const all = ports.length === 0 ? [o.port] : ports;
    if (all.length !== o.joints) throw new RangeError(`tcp forwarder driver: ${o.joints} joints need as many ports, got ${all.length}`);
    this.users = o.users;
    const workers = context.workers;
    for (let j = 0; j < o.joints; j++) {
      if (workers > 1 && j % workers !== context.worker) continue;
      this.groups.push({ port: all[j]!, firstReceiver: j * (o.users + 1) });
    }
    this.senders = this.groups.length * (topology === 'fanout' ? 1 : o.users);
  }

  fanout(): number {
    return this.topology === 'fanout' ? this.users : 1;
  }

  async open(): Promise<void> {
    // The groups' ports are independent forwarders: each joint's connects in order, all at once.
    await Promise.all(this.groups.map((g) => this.openGroup(g)));
    this.open_ = true;
  }

  private async openGroup(g: Group): Promise<void> {
    const n = this.users;
    const first = g.firstReceiver;
    if (this.topology === 'pair') {
      for (let i = 0; i < n; i++) {
        await this.connect(new Conn(first + i, 1), g.port);
        this.senderConns.push(await this.connect(new Conn(-1, 1), g.port));
      }
    } else {
      const owner = await this.connect(new Conn(first, this.topology === 'funnel' ? n : 1), g.port);
      await new Promise((r) => setTimeout(r, ACCEPT_SETTLE_MS));
      const users: Conn[] = [];
      for (let i = 0; i < n; i++) users.push(await this.connect(new Conn(first + 1 + i, 1), g.port));
      // Senders in joint order whatever the order the groups finished connecting in.
      if (this.topology === 'funnel') this.senderConns.push(...users);
      else this.senderConns.push(owner);
      await new Promise((r) => setTimeout(r, ACCEPT_SETTLE_MS));
    }
  }

  send(sender: number, payload: Uint8Array): boolean {
    if (!this.open_) return false;
    const conn = this.senderConns[sender]!;
    if (conn.link.closed) return true;
    if (conn.link.buffered > RELAY_SEND_HIGH_WATER_BYTES) return false;
    // As a user of joint 0: the forwarders pass the frames on without reading the joint number.
    writeChunk(conn.link, true, 0, -1, payload, 0, payload.byteLength);
    this.flush.mark(conn.link);
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.open_ = false;
    for (const c of this.conns) c.link.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.conns.map((c) => c.link.whenClosed)), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    for (const c of this.conns) c.link.destroy();
  }

  private async connect(conn: Conn, port: number): Promise<Conn> {
    this.conns.push(conn);
    conn.link.onBytes = (data) => this.received(conn, data);
    conn.link.onClose = (error) => {
      if (!this.closing) this.fail(new Error(error === null ? 'forwarder closed a connection' : `connection lost: ${error.message}`));
    };
    await conn.link.connect(this.context.options.host, port, false);
    return conn;
  }

  private received(conn: Conn, input: Buffer): void {
    if (conn.receiver < 0) return this.failOn(conn, 'a sending connection got data');
    this.frames(conn, conn.parser, input, 0, input.length, -1);
  }

  /** Joint frames of `input[offset, offset + length)`; `stream` >= 0 for a funnel user's forwarded stream. */
  private frames(conn: Conn, parser: JointParser, input: Uint8Array, offset: number, length: number, stream: number): void {
    for (;;) {
      const count = parser.feed(input, offset, length);
      const units = parser.units;
      for (let p = 0; p < count * JOINT_UNIT_STRIDE; p += JOINT_UNIT_STRIDE) {
        if (units[p] !== JointUnitKind.Data || (units[p + 1]! & UnitFlag.InCarry) !== 0) return this.failOn(conn, 'unexpected unit');
        const at = units[p + 4]!;
        const bytes = units[p + 5]!;
        if (this.topology === 'funnel' && stream < 0) {
          // The funnel's header names the user: its bytes are that user's own frame stream.
          if (units[p + 2] !== OWN_JOINT_FLAG) return this.failOn(conn, 'not an owner frame');
          const user = units[p + 3]!;
          const inner = (conn.inner[user] ??= createJointParser({ direction: JointDirection.ToClient, maxUnits: RELAY_UNITS_PER_FEED }));
          this.frames(conn, inner, input, at, bytes, user);
        } else {
          this.chunks(conn, stream < 0 ? 0 : stream, input, at, bytes);
        }
      }
      if (parser.error !== ErrorCode.Ok) return this.failOn(conn, `protocol error: ${errorReason(parser.error)}`);
      const consumed = parser.consumed;
      offset += consumed;
      length -= consumed;
      if (length <= 0 || consumed === 0) return;
    }
  }

  private chunks(conn: Conn, stream: number, input: Uint8Array, offset: number, length: number): void {
    // The relay driver's shortcut for one whole chunk (relay-chunk.ts), so both targets cost the
    // generator the same per frame.
    if (conn.midChunk[stream] === 0) {
      const prefix = wholeChunkPrefix(input, offset, length);
      if (prefix > 0) {
        this.deliverAt(input, offset + prefix, length - prefix, conn.receiver);
        return;
      }
    }
    const assembler = conn.assembler;
    for (;;) {
      const count = assembler.feed(stream, input, offset, length);
      const units = assembler.units;
      conn.midChunk[stream] = endsOnChunk(units, count, offset + length) ? 0 : 1;
      for (let c = 0; c < count * CHUNK_UNIT_STRIDE; c += CHUNK_UNIT_STRIDE) {
        const src = (units[c]! & UnitFlag.InCarry) !== 0 ? assembler.carry() : input;
        const at = units[c + 1]!;
        this.deliverAt(src, at, units[c + 2]!, conn.receiver);
      }
      if (assembler.error !== ErrorCode.Ok) return this.failOn(conn, `bad chunk: ${errorReason(assembler.error)}`);
      const consumed = assembler.consumed;
      offset += consumed;
      length -= consumed;
      if (length <= 0 || consumed === 0) return;
    }
  }

  private failOn(conn: Conn, reason: string): void {
    this.fail(new Error(`tcp forwarder driver: ${reason}`));
    conn.link.destroy();
  }
}

/**
 * A driver factory for the forwarder child of `topology` (bench/relay.ts `--serve`), whose port
 * of joint j is `ports[j]` (empty: one joint on `options.port`). Also the export a DriverModule
 * names for worker threads: `{ url: FORWARDER_DRIVER_URL, name: 'forwarderDriver', args: [topology, ports] }`.
 */
export function forwarderDriver(topology: ForwarderTopology, ports: readonly number[] = []): DriverFactory {
  return (context) => new ForwarderDriver(context, topology, ports);
}

/** This module, for a DriverModule (worker threads import the driver by URL). */
export const FORWARDER_DRIVER_URL = import.meta.url;
