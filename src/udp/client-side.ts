/**
 * The client side of a UdpPipe (udpipe.md §2): resolve the server, bind C, HELLO to S until
 * `CONNECT <ip> <port>` (or GO AWAY!), CONNECT to SC until CONNECTED, with the client's
 * handshake timers. Everything else a session does is the core's (pipe-core.ts).
 */
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { UdpError } from './errors.js';
import { WILDCARDS, type PipeCore } from './pipe-core.js';
import type { ClientPart } from './pipe-types.js';
import { UdpSession } from './session.js';
import { CONNECT_PADDED_BYTES, WORD_NAMES, Word, classify, encodeHello, parseConnectReply, parseGoAway } from './words.js';

/** @internal The client half of one UdpPipe. */
export class ClientSide implements ClientPart {
  private readonly core: PipeCore;

  constructor(core: PipeCore) {
    this.core = core;
  }

  /**
   * Start the handshake (the caller checked the arguments and made the pipe a client).
   * @returns the session, in state `hello`.
   */
  connect(host: string, port: number, timeout: number | undefined): UdpSession {
    const core = this.core;
    const session = new UdpSession('client', 'hello', host, port);
    core.clientSession = session;
    session.serverPort = port;
    session.hello = encodeHello(core.token, core.opts.helloPadBytes);
    session.deadline = core.now() + (timeout ?? core.opts.handshakeTimeoutMs);
    session.nextSendAt = Number.POSITIVE_INFINITY; // not before the socket is bound
    const socket = core.openEndpoint(session);
    session.socket = socket;
    core.startTicker();
    const begin = (ip: string): void => {
      if (session.state !== 'hello') return;
      session.serverAddress = ip;
      session.address = ip;
      socket.bind(0, undefined, () => {
        if (session.state !== 'hello') return;
        session.localPort = socket.address().port;
        session.nextSendAt = core.now();
        core.log?.(`client ${session} bound local port ${session.localPort}`);
        if (core.opts.mode === 'loop') core.runTimers(core.now());
      });
    };
    if (isIP(host) !== 0) begin(host);
    else {
      lookup(host, { family: core.opts.type === 'udp6' ? 6 : 4 }, (err, address) => {
        if (err) {
          core.report(new UdpError('GW_ERR_UDP_SOCKET', `cannot resolve ${host}: ${err.message}`, { cause: err }), session);
          core.endSession(session, 'error');
          return;
        }
        begin(address);
      });
    }
    return session;
  }

  // ---- C: the client's socket ---------------------------------------------------------------------

  handle(s: UdpSession, msg: Buffer, address: string, port: number): void {
    const core = this.core;
    const fromServer = address === s.serverAddress && port === s.serverPort;
    if (msg.length > core.opts.maxDatagramBytes) {
      if (fromServer || (address === s.address && port === s.port)) core.oversize(s, msg.length);
      else core.counters.ignored++;
      return;
    }
    const w = classify(msg);
    if (s.state === 'hello') {
      if (!fromServer) return core.ignore(s, w, address, port);
      if (w === Word.Connect) {
        const target = parseConnectReply(msg);
        if (!target) {
          core.report(new UdpError('GW_ERR_UDP_MALFORMED', `malformed CONNECT reply from ${address}:${port}`), s);
          return;
        }
        s.state = 'connecting';
        // A wildcard announcement cannot be reached: use the address we sent HELLO to.
        s.scAddress = WILDCARDS.has(target.ip) ? s.serverAddress : target.ip;
        s.scPort = target.port;
        s.address = s.scAddress;
        s.port = s.scPort;
        s.sends = 1;
        s.nextSendAt = core.now() + core.opts.handshakeRetryMs;
        core.log?.(`client ${s} <- CONNECT ${target.ip} ${target.port}`);
        core.guard('onConnecting', s, () => core.app.onConnecting(s));
        if (s.state === 'connecting') core.control(s, CONNECT_PADDED_BYTES);
        return;
      }
      if (w === Word.GoAway) {
        const cause = parseGoAway(msg);
        core.log?.(`client ${s} <- GO AWAY! (${cause})`);
        if (cause === 'token') core.guard('onBadToken', null, () => core.app.onBadToken(address, port));
        else if (cause === 'full') core.guard('onMaxClients', null, () => core.app.onMaxClients(address, port));
        core.endSession(s, 'refused');
        return;
      }
      return core.ignore(s, w, address, port);
    }
    if (s.state === 'connecting') {
      // udpipe.md §6: accept SC's answer even from another IP than announced (NAT), on its port.
      if (w === Word.Connected && port === s.scPort) {
        s.state = 'open';
        s.address = address;
        const now = core.now();
        s.lastPongAt = now;
        s.nextPingAt = now + core.opts.pingIntervalMs;
        core.log?.(`client ${s} <- CONNECTED`);
        core.guard('onConnect', s, () => core.app.onConnect(s));
        return;
      }
      return core.ignore(s, w, address, port);
    }
    if (address !== s.address || port !== s.port) return core.ignore(s, w, address, port);
    if (w === Word.Data) {
      if (s.state !== 'open') return core.ignore(s, w, address, port);
      core.deliver(s, msg);
      return;
    }
    core.log?.(`client ${s} <- ${WORD_NAMES[w]} (${s.state})`);
    core.handleSessionWord(s, w, msg);
  }

  // ---- timers ----------------------------------------------------------------------------------

  time(s: UdpSession, now: number): void {
    const core = this.core;
    switch (s.state) {
      case 'hello':
      case 'connecting':
        if (now >= s.deadline) {
          core.log?.(`client ${s} handshake deadline passed`);
          core.endSession(s, 'handshake timeout');
        } else if (now >= s.nextSendAt && s.sends <= core.opts.handshakeRetries) {
          s.sends++;
          s.nextSendAt = now + core.opts.handshakeRetryMs;
          if (s.state === 'hello') {
            core.log?.(`client ${s} -> HELLO (send ${s.sends})`);
            core.transmit(s.socket, s.hello!, s.serverPort, s.serverAddress);
          } else core.control(s, CONNECT_PADDED_BYTES);
        }
        return;
      default:
        core.timeCommon(s, now);
    }
  }
}
