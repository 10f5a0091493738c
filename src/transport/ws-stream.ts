import { OutboundQueue } from './outbound-queue.js';
import type { ByteStream, StreamCloseInfo } from './types.js';

/**
 * The part of a WebSocket this module uses: satisfied by the `ws` package's WebSocket (Node)
 * and by the browser's WebSocket, so this file imports nothing from Node.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onopen?: ((event?: unknown) => void) | null;
}

const OPEN = 1;

function ignore(): void {}
const textEncoder = new TextEncoder();

/**
 * A ByteStream over a WebSocket: inbound binary and text messages are concatenated into one
 * byte stream (joint.md §9); outbound, each `write()` is one binary message.
 */
export class WsStream implements ByteStream {
  readonly kind = 'websocket' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  onData: (data: Uint8Array) => void = ignore;
  onClose: (info: StreamCloseInfo) => void = ignore;
  onWritten: (() => void) | undefined = undefined;
  owner: unknown = undefined;

  private readonly socket: WebSocketLike;
  /** Writes until the next flush; closed when the socket is. */
  private readonly out = new OutboundQueue(this);
  /** The underlying net.Socket on a server, for cork/uncork; absent in browsers. */
  private readonly raw: { cork(): void; uncork(): void; writableLength?: number } | undefined;
  private lastError: Error | undefined;

  constructor(socket: WebSocketLike, remoteAddress = '', remotePort = 0, raw?: WsStream['raw']) {
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.raw = raw;
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => {
      if (this.out.closed) return;
      const data = event.data;
      if (data instanceof ArrayBuffer) {
        if (data.byteLength > 0) this.onData(new Uint8Array(data));
      } else if (typeof data === 'string') {
        if (data.length > 0) this.onData(textEncoder.encode(data));
      } else if (ArrayBuffer.isView(data)) {
        if (data.byteLength > 0) this.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      }
    };
    socket.onerror = (event) => {
      const err = (event as { error?: unknown })?.error;
      this.lastError = err instanceof Error ? err : new Error('websocket error');
    };
    socket.onclose = (event) => this.finish(event.wasClean && !this.lastError);
  }

  get open(): boolean {
    return !this.out.closed;
  }

  get bufferedBytes(): number {
    return this.out.bytes + this.socket.bufferedAmount + (this.raw?.writableLength ?? 0);
  }

  write(data: Uint8Array): void {
    this.out.write(data);
  }

  writeOwned(data: Uint8Array): void {
    this.out.writeOwned(data);
  }

  flush(): void {
    const queue = this.out.take();
    if (queue === null || this.socket.readyState !== OPEN) return;
    this.raw?.cork();
    // Only `ws` on a server (`raw` present) reports completion; a browser's send takes no callback.
    const done = this.raw === undefined ? undefined : this.out.lastWriteCallback();
    const last = done === undefined ? queue.length : queue.length - 1;
    for (let i = 0; i < last; i++) this.socket.send(queue[i]!);
    if (done !== undefined) this.socket.send(queue[last]!, done);
    this.raw?.uncork();
  }

  /** Pauses the `ws` socket (Node); browsers have no pause, and this does nothing there. */
  pause(): void {
    if (!this.out.closed) (this.socket as { pause?: () => void }).pause?.();
  }

  resume(): void {
    if (!this.out.closed) (this.socket as { resume?: () => void }).resume?.();
  }

  end(): void {
    if (this.out.closed) return;
    this.flush();
    this.socket.close(1000);
  }

  destroy(): void {
    if (this.out.closed) return;
    this.out.clear();
    const terminate = (this.socket as { terminate?: () => void }).terminate;
    if (typeof terminate === 'function') terminate.call(this.socket);
    else this.socket.close(1000);
    // Browsers report close asynchronously; report now so callers see one consistent order.
    this.finish(true);
  }

  private finish(clean: boolean): void {
    if (this.out.closed) return;
    this.out.close();
    this.onClose(clean ? { clean: true } : { clean: false, error: this.lastError ?? new Error('websocket closed abnormally') });
  }
}

/**
 * Open a WebSocket ByteStream to `url` with the given WebSocket constructor (the browser's
 * global, or the `ws` package's in Node).
 */
export function connectWebSocket(
  url: string,
  WebSocketImpl: new (url: string) => WebSocketLike,
  timeoutMs = 10_000,
): Promise<WsStream> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocketImpl(url);
    socket.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      socket.onopen = null;
      socket.close();
      reject(new Error(`websocket connect to ${url} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.onopen = () => {
      clearTimeout(timer);
      resolve(new WsStream(socket, url, 0));
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`websocket connect to ${url} failed`));
    };
  });
}
