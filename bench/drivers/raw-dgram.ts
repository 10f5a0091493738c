/**
 * The BenchDriver of the udp suite's baseline (bench/udp.ts): raw `node:dgram` sockets, no
 * session, against the raw responder of bench/udp.ts `--serve dgram`. It sends the datagrams the
 * udp driver sends through a UdpPipe session, with the udp driver's own ring
 * (src/bench/drivers/udp-ring.ts, responders/wire.ts): `[0xB5, kind, token u32, payload]`, a c2s
 * datagram answered by `[0xB5, Ack, token, checksum]`, an echo datagram sent back whole; each c2s
 * datagram is kept until its ack and that copy delivered, checked against the ack's checksum. So
 * the engine measures the same datagrams and answers with and without the session layer.
 */
import { Buffer } from 'node:buffer';
import { createSocket, type Socket } from 'node:dgram';
import type { BenchDriver, DriverContext, DriverFactory } from '../../src/bench/index.js';
import { UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind, udpAck } from '../../src/bench/responders/wire.js';
import { DatagramRing } from '../../src/bench/drivers/udp-ring.js';

class RawDgramDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered = false;
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly sockets: Socket[] = [];
  private readonly ring: DatagramRing;
  private closed = false;

  constructor(private readonly context: DriverContext) {
    const o = context.options;
    if (context.workers > 1) throw new RangeError('raw dgram driver: one thread only');
    if (o.mode !== 'c2s' && o.mode !== 'echo') throw new RangeError(`raw dgram driver: mode c2s or echo, got ${o.mode}`);
    this.senders = o.users;
    // The same ring as the udp driver's, so both send the same datagrams and match the same answers.
    this.ring = new DatagramRing(this.senders, o.mode === 'c2s' ? UdpKind.C2s : UdpKind.Echo, o.frameTimeoutMs, (sender, datagram) => {
      this.sockets[sender]!.send(datagram);
      return true;
    });
  }

  fanout(): number {
    return 1;
  }

  async open(): Promise<void> {
    const { host, port } = this.context.options;
    for (let i = 0; i < this.senders; i++) {
      const socket = createSocket('udp4');
      this.sockets.push(socket);
      socket.on('message', (msg) => {
        const payload = this.ring.answer(i, msg);
        if (payload !== null) this.deliver(payload, i);
      });
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
    return this.ring.send(sender, payload);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.ring.clear();
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
  return udpAck(msg);
}
