/**
 * The mm bench driver: `users` mm Clients (this thread's share) against a Server running the mm
 * bench responder (responders/mm.ts). Each payload travels base64-encoded in a table: the table
 * codec carries no binary type, and base64 is the cheapest exact string form (4/3 of the bytes,
 * every byte value, encoded and decoded natively by Buffer), where a latin1 string would cost
 * 1.5x on average after UTF-8 and an array of numbers one decoded value per byte.
 *
 * Tables: c2s `{gwbench:'c', n, b}` answered by `{gwbench:'a', n, h}` (the counter, and the
 * checksum of `b`); echo `{gwbench:'e', b}` sent back; broadcast `{gwbench:'b', o, b}` sent by
 * the responder to every client of the sender's group, the sender too. At open every client
 * sends `{gwbench:'h', g}` and waits for `{gwbench:'w'}`. The group `g` is random per driver,
 * i.e. per thread: a broadcast reaches exactly this thread's clients (each thread's engine
 * counts its own senders' deliveries), never another run's, and a server without a responder
 * fails open() clearly.
 *
 * Polling: the clients share one event queue (their own MmContext, not the application's global
 * queue), polled by a PollLoop: on every turn of the event loop (setImmediate) while frames are
 * unanswered or events came in the last 10 ms, else every 1 ms.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '../../mm/client.js';
import { MmContext } from '../../mm/context.js';
import { EventType } from '../../mm/events.js';
import type { TableValue } from '../../codec/table.js';
import { nodePlatform } from '../../platform/node.js';
import type { BenchDriver, BenchMode, DriverContext, DriverFactory } from '../types.js';
import { BENCH_TAG_KEY, MmTag, checksumString } from '../responders/wire.js';
import { MM_DRIVER_QUEUE_CAPACITY, MM_MAX_IN_FLIGHT_BYTES } from './style-limits.js';
import { PollLoop } from './poll-loop.js';
import { PairFifo, checkMode, corrupted, senderShare } from './share.js';

const MODES: readonly BenchMode[] = ['c2s', 'broadcast', 'echo'];
const REFUSAL_HINT =
  ' (a load generator opens many connections from one address: the server must allow them, e.g. maxConnectionsPerIp: 0, connectRatePerIp: 0 and maxConnections >= users; docs/bench.md)';

const enum State {
  Fresh,
  Opening,
  Open,
  Closed,
}

type Fields = { [key: string]: TableValue };

/** The mm driver (docs/bench.md). */
export class MmDriver implements BenchDriver {
  readonly senders: number;
  /** TCP (or WebSocket) and one server loop: each sender's frames arrive in order. */
  readonly ordered = true;
  /** The payload is base64-encoded during send(). */
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly mode: BenchMode;
  private readonly base: number;
  /** This driver's broadcast group (responders/wire.ts MmTag.Hello). */
  private readonly group = randomBytes(8).toString('hex');
  private readonly mm = new MmContext(nodePlatform);
  private readonly clients: Client[] = [];
  private readonly index = new Map<Client, number>();
  private readonly inFlight: Float64Array;
  private readonly acks: PairFifo[] = [];
  private readonly counters: Uint32Array;
  private readonly welcomed: Uint8Array;
  private readonly errored: Uint8Array;
  private welcomes = 0;
  private unanswered = 0;
  private dropped = 0;
  private state = State.Fresh;
  private opening: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private readonly loop = new PollLoop(() => this.poll(), () => this.unanswered > 0);
  // One table per mode, refilled per send: the codec encodes it at once.
  private readonly table: Fields;

