/**
 * `engine.listen(fd)`: engines of several processes listening on one bound socket (the primary of
 * `gamewire relay --workers` hands each worker a copy; src/relay/worker-listener.ts). Here two
 * engines of one process share a socket made as node:cluster makes its shared handles. Skips
 * (loudly) without the native engine.
 */
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, Client, EventType, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

/** A bound, not yet listening TCP handle on 127.0.0.1, as node:cluster shares them. */
function boundHandle(): { fd: number; close(): void } {
  const made = (net as unknown as { _createServerHandle(a: string, p: number, t: number): { fd: number; close(): void } | number })._createServerHandle('127.0.0.1', 0, 4);
  if (typeof made === 'number') throw new Error(`bind failed: ${made}`);
  return made;
}

function listenError(h: Harness, fd: unknown): Error & { code?: string } {
  try {
    h.engine.listen(fd as number);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('listen did not throw');
}

describe.skipIf(SKIP_REASON !== null)(`native relay engine: a shared listening socket${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('two engines listen on one bound socket: same port, every connection accepted by exactly one', async () => {
    const handle = boundHandle();
    const a = new Harness();
    const b = new Harness();
    const portA = a.engine.listen(handle.fd);
    const portB = b.engine.listen(handle.fd);
    expect(portA).toBe(portB);
    expect(portA).toBeGreaterThan(0);
    // The engines hold their own copies: the caller's handle may go.
    handle.close();
    a.engine.start();
    b.engine.start();
    const clients = await Promise.all(Array.from({ length: 8 }, () => Client.connect(portA)));
    const connects = (): number => a.events.concat(b.events).filter((e) => e.type === EventType.Connect).length;
    const deadline = Date.now() + 3000;
    while (connects() < clients.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(connects()).toBe(clients.length);
    // Counters are published once per loop turn: wait for both engines' last turn.
    await a.statsUntil('counters of a', (s) => s.pendingConnections === a.events.filter((e) => e.type === EventType.Connect).length);
    await b.statsUntil('counters of b', (s) => s.pendingConnections === b.events.filter((e) => e.type === EventType.Connect).length);
  });

  it('refuses an fd that is not a socket, a closed fd, and a bad argument', () => {
    const file = openSync(new URL(import.meta.url), 'r');
    try {
      expect(listenError(new Harness(), file).code).toBe('ENOTSOCK');
    } finally {
      closeSync(file);
    }
    expect(listenError(new Harness(), 2 ** 30).code).toBe('EBADF');
    expect(() => new Harness().engine.listen(-1)).toThrow(RangeError);
    expect(() => new Harness().engine.listen('3' as unknown as number)).toThrow(TypeError);
  });

  it('a second listen is refused with EISCONN', () => {
    const handle = boundHandle();
    try {
      const h = new Harness();
      h.engine.listen(handle.fd);
      expect(listenError(h, handle.fd).code).toBe('EISCONN');
    } finally {
      handle.close();
    }
  });
});
