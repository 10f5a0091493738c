/**
 * Test clients for a running relay: a raw TCP client and a WebSocket client that collect what
 * the relay sends, with awaitable reads. Every client is tracked so `closeAll()` (afterEach)
 * leaves no socket open.
 */
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ErrorCode, JOINT_UNIT_STRIDE, JointDirection, JointParserJs, JointUnitKind, UnitFlag } from '../../src/core/index.js';

const open = new Set<{ destroy(): void }>();

/** Destroy every client made since the last call. */
export function closeAll(): void {
  for (const c of open) c.destroy();
  open.clear();
}

/** `"04 00 41"` with `{N*XX}` runs (N copies of byte XX) → bytes. */
export function hexBytes(text: string): Buffer {
  const expanded = text.replace(/\{(\d+)\*([0-9a-fA-F]{2})\}/g, (_, n: string, b: string) => b.repeat(Number(n)));
  const clean = expanded.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(clean, 'hex');
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/** A unit as a client sees it: a control message, or data of one route (pieces joined). */
export type SeenUnit = { kind: 'control'; hex: string } | { kind: 'data'; a: number; b: number; data: Buffer };

/**
 * Decodes a relay → client stream into units, joining consecutive data pieces of one route:
 * the relay may re-fragment (joint.md §8), so tests compare these, not frame boundaries.
 */
export class UnitDecoder {
  readonly units: SeenUnit[] = [];
  private readonly parser = new JointParserJs({ direction: JointDirection.ToClient });
  /** Largest frame size seen (bytes); never above 32767 by construction of the size field. */
  error = ErrorCode.Ok as number;

  feed(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length && this.error === ErrorCode.Ok) {
      const n = this.parser.feed(bytes, offset, bytes.length - offset);
      const u = this.parser.units;
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        const src = u[i + 1]! & UnitFlag.InCarry ? this.parser.carry() : bytes;
        const data = Buffer.from(src.subarray(u[i + 4]!, u[i + 4]! + u[i + 5]!));
        if (u[i] === JointUnitKind.Control) {
          this.units.push({ kind: 'control', hex: hexOf(Buffer.concat([Buffer.of(0, data.length), data])) });
        } else {
          const last = this.units[this.units.length - 1];
          if (last && last.kind === 'data' && last.a === u[i + 2] && last.b === u[i + 3]) last.data = Buffer.concat([last.data, data]);
          else this.units.push({ kind: 'data', a: u[i + 2]!, b: u[i + 3]!, data });
        }
      }
      this.error = this.parser.error;
      offset += this.parser.consumed;
      if (this.parser.consumed === 0) break;
    }
  }
}

/** Units of `hex` as a client would see them. */
export function unitsOf(hex: string | Uint8Array): SeenUnit[] {
  const d = new UnitDecoder();
  d.feed(typeof hex === 'string' ? hexBytes(hex) : hex);
  if (d.error !== ErrorCode.Ok) throw new Error(`expected bytes do not parse: error ${d.error}`);
  return d.units;
}

/** A readable form of units, for assertions. */
export function describeUnits(units: SeenUnit[]): string[] {
  return units.map((u) => (u.kind === 'control' ? `control ${u.hex}` : `data ${u.a}/${u.b} ${u.data.length}B ${hexOf(u.data.subarray(0, 16))}${u.data.length > 16 ? ' ... ' + hexOf(u.data.subarray(u.data.length - 4)) : ''}`));
}

/** What every test client offers. */
export abstract class TestClient {
  protected received: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  /** Total bytes ever received. */
  total = 0;
  readonly closedPromise: Promise<void>;
  protected markClosed!: () => void;

  constructor() {
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
    open.add(this);
  }

  abstract send(data: Uint8Array | string): void;
  abstract destroy(): void;

  /**
   * Units decoded by `takeUnits` (which moves every raw byte not yet read into it). Use either
   * raw reads or units for a stretch of the stream, not both at once.
   */
  readonly decoder = new UnitDecoder();
  protected push(data: Uint8Array): void {
    this.received = Buffer.concat([this.received, data]);
    this.total += data.length;
    this.wake();
  }

