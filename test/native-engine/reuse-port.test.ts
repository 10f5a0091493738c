/**
 * `RelayEngine.reservePort` and the `reusePort` config: the engines of `gamewire relay --workers`
 * listen on one port that their primary holds (src/relay/worker-listener.ts). Here two engines of
 * one process stand in for two workers. Skips (loudly) without the native engine.
 */
import { closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { relayEngineBinding } from '../../src/core/index.js';
import { cleanup, Client, EventType, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

describe.skipIf(SKIP_REASON !== null)(`native relay engine: one port for several engines${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('two engines with reusePort listen on a reserved port; every connection goes to exactly one, and both get some', async () => {
    const held = relayEngineBinding!.reservePort!('127.0.0.1', 0);
    try {
      expect(held.port).toBeGreaterThan(0);
      const a = new Harness({ port: held.port, reusePort: true });
      const b = new Harness({ port: held.port, reusePort: true });
      expect(a.engine.listen()).toBe(held.port);
      expect(b.engine.listen()).toBe(held.port);
      a.engine.start();
      b.engine.start();
      const count = 64;
      await Promise.all(Array.from({ length: count }, () => Client.connect(held.port)));
      const connects = (h: Harness): number => h.events.filter((e) => e.type === EventType.Connect).length;
      const deadline = Date.now() + 3000;
      while (connects(a) + connects(b) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(connects(a) + connects(b)).toBe(count);
      // Spread by a hash of the addresses: 64 connections all to one of two has odds of 2^-63.
      expect(connects(a)).toBeGreaterThan(0);
      expect(connects(b)).toBeGreaterThan(0);
    } finally {
      closeSync(held.fd);
    }
  });

  it('a reserved port is refused to an engine without reusePort and to a Node server: EADDRINUSE', async () => {
    const held = relayEngineBinding!.reservePort!('127.0.0.1', 0);
    try {
      const h = new Harness({ port: held.port });
      expect(() => h.engine.listen()).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
      const server = createServer();
      const failed = await new Promise<string | undefined>((resolve) => {
        server.once('error', (e: Error & { code?: string }) => resolve(e.code));
        server.listen(held.port, '127.0.0.1', () => resolve(undefined));
      });
      server.close();
      expect(failed).toBe('EADDRINUSE');
    } finally {
      closeSync(held.fd);
    }
  });

  it('reservePort reports a taken port and a bad host with a code, and checks its arguments', () => {
    const taken = Harness.start();
    expect(() => relayEngineBinding!.reservePort!('127.0.0.1', taken.port)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    expect(() => relayEngineBinding!.reservePort!('no-such-host.invalid', 0)).toThrow(expect.objectContaining({ code: 'ENOTFOUND' }));
    expect(() => relayEngineBinding!.reservePort!('127.0.0.1', 70000)).toThrow(RangeError);
    expect(() => relayEngineBinding!.reservePort!(1 as unknown as string, 0)).toThrow(TypeError);
  });
});
