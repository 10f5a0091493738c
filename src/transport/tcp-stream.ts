import { connect, type Socket } from 'node:net';
import { OutboundQueue } from './outbound-queue.js';
import type { ByteStream, StreamCloseInfo } from './types.js';

/**
 * A ByteStream over a TCP socket. Writes are queued and sent at `flush()` under cork/uncork, so
 * many small frames of one tick cost one syscall (DESIGN.md: one coalesced write per tick).
 */
export class TcpStream implements ByteStream {
  readonly kind = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  onData: (data: Uint8Array) => void = ignore;
  onClose: (info: StreamCloseInfo) => void = ignore;
  onWritten: (() => void) | undefined = undefined;
  owner: unknown = undefined;
  /** Handed over by a sibling worker (`relay --workers`, worker-handoff.ts): never handed on again. */
  adopted = false;
  /**
   * The chunk being delivered to `onData` right now, else null: tells a handoff (worker-handoff.ts)
   * that the bytes it holds are this read's own, not a parser's carried copy.
   */
  delivering: Uint8Array | null = null;

  private readonly socket: Socket;
  /** Writes until the next flush; closed when the socket is. */
  private readonly out = new OutboundQueue(this);
  private lastError: Error | undefined;

  /**
   * @param socket a connected socket; the stream takes it over.
   * @param initial bytes already read from it (by a protocol sniffer), delivered first.
   */
  constructor(socket: Socket, initial?: Uint8Array) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    // Handlers shared by every stream (this = the socket), so an idle connection holds no closures.
    (socket as SocketWithStream)[STREAM] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    if (initial && initial.length > 0) queueMicrotask(deliverInitial.bind(this, initial));
  }

  get open(): boolean {
    return !this.out.closed;
  }

  get bufferedBytes(): number {
    return this.out.bytes + this.socket.writableLength;
  }

  write(data: Uint8Array): void {
    this.out.write(data);
  }

  writeOwned(data: Uint8Array): void {
    this.out.writeOwned(data);
  }

  flush(): void {
    const queue = this.out.take();
    if (queue === null) return;
    const done = this.out.lastWriteCallback();
    if (queue.length === 1) {
      this.socket.write(queue[0]!, done);
      return;
    }
    this.socket.cork();
    const last = queue.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(queue[i]!);
    this.socket.write(queue[last]!, done);
    this.socket.uncork();
  }

  pause(): void {
    if (!this.out.closed) this.socket.pause();
  }

  resume(): void {
    if (!this.out.closed) this.socket.resume();
  }

  end(): void {
    if (this.out.closed) return;
    this.flush();
    this.socket.end();
  }

  destroy(): void {
    if (this.out.closed) return;
    this.out.clear();
    this.socket.destroy();
  }

  /**
   * Give the socket up without closing it, for another process to take over (`relay --workers`,
   * worker-handoff.ts): the socket stops reading at once (what the kernel holds stays there for
   * the next reader), this stream's handlers come off, and the stream reports itself closed,
   * cleanly, to its owner. It must not be ended or destroyed here afterwards: that would end the
   * connection for its new reader too.
   * @returns the socket, or null when it cannot be given up without losing or reordering bytes
   *   (some are read and buffered past the last delivery, or unsent output is queued) or when
   *   this Node has no way to stop its reading.
   */
  detach(): Socket | null {
    const socket = this.socket;
    const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } | null })._handle;
    if (this.out.closed || socket.readableLength > 0 || this.bufferedBytes > 0 || typeof handle?.readStop !== 'function') return null;
    socket.pause();
    // pause() alone lets the socket read on until its buffer is full: stop the handle itself.
    handle.reading = false;
    handle.readStop();
    socket.off('data', onSocketData);
    socket.off('error', onSocketError);
    socket.off('close', onSocketClose);
    socket.on('error', ignore);
    this.out.close();
    this.onClose({ clean: true });
    return socket;
  }

  /** @internal the socket's handlers below. */
  receive(data: Uint8Array): void {
    if (this.out.closed) return;
    this.delivering = data;
    this.onData(data);
    this.delivering = null;
  }

  /** @internal */
  failed(err: Error): void {
    this.lastError = err;
  }

  /** @internal */
  finish(): void {
    if (this.out.closed) return;
    this.out.close();
    this.onClose(this.lastError ? { clean: false, error: this.lastError } : { clean: true });
  }
}

/**
 * Make a socket read again that `detach` stopped and that is being taken over in this process
 * after all (a failed handoff): `resume()` alone does not restart the handle, since the stream
 * still counts the read that `detach` cut short as in progress.
 */
export function readAgain(socket: Socket): void {
  socket.resume();
  const handle = (socket as unknown as { _handle?: { readStart?: () => number; reading?: boolean } | null })._handle;
  if (handle && handle.reading === false && typeof handle.readStart === 'function') {
    handle.reading = true;
    handle.readStart();
  }
}

const STREAM = Symbol('gamewire.tcpStream');
type SocketWithStream = Socket & { [STREAM]: TcpStream };

function ignore(): void {}

function onSocketData(this: SocketWithStream, data: Buffer): void {
  this[STREAM].receive(data);
}

function onSocketError(this: SocketWithStream, err: Error): void {
  this[STREAM].failed(err);
}

function onSocketClose(this: SocketWithStream): void {
  this[STREAM].finish();
}

/** Bytes a protocol sniffer read before the stream existed, delivered first (bound, not a closure). */
function deliverInitial(this: TcpStream, initial: Uint8Array): void {
  this.receive(initial);
}

/**
 * Open a TCP ByteStream to `host:port`.
 * @returns a promise of the connected stream; rejects with the socket error.
 */
export function connectTcp(host: string, port: number, timeoutMs = 10_000): Promise<TcpStream> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(new TcpStream(socket));
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}
