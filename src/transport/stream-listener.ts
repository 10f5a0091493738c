import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { LISTENER_HANDSHAKE_TIMEOUT_MS, LISTENER_MAX_WEBSOCKET_PAYLOAD_BYTES, WS_MAX_CONTROL_FRAMES_PER_SECOND } from './limits.js';
import { readAgain, TcpStream } from './tcp-stream.js';
import { WsStream, type WebSocketLike } from './ws-stream.js';
import type { ByteStream } from './types.js';

/** First byte of an HTTP request line (`GET`): the connection is a WebSocket (joint.md §9). */
const HTTP_FIRST_BYTE = 0x47;
/** RFC 6455 §7.4.1: policy violation. */
const WS_CLOSE_POLICY = 1008;
const CONTROL_WINDOW_MS = 1000;

/** Options of `listenStreams`. `A` is what `admit` returns for an admitted connection. */
export interface StreamListenerOptions<A = () => void> {
  /** Address to bind (default `127.0.0.1`). */
  host?: string;
  /** Port to bind; 0 lets the OS choose (default 0). */
  port?: number;
  /** Accept WebSocket clients on the same port (default true). */
  websocket?: boolean;
  /**
   * Milliseconds from accept until the first byte (raw TCP) or the end of the WebSocket
   * handshake; past it the socket is closed (joint.md §7 login timeout). Default
   * `LISTENER_HANDSHAKE_TIMEOUT_MS` (5000); 0 = none.
   */
  handshakeTimeoutMs?: number;
  /** Largest inbound WebSocket message (bytes), answered with close 1009 past it. Default 65536. */
  maxWebSocketPayloadBytes?: number;
  /**
   * WebSocket pings plus pongs per second one connection may send before it is closed with
   * 1008 "control frame flood" (default `WS_MAX_CONTROL_FRAMES_PER_SECOND` = 100; 0 = no cap).
   */
  maxControlFramesPerSecond?: number;
  /**
   * Called at accept, before any byte is read (the socket is not even reading yet): return a
   * value to admit the connection, or null to destroy it at once without bytes. The value is
   * handed to `onStream` and, once, to `release` when the connection closes.
   */
  admit?: (remoteAddress: string) => A | null;
  /**
   * Called once when an admitted connection closes, whatever the cause, with what `admit`
   * returned. Default: call that value when it is a function (a release callback).
   */
  release?: (admitted: A) => void;
  /** A new stream, TCP or WebSocket, with what `admit` returned for it (undefined without `admit`). */
  onStream: (stream: ByteStream, admitted: A | undefined) => void;
}

/**
 * The listeners of this process, for `adoptSocket`. A `relay --workers` worker runs one relay, so
 * one listener: a socket a sibling worker hands over goes to it.
 */
const listeners = new Set<(socket: Socket, initial: Uint8Array) => boolean>();

/**
 * Take over a connected raw-TCP socket as if this process's listener had accepted it, with
 * `initial` (bytes already read from it elsewhere) delivered first: admitted like an accepted
 * socket (unless this process admitted it already), then handed out as a TcpStream marked
 * `adopted`, which starts reading. Used by worker-handoff.ts (`relay --workers`).
 * @returns false when there is not exactly one open listener here or the admission refuses it;
 *   the socket is then untouched.
 */
export function adoptSocket(socket: Socket, initial: Uint8Array): boolean {
  if (listeners.size !== 1) return false;
  const [adopt] = listeners;
  return adopt!(socket, initial);
}

/** A listening socket that accepts raw TCP and WebSocket clients on one port. */
export interface StreamListener {
  readonly host: string;
  readonly port: number;
  /**
   * Sockets accepted and not yet handed out as a stream: waiting for their first byte or in
   * their WebSocket upgrade (`pendingUpgrades` of them). Each is bounded by the handshake timeout.
   */
  readonly pendingCount: number;
  /** Sockets whose first byte was `G` and whose WebSocket upgrade has not completed. */
  readonly pendingUpgrades: number;
  /** Stop accepting and destroy every socket not yet handed out as a stream. */
  close(): Promise<void>;
}

/**
 * Answers pings for one WebSocket (the `ws` package's automatic pong is off). RFC 6455 §5.5.3
 * lets an endpoint that has not yet answered earlier pings answer only the most recent one, so
 * at most one pong is in flight per connection: a burst of pings in one read costs one or two
 * pongs, not one queued write each. `ws`'s own answer terminated the socket without a close
 * frame once 60 pongs were unwritten (its `maxPendingAutoPongs`), which is what a 64-ping
 * burst hit (issue 14 item 6). Past the control-frame rate the peer gets close 1008 with a reason.
 */
class ControlFrames {
  private windowAt = 0;
  private count = 0;
  private inFlight = false;
  private latest: Buffer | null = null;
  private closed = false;
  private readonly done = (): void => {
    this.inFlight = false;
    const next = this.latest;
    this.latest = null;
    if (next !== null && !this.closed) this.pong(next);
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly maxPerSecond: number,
  ) {
    ws.on('ping', (data: Buffer) => {
      if (!this.counted()) return;
      if (this.inFlight) this.latest = Buffer.from(data);
      else this.pong(data);
    });
    ws.on('pong', () => this.counted());
    ws.once('close', () => {
      this.closed = true;
      this.latest = null;
    });
  }

