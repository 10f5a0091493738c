/**
 * The udp bench driver (src/bench/drivers/udp.ts) driven by hand against the udp bench responder
 * (src/bench/responders/udp.ts): every payload reaches its sender intact in c2s and echo, with the
 * default and a custom token; an ack vouching for other bytes delivers the frame corrupted, an
 * ack to an echo datagram is ignored; a dead port, a wrong token and a server without responder
 * make open() reject clearly; the ring refuses sends past UDP_MAX_IN_FLIGHT_COUNT unanswered;
 * close() ends every session and socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { bench } from '../../src/bench/index.js';
import { createDriver, UdpDriver } from '../../src/bench/drivers/udp.js';
import { UDP_MAX_IN_FLIGHT_COUNT } from '../../src/bench/drivers/style-limits.js';
import { serveUdpBench, udpBenchResponder, type UdpBenchServer } from '../../src/bench/responders/udp.js';
import { UDP_BENCH_MARK, UdpKind } from '../../src/bench/responders/wire.js';
import { UdpPipe } from '../../src/udp/index.js';
import type { BenchMode, ResolvedBenchOptions } from '../../src/bench/types.js';
import { benchOptions, Collector, driverContext, expectEachBackOnce, handles, sendFrames, until } from './helpers/style-drivers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(token?: string): Promise<UdpBenchServer> {
  const server = await serveUdpBench({ token });
  cleanups.push(() => server.close());
  return server;
}

/** A UdpPipe server whose datagrams go to `onMessage` (the responder's work done by hand). */
async function customServer(onMessage: (pipe: UdpPipe, msg: Buffer, session: Parameters<UdpPipe['onNewMessage']>[1]) => void): Promise<UdpPipe> {
  const pipe = new UdpPipe({ helloRatePerSecond: 1000 });
  pipe.onNewMessage = (msg, session) => onMessage(pipe, msg, session);
  await pipe.start(0, '127.0.0.1');
  cleanups.push(() => pipe.destroy());
  return pipe;
}

function driver(port: number, mode: BenchMode, o: Partial<ResolvedBenchOptions> = {}): UdpDriver {
  const d = createDriver(driverContext(benchOptions('udp', mode, port, { size: { min: 24, max: 1000 }, ...o }))) as UdpDriver;
  cleanups.push(() => d.close());
  return d;
}

