/**
 * One UDP socket, for every style that speaks datagrams (the events style's Endpoint, the udp
 * style's S, SC and C sockets). It knows no protocol and no style limit: a style checks its own
 * datagram sizes and words, and decides what an error means. It is the only importer of
 * `node:dgram` in src/ (DESIGN.md: transport holds TCP, WebSocket and UDP sockets).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** Callbacks of a UdpEndpoint, attached when it is made. */
export interface UdpEndpointHandlers {
  /**
   * A datagram arrived. `msg` is a fresh Buffer, the callee's to keep. What the callee throws
   * escapes the socket's 'message' event: catch it in the callee.
   */
  message(msg: Buffer, address: string, port: number): void;
  /** A socket error: a bind error without `onBindError`, or a send failure without `onError`. */
  error(err: Error): void;
}

/** Options of `UdpEndpoint.bind`. */
export interface UdpBindOptions {
  /** Refuse to share the port with cluster workers (dgram's `exclusive`); default false. */
  exclusive?: boolean;
  /** Receives a bind error instead of the `error` handler; called at most once per bind. */
  onBindError?: (err: Error) => void;
}

/**
 * A UDP socket (udp4 or udp6) with its handlers attached at construction, so no datagram or
 * error is emitted unheard. Nothing here throws for network input.
 */
export class UdpEndpoint {
  private readonly socket: Socket;
  private isClosed = false;
  /** The bind error receiver while a bind with `onBindError` is pending. */
  private bindError: ((err: Error) => void) | undefined;

  /**
   * Make an unbound socket. Sending auto-binds it (dgram's rule); the styles bind first.
   * @param type `'udp4'` or `'udp6'`.
   */
  constructor(type: 'udp4' | 'udp6', handlers: UdpEndpointHandlers) {
    const socket = createSocket(type);
    this.socket = socket;
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => handlers.message(msg, rinfo.address, rinfo.port));
    socket.on('error', (err: Error) => {
      const onBindError = this.bindError;
      if (onBindError === undefined) {
        handlers.error(err);
        return;
      }
      this.bindError = undefined;
      onBindError(err);
    });
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Bind the socket. A bind error goes to `options.onBindError`, else to the `error` handler;
   * `onBound` is then never called.
   * @param port 0 for any free port.
   * @param host bind address; undefined binds all interfaces of the socket's family.
   * @param onBound called once bound (before any datagram is delivered).
   */
  bind(port: number, host: string | undefined, onBound: () => void, options?: UdpBindOptions): void {
    this.bindError = options?.onBindError;
    this.socket.bind({ port, address: host, exclusive: options?.exclusive ?? false }, () => {
      this.bindError = undefined;
      onBound();
    });
  }

  /**
   * The bound address.
   * @throws {Error} (dgram's ERR_SOCKET_DGRAM_NOT_RUNNING or EBADF) before the socket is bound.
   */
  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Allow sending to broadcast addresses. */
  setBroadcast(on: boolean): void {
    this.socket.setBroadcast(on);
  }

  /**
   * Send one datagram as it is (a string as UTF-8). Never throws: a socket that refuses it at once
   * (closed) returns the error; a later failure goes to `onError` if given, else to the `error`
   * handler (dgram emits it there when the send has no callback).
   * @param data the bytes are handed to the socket: do not modify them until the next turn of the
   *   event loop.
   * @returns undefined, or the error of a send refused at once.
   */
  send(data: Uint8Array | string, port: number, address: string, onError?: (err: Error) => void): Error | undefined {
    try {
      if (onError === undefined) this.socket.send(data, port, address);
      else
        this.socket.send(data, port, address, (err) => {
          if (err) onError(err);
        });
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /**
   * Close the socket; idempotent (a second call does nothing, `onClosed` included).
   * @param onClosed called once the socket is closed.
   */
  close(onClosed?: () => void): void {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      this.socket.close(onClosed);
    } catch {
      // Closed underneath us (dgram throws ERR_SOCKET_DGRAM_NOT_RUNNING): the work is done.
      onClosed?.();
    }
  }
}
