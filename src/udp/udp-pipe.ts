/**
 * UdpPipe: a UDPIPE-style session endpoint (udpipe.md). One instance is a server (`start()`) or
 * a client (`connect()`). Callbacks keep the original's names; assign them on the instance or
 * override them in a subclass. This file is the public face; the work is done by the core
 * (pipe-core.ts: sockets, inbox, clock, session words, keepalive, teardown), the server side
 * (server-side.ts: S and SC) and the client side (client-side.ts: C).
 */
import { checkHostArgument, checkPortArgument } from '../core/validate.js';
import { ClientSide } from './client-side.js';
import type { UdpError } from './errors.js';
import { DEFAULT_PORT, DEFAULT_TOKEN } from './limits.js';
import { resolveOptions, type UdpLog, type UdpPipeOptions } from './options.js';
import { PipeCore } from './pipe-core.js';
import type { UdpCallbacks, UdpPipeStats } from './pipe-types.js';
import { ServerSide } from './server-side.js';
import type { DisconnectReason, UdpSession } from './session.js';
import { WORD_NAMES, Word, classify, validateToken } from './words.js';

export type { UdpPipeStats } from './pipe-types.js';

/**
 * A UDP session endpoint, server or client (udpipe.md §1-4). See docs/udp.md.
 *
 * ```ts
 * const server = new UdpPipe({ token: 'secret' });
 * server.onNewMessage = (msg, session) => server.send(msg, session); // echo
 * await server.start(1234, '127.0.0.1');
 * ```
 */
export class UdpPipe implements UdpCallbacks {
  private readonly core: PipeCore;
  private readonly server: ServerSide;
  private readonly client: ClientSide;
  private receiveTimeoutMs = 0;

  /**
   * @param options every value udpipe.md §6 leaves open; see UdpPipeOptions for the defaults.
   * @throws {RangeError} for an out-of-range option; {TypeError} for an unknown one.
   */
  constructor(options: UdpPipeOptions = {}) {
    const opts = resolveOptions(options);
    options ??= {};
    this.core = new PipeCore(this, opts, validateToken(options.token ?? DEFAULT_TOKEN), UdpPipe.prototype.onError);
    this.server = new ServerSide(this.core);
    this.client = new ClientSide(this.core);
    this.core.server = this.server;
    this.core.client = this.client;
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
    this.core.token = validateToken(token);
    this.core.checker.set(this.core.token);
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
    if (typeof on === 'function') this.core.log = on;
    else this.core.log = on ? (line) => process.stderr.write(`gamewire:udp ${line}\n`) : undefined;
  }

  /** Datagrams sent on all sockets of this pipe, control ones included. */
  getSentPackets(): number {
    return this.core.counters.sent;
  }

  /** Datagrams received on all sockets of this pipe, control and dropped ones included. */
  getReceivedPackets(): number {
    return this.core.counters.received;
  }

  /** A copy of all counters. */
  stats(): UdpPipeStats {
    return { ...this.core.counters };
  }

  /** Server: open sessions (established ones only). Client: its session if open. */
  get clients(): UdpSession[] {
    const out: UdpSession[] = [];
    for (const s of this.core.sessions.values()) if (s.state === 'open') out.push(s);
    return out;
  }

  /** Client: its session (any state), or null. */
  get session(): UdpSession | null {
    return this.core.clientSession;
  }

  /** Server: the bound port of S (0 before `start()` resolved). */
  get port(): number {
    return this.core.serverSocket ? this.core.serverSocket.address().port : 0;
  }

  /** One line for `console.log` / `util.inspect`: never the token, never the internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const core = this.core;
    const what = core.destroyed
      ? 'destroyed'
      : core.role === 'server'
        ? `server on ${this.server.host}:${this.port}, ${core.sessions.size} sessions`
        : core.role === 'client' && core.clientSession
          ? `client of ${core.clientSession.address}:${core.clientSession.port}, ${core.clientSession.state}`
          : 'not started';
    return `UdpPipe { ${what}, ${core.opts.mode} mode }`;
  }

  /** What `JSON.stringify` shows (the internals hold the pipe itself and the token). */
  toJSON(): { kind: 'UdpPipe'; role: 'none' | 'server' | 'client'; mode: string; port: number; sessions: number; destroyed: boolean } {
    const core = this.core;
    return { kind: 'UdpPipe', role: core.role, mode: core.opts.mode, port: this.port, sessions: core.sessions.size, destroyed: core.destroyed };
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
    this.core.role = 'server';
    return this.server.start(port, host);
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
    this.core.role = 'client';
    return this.client.connect(host, port, timeout);
  }

