/**
 * BenchDrivers of the mm suite's baselines (bench/mm.ts): socket.io (websocket transport) and raw
 * `ws` with JSON text frames, against the servers of bench/mm.ts `--serve socket.io|ws`. They send
 * the tables the mm driver sends (src/bench/drivers/mm.ts, src/bench/responders/wire.ts), as JSON:
 * the payload base64-encoded in `b`; c2s `{gwbench:'c', n, b}` answered by `{gwbench:'a', n, h}`
 * (the counter and the checksum of `b`), broadcast `{gwbench:'b', o, b}` sent by the server to
 * every client, the sender too. So the engine measures the same messages, acknowledged the same
 * way, through gamewire mm and through each baseline.
 */
import { Buffer } from 'node:buffer';
import { WebSocket } from 'ws';
import { io as socketIoClient, type Socket as SocketIoClient } from 'socket.io-client';
import type { BenchDriver, DriverContext, DriverFactory } from '../../src/bench/index.js';
import { MmTag, checksumString } from '../../src/bench/responders/wire.js';
import { PairFifo } from '../../src/bench/drivers/share.js';

/** The baseline a driver speaks. */
export type JsonTransport = 'socket.io' | 'ws';

/** The socket.io event name of every bench message (one name: one handler per message). */
export const SOCKET_IO_EVENT = 'm';

/** A bench message as the baselines carry it (JSON). */
export interface JsonBenchMessage {
  gwbench: string;
  n?: number;
  o?: number;
  b?: string;
  h?: number;
}

/** Refuse a send while a ws client has this many bytes unsent (the engine retries). */
const WS_HIGH_WATER_BYTES = 1024 * 1024;

/** One client connection of either baseline. */
interface JsonClient {
  send(message: JsonBenchMessage): boolean;
  close(): void;
}

class JsonDriver implements BenchDriver {
  readonly senders: number;
  readonly ordered = true;
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly broadcast: boolean;
  private readonly clients: JsonClient[] = [];
  /** c2s: per client, the counters and payloads awaiting their ack, oldest first. */
  private readonly pending: PairFifo[] = [];
  private readonly counters: Uint32Array;
  private closed = false;

  constructor(
    private readonly context: DriverContext,
    private readonly transport: JsonTransport,
  ) {
    const o = context.options;
    if (context.workers > 1) throw new RangeError('json baseline driver: one thread only');
    if (o.mode !== 'c2s' && o.mode !== 'broadcast') throw new RangeError(`json baseline driver: mode c2s or broadcast, got ${o.mode}`);
    this.broadcast = o.mode === 'broadcast';
    this.senders = o.users;
    this.counters = new Uint32Array(this.senders);
    for (let i = 0; i < this.senders; i++) this.pending.push(new PairFifo());
  }

  fanout(): number {
    return this.broadcast ? this.senders : 1;
  }

  async open(): Promise<void> {
    for (let i = 0; i < this.senders; i++) this.clients.push(await this.connect(i));
  }

  send(sender: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
    let message: JsonBenchMessage;
    if (this.broadcast) message = { gwbench: MmTag.Broadcast, o: sender, b };
    else message = { gwbench: MmTag.C2s, n: this.counters[sender]!, b };
    if (!this.clients[sender]!.send(message)) return false;
    if (!this.broadcast) this.pending[sender]!.push(this.counters[sender]!++, b);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients) c.close();
    await new Promise((r) => setTimeout(r, 50));
  }

  private receive(i: number, message: JsonBenchMessage): void {
    if (message.gwbench === MmTag.Broadcast) {
      this.deliver(Buffer.from(message.b ?? '', 'base64'), i);
      return;
    }
    if (message.gwbench !== MmTag.Ack) return;
    const fifo = this.pending[i]!;
    // Frames whose ack never came are skipped: the engine counts them lost at the frame timeout.
    while (fifo.size > 0 && fifo.peekN() !== message.n) fifo.shift();
    if (fifo.size === 0) return;
    const sent = fifo.shift();
    const payload = Buffer.from(sent, 'base64');
    if (message.h !== checksumString(sent)) payload[payload.length - 1]! ^= 0xff;
    this.deliver(payload, i);
  }

  private connect(i: number): Promise<JsonClient> {
    const { host, port } = this.context.options;
    const lost = (why: string): void => {
      if (!this.closed) this.fail(new Error(`${this.transport}: ${why}`));
    };
    if (this.transport === 'socket.io') {
      const socket: SocketIoClient = socketIoClient(`http://${host}:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
      socket.on(SOCKET_IO_EVENT, (m: JsonBenchMessage) => this.receive(i, m));
      socket.on('disconnect', (reason) => lost(`disconnected: ${reason}`));
      return new Promise((resolve, reject) => {
        socket.once('connect', () =>
          resolve({
            send: (m) => {
              socket.emit(SOCKET_IO_EVENT, m);
              return true;
            },
            close: () => socket.close(),
          }),
        );
        socket.once('connect_error', reject);
      });
    }
    const ws = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
    ws.on('message', (data) => this.receive(i, JSON.parse(String(data)) as JsonBenchMessage));
    ws.on('close', () => lost('connection closed'));
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        // ws sets no TCP_NODELAY on clients; neither side may wait for Nagle.
        (ws as unknown as { _socket?: { setNoDelay(on: boolean): void } })._socket?.setNoDelay(true);
        resolve({
          send: (m) => {
            if (ws.bufferedAmount > WS_HIGH_WATER_BYTES) return false;
            ws.send(JSON.stringify(m));
            return true;
          },
          close: () => ws.terminate(),
        });
      });
      ws.once('error', reject);
    });
  }
}

/** A driver factory for a baseline server of bench/mm.ts (`--serve socket.io` or `--serve ws`). */
export function jsonDriver(transport: JsonTransport): DriverFactory {
  return (context) => new JsonDriver(context, transport);
}

/**
 * The server side of a baseline: what it answers to one bench message from one client.
 * @returns the ack to send back to the sender (c2s), or null (a broadcast goes to every client)
 */
export function ackFor(message: JsonBenchMessage): JsonBenchMessage | null {
  if (message.gwbench !== MmTag.C2s) return null;
  return { gwbench: MmTag.Ack, n: message.n, h: typeof message.b === 'string' ? checksumString(message.b) : -1 };
}
