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

  /** @internal the socket's handlers below. */
  receive(data: Uint8Array): void {
    if (!this.out.closed) this.onData(data);
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
