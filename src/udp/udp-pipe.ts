/**
 * UdpPipe: a UDPIPE-style session endpoint on transport's UdpEndpoint (udpipe.md). One instance is a server
 * (`start()`) or a client (`connect()`). Callbacks keep the original's names; assign them on the
 * instance or override them in a subclass.
 */
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { checkHostArgument, checkPortArgument } from '../core/validate.js';
import { UdpEndpoint } from '../transport/udp-endpoint.js';
import { UdpError } from './errors.js';
import { DEFAULT_PORT, DEFAULT_TOKEN } from './limits.js';
import { resolveOptions, type ResolvedOptions, type UdpLog, type UdpPipeOptions } from './options.js';
import { UdpSession, type DisconnectReason } from './session.js';
import {
  CLOSE_PADDED_BYTES,
  CLOSED_BYTES,
  CONNECT_PADDED_BYTES,
  CONNECTED_BYTES,
  GO_AWAY_BYTES,
  GO_AWAY_FULL_BYTES,
  GO_AWAY_TOKEN_BYTES,
  PING_BYTES,
  PONG_BYTES,
  TokenChecker,
  WORD_NAMES,
  Word,
  classify,
  encodeConnectReply,
  encodeHello,
  parseConnectReply,
  parseGoAway,
  validateToken,
} from './words.js';

/** Which socket a datagram arrived on. */
const enum Source {
  Server = 0,
  Session = 1,
}

/** A datagram waiting for `step()` in step mode. */
interface InboxEntry {
  source: Source;
  session: UdpSession | null;
  msg: Buffer;
  address: string;
  port: number;
}

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

/** Names of the application callbacks, for error reports. */
type CallbackName =
  | 'onNewClient'
  | 'onNewMessage'
  | 'onConnect'
  | 'onConnecting'
  | 'onDisconnect'
  | 'onClose'
  | 'onStalled'
  | 'onUnstalled'
  | 'onMaxClients'
  | 'onBadToken'
  | 'onPing'
  | 'onPong'
  | 'onError';

/** Longest delay setTimeout honours (ms); a longer one fires at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * A UDP session endpoint, server or client (udpipe.md §1-4). See docs/udp.md.
 *
 * ```ts
 * const server = new UdpPipe({ token: 'secret' });
 * server.onNewMessage = (msg, session) => server.send(msg, session); // echo
 * await server.start(1234, '127.0.0.1');
 * ```
 */