  /**
   * @param context this thread's share; `options.mode` c2s, broadcast or echo
   * @throws RangeError for another mode
   */
  constructor(private readonly context: DriverContext) {
    this.mode = checkMode('mm', context.options.mode, MODES);
    this.senders = senderShare(context);
    this.base = context.senderBase;
    this.inFlight = new Float64Array(this.senders);
    this.counters = new Uint32Array(this.senders);
    this.welcomed = new Uint8Array(this.senders);
    this.errored = new Uint8Array(this.senders);
    const tag = this.mode === 'c2s' ? MmTag.C2s : this.mode === 'echo' ? MmTag.Echo : MmTag.Broadcast;
    this.table = this.mode === 'c2s' ? { [BENCH_TAG_KEY]: tag, n: 0, b: '' } : this.mode === 'echo' ? { [BENCH_TAG_KEY]: tag, b: '' } : { [BENCH_TAG_KEY]: tag, o: 0, b: '' };
    this.mm.configureEventQueue({ capacity: MM_DRIVER_QUEUE_CAPACITY });
  }

  /** c2s and echo: 1 (the sender); broadcast: every client of this thread (its group). */
  fanout(_sender: number): number {
    return this.mode === 'broadcast' ? this.senders : 1;
  }

  /**
   * Connect every client and register it with the responder.
   * @throws (rejects) when a client cannot connect, or no bench responder answers, within
   *   `connectTimeoutMs`; every client is closed then
   */
  async open(): Promise<void> {
    if (this.state !== State.Fresh) throw new Error('mm driver: open() called twice');
    this.state = State.Opening;
    const { host, port, key, ws, connectTimeoutMs } = this.context.options;
    const where = `${host}:${port}`;
    const done = new Promise<void>((resolve, reject) => {
      this.opening = { resolve, reject };
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      for (let i = 0; i < this.senders; i++) {
        const client = new Client(this.mm, host, port, key ?? undefined, { connectTimeoutMs, transport: ws ? 'websocket' : 'tcp' });
        this.clients.push(client);
        this.index.set(client, i);
        this.acks.push(new PairFifo());
      }
      this.loop.start();
      if (this.senders === 0) this.opened();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const connected = this.clients.filter((c) => c.isConnected()).length;
          reject(
            new Error(
              connected < this.senders
                ? `mm: ${this.senders - connected} of ${this.senders} clients not connected to ${where} within ${connectTimeoutMs} ms`
                : `mm: no bench responder answered at ${where} within ${connectTimeoutMs} ms (${this.welcomes} of ${this.senders} clients registered); the server must run mmBenchResponder or serveMmBench`,
            ),
          );
        }, connectTimeoutMs);
      });
      await Promise.race([done, timeout]);
      this.state = State.Open;
    } catch (err) {
      this.shutdown();
      throw err;
    } finally {
      clearTimeout(timer);
      this.opening = null;
    }
  }

  /**
   * Send one payload from client `sender`.
   * @returns false when the client is not open or has `MM_MAX_IN_FLIGHT_BYTES` unanswered
   */
  send(sender: number, payload: Uint8Array): boolean {
    if (this.state !== State.Open) return false;
    const inFlight = this.inFlight[sender]!;
    if (inFlight > 0 && inFlight + payload.length > MM_MAX_IN_FLIGHT_BYTES) return false;
    const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
    const table = this.table;
    table['b'] = b;
    let n = 0;
    if (this.mode === 'c2s') {
      n = this.counters[sender]!;
      table['n'] = n;
    } else if (this.mode === 'broadcast') table['o'] = this.base + sender;
    if (!this.clients[sender]!.send(table)) return false;
    if (this.mode === 'c2s') {
      this.counters[sender] = n + 1;
      this.acks[sender]!.push(n, b);
    }
    this.inFlight[sender] = inFlight + payload.length;
    this.unanswered++;
    this.loop.wake();
    return true;
  }

  /** Disconnect every client and stop polling. */
  async close(): Promise<void> {
    if (this.state === State.Closed) return;
    this.shutdown();
    // Let the CLOSE frames reach the sockets before the caller goes on.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private shutdown(): void {
    this.state = State.Closed;
    this.loop.stop();
    for (const c of this.clients) c.disconnect();
    for (const q of this.acks) q.clear();
    this.unanswered = 0;
  }

  private opened(): void {
    this.opening?.resolve();
  }

  private poll(): number {
    const events = this.mm.pollEvents();
    for (const ev of events) {
      const i = this.index.get(ev.object as Client);
      if (i === undefined) continue;
      switch (ev.type) {
        case EventType.RECEIVE:
          this.receive(i, ev.packet);
          break;
        case EventType.CONNECTED:
          if (ev.result) this.clients[i]!.send({ [BENCH_TAG_KEY]: MmTag.Hello, g: this.group });
          else this.lost(i, ev.error ?? 'failed', 'mm: ');
          break;
        case EventType.ERROR:
          this.lost(i, ev.error, 'mm: ');
          break;
        case EventType.SERVER_CLOSE:
          this.lost(i, ev.reason, 'mm: server closed the connection: ');
          break;
        default:
          break;
      }
    }
    const dropped = this.mm.droppedEvents();
    if (dropped > this.dropped) {
      this.fail(new Error(`mm: the driver's event queue was full; ${dropped - this.dropped} events dropped`));
      this.dropped = dropped;
    }
    return events.length;
  }

  /**
   * A client failed or was closed: reported once per client (its ERROR comes before its close
   * event), to open() while opening, else to the engine with `prefix`.
   */
  private lost(i: number, reason: string, prefix: string): void {
    if (this.state === State.Closed || this.errored[i]) return;
    this.errored[i] = 1;
    const { host, port } = this.context.options;
    if (this.state === State.Opening) {
      // A Server refuses past its per-IP budgets by closing without a word (docs/mm.md).
      const hint = reason.startsWith('connection lost') || reason === 'server full' ? REFUSAL_HINT : '';
      this.opening?.reject(new Error(`mm: cannot connect to ${host}:${port}: ${reason}${hint}`));
    }
    else this.fail(new Error(prefix + reason));
  }

  private receive(i: number, packet: TableValue): void {
    if (typeof packet !== 'object' || packet === null || Array.isArray(packet)) return;
    const fields = packet as Fields;
    const receiver = this.base + i;
    switch (fields[BENCH_TAG_KEY]) {
      case MmTag.Ack: {
        const fifo = this.acks[i]!;
        const n = fields['n'];
        // Frames whose ack never came (a responder that dropped them) are skipped: the engine
        // counts them lost at the frame timeout.
        while (fifo.size > 0 && fifo.peekN() !== n) this.answered(i, fifo.shift());
        if (fifo.size === 0) return;
        const sent = fifo.shift();
        const payload = this.answered(i, sent);
        this.deliver(fields['h'] === checksumString(sent) ? payload : corrupted(payload), receiver);
        return;
      }
      case MmTag.Echo: {
        const payload = decode(fields['b']);
        this.settle(i, payload.length);
        this.deliver(payload, receiver);
        return;
      }
      case MmTag.Broadcast: {
        const payload = decode(fields['b']);
        if (fields['o'] === receiver) this.settle(i, payload.length);
        this.deliver(payload, receiver);
        return;
      }
      case MmTag.Welcome:
        if (this.welcomed[i]) return;
        this.welcomed[i] = 1;
        if (++this.welcomes === this.senders) this.opened();
        return;
      default:
        return;
    }
  }

  /** Decode a frame that got its answer and release its in-flight bytes. */
  private answered(i: number, sent: string): Uint8Array {
    const payload = Buffer.from(sent, 'base64');
    this.settle(i, payload.length);
    return payload;
  }

  private settle(i: number, bytes: number): void {
    const left = this.inFlight[i]! - bytes;
    this.inFlight[i] = left > 0 ? left : 0;
    if (this.unanswered > 0) this.unanswered--;
  }
}

function decode(b: TableValue | undefined): Uint8Array {
  return typeof b === 'string' ? Buffer.from(b, 'base64') : new Uint8Array(0);
}

/** The registry's entry point: builds this thread's mm driver. */
export const createDriver: DriverFactory = (context) => new MmDriver(context);
