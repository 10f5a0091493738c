/**
 * Shared plumbing of the UDP suites: short timers, a callback recorder, cleanup and polling.
 */
import { UdpPipe, type UdpPipeOptions } from '../../src/udp/index.js';
import type { UdpSession } from '../../src/udp/session.js';
import { LossyUdpProxy, type LossyUdpProxyOptions } from '../helpers/lossy-udp-proxy.js';

/** Timers short enough that every suite runs in a few seconds. */
export const FAST: UdpPipeOptions = {
  token: 'test-token',
  pingIntervalMs: 40,
  stallAfterMs: 150,
  disconnectAfterMs: 800,
  handshakeRetryMs: 40,
  handshakeRetries: 20,
  handshakeTimeoutMs: 2500,
  tickMs: 5,
};

/**
 * For tests that assert an exact callback sequence over a live session: FAST stalls after 150 ms
 * without a PONG, and a loaded machine can pause the event loop that long, adding
 * stalled/unstalled to the sequence. Keepalive still runs every 40 ms.
 */
export const NO_STALL: UdpPipeOptions = { stallAfterMs: 1000, disconnectAfterMs: 2000 };

/** One recorded callback: its name and a short rendering of its arguments. */
export type Rec = [string, ...unknown[]];

/** Record every callback of `pipe` in order (data as UTF-8 text). */
export function record(pipe: UdpPipe): Rec[] {
  const log: Rec[] = [];
  const sid = (s: UdpSession): number => s.id;
  pipe.onNewClient = (s) => log.push(['newClient', sid(s)]);
  pipe.onNewMessage = (m, s) => log.push(['message', m.toString('utf8'), sid(s)]);
  pipe.onConnect = (s) => log.push(['connect', sid(s)]);
  pipe.onConnecting = (s) => log.push(['connecting', sid(s)]);
  pipe.onDisconnect = (s, r) => log.push(['disconnect', r, sid(s)]);
  pipe.onClose = (s) => log.push(['close', sid(s)]);
  pipe.onStalled = (s) => log.push(['stalled', sid(s)]);
  pipe.onUnstalled = (s, n) => log.push(['unstalled', n, sid(s)]);
  pipe.onMaxClients = (a) => log.push(['maxClients', a]);
  pipe.onBadToken = (a) => log.push(['badToken', a]);
  pipe.onPing = (s) => log.push(['ping', sid(s)]);
  pipe.onPong = (s) => log.push(['pong', sid(s)]);
  pipe.onError = (e) => log.push(['error', e.code]);
  return log;
}

/** Names of the recorded callbacks, without the keepalive noise. */
export function names(log: Rec[]): string[] {
  return log.map((r) => r[0]).filter((n) => n !== 'ping' && n !== 'pong');
}

/** Owns what a test opens, so afterEach closes all of it. */
export class Bag {
  private readonly pipes: UdpPipe[] = [];
  private readonly proxies: LossyUdpProxy[] = [];
  private readonly extra: Array<() => void> = [];

  pipe(options: UdpPipeOptions = {}): UdpPipe {
    const p = new UdpPipe({ ...FAST, ...options });
    this.pipes.push(p);
    return p;
  }

  async proxy(options: LossyUdpProxyOptions): Promise<LossyUdpProxy> {
    const p = await LossyUdpProxy.start(options);
    this.proxies.push(p);
    return p;
  }

  defer(fn: () => void): void {
    this.extra.push(fn);
  }

  async close(): Promise<void> {
    for (const p of this.pipes) p.destroy();
    for (const fn of this.extra) fn();
    await Promise.all(this.proxies.map((p) => p.close()));
    this.pipes.length = 0;
    this.proxies.length = 0;
    this.extra.length = 0;
  }
}

/** Poll `cond` every 5 ms until true, or fail after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A server on 127.0.0.1 port 0 and a proxy in front of it. */
export async function serverBehindProxy(bag: Bag, serverOptions: UdpPipeOptions, proxyOptions: Omit<LossyUdpProxyOptions, 'target'>) {
  const server = bag.pipe(serverOptions);
  const port = await server.start(0, '127.0.0.1');
  const proxy = await bag.proxy({ target: { host: '127.0.0.1', port }, ...proxyOptions });
  return { server, port, proxy };
}
