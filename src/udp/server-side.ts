/**
 * The server side of a UdpPipe (udpipe.md §1, §6): S, the socket every HELLO arrives on (rate
 * limit, token, refusals, half-open bound), and the per-client SC sockets it opens, with the
 * server's handshake timers. Everything else a session does is the core's (pipe-core.ts).
 */
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { WILDCARDS, type PipeCore } from './pipe-core.js';
import type { ServerPart } from './pipe-types.js';
import { UdpSession } from './session.js';
import { CONNECTED_BYTES, GO_AWAY_BYTES, GO_AWAY_FULL_BYTES, GO_AWAY_TOKEN_BYTES, WORD_NAMES, Word, classify, encodeConnectReply } from './words.js';

/** @internal The server half of one UdpPipe. */
export class ServerSide implements ServerPart {
  private readonly core: PipeCore;
  /** The address S is bound to, as given to `start()` or the family's wildcard. */
  host = '';
  /** The IP sent in `CONNECT <ip> <port>`. */
  private announceIp = '';
  /** Size of the largest CONNECT reply S can send (bytes): a shorter HELLO is not worth a socket. */
  private maxReplyBytes = 0;
  private readonly rate = new Map<string, number>();
  private rateWindowStart = 0;

  constructor(core: PipeCore) {
    this.core = core;
  }

  /** Bind S (the caller checked the arguments and made the pipe a server). @returns the bound port. */
  start(port: number, host: string | undefined): Promise<number> {
    const core = this.core;
    const socket = core.openEndpoint(null);
    core.serverSocket = socket;
    this.host = host ?? (core.opts.type === 'udp6' ? '::' : '0.0.0.0');
    this.announceIp = core.opts.publicAddress ?? this.chooseAnnounceIp(this.host);
    this.maxReplyBytes = encodeConnectReply(this.announceIp, 65535).length;
    core.startTicker();
    return new Promise<number>((resolve, reject) => {
      const fail = (err: Error): void => {
        // Reported like any socket error, then: nothing is listening, so release the socket and
        // the ticker (the pipe cannot be restarted).
        core.socketError(null, err);
        if (core.serverSocket === socket) core.closeServerSocket();
        core.stopIfIdle();
        reject(err);
      };
      const bound = (): void => {
        const boundPort = socket.address().port;
        core.log?.(`server listening on ${this.host}:${boundPort}, announcing ${this.announceIp}`);
        resolve(boundPort);
      };
      socket.bind(port, this.host, bound, { onBindError: fail });
    });
  }

