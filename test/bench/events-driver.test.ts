/**
 * The events bench driver (src/bench/drivers/events.ts) driven by hand against the events bench
 * responder (src/bench/responders/events.ts): every payload comes back intact with its LEGAL
 * verdict, to its sender; a server that judges bench events ILLEGAL makes open() reject, and an
 * ILLEGAL verdict after open delivers the frame corrupted; a dead port makes open() reject
 * clearly; close() closes every client socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bench } from '../../src/bench/index.js';
import { createDriver, EventsDriver } from '../../src/bench/drivers/events.js';
import { EVENTS_MAX_PAYLOAD_BYTES } from '../../src/bench/drivers/style-limits.js';
import { eventsBenchMiddleware, serveEventsBench, type EventsBenchServer } from '../../src/bench/responders/events.js';
import { EventServer } from '../../src/events/index.js';
import type { ResolvedBenchOptions } from '../../src/bench/types.js';
import { benchOptions, Collector, driverContext, expectEachBackOnce, handles, sendFrames, until } from './helpers/style-drivers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(): Promise<EventsBenchServer> {
  const server = await serveEventsBench();
  cleanups.push(() => server.close());
  return server;
}

function driver(port: number, o: Partial<ResolvedBenchOptions> = {}): EventsDriver {
  const d = createDriver(driverContext(benchOptions('events', 'event', port, { size: { min: 24, max: 2000 }, ...o }))) as EventsDriver;
  cleanups.push(() => d.close());
  return d;
}

describe('events bench driver', () => {
  it('delivers every payload intact to its sender with its LEGAL verdict', async () => {
    const server = await serve();
    const d = driver(server.port, { users: 4 });
    const got = new Collector(d);
    await d.open();
    expect(d.senders).toBe(4);
    expect(d.ordered).toBe(false);
    expect(d.fanout(0)).toBe(1);
    const sent = await sendFrames(d, 0, 20, [24, 64, 500, 2000]);
    await expectEachBackOnce(got, sent);
    expect(server.server.stats.illegal).toBe(0);
  });

  it('the middleware judges an intact bench event LEGAL, a mangled one ILLEGAL, and leaves others to the rules', () => {
    const rules = { judge: (_c: string, _e: string, data: unknown) => data === 'ok', execute: () => {} };
    const m = eventsBenchMiddleware(rules);
    expect(m.judge('c', 'e', { gwbench: 'v', b: 'QUJD', h: hashOf('QUJD') })).toBe(true);
    expect(m.judge('c', 'e', { gwbench: 'v', b: 'QUJE', h: hashOf('QUJD') })).toBe(false);
    expect(m.judge('c', 'e', { gwbench: 'v', h: 1 })).toBe(false);
    expect(m.judge('c', 'e', 'ok')).toBe(true);
    expect(m.judge('c', 'e', 'no')).toBe(false);
    expect(() => eventsBenchMiddleware({} as never)).toThrow(TypeError);
  });

  it('delivers a frame corrupted when the server judges it ILLEGAL after open', async () => {
    let strict = false;
    const bench = eventsBenchMiddleware();
    const server = new EventServer({ host: '127.0.0.1', port: 0, middleware: { judge: (c, e, data) => !strict && bench.judge(c, e, data) } });
    const { port } = await server.listen();
    cleanups.push(() => server.close());
    const d = driver(port, { users: 2 });
    const got = new Collector(d);
    await d.open();
    strict = true;
    await sendFrames(d, 0, 5, [64]);
    expect(await until(() => got.deliveries.length === 10)).toBe(true);
    expect(got.deliveries.every((g) => !g.intact)).toBe(true);
  });

  it('rejects open() clearly when the server judges the bench probe ILLEGAL', async () => {
    const server = new EventServer({ host: '127.0.0.1', port: 0, middleware: { judge: () => false } });
    const { port } = await server.listen();
    cleanups.push(() => server.close());
    const d = driver(port, { users: 2 });
    await expect(d.open()).rejects.toThrow(/judged the bench probe ILLEGAL; its middleware must judge bench events/);
  });

  it('rejects open() clearly when no server answers', async () => {
    const server = await serve();
    const port = server.port;
    await server.close();
    const d = driver(port, { users: 2, connectTimeoutMs: 500 });
    await expect(d.open()).rejects.toThrow(/^events: no answer from 127\.0\.0\.1:\d+ within 500 ms/);
  });

  it('throws a RangeError for another mode and for a payload no EVENT datagram holds', () => {
    expect(() => createDriver(driverContext(benchOptions('events', 'echo', 1234)))).toThrow(RangeError);
    const size = { min: 24, max: EVENTS_MAX_PAYLOAD_BYTES + 1 };
    expect(() => createDriver(driverContext(benchOptions('events', 'event', 1234, { size })))).toThrow(/size must be at most 7168/);
  });

  it('carries the largest payload it accepts', async () => {
    const server = await serve();
    const d = driver(server.port, { users: 1, size: { min: EVENTS_MAX_PAYLOAD_BYTES, max: EVENTS_MAX_PAYLOAD_BYTES } });
    const got = new Collector(d);
    await d.open();
    await sendFrames(d, 0, 2, [EVENTS_MAX_PAYLOAD_BYTES]);
    expect(await until(() => got.deliveries.length === 2)).toBe(true);
    expect(got.deliveries.every((g) => g.intact && g.size === EVENTS_MAX_PAYLOAD_BYTES)).toBe(true);
  });

  it('close() closes every client socket; send is refused before open and after close', async () => {
    const server = await serve();
    const d = driver(server.port, { users: 5 });
    new Collector(d);
    expect(d.send(0, new Uint8Array(64))).toBe(false);
    await d.open();
    expect(server.server.clients().length).toBe(5);
    const open = handles('UDPWrap');
    await d.close();
    expect(d.send(0, new Uint8Array(64))).toBe(false);
    expect(await until(() => handles('UDPWrap') <= open - 5)).toBe(true);
  });
});

function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

describe('gamewire bench events, end to end', () => {
  it('event: delivered > 0, nothing lost or corrupted on loopback', async () => {
    const server = await serve();
    // A lost datagram is resent after 2 s (Neteria), so the drain covers one resend.
    const result = await bench({ kind: 'events', host: '127.0.0.1', port: server.port, users: 4, durationSec: 1, warmupSec: 0.2, drainMs: 3000 });
    expect(result.counts.delivered).toBeGreaterThan(0);
    expect(result.counts.corrupted).toBe(0);
    expect(result.counts.lost).toBe(0);
    expect(result.errors).toEqual([]);
  });
});
