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
  onData: (data: Uint8Array) => void = () => {};
  onClose: (info: StreamCloseInfo) => void = () => {};
  onWritten: (() => void) | undefined = undefined;

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
    socket.on('data', (data: Buffer) => {
      if (!this.out.closed) this.onData(data);
    });
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.finish());
    if (initial && initial.length > 0) queueMicrotask(() => !this.out.closed && this.onData(initial));
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

  private finish(): void {
    if (this.out.closed) return;
    this.out.close();
    this.onClose(this.lastError ? { clean: false, error: this.lastError } : { clean: true });
  }
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
