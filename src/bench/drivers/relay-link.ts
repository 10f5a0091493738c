/**
 * One connection of the relay bench driver to a joint relay, raw TCP or WebSocket (joint.md §9):
 * connecting with an error a user can act on, and the outbound slab that turns the frames of one
 * tick into one socket write (one WebSocket message).
 */
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { RELAY_SLAB_BYTES } from './relay-limits.js';

const EMPTY = Buffer.alloc(0);
const ignore = (): void => {};

/** Where a connection goes, for messages: `127.0.0.1:7680` or `ws://127.0.0.1:7680/`. */
export function targetName(host: string, port: number, ws: boolean): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return ws ? `ws://${h}:${port}/` : `${h}:${port}`;
}

/**
 * A connection to the relay. Outbound bytes are written by the caller straight into `slab` at
 * `fill` (after `room()`), and `push()` hands the bytes written since the last push to the socket
 * without copying: the slab is never written again below `fill`, so the socket may hold on to
 * them (ws and net keep references until sent).
 */
export class RelayLink {
  /** Outbound slab: bytes [start, fill) are written and not yet handed to the socket. */
  slab: Buffer = EMPTY;
  start = 0;
  fill = 0;
  /** Set when bytes were written since the last push (the driver's per-tick flush list). */
  dirty = false;
  /** True once the socket closed, whatever the cause. */
  closed = false;
  /** Inbound bytes, borrowed for the call. */
  onBytes: (data: Buffer) => void = ignore;
  /** Called once when the socket closes: null after a clean close, else the socket error. */
  onClose: (error: Error | null) => void = ignore;
  /** Resolves when the socket is closed. */
  readonly whenClosed: Promise<void>;

  private socket: Socket | null = null;
  private ws: WebSocket | null = null;
  private lastError: Error | null = null;
  private markClosed: () => void = ignore;

  constructor() {
    this.whenClosed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /**
   * Connect to the relay. Rejects with a one-line reason (refused, unknown host, not a WebSocket
   * server...) when the connection cannot be made; the caller bounds the time.
   * @param host the relay's host name or address.
   * @param port its port.
   * @param ws true for a WebSocket (`ws://host:port/`), false for raw TCP.
   */
  connect(host: string, port: number, ws: boolean): Promise<void> {
    const where = targetName(host, port, ws);
    if (this.closed || this.socket !== null || this.ws !== null) {
      return Promise.reject(new Error(`cannot connect to the relay at ${where}: this connection was ${this.closed ? 'closed' : 'already opened'}`));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (): void => {
        if (settled) return;
        settled = true;
        reject(connectError(where, this.lastError));
      };
      const opened = (): void => {
        if (settled) return;
        settled = true;
        resolve();
      };
      if (ws) {
        const url = where;
        // Deflate would measure the generator's zlib, not the relay; the original offers none.
        const socket = new WebSocket(url, { perMessageDeflate: false });
        this.ws = socket;
        socket.on('open', () => {
          // ws sets no TCP_NODELAY on clients; a bench must not wait for Nagle.
          (socket as unknown as { _socket?: Socket })._socket?.setNoDelay(true);
          opened();
        });
        socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
          if (!this.closed) this.onBytes(data as Buffer);
        });
        socket.on('error', (err: Error) => (this.lastError = err));
        socket.on('close', () => {
          fail();
          this.finish();
        });
      } else {
        const socket = connect({ host, port });
        this.socket = socket;
        socket.setNoDelay(true);
        socket.on('connect', opened);
        socket.on('data', (data: Buffer) => {
          if (!this.closed) this.onBytes(data);
        });
        socket.on('error', (err: Error) => (this.lastError = err));
        socket.on('close', () => {
          fail();
          this.finish();
        });
      }
    });
  }

  /** Bytes written and not yet sent: in the slab, queued in the socket, or buffered by ws. */
  get buffered(): number {
    const inSocket = this.socket !== null ? this.socket.writableLength : this.ws !== null ? this.ws.bufferedAmount : 0;
    return this.fill - this.start + inSocket;
  }

  /**
   * Make room for `bytes` more bytes at `fill`, pushing what the slab holds and starting a new one
   * when they do not fit. Write into `slab` from `fill` afterwards and advance `fill`.
   */
  room(bytes: number): Buffer {
    if (this.slab.length - this.fill < bytes) {
      this.push();
      this.slab = Buffer.allocUnsafe(Math.max(RELAY_SLAB_BYTES, bytes));
      this.start = 0;
      this.fill = 0;
    }
    return this.slab;
  }

  /** Copy `bytes` into the slab (rare messages: commands). */
  write(bytes: Uint8Array): void {
    const slab = this.room(bytes.length);
    slab.set(bytes, this.fill);
    this.fill += bytes.length;
  }

  /** Hand the bytes written since the last push to the socket (one write, one WS message). */
  push(): void {
    this.dirty = false;
    if (this.fill === this.start) return;
    const bytes = this.slab.subarray(this.start, this.fill);
    this.start = this.fill;
    if (this.closed) return;
    if (this.socket !== null) this.socket.write(bytes);
    else if (this.ws !== null && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary: true });
  }

  /** Push what is written, then end the connection gracefully (FIN, or a WS close 1000). */
  end(): void {
    if (this.closed) return;
    if (this.socket === null && this.ws === null) return this.finish();
    this.push();
    if (this.socket !== null) this.socket.end();
    else if (this.ws !== null) {
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      else this.ws.close(1000);
    }
  }

  /** Close now, dropping anything unsent. */
  destroy(): void {
    if (this.closed) return;
    if (this.socket === null && this.ws === null) return this.finish();
    if (this.socket !== null) this.socket.destroy();
    else this.ws?.terminate();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.slab = EMPTY;
    this.start = this.fill = 0;
    this.onClose(this.lastError);
    this.markClosed();
  }
}

/**
 * The links written to in this tick, each pushed once in a microtask: every frame a driver
 * writes in one tick leaves its link in one socket write. Shared by the relay driver and the
 * tcp forwarder baseline (bench/drivers/tcp-forwarder.ts), so both pay the same write cost.
 */
export class TickFlush {
  /** Links marked since the last flush (reused array). */
  private readonly links: RelayLink[] = [];
  private queued = false;
  /** The flush of a tick, made once (no closure per tick). */
  private readonly flushAll = (): void => {
    this.queued = false;
    const links = this.links;
    for (let i = 0; i < links.length; i++) links[i]!.push();
    links.length = 0;
  };

  /** Call after writing into `link`'s slab: it is pushed at the end of this tick. */
  mark(link: RelayLink): void {
    if (link.dirty) return;
    link.dirty = true;
    this.links.push(link);
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(this.flushAll);
    }
  }
}

/** The one line `open()` rejects with when a connection cannot be made. */
function connectError(where: string, err: Error | null): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  let why: string;
  if (code === 'ECONNREFUSED') why = 'connection refused (ECONNREFUSED); is a relay listening there?';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `host not found (${code})`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') why = `unreachable (${code})`;
  else if (code === 'ECONNRESET') why = 'connection reset (ECONNRESET)';
  else if (err !== null) why = err.message;
  else why = 'closed before the connection was established';
  return new Error(`cannot connect to the relay at ${where}: ${why}`, { cause: err ?? undefined });
}