export class UdpPipe {
  private readonly opts: ResolvedOptions;
  private log: UdpLog | undefined;
  private readonly checker: TokenChecker;
  private token: Buffer;
  private role: 'none' | 'server' | 'client' = 'none';
  private serverSocket: UdpEndpoint | null = null;
  private serverHost = '';
  private announceIp = '';
  /** Size of the largest CONNECT reply S can send (bytes): a shorter HELLO is not worth a socket. */
  private maxReplyBytes = 0;
  /** Server sessions by "ip:port" of the client (HELLO idempotency); the client's one session. */
  private readonly sessions = new Map<string, UdpSession>();
  private clientSession: UdpSession | null = null;
  private halfOpen = 0;
  private readonly rate = new Map<string, number>();
  private rateWindowStart = 0;
  private readonly inbox: InboxEntry[] = [];
  /** Payload bytes held by `inbox` (bounded by maxInboxBytes). */
  private inboxBytes = 0;
  /** Resolvers of pending `wait()` calls. */
  private inboxWaiters: Array<() => void> = [];
  private ticker: NodeJS.Timeout | null = null;
  private manualClock: number | null = null;
  private receiveTimeoutMs = 0;
  private destroyed = false;
  private closeWaiters: Array<() => void> = [];
  private readonly counters: UdpPipeStats = {
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
  /** A process warning about a throwing callback was emitted (once per pipe). */
  private warned = false;

  /**
   * @param options every value udpipe.md §6 leaves open; see UdpPipeOptions for the defaults.
   * @throws {RangeError} for an out-of-range option; {TypeError} for an unknown one.
   */
  constructor(options: UdpPipeOptions = {}) {
    this.opts = resolveOptions(options);
    options ??= {};
    this.log = this.opts.log;
    this.token = validateToken(options.token ?? DEFAULT_TOKEN);
    this.checker = new TokenChecker(this.token);
  }

  // ---- callbacks (udpipe.md §3): override or assign -------------------------------------------

  /** Server: a client completed the handshake. */
  onNewClient(_session: UdpSession): void {}
  /** Both: a data datagram arrived. `msg` is the whole payload (yours to keep). */
  onNewMessage(_msg: Buffer, _session: UdpSession): void {}
  /** Client: the session is established. */
  onConnect(_session: UdpSession): void {}
  /** Client: the server accepted the token; CONNECT goes to the per-client socket. */
  onConnecting(_session: UdpSession): void {}
  /** Both: a session ended (see DisconnectReason). Fires once per session. */
  onDisconnect(_session: UdpSession, _reason: DisconnectReason): void {}
  /** Both: a session is closing: we sent CLOSE, or the peer did. */
  onClose(_session: UdpSession): void {}
  /** Both: PONGs stopped for `stallAfterMs`; sends are queued from now on. */
  onStalled(_session: UdpSession): void {}
  /** Both: a PONG came back; the queue (`flushed` messages) was already sent, in order. */
  onUnstalled(_session: UdpSession, _flushed: number): void {}
  /** Server: a HELLO was refused because the server is full (client too with `refusalReasons`). */
  onMaxClients(_address: string, _port: number): void {}
  /** Server: a HELLO carried a wrong token (client too with `refusalReasons`). */
  onBadToken(_address: string, _port: number): void {}
  /** Both: a PING arrived (the PONG is already sent). */
  onPing(_session: UdpSession): void {}
  /** Both: a PONG arrived; `session.rttMs` is updated. */
  onPong(_session: UdpSession): void {}
  /**
   * Both (gamewire addition): a datagram was dropped as broken, a socket reported an error, or
   * one of these callbacks threw (`GW_ERR_UDP_CALLBACK`, the exception as `cause`; the pipe keeps
   * serving). An exception thrown here is only logged.
   */
  onError(_error: UdpError, _session: UdpSession | null): void {}

  // ---- configuration ---------------------------------------------------------------------------

  /**
   * Set the shared handshake token (udpipe.md §4). Applies to the next HELLO sent or checked.
   * @param token 1..64 printable ASCII bytes without spaces.
   * @throws {TypeError|RangeError} otherwise.
   */
  setToken(token: string): void {
    this.token = validateToken(token);
    this.checker.set(this.token);
  }

  /**
   * Set the receive timeout (ms): the longest `wait()` waits for a datagram. Node cannot block
   * inside `step()`, so the original's "how long step() may block" becomes `await pipe.wait();
   * pipe.step()`. It is not the stall or disconnect timer (udpipe.md §4).
   */
  setTimeout(t: number): void {
    if (typeof t !== 'number' || !(t >= 0)) throw new RangeError('timeout must be a number ≥ 0 (ms)');
    this.receiveTimeoutMs = t;
  }

  /**
   * Switch the verbose log on or off at run time (udpipe.md §4 `setDebug`), like the `verbose` option.
   * @param on true logs to stderr, a function receives each line, false stops logging.
   */
  setDebug(on: boolean | UdpLog): void {
    if (typeof on === 'function') this.log = on;
    else this.log = on ? (line) => process.stderr.write(`gamewire:udp ${line}\n`) : undefined;
  }

  /** Datagrams sent on all sockets of this pipe, control ones included. */
  getSentPackets(): number {
    return this.counters.sent;
  }

  /** Datagrams received on all sockets of this pipe, control and dropped ones included. */
  getReceivedPackets(): number {
    return this.counters.received;
  }

  /** A copy of all counters. */
  stats(): UdpPipeStats {
    return { ...this.counters };
  }

  /** Server: open sessions (established ones only). Client: its session if open. */
  get clients(): UdpSession[] {
    const out: UdpSession[] = [];
    for (const s of this.sessions.values()) if (s.state === 'open') out.push(s);
    return out;
  }

  /** Client: its session (any state), or null. */
  get session(): UdpSession | null {
    return this.clientSession;
  }

  /** Server: the bound port of S (0 before `start()` resolved). */
  get port(): number {
    return this.serverSocket ? this.serverSocket.address().port : 0;
  }

  /** One line for `console.log` / `util.inspect`: never the token, never the internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const what = this.destroyed
      ? 'destroyed'
      : this.role === 'server'
        ? `server on ${this.serverHost}:${this.port}, ${this.sessions.size} sessions`
        : this.role === 'client' && this.clientSession
          ? `client of ${this.clientSession.address}:${this.clientSession.port}, ${this.clientSession.state}`
          : 'not started';
    return `UdpPipe { ${what}, ${this.opts.mode} mode }`;
  }

  // ---- server ----------------------------------------------------------------------------------

  /**
   * Start a server: bind S (udpipe.md §1). Port first, as the original.
   * @param port default DEFAULT_PORT (1234); 0 picks a free port.
   * @param host default all interfaces.
   * @returns the bound port.
   * @throws {Error} if the pipe is already started or connected (synchronously).
   */
  start(port: number = DEFAULT_PORT, host?: string): Promise<number> {
    checkPortArgument('port', port, 0);
    if (host !== undefined) checkHostArgument('host', host);
    this.assertFresh();
    this.role = 'server';
    const socket = new UdpEndpoint(this.opts.type, {
      message: (msg, address, from) => this.inbound(Source.Server, null, msg, address, from),
      error: (err) => this.socketError(null, err),
    });
    this.serverSocket = socket;
    this.serverHost = host ?? (this.opts.type === 'udp6' ? '::' : '0.0.0.0');
    this.announceIp = this.opts.publicAddress ?? this.chooseAnnounceIp(this.serverHost);
    this.maxReplyBytes = encodeConnectReply(this.announceIp, 65535).length;
    this.startTicker();
    return new Promise<number>((resolve, reject) => {
      const fail = (err: Error): void => {
        // Reported like any socket error, then: nothing is listening, so release the socket and
        // the ticker (the pipe cannot be restarted).
        this.socketError(null, err);
        if (this.serverSocket === socket) this.closeServerSocket();
        this.stopIfIdle();
        reject(err);
      };
      const bound = (): void => {
        const boundPort = socket.address().port;
        this.log?.(`server listening on ${this.serverHost}:${boundPort}, announcing ${this.announceIp}`);
        resolve(boundPort);
      };
      socket.bind(port, this.serverHost, bound, { onBindError: fail });
    });
  }

  private chooseAnnounceIp(host: string): string {
    if (!WILDCARDS.has(host)) return host;
    const family = this.opts.type === 'udp6' ? 'IPv6' : 'IPv4';
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && a.family === family) return a.address;
    }
    return family === 'IPv6' ? '::1' : '127.0.0.1';
  }

  // ---- client ----------------------------------------------------------------------------------

  /**
   * Start a client handshake with the server at host:port (udpipe.md §2). The outcome arrives
   * as `onConnecting` then `onConnect`, or `onDisconnect(session, 'refused' | 'handshake timeout')`.
   * @param host server name or IP.
   * @param port server port (S).
   * @param timeout whole-handshake deadline (ms), default the `handshakeTimeoutMs` option.
   * @returns the session, in state `hello`.
   * @throws {Error} if the pipe is a server, or a client whose session has not ended yet;
   *   {TypeError} for a host that is not a non-empty string or a port that is not a number;
   *   {RangeError} for a port outside 1..65535.
   */
  connect(host: string, port: number, timeout?: number): UdpSession {
    checkHostArgument('host', host);
    checkPortArgument('port', port);
    this.assertFresh();
    if (timeout !== undefined && !(timeout > 0)) throw new RangeError('timeout must be > 0 (ms)');
    this.role = 'client';
    const session = new UdpSession('client', 'hello', host, port);
    this.clientSession = session;
    session.serverPort = port;
    session.hello = encodeHello(this.token, this.opts.helloPadBytes);
    session.deadline = this.now() + (timeout ?? this.opts.handshakeTimeoutMs);
    session.nextSendAt = Number.POSITIVE_INFINITY; // not before the socket is bound
    const socket = new UdpEndpoint(this.opts.type, {
      message: (msg, address, from) => this.inbound(Source.Session, session, msg, address, from),
      error: (err) => this.socketError(session, err),
    });
    session.socket = socket;
    this.startTicker();
    const begin = (ip: string): void => {
      if (session.state !== 'hello') return;
      session.serverAddress = ip;
      session.address = ip;
      socket.bind(0, undefined, () => {
        if (session.state !== 'hello') return;
        session.localPort = socket.address().port;
        session.nextSendAt = this.now();
        this.log?.(`client ${session} bound local port ${session.localPort}`);
        if (this.opts.mode === 'loop') this.runTimers(this.now());
      });
    };
    if (isIP(host) !== 0) begin(host);
    else {
      lookup(host, { family: this.opts.type === 'udp6' ? 6 : 4 }, (err, address) => {
        if (err) {
          this.report(new UdpError('GW_ERR_UDP_SOCKET', `cannot resolve ${host}: ${err.message}`, { cause: err }), session);
          this.endSession(session, 'error');
          return;
        }
        begin(address);
      });
    }
    return session;
  }

  private assertFresh(): void {
    if (this.destroyed) throw new Error('UdpPipe was destroyed');
    // A client whose session ended may connect again; a server is started once.
    if (this.role === 'client' && this.clientSession?.state === 'closed') {
      this.role = 'none';
      this.clientSession = null;
    }
    if (this.role !== 'none') throw new Error(`UdpPipe is already a ${this.role}; make a new one`);
  }

  // ---- sending ---------------------------------------------------------------------------------

  /**
   * Send one data datagram. While the session is stalled it is queued (a copy), bounded by
   * maxQueueCount / maxQueueBytes, the oldest dropped first. Data is unreliable and unordered,
   * like plain UDP. The bytes are handed to the socket: do not modify `msg` until the next turn
   * of the event loop.
   * @param msg payload; a string is sent as UTF-8.
   * @param session server: the client (required); client: ignored (its only session).
   * @returns true if sent or queued, false if the session is not open.
   * @throws {RangeError} if the payload is larger than maxDatagramBytes or would be read as a
   *   control word (docs/udp.md "Words"); {TypeError} on a server without a session.
   */
  send(msg: Uint8Array | string, session?: UdpSession): boolean {
    const buf = this.checkPayload(msg);
    const target = this.role === 'client' ? this.clientSession : session;
    if (!target) {
      if (this.role === 'server') throw new TypeError('send() on a server needs the session');
      return false;
    }
    return this.sendData(target, buf);
  }

  /**
   * Server: send one data datagram to every open session (queued for stalled ones).
   * @returns the number of sessions it was sent to or queued for.
   * @throws {RangeError} as send().
   */
  sendAll(msg: Uint8Array | string): number {
    const buf = this.checkPayload(msg);
    let n = 0;
    for (const s of this.sessions.values()) if (this.sendData(s, buf)) n++;
    return n;
  }

  private checkPayload(msg: Uint8Array | string): Uint8Array {
    const buf = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
    if (!(buf instanceof Uint8Array)) throw new TypeError('msg must be a Uint8Array or a string');
    if (buf.length > this.opts.maxDatagramBytes) throw new RangeError(`msg is ${buf.length} bytes, above maxDatagramBytes ${this.opts.maxDatagramBytes}`);
    const w = classify(buf);
    if (w !== Word.Data) throw new RangeError(`msg would be read as the control word ${WORD_NAMES[w]} (docs/udp.md "Words")`);
    return buf;
  }

  private sendData(s: UdpSession, buf: Uint8Array): boolean {
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

  /**
   * Send a PING now (udpipe.md §4): client → server, or server → every open session (or `session`).
   */
  ping(session?: UdpSession): void {
    const now = this.now();
    if (this.role === 'client') {
      if (this.clientSession) this.sendPing(this.clientSession, now);
    } else if (session) this.sendPing(session, now);
    else for (const s of this.sessions.values()) this.sendPing(s, now);
  }

  private sendPing(s: UdpSession, now: number): void {
    if (s.state !== 'open') return;
    if (s.lastPingSentAt < 0 || s.lastPingSentAt <= s.lastPongAt) s.lastPingSentAt = now;
    s.nextPingAt = now + this.opts.pingIntervalMs;
    this.control(s, PING_BYTES);
  }

  private control(s: UdpSession, bytes: Buffer): void {
    this.log?.(`${s.side} ${s} -> ${bytes.toString('latin1').trimEnd()}`);
    this.transmit(s.socket, bytes, s.port, s.address);
  }

  private transmit(socket: UdpEndpoint | null, buf: Uint8Array, port: number, address: string): void {
    if (!socket) return;
    this.counters.sent++;
    const refused = socket.send(buf, port, address);
    // Only a closed socket refuses; the session is being torn down.
    if (refused) this.log?.(`send failed: ${refused.message}`);
  }

  // ---- closing ---------------------------------------------------------------------------------

  /**
   * End a session with CLOSE (resent every handshakeRetryMs up to handshakeRetries times, until
   * CLOSED). Without `session`: a client closes its session; a server closes every session and
   * stops listening on S.
   * @returns resolves when the closed session(s) are released (in step mode, as `step()` runs).
   */
  close(session?: UdpSession): Promise<void> {
    const now = this.now();
    if (session) {
      this.beginClose(session, now);
    } else {
      if (this.role === 'client' && this.clientSession) this.beginClose(this.clientSession, now);
      if (this.role === 'server') {
        for (const s of [...this.sessions.values()]) {
          // A lingering session was already announced as gone; stop answering its CLOSEs now.
          if (s.state === 'lingering') this.release(s, s.disconnectReason ?? 'closed by peer', false);
          else this.beginClose(s, now);
        }
        this.closeServerSocket();
      }
    }
    return this.whenIdle(session);
  }

  private whenIdle(session?: UdpSession): Promise<void> {
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

  private beginClose(s: UdpSession, now: number): void {
    if (s.state === 'open') {
      s.state = 'closing';
      s.sends = 1;
      s.nextSendAt = now + this.opts.handshakeRetryMs;
      this.control(s, CLOSE_PADDED_BYTES);
      this.guard('onClose', s, () => this.onClose(s));
    } else if (s.state === 'hello' || s.state === 'connecting') {
      this.endSession(s, 'closed');
    }
  }

  private closeServerSocket(): void {
    const sock = this.serverSocket;
    if (!sock) return;
    this.serverSocket = null;
    sock.close();
  }

  /**
   * Close every socket and timer now, without CLOSE and without callbacks. For shutdown and tests.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const s of [...this.sessions.values()]) this.release(s, 'destroyed', false);
    if (this.clientSession) this.release(this.clientSession, 'destroyed', false);
    this.closeServerSocket();
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.wakeWaiters();
    this.stopTicker();
    this.notifyClosed();
  }

  // ---- driving ---------------------------------------------------------------------------------

  /**
   * Drive the protocol: handle every datagram that arrived, then run the timers (keepalive,
   * stall, disconnect, handshake and close resends). In step mode nothing happens without it; in
   * loop mode it only runs the timers early.
   * @param dt milliseconds since the previous call, to run timers on game time: once given, the
   *   pipe's clock advances only by the `dt`s passed here. Omit it to use the wall clock.
   * @returns the number of datagrams handled.
   */
  step(dt?: number): number {
    if (dt !== undefined) {
      if (!(dt >= 0)) throw new RangeError('dt must be a number ≥ 0 (ms)');
      this.manualClock = (this.manualClock ?? performance.now()) + dt;
    }
    let handled = 0;
    // Entries pushed while handling (none today) wait for the next step: bounded work per call.
    const n = this.inbox.length;
    for (let i = 0; i < n; i++) {
      const e = this.inbox[i]!;
      this.inboxBytes -= e.msg.length;
      try {
        this.handle(e.source, e.session, e.msg, e.address, e.port);
      } catch (err) {
        this.internalError(err, e.session);
      }
      handled++;
    }
    this.inbox.splice(0, n);
    this.runTimers(this.now());
    return handled;
  }

  /**
   * Wait until a datagram is waiting for `step()` or the receive timeout (`setTimeout`) passes.
   * Event-driven: it resolves as soon as a datagram enters the inbox (or the pipe is destroyed),
   * without polling.
   * @param timeoutMs default the value of `setTimeout()` (0: resolve at once).
   */
  wait(timeoutMs: number = this.receiveTimeoutMs): Promise<void> {
    if (this.inbox.length > 0 || timeoutMs <= 0 || this.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        const i = this.inboxWaiters.indexOf(done);
        if (i >= 0) this.inboxWaiters.splice(i, 1);
        resolve();
      };
      // Node fires a longer timer at once: beyond its ceiling (~24.8 days, or Infinity) only a
      // datagram or destroy() ends the wait.
      const timer = timeoutMs <= MAX_TIMER_DELAY_MS ? setTimeout(done, timeoutMs) : undefined;
      this.inboxWaiters.push(done);
    });
  }

  /** Resolve every pending `wait()`. */
  private wakeWaiters(): void {
    if (this.inboxWaiters.length === 0) return;
    const waiters = this.inboxWaiters;
    this.inboxWaiters = [];
    for (const w of waiters) w();
  }

  private now(): number {
    return this.manualClock ?? performance.now();
  }

  private startTicker(): void {
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

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private inbound(source: Source, session: UdpSession | null, msg: Buffer, address: string, port: number): void {
    this.counters.received++;
    if (this.opts.mode === 'loop') {
      // Callbacks are guarded one by one; this catch is the last line against a bug of ours, so a
      // datagram can never throw out of the 'message' handler and crash the process.
      try {
        this.handle(source, session, msg, address, port);
      } catch (err) {
        this.internalError(err, session);
      }
      return;
    }
    if (this.inbox.length >= this.opts.maxInboxCount || this.inboxBytes + msg.length > this.opts.maxInboxBytes) {
      this.counters.inboxDropped++;
      return;
    }
    this.inboxBytes += msg.length;
    this.inbox.push({ source, session, msg, address, port });
    this.wakeWaiters();
  }

  private internalError(err: unknown, session: UdpSession | null): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log?.(`internal error: ${message}`);
    this.report(new UdpError('GW_ERR_UDP_INTERNAL', `internal error: ${message}`, { cause: err }), session);
  }

  private handle(source: Source, session: UdpSession | null, msg: Buffer, address: string, port: number): void {
    if (source === Source.Server) this.handleHello(msg, address, port);
    else if (session!.side === 'server') this.handleServerSession(session!, msg, address, port);
    else this.handleClient(session!, msg, address, port);
  }

  // ---- S: HELLO --------------------------------------------------------------------------------

  private handleHello(msg: Buffer, address: string, port: number): void {
    if (!this.serverSocket) return;
    if (msg.length > this.opts.maxDatagramBytes || classify(msg) !== Word.Hello) {
      this.counters.ignored++;
      this.log?.(`server S <- ${msg.length} B from ${address}:${port} that is not HELLO: ignored`);
      return;
    }
    if (!this.allowHello(address)) {
      this.counters.rateLimited++;
      this.log?.(`server S <- HELLO from ${address}:${port}: rate limited`);
      return;
    }
    // The token first: a wrong one costs a compare and a constant reply, nothing else.
    if (!this.checker.checkHello(msg)) {
      this.refuse('token', msg.length, address, port);
      this.guard('onBadToken', null, () => this.onBadToken(address, port));
      return;
    }
    const key = `${address}:${port}`;
    const existing = this.sessions.get(key);
    if (existing) {
      // udpipe.md §6: a repeated HELLO allocates nothing; it is re-answered once SC is bound.
      if (existing.reply && (existing.state === 'connecting' || existing.state === 'open')) {
        this.log?.(`server S <- repeated HELLO from ${key}: CONNECT resent`);
        this.reply(this.serverSocket, existing.reply, msg.length, port, address);
      }
      return;
    }
    if (this.sessions.size >= this.opts.maxClients) {
      this.refuse('full', msg.length, address, port);
      this.guard('onMaxClients', null, () => this.onMaxClients(address, port));
      return;
    }
    if (this.opts.strictReplySize && msg.length < this.maxReplyBytes) {
      // Its CONNECT reply could not be sent (larger than the request): allocate nothing.
      this.counters.repliesSuppressed++;
      this.log?.(`server S <- HELLO of ${msg.length} B from ${key}: shorter than the ${this.maxReplyBytes} B reply, not answered (strictReplySize)`);
      return;
    }
    if (this.halfOpen >= this.opts.maxHalfOpen) {
      this.counters.halfOpenDropped++;
      this.log?.(`server S <- HELLO from ${key}: ${this.halfOpen} half-open handshakes, dropped`);
      return;
    }
    this.accept(key, address, port, msg.length);
  }

  /** Fixed one-second windows per source IP, in a table of at most maxRateEntries IPs. */
  private allowHello(address: string): boolean {
    const now = performance.now();
    if (now - this.rateWindowStart >= 1000) {
      this.rateWindowStart = now;
      this.rate.clear();
    }
    const count = this.rate.get(address);
    if (count === undefined) {
      if (this.rate.size >= this.opts.maxRateEntries) return false;
      this.rate.set(address, 1);
      return true;
    }
    if (count >= this.opts.helloRatePerSecond) return false;
    this.rate.set(address, count + 1);
    return true;
  }

  private refuse(cause: 'token' | 'full', requestBytes: number, address: string, port: number): void {
    this.counters.refused++;
    let bytes = this.opts.refusalReasons ? (cause === 'token' ? GO_AWAY_TOKEN_BYTES : GO_AWAY_FULL_BYTES) : GO_AWAY_BYTES;
    if (this.opts.strictReplySize && bytes.length > requestBytes) bytes = GO_AWAY_BYTES;
    this.log?.(`server S <- HELLO from ${address}:${port}: ${cause === 'token' ? 'bad token' : 'server full'}, GO AWAY!`);
    // One constant reply from a buffer made once: a refusal allocates nothing.
    this.reply(this.serverSocket, bytes, requestBytes, port, address);
  }

  /** Send a reply unless it is larger than its request (strictReplySize). */
  private reply(socket: UdpEndpoint | null, bytes: Buffer, requestBytes: number, port: number, address: string): void {
    if (this.opts.strictReplySize && bytes.length > requestBytes) {
      this.counters.repliesSuppressed++;
      this.log?.(`reply ${bytes.length} B to a ${requestBytes} B request from ${address}:${port} not sent (strictReplySize)`);
      return;
    }
    this.transmit(socket, bytes, port, address);
  }

  private accept(key: string, address: string, port: number, requestBytes: number): void {
    const now = this.now();
    const s = new UdpSession('server', 'connecting', address, port);
    s.requestBytes = requestBytes;
    s.deadline = now + this.opts.handshakeTimeoutMs;
    this.sessions.set(key, s);
    this.halfOpen++;
    const sc = new UdpEndpoint(this.opts.type, {
      message: (msg, from, fromPort) => this.inbound(Source.Session, s, msg, from, fromPort),
      error: (err) => this.socketError(s, err),
    });
    s.socket = sc;
    this.log?.(`server S <- HELLO from ${key}: accepted, opening SC`);
    sc.bind(0, WILDCARDS.has(this.serverHost) ? undefined : this.serverHost, () => {
      if (s.state !== 'connecting') return;
      s.localPort = sc.address().port;
      s.reply = encodeConnectReply(this.announceIp, s.localPort);
      s.nextSendAt = this.now(); // the CONNECT reply goes out with the next timer run
      if (this.opts.mode === 'loop') this.runTimers(this.now());
    });
  }

  // ---- SC: one client's socket -------------------------------------------------------------------

  private handleServerSession(s: UdpSession, msg: Buffer, address: string, port: number): void {
    // udpipe.md §6: SC accepts only the address that sent HELLO; others are ignored, unanswered.
    if (port !== s.port || address !== s.address) {
      this.counters.ignored++;
      this.log?.(`server ${s} <- ${msg.length} B from unknown ${address}:${port}: ignored`);
      return;
    }
    if (msg.length > this.opts.maxDatagramBytes) return this.oversize(s, msg.length);
    const w = classify(msg);
    if (w === Word.Data) {
      if (s.state !== 'open') {
        this.counters.ignored++;
        return;
      }
      this.deliver(s, msg);
      return;
    }
    this.log?.(`server ${s} <- ${WORD_NAMES[w]} (${s.state})`);
    switch (w) {
      case Word.Connect:
        if (this.opts.strictReplySize && msg.length < CONNECTED_BYTES.length) {
          // A bare CONNECT cannot be answered without amplifying; the session stays half-open.
          this.counters.repliesSuppressed++;
          this.log?.(`server ${s} <- CONNECT of ${msg.length} B, shorter than CONNECTED: not answered (strictReplySize)`);
          return;
        }
        if (s.state === 'connecting') {
          s.state = 'open';
          this.halfOpen--;
          const now = this.now();
          s.lastPongAt = now;
          s.nextPingAt = now + this.opts.pingIntervalMs;
          this.reply(s.socket, CONNECTED_BYTES, msg.length, port, address);
          this.guard('onNewClient', s, () => this.onNewClient(s));
        } else if (s.state === 'open') {
          this.reply(s.socket, CONNECTED_BYTES, msg.length, port, address); // its CONNECTED was lost
        } else this.counters.ignored++;
        return;
      default:
        this.handleSessionWord(s, w, msg);
    }
  }

  // ---- C: the client's socket ---------------------------------------------------------------------

  private handleClient(s: UdpSession, msg: Buffer, address: string, port: number): void {
    const fromServer = address === s.serverAddress && port === s.serverPort;
    if (msg.length > this.opts.maxDatagramBytes) {
      if (fromServer || (address === s.address && port === s.port)) this.oversize(s, msg.length);
      else this.counters.ignored++;
      return;
    }
    const w = classify(msg);
    if (s.state === 'hello') {
      if (!fromServer) return this.ignore(s, w, address, port);
      if (w === Word.Connect) {
        const target = parseConnectReply(msg);
        if (!target) {
          this.report(new UdpError('GW_ERR_UDP_MALFORMED', `malformed CONNECT reply from ${address}:${port}`), s);
          return;
        }
        s.state = 'connecting';
        // A wildcard announcement cannot be reached: use the address we sent HELLO to.
        s.scAddress = WILDCARDS.has(target.ip) ? s.serverAddress : target.ip;
        s.scPort = target.port;
        s.address = s.scAddress;
        s.port = s.scPort;
        s.sends = 1;
        s.nextSendAt = this.now() + this.opts.handshakeRetryMs;
        this.log?.(`client ${s} <- CONNECT ${target.ip} ${target.port}`);
        this.guard('onConnecting', s, () => this.onConnecting(s));
        if (s.state === 'connecting') this.control(s, CONNECT_PADDED_BYTES);
        return;
      }
      if (w === Word.GoAway) {
        const cause = parseGoAway(msg);
        this.log?.(`client ${s} <- GO AWAY! (${cause})`);
        if (cause === 'token') this.guard('onBadToken', null, () => this.onBadToken(address, port));
        else if (cause === 'full') this.guard('onMaxClients', null, () => this.onMaxClients(address, port));
        this.endSession(s, 'refused');
        return;
      }
      return this.ignore(s, w, address, port);
    }
    if (s.state === 'connecting') {
      // udpipe.md §6: accept SC's answer even from another IP than announced (NAT), on its port.
      if (w === Word.Connected && port === s.scPort) {
        s.state = 'open';
        s.address = address;
        const now = this.now();
        s.lastPongAt = now;
        s.nextPingAt = now + this.opts.pingIntervalMs;
        this.log?.(`client ${s} <- CONNECTED`);
        this.guard('onConnect', s, () => this.onConnect(s));
        return;
      }
      return this.ignore(s, w, address, port);
    }
    if (address !== s.address || port !== s.port) return this.ignore(s, w, address, port);
    if (w === Word.Data) {
      if (s.state !== 'open') return this.ignore(s, w, address, port);
      this.deliver(s, msg);
      return;
    }
    this.log?.(`client ${s} <- ${WORD_NAMES[w]} (${s.state})`);
    this.handleSessionWord(s, w, msg);
  }

  /** A data datagram on an open session, from its peer: count it and hand it to onNewMessage. */
  private deliver(s: UdpSession, msg: Buffer): void {
    s.dataReceived++;
    this.counters.dataReceived++;
    this.log?.(`${s.side} ${s} <- data ${msg.length} B`);
    // Inline rather than through guard(): no closure per datagram on the hot path.
    try {
      this.onNewMessage(msg, s);
    } catch (err) {
      this.callbackThrew('onNewMessage', err, s);
    }
  }

  // ---- application callbacks: what they throw never reaches a socket handler -------------------

  /** Run one application callback; an exception is reported (callbackThrew), never propagated. */
  private guard(name: CallbackName, session: UdpSession | null, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.callbackThrew(name, err, session);
    }
  }

  /** Hand `error` to onError; if onError itself throws, log it and carry on. */
  private report(error: UdpError, session: UdpSession | null): void {
    try {
      this.onError(error, session);
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
    if (this.onError === UdpPipe.prototype.onError) {
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

  private ignore(s: UdpSession, w: Word, address: string, port: number): void {
    this.counters.ignored++;
    this.log?.(`${s.side} ${s} <- ${WORD_NAMES[w]} from ${address}:${port} in state ${s.state}: ignored`);
  }

  // ---- words valid on an established session, both sides --------------------------------------

  private handleSessionWord(s: UdpSession, w: Word, msg: Buffer): void {
    switch (w) {
      case Word.Ping:
        if (s.state !== 'open') return this.ignore(s, w, s.address, s.port);
        this.reply(s.socket, PONG_BYTES, msg.length, s.port, s.address);
        this.guard('onPing', s, () => this.onPing(s));
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
          this.guard('onClose', s, () => this.onClose(s));
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
      this.guard('onUnstalled', s, () => this.onUnstalled(s, queue.length));
    }
    this.guard('onPong', s, () => this.onPong(s));
  }

  private oversize(s: UdpSession, bytes: number): void {
    this.counters.oversize++;
    this.report(new UdpError('GW_ERR_UDP_OVERSIZE', `datagram of ${bytes} B above maxDatagramBytes ${this.opts.maxDatagramBytes} dropped`), s);
  }

  // ---- timers ----------------------------------------------------------------------------------

  private runTimers(now: number): void {
    if (this.destroyed) return;
    if (this.clientSession) this.timeClient(this.clientSession, now);
    for (const s of this.sessions.values()) this.timeServer(s, now);
  }

  private timeServer(s: UdpSession, now: number): void {
    switch (s.state) {
      case 'connecting':
        if (now >= s.deadline) {
          this.counters.handshakeTimeouts++;
          this.log?.(`server ${s} no CONNECT before the deadline: half-open session freed`);
          this.release(s, 'handshake timeout', false);
        } else if (s.reply && now >= s.nextSendAt) {
          // Sent once when SC is bound; afterwards only a repeated HELLO re-sends it.
          s.nextSendAt = Number.POSITIVE_INFINITY;
          this.log?.(`server ${s} -> CONNECT ${this.announceIp} ${s.localPort}`);
          this.reply(this.serverSocket, s.reply, s.requestBytes, s.port, s.address);
        }
        return;
      default:
        this.timeCommon(s, now);
    }
  }

  private timeClient(s: UdpSession, now: number): void {
    switch (s.state) {
      case 'hello':
      case 'connecting':
        if (now >= s.deadline) {
          this.log?.(`client ${s} handshake deadline passed`);
          this.endSession(s, 'handshake timeout');
        } else if (now >= s.nextSendAt && s.sends <= this.opts.handshakeRetries) {
          s.sends++;
          s.nextSendAt = now + this.opts.handshakeRetryMs;
          if (s.state === 'hello') {
            this.log?.(`client ${s} -> HELLO (send ${s.sends})`);
            this.transmit(s.socket, s.hello!, s.serverPort, s.serverAddress);
          } else this.control(s, CONNECT_PADDED_BYTES);
        }
        return;
      default:
        this.timeCommon(s, now);
    }
  }

  private timeCommon(s: UdpSession, now: number): void {
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
          this.guard('onStalled', s, () => this.onStalled(s));
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

  // ---- teardown --------------------------------------------------------------------------------

  /** A handshake that failed or was abandoned: fire onDisconnect, release. */
  private endSession(s: UdpSession, reason: DisconnectReason): void {
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
    this.guard('onDisconnect', s, () => this.onDisconnect(s, reason));
  }

  private dropQueue(s: UdpSession): void {
    const left = s.takeQueue().length;
    s.queueDropped += left;
    this.counters.queueDropped += left;
  }

  private release(s: UdpSession, reason: DisconnectReason, notify: boolean): void {
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
    if (announce) this.guard('onDisconnect', s, () => this.onDisconnect(s, reason));
    this.notifyClosed();
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    const clientDone = this.role === 'client' && (!this.clientSession || this.clientSession.state === 'closed');
    const serverDone = this.role === 'server' && !this.serverSocket && this.sessions.size === 0;
    if (clientDone || serverDone || this.destroyed) this.stopTicker();
  }

  private notifyClosed(): void {
    if (this.closeWaiters.length === 0) return;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }

  private socketError(s: UdpSession | null, err: Error): void {
    this.log?.(`socket error${s ? ` on ${s}` : ''}: ${err.message}`);
    this.report(new UdpError('GW_ERR_UDP_SOCKET', err.message, { cause: err }), s);
    if (s && s.side === 'server' && s.state === 'connecting' && !s.reply) {
      this.release(s, 'error', false); // SC could not be bound
    }
  }
}
