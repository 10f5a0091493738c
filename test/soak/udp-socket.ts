/** Raw UDP sockets for hostile peers, registered in a HostileSet so none outlives the soak. */
import dgram from 'node:dgram';
import type { HostileSet } from './component.js';

/** A bound raw socket and the datagrams it received. */
export interface RawUdp {
  socket: dgram.Socket;
  received: Buffer[];
  /** Send to 127.0.0.1:`port` (errors ignored: the peer is hostile, not careful). */
  send(bytes: Uint8Array | string, port: number): void;
  close(): void;
}

/** Bind a socket on 127.0.0.1, OS-chosen port; keeps at most `keep` received datagrams. */
export function rawUdp(set: HostileSet, keep = 64): Promise<RawUdp> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    let open = true;
    const peer: RawUdp = {
      socket,
      received: [],
      send(bytes, port) {
        if (!open) return;
        try {
          socket.send(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, port, '127.0.0.1', () => undefined);
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
      if (peer.received.length < keep) peer.received.push(msg);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(peer);
    });
  });
}
