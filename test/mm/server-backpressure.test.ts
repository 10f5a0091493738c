import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Server, Client, EventType, type MmEvent } from '../../src/mm/index.js';
import { EventLog, frame, hello, rawSocket, sleep } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

/** One DATA frame of `n` one-byte messages (each a nil table: prefix 00, then 0xc0). */
function floodFrame(n: number): Buffer {
  const body = Buffer.alloc(1 + n * 2);
  body[0] = 0x10;
  for (let i = 1; i < body.length; i += 2) body[i + 1] = 0xc0;
  return frame(body);
}

async function setup(options = {}) {
  const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, ...options });
  servers.push(server);
  const good = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
  clients.push(good);
  expect((await good.waitForConnect(3))[0]).toBe(true);
  const log = new EventLog(() => server.pollEvents());
  await log.until((e) => e.some((x) => x.type === EventType.CONNECT));
  const flooder = await rawSocket(server.getPort());
  sockets.push(flooder);
  flooder.write(hello());
  await log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
  const goodConn = log.events[0]!.object;
  return { server, good, log, flooder, goodConn };
}

const receivesOf = (events: MmEvent[], object: unknown) => events.filter((e) => e.type === EventType.RECEIVE && e.object === object);

describe('Server backpressure (maxQueuedEvents)', () => {
  it('a flooding peer cannot push a good client\'s events out of the queue; its messages arrive later, all of them', async () => {
    const { server, good, log, flooder, goodConn } = await setup();
    good.send({ hello: 'first' });
    await sleep(30);
    flooder.write(floodFrame(5000)); // 2.5 times the queue's capacity, in one 10 KB frame
    await sleep(50);
    good.send({ hello: 'second' });
    await sleep(50);
    const first = server.pollEvents();
    expect(server.droppedEvents()).toBe(0);
    const floodConn = log.events[1]!.object;
    // Only maxQueuedEvents (256) of the flooder's messages were queued; the rest is held.
    expect(receivesOf(first, floodConn).length).toBe(256);
    log.events.push(...first);
    // Polling releases the held messages 256 at a time, then the socket is read again.
    await log.until((e) => receivesOf(e, floodConn).length === 5000 && receivesOf(e, goodConn).length === 2, 8000);
    expect(receivesOf(log.events, goodConn).map((e) => (e as { packet: unknown }).packet)).toEqual([{ hello: 'first' }, { hello: 'second' }]);
    expect(server.droppedEvents()).toBe(0);
    expect(log.events.some((e) => e.type === EventType.ERROR)).toBe(false);
    expect(flooder.gone).toBe(false);
  });

  it('a peer streaming many frames is slowed to the poll rate: nothing dropped, the good client unaffected', async () => {
    const { server, good, log, flooder, goodConn } = await setup({ maxQueuedEvents: 64 });
    flooder.write(Buffer.concat([floodFrame(30_000), floodFrame(30_000)])); // two ~60 KB frames
    await sleep(30);
    good.send({ hello: 'during' });
    const floodConn = log.events[1]!.object;
    const take = () => {
      const got = server.pollEvents();
      // Never more than the cap (plus what was in the read that paused it) per connection between polls.
      for (const e of got) log.events.push(e);
      return got;
    };
    const end = Date.now() + 15_000;
    while (receivesOf(log.events, floodConn).length < 60_000 && Date.now() < end) {
      take();
      await sleep(1);
    }
    await log.until((e) => receivesOf(e, goodConn).length === 1);
    expect(receivesOf(log.events, floodConn).length).toBe(60_000);
    expect(server.droppedEvents()).toBe(0);
    expect(log.events.some((e) => e.type === EventType.ERROR)).toBe(false);
    expect(good.isConnected()).toBe(true);
  });

  it('a paused connection is not timed out for keepalives it cannot be read for', async () => {
    const { server, log, flooder } = await setup({ keepaliveIntervalMs: 20, keepaliveTimeoutMs: 100 });
    const floodConn = log.events[1]!.object;
    flooder.write(floodFrame(1000));
    await sleep(400); // no polls: paused well past the keepalive timeout
    // Had it been timed out while paused, its held messages would be gone with it.
    await log.until((e) => receivesOf(e, floodConn).length === 1000, 8000);
    const lastReceive = log.events.lastIndexOf(receivesOf(log.events, floodConn)[999]!);
    const firstEnd = log.events.findIndex((e) => e.object === floodConn && (e.type === EventType.ERROR || e.type === EventType.CLIENT_CLOSE));
    expect(firstEnd === -1 || firstEnd > lastReceive).toBe(true);
    expect(server.droppedEvents()).toBe(0);
  });

  it('a peer that closes right after a burst: every held message comes before its CLIENT_CLOSE', async () => {
    const { log, flooder } = await setup();
    const floodConn = log.events[1]!.object;
    const close = frame(Buffer.concat([Buffer.of(0x30, 0), Buffer.from('bye')]));
    flooder.write(Buffer.concat([floodFrame(1000), close])); // one write: messages, then CLOSE
    await log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE && x.object === floodConn), 8000);
    const closeAt = log.events.findIndex((x) => x.type === EventType.CLIENT_CLOSE && x.object === floodConn);
    expect(receivesOf(log.events.slice(0, closeAt), floodConn).length).toBe(1000);
    expect((log.events[closeAt] as { reason: string }).reason).toBe('bye');
  });

  it('a paused peer holding more than maxHeldEvents is dropped with "event flood"; the good client is unaffected', async () => {
    const { server, good, log, flooder, goodConn } = await setup({ maxQueuedEvents: 4, maxHeldEvents: 100 });
    const floodConn = log.events[1]!.object;
    flooder.write(floodFrame(500)); // 4 queued, 100 held, the 105th is one too many
    await log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE && x.object === floodConn), 5000);
    const error = log.events.find((x) => x.type === EventType.ERROR && x.object === floodConn) as { error: string } | undefined;
    expect(error?.error).toBe('event flood');
    expect(receivesOf(log.events, floodConn).length).toBeLessThanOrEqual(4);
    good.send({ still: 'here' });
    await log.until((e) => receivesOf(e, goodConn).length === 1);
    expect(server.connectionCount()).toBe(1);
    expect(server.droppedEvents()).toBe(0);
  });

  it('maxQueuedEvents must be a non-negative integer, maxHeldEvents a positive one', () => {
    expect(() => new Server('127.0.0.1', 0, undefined, { maxQueuedEvents: -1 })).toThrow(RangeError);
    expect(() => new Server('127.0.0.1', 0, undefined, { maxQueuedEvents: 1.5 })).toThrow(RangeError);
    expect(() => new Server('127.0.0.1', 0, undefined, { maxHeldEvents: 0 })).toThrow(RangeError);
  });
});
