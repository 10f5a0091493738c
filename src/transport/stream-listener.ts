import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { TcpStream } from './tcp-stream.js';
import { WsStream, type WebSocketLike } from './ws-stream.js';
import type { ByteStream } from './types.js';

/** First byte of an HTTP request line (`GET`): the connection is a WebSocket (joint.md §9). */
const HTTP_FIRST_BYTE = 0x47;

/** Options of `listenStreams`. */
export interface StreamListenerOptions {
  /** Address to bind (default `127.0.0.1`). */
  host?: string;
  /** Port to bind; 0 lets the OS choose (default 0). */
  port?: number;
  /** Accept WebSocket clients on the same port (default true). */
  websocket?: boolean;
  /**
   * Milliseconds from accept until the first byte (raw TCP) or the end of the WebSocket
   * handshake; past it the socket is closed (joint.md §7 login timeout). Default 5000; 0 = none.
   */
  handshakeTimeoutMs?: number;
  /** Largest inbound WebSocket message (bytes), answered with close 1009 past it. Default 65536. */
  maxWebSocketPayloadBytes?: number;
  /**
   * Called at accept, before any byte is read: return a release function to admit the
   * connection (called once when it closes), or null to close it at once without bytes.
   */
  admit?: (remoteAddress: string) => (() => void) | null;
  /** A new stream, TCP or WebSocket. */
  onStream: (stream: ByteStream) => void;
}

/** A listening socket that accepts raw TCP and WebSocket clients on one port. */
export interface StreamListener {
  readonly host: string;
  readonly port: number;
  /** Stop accepting and destroy every socket not yet handed out as a stream. */
  close(): Promise<void>;
}

/**
 * Listen for raw TCP and WebSocket clients on one port, told apart by the first byte
 * (`G` starts an HTTP upgrade; anything else is raw protocol).
 */
export function listenStreams(options: StreamListenerOptions): Promise<StreamListener> {
  const host = options.host ?? '127.0.0.1';
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
  const pending = new Set<Socket>();
  const http = createHttpServer();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxWebSocketPayloadBytes ?? 65536,
    perMessageDeflate: false,
  });
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('WebSocket upgrade required\n');
  });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      pending.delete(socket);
      clearHandshakeTimer(socket);
      const stream = new WsStream(ws as unknown as WebSocketLike, socket.remoteAddress ?? '', socket.remotePort ?? 0, socket);
      options.onStream(stream);
    });
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const clearHandshakeTimer = (socket: Socket) => {
    const timer = timers.get(socket);
    if (timer) clearTimeout(timer);
    timers.delete(socket);
  };

  const server: Server = createServer({ noDelay: true }, (socket) => {
    const release = options.admit ? options.admit(socket.remoteAddress ?? '') : () => {};
    if (release === null) {
      socket.destroy();
      return;
    }
    socket.once('close', () => {
      pending.delete(socket);
      clearHandshakeTimer(socket);
      release();
    });
    socket.on('error', () => {});
    pending.add(socket);
    if (handshakeTimeoutMs > 0) timers.set(socket, setTimeout(() => socket.destroy(), handshakeTimeoutMs));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (options.websocket !== false && first[0] === HTTP_FIRST_BYTE) {
        socket.unshift(first);
        http.emit('connection', socket);
        socket.resume();
        return;
      }
      pending.delete(socket);
      clearHandshakeTimer(socket);
      const stream = new TcpStream(socket, first);
      options.onStream(stream);
      socket.resume();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        host,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of pending) socket.destroy();
            pending.clear();
            wss.close();
            server.close(() => done());
          }),
      });
    });
  });
}