  /** @returns false when the peer went over the rate and is being closed. */
  private counted(): boolean {
    if (this.closed) return false;
    if (this.maxPerSecond === 0) return true;
    const now = performance.now();
    if (now - this.windowAt >= CONTROL_WINDOW_MS) {
      this.windowAt = now;
      this.count = 0;
    }
    if (++this.count <= this.maxPerSecond) return true;
    this.closed = true;
    this.latest = null;
    this.ws.close(WS_CLOSE_POLICY, 'control frame flood');
    return false;
  }

  private pong(data: Buffer): void {
    if (this.ws.readyState !== 1) return;
    this.inFlight = true;
    this.ws.pong(data, false, this.done);
  }
}

/**
 * Listen for raw TCP and WebSocket clients on one port, told apart by the first byte
 * (`G` starts an HTTP upgrade; anything else is raw protocol).
 */
export function listenStreams<A = () => void>(options: StreamListenerOptions<A>): Promise<StreamListener> {
  const host = options.host ?? '127.0.0.1';
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? LISTENER_HANDSHAKE_TIMEOUT_MS;
  const maxControl = options.maxControlFramesPerSecond ?? WS_MAX_CONTROL_FRAMES_PER_SECOND;
  if (!Number.isInteger(maxControl) || maxControl < 0) {
    throw new RangeError(`maxControlFramesPerSecond must be an integer >= 0, got ${maxControl}`);
  }
  const release = options.release ?? ((a: A) => (typeof a === 'function' ? (a as () => void)() : undefined));
  const pending = new Set<Socket>();
  const upgrading = new Set<Socket>();
  const admissions = new WeakMap<Socket, A>();
  const http = createHttpServer();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxWebSocketPayloadBytes ?? LISTENER_MAX_WEBSOCKET_PAYLOAD_BYTES,
    perMessageDeflate: false,
    autoPong: false,
  });
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('WebSocket upgrade required\n');
  });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      pending.delete(socket);
      upgrading.delete(socket);
      clearHandshakeTimer(socket);
      new ControlFrames(ws, maxControl);
      const stream = new WsStream(ws as unknown as WebSocketLike, socket.remoteAddress ?? '', socket.remotePort ?? 0, socket);
      options.onStream(stream, admissions.get(socket));
    });
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const clearHandshakeTimer = (socket: Socket) => {
    const timer = timers.get(socket);
    if (timer) clearTimeout(timer);
    timers.delete(socket);
  };

  // Refusing must cost less than connecting (issue 14 item 2, bench mm-refusal): pauseOnConnect
  // so a refused socket is never read, and no TCP_NODELAY until admitted (TcpStream and ws set
  // it). A refusal is a FIN, not a reset: a client whose connect raced the reset would see
  // ECONNRESET from connect() instead of a closed connection.
  // One close handler for every socket (this = the socket): an idle connection holds no closure.
  function onSocketClose(this: Socket): void {
    pending.delete(this);
    upgrading.delete(this);
    clearHandshakeTimer(this);
    const admitted = admissions.get(this);
    if (admitted !== undefined) {
      admissions.delete(this);
      release(admitted);
    }
  }

  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    let admitted: A | undefined;
    if (options.admit) {
      const a = options.admit(socket.remoteAddress ?? '');
      if (a === null) {
        socket.on('error', ignoreError);
        socket.destroy();
        return;
      }
      admitted = a;
      admissions.set(socket, a);
    }
    socket.on('close', onSocketClose);
    socket.on('error', ignoreError);
    pending.add(socket);
    if (handshakeTimeoutMs > 0) timers.set(socket, setTimeout(() => socket.destroy(), handshakeTimeoutMs));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (options.websocket !== false && first[0] === HTTP_FIRST_BYTE) {
        upgrading.add(socket);
        socket.unshift(first);
        http.emit('connection', socket);
        socket.resume();
        return;
      }
      pending.delete(socket);
      clearHandshakeTimer(socket);
      const stream = new TcpStream(socket, first);
      options.onStream(stream, admitted);
      socket.resume();
    });
    socket.resume();
  });

  const adopt = (socket: Socket, initial: Uint8Array): boolean => {
    if (!server.listening) return false;
    if (options.admit && !admissions.has(socket)) {
      const a = options.admit(socket.remoteAddress ?? '');
      if (a === null) return false;
      admissions.set(socket, a);
      socket.on('close', onSocketClose);
      socket.on('error', ignoreError);
    }
    const stream = new TcpStream(socket, initial);
    stream.adopted = true;
    options.onStream(stream, admissions.get(socket));
    readAgain(socket);
    return true;
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      listeners.add(adopt);
      resolve({
        host,
        port,
        get pendingCount() {
          return pending.size;
        },
        get pendingUpgrades() {
          return upgrading.size;
        },
        close: () =>
          new Promise<void>((done) => {
            listeners.delete(adopt);
            for (const socket of pending) socket.destroy();
            pending.clear();
            upgrading.clear();
            wss.close();
            server.close(() => done());
          }),
      });
    });
  });
}

function ignoreError(): void {}
