/**
 * The frames a udp bench client has in flight, shared by the udp driver (UdpPipe sessions) and
 * the raw dgram baseline (bench/drivers/raw-dgram.ts), so both put the same datagrams on the
 * wire and match the same answers: `[0xB5, kind, token u32, payload]` out (responders/wire.ts),
 * the datagram itself back for echo, `[0xB5, Ack, token, checksum]` back for c2s.
 *
 * Each client has a ring of UDP_MAX_IN_FLIGHT_COUNT slots indexed by its token: send time
 * (0 = free), token, and for c2s the datagram kept until its ack. A slot is reused once its frame
 * is answered or older than the frame timeout; a lost datagram or answer is the engine's to count.
 */
import { UDP_ACK_BYTES, UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind, checksumBytes } from '../responders/wire.js';
import { UDP_MAX_IN_FLIGHT_COUNT } from './style-limits.js';
import { corrupted } from './share.js';

const RING_MASK = UDP_MAX_IN_FLIGHT_COUNT - 1;

/** The token of the udp driver's open-time probe; frames skip it, so an answer carrying it is the probe's. */
export const PROBE_TOKEN = 0xffffffff;

/** Ring slots of `clients` udp bench clients (see the file comment). */
export class DatagramRing {
  private readonly next: Uint32Array;
  private readonly sentAt: Float64Array;
  private readonly tokens: Uint32Array;
  private readonly kept: Array<Buffer | null>;

  /**
   * @param clients how many clients (0..clients-1)
   * @param kind UdpKind.C2s or UdpKind.Echo, for every datagram
   * @param frameTimeoutMs after this long unanswered a slot is reused
   * @param transmit puts client `client`'s datagram on the wire; false when it refused it (then
   *   nothing is recorded). Made once by the driver: no closure per datagram.
   */
  constructor(
    clients: number,
    private readonly kind: number,
    private readonly frameTimeoutMs: number,
    private readonly transmit: (client: number, datagram: Buffer) => boolean,
  ) {
    this.next = new Uint32Array(clients);
    this.sentAt = new Float64Array(clients * UDP_MAX_IN_FLIGHT_COUNT);
    this.tokens = new Uint32Array(clients * UDP_MAX_IN_FLIGHT_COUNT);
    this.kept = kind === UdpKind.C2s ? new Array<Buffer | null>(clients * UDP_MAX_IN_FLIGHT_COUNT).fill(null) : [];
  }

  /**
   * Send `payload` as client `client`'s next datagram.
   * @returns false, sending nothing, when the client's next slot holds a frame younger than the
   *   frame timeout, or `transmit` refused the datagram
   */
  send(client: number, payload: Uint8Array): boolean {
    let token = this.next[client]!;
    if (token === PROBE_TOKEN) token = 0;
    const slot = client * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const now = performance.now();
    const at = this.sentAt[slot]!;
    if (at !== 0 && now - at < this.frameTimeoutMs) return false;
    // A new buffer per datagram: the socket holds it until sent, and c2s keeps it for the ack.
    const datagram = Buffer.allocUnsafe(UDP_HEADER_BYTES + payload.length);
    datagram[0] = UDP_BENCH_MARK;
    datagram[1] = this.kind;
    datagram.writeUInt32BE(token, 2);
    datagram.set(payload, UDP_HEADER_BYTES);
    if (!this.transmit(client, datagram)) return false;
    this.sentAt[slot] = now;
    this.tokens[slot] = token;
    if (this.kind === UdpKind.C2s) this.kept[slot] = datagram;
    this.next[client] = token + 1;
    return true;
  }

  /**
   * Match an answer that reached client `client`.
   * @returns the payload to deliver (borrowed: a view of `msg` for echo, of the kept datagram for
   *   c2s; an inverted copy when the ack's checksum does not match what was sent), or null when
   *   `msg` is no answer to deliver
   */
  answer(client: number, msg: Buffer): Uint8Array | null {
    if (msg.length < UDP_HEADER_BYTES || msg[0] !== UDP_BENCH_MARK) return null;
    const token = msg.readUInt32BE(2);
    const slot = client * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const mine = this.sentAt[slot] !== 0 && this.tokens[slot] === token;
    if (msg[1] === UdpKind.Echo) {
      if (mine) this.sentAt[slot] = 0;
      // Delivered even when late or duplicated: the engine counts those.
      return msg.subarray(UDP_HEADER_BYTES);
    }
    if (msg[1] === UdpKind.Ack && msg.length >= UDP_ACK_BYTES && mine && this.kind === UdpKind.C2s) {
      // An ack whose frame is gone (answered already, or past the frame timeout) cannot be
      // checked against its payload: ignored, so c2s never reports duplicates. An ack to an echo
      // datagram has no kept copy to deliver: ignored too (the echo itself still counts).
      const datagram = this.kept[slot]!;
      this.sentAt[slot] = 0;
      this.kept[slot] = null;
      const payload = datagram.subarray(UDP_HEADER_BYTES);
      const intact = msg.readUInt32BE(6) === checksumBytes(datagram, UDP_HEADER_BYTES, datagram.length);
      return intact ? payload : corrupted(payload);
    }
    return null;
  }

  /** Drop every kept datagram (at close). */
  clear(): void {
    this.kept.fill(null);
  }
}
