/**
 * Test harness for the native relay engine's binding (issue 19): an engine on 127.0.0.1 with
 * every config field given (small timers where a test wants them), its events collected, and raw
 * TCP clients with awaitable reads. The binding is driven directly, as the control plane would.
 */
import { connect, type Socket } from 'node:net';
import { UnitDecoder } from '../relay/raw-client.js';
import { RELAY_EVENT_STRIDE, relayEngineBinding, type RelayEngineBinding, type RelayEngineConfig } from '../../src/core/index.js';

/** Why the native engine tests cannot run here, or null when they can. */
export const SKIP_REASON: string | null =
  relayEngineBinding === undefined
    ? `native relay engine not available (${process.env.GAMEWIRE_NATIVE === '0' ? 'GAMEWIRE_NATIVE=0: fallback run' : `addon without RelayEngine on ${process.platform}`})`
    : null;
if (SKIP_REASON !== null) console.warn(`SKIPPED test/native-engine: ${SKIP_REASON}`);

export const EventType = { Accept: 1, Command: 2, Closed: 3, Remote: 4, Connect: 5, Backlog: 6 } as const;

export interface EngineEvent {
  type: number;
  conn: number;
  a: number;
  b: number;
  c: number;
  /** Slot 7 (REMOTE: the frame flags). */
  flags: number;
  bytes: Buffer;
}

export const BASE_CONFIG: RelayEngineConfig = {
  host: '127.0.0.1',
  port: 0,
  websocket: true,
  maxWebSocketPayloadBytes: 65536,
  loginTimeoutMs: 5000,
  idleTimeoutMs: 0,
  stallTimeoutMs: 30_000,
  keepaliveMs: 0,
  maxOutboundBytes: 16 * 1024 * 1024,
  outboundHighWaterBytes: 512 * 1024,
  outboundLowWaterBytes: 128 * 1024,
  inboundBytesPerSec: 0,
  inboundUnitsPerSec: 0,
  inboundBurstSeconds: 1,
  inboundPolicy: 0,
};

const live = new Set<{ close(): void }>();

