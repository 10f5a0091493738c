/**
 * The mm bench driver (src/bench/drivers/mm.ts) driven by hand against the mm bench responder
 * (src/bench/responders/mm.ts): every payload reaches the right receiver intact and in order in
 * c2s, echo and broadcast, with and without a key; broadcast stays within one driver's group;
 * a missing server, a server without responder and a wrong key make open() reject clearly;
 * sends past the in-flight cap are refused; close() leaves no connection on the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bench } from '../../src/bench/index.js';
import { createDriver, MmDriver } from '../../src/bench/drivers/mm.js';
import { MM_MAX_IN_FLIGHT_BYTES } from '../../src/bench/drivers/style-limits.js';
import { mmBenchResponder, serveMmBench, type MmBenchServer } from '../../src/bench/responders/mm.js';
import { BENCH_TAG_KEY, MmTag } from '../../src/bench/responders/wire.js';
import { EventType, Server } from '../../src/mm/index.js';
import type { BenchMode, ResolvedBenchOptions } from '../../src/bench/types.js';
import { benchOptions, Collector, driverContext, handles, sendFrames, until } from './helpers/style-drivers.js';

const KEY = '0C03EA65238DD2C25EB87CE563868098';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(key?: string): Promise<MmBenchServer> {
  const server = await serveMmBench({ key });
  cleanups.push(() => server.close());
  return server;
}

function driver(port: number, mode: BenchMode, o: Partial<ResolvedBenchOptions> = {}, senderBase = 0, worker = 0, workers = 0): MmDriver {
  const d = createDriver(driverContext(benchOptions('mm', mode, port, o), worker, workers, senderBase)) as MmDriver;
  cleanups.push(() => d.close());
  return d;
}

const SIZES = [24, 64, 300, 1000, 4096];

describe('mm bench driver', () => {
  for (const key of [undefined, KEY]) {
    for (const mode of ['c2s', 'echo', 'broadcast'] as const) {
      it(`delivers every payload intact, in order, to the right receivers: ${mode}${key ? ' with a key' : ''}`, async () => {
        const server = await serve(key);
        const d = driver(server.port, mode, { users: 4, key: key ?? null });
        const got = new Collector(d);
        await d.open();
        expect(d.senders).toBe(4);
        expect(d.ordered).toBe(true);
        const fanout = mode === 'broadcast' ? 4 : 1;
        expect(d.fanout(0)).toBe(fanout);
        const sent = await sendFrames(d, 0, 25, SIZES);
        expect(await until(() => got.deliveries.length >= sent.size * fanout)).toBe(true);
        expect(got.failures).toEqual([]);
        expect(got.deliveries.length).toBe(sent.size * fanout);
        const seen = new Set<string>();
        const last = new Map<string, number>();
        for (const g of got.deliveries) {
          expect(g.intact).toBe(true);
          expect(g.size).toBe(sent.get(`${g.sender}:${g.sequence}`));
          if (mode !== 'broadcast') expect(g.receiver).toBe(g.sender);
          const id = `${g.receiver}<${g.sender}:${g.sequence}`;
          expect(seen.has(id)).toBe(false);
          seen.add(id);
          const pair = `${g.receiver}<${g.sender}`;
          expect(g.sequence).toBe((last.get(pair) ?? -1) + 1);
          last.set(pair, g.sequence);
        }
        if (mode === 'broadcast') for (let r = 0; r < 4; r++) expect(got.deliveries.filter((g) => g.receiver === r).length).toBe(sent.size);
      });
    }
  }

  it('connects over WebSocket with ws', async () => {
    const server = await serve();
    const d = driver(server.port, 'echo', { users: 2, ws: true });
    const got = new Collector(d);
    await d.open();
    const sent = await sendFrames(d, 0, 10, [24, 300]);
    expect(await until(() => got.deliveries.length === sent.size)).toBe(true);
    expect(got.deliveries.every((g) => g.intact && g.receiver === g.sender)).toBe(true);
  });

  it('broadcasts within each driver (thread) only, so each engine counts its own senders', async () => {
    const server = await serve();
    const a = driver(server.port, 'broadcast', { users: 5, workers: 2 }, 0, 0, 2);
    const b = driver(server.port, 'broadcast', { users: 5, workers: 2 }, 1 << 24, 1, 2);
    const gotA = new Collector(a);
    const gotB = new Collector(b);
    await Promise.all([a.open(), b.open()]);
    expect([a.senders, b.senders]).toEqual([3, 2]);
    expect([a.fanout(0), b.fanout(0)]).toEqual([3, 2]);
    await Promise.all([sendFrames(a, 0, 10, [64]), sendFrames(b, 1 << 24, 10, [64])]);
    expect(await until(() => gotA.deliveries.length >= 90 && gotB.deliveries.length >= 40)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(gotA.deliveries.length).toBe(90);
    expect(gotB.deliveries.length).toBe(40);
    expect(gotA.deliveries.every((g) => g.sender < 3 && g.receiver < 3 && g.intact)).toBe(true);
    expect(gotB.deliveries.every((g) => g.sender >= 1 << 24 && g.receiver >= 1 << 24 && g.intact)).toBe(true);
  });

  it('delivers a c2s frame corrupted when the ack vouches for other bytes than were sent', async () => {
    // A server whose acks carry a wrong checksum, as one that mangled the payload would.
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    const responder = mmBenchResponder(server);
    const timer = setInterval(() => {
      for (const ev of server.pollEvents()) {
        if (ev.type !== EventType.RECEIVE) continue;
        const t = ev.packet as { [k: string]: number | string };
        if (t[BENCH_TAG_KEY] === MmTag.C2s) server.send({ [BENCH_TAG_KEY]: MmTag.Ack, n: t['n']!, h: 12345 }, ev.object as never);
        else responder.handle(ev);
      }
    }, 1);
    cleanups.push(async () => {
      clearInterval(timer);
      await server.close();
    });
    const d = driver(server.getPort(), 'c2s', { users: 2 });
    const got = new Collector(d);
    await d.open();
    await sendFrames(d, 0, 5, [64]);
    expect(await until(() => got.deliveries.length === 10)).toBe(true);
    expect(got.deliveries.every((g) => !g.intact)).toBe(true);
  });

  it('rejects open() clearly when nothing listens', async () => {
    const server = await serve();
    const port = server.port;
    await server.close();
    const d = driver(port, 'c2s', { connectTimeoutMs: 2000 });
    await expect(d.open()).rejects.toThrow(/^mm: cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('rejects open() clearly when the server runs no bench responder', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    cleanups.push(() => server.close());
    const d = driver(server.getPort(), 'echo', { connectTimeoutMs: 500 });
    await expect(d.open()).rejects.toThrow(/no bench responder answered at 127\.0\.0\.1:\d+ within 500 ms.*mmBenchResponder/);
  });

  it('rejects open() with a hint when the server refuses more connections from one address', async () => {
    // Default budgets: 20 connects per IP in a burst, 32 connections per IP.
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    const responder = mmBenchResponder(server);
    const timer = setInterval(() => {
      for (const ev of server.pollEvents()) responder.handle(ev);
    }, 1);
    cleanups.push(async () => {
      clearInterval(timer);
      await server.close();
    });
    const d = driver(server.getPort(), 'echo', { users: 40 });
    await expect(d.open()).rejects.toThrow(/^mm: cannot connect to 127\.0\.0\.1:\d+: connection lost.* \(a load generator .*maxConnectionsPerIp: 0/);
  });

  it('rejects open() when the key does not match the server', async () => {
    const server = await serve(KEY);
    const d = driver(server.port, 'c2s', { key: 'A'.repeat(32), connectTimeoutMs: 2000 });
    await expect(d.open()).rejects.toThrow(/^mm: /);
  });

  it('throws a RangeError for a mode mm does not have', () => {
    expect(() => createDriver(driverContext(benchOptions('mm', 'event', 1234)))).toThrow(RangeError);
  });

  it('refuses sends past MM_MAX_IN_FLIGHT_BYTES unanswered, and before open / after close', async () => {
    // A server that registers bench clients but never answers their c2s tables.
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, maxConnectionsPerIp: 0, connectRatePerIp: 0 });
    const responder = mmBenchResponder(server);
    const timer = setInterval(() => {
      for (const ev of server.pollEvents()) {
        if (ev.type === EventType.RECEIVE && (ev.packet as { [k: string]: unknown })[BENCH_TAG_KEY] === MmTag.Hello) responder.handle(ev);
      }
    }, 1);
    cleanups.push(async () => {
      clearInterval(timer);
      await server.close();
    });
    const d = driver(server.getPort(), 'c2s', { users: 1, size: { min: 65536, max: 65536 } });
    new Collector(d);
    const payload = new Uint8Array(65536);
    expect(d.send(0, payload)).toBe(false);
    await d.open();
    let accepted = 0;
    while (d.send(0, payload) && accepted < 100) accepted++;
    expect(accepted).toBe(MM_MAX_IN_FLIGHT_BYTES / 65536);
    await d.close();
    expect(d.send(0, new Uint8Array(64))).toBe(false);
  });

  it('close() disconnects every client and stops polling', async () => {
    const server = await serve();
    const before = handles('Immediate') + handles('Timeout');
    const d = driver(server.port, 'echo', { users: 6 });
    new Collector(d);
    await d.open();
    expect(server.server.connectionCount()).toBe(6);
    expect(server.responder.clients).toBe(6);
    await d.close();
    expect(await until(() => server.server.connectionCount() === 0 && server.responder.clients === 0)).toBe(true);
    expect(await until(() => handles('Immediate') + handles('Timeout') <= before)).toBe(true);
  });
});

describe('gamewire bench mm, end to end', () => {
  const cases = [
    { mode: 'c2s', key: undefined, workers: 0 },
    { mode: 'echo', key: KEY, workers: 0 },
    { mode: 'broadcast', key: undefined, workers: 0 },
    { mode: 'broadcast', key: KEY, workers: 2 },
  ] as const;
  for (const c of cases) {
    it(`${c.mode}${c.key ? ' with a key' : ''}${c.workers ? ` on ${c.workers} workers` : ''}: delivered > 0, nothing lost or corrupted`, async () => {
      const server = await serve(c.key);
      const result = await bench({ kind: 'mm', mode: c.mode, host: '127.0.0.1', port: server.port, key: c.key, users: 4, workers: c.workers, durationSec: 1, warmupSec: 0.2 });
      expect(result.counts.delivered).toBeGreaterThan(0);
      expect(result.counts.delivered).toBe(result.counts.expected);
      expect(result.counts.corrupted).toBe(0);
      expect(result.counts.lost).toBe(0);
      expect(result.counts.reordered).toBe(0);
      expect(result.errors).toEqual([]);
      if (c.mode === 'broadcast') expect(result.counts.expected).toBeGreaterThan(result.counts.sent);
    });
  }
});
