/**
 * Errors the UDP session style hands to `onError`. Hostile or broken input never throws out of a
 * socket handler: it becomes one of these, and the datagram is dropped.
 */

/** Stable codes of UdpError. */
export type UdpErrorCode =
  /** A datagram larger than `maxDatagramBytes` arrived on a session; it was dropped. */
  | 'GW_ERR_UDP_OVERSIZE'
  /** A control word with malformed arguments arrived (e.g. `CONNECT` with a bad address); dropped. */
  | 'GW_ERR_UDP_MALFORMED'
  /** The operating system reported a socket error (bind failure, ICMP unreachable, ...). */
  | 'GW_ERR_UDP_SOCKET'
  /** An application callback (onNewMessage, onConnect, ...) threw; caught, the pipe keeps serving. `cause` is the exception. */
  | 'GW_ERR_UDP_CALLBACK'
  /** A bug in gamewire surfaced while handling a datagram or a timer; caught, the pipe keeps serving. */
  | 'GW_ERR_UDP_INTERNAL';

/** An outcome of the network delivered to `onError`; never thrown from a socket handler. */
export class UdpError extends Error {
  readonly code: UdpErrorCode;
  readonly reason: string;

  constructor(code: UdpErrorCode, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'UdpError';
    this.code = code;
    this.reason = reason;
  }
}
