/**
 * `gamewire relay --workers N` on the native engine: one port for all workers.
 *
 * node:cluster shares a port between workers only for sockets that Node itself listens on; the
 * native engine listens in C++. So each worker's engine listens on the port with SO_REUSEPORT,
 * and the kernel spreads the connections among them by a hash of their addresses. One shared
 * listening socket would be simpler, but every connection then went to the same worker (epoll
 * wakes the threads waiting on one socket in a fixed order; docs/native-engine.md).
 *
 * The primary holds the port: on the first request it binds a socket with SO_REUSEPORT that never
 * listens (`RelayEngine.reservePort`), so a bind error (EADDRINUSE...) is reported once, the port
 * is known before any worker listens (also with port 0), and it stays the workers' while they come
 * and go:
 *
 * ```
 *   worker k                                   primary
 *   PORT_REQUEST ────────────────────────────▶ reservePort(host, port) once
 *   engine { port, reusePort: true }  ◀─────── PORT {port} (or PORT {error})
 * ```
 */
import type { Worker } from 'node:cluster';
import { closeSync } from 'node:fs';
import { relayEngineBinding } from '../core/index.js';
import { WORKER_LISTENER_TIMEOUT_MS } from './limits.js';

/** Set by the primary for its workers when it holds their port. */
const SERVED_ENV = 'GAMEWIRE_RELAY_SHARED_PORT';
const PORT_REQUEST = 'gamewire:port-request';
const PORT = 'gamewire:port';

interface PortMessage {
  type: typeof PORT;
  port?: number;
  error?: { code: string; message: string };
}

/** The port a worker's engine listens on with SO_REUSEPORT, held by its primary. */
export interface SharedPort {
  readonly port: number;
}

/** The primary's side: `watch` each forked worker; `close` the held port when the relay stops. */
export interface SharedPortServer {
  watch(worker: Worker): void;
  close(): void;
}

/** The environment the primary gives its workers so that they ask it for their port. */
export function sharedPortEnv(): Record<string, string> {
  return { [SERVED_ENV]: '1' };
}

/**
 * Primary: hold `host:port` on the first request and answer every worker's request with the
 * port. Without the addon's `reservePort` (a worker then runs the Node engine and never asks)
 * a request gets an error.
 */
export function serveSharedPort(host: string, port: number): SharedPortServer {
  let held: { fd: number; port: number } | null = null;
  // A worker may go before the answer: a send to it then fails, and must not throw here.
  const send = (worker: Worker, msg: PortMessage): void => {
    if (worker.isConnected()) worker.send(msg, undefined, undefined, () => {});
  };
  const answer = (worker: Worker): void => {
    try {
      const reserve = relayEngineBinding?.reservePort;
      if (reserve === undefined) throw Object.assign(new Error('the relay primary has no native engine to hold the port'), { code: 'ENOTSUP' });
      // A failed reservation is not kept: a worker started again tries again.
      held ??= reserve(host, port);
      send(worker, { type: PORT, port: held.port });
    } catch (err) {
      const e = err as Error & { code?: string };
      send(worker, { type: PORT, error: { code: e.code ?? 'EIO', message: e.message } });
    }
  };
  return {
    watch(worker: Worker): void {
      worker.on('message', (msg: { type?: unknown }) => {
        if (msg?.type === PORT_REQUEST) answer(worker);
      });
    },
    close(): void {
      if (held !== null) closeSync(held.fd);
      held = null;
    },
  };
}

/**
 * Worker: the port its primary holds, or undefined when this process is not a worker whose
 * primary holds one (a single relay binds its own port).
 * @throws Error with `code` when the primary could not hold it, or did not answer in time.
 */
export async function requestSharedPort(timeoutMs = WORKER_LISTENER_TIMEOUT_MS): Promise<SharedPort | undefined> {
  if (process.env[SERVED_ENV] !== '1' || typeof process.send !== 'function') return undefined;
  return new Promise<SharedPort>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(Object.assign(new Error(`the relay's primary did not give the port within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const onMessage = (msg: PortMessage): void => {
      if (msg?.type !== PORT) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (msg.error !== undefined) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else if (typeof msg.port !== 'number') reject(Object.assign(new Error('the relay primary sent no port'), { code: 'EIO' }));
      else resolve({ port: msg.port });
    };
    process.on('message', onMessage);
    process.send!({ type: PORT_REQUEST });
  });
}
