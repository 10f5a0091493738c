/**
 * The udp bench driver: `users` UdpPipe clients (this thread's share, a socket each) against a
 * UdpPipe server running the udp bench responder (responders/udp.ts). Callbacks fire as
 * datagrams arrive (event-loop mode): nothing is polled.
 *
 * A datagram is `[0xB5, kind, token u32, payload]`: the mark keeps it from ever reading as a
 * control word, the token (a per-client counter) finds the frame its answer belongs to. Echo
 * datagrams come back whole; a c2s datagram is answered by a 10-byte ack carrying its token and
 * the checksum of its payload, and the driver delivers the copy it kept. UdpPipe promises
 * neither delivery nor order, so `ordered` is false; a lost datagram or answer is counted lost by
 * the engine, and its slot in the client's ring is reused after the frame timeout.
 */
import { MAX_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES_LIMIT } from '../../udp/limits.js';
import { UdpPipe } from '../../udp/udp-pipe.js';
import type { BenchDriver, BenchMode, DriverContext, DriverFactory } from '../types.js';
import { UDP_ACK_BYTES, UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind, checksumBytes } from '../responders/wire.js';
import { UDP_CLOSE_WAIT_MS, UDP_MAX_IN_FLIGHT_COUNT, UDP_PROBE_INTERVAL_MS } from './style-limits.js';
import { checkMode, corrupted, senderShare } from './share.js';

const MODES: readonly BenchMode[] = ['c2s', 'echo'];
const RING_MASK = UDP_MAX_IN_FLIGHT_COUNT - 1;
/** Token of the open-time probe; frames skip it. */
const PROBE_TOKEN = 0xffffffff;

const enum State {
  Fresh,
  Opening,
  Open,
  Closed,
}

/** The udp driver (docs/bench.md). */
export class UdpDriver implements BenchDriver {
  readonly senders: number;
  /** UdpPipe data is unordered (docs/udp.md): reordering is not counted. */
  readonly ordered = false;
  /** The payload is copied into a datagram of its own during send(). */
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly kind: number;
  private readonly base: number;
  private readonly pipes: UdpPipe[] = [];
  private readonly next: Uint32Array;
  // Ring slots, UDP_MAX_IN_FLIGHT_COUNT per client: send time (0 = free), token, kept datagram (c2s).
  private readonly sentAt: Float64Array;
  private readonly tokens: Uint32Array;
  private readonly kept: Array<Buffer | null>;
  private readonly frameTimeoutMs: number;
  private readonly maxDatagramBytes: number;
  private state = State.Fresh;

  /**
   * @param context this thread's share; `options.mode` c2s or echo; `options.token`, when set, is
   *   the UdpPipe token
   * @throws RangeError for another mode, or a size whose datagram exceeds 65507 bytes
   */
  constructor(private readonly context: DriverContext) {
    const mode = checkMode('udp', context.options.mode, MODES);
    this.kind = mode === 'c2s' ? UdpKind.C2s : UdpKind.Echo;
    const largest = context.options.size.max + UDP_HEADER_BYTES;
    if (largest > MAX_DATAGRAM_BYTES_LIMIT) {
      throw new RangeError(`size must be at most ${MAX_DATAGRAM_BYTES_LIMIT - UDP_HEADER_BYTES} bytes for udp (a datagram holds 65507 with the 6-byte bench header), got ${context.options.size.max}`);
    }
    this.maxDatagramBytes = Math.max(MAX_DATAGRAM_BYTES, largest);
    this.senders = senderShare(context);
    this.base = context.senderBase;
    this.frameTimeoutMs = context.options.frameTimeoutMs;
    this.next = new Uint32Array(this.senders);
    this.sentAt = new Float64Array(this.senders * UDP_MAX_IN_FLIGHT_COUNT);
    this.tokens = new Uint32Array(this.senders * UDP_MAX_IN_FLIGHT_COUNT);
    this.kept = mode === 'c2s' ? new Array<Buffer | null>(this.senders * UDP_MAX_IN_FLIGHT_COUNT).fill(null) : [];
  }

  /** Echo and c2s: each frame reaches its sender once. */
  fanout(_sender: number): number {
    return 1;
  }

