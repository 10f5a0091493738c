/**
 * What a UdpPipe's server side and client side share (udpipe.md §3-4): its sockets and the
 * datagrams they deliver (at once in loop mode, through the bounded inbox in step mode), the
 * clock and ticker, sending, the words of an established session, keepalive, teardown, and the
 * guards that keep an application callback's exception away from a socket handler. The server
 * side (server-side.ts) and the client side (client-side.ts) plug into `handle` and `runTimers`.
 */
import { performance } from 'node:perf_hooks';
import { UdpEndpoint } from '../transport/udp-endpoint.js';
import { UdpError } from './errors.js';
import { Inbox, type InboxEntry } from './inbox.js';
import type { ResolvedOptions, UdpLog } from './options.js';
import type { CallbackName, ClientPart, ServerPart, UdpCallbacks, UdpPipeStats } from './pipe-types.js';
import type { DisconnectReason, UdpSession } from './session.js';
import { CLOSE_PADDED_BYTES, CLOSED_BYTES, PING_BYTES, PONG_BYTES, TokenChecker, WORD_NAMES, Word } from './words.js';

/** Bind addresses meaning "every interface": not an address a peer can be sent to. */
export const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** @internal The shared state and machinery of one UdpPipe. */
export class PipeCore {
  readonly opts: ResolvedOptions;
  readonly app: UdpCallbacks;
  log: UdpLog | undefined;
  readonly checker: TokenChecker;
  token: Buffer;
  role: 'none' | 'server' | 'client' = 'none';
  /** The server's socket S while it listens. */
  serverSocket: UdpEndpoint | null = null;
  /** Server sessions by "ip:port" of the client (HELLO idempotency). */
  readonly sessions = new Map<string, UdpSession>();
  /** The client's one session. */
  clientSession: UdpSession | null = null;
  /** Server sessions whose SC is allocated but not yet CONNECTed (bounded by maxHalfOpen). */
  halfOpen = 0;
  destroyed = false;
  server!: ServerPart;
  client!: ClientPart;
  readonly counters: UdpPipeStats = {
    sent: 0,
    received: 0,
    dataSent: 0,
    dataReceived: 0,
    ignored: 0,
    oversize: 0,
    refused: 0,
    rateLimited: 0,
    halfOpenDropped: 0,
    handshakeTimeouts: 0,
    repliesSuppressed: 0,
    queueDropped: 0,
    inboxDropped: 0,
    callbackErrors: 0,
  };
  /** Step mode: datagrams waiting for `step()`. */
  private readonly inbox: Inbox;
  /** Step mode: hands one inbox entry to `handle`, made once. */
  private readonly handleEntry = (e: InboxEntry): void => {
    try {
      this.handle(e.session, e.msg, e.address, e.port);
    } catch (err) {
      this.internalError(err, e.session);
    }
  };
  private ticker: NodeJS.Timeout | null = null;
  private manualClock: number | null = null;
  private closeWaiters: Array<() => void> = [];
  /** A process warning about a throwing callback was emitted (once per pipe). */
  private warned = false;
  /** UdpPipe's own no-op onError: while the application keeps it, errors go to the log instead. */
  private readonly defaultOnError: UdpCallbacks['onError'];

  constructor(app: UdpCallbacks, opts: ResolvedOptions, token: Buffer, defaultOnError: UdpCallbacks['onError']) {
    this.app = app;
    this.opts = opts;
    this.log = opts.log;
    this.token = token;
    this.checker = new TokenChecker(token);
    this.defaultOnError = defaultOnError;
    this.inbox = new Inbox(opts.maxInboxCount, opts.maxInboxBytes);
  }

  // ---- sockets, inbox and clock ----------------------------------------------------------------

  /** A socket whose datagrams go to `handle` for `session` (null: S) and whose errors are reported. */
  openEndpoint(session: UdpSession | null): UdpEndpoint {
    return new UdpEndpoint(this.opts.type, {
      message: (msg, address, port) => this.inbound(session, msg, address, port),
      error: (err) => this.socketError(session, err),
    });
  }

  now(): number {
    return this.manualClock ?? performance.now();
  }

  /** Advance the game clock by `dt` (ms); from the first call on, only these advance it. */
  advanceClock(dt: number): void {
    this.manualClock = (this.manualClock ?? performance.now()) + dt;
  }

  startTicker(): void {
    if (this.opts.mode !== 'loop' || this.ticker) return;
    this.ticker = setInterval(() => {
      try {
        this.runTimers(this.now());
      } catch (err) {
        this.internalError(err, null);
      }
    }, this.opts.tickMs);
    this.ticker.unref();
  }

  stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private inbound(session: UdpSession | null, msg: Buffer, address: string, port: number): void {
    this.counters.received++;
    if (this.opts.mode === 'loop') {
      // Callbacks are guarded one by one; this catch is the last line against a bug of ours, so a
      // datagram can never throw out of the 'message' handler and crash the process.
      try {
        this.handle(session, msg, address, port);
      } catch (err) {
        this.internalError(err, session);
      }
      return;
    }
    if (!this.inbox.push(session, msg, address, port)) this.counters.inboxDropped++;
  }

  /** Handle the datagrams in the inbox now (step mode). @returns how many. */
  drainInbox(): number {
    return this.inbox.drain(this.handleEntry);
  }

  /** Resolves when a datagram waits in the inbox, the pipe is destroyed, or `timeoutMs` passed. */
  waitForInbox(timeoutMs: number): Promise<void> {
    return this.inbox.wait(timeoutMs, this.destroyed);
  }

  /** Empty the inbox and resolve every pending wait (destroy). */
  clearInbox(): void {
    this.inbox.clear();
  }

  internalError(err: unknown, session: UdpSession | null): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log?.(`internal error: ${message}`);
    this.report(new UdpError('GW_ERR_UDP_INTERNAL', `internal error: ${message}`, { cause: err }), session);
  }

  private handle(session: UdpSession | null, msg: Buffer, address: string, port: number): void {
    if (session === null) this.server.handleHello(msg, address, port);
    else if (session.side === 'server') this.server.handleSession(session, msg, address, port);
    else this.client.handle(session, msg, address, port);
  }

  // ---- sending ---------------------------------------------------------------------------------

  sendData(s: UdpSession, buf: Uint8Array): boolean {
    if (s.state !== 'open') return false;
    if (s.stalled) {
      const dropped = s.enqueue(buf, this.opts.maxQueueCount, this.opts.maxQueueBytes);
      this.counters.queueDropped += dropped;
      if (dropped > 0) this.log?.(`${s} queue full: dropped ${dropped} oldest`);
      return true;
    }
    s.dataSent++;
    this.counters.dataSent++;
    this.log?.(`${s.side} ${s} -> data ${buf.length} B`);
    this.transmit(s.socket, buf, s.port, s.address);
    return true;
  }

  sendPing(s: UdpSession, now: number): void {
    if (s.state !== 'open') return;
    if (s.lastPingSentAt < 0 || s.lastPingSentAt <= s.lastPongAt) s.lastPingSentAt = now;
    s.nextPingAt = now + this.opts.pingIntervalMs;
    this.control(s, PING_BYTES);
  }

  control(s: UdpSession, bytes: Buffer): void {
    this.log?.(`${s.side} ${s} -> ${bytes.toString('latin1').trimEnd()}`);
    this.transmit(s.socket, bytes, s.port, s.address);
  }

  transmit(socket: UdpEndpoint | null, buf: Uint8Array, port: number, address: string): void {
    if (!socket) return;
    this.counters.sent++;
    const refused = socket.send(buf, port, address);
    // Only a closed socket refuses; the session is being torn down.
    if (refused) this.log?.(`send failed: ${refused.message}`);
  }

  /** Send a reply unless it is larger than its request (strictReplySize). */
  reply(socket: UdpEndpoint | null, bytes: Buffer, requestBytes: number, port: number, address: string): void {
    if (this.opts.strictReplySize && bytes.length > requestBytes) {
      this.counters.repliesSuppressed++;
      this.log?.(`reply ${bytes.length} B to a ${requestBytes} B request from ${address}:${port} not sent (strictReplySize)`);
      return;
    }
    this.transmit(socket, bytes, port, address);
  }

  // ---- receiving on an established session, both sides ------------------------------------------

  /** A data datagram on an open session, from its peer: count it and hand it to onNewMessage. */
  deliver(s: UdpSession, msg: Buffer): void {
    s.dataReceived++;
    this.counters.dataReceived++;
    this.log?.(`${s.side} ${s} <- data ${msg.length} B`);
    // Inline rather than through guard(): no closure per datagram on the hot path.
    try {
      this.app.onNewMessage(msg, s);
    } catch (err) {
      this.callbackThrew('onNewMessage', err, s);
    }
  }

  ignore(s: UdpSession, w: Word, address: string, port: number): void {
    this.counters.ignored++;
    this.log?.(`${s.side} ${s} <- ${WORD_NAMES[w]} from ${address}:${port} in state ${s.state}: ignored`);
  }

  handleSessionWord(s: UdpSession, w: Word, msg: Buffer): void {
    switch (w) {
      case Word.Ping:
        if (s.state !== 'open') return this.ignore(s, w, s.address, s.port);
        this.reply(s.socket, PONG_BYTES, msg.length, s.port, s.address);
        this.guard('onPing', s, () => this.app.onPing(s));
        return;
      case Word.Pong:
        if (s.state !== 'open') return this.ignore(s, w, s.address, s.port);
        this.pong(s);
        return;
      case Word.Close:
        this.reply(s.socket, CLOSED_BYTES, msg.length, s.port, s.address);
        if (s.state === 'open') {
          s.state = 'lingering';
          s.deadline = this.now() + this.opts.handshakeRetryMs * (this.opts.handshakeRetries + 1);
          this.guard('onClose', s, () => this.app.onClose(s));
          this.finish(s, 'closed by peer', false);
        } else if (s.state === 'closing') {
          this.release(s, 'closed', true); // both sides closed at once
        }
        return;
      case Word.Closed:
        if (s.state === 'closing') this.release(s, 'closed', true);
        else this.ignore(s, w, s.address, s.port);
        return;
      default:
        this.ignore(s, w, s.address, s.port); // CONNECTED / HELLO / GO AWAY! / CONNECT in the wrong place
    }
  }

  private pong(s: UdpSession): void {
    const now = this.now();
    s.lastPongAt = now;
    if (s.lastPingSentAt >= 0) s.rttMs = now - s.lastPingSentAt;
    s.lastPingSentAt = -1;
    if (s.stalled) {
      s.stalled = false;
      const queue = s.takeQueue();
      for (const m of queue) {
        s.dataSent++;
        this.counters.dataSent++;
        this.transmit(s.socket, m, s.port, s.address);
      }
      this.log?.(`${s.side} ${s} unstalled, flushed ${queue.length}`);
      this.guard('onUnstalled', s, () => this.app.onUnstalled(s, queue.length));
    }
    this.guard('onPong', s, () => this.app.onPong(s));
  }

  oversize(s: UdpSession, bytes: number): void {
    this.counters.oversize++;
    this.report(new UdpError('GW_ERR_UDP_OVERSIZE', `datagram of ${bytes} B above maxDatagramBytes ${this.opts.maxDatagramBytes} dropped`), s);
  }

  // ---- timers ----------------------------------------------------------------------------------

  runTimers(now: number): void {
    if (this.destroyed) return;
    if (this.clientSession) this.client.time(this.clientSession, now);
    for (const s of this.sessions.values()) this.server.time(s, now);
  }

  /** Timers of an established, closing or lingering session, either side. */
  timeCommon(s: UdpSession, now: number): void {
    switch (s.state) {
      case 'open': {
        const silent = now - s.lastPongAt;
        if (silent >= this.opts.disconnectAfterMs) {
          this.log?.(`${s.side} ${s} no PONG for ${Math.round(silent)} ms: disconnected`);
          this.finish(s, 'timeout', true);
          return;
        }
        if (!s.stalled && silent >= this.opts.stallAfterMs) {
          s.stalled = true;
          this.log?.(`${s.side} ${s} no PONG for ${Math.round(silent)} ms: stalled`);
          this.guard('onStalled', s, () => this.app.onStalled(s));
          if (s.state !== 'open') return;
        }
        if (this.opts.autoPing && now >= s.nextPingAt) this.sendPing(s, now);
        return;
      }
      case 'closing':
        if (now >= s.nextSendAt) {
          if (s.sends > this.opts.handshakeRetries) {
            this.log?.(`${s.side} ${s} no CLOSED after ${s.sends} CLOSEs`);
            this.release(s, 'closed', true);
          } else {
            s.sends++;
            s.nextSendAt = now + this.opts.handshakeRetryMs;
            this.control(s, CLOSE_PADDED_BYTES);
          }
        }
        return;
      case 'lingering':
        if (now >= s.deadline) this.release(s, s.disconnectReason ?? 'closed', false);
        return;
      default:
        return;
    }
  }

  // ---- closing and teardown --------------------------------------------------------------------

  beginClose(s: UdpSession, now: number): void {
    if (s.state === 'open') {
      s.state = 'closing';
      s.sends = 1;
      s.nextSendAt = now + this.opts.handshakeRetryMs;
      this.control(s, CLOSE_PADDED_BYTES);
      this.guard('onClose', s, () => this.app.onClose(s));
    } else if (s.state === 'hello' || s.state === 'connecting') {
      this.endSession(s, 'closed');
    }
  }

  closeServerSocket(): void {
    const sock = this.serverSocket;
    if (!sock) return;
    this.serverSocket = null;
    sock.close();
  }

  /** Resolves when `session` (or, without it, every session) is released. */
  whenIdle(session?: UdpSession): Promise<void> {
    const done = (): boolean => (session ? session.state === 'closed' : this.sessions.size === 0 && (!this.clientSession || this.clientSession.state === 'closed'));
    if (done()) {
      if (!session) this.stopIfIdle();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (done()) resolve();
        else this.closeWaiters.push(check);
      };
      this.closeWaiters.push(check);
    });
  }

  /** A handshake that failed or was abandoned: fire onDisconnect, release. */
  endSession(s: UdpSession, reason: DisconnectReason): void {
    this.release(s, reason, true);
  }

  /**
   * The session is over for the application: fire onDisconnect once. If `release` is false it
   * stays (lingering) to answer repeated CLOSEs, and is released by the timer.
   */
  private finish(s: UdpSession, reason: DisconnectReason, release: boolean): void {
    if (release) {
      this.release(s, reason, true);
      return;
    }
    if (s.disconnectReason) return;
    s.disconnectReason = reason;
    this.dropQueue(s);
    this.guard('onDisconnect', s, () => this.app.onDisconnect(s, reason));
  }

  private dropQueue(s: UdpSession): void {
    const left = s.takeQueue().length;
    s.queueDropped += left;
    this.counters.queueDropped += left;
  }

  release(s: UdpSession, reason: DisconnectReason, notify: boolean): void {
    if (s.state === 'closed') return;
    const wasHalfOpen = s.side === 'server' && s.state === 'connecting';
    s.state = 'closed';
    if (wasHalfOpen) this.halfOpen--;
    if (s.side === 'server') this.sessions.delete(`${s.address}:${s.port}`);
    const sock = s.socket;
    s.socket = null;
    sock?.close();
    const announce = notify && !s.disconnectReason && !(s.side === 'server' && wasHalfOpen);
    if (!s.disconnectReason) s.disconnectReason = reason;
    this.dropQueue(s);
    this.log?.(`${s.side} ${s} released (${s.disconnectReason})`);
    if (announce) this.guard('onDisconnect', s, () => this.app.onDisconnect(s, reason));
    this.notifyClosed();
    this.stopIfIdle();
  }

  stopIfIdle(): void {
    const clientDone = this.role === 'client' && (!this.clientSession || this.clientSession.state === 'closed');
    const serverDone = this.role === 'server' && !this.serverSocket && this.sessions.size === 0;
    if (clientDone || serverDone || this.destroyed) this.stopTicker();
  }

  notifyClosed(): void {
    if (this.closeWaiters.length === 0) return;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }

  socketError(s: UdpSession | null, err: Error): void {
    this.log?.(`socket error${s ? ` on ${s}` : ''}: ${err.message}`);
    this.report(new UdpError('GW_ERR_UDP_SOCKET', err.message, { cause: err }), s);
    if (s && s.side === 'server' && s.state === 'connecting' && !s.reply) {
      this.release(s, 'error', false); // SC could not be bound
    }
  }

  // ---- application callbacks: what they throw never reaches a socket handler -------------------

  /** Run one application callback; an exception is reported (callbackThrew), never propagated. */
  guard(name: CallbackName, session: UdpSession | null, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.callbackThrew(name, err, session);
    }
  }

  /** Hand `error` to onError; if onError itself throws, log it and carry on. */
  report(error: UdpError, session: UdpSession | null): void {
    try {
      this.app.onError(error, session);
    } catch (err) {
      this.logCallbackError('onError', err);
    }
  }

  /**
   * A callback threw: onError gets GW_ERR_UDP_CALLBACK (its `cause` is the exception). Without an
   * onError of the application's, the verbose log gets the line, or, with no log either, one
   * process warning per pipe, so the bug is not silent.
   */
  private callbackThrew(name: CallbackName, err: unknown, session: UdpSession | null): void {
    this.counters.callbackErrors++;
    const message = err instanceof Error ? err.message : String(err);
    if (this.app.onError === this.defaultOnError) {
      this.logCallbackError(name, err);
      return;
    }
    this.report(new UdpError('GW_ERR_UDP_CALLBACK', `${name} threw: ${message}`, { cause: err }), session);
  }

  private logCallbackError(name: CallbackName, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.log) {
      this.log(`${name} threw: ${message}`);
      return;
    }
    if (this.warned) return;
    this.warned = true;
    process.emitWarning(`gamewire udp: ${name} threw and was caught: ${message} (assign onError or set verbose to see every one)`, 'GamewireUdpCallbackWarning');
  }
}
