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
 * the engine, and its slot in the client's ring (udp-ring.ts) is reused after the frame timeout.
 */
import { MAX_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES_LIMIT } from '../../udp/limits.js';
import { UdpPipe } from '../../udp/udp-pipe.js';
import type { BenchDriver, BenchMode, DriverContext, DriverFactory } from '../types.js';
import { UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind } from '../responders/wire.js';
import { UDP_CLOSE_WAIT_MS, UDP_PROBE_INTERVAL_MS } from './style-limits.js';
import { checkMode, senderShare } from './share.js';
import { DatagramRing, PROBE_TOKEN } from './udp-ring.js';

const MODES: readonly BenchMode[] = ['c2s', 'echo'];

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

  private readonly base: number;
  private readonly pipes: UdpPipe[] = [];
  private readonly ring: DatagramRing;
  private readonly maxDatagramBytes: number;
  private state = State.Fresh;

  /**
   * @param context this thread's share; `options.mode` c2s or echo; `options.token`, when set, is
   *   the UdpPipe token
   * @throws RangeError for another mode, or a size whose datagram exceeds 65507 bytes
   */
  constructor(private readonly context: DriverContext) {
    const mode = checkMode('udp', context.options.mode, MODES);
    const largest = context.options.size.max + UDP_HEADER_BYTES;
    if (largest > MAX_DATAGRAM_BYTES_LIMIT) {
      throw new RangeError(`size must be at most ${MAX_DATAGRAM_BYTES_LIMIT - UDP_HEADER_BYTES} bytes for udp (a datagram holds 65507 with the 6-byte bench header), got ${context.options.size.max}`);
    }
    this.maxDatagramBytes = Math.max(MAX_DATAGRAM_BYTES, largest);
    this.senders = senderShare(context);
    this.base = context.senderBase;
    const kind = mode === 'c2s' ? UdpKind.C2s : UdpKind.Echo;
    this.ring = new DatagramRing(this.senders, kind, context.options.frameTimeoutMs, (sender, datagram) => this.pipes[sender]!.send(datagram));
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
            const payload = this.ring.answer(i, msg);
            if (payload !== null) this.deliver(payload, receiver);
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
    const session = this.pipes[sender]!.session;
    // A stalled session would queue (and drop its oldest): refuse instead, the engine retries.
    if (session === null || !session.open || session.stalled) return false;
    return this.ring.send(sender, payload);
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
    this.ring.clear();
  }

  private shutdown(): void {
    this.state = State.Closed;
    for (const pipe of this.pipes) pipe.destroy();
    this.ring.clear();
  }
}

/** The registry's entry point: builds this thread's udp driver. */
export const createDriver: DriverFactory = (context) => new UdpDriver(context);