/** Stop every engine and destroy every client made since the last call (afterEach). */
export function cleanup(): void {
  for (const x of live) x.close();
  live.clear();
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export class Harness {
  readonly engine: RelayEngineBinding;
  readonly events: EngineEvent[] = [];
  /** Batches delivered (one JavaScript call each). */
  batches = 0;
  /** Called for each record as it is delivered (inside the engine's call). */
  onRecord?: (type: number) => void;
  port = 0;
  private taken = 0;
  private readonly statsOut: Float64Array;
  private readonly names: readonly string[];

  constructor(config: Partial<RelayEngineConfig> = {}) {
    const Engine = relayEngineBinding!;
    this.names = Engine.statsNames;
    this.statsOut = new Float64Array(this.names.length);
    this.engine = new Engine({ ...BASE_CONFIG, ...config }, (records, count, bytes) => {
      this.batches++;
      for (let i = 0; i < count; i++) {
        const r = i * RELAY_EVENT_STRIDE;
        const offset = records[r + 5]!;
        const length = records[r + 6]!;
        this.events.push({ type: records[r]!, conn: records[r + 1]!, a: records[r + 2]!, b: records[r + 3]!, c: records[r + 4]!, flags: records[r + 7]!, bytes: Buffer.from(bytes.subarray(offset, offset + length)) });
        this.onRecord?.(records[r]!);
      }
    });
    live.add({ close: () => this.engine.stop() });
  }

  static start(config: Partial<RelayEngineConfig> = {}): Harness {
    const h = new Harness(config);
    h.port = h.engine.listen();
    h.engine.start();
    return h;
  }

  /** The next event (in order) matching `pred`, skipping none: events before it stay queued. */
  async next(type: number, conn?: number, timeoutMs = 3000): Promise<EngineEvent> {
    return until(`event ${type}${conn !== undefined ? ` of ${conn}` : ''}`, timeoutMs, () => {
      for (let i = this.taken; i < this.events.length; i++) {
        const e = this.events[i]!;
        if (e.type === type && (conn === undefined || e.conn === conn)) {
          this.events.splice(i, 1);
          return e;
        }
      }
      return undefined;
    });
  }

  stats(): Record<string, number> {
    this.engine.stats(this.statsOut);
    const out: Record<string, number> = {};
    this.names.forEach((n, i) => (out[n] = this.statsOut[i]!));
    return out;
  }

  async statsUntil(what: string, pred: (s: Record<string, number>) => boolean, timeoutMs = 3000): Promise<Record<string, number>> {
    return until(what, timeoutMs, () => {
      const s = this.stats();
      return pred(s) ? s : undefined;
    });
  }

  /** Connect a client, send `first`, and admit it: returns the client and its connection id. */
  async accept(first: Uint8Array): Promise<{ client: Client; conn: number }> {
    const client = await Client.connect(this.port);
    client.write(first);
    const e = await this.next(EventType.Accept, undefined);
    expectEqual(e.b, client.localPort, 'ACCEPT remote port');
    this.engine.admit(e.conn);
    return { client, conn: e.conn };
  }

  /**
   * A connection that created joint `jOwn` (the create command and its OK reply, as the control
   * plane would answer it).
   */
  async owner(id: string, jOwn = 0): Promise<{ client: Client; conn: number }> {
    const o = await this.accept(command(0, 1, Buffer.from(id)));
    const cmd = await this.next(EventType.Command, o.conn);
    expectEqual(cmd.a, 0, 'create cmd');
    this.engine.send(o.conn, Uint8Array.of(0, 3, 1, 0, jOwn));
    this.engine.own(o.conn, jOwn, true);
    this.engine.resume(o.conn);
    await o.client.read(5);
    return o;
  }

  /** A connection that entered `owner`'s joint `jOwn` as in-joint `jIn`, user `userNr`. */
  async user(owner: number, id: string, jIn: number, jOwn: number, userNr: number): Promise<{ client: Client; conn: number }> {
    const u = await this.accept(command(1, 1, Buffer.from(id)));
    const cmd = await this.next(EventType.Command, u.conn);
    expectEqual(cmd.a, 1, 'enter cmd');
    this.engine.enter(u.conn, jIn, owner, jOwn, userNr);
    this.engine.send(u.conn, Uint8Array.of(0, 3, 1, 0, jIn));
    this.engine.resume(u.conn);
    await u.client.read(5);
    return u;
  }
}

function expectEqual(got: unknown, want: unknown, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, want ${String(want)}`);
}

/** `00 cmd cmdNr len payload` (joint.md §3). */
export function command(cmd: number, cmdNr: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(0, cmd, cmdNr, payload.length), payload]);
}

/** A data frame: size (joint.md §2.2) then `body`. */
export function frame(body: Uint8Array): Buffer {
  const size = body.length;
  const head = size < 128 ? Buffer.of(size) : Buffer.of((size >> 8) + 0x80, size & 0xff);
  return Buffer.concat([head, body]);
}

/** A raw TCP client collecting what it receives. */
export class Client {
  private received: Buffer[] = [];
  private bytes = 0;
  closed = false;
  total = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received.push(d);
      this.bytes += d.length;
      this.total += d.length;
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
    live.add({ close: () => socket.destroy() });
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get available(): number {
    return this.bytes;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  takeAll(): Buffer {
    const out = Buffer.concat(this.received);
    this.received = [];
    this.bytes = 0;
    return out;
  }

  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    await until(`${n} bytes (have ${this.bytes})`, timeoutMs, () => (this.bytes >= n ? true : this.closed ? (() => { throw new Error(`closed with ${this.bytes}/${n} bytes`); })() : undefined));
    const all = this.takeAll();
    if (all.length > n) {
      this.received = [all.subarray(n)];
      this.bytes = all.length - n;
    }
    return all.subarray(0, n);
  }

  /**
   * Wait until the data units received add up to `n` bytes and take them all, decoded (joint.md
   * §2.4; consecutive pieces of one route joined, since the engine may re-fragment, §8). Every
   * frame is checked to be at most 32767 by the size field itself.
   */
  async readData(n: number, timeoutMs = 5000): Promise<{ a: number; b: number; data: Buffer }[]> {
    const decoder = new UnitDecoder();
    let have = 0;
    await until(`${n} data bytes`, timeoutMs, () => {
      const chunk = this.takeAll();
      if (chunk.length > 0) {
        decoder.feed(chunk);
        if (decoder.error !== 0) throw new Error(`the engine sent bytes that do not parse (error ${decoder.error})`);
        have = 0;
        for (const u of decoder.units) if (u.kind === 'data') have += u.data.length;
      }
      return have >= n ? true : undefined;
    });
    return decoder.units.filter((u) => u.kind === 'data') as { a: number; b: number; data: Buffer }[];
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    await until('the socket to close', timeoutMs, () => (this.closed ? true : undefined));
  }
}