  /**
   * Open a session per client, then check that a bench responder answers.
   * @throws (rejects) when a handshake fails or times out, or no responder answers, within
   *   `connectTimeoutMs`; every socket is closed then
   */
  async open(): Promise<void> {
    if (this.state !== State.Fresh) throw new Error('udp driver: open() called twice');
    this.state = State.Opening;
    const { host, port, token, connectTimeoutMs } = this.context.options;
    const where = `${host}:${port}`;
    let probeTimer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        let connected = 0;
        let probing = false;
        const probe = Buffer.from([UDP_BENCH_MARK, UdpKind.Echo, 0xff, 0xff, 0xff, 0xff]);
        const answered = (): void => {
          clearInterval(probeTimer);
          resolve();
        };
        deadline = setTimeout(() => {
          reject(
            new Error(
              probing
                ? `udp: no bench responder answered at ${where} within ${connectTimeoutMs} ms; the server must run udpBenchResponder or serveUdpBench`
                : `udp: ${this.senders - connected} of ${this.senders} sessions not open to ${where} within ${connectTimeoutMs} ms`,
            ),
          );
        }, connectTimeoutMs);
        const startProbe = (): void => {
          probing = true;
          const send = (): void => {
            this.pipes[0]?.send(probe);
          };
          send();
          probeTimer = setInterval(send, UDP_PROBE_INTERVAL_MS);
        };
        if (this.senders === 0) {
          resolve();
          return;
        }
        for (let i = 0; i < this.senders; i++) {
          const pipe = new UdpPipe({
            handshakeTimeoutMs: connectTimeoutMs,
            maxDatagramBytes: this.maxDatagramBytes,
            ...(token !== null ? { token } : {}),
          });
          this.pipes.push(pipe);
          const receiver = this.base + i;
          pipe.onNewMessage = (msg) => {
            if (msg.length >= UDP_HEADER_BYTES && msg[0] === UDP_BENCH_MARK && msg.readUInt32BE(2) === PROBE_TOKEN) {
              if (this.state === State.Opening && probing) answered();
              return;
            }
            this.receive(i, receiver, msg);
          };
          pipe.onConnect = () => {
            if (++connected === this.senders) startProbe();
          };
          pipe.onDisconnect = (_session, reason) => {
            if (this.state === State.Closed) return;
            if (this.state === State.Opening) reject(new Error(`udp: cannot open a session to ${where}: ${reason}`));
            else this.fail(new Error(`udp: session ended: ${reason}`));
          };
          pipe.onError = (error) => {
            if (this.state === State.Open) this.fail(new Error(`udp: ${error.message}`));
          };
          pipe.connect(host, port, connectTimeoutMs);
        }
      });
      this.state = State.Open;
    } catch (err) {
      this.shutdown();
      throw err;
    } finally {
      clearInterval(probeTimer);
      clearTimeout(deadline);
    }
  }

  /**
   * Send one datagram from client `sender`.
   * @returns false when its session is not open or stalled, or its next ring slot still holds
   *   a frame younger than the frame timeout
   */
  send(sender: number, payload: Uint8Array): boolean {
    if (this.state !== State.Open) return false;
    const pipe = this.pipes[sender]!;
    const session = pipe.session;
    // A stalled session would queue (and drop its oldest): refuse instead, the engine retries.
    if (session === null || !session.open || session.stalled) return false;
    let token = this.next[sender]!;
    if (token === PROBE_TOKEN) token = 0;
    const slot = sender * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const now = performance.now();
    const at = this.sentAt[slot]!;
    if (at !== 0 && now - at < this.frameTimeoutMs) return false;
    // A new buffer per datagram: the socket holds it until sent, and c2s keeps it for the ack.
    const datagram = Buffer.allocUnsafe(UDP_HEADER_BYTES + payload.length);
    datagram[0] = UDP_BENCH_MARK;
    datagram[1] = this.kind;
    datagram.writeUInt32BE(token, 2);
    datagram.set(payload, UDP_HEADER_BYTES);
    if (!pipe.send(datagram)) return false;
    this.sentAt[slot] = now;
    this.tokens[slot] = token;
    if (this.kind === UdpKind.C2s) this.kept[slot] = datagram;
    this.next[sender] = token + 1;
    return true;
  }

  /** Close every session (waiting at most UDP_CLOSE_WAIT_MS for CLOSED) and every socket. */
  async close(): Promise<void> {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    await Promise.all(
      this.pipes.map(async (pipe) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([pipe.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, UDP_CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
        pipe.destroy();
      }),
    );
    this.kept.fill(null);
  }

  private shutdown(): void {
    this.state = State.Closed;
    for (const pipe of this.pipes) pipe.destroy();
    this.kept.fill(null);
  }

  private receive(i: number, receiver: number, msg: Buffer): void {
    if (msg.length < UDP_HEADER_BYTES || msg[0] !== UDP_BENCH_MARK) return;
    const token = msg.readUInt32BE(2);
    const slot = i * UDP_MAX_IN_FLIGHT_COUNT + (token & RING_MASK);
    const mine = this.sentAt[slot] !== 0 && this.tokens[slot] === token;
    if (msg[1] === UdpKind.Echo) {
      if (mine) this.sentAt[slot] = 0;
      // Delivered even when late or duplicated: the engine counts those.
      this.deliver(msg.subarray(UDP_HEADER_BYTES), receiver);
    } else if (msg[1] === UdpKind.Ack && msg.length >= UDP_ACK_BYTES && mine) {
      // An ack whose frame is gone (answered already, or past the frame timeout) cannot be
      // checked against its payload: ignored, so c2s never reports duplicates.
      const datagram = this.kept[slot]!;
      this.sentAt[slot] = 0;
      this.kept[slot] = null;
      const payload = datagram.subarray(UDP_HEADER_BYTES);
      const intact = msg.readUInt32BE(6) === checksumBytes(datagram, UDP_HEADER_BYTES, datagram.length);
      this.deliver(intact ? payload : corrupted(payload), receiver);
    }
  }
}

/** The registry's entry point: builds this thread's udp driver. */
export const createDriver: DriverFactory = (context) => new UdpDriver(context);