  private assertFresh(): void {
    const core = this.core;
    if (core.destroyed) throw new Error('UdpPipe was destroyed');
    // A client whose session ended may connect again; a server is started once.
    if (core.role === 'client' && core.clientSession?.state === 'closed') {
      core.role = 'none';
      core.clientSession = null;
    }
    if (core.role !== 'none') throw new Error(`UdpPipe is already a ${core.role}; make a new one`);
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
    const target = this.core.role === 'client' ? this.core.clientSession : session;
    if (!target) {
      if (this.core.role === 'server') throw new TypeError('send() on a server needs the session');
      return false;
    }
    return this.core.sendData(target, buf);
  }

  /**
   * Server: send one data datagram to every open session (queued for stalled ones).
   * @returns the number of sessions it was sent to or queued for.
   * @throws {RangeError} as send().
   */
  sendAll(msg: Uint8Array | string): number {
    const buf = this.checkPayload(msg);
    let n = 0;
    for (const s of this.core.sessions.values()) if (this.core.sendData(s, buf)) n++;
    return n;
  }

  private checkPayload(msg: Uint8Array | string): Uint8Array {
    const buf = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg;
    if (!(buf instanceof Uint8Array)) throw new TypeError('msg must be a Uint8Array or a string');
    if (buf.length > this.core.opts.maxDatagramBytes) throw new RangeError(`msg is ${buf.length} bytes, above maxDatagramBytes ${this.core.opts.maxDatagramBytes}`);
    const w = classify(buf);
    if (w !== Word.Data) throw new RangeError(`msg would be read as the control word ${WORD_NAMES[w]} (docs/udp.md "Words")`);
    return buf;
  }

  /**
   * Send a PING now (udpipe.md §4): client → server, or server → every open session (or `session`).
   */
  ping(session?: UdpSession): void {
    const core = this.core;
    const now = core.now();
    if (core.role === 'client') {
      if (core.clientSession) core.sendPing(core.clientSession, now);
    } else if (session) core.sendPing(session, now);
    else for (const s of core.sessions.values()) core.sendPing(s, now);
  }

  // ---- closing ---------------------------------------------------------------------------------

  /**
   * End a session with CLOSE (resent every handshakeRetryMs up to handshakeRetries times, until
   * CLOSED). Without `session`: a client closes its session; a server closes every session and
   * stops listening on S.
   * @returns resolves when the closed session(s) are released (in step mode, as `step()` runs).
   */
  close(session?: UdpSession): Promise<void> {
    const core = this.core;
    const now = core.now();
    if (session) {
      core.beginClose(session, now);
    } else {
      if (core.role === 'client' && core.clientSession) core.beginClose(core.clientSession, now);
      if (core.role === 'server') {
        for (const s of [...core.sessions.values()]) {
          // A lingering session was already announced as gone; stop answering its CLOSEs now.
          if (s.state === 'lingering') core.release(s, s.disconnectReason ?? 'closed by peer', false);
          else core.beginClose(s, now);
        }
        core.closeServerSocket();
      }
    }
    return core.whenIdle(session);
  }

  /**
   * Close every socket and timer now, without CLOSE and without callbacks. For shutdown and tests.
   */
  destroy(): void {
    const core = this.core;
    if (core.destroyed) return;
    core.destroyed = true;
    for (const s of [...core.sessions.values()]) core.release(s, 'destroyed', false);
    if (core.clientSession) core.release(core.clientSession, 'destroyed', false);
    core.closeServerSocket();
    core.clearInbox();
    core.stopTicker();
    core.notifyClosed();
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
      this.core.advanceClock(dt);
    }
    const handled = this.core.drainInbox();
    this.core.runTimers(this.core.now());
    return handled;
  }

  /**
   * Wait until a datagram is waiting for `step()` or the receive timeout (`setTimeout`) passes.
   * Event-driven: it resolves as soon as a datagram enters the inbox (or the pipe is destroyed),
   * without polling.
   * @param timeoutMs default the value of `setTimeout()` (0: resolve at once).
   */
  wait(timeoutMs: number = this.receiveTimeoutMs): Promise<void> {
    return this.core.waitForInbox(timeoutMs);
  }
}