  private chooseAnnounceIp(host: string): string {
    if (!WILDCARDS.has(host)) return host;
    const family = this.core.opts.type === 'udp6' ? 'IPv6' : 'IPv4';
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && a.family === family) return a.address;
    }
    return family === 'IPv6' ? '::1' : '127.0.0.1';
  }

  // ---- S: HELLO --------------------------------------------------------------------------------

  handleHello(msg: Buffer, address: string, port: number): void {
    const core = this.core;
    if (!core.serverSocket) return;
    if (msg.length > core.opts.maxDatagramBytes || classify(msg) !== Word.Hello) {
      core.counters.ignored++;
      core.log?.(`server S <- ${msg.length} B from ${address}:${port} that is not HELLO: ignored`);
      return;
    }
    if (!this.allowHello(address)) {
      core.counters.rateLimited++;
      core.log?.(`server S <- HELLO from ${address}:${port}: rate limited`);
      return;
    }
    // The token first: a wrong one costs a compare and a constant reply, nothing else.
    if (!core.checker.checkHello(msg)) {
      this.refuse('token', msg.length, address, port);
      core.guard('onBadToken', null, () => core.app.onBadToken(address, port));
      return;
    }
    const key = `${address}:${port}`;
    const existing = core.sessions.get(key);
    if (existing) {
      // udpipe.md §6: a repeated HELLO allocates nothing; it is re-answered once SC is bound.
      if (existing.reply && (existing.state === 'connecting' || existing.state === 'open')) {
        core.log?.(`server S <- repeated HELLO from ${key}: CONNECT resent`);
        core.reply(core.serverSocket, existing.reply, msg.length, port, address);
      }
      return;
    }
    if (core.sessions.size >= core.opts.maxClients) {
      this.refuse('full', msg.length, address, port);
      core.guard('onMaxClients', null, () => core.app.onMaxClients(address, port));
      return;
    }
    if (core.opts.strictReplySize && msg.length < this.maxReplyBytes) {
      // Its CONNECT reply could not be sent (larger than the request): allocate nothing.
      core.counters.repliesSuppressed++;
      core.log?.(`server S <- HELLO of ${msg.length} B from ${key}: shorter than the ${this.maxReplyBytes} B reply, not answered (strictReplySize)`);
      return;
    }
    if (core.halfOpen >= core.opts.maxHalfOpen) {
      core.counters.halfOpenDropped++;
      core.log?.(`server S <- HELLO from ${key}: ${core.halfOpen} half-open handshakes, dropped`);
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
      if (this.rate.size >= this.core.opts.maxRateEntries) return false;
      this.rate.set(address, 1);
      return true;
    }
    if (count >= this.core.opts.helloRatePerSecond) return false;
    this.rate.set(address, count + 1);
    return true;
  }

  private refuse(cause: 'token' | 'full', requestBytes: number, address: string, port: number): void {
    const core = this.core;
    core.counters.refused++;
    let bytes = core.opts.refusalReasons ? (cause === 'token' ? GO_AWAY_TOKEN_BYTES : GO_AWAY_FULL_BYTES) : GO_AWAY_BYTES;
    if (core.opts.strictReplySize && bytes.length > requestBytes) bytes = GO_AWAY_BYTES;
    core.log?.(`server S <- HELLO from ${address}:${port}: ${cause === 'token' ? 'bad token' : 'server full'}, GO AWAY!`);
    // One constant reply from a buffer made once: a refusal allocates nothing.
    core.reply(core.serverSocket, bytes, requestBytes, port, address);
  }

  private accept(key: string, address: string, port: number, requestBytes: number): void {
    const core = this.core;
    const now = core.now();
    const s = new UdpSession('server', 'connecting', address, port);
    s.requestBytes = requestBytes;
    s.deadline = now + core.opts.handshakeTimeoutMs;
    core.sessions.set(key, s);
    core.halfOpen++;
    const sc = core.openEndpoint(s);
    s.socket = sc;
    core.log?.(`server S <- HELLO from ${key}: accepted, opening SC`);
    sc.bind(0, WILDCARDS.has(this.host) ? undefined : this.host, () => {
      if (s.state !== 'connecting') return;
      s.localPort = sc.address().port;
      s.reply = encodeConnectReply(this.announceIp, s.localPort);
      s.nextSendAt = core.now(); // the CONNECT reply goes out with the next timer run
      if (core.opts.mode === 'loop') core.runTimers(core.now());
    });
  }

  // ---- SC: one client's socket -------------------------------------------------------------------

  handleSession(s: UdpSession, msg: Buffer, address: string, port: number): void {
    const core = this.core;
    // udpipe.md §6: SC accepts only the address that sent HELLO; others are ignored, unanswered.
    if (port !== s.port || address !== s.address) {
      core.counters.ignored++;
      core.log?.(`server ${s} <- ${msg.length} B from unknown ${address}:${port}: ignored`);
      return;
    }
    if (msg.length > core.opts.maxDatagramBytes) return core.oversize(s, msg.length);
    const w = classify(msg);
    if (w === Word.Data) {
      if (s.state !== 'open') {
        core.counters.ignored++;
        return;
      }
      core.deliver(s, msg);
      return;
    }
    core.log?.(`server ${s} <- ${WORD_NAMES[w]} (${s.state})`);
    switch (w) {
      case Word.Connect:
        if (core.opts.strictReplySize && msg.length < CONNECTED_BYTES.length) {
          // A bare CONNECT cannot be answered without amplifying; the session stays half-open.
          core.counters.repliesSuppressed++;
          core.log?.(`server ${s} <- CONNECT of ${msg.length} B, shorter than CONNECTED: not answered (strictReplySize)`);
          return;
        }
        if (s.state === 'connecting') {
          s.state = 'open';
          core.halfOpen--;
          const now = core.now();
          s.lastPongAt = now;
          s.nextPingAt = now + core.opts.pingIntervalMs;
          core.reply(s.socket, CONNECTED_BYTES, msg.length, port, address);
          core.guard('onNewClient', s, () => core.app.onNewClient(s));
        } else if (s.state === 'open') {
          core.reply(s.socket, CONNECTED_BYTES, msg.length, port, address); // its CONNECTED was lost
        } else core.counters.ignored++;
        return;
      default:
        core.handleSessionWord(s, w, msg);
    }
  }

  // ---- timers ----------------------------------------------------------------------------------

  time(s: UdpSession, now: number): void {
    const core = this.core;
    switch (s.state) {
      case 'connecting':
        if (now >= s.deadline) {
          core.counters.handshakeTimeouts++;
          core.log?.(`server ${s} no CONNECT before the deadline: half-open session freed`);
          core.release(s, 'handshake timeout', false);
        } else if (s.reply && now >= s.nextSendAt) {
          // Sent once when SC is bound; afterwards only a repeated HELLO re-sends it.
          s.nextSendAt = Number.POSITIVE_INFINITY;
          core.log?.(`server ${s} -> CONNECT ${this.announceIp} ${s.localPort}`);
          core.reply(core.serverSocket, s.reply, s.requestBytes, s.port, s.address);
        }
        return;
      default:
        core.timeCommon(s, now);
    }
  }
}
