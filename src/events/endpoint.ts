/**
 * The narrow engine seam of the events style (DESIGN.md): bind, send one datagram, receive,
 * close, over transport's UdpEndpoint. What is Neteria's lives here: text datagrams of at most
 * MAX_DATAGRAM_BYTES, IPv4, an exclusive port. One UDP datagram is one message (neteria.md §1),
 * so there is nothing to coalesce. Socket errors are reported, never thrown (K8: the original's
 * listener thread died of one).
 */
import { UdpEndpoint } from '../transport/udp-endpoint.js';
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
  private readonly udp: UdpEndpoint;
  private broadcastOn = false;

  private constructor(udp: UdpEndpoint) {
    this.udp = udp;
  }

  /**
   * Bind a socket.
   * @param port 0 for any free port.
   * @param host bind address; undefined binds all interfaces.
   * @throws (rejects) the bind error, e.g. EADDRINUSE.
   */
  static bind(port: number, host: string | undefined, handlers: EndpointHandlers): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      const udp = new UdpEndpoint('udp4', {
        message: (msg, address, fromPort) => {
          try {
            handlers.message(msg, { address, port: fromPort });
          } catch (err) {
            // Handlers catch their own errors; this is the last line of defence (K8).
            handlers.error(err as Error);
          }
        },
        error: (err) => handlers.error(err),
      });
      const onBindError = (err: Error): void => {
        udp.close();
        reject(err);
      };
      udp.bind(port, host, () => resolve(new Endpoint(udp)), { exclusive: true, onBindError });
    });
  }

  /** The bound address. */
  address(): PeerAddress {
    return this.udp.address();
  }

  /**
   * Send one datagram; failures go to `onError` (default: ignored), never thrown. A datagram
   * over MAX_DATAGRAM_BYTES is not sent (neteria.md §1: the original refuses to send one) and is
   * reported as a RangeError; callers check sizes they control before they get here, so this
   * catches echoes of hostile ids whose escaping made them grow.
   */
  send(text: string, to: PeerAddress, onError?: (err: Error) => void, broadcast = false): void {
    if (this.udp.closed) return;
    const size = text.length <= MAX_DATAGRAM_BYTES / 3 ? text.length : Buffer.byteLength(text);
    if (size > MAX_DATAGRAM_BYTES) {
      onError?.(new RangeError(`datagram of ${size} bytes over ${MAX_DATAGRAM_BYTES} not sent`));
      return;
    }
    if (broadcast && !this.broadcastOn) {
      this.udp.setBroadcast(true);
      this.broadcastOn = true;
    }
    // Always with a callback: a late failure without onError is ignored, as documented, rather
    // than becoming a socket error.
    const refused = this.udp.send(text, to.port, to.address, (err) => onError?.(err));
    if (refused) onError?.(refused);
  }

  /** Close the socket; idempotent. */
  close(): Promise<void> {
    if (this.udp.closed) return Promise.resolve();
    return new Promise((resolve) => this.udp.close(resolve));
  }
}
