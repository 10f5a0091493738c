/**
 * A WebSocket client written by hand on a raw socket, for tests that must send what a library
 * client would not (bursts of pings in one write) and see every frame that comes back.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface WsFrame {
  opcode: number;
  payload: Buffer;
}

export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** One masked client frame (payload < 65536). */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

export class RawWebSocket {
  readonly frames: WsFrame[] = [];
  closed = false;
  /** Bytes read after the upgrade response. */
  bytesIn = 0;
  private buf = Buffer.alloc(0);
  private upgraded = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  /** Connect to 127.0.0.1:`port` and complete the upgrade. */
  static open(port: number, localAddress?: string): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      const ws = new RawWebSocket(socket);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(
          `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const wait = setInterval(() => {
        if (ws.upgraded) {
          clearInterval(wait);
          resolve(ws);
        } else if (ws.closed) {
          clearInterval(wait);
          reject(new Error('closed during the upgrade'));
        }
      }, 2);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  of(opcode: number): WsFrame[] {
    return this.frames.filter((f) => f.opcode === opcode);
  }

  /** Payload bytes of every binary frame, joined. */
  binary(): Buffer {
    return Buffer.concat(this.of(OP_BINARY).map((f) => f.payload));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
    }
    this.bytesIn += d.length;
    for (;;) {
      if (this.buf.length < 2) return;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      this.frames.push({ opcode: this.buf[0]! & 0x0f, payload: Buffer.from(this.buf.subarray(at, at + len)) });
      this.buf = this.buf.subarray(at + len);
    }
  }
}