describe('udp bench driver', () => {
  for (const token of [undefined, 's3cret-token']) {
    for (const mode of ['c2s', 'echo'] as const) {
      it(`delivers every payload intact to its sender: ${mode}${token ? ' with a token' : ''}`, async () => {
        const server = await serve(token);
        const d = driver(server.port, mode, { users: 4, token: token ?? null });
        const got = new Collector(d);
        await d.open();
        expect(d.senders).toBe(4);
        expect(d.ordered).toBe(false);
        expect(d.fanout(3)).toBe(1);
        const sent = await sendFrames(d, 0, 25, [24, 64, 300, 1000]);
        // Loopback does not drop 100 datagrams in flight; UDP would be allowed to.
        await expectEachBackOnce(got, sent);
      });
    }
  }

  it('delivers a c2s frame corrupted when the ack vouches for other bytes than were sent', async () => {
    const responder = { current: null as ReturnType<typeof udpBenchResponder> | null };
    const pipe = await customServer((p, msg, session) => {
      if (msg[1] === UdpKind.C2s) {
        const ack = Buffer.alloc(10);
        ack[0] = UDP_BENCH_MARK;
        ack[1] = UdpKind.Ack;
        msg.copy(ack, 2, 2, 6);
        ack.writeUInt32BE(12345, 6);
        p.send(ack, session);
      } else responder.current!.handle(msg, session);
    });
    responder.current = udpBenchResponder(pipe);
    const d = driver(pipe.port, 'c2s', { users: 2 });
    const got = new Collector(d);
    await d.open();
    await sendFrames(d, 0, 5, [64]);
    expect(await until(() => got.deliveries.length === 10)).toBe(true);
    expect(got.deliveries.every((g) => !g.intact)).toBe(true);
  });

  it('ignores an ack to an echo datagram (a server that acks echo too) and still delivers the echo', async () => {
    const responder = { current: null as ReturnType<typeof udpBenchResponder> | null };
    const pipe = await customServer((p, msg, session) => {
      if (msg[1] === UdpKind.Echo && msg.readUInt32BE(2) !== 0xffffffff) {
        const ack = Buffer.alloc(10);
        ack[0] = UDP_BENCH_MARK;
        ack[1] = UdpKind.Ack;
        msg.copy(ack, 2, 2, 6);
        p.send(ack, session);
      }
      responder.current!.handle(msg, session);
    });
    responder.current = udpBenchResponder(pipe);
    const d = driver(pipe.port, 'echo', { users: 2 });
    const got = new Collector(d);
    await d.open();
    const sent = await sendFrames(d, 0, 5, [64]);
    await expectEachBackOnce(got, sent);
  });

  it('rejects open() clearly when no server answers', async () => {
    const server = await serve();
    const port = server.port;
    await server.close();
    const d = driver(port, 'echo', { users: 2, connectTimeoutMs: 600 });
    await expect(d.open()).rejects.toThrow(/^udp: (cannot open a session to 127\.0\.0\.1:\d+: handshake timeout|2 of 2 sessions not open)/);
  });

  it('rejects open() when the token is wrong', async () => {
    const server = await serve('right');
    const d = driver(server.port, 'echo', { users: 1, token: 'wrong', connectTimeoutMs: 2000 });
    await expect(d.open()).rejects.toThrow(/^udp: cannot open a session to 127\.0\.0\.1:\d+: refused/);
  });

  it('rejects open() clearly when the server runs no bench responder', async () => {
    const pipe = await customServer(() => {});
    const d = driver(pipe.port, 'echo', { users: 2, connectTimeoutMs: 600 });
    await expect(d.open()).rejects.toThrow(/no bench responder answered at 127\.0\.0\.1:\d+ within 600 ms.*udpBenchResponder/);
  });

  it('throws a RangeError for broadcast and for a payload no datagram holds', () => {
    expect(() => createDriver(driverContext(benchOptions('udp', 'broadcast', 1234)))).toThrow(RangeError);
    expect(() => createDriver(driverContext(benchOptions('udp', 'c2s', 1234, { size: { min: 24, max: 65502 } })))).toThrow(/size must be at most 65501/);
  });

  it('refuses sends while UDP_MAX_IN_FLIGHT_COUNT frames are unanswered, and before open / after close', async () => {
    // Answers the open-time probe only.
    let responder: ReturnType<typeof udpBenchResponder> | null = null;
    const pipe = await customServer((_p, msg, session) => {
      if (msg[1] === UdpKind.Echo) responder!.handle(msg, session);
    });
    responder = udpBenchResponder(pipe);
    const d = driver(pipe.port, 'c2s', { users: 1 });
    new Collector(d);
    const payload = new Uint8Array(32);
    expect(d.send(0, payload)).toBe(false);
    await d.open();
    let accepted = 0;
    while (d.send(0, payload) && accepted < 2 * UDP_MAX_IN_FLIGHT_COUNT) accepted++;
    expect(accepted).toBe(UDP_MAX_IN_FLIGHT_COUNT);
    await d.close();
    expect(d.send(0, payload)).toBe(false);
  });

  it('close() ends every session and closes every socket', async () => {
    const server = await serve();
    const before = handles('UDPWrap');
    const d = driver(server.port, 'echo', { users: 5 });
    new Collector(d);
    await d.open();
    expect(server.pipe.clients.length).toBe(5);
    await d.close();
    expect(await until(() => server.pipe.clients.length === 0)).toBe(true);
    // The driver's five sockets are closed; the server's per-client sockets may linger (udp.md).
    const pipes = (d as unknown as { pipes: UdpPipe[] }).pipes;
    expect(pipes.map((p) => inspect(p))).toEqual(Array(5).fill('UdpPipe { destroyed, loop mode }'));
    expect(await until(() => handles('UDPWrap') <= before + 5)).toBe(true);
  });
});

describe('gamewire bench udp, end to end', () => {
  for (const mode of ['c2s', 'echo'] as const) {
    it(`${mode}: delivered > 0, nothing lost or corrupted on loopback`, async () => {
      const server = await serve();
      const result = await bench({ kind: 'udp', mode, host: '127.0.0.1', port: server.port, users: 4, durationSec: 1, warmupSec: 0.2 });
      expect(result.counts.delivered).toBeGreaterThan(0);
      expect(result.counts.corrupted).toBe(0);
      expect(result.counts.lost).toBe(0);
      expect(result.errors).toEqual([]);
    });
  }
});
