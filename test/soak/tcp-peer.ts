/**
 * Raw TCP helpers for hostile peers: connect, write, wait for the server to close us, with
 * every socket registered in a HostileSet so nothing outlives the soak.
 */
import net from 'node:net';
import { sleep, type HostileSet } from './component.js';

/** A hostile raw TCP connection and what happened to it. */
export interface RawPeer {
  socket: net.Socket;
  /** Bytes received from the server. */
  received: number;
  /** Resolves when the socket closed (by either side). */
  closed: Promise<void>;
  /** True once closed. */
  isClosed(): boolean;
  /** True when the server closed or reset the connection (we did not kill it first). */
  closedByServer(): boolean;
  /** Destroy the socket from our side (closedByServer() stays false if it was still open). */
  kill(): void;
  /** Received bytes, kept up to `keep` bytes (for handshakes). */
  data: Buffer[];
}

/**
 * Connect to 127.0.0.1:`port`. Resolves when connected (or rejects); the socket is destroyed
 * at `set.close()` at the latest.
 * @param keep bytes of received data to keep in `data` (default 0: count only)
 * @param read false: never read (a slow reader: the socket is paused at once)
 * @param from local (source) address, another loopback address than the good clients' 127.0.0.1 (default: the OS's choice)
 */
export function connectRaw(set: HostileSet, port: number, keep = 0, read = true, from?: string): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    let closed = false;
    let killed = false;
    let kept = 0;
    const peer: RawPeer = {
      socket,
      received: 0,
      data: [],
      closed: new Promise<void>((done) => socket.once('close', () => done())),
      isClosed: () => closed,
      closedByServer: () => closed && !killed,
      kill: () => {
        if (!closed) killed = true;
        socket.destroy();
      },
    };
    const release = set.hold(() => peer.kill());
    socket.once('close', () => {
      closed = true;
      release();
    });
    socket.on('error', () => undefined);
    if (!read) socket.pause();
    socket.on('data', (d: Buffer) => {
      peer.received += d.length;
      if (kept < keep) {
        peer.data.push(d);
        kept += d.length;
      }
    });
    socket.once('connect', () => resolve(peer));
    socket.once('error', (err) => {
      if (socket.connecting) reject(err);
    });
    socket.setNoDelay(true);
  });
}

/** Wait until the peer is closed or `ms` passed; true when closed. */
export async function closedWithin(peer: RawPeer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    peer.closed.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return closed;
}

/** Write and wait for the write to be flushed to the kernel (or the socket to fail). */
export function writeAll(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(bytes, () => resolve());
  });
}

/** Open and drop `count` connections (from `from`) as fast as the server takes them; some send `first` bytes. */
export async function connectStorm(set: HostileSet, port: number, count: number, first?: () => Uint8Array, from?: string): Promise<number> {
  let opened = 0;
  const tasks: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    tasks.push(
      connectRaw(set, port, 0, true, from)
        .then(async (p) => {
          opened++;
          if (first && i % 2 === 0) p.socket.write(first());
          if (i % 3 === 0) await sleep(1);
          if (i % 4 === 0) p.socket.end();
          else p.socket.destroy();
        })
        .catch(() => undefined),
    );
  }
  await Promise.all(tasks);
  return opened;
}
