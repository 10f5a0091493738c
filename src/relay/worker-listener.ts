/**
 * `gamewire relay --workers N` on the native engine: one listening socket for all workers.
 *
 * node:cluster shares a port between workers only for sockets that Node itself listens on; the
 * native engine listens in C++. So the primary binds the port once (a bound, not yet listening
 * TCP handle, as node:cluster's shared handles are) and gives a copy to each worker that asks;
 * each worker's engine listens on its copy, and the kernel hands every connection to one of
 * them from the socket's single accept queue. The primary never listens, so it never accepts.
 *
 * ```
 *   worker k                                   primary
 *   LISTENER_REQUEST ────────────────────────▶ bind host:port once (EADDRINUSE is reported here)
 *   engine.listen(fd): dup, listen(2)  ◀─────── LISTENER + handle (or LISTENER + error)
 *   close this process's handle
 * ```
 *
 * A worker started again asks again and gets the same socket: the port never changes while the
 * primary runs, even with port 0.
 */
import type { Worker } from 'node:cluster';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { WORKER_LISTENER_TIMEOUT_MS } from './limits.js';

/** Set by the primary for its workers when it serves the listening socket. */
const SERVED_ENV = 'GAMEWIRE_RELAY_SHARED_LISTENER';
const LISTENER_REQUEST = 'gamewire:listener-request';
const LISTENER = 'gamewire:listener';

/** A bound TCP handle as node:net makes them (`net._createServerHandle`): what node:cluster sends. */
interface TcpHandle {
  readonly fd: number;
  close(): void;
}

interface ListenerMessage {
  type: typeof LISTENER;
  error?: { code: string; message: string };
}

/** The copy of the shared socket a worker got: its fd for the engine, then `close()` this copy. */
export interface SharedListener {
  readonly fd: number;
  close(): void;
}

/** The environment the primary gives its workers so that they ask it for the listening socket. */
export function sharedListenerEnv(): Record<string, string> {
  return { [SERVED_ENV]: '1' };
}

/** The primary's side: `watch` each forked worker; `close` the socket when the relay stops. */
export interface SharedListenerServer {
  watch(worker: Worker): void;
  close(): void;
}

/** Primary: bind `host:port` on the first request and answer every worker's request with a copy of the socket. */
export function serveSharedListener(host: string, port: number): SharedListenerServer {
  let bound: Promise<TcpHandle> | null = null;
  let handle: TcpHandle | null = null;
  const bind = async (): Promise<TcpHandle> => {
    const address = net.isIP(host) !== 0 ? host : (await lookup(host)).address;
    const made = (net as unknown as { _createServerHandle(a: string, p: number, t: number): TcpHandle | number })._createServerHandle(address, port, net.isIP(address));
    if (typeof made === 'number') throw Object.assign(new Error(`listen ${errnoName(made)}: ${host}:${port}`), { code: errnoName(made) });
    handle = made;
    return made;
  };
  // A worker may go while the bind runs: a send to it then fails, and must not throw here.
  const send = (worker: Worker, msg: ListenerMessage, h?: TcpHandle): void => {
    if (worker.isConnected()) worker.send(msg, h as unknown as net.Socket, undefined, () => {});
  };
  const answer = (worker: Worker): void => {
    bound ??= bind();
    bound.then(
      (h) => send(worker, { type: LISTENER }, h),
      (err: Error & { code?: string }) => {
        // Not kept: the next worker started again binds again (the port may be free by then).
        bound = null;
        send(worker, { type: LISTENER, error: { code: err.code ?? 'EIO', message: err.message } });
      },
    );
  };
  return {
    watch(worker: Worker): void {
      worker.on('message', (msg: { type?: unknown }) => {
        if (msg?.type === LISTENER_REQUEST) answer(worker);
      });
    },
    close(): void {
      handle?.close();
      handle = null;
    },
  };
}

/**
 * Worker: the primary's listening socket, or undefined when this process is not a worker whose
 * primary serves one (a single relay binds its own port).
 * @throws Error with `code` when the primary could not bind, or did not answer in time.
 */
export async function requestSharedListener(timeoutMs = WORKER_LISTENER_TIMEOUT_MS): Promise<SharedListener | undefined> {
  if (process.env[SERVED_ENV] !== '1' || typeof process.send !== 'function') return undefined;
  return new Promise<SharedListener>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      // An answer after the deadline still carries a copy of the socket: close it.
      process.on('message', (msg: ListenerMessage, late?: TcpHandle) => {
        if (msg?.type === LISTENER) late?.close();
      });
      reject(Object.assign(new Error(`the relay's primary did not hand over the listening socket within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const onMessage = (msg: ListenerMessage, handle?: TcpHandle): void => {
      if (msg?.type !== LISTENER) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (msg.error !== undefined) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else if (handle === undefined || typeof handle.fd !== 'number' || handle.fd < 0) reject(Object.assign(new Error('the relay primary sent no listening socket'), { code: 'EIO' }));
      else resolve({ fd: handle.fd, close: () => handle.close() });
    };
    process.on('message', onMessage);
    process.send!({ type: LISTENER_REQUEST });
  });
}

/** -98 → 'EADDRINUSE': the name Node gives a libuv error number. */
function errnoName(err: number): string {
  try {
    return getSystemErrorName(err);
  } catch {
    return 'EIO';
  }
}
