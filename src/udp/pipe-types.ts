/**
 * The types the parts of a UdpPipe share: its counters, the application callbacks the core calls,
 * and what the core asks of the server side and the client side.
 */
import type { UdpError } from './errors.js';
import type { DisconnectReason, UdpSession } from './session.js';

/** Counters of one pipe, from `stats()`. */
export interface UdpPipeStats {
  /** Datagrams sent / received on all sockets, control included (= getSentPackets / getReceivedPackets). */
  sent: number;
  received: number;
  /** Data datagrams sent / delivered to onNewMessage. */
  dataSent: number;
  dataReceived: number;
  /** Datagrams dropped as not valid where they arrived: unknown source on a session socket, a word not valid in that state, anything but HELLO on S. */
  ignored: number;
  /** Datagrams over maxDatagramBytes dropped. */
  oversize: number;
  /** HELLOs refused with GO AWAY! (or silently when the refusal would be larger than the request). */
  refused: number;
  /** HELLOs dropped by the per-IP rate limit. */
  rateLimited: number;
  /** HELLOs dropped because maxHalfOpen handshakes were pending. */
  halfOpenDropped: number;
  /** Half-open server sessions freed at the handshake deadline. */
  handshakeTimeouts: number;
  /** Replies not sent because they would have been larger than their request (strictReplySize). */
  repliesSuppressed: number;
  /** Stall-queue messages dropped, all sessions. */
  queueDropped: number;
  /** Datagrams dropped because the step-mode inbox was full (maxInboxCount or maxInboxBytes). */
  inboxDropped: number;
  /** Exceptions thrown by application callbacks, caught and reported (GW_ERR_UDP_CALLBACK). */
  callbackErrors: number;
}

/** The application callbacks of udpipe.md §3, as UdpPipe declares them. */
export interface UdpCallbacks {
  onNewClient(session: UdpSession): void;
  onNewMessage(msg: Buffer, session: UdpSession): void;
  onConnect(session: UdpSession): void;
  onConnecting(session: UdpSession): void;
  onDisconnect(session: UdpSession, reason: DisconnectReason): void;
  onClose(session: UdpSession): void;
  onStalled(session: UdpSession): void;
  onUnstalled(session: UdpSession, flushed: number): void;
  onMaxClients(address: string, port: number): void;
  onBadToken(address: string, port: number): void;
  onPing(session: UdpSession): void;
  onPong(session: UdpSession): void;
  onError(error: UdpError, session: UdpSession | null): void;
}

/** Names of the application callbacks, for error reports. */
export type CallbackName = keyof UdpCallbacks;

/** The server side's part in dispatch and timers (server-side.ts). */
export interface ServerPart {
  /** A datagram on S. */
  handleHello(msg: Buffer, address: string, port: number): void;
  /** A datagram on the SC socket of `s`. */
  handleSession(s: UdpSession, msg: Buffer, address: string, port: number): void;
  /** Timers of one server session. */
  time(s: UdpSession, now: number): void;
}

/** The client side's part in dispatch and timers (client-side.ts). */
export interface ClientPart {
  /** A datagram on the client's socket C. */
  handle(s: UdpSession, msg: Buffer, address: string, port: number): void;
  /** Timers of the client's session. */
  time(s: UdpSession, now: number): void;
}
