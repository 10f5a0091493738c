/**
 * The udp bench responder (docs/bench.md "What the target must run"): call
 * `udpBenchResponder(pipe).handle(msg, session)` first in your server's `onNewMessage`, or run
 * `serveUdpBench()`, a UdpPipe server that does nothing else.
 */
import { MAX_DATAGRAM_BYTES_LIMIT } from '../../udp/limits.js';
import type { UdpPipeOptions } from '../../udp/options.js';
import type { UdpSession } from '../../udp/session.js';
import { UdpPipe } from '../../udp/udp-pipe.js';
import { BENCH_SERVER_MAX_CLIENTS } from '../drivers/style-limits.js';
import { UDP_BENCH_MARK, UDP_HEADER_BYTES, UdpKind, udpAck } from './wire.js';

/** Answers the bench datagrams of one UdpPipe server. */
export interface UdpBenchResponder {
  /**
   * Handle one received datagram.
   * @returns true when it was a bench datagram (answered here; do not handle it yourself)
   */
  handle(msg: Uint8Array, session: UdpSession): boolean;
}

/**
 * Answer bench datagrams on `pipe` (a started UdpPipe server): echo datagrams go back as they
 * came, c2s datagrams get a 10-byte ack carrying their token and the checksum of their payload.
 * Bench datagrams start with the byte 0xB5; anything else is left to the application.
 * @param pipe the server pipe whose `onNewMessage` calls `handle`
 * @throws TypeError when `pipe` is not a UdpPipe
 *
 * @example
 * const bench = udpBenchResponder(server);
 * server.onNewMessage = (msg, session) => {
 *   if (bench.handle(msg, session)) return;
 *   // ... your game's datagrams
 * };
 */
export function udpBenchResponder(pipe: UdpPipe): UdpBenchResponder {
  if (!(pipe instanceof UdpPipe)) throw new TypeError('udpBenchResponder: pipe must be a UdpPipe');
  return {
    handle(msg: Uint8Array, session: UdpSession): boolean {
      if (msg.length < UDP_HEADER_BYTES || msg[0] !== UDP_BENCH_MARK) return false;
      const kind = msg[1];
      if (kind === UdpKind.Echo) {
        pipe.send(msg, session);
      } else if (kind === UdpKind.C2s) {
        pipe.send(udpAck(msg), session);
      }
      return true;
    },
  };
}

/** Options of `serveUdpBench`. */
export interface UdpBenchServerOptions {
  /** Address to bind, default '127.0.0.1'. */
  host?: string;
  /** Port, default 0 (the OS picks; see `port` of the result). */
  port?: number;
  /** The shared handshake token, default UdpPipe's ('gamewire'); the driver sends `key` as the token when set. */
  token?: string;
  /**
   * UdpPipe options, merged over the bench defaults: `maxClients` and `maxHalfOpen`
   * `BENCH_SERVER_MAX_CLIENTS`, no practical HELLO rate limit, datagrams up to 65507 bytes.
   */
  pipe?: UdpPipeOptions;
}

/** A running udp bench server. */
export interface UdpBenchServer {
  readonly pipe: UdpPipe;
  /** The bound port. */
  readonly port: number;
  /** Closes every session and the socket. */
  close(): Promise<void>;
}

/**
 * A ready-made UdpPipe server (event-loop mode) that only answers bench datagrams.
 * @returns once bound
 * @throws RangeError / TypeError for bad options (UdpPipe's); rejects when binding fails
 */
export async function serveUdpBench(options: UdpBenchServerOptions = {}): Promise<UdpBenchServer> {
  const pipe = new UdpPipe({
    maxClients: BENCH_SERVER_MAX_CLIENTS,
    maxHalfOpen: BENCH_SERVER_MAX_CLIENTS,
    helloRatePerSecond: 1_000_000,
    maxDatagramBytes: MAX_DATAGRAM_BYTES_LIMIT,
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...options.pipe,
  });
  const responder = udpBenchResponder(pipe);
  pipe.onNewMessage = (msg, session) => {
    responder.handle(msg, session);
  };
  const port = await pipe.start(options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    pipe,
    port,
    async close(): Promise<void> {
      await pipe.close();
      pipe.destroy();
    },
  };
}