  protected wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Bytes received and not yet taken. */
  get available(): number {
    return this.received.length;
  }

  /** Take everything received so far. */
  takeAll(): Buffer {
    const out = this.received;
    this.received = Buffer.alloc(0);
    return out;
  }

  /** Wait until `n` bytes are there and take them; rejects after `timeoutMs` or on close. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (this.closed) throw new Error(`closed with ${this.received.length}/${n} bytes: ${hexOf(this.received.subarray(0, 64))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout with ${this.received.length}/${n} bytes: ${hexOf(this.received.subarray(0, 64))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return Buffer.from(out);
  }

  /** Read exactly the bytes of `hex` and return them (as hex) for an `expect`. */
  async readHex(hex: string, timeoutMs = 3000): Promise<string> {
    return hexOf(await this.read(hexBytes(hex).length, timeoutMs));
  }

  /** Resolves true when closed within `timeoutMs`. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    if (this.closed) return true;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((resolve) => (t = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(t);
    return r;
  }

  /** Wait until `predicate()` or timeout. */
  async until(predicate: () => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return predicate();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /**
   * Consume from the decoded units the content of `expected`: a control message is one unit; a
   * data unit is the next bytes of that route, however many frames carried them (joint.md §8).
   * Stops at the first mismatch. @returns what was consumed, in `expected`'s shape.
   */
  async takeUnits(expected: SeenUnit[], timeoutMs = 3000): Promise<SeenUnit[]> {
    const out: SeenUnit[] = [];
    const queue = this.decoder.units;
    const pull = () => {
      if (this.received.length > 0) this.decoder.feed(this.takeAll());
      return queue.length > 0;
    };
    for (const want of expected) {
      if (!(await this.until(pull, timeoutMs))) break;
      const head = queue[0]!;
      if (want.kind === 'control' || head.kind === 'control' || head.a !== want.a || head.b !== want.b) {
        out.push(queue.shift()!);
        if (want.kind === 'control') continue;
        break;
      }
      const parts: Buffer[] = [];
      let have = 0;
      while (have < want.data.length) {
        if (!(await this.until(pull, timeoutMs))) break;
        const h = queue[0]!;
        if (h.kind !== 'data' || h.a !== want.a || h.b !== want.b) break;
        const take = Math.min(h.data.length, want.data.length - have);
        parts.push(h.data.subarray(0, take));
        have += take;
        if (take === h.data.length) queue.shift();
        else h.data = h.data.subarray(take);
      }
      out.push({ kind: 'data', a: want.a, b: want.b, data: Buffer.concat(parts) });
    }
    return out;
  }

  /** Units decoded and not consumed, after decoding what has arrived. */
  get pendingUnits(): number {
    if (this.received.length > 0) this.decoder.feed(this.takeAll());
    return this.decoder.units.length;
  }

  /** Wait `ms` and return how many bytes arrived meanwhile (taking them). */
  async silence(ms: number): Promise<Buffer> {
    await new Promise((r) => setTimeout(r, ms));
    return this.takeAll();
  }
}

/** A raw TCP client. */
export class TcpClient extends TestClient {
  private constructor(readonly socket: Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.markClosed();
      this.wake();
    });
  }

  /** @param localAddress source address (another loopback address stands for another client IP). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress });
      socket.once('connect', () => resolve(new TcpClient(socket)));
      socket.once('error', reject);
    });
  }

  send(data: Uint8Array | string): void {
    this.socket.write(typeof data === 'string' ? hexBytes(data) : data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A WebSocket client; each `send` is one binary message. */
export class WsClient extends TestClient {
  /** Every binary message received, in order. */
  readonly messages: Buffer[] = [];

  private constructor(readonly ws: WebSocket) {
    super();
    ws.binaryType = 'nodebuffer';
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) this.messages.push(d);
      this.push(d);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      this.closed = true;
      this.markClosed();
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${host}:${port}/`);
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('error', reject);
    });
  }

  send(data: Uint8Array | string): void {
    this.ws.send(typeof data === 'string' ? hexBytes(data) : data);
  }

  destroy(): void {
    this.ws.terminate();
  }
}
