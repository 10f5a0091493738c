/**
 * An in-memory ByteStream and connector, standing in for the relay so tests see and feed the
 * exact bytes of the joint protocol.
 */
import type { ByteStream, StreamCloseInfo } from '../../src/transport/types.js';
import { configureJointHooks, type JointClientPlatform, type JointConnector } from '../../src/joint/client-platform.js';
import { nodeJointHooks } from '../../src/peote/node-hooks.js';

export class FakeStream implements ByteStream {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 7680;
  onData: (data: Uint8Array) => void = () => {};
  onClose: (info: StreamCloseInfo) => void = () => {};
  /** Each flush's writes, one array per write call. */
  readonly writes: Uint8Array[] = [];
  flushes = 0;
  ended = false;
  destroyed = false;
  private queued: Uint8Array[] = [];

  constructor(readonly host: string, readonly port: number, readonly kind: 'tcp' | 'websocket' = 'tcp') {}

  get open(): boolean {
    return !this.ended && !this.destroyed;
  }
  get bufferedBytes(): number {
    return 0;
  }
  write(data: Uint8Array): void {
    this.queued.push(data.slice());
  }
  flush(): void {
    if (this.queued.length === 0) return;
    this.flushes++;
    this.writes.push(...this.queued);
    this.queued = [];
  }
  end(): void {
    this.flush();
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Everything written so far, concatenated; and forget it. */
  take(): Uint8Array {
    const total = this.writes.reduce((n, w) => n + w.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const w of this.writes) {
      out.set(w, at);
      at += w.length;
    }
    this.writes.length = 0;
    return out;
  }
  /** Bytes from the relay. */
  feed(bytes: Uint8Array | number[]): void {
    this.onData(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }
  /** The relay closed the connection. */
  close(): void {
    this.onClose({ clean: true });
  }
}

/**
 * Install a connector that hands out FakeStreams in `hooks` (default: the Node entry's, which
 * its PeoteServer and PeoteClient use); returns them as they are made, the hooks and an undo.
 */
export function installFakeConnector(
  options: { kind?: 'tcp' | 'websocket'; fail?: boolean } = {},
  hooks: JointClientPlatform = nodeJointHooks,
): { streams: FakeStream[]; hooks: JointClientPlatform; restore: () => void } {
  const previous = hooks.connect;
  const streams: FakeStream[] = [];
  const connect: JointConnector = (host, port) => {
    if (options.fail) return Promise.reject(new Error('connection refused'));
    const stream = new FakeStream(host, port, options.kind);
    streams.push(stream);
    return Promise.resolve(stream);
  };
  configureJointHooks(hooks, { connect });
  return { streams, hooks, restore: () => configureJointHooks(hooks, { connect: previous }) };
}

/** Let promises and microtasks settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Bytes as hex with spaces. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}
