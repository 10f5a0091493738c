/** Raw UDP sockets for hostile peers, registered in a HostileSet so none outlives the soak. */
import dgram from 'node:dgram';
import type { HostileSet } from './component.js';

/** A bound raw socket and the datagrams it received. */
export interface RawUdp {
  socket: dgram.Socket;
  received: Buffer[];
  /** Bytes sent and received in all (received counts past `keep` too): the reflection checks. */
  bytesSent: number;
  bytesReceived: number;
  /** Send to 127.0.0.1:`port` (errors ignored: the peer is hostile, not careful). */
  send(bytes: Uint8Array | string, port: number): void;
  close(): void;
}

/** Bind a socket on `host` (a loopback address), OS-chosen port; keeps at most `keep` received datagrams. */
export function rawUdp(set: HostileSet, keep = 64, host = '127.0.0.1'): Promise<RawUdp> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    let open = true;
    const peer: RawUdp = {
      socket,
      received: [],
      bytesSent: 0,
      bytesReceived: 0,
      send(bytes, port) {
        if (!open) return;
        try {
          const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
          peer.bytesSent += b.length;
          socket.send(b, port, '127.0.0.1', () => undefined);
        } catch {
          /* closed meanwhile */
        }
      },
      close() {
        if (!open) return;
        open = false;
        release();
        try {
          socket.close();
        } catch {
          /* already closed */
        }
      },
    };
    const release = set.hold(() => peer.close());
    socket.on('message', (msg) => {
      peer.bytesReceived += msg.length;
      if (peer.received.length < keep) peer.received.push(msg);
    });
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(peer);
    });
  });
}
