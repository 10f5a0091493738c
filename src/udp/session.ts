/**
 * One UDP session: the `sock` of the original's callbacks. On a server it is one client (its
 * per-client SC socket and the client's address); on a client it is the link to the server.
 * The pipe drives it; applications read its properties and pass it to `send()` / `close()`.
 */
import type { UdpEndpoint } from '../transport/udp-endpoint.js';

/**
 * Lifecycle of a session.
 * - `hello`: client, HELLO sent, waiting for `CONNECT <ip> <port>`.
 * - `connecting`: client, CONNECT sent to SC; server, SC allocated (half-open), waiting for CONNECT.
 * - `open`: established; data flows, keepalive runs.
 * - `closing`: we sent CLOSE, waiting for CLOSED.
 * - `lingering`: the peer closed; we answer repeated CLOSEs with CLOSED for a while, nothing else.
 * - `closed`: released.
 */
export type SessionState = 'hello' | 'connecting' | 'open' | 'closing' | 'lingering' | 'closed';

/**
 * Why a session ended, as passed to `onDisconnect`.
 * - `closed`: we closed it (CLOSED arrived, or CLOSE was resent until the bound).
 * - `closed by peer`: the peer sent CLOSE.
 * - `timeout`: no PONG for `disconnectAfterMs`.
 * - `handshake timeout`: not established within the handshake deadline.
 * - `refused`: the server answered GO AWAY!.
 * - `error`: a socket could not be opened.
 * - `destroyed`: `destroy()` was called.
 */
export type DisconnectReason = 'closed' | 'closed by peer' | 'timeout' | 'handshake timeout' | 'refused' | 'error' | 'destroyed';

let nextId = 1;

/** One session. Properties are read-only for applications. */
export class UdpSession {
  /** Unique per process, for logs and maps. */
  readonly id = nextId++;
  /** `server`: one client of a server pipe; `client`: a client pipe's link. */
  readonly side: 'server' | 'client';
  /** Where the state machine is. */
  state: SessionState;
  /** Peer IP: the client's on a server; the server's (S, then SC) on a client. */
  address: string;
  /** Peer port: as `address`. */
  port: number;
  /** True while PONGs are missing for `stallAfterMs`: sends are queued. */
  stalled = false;
  /** Round-trip time of the last answered PING (ms), or -1 before the first. */
  rttMs = -1;
  /** Data datagrams sent and received on this session (count). */
  dataSent = 0;
  dataReceived = 0;
  /** Queued messages dropped (oldest first) because the stall queue was full, or left when the session ended (count). */
  queueDropped = 0;
  /** Why the session ended, once it has. */
  disconnectReason: DisconnectReason | undefined;

  /** @internal The socket this session sends on: SC on a server, C on a client. */
  socket: UdpEndpoint | null = null;
  /** @internal Port of the local socket once bound (0 before). */
  localPort = 0;
  /** @internal Messages queued while stalled, oldest first, and their byte total. */
  queue: Buffer[] = [];
  /** @internal */
  queueBytes = 0;
  /** @internal Clock times (ms) of the keepalive. */
  lastPongAt = 0;
  /** @internal */
  lastPingSentAt = -1;
  /** @internal */
  nextPingAt = 0;
  /** @internal Handshake / close resends: sends so far, next resend time, deadline. */
  sends = 0;
  /** @internal */
  nextSendAt = 0;
  /** @internal */
  deadline = 0;
  /** @internal Server: the CONNECT <ip> <port> reply, once SC is bound; resent on a repeated HELLO. */
  reply: Buffer | null = null;
  /** @internal Server: size of the HELLO that created the session (no reply larger than it). */
  requestBytes = 0;
  /** @internal Client: the server's S address and the announced SC address. */
  serverAddress = '';
  /** @internal */
  serverPort = 0;
  /** @internal */
  scAddress = '';
  /** @internal */
  scPort = 0;
  /** @internal Client: the HELLO datagram, built once per connect. */
  hello: Buffer | null = null;

  /** @internal */
  constructor(side: 'server' | 'client', state: SessionState, address: string, port: number) {
    this.side = side;
    this.state = state;
    this.address = address;
    this.port = port;
  }

  /** Messages waiting in the stall queue (count). */
  get queued(): number {
    return this.queue.length;
  }

  /** True while the session is established (data can be sent or queued). */
  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * @internal Queue a copy of `msg`, dropping the oldest messages past either bound.
   * @returns how many were dropped.
   */
  enqueue(msg: Uint8Array, maxCount: number, maxBytes: number): number {
    let dropped = 0;
    while (this.queue.length > 0 && (this.queue.length + 1 > maxCount || this.queueBytes + msg.length > maxBytes)) {
      this.queueBytes -= this.queue.shift()!.length;
      dropped++;
    }
    this.queue.push(Buffer.from(msg));
    this.queueBytes += msg.length;
    this.queueDropped += dropped;
    return dropped;
  }

  /** @internal Take the whole queue (oldest first) and empty it. */
  takeQueue(): Buffer[] {
    const q = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    return q;
  }

  /**
   * One line for `console.log` / `util.inspect`. Never the internals: `hello` holds the token
   * in clear (issue 16), `socket` and `queue` would print pages.
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const rtt = this.rttMs >= 0 ? `, rtt ${this.rttMs.toFixed(1)} ms` : '';
    const extra = this.stalled ? ', stalled' : this.disconnectReason ? `, ${this.disconnectReason}` : '';
    return `UdpSession { #${this.id} ${this.side} ↔ ${this.address}:${this.port}, ${this.state}${extra}${rtt} }`;
  }

  /** What `JSON.stringify` shows: the public state only, never `hello` (the token in clear). */
  toJSON(): { kind: 'UdpSession'; id: number; side: 'server' | 'client'; state: string; address: string; port: number; stalled: boolean; rttMs: number } {
    return { kind: 'UdpSession', id: this.id, side: this.side, state: this.state, address: this.address, port: this.port, stalled: this.stalled, rttMs: this.rttMs };
  }

  /** "ip:port" of the peer, for logs. */
  toString(): string {
    return `#${this.id} ${this.address}:${this.port}`;
  }
}
