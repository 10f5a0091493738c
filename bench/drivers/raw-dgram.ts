/**
 * The BenchDriver of the udp suite's baseline (bench/udp.ts): raw `node:dgram` sockets, no
 * session, against the raw responder of bench/udp.ts `--serve dgram`. It sends the datagrams the
 * udp driver sends through a UdpPipe session (src/bench/drivers/udp.ts, responders/wire.ts):
 * `[0xB5, kind, token u32, payload]`, a c2s datagram answered by `[0xB5, Ack, token, checksum]`,
 * an echo datagram sent back whole; the driver keeps each c2s datagram until its ack and delivers
 * that copy, checked against the ack's checksum. So the engine measures the same datagrams and
 * answers with and without the session layer.
 */
import { Buffer } from 'node:buffer';
import { createSocket, type Socket } from 'node:dgram';
import type { BenchDriver, DriverContext, DriverFactory } from '../../src/bench/index.js';
import { UDP_ACK_BYTES, UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind, checksumBytes } from '../../src/bench/responders/wire.js';
import { UDP_MAX_IN_FLIGHT_COUNT } from '../../src/bench/drivers/style-limits.js';

const RING_MASK = UDP_MAX_IN_FLIGHT_COUNT - 1;

class RawDgramDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered = false;
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly kind: number;
  private readonly sockets: Socket[] = [];
  private readonly next: Uint32Array;
  private readonly sentAt: Float64Array;
  private readonly tokens: Uint32Array;
  private readonly kept: Array<Buffer | null>;
  private closed = false;

  constructor(private readonly context: DriverContext) {
    const o = context.options;
    if (context.workers > 1) throw new RangeError('raw dgram driver: one thread only');
    if (o.mode !== 'c2s' && o.mode !== 'echo') throw new RangeError(`raw dgram driver: mode c2s or echo, got ${o.mode}`);
    this.kind = o.mode === 'c2s' ? UdpKind.C2s : UdpKind.Echo;
    this.senders = o.users;
    this.next = new Uint32Array(this.senders);
    this.sentAt = new Float64Array(this.senders * UDP_MAX_IN_FLIGHT_COUNT);
    this.tokens = new Uint32Array(this.senders * UDP_MAX_IN_FLIGHT_COUNT);
    this.kept = new Array<Buffer | null>(this.senders * UDP_MAX_IN_FLIGHT_COUNT).fill(null);
  }

  fanout(): number {
    return 1;
  }

  async open(): Promise<void> {
    const { host, port } = this.context.options;
    for (let i = 0; i < this.senders; i++) {
      const socket = createSocket('udp4');
      this.sockets.push(socket);
      socket.on('message', (msg) => this.receive(i, msg));
      socket.on('error', (err) => {
        if (!this.closed) this.fail(new Error(`dgram: ${err.message}`));
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      // Connected: the kernel fills in the address of every send, as a UdpPipe client's socket does.
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    }
  }

  send(sender: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    const token = this.next[sender]!;
    const slot = sender * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const now = performance.now();
    const at = this.sentAt[slot]!;
    if (at !== 0 && now - at < this.context.options.frameTimeoutMs) return false;
    const datagram = Buffer.allocUnsafe(UDP_HEADER_BYTES + payload.length);
    datagram[0] = UDP_BENCH_MARK;
    datagram[1] = this.kind;
    datagram.writeUInt32BE(token, 2);
    datagram.set(payload, UDP_HEADER_BYTES);
    this.sockets[sender]!.send(datagram);
    this.sentAt[slot] = now;
    this.tokens[slot] = token;
    if (this.kind === UdpKind.C2s) this.kept[slot] = datagram;
    this.next[sender] = token + 1;
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.kept.fill(null);
  }

  private receive(i: number, msg: Buffer): void {
    if (msg.length < UDP_HEADER_BYTES || msg[0] !== UDP_BENCH_MARK) return;
    const token = msg.readUInt32BE(2);
    const slot = i * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const mine = this.sentAt[slot] !== 0 && this.tokens[slot] === token;
    if (msg[1] === UdpKind.Echo) {
      if (mine) this.sentAt[slot] = 0;
      this.deliver(msg.subarray(UDP_HEADER_BYTES), i);
    } else if (msg[1] === UdpKind.Ack && msg.length >= UDP_ACK_BYTES && mine) {
      const datagram = this.kept[slot]!;
      this.sentAt[slot] = 0;
      this.kept[slot] = null;
      const payload = datagram.subarray(UDP_HEADER_BYTES);
      if (msg.readUInt32BE(6) !== checksumBytes(datagram, UDP_HEADER_BYTES, datagram.length)) payload[payload.length - 1]! ^= 0xff;
      this.deliver(payload, i);
    }
  }
}

/** A driver factory for the raw dgram responder of bench/udp.ts. */
export const rawDgramDriver: DriverFactory = (context) => new RawDgramDriver(context);

/**
 * The raw responder's answer to one datagram: the ack of a c2s datagram, the datagram itself for
 * echo, null for anything else (what src/bench/responders/udp.ts answers inside a session).
 */
export function rawAnswer(msg: Buffer): Buffer | null {
  if (msg.length < UDP_HEADER_BYTES || msg[0] !== UDP_BENCH_MARK) return null;
  if (msg[1] === UdpKind.Echo) return msg;
  if (msg[1] !== UdpKind.C2s) return null;
  const ack = Buffer.allocUnsafe(UDP_ACK_BYTES);
  ack[0] = UDP_BENCH_MARK;
  ack[1] = UdpKind.Ack;
  msg.copy(ack, 2, 2, 6);
  ack.writeUInt32BE(checksumBytes(msg, UDP_HEADER_BYTES, msg.length), 6);
  return ack;
}
