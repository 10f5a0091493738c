/**
 * The narrow engine seam of the events style (DESIGN.md): bind, send one datagram, receive,
 * close. One UDP datagram is one message (neteria.md §1), so there is nothing to coalesce.
 * Socket errors are reported, never thrown (K8: the original's listener thread died of one).
 */
import dgram from 'node:dgram';
import { MAX_DATAGRAM_BYTES } from './limits.js';

/** Where a datagram came from or goes to. */
export interface PeerAddress {
  address: string;
  port: number;
}

/** Callbacks of an Endpoint. */
export interface EndpointHandlers {
  message(bytes: Buffer, from: PeerAddress): void;
  error(err: Error): void;
}

/** A bound UDP socket (IPv4). */
export class Endpoint {
  private readonly socket: dgram.Socket;
  private closed = false;
  private broadcastOn = false;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
  }

  /**
   * Bind a socket.
   * @param port 0 for any free port.
   * @param host bind address; undefined binds all interfaces.
   * @throws (rejects) the bind error, e.g. EADDRINUSE.
   */
  static bind(port: number, host: string | undefined, handlers: EndpointHandlers): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4' });
      const endpoint = new Endpoint(socket);
      const onBindError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onBindError);
      socket.bind({ port, address: host, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => handlers.error(err));
        socket.on('message', (msg, rinfo) => {
          try {
            handlers.message(msg, { address: rinfo.address, port: rinfo.port });
          } catch (err) {
            // Handlers catch their own errors; this is the last line of defence (K8).
            handlers.error(err as Error);
          }
        });
        resolve(endpoint);
      });
    });
  }

  /** The bound address. */
  address(): PeerAddress {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * Send one datagram; failures go to `onError` (default: ignored), never thrown. A datagram
   * over MAX_DATAGRAM_BYTES is not sent (neteria.md §1: the original refuses to send one) and is
   * reported as a RangeError; callers check sizes they control before they get here, so this
   * catches echoes of hostile ids whose escaping made them grow.
   */
  send(text: string, to: PeerAddress, onError?: (err: Error) => void, broadcast = false): void {
    if (this.closed) return;
    const size = text.length <= MAX_DATAGRAM_BYTES / 3 ? text.length : Buffer.byteLength(text);
    if (size > MAX_DATAGRAM_BYTES) {
      onError?.(new RangeError(`datagram of ${size} bytes over ${MAX_DATAGRAM_BYTES} not sent`));
      return;
    }
    if (broadcast && !this.broadcastOn) {
      this.socket.setBroadcast(true);
      this.broadcastOn = true;
    }
    try {
      this.socket.send(text, to.port, to.address, (err) => {
        if (err && onError) onError(err);
      });
    } catch (err) {
      onError?.(err as Error);
    }
  }

  /** Close the socket; idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
